//! Frames: a batch's data cut into pieces that each fit one L1 transaction.
//!
//! `version u8 = 1 | start u64 | end u64 | data_hash (32) | index u16 | count u16 | chunk`,
//! the chunk running to the end of the frame and never empty. Frame `index` of `count` holds
//! bytes `index·n ..` of the data, where every frame but the last holds the same number `n`
//! of bytes; `data_hash` is keccak256 of the whole data, so frames of different posts of the
//! same range never join.

use crate::{decode_batch, BatchError, MAX_DATA_LEN};
use ordo_types::{keccak256, Block, Bytes, B256};

/// Version byte of a frame.
pub const FRAME_VERSION: u8 = 1;

/// Length of a frame's fields before its chunk.
pub const FRAME_HEADER_LEN: usize = 1 + 8 + 8 + 32 + 2 + 2;

/// Most frames one batch may be cut into.
pub const MAX_FRAMES: u16 = 1024;

/// One piece of a batch's data, as posted in one L1 transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// First height of the batch.
    pub start: u64,
    /// Last height of the batch.
    pub end: u64,
    /// keccak256 of the batch's whole data.
    pub data_hash: B256,
    /// Position of this frame, from 0.
    pub index: u16,
    /// Number of frames of the batch.
    pub count: u16,
    /// This frame's bytes of the data.
    pub chunk: Bytes,
}

impl Frame {
    /// Cuts `data` into frames of at most `max_frame_len` bytes each.
    pub(crate) fn split(
        start: u64,
        end: u64,
        data: &[u8],
        max_frame_len: usize,
    ) -> Result<Vec<Self>, BatchError> {
        let chunk_len = max_frame_len
            .checked_sub(FRAME_HEADER_LEN)
            .filter(|n| *n > 0)
            .ok_or(BatchError::InvalidFrame(
                "frame length leaves no room for data",
            ))?;
        if data.is_empty() {
            return Err(BatchError::Empty);
        }
        let count = data.len().div_ceil(chunk_len);
        let count = u16::try_from(count)
            .ok()
            .filter(|c| *c <= MAX_FRAMES)
            .ok_or(BatchError::TooLarge {
                what: "frame count",
                len: count,
                max: usize::from(MAX_FRAMES),
            })?;
        let data_hash = keccak256(data);
        Ok(data
            .chunks(chunk_len)
            .zip(0u16..)
            .map(|(chunk, index)| Self {
                start,
                end,
                data_hash,
                index,
                count,
                chunk: Bytes::copy_from_slice(chunk),
            })
            .collect())
    }

    /// The frame's encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FRAME_HEADER_LEN.saturating_add(self.chunk.len()));
        out.push(FRAME_VERSION);
        out.extend_from_slice(&self.start.to_be_bytes());
        out.extend_from_slice(&self.end.to_be_bytes());
        out.extend_from_slice(self.data_hash.as_slice());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&self.chunk);
        out
    }

    /// Decodes a frame, checking its rules (version, `start <= end`, `index < count <=`
    /// [`MAX_FRAMES`], a chunk that is not empty and fits [`MAX_DATA_LEN`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, BatchError> {
        let header = bytes
            .get(..FRAME_HEADER_LEN)
            .ok_or(BatchError::Truncated(bytes.len()))?;
        let chunk = bytes.get(FRAME_HEADER_LEN..).unwrap_or_default();
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(header.get(at..at + 8).unwrap_or(&[0; 8]));
            u64::from_be_bytes(a)
        };
        let u16_at = |at: usize| {
            let mut a = [0u8; 2];
            a.copy_from_slice(header.get(at..at + 2).unwrap_or(&[0; 2]));
            u16::from_be_bytes(a)
        };
        let version = header.first().copied().unwrap_or_default();
        if version != FRAME_VERSION {
            return Err(BatchError::UnknownVersion(version));
        }
        let frame = Self {
            start: u64_at(1),
            end: u64_at(9),
            data_hash: B256::from_slice(header.get(17..49).unwrap_or(&[0; 32])),
            index: u16_at(49),
            count: u16_at(51),
            chunk: Bytes::copy_from_slice(chunk),
        };
        if frame.start > frame.end {
            return Err(BatchError::InvalidFrame("start is after end"));
        }
        if frame.count == 0 || frame.count > MAX_FRAMES || frame.index >= frame.count {
            return Err(BatchError::InvalidFrame("index or count out of range"));
        }
        if frame.chunk.is_empty() {
            return Err(BatchError::InvalidFrame("empty chunk"));
        }
        if frame.chunk.len() > MAX_DATA_LEN {
            return Err(BatchError::InvalidFrame("chunk larger than a batch"));
        }
        Ok(frame)
    }
}

