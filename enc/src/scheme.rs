//! Sealing a payload to a transaction's identity, and opening it with that identity's key.
//!
//! Hybrid encryption: a one-time 32-byte key is encapsulated with Boneh–Franklin
//! identity-based encryption on BLS12-381 (commonware's `tle`, with the Fujisaki–Okamoto
//! transform) to the transaction's [`identity`](ordo_types::identity) under the epoch's public
//! key, and the padded payload is encrypted under it with ChaCha20-Poly1305. The key that
//! opens it is the committee's threshold BLS signature over the identity.

use alloy_primitives::{Address, Bytes, B256};
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use commonware_codec::{Copying, DecodeExt, Encode as _};
use commonware_cryptography::bls12381::primitives::group::{G1, G2};
use commonware_cryptography::bls12381::primitives::variant::MinSig;
use commonware_cryptography::bls12381::tle;
use ordo_types::{bucket_size, Sealed, SecretKey, Transaction, KEM_LEN, TAG_LEN};
use rand_core_010::CryptoRng;

/// The signature variant: public keys in G2 (96 bytes), signatures, and so decryption keys,
/// in G1 (48 bytes). Shares and their checks, the validators' per-transaction work, are in
/// the cheaper group (see `docs/ENCRYPTION.md`).
pub type Variant = MinSig;

/// Namespace of the BLS message a decryption key signs (the identity is the message).
pub const KEY_NAMESPACE: &[u8] = b"ordo/enc/key/v1";
/// Associated data of the payload encryption.
const DEM_AAD: &[u8] = b"ordo/enc/dem/v1";
/// Length of a decryption key: a compressed G1 point.
pub const DECRYPTION_KEY_LEN: usize = 48;
/// Length of an encryption key: a compressed G2 point.
pub const PUBLIC_KEY_LEN: usize = 96;

/// An epoch's encryption key: what clients seal to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptionKey {
    /// Which key this is (payloads name it in [`Sealed::key_id`]).
    pub key_id: u64,
    /// The committee's threshold public key.
    pub public: G2,
}

impl EncryptionKey {
    /// What a block header commits to (`encryption_key_hash`): keccak256 of the key id (8
    /// bytes, big-endian) and the compressed public key.
    pub fn commitment(&self) -> alloy_primitives::B256 {
        let mut bytes = self.key_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.public_bytes());
        alloy_primitives::keccak256(bytes)
    }

    /// The public key's 96-byte compressed encoding.
    pub fn public_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out.copy_from_slice(&self.public.encode());
        out
    }

    /// A key from its id and the 96-byte compressed public key (checked: on the curve, in
    /// the subgroup, not the identity).
    pub fn from_bytes(key_id: u64, public: &[u8]) -> Result<Self, EncError> {
        let public = G2::decode(Copying(public)).map_err(|_| EncError::InvalidPublicKey)?;
        Ok(Self { key_id, public })
    }
}

/// The key that opens the payload sealed to one identity: the committee's threshold
/// signature over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecryptionKey(pub G1);

impl DecryptionKey {
    /// The 48-byte compressed encoding.
    pub fn to_bytes(&self) -> [u8; DECRYPTION_KEY_LEN] {
        let mut out = [0u8; DECRYPTION_KEY_LEN];
        out.copy_from_slice(&self.0.encode());
        out
    }

    /// A key from its 48-byte compressed encoding (a point of G1, not the identity).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EncError> {
        G1::decode(Copying(bytes))
            .map(Self)
            .map_err(|_| EncError::InvalidDecryptionKey)
    }
}

/// What can go wrong sealing, or reading keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncError {
    /// The payload is larger than the largest size bucket holds.
    #[error("payload of {0} bytes is larger than the largest size bucket holds")]
    TooLarge(usize),
    /// Bytes that are not a public key (a point of G2 other than the identity).
    #[error("invalid encryption public key")]
    InvalidPublicKey,
    /// Bytes that are not a decryption key (a point of G1 other than the identity).
    #[error("invalid decryption key")]
    InvalidDecryptionKey,
    /// The key encapsulation does not parse (a point off the curve or outside the group).
    #[error("malformed key encapsulation")]
    MalformedKem,
    /// Bytes that are not a public sharing of at most [`crate::dkg::MAX_SLOTS`] holders.
    #[error("invalid public sharing")]
    InvalidSharing,
    /// Bytes that are not a key share.
    #[error("invalid key share")]
    InvalidShare,
    /// Bytes that are not a secp256k1 public key.
    #[error("invalid secp256k1 key")]
    InvalidKey,
    /// Sealed bytes that do not open with this key and context.
    #[error("does not open with this key")]
    NotOpened,
}

/// Why a sealed payload did not open with its identity's key. Such a transaction is still
/// delivered, in its place, as a failed decryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Undecryptable {
    /// The key encapsulation is malformed, or was not made for this identity.
    #[error("the key encapsulation does not open with this identity's key")]
    Kem,
    /// The encrypted payload fails its authentication tag.
    #[error("the encrypted payload fails authentication")]
    Dem,
    /// The padded plaintext's length prefix or padding is wrong.
    #[error("the padded plaintext is malformed")]
    Padding,
}

impl From<Undecryptable> for ordo_types::OpenFailure {
    fn from(u: Undecryptable) -> Self {
        match u {
            Undecryptable::Kem => Self::Kem,
            Undecryptable::Dem => Self::Dem,
            Undecryptable::Padding => Self::Padding,
        }
    }
}

