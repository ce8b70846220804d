//! Canonical binary encoding (see `docs/FORMATS.md`): big-endian fixed-width integers,
//! `bytes` and `list<T>` prefixed by a `u32` length.

use crate::error::{DecodeError, DecodeErrorKind, Error};
use alloy_primitives::{Address, Bytes, B256};

/// A value with one canonical byte encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The encoding of `self` as a new vector.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_to(&mut out);
        out
    }

    /// Length in bytes of the encoding of `self`.
    fn encoded_len(&self) -> usize;
}

/// A value that can be decoded from its canonical encoding.
pub trait Decode: Sized {
    /// Decodes a value from `bytes`, which must hold exactly one encoding (no trailing bytes).
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// Reads a value from the middle of an input (used to build [`Decode`] impls).
pub(crate) trait ReadFrom: Sized {
    /// Reads one value, advancing the reader past it.
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Implements [`Decode`] for types that implement [`ReadFrom`]: read one value, then
/// require the input to be exhausted.
macro_rules! impl_decode {
    ($($t:ty),* $(,)?) => {
        $(
            impl $crate::codec::Decode for $t {
                fn decode(bytes: &[u8]) -> Result<Self, $crate::error::DecodeError> {
                    let mut reader = $crate::codec::Reader::new(bytes);
                    let value = <$t as $crate::codec::ReadFrom>::read_from(&mut reader)?;
                    reader.finish()?;
                    Ok(value)
                }
            }
        )*
    };
}
pub(crate) use impl_decode;

/// A cursor over an input slice. Every read is bounds-checked and reports its offset.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Current offset into the input.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// An error of `kind` at the current offset.
    pub(crate) fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(self.pos, kind)
    }

    /// An error at `offset` for a value that was framed correctly but is invalid.
    pub(crate) fn invalid_at(offset: usize, err: Error) -> DecodeError {
        DecodeError::new(offset, DecodeErrorKind::Invalid(Box::new(err)))
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        match rest.get(..n) {
            Some(head) => {
                self.pos = self.pos.saturating_add(n);
                Ok(head)
            }
            None => Err(self.error(DecodeErrorKind::UnexpectedEnd {
                needed: n,
                remaining: rest.len(),
            })),
        }
    }

    /// Takes the next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let start = self.pos;
        let head = self.take(N)?;
        <[u8; N]>::try_from(head).map_err(|_| {
            DecodeError::new(
                start,
                DecodeErrorKind::UnexpectedEnd {
                    needed: N,
                    remaining: head.len(),
                },
            )
        })
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array::<1>()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array::<4>()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array::<8>()?))
    }

    pub(crate) fn b256(&mut self) -> Result<B256, DecodeError> {
        Ok(B256::from(self.array::<32>()?))
    }

    pub(crate) fn address(&mut self) -> Result<Address, DecodeError> {
        Ok(Address::from(self.array::<20>()?))
    }

    /// Reads a version byte and checks it equals `expected`.
    pub(crate) fn version(&mut self, expected: u8) -> Result<(), DecodeError> {
        let start = self.pos;
        let v = self.u8()?;
        if v == expected {
            Ok(())
        } else {
            Err(DecodeError::new(start, DecodeErrorKind::UnknownVersion(v)))
        }
    }

    /// Reads a `bytes` field: `u32` length, then that many bytes.
    pub(crate) fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.length(1)?;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }

    /// Reads a `u32` length or count of items that each take at least `min_item_len` bytes
    /// (at least 1), and checks the rest of the input can hold them. This bounds every
    /// allocation a decoder makes by the size of its input.
    pub(crate) fn length(&mut self, min_item_len: usize) -> Result<usize, DecodeError> {
        let start = self.pos;
        let len = self.u32()?;
        let remaining = self.remaining();
        let too_large = DecodeError::new(start, DecodeErrorKind::LengthTooLarge { len, remaining });
        let count = usize::try_from(len).map_err(|_| too_large.clone())?;
        match count.checked_mul(min_item_len.max(1)) {
            Some(needed) if needed <= remaining => Ok(count),
            _ => Err(too_large),
        }
    }

    /// Reads a `list<T>`: `u32` count, then the items, each at least `min_item_len` bytes.
    pub(crate) fn list<T: ReadFrom>(&mut self, min_item_len: usize) -> Result<Vec<T>, DecodeError> {
        let count = self.length(min_item_len)?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(T::read_from(self)?);
        }
        Ok(items)
    }

    /// Fails unless the whole input has been read.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(DecodeErrorKind::TrailingBytes(n))),
        }
    }
}

