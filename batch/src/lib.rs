//! Ordo's L1 batch format: the decided chain over a height range, compact enough to post on
//! Ethereum (blobs or calldata), complete enough to rebuild every header and so every
//! namespace root from it alone.
//!
//! Three layers, each specified in `docs/FORMATS.md` ("L1 batches") and pinned by the golden
//! vectors in `batch/vectors/`:
//! - the **payload**: the blocks of heights `start..=end`, each header as its difference from
//!   the header the previous block and its own body predict ([`encode_payload`]), the bodies in
//!   the `Body` codec;
//! - the **data**: a codec byte ([`Codec`], brotli first) and the compressed payload
//!   ([`encode_batch`]); decompression stops at [`MAX_PAYLOAD_LEN`] bytes;
//! - **frames** ([`Frame`]): the data cut into pieces that each fit one L1 transaction, each
//!   naming the range and the keccak256 of the whole data, so that frames of different posts
//!   never mix ([`join_frames`]).
//!
//! # Invariants
//! - Header fields are never listed here: a header travels through the `Header` codec, and the
//!   fields a body determines (`tx_count`, `namespace_root`, `bundle_root`) and those the previous header
//!   predicts (`height`, `parent_hash`) are filled in by the `Body` and `Header` methods before
//!   the difference is taken. A field added to the header later travels in the difference
//!   unchanged; the decoder checks every block with [`Block::check_commitments`], so a
//!   commitment added there is checked here too.
//! - The decoded blocks form a hash chain (`height + 1`, `parent_hash` = the previous block's
//!   hash) and each matches its header's commitments; the last block's hash is what the L1's
//!   `LightClient` certifies, so one certified hash vouches for the whole range.
//! - The payload is canonical (one encoding for a list of blocks); compressed data is not (any
//!   brotli stream that decompresses to the payload is accepted).
//! - Decoders never panic and never allocate more than their input can fill, except the
//!   decompressor, whose output is capped at [`MAX_PAYLOAD_LEN`].
//!
//! # Example
//! ```
//! use ordo_batch::{decode_frames, encode_batch, BatchError, Codec, Frame};
//! use ordo_types::{Block, B256};
//!
//! /// The batcher's side: blocks to the frames it posts, one per L1 transaction.
//! fn post(blocks: &[Block]) -> Result<Vec<Vec<u8>>, BatchError> {
//!     let batch = encode_batch(blocks, Codec::Brotli)?;
//!     Ok(batch.frames(128 * 1024)?.iter().map(Frame::encode).collect())
//! }
//!
//! /// The rebuilder's side: the frames read back from the L1, and the hash the light client
//! /// certified at the batch's last height.
//! fn rebuild(posted: &[Vec<u8>], certified: B256) -> Option<Vec<Block>> {
//!     let frames: Vec<Frame> = posted.iter().map(|f| Frame::decode(f)).collect::<Result<_, _>>().ok()?;
//!     let blocks = decode_frames(&frames).ok()?;
//!     (blocks.last()?.hash() == certified).then_some(blocks)
//! }
//! # let _ = (post, rebuild);
//! ```

// Unit-test builds link the dev-dependencies that only the doctests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod codec;
mod error;
mod frame;
mod payload;

pub use codec::{compress, decompress, Codec, BROTLI_QUALITY, BROTLI_WINDOW};
pub use error::BatchError;
pub use frame::{decode_frames, join_frames, Frame, FRAME_HEADER_LEN, FRAME_VERSION, MAX_FRAMES};
pub use payload::{decode_payload, encode_payload, PAYLOAD_VERSION};

use ordo_types::{keccak256, Block, B256};

/// Largest payload (uncompressed) a batch may hold, and where decompression stops: 32 MiB,
/// sixteen full 2 MiB blocks.
pub const MAX_PAYLOAD_LEN: usize = 32 << 20;

/// Largest data (codec byte and compressed payload) a batch may hold: the payload cap plus
/// room for incompressible input to grow under compression.
pub const MAX_DATA_LEN: usize = MAX_PAYLOAD_LEN + (1 << 20);

/// A batch ready to post: the encoded data for heights `start..=end` and what identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    /// First height in the batch.
    pub start: u64,
    /// Last height in the batch.
    pub end: u64,
    /// Hash of the block at `end`, which the L1 light client must hold.
    pub end_hash: B256,
    /// Length of the uncompressed payload.
    pub payload_len: usize,
    /// The codec byte and the compressed payload.
    pub data: Vec<u8>,
    /// keccak256 of `data`.
    pub data_hash: B256,
}

impl EncodedBatch {
    /// The data cut into frames of at most `max_frame_len` bytes (header included), in order.
    pub fn frames(&self, max_frame_len: usize) -> Result<Vec<Frame>, BatchError> {
        Frame::split(self.start, self.end, &self.data, max_frame_len)
    }
}

/// Encodes `blocks` (consecutive heights, each extending the one before) into a batch.
pub fn encode_batch(blocks: &[Block], codec: Codec) -> Result<EncodedBatch, BatchError> {
    let (first, last) = match (blocks.first(), blocks.last()) {
        (Some(first), Some(last)) => (first, last),
        _ => return Err(BatchError::Empty),
    };
    let payload = encode_payload(blocks)?;
    let data = compress(codec, &payload)?;
    Ok(EncodedBatch {
        start: first.header.height,
        end: last.header.height,
        end_hash: last.hash(),
        payload_len: payload.len(),
        data_hash: keccak256(&data),
        data,
    })
}

/// Decodes a batch's data (codec byte and compressed payload) into its blocks.
pub fn decode_batch(data: &[u8]) -> Result<Vec<Block>, BatchError> {
    decode_payload(&decompress(data)?)
}

#[cfg(test)]
mod tests;