/// The visible fields a payload is sealed for; with the ciphertext they make its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    /// The Ordo chain id.
    pub chain_id: u64,
    /// The rollup.
    pub namespace: u64,
    /// The transaction's sender.
    pub sender: Address,
    /// The sender's nonce.
    pub nonce: u64,
}

/// Seals `payload` for the transaction `to` under `key`: pads it to its size bucket,
/// encrypts it under a fresh key, and encapsulates that key to the transaction's identity.
pub fn seal(
    rng: &mut impl CryptoRng,
    key: &EncryptionKey,
    to: &Recipient,
    payload: &[u8],
) -> Result<Sealed, EncError> {
    let bucket = Sealed::bucket_for(payload.len()).ok_or(EncError::TooLarge(payload.len()))?;
    let mut buf = vec![0u8; bucket_size(bucket)];
    let len = u32::try_from(payload.len()).map_err(|_| EncError::TooLarge(payload.len()))?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf[4..4 + payload.len()].copy_from_slice(payload);

    let mut dem_key = [0u8; 32];
    rng.fill_bytes(&mut dem_key);
    let tag = cipher(&dem_key)
        .encrypt_in_place_detached(&Nonce::default(), DEM_AAD, &mut buf)
        .map_err(|_| EncError::TooLarge(payload.len()))?;
    buf.extend_from_slice(&tag);

    let mut sealed = Sealed {
        key_id: key.key_id,
        bucket,
        kem: [0; KEM_LEN],
        dem: Bytes::from(buf),
    };
    let identity = sealed.identity(to.chain_id, to.namespace, to.sender, to.nonce);
    let kem = tle::encrypt::<_, Variant>(
        rng,
        key.public,
        (KEY_NAMESPACE, identity.as_slice()),
        &tle::Block::new(dem_key),
    )
    .map_err(|_| EncError::InvalidPublicKey)?;
    sealed.kem.copy_from_slice(&kem.encode());
    Ok(sealed)
}

/// Checks that the key encapsulation parses (its point is on the curve and in the group), so
/// a well-formed envelope is one that can open. This is what validators check, without any key.
pub fn check_kem(sealed: &Sealed) -> Result<(), EncError> {
    kem(sealed).map(|_| ())
}

fn kem(sealed: &Sealed) -> Result<tle::Ciphertext<Variant>, EncError> {
    tle::Ciphertext::<Variant>::decode(Copying(&sealed.kem[..])).map_err(|_| EncError::MalformedKem)
}

/// Opens `sealed` with `key`, the decryption key of its identity (checked against the epoch
/// key by [`crate::verify_keys`] before it is trusted): the payload, or why it does not open.
pub fn open(key: &DecryptionKey, sealed: &Sealed) -> Result<Bytes, Undecryptable> {
    let kem = kem(sealed).map_err(|_| Undecryptable::Kem)?;
    let dem_key = tle::decrypt::<Variant>(&key.0, &kem).ok_or(Undecryptable::Kem)?;
    let split = sealed.dem.len().saturating_sub(TAG_LEN);
    let (body, tag) = sealed.dem.split_at(split);
    let mut buf = body.to_vec();
    let mut key_bytes = [0u8; 32];
    key_bytes.copy_from_slice(dem_key.as_ref());
    cipher(&key_bytes)
        .decrypt_in_place_detached(&Nonce::default(), DEM_AAD, &mut buf, Tag::from_slice(tag))
        .map_err(|_| Undecryptable::Dem)?;
    unpad(&buf).map(Bytes::copy_from_slice)
}

fn cipher(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(key.into())
}

/// The payload inside a padded plaintext: a 4-byte big-endian length, the payload, zeros.
fn unpad(padded: &[u8]) -> Result<&[u8], Undecryptable> {
    let (prefix, rest) = padded
        .split_first_chunk::<4>()
        .ok_or(Undecryptable::Padding)?;
    let len = usize::try_from(u32::from_be_bytes(*prefix)).map_err(|_| Undecryptable::Padding)?;
    if len > rest.len() || rest[len..].iter().any(|b| *b != 0) {
        return Err(Undecryptable::Padding);
    }
    Ok(&rest[..len])
}

/// The identity of a sealed payload for the transaction `to`.
pub fn identity_of(sealed: &Sealed, to: &Recipient) -> B256 {
    sealed.identity(to.chain_id, to.namespace, to.sender, to.nonce)
}

/// An encrypted transaction, ready to submit: `payload` sealed under `key` for the sender of
/// `secret`'s nonce `nonce` in `namespace`, and signed (EIP-712, `EncryptedTransaction`). For
/// an EVM rollup the payload is the signed Ethereum transaction itself, so its fields are hidden
/// too.
pub fn encrypt_transaction(
    rng: &mut impl CryptoRng,
    key: &EncryptionKey,
    chain_id: u64,
    namespace: u64,
    nonce: u64,
    payload: &[u8],
    secret: &SecretKey,
) -> Result<Transaction, EncError> {
    let to = Recipient {
        chain_id,
        namespace,
        sender: secret.address(),
        nonce,
    };
    let sealed = seal(rng, key, &to, payload)?;
    Ok(Transaction::sign_encrypted(
        namespace, nonce, &sealed, secret, chain_id,
    ))
}