/// Joins the frames of one batch (in any order) into its data: every frame names the same
/// range, data hash and count, each index from 0 to `count - 1` is there once, every chunk but
/// the last has the same length, and the joined data hashes to the named hash.
pub fn join_frames(frames: &[Frame]) -> Result<Vec<u8>, BatchError> {
    let first = frames.first().ok_or(BatchError::FrameSet("no frames"))?;
    if frames.len() != usize::from(first.count) {
        return Err(BatchError::FrameSet("wrong number of frames"));
    }
    let mut ordered: Vec<Option<&Frame>> = vec![None; frames.len()];
    for frame in frames {
        if (frame.start, frame.end, frame.data_hash, frame.count)
            != (first.start, first.end, first.data_hash, first.count)
        {
            return Err(BatchError::FrameSet("frames of different batches"));
        }
        match ordered.get_mut(usize::from(frame.index)) {
            Some(slot @ None) => *slot = Some(frame),
            Some(Some(_)) => return Err(BatchError::FrameSet("a frame index appears twice")),
            None => return Err(BatchError::FrameSet("frame index out of range")),
        }
    }
    let ordered: Vec<&Frame> = ordered.into_iter().flatten().collect();
    let chunk_len = ordered.first().map_or(0, |f| f.chunk.len());
    let total = ordered
        .iter()
        .try_fold(0usize, |acc, f| acc.checked_add(f.chunk.len()))
        .filter(|t| *t <= MAX_DATA_LEN)
        .ok_or(BatchError::TooLarge {
            what: "batch data",
            len: MAX_DATA_LEN.saturating_add(1),
            max: MAX_DATA_LEN,
        })?;
    let last = ordered.len().saturating_sub(1);
    for (i, frame) in ordered.iter().enumerate() {
        let ok = if i < last {
            frame.chunk.len() == chunk_len
        } else {
            frame.chunk.len() <= chunk_len
        };
        if !ok {
            return Err(BatchError::FrameSet("chunks are not cut evenly"));
        }
    }
    let mut data = Vec::with_capacity(total);
    for frame in &ordered {
        data.extend_from_slice(&frame.chunk);
    }
    let found = keccak256(&data);
    if found != first.data_hash {
        return Err(BatchError::DataHashMismatch {
            expected: first.data_hash,
            found,
        });
    }
    Ok(data)
}

/// Joins the frames of one batch and decodes its blocks, which must span exactly the range the
/// frames name.
pub fn decode_frames(frames: &[Frame]) -> Result<Vec<Block>, BatchError> {
    let data = join_frames(frames)?;
    let blocks = decode_batch(&data)?;
    let (start, end) = frames
        .first()
        .map(|f| (f.start, f.end))
        .ok_or(BatchError::FrameSet("no frames"))?;
    let found_start = blocks.first().map_or(0, |b| b.header.height);
    let found_end = blocks.last().map_or(0, |b| b.header.height);
    if (found_start, found_end) != (start, end) {
        return Err(BatchError::RangeMismatch {
            start,
            end,
            found_start,
            found_end,
        });
    }
    Ok(blocks)
}
