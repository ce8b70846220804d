//! The sealed payload of an encrypted transaction: the byte layout and the identity it is
//! encrypted to. The cryptography (sealing, shares, opening) is in `ordo-enc`; this module is
//! what a validator needs to check an envelope's shape without any of it.

use crate::codec::{impl_decode, Encode, ReadFrom, Reader};
use crate::error::{DecodeError, Error};
use alloy_primitives::{keccak256, Address, Bytes, B256};

/// Length of the key-encapsulation part: the IBE ciphertext `U (96) || V (32) || W (32)`
/// (BLS12-381, `U` a compressed G2 point).
pub const KEM_LEN: usize = 160;
/// Length of the authentication tag after the padded plaintext.
pub const TAG_LEN: usize = 16;
/// Smallest size bucket: plaintexts are padded to `2^bucket` bytes, at least 64.
pub const MIN_BUCKET: u8 = 6;
/// Largest size bucket: 64 KiB of padded plaintext.
pub const MAX_BUCKET: u8 = 16;
/// Bytes of the padded plaintext that hold the payload's length.
const LENGTH_PREFIX: usize = 4;
/// Domain of [`identity`].
const IDENTITY_DOMAIN: &[u8] = b"ordo/enc/identity/v1";
/// [`identity`], as the API states it for clients in other languages (integers as 8
/// big-endian bytes; `dem` the sealed payload's encrypted part with its tag).
pub const IDENTITY_RULE: &str = "keccak256(\"ordo/enc/identity/v1\" || chain_id || key_id || \
namespace || sender || nonce || keccak256(dem))";

/// An encrypted payload as a block carries it: `key_id (u64) || bucket (u8) || kem (160) ||
/// dem (2^bucket + 16)`.
///
/// `kem` encapsulates a one-time 32-byte key to the transaction's [`identity`] under the
/// epoch key `key_id`; `dem` is the padded plaintext under that key (ChaCha20-Poly1305). Only
/// `key_id` and the size bucket are visible.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sealed {
    /// The epoch key this payload is sealed to.
    pub key_id: u64,
    /// The size bucket: the padded plaintext is `2^bucket` bytes.
    pub bucket: u8,
    /// The key encapsulation.
    pub kem: [u8; KEM_LEN],
    /// The padded plaintext, encrypted, with its tag.
    pub dem: Bytes,
}

impl Sealed {
    /// The smallest bucket that holds a payload of `len` bytes with its length prefix, or
    /// `None` when it is larger than the largest bucket holds.
    pub fn bucket_for(len: usize) -> Option<u8> {
        let padded = len.checked_add(LENGTH_PREFIX)?;
        (MIN_BUCKET..=MAX_BUCKET).find(|b| padded <= bucket_size(*b))
    }

    /// The identity this payload is sealed to, for a transaction with these visible fields.
    pub fn identity(&self, chain_id: u64, namespace: u64, sender: Address, nonce: u64) -> B256 {
        identity(
            chain_id,
            self.key_id,
            namespace,
            sender,
            nonce,
            keccak256(&self.dem),
        )
    }
}

/// Why a sealed payload did not open with its identity's released key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenFailure {
    /// The key encapsulation is malformed, or was not made for this identity.
    Kem,
    /// The encrypted payload fails its authentication tag.
    Dem,
    /// The padded plaintext's length prefix or padding is wrong.
    Padding,
}

/// What an encrypted transaction opened to: its payload, or why it did not open (it is still
/// delivered in its place, so its rollup can charge the sender).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Opened {
    /// The payload the sender sealed.
    Plaintext(Bytes),
    /// It did not open.
    Failure(OpenFailure),
}

/// One encrypted transaction of a decided block, opened with the key the committee released
/// for its identity (anyone checks the key against the epoch's public key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct OpenedEntry {
    /// Its namespace.
    pub namespace: u64,
    /// Its position among the namespace's entries in the block.
    pub index: u32,
    /// The identity it was sealed to.
    pub identity: B256,
    /// The identity's decryption key (48 bytes, a point of G1).
    pub key: Bytes,
    /// What it opened to.
    #[serde(flatten)]
    pub outcome: Opened,
}

/// Padded plaintext bytes in `bucket`.
pub fn bucket_size(bucket: u8) -> usize {
    1usize << bucket.min(MAX_BUCKET)
}

