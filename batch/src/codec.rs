//! The data: a codec byte, then the payload as that codec wrote it.

use crate::{BatchError, MAX_DATA_LEN, MAX_PAYLOAD_LEN};
use std::io::Read;

/// Brotli quality the encoder uses (0..=11). The format does not depend on it; 9 compresses
/// within 1% of 11 at seven times the speed (docs/DA.md).
pub const BROTLI_QUALITY: i32 = 9;

/// Brotli window (log2 of bytes) the encoder uses: 16 MiB, the largest standard window.
pub const BROTLI_WINDOW: i32 = 24;

/// How the payload is compressed: the first byte of a batch's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Codec {
    /// The payload as it is (tests, and data that does not compress).
    Identity = 0,
    /// Brotli (RFC 7932), standard window.
    Brotli = 1,
}

impl TryFrom<u8> for Codec {
    type Error = BatchError;

    fn try_from(byte: u8) -> Result<Self, BatchError> {
        match byte {
            0 => Ok(Self::Identity),
            1 => Ok(Self::Brotli),
            other => Err(BatchError::UnknownCodec(other)),
        }
    }
}

/// The data for `payload`: the codec byte, then the payload compressed with `codec`.
pub fn compress(codec: Codec, payload: &[u8]) -> Result<Vec<u8>, BatchError> {
    let mut out = vec![codec as u8];
    match codec {
        Codec::Identity => out.extend_from_slice(payload),
        Codec::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY,
                lgwin: BROTLI_WINDOW,
                size_hint: payload.len(),
                ..Default::default()
            };
            let mut input = payload;
            brotli::BrotliCompress(&mut input, &mut out, &params)
                .map_err(|e| BatchError::Compress(e.to_string()))?;
        }
    }
    if out.len() > MAX_DATA_LEN {
        return Err(BatchError::TooLarge {
            what: "batch data",
            len: out.len(),
            max: MAX_DATA_LEN,
        });
    }
    Ok(out)
}

/// The payload in `data` (codec byte, then the compressed payload). Decompression stops past
/// [`MAX_PAYLOAD_LEN`] bytes of output, so a small hostile input cannot make it allocate more.
pub fn decompress(data: &[u8]) -> Result<Vec<u8>, BatchError> {
    if data.len() > MAX_DATA_LEN {
        return Err(BatchError::TooLarge {
            what: "batch data",
            len: data.len(),
            max: MAX_DATA_LEN,
        });
    }
    let (&byte, body) = data.split_first().ok_or(BatchError::Truncated(0))?;
    let too_large = |len| BatchError::TooLarge {
        what: "payload",
        len,
        max: MAX_PAYLOAD_LEN,
    };
    match Codec::try_from(byte)? {
        Codec::Identity => {
            if body.len() > MAX_PAYLOAD_LEN {
                return Err(too_large(body.len()));
            }
            Ok(body.to_vec())
        }
        Codec::Brotli => {
            let cap = u64::try_from(MAX_PAYLOAD_LEN).unwrap_or(u64::MAX);
            let mut out = Vec::new();
            brotli::Decompressor::new(body, 4096)
                .take(cap.saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| BatchError::Decompress(e.to_string()))?;
            if out.len() > MAX_PAYLOAD_LEN {
                return Err(too_large(out.len()));
            }
            Ok(out)
        }
    }
}
