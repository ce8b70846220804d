//! Byte-level helpers for the consensus codec: big-endian integers, length-prefixed bytes.

use bytes::Bytes;
use ordo_types::{Address, Signature, B256};

/// Why a consensus message could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// The input ended early.
    #[error("unexpected end of input")]
    Truncated,
    /// Bytes were left after the message.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// An enum tag that is not defined.
    #[error("unknown {what} tag {tag}")]
    UnknownTag {
        /// The kind of item.
        what: &'static str,
        /// The tag read.
        tag: u8,
    },
    /// A field that does not hold a valid value.
    #[error("invalid {0}")]
    Invalid(&'static str),
}

pub(crate) struct Writer(Vec<u8>);

impl Writer {
    pub(crate) fn new() -> Self {
        Self(Vec::with_capacity(128))
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }

    /// Length-prefixed bytes. Lengths beyond `u32` cannot occur: messages are capped far lower.
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.raw(v)
    }

    pub(crate) fn len(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub(crate) fn finish(self) -> Bytes {
        Bytes::from(self.0)
    }
}

pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn b256(&mut self) -> Result<B256, WireError> {
        Ok(B256::from(self.array::<32>()?))
    }

    pub(crate) fn address(&mut self) -> Result<Address, WireError> {
        Ok(Address::from(self.array::<20>()?))
    }

    pub(crate) fn signature(&mut self) -> Result<Signature, WireError> {
        Signature::from_slice(self.take(65)?).map_err(|_| WireError::Invalid("signature"))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    /// A list count, bounded by what the remaining input could hold at `min_item` bytes each,
    /// so a forged count cannot make the decoder allocate.
    pub(crate) fn count(&mut self, min_item: usize) -> Result<usize, WireError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item.max(1)) > self.0.len() {
            return Err(WireError::Truncated);
        }
        Ok(n)
    }

    /// Everything not read yet.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.0
    }

    pub(crate) fn finish(self) -> Result<(), WireError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}
