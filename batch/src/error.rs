//! The crate's error type.

use ordo_types::{DecodeError, B256};

/// Everything that can go wrong encoding or decoding a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// A batch must hold at least one block.
    #[error("a batch holds at least one block")]
    Empty,
    /// A block that does not extend the one before it (height or parent hash).
    #[error("block at height {height} does not extend the block before it")]
    NotContiguous {
        /// Height of the offending block.
        height: u64,
    },
    /// A block whose body does not match its header's commitments.
    #[error("block at height {height}: {source}")]
    Commitments {
        /// Height of the offending block.
        height: u64,
        /// What the check found.
        source: ordo_types::Error,
    },
    /// Bytes (a header, a body) that do not decode.
    #[error("decode error: {0}")]
    Decode(#[from] DecodeError),
    /// Input that ends before the value it announces.
    #[error("input ends early at offset {0}")]
    Truncated(usize),
    /// Bytes left after the last value.
    #[error("{0} bytes after the end")]
    TrailingBytes(usize),
    /// A payload or frame version this decoder does not know.
    #[error("unknown version {0}")]
    UnknownVersion(u8),
    /// A codec byte this decoder does not know.
    #[error("unknown codec {0}")]
    UnknownCodec(u8),
    /// A size past its cap.
    #[error("{what} of {len} bytes exceeds the cap of {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size (at least; decompression stops at the cap).
        len: usize,
        /// The cap.
        max: usize,
    },
    /// A compressed stream that does not decompress.
    #[error("decompression failed: {0}")]
    Decompress(String),
    /// Compression failed (an I/O error from the compressor).
    #[error("compression failed: {0}")]
    Compress(String),
    /// A frame that breaks a frame rule.
    #[error("invalid frame: {0}")]
    InvalidFrame(&'static str),
    /// Frames that do not form one batch's data.
    #[error("frames do not join: {0}")]
    FrameSet(&'static str),
    /// Joined frames whose hash is not the one they name.
    #[error("data hashes to {found}, frames name {expected}")]
    DataHashMismatch {
        /// The hash the frames name.
        expected: B256,
        /// keccak256 of the joined data.
        found: B256,
    },
    /// Blocks whose heights are not the range the frames name.
    #[error("blocks span {found_start}..={found_end}, frames name {start}..={end}")]
    RangeMismatch {
        /// First height the frames name.
        start: u64,
        /// Last height the frames name.
        end: u64,
        /// First decoded height.
        found_start: u64,
        /// Last decoded height.
        found_end: u64,
    },
}