/// Clamps a collection length to the `u32` the format can carry. Values never reach this
/// limit in practice (validation rejects them first, and 2^32 entries do not fit in memory);
/// clamping keeps the encoder infallible and its output always decodable.
pub(crate) fn clamp_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Writes a `bytes` field.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = clamp_len(bytes.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes.get(..len as usize).unwrap_or(bytes));
}

/// Encoded length of a `bytes` field.
pub(crate) fn bytes_len(bytes: &[u8]) -> usize {
    4usize.saturating_add(bytes.len().min(u32::MAX as usize))
}

/// Writes a `list<T>`.
pub(crate) fn put_list<T: Encode>(out: &mut Vec<u8>, items: &[T]) {
    let len = clamp_len(items.len());
    out.extend_from_slice(&len.to_be_bytes());
    for item in items.iter().take(len as usize) {
        item.encode_to(out);
    }
}

/// Encoded length of a `list<T>`.
pub(crate) fn list_len<T: Encode>(items: &[T]) -> usize {
    items
        .iter()
        .take(u32::MAX as usize)
        .fold(4usize, |acc, item| acc.saturating_add(item.encoded_len()))
}

impl Encode for B256 {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_slice());
    }

    fn encoded_len(&self) -> usize {
        32
    }
}

impl ReadFrom for B256 {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.b256()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reads_big_endian() {
        let data = [1u8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3];
        let mut r = Reader::new(&data);
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u32().unwrap(), 2);
        assert_eq!(r.u64().unwrap(), 3);
        r.finish().unwrap();
    }

    #[test]
    fn short_input_reports_offset() {
        let mut r = Reader::new(&[0, 0, 0]);
        let err = r.u32().unwrap_err();
        assert_eq!(err.offset, 0);
        assert_eq!(
            err.kind,
            DecodeErrorKind::UnexpectedEnd {
                needed: 4,
                remaining: 3
            }
        );
    }

    #[test]
    fn huge_length_is_rejected_before_allocating() {
        // u32 length of ~4e9 followed by 6 bytes.
        let data = [0xEE, 0x6B, 0x28, 0x00, 1, 2, 3, 4, 5, 6];
        let mut r = Reader::new(&data);
        let err = r.bytes().unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(matches!(
            err.kind,
            DecodeErrorKind::LengthTooLarge {
                len: 4_000_000_000,
                remaining: 6
            }
        ));
        // A list count is bounded by the minimum item size too: 3 items of >= 4 bytes in 6.
        let data = [0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
        assert!(Reader::new(&data).length(4).is_err());
        assert_eq!(Reader::new(&data).length(2).unwrap(), 3);
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let r = Reader::new(&[1]);
        assert_eq!(
            r.finish().unwrap_err().kind,
            DecodeErrorKind::TrailingBytes(1)
        );
    }

    #[test]
    fn bytes_field_round_trips() {
        let mut out = Vec::new();
        put_bytes(&mut out, b"abc");
        assert_eq!(out, [0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(bytes_len(b"abc"), out.len());
        let mut r = Reader::new(&out);
        assert_eq!(&r.bytes().unwrap()[..], b"abc");
        r.finish().unwrap();
    }
}