/// The identity a transaction's payload is sealed to, and the message whose threshold
/// signature is its decryption key: `keccak256("ordo/enc/identity/v1" || chain_id ||
/// key_id || namespace || sender || nonce || keccak256(dem))`, integers as 8 big-endian bytes.
///
/// One per transaction: the sender's nonce makes it unique on the chain, and the hash of the
/// encrypted payload ties it to this ciphertext, so a key released for one transaction opens
/// nothing else, and another sender cannot reuse a ciphertext under their own envelope.
pub fn identity(
    chain_id: u64,
    key_id: u64,
    namespace: u64,
    sender: Address,
    nonce: u64,
    dem_hash: B256,
) -> B256 {
    let mut buf = Vec::with_capacity(IDENTITY_DOMAIN.len() + 8 * 4 + 20 + 32);
    buf.extend_from_slice(IDENTITY_DOMAIN);
    buf.extend_from_slice(&chain_id.to_be_bytes());
    buf.extend_from_slice(&key_id.to_be_bytes());
    buf.extend_from_slice(&namespace.to_be_bytes());
    buf.extend_from_slice(sender.as_slice());
    buf.extend_from_slice(&nonce.to_be_bytes());
    buf.extend_from_slice(dem_hash.as_slice());
    keccak256(buf)
}

impl Encode for Sealed {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key_id.to_be_bytes());
        out.push(self.bucket);
        out.extend_from_slice(&self.kem);
        out.extend_from_slice(&self.dem);
    }

    fn encoded_len(&self) -> usize {
        (8 + 1 + KEM_LEN).saturating_add(self.dem.len())
    }
}

impl ReadFrom for Sealed {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let key_id = r.u64()?;
        let at = r.offset();
        let bucket = r.u8()?;
        if !(MIN_BUCKET..=MAX_BUCKET).contains(&bucket) {
            return Err(Reader::invalid_at(at, Error::SizeBucket(bucket)));
        }
        let kem = r.array::<KEM_LEN>()?;
        let dem = r.take(bucket_size(bucket).saturating_add(TAG_LEN))?;
        Ok(Self {
            key_id,
            bucket,
            kem,
            dem: Bytes::copy_from_slice(dem),
        })
    }
}

impl_decode!(Sealed);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::codec::Decode;

    fn sealed(bucket: u8) -> Sealed {
        Sealed {
            key_id: 3,
            bucket,
            kem: [7; KEM_LEN],
            dem: Bytes::from(vec![9; bucket_size(bucket) + TAG_LEN]),
        }
    }

    #[test]
    fn round_trips_and_refuses_other_lengths_and_buckets() {
        let s = sealed(6);
        let bytes = s.encode();
        assert_eq!(bytes.len(), 8 + 1 + KEM_LEN + 64 + TAG_LEN);
        assert_eq!(Sealed::decode(&bytes).unwrap(), s);
        // One byte short, one byte over.
        assert!(Sealed::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(Sealed::decode(&long).is_err());
        // Buckets outside the range.
        for bucket in [0, MIN_BUCKET - 1, MAX_BUCKET + 1, u8::MAX] {
            let mut bad = bytes.clone();
            bad[8] = bucket;
            let err = Sealed::decode(&bad).unwrap_err();
            assert_eq!(err.offset, 8, "{err}");
        }
    }

    #[test]
    fn buckets_are_the_smallest_power_of_two_that_fits() {
        assert_eq!(Sealed::bucket_for(0), Some(6));
        assert_eq!(Sealed::bucket_for(60), Some(6));
        assert_eq!(Sealed::bucket_for(61), Some(7));
        assert_eq!(Sealed::bucket_for((1 << 16) - 4), Some(16));
        assert_eq!(Sealed::bucket_for((1 << 16) - 3), None);
    }

    #[test]
    fn the_identity_covers_every_visible_field_and_the_ciphertext() {
        let s = sealed(6);
        let a = Address::repeat_byte(1);
        let base = s.identity(7, 1, a, 5);
        assert_ne!(base, s.identity(8, 1, a, 5));
        assert_ne!(base, s.identity(7, 2, a, 5));
        assert_ne!(base, s.identity(7, 1, Address::repeat_byte(2), 5));
        assert_ne!(base, s.identity(7, 1, a, 6));
        let mut other_key = s.clone();
        other_key.key_id = 4;
        assert_ne!(base, other_key.identity(7, 1, a, 5));
        let mut other_dem = s.clone();
        other_dem.dem = Bytes::from(vec![8; bucket_size(6) + TAG_LEN]);
        assert_ne!(base, other_dem.identity(7, 1, a, 5));
    }
}
