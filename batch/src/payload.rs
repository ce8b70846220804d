//! The uncompressed payload: headers as differences from their prediction, then bodies.
//!
//! `version u8 = 2 | count u32 | residuals (count × Header::ENCODED_LEN, column by column) |
//! count × (u32 length | Body encoding)`.
//!
//! A block's *prediction* is the previous header with the fields that follow from it and from
//! the block's own body filled in: `height + 1`, `parent_hash` = the previous block's hash,
//! `tx_count`, `namespace_root` and `bundle_root` from the body, `inbox_cursor` advanced by the
//! body's forced entries. Every other field (timestamp, proposer, committees, L1 origin, and any field a
//! later header version adds) is predicted unchanged. The first block is predicted as all
//! zero bytes. The residual is the header encoding minus the predicted encoding, byte by byte
//! (wrapping), so an exact prediction gives zeros and a timestamp 200 ms on gives one byte
//! of 200. Residuals are stored column by column (byte 0 of every header, then byte 1, ...),
//! which puts a field's values next to each other for the compressor.

use crate::BatchError;
use ordo_types::{Block, Body, Decode, Encode, Entry, Header};

/// Version byte of the payload. It changes with the header encoding's length.
pub const PAYLOAD_VERSION: u8 = 2;

/// Smallest encoding of a block in the payload: its residual, a body length and an empty body.
const BLOCK_MIN_LEN: usize = Header::ENCODED_LEN + 4 + 4;

/// The header block `body` would have after `prev` if every predictable field were as
/// predicted (module doc).
fn predict(prev: &Header, body: &Body) -> Result<Header, BatchError> {
    let mut header = prev.clone();
    header.height = prev
        .height
        .checked_add(1)
        .ok_or(BatchError::NotContiguous {
            height: prev.height,
        })?;
    header.parent_hash = prev.hash();
    header.tx_count = body.tx_count().map_err(|source| BatchError::Commitments {
        height: header.height,
        source,
    })?;
    header.namespace_root = body.namespace_root();
    header.bundle_root = body.bundle_root();
    let forced = body
        .entries()
        .filter(|(_, e)| matches!(e, Entry::Forced(_)))
        .count();
    header.inbox_cursor = prev
        .inbox_cursor
        .wrapping_add(u64::try_from(forced).unwrap_or(u64::MAX));
    Ok(header)
}

/// The encoding of the prediction for the block after `prev` (zeros for the first block).
fn predicted_bytes(prev: Option<&Header>, body: &Body) -> Result<Vec<u8>, BatchError> {
    match prev {
        None => Ok(vec![0u8; Header::ENCODED_LEN]),
        Some(prev) => Ok(predict(prev, body)?.encode()),
    }
}

fn check_block(prev: Option<&Header>, block: &Block) -> Result<(), BatchError> {
    let height = block.header.height;
    if let Some(prev) = prev {
        if prev.height.checked_add(1) != Some(height) || block.header.parent_hash != prev.hash() {
            return Err(BatchError::NotContiguous { height });
        }
    }
    block
        .check_commitments()
        .map_err(|source| BatchError::Commitments { height, source })
}

/// Encodes consecutive blocks (each extending the one before, each matching its header's
/// commitments) as a payload.
pub fn encode_payload(blocks: &[Block]) -> Result<Vec<u8>, BatchError> {
    if blocks.is_empty() {
        return Err(BatchError::Empty);
    }
    let count = u32::try_from(blocks.len()).map_err(|_| BatchError::TooLarge {
        what: "block count",
        len: blocks.len(),
        max: u32::MAX as usize,
    })?;
    let width = Header::ENCODED_LEN;
    let mut residuals = vec![0u8; blocks.len().saturating_mul(width)];
    let mut prev: Option<&Header> = None;
    for (row, block) in blocks.iter().enumerate() {
        check_block(prev, block)?;
        let predicted = predicted_bytes(prev, &block.body)?;
        let actual = block.header.encode();
        for (col, (a, p)) in actual.iter().zip(&predicted).enumerate() {
            if let Some(cell) = residuals.get_mut(col * blocks.len() + row) {
                *cell = a.wrapping_sub(*p);
            }
        }
        prev = Some(&block.header);
    }
    let bodies: usize = blocks
        .iter()
        .map(|b| b.body.encoded_len().saturating_add(4))
        .sum();
    let len = 5usize
        .saturating_add(residuals.len())
        .saturating_add(bodies);
    if len > crate::MAX_PAYLOAD_LEN {
        return Err(BatchError::TooLarge {
            what: "payload",
            len,
            max: crate::MAX_PAYLOAD_LEN,
        });
    }
    let mut out = Vec::with_capacity(len);
    out.push(PAYLOAD_VERSION);
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&residuals);
    for block in blocks {
        let body = block.body.encode();
        // The payload cap (checked above) keeps every length far below u32::MAX.
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&body);
    }
    Ok(out)
}

/// A bounds-checked cursor.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BatchError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or(BatchError::Truncated(self.pos))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(BatchError::Truncated(self.pos))?;
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, BatchError> {
        let bytes = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(bytes);
        Ok(u32::from_be_bytes(a))
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
}

/// Decodes a payload into its blocks, checking that they form a hash chain and that each
/// matches its header's commitments. Accepts exactly what [`encode_payload`] produces.
pub fn decode_payload(payload: &[u8]) -> Result<Vec<Block>, BatchError> {
    if payload.len() > crate::MAX_PAYLOAD_LEN {
        return Err(BatchError::TooLarge {
            what: "payload",
            len: payload.len(),
            max: crate::MAX_PAYLOAD_LEN,
        });
    }
    let mut r = Cursor {
        buf: payload,
        pos: 0,
    };
    let version = r.take(1)?.first().copied().unwrap_or_default();
    if version != PAYLOAD_VERSION {
        return Err(BatchError::UnknownVersion(version));
    }
    let count = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
    if count == 0 {
        return Err(BatchError::Empty);
    }
    // Every block takes at least BLOCK_MIN_LEN bytes: this bounds the allocations below.
    if count > r.remaining() / BLOCK_MIN_LEN {
        return Err(BatchError::Truncated(r.pos));
    }
    let width = Header::ENCODED_LEN;
    let residuals = r.take(count * width)?;
    let mut blocks: Vec<Block> = Vec::with_capacity(count);
    for row in 0..count {
        let len = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
        let start = r.pos;
        let body = Body::decode(r.take(len)?).map_err(|mut e| {
            e.offset = e.offset.saturating_add(start);
            BatchError::Decode(e)
        })?;
        let prev = blocks.last().map(|b| &b.header);
        let mut bytes = predicted_bytes(prev, &body)?;
        for (col, byte) in bytes.iter_mut().enumerate() {
            let residual = residuals
                .get(col * count + row)
                .copied()
                .unwrap_or_default();
            *byte = byte.wrapping_add(residual);
        }
        let header = Header::decode(&bytes)?;
        let block = Block { header, body };
        check_block(prev, &block)?;
        blocks.push(block);
    }
    if r.remaining() != 0 {
        return Err(BatchError::TrailingBytes(r.remaining()));
    }
    Ok(blocks)
}
