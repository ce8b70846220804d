//! Sealing bytes to one validator's secp256k1 key, so a message that travels in public (a
//! key-generation dealing in a block) carries a private part only that validator opens.
//!
//! `seal_to_key` draws an ephemeral key `e`, computes the shared point `e·P` with the
//! recipient's key `P`, and encrypts under `keccak256("ordo/enc/to-key/v1" || x(e·P) || E ||
//! P)` (`E = e·G`, both keys compressed, 33 bytes) with ChaCha20-Poly1305, nonce zero (the key
//! is used once), the caller's context as associated data. The output is `E || ciphertext ||
//! tag`. The construction is ours over standard parts; `enc/js` implements it independently
//! (over @noble/curves' ECDH) and checks `tests/to-key.json` both ways.

use alloy_primitives::keccak256;
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use k256::elliptic_curve::point::AffineCoordinates;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{ProjectivePoint, PublicKey, SecretKey};
use rand_core_010::CryptoRng;

use crate::EncError;

/// Domain of the derived key.
const DOMAIN: &[u8] = b"ordo/enc/to-key/v1";
/// A compressed secp256k1 key.
const KEY_LEN: usize = 33;
/// The authentication tag.
const TAG_LEN: usize = 16;

/// Seals `plaintext` to the holder of the secp256k1 key `recipient` (SEC1 bytes), bound to
/// `context`.
pub fn seal_to_key(
    rng: &mut impl CryptoRng,
    recipient: &[u8],
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, EncError> {
    loop {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        if let Ok(ephemeral) = SecretKey::from_slice(&bytes) {
            return seal_with(&ephemeral, recipient, context, plaintext);
        }
    }
}

/// [`seal_to_key`] with a given ephemeral key (for golden vectors).
pub fn seal_with(
    ephemeral: &SecretKey,
    recipient: &[u8],
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, EncError> {
    let recipient = PublicKey::from_sec1_bytes(recipient).map_err(|_| EncError::InvalidKey)?;
    let public = compressed(&ephemeral.public_key());
    let key = derive(ephemeral, &recipient, &public, &compressed(&recipient));
    let mut out = Vec::with_capacity(KEY_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&public);
    let mut body = plaintext.to_vec();
    let tag = ChaCha20Poly1305::new((&key).into())
        .encrypt_in_place_detached(&Nonce::default(), context, &mut body)
        .map_err(|_| EncError::TooLarge(plaintext.len()))?;
    out.extend_from_slice(&body);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens what [`seal_to_key`] sealed to `secret`'s key under `context`.
pub fn open_with_key(
    secret: &SecretKey,
    context: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, EncError> {
    if sealed.len() < KEY_LEN + TAG_LEN {
        return Err(EncError::NotOpened);
    }
    let (ephemeral, rest) = sealed.split_at(KEY_LEN);
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    let ephemeral_key = PublicKey::from_sec1_bytes(ephemeral).map_err(|_| EncError::NotOpened)?;
    let own = compressed(&secret.public_key());
    let key = derive(secret, &ephemeral_key, ephemeral, &own);
    let mut buf = body.to_vec();
    ChaCha20Poly1305::new((&key).into())
        .decrypt_in_place_detached(&Nonce::default(), context, &mut buf, Tag::from_slice(tag))
        .map_err(|_| EncError::NotOpened)?;
    Ok(buf)
}

/// `keccak256(DOMAIN || x(secret·other) || ephemeral || recipient)`.
fn derive(secret: &SecretKey, other: &PublicKey, ephemeral: &[u8], recipient: &[u8]) -> [u8; 32] {
    let shared = (other.to_projective() * *secret.to_nonzero_scalar()).to_affine();
    let mut input = Vec::with_capacity(DOMAIN.len() + 32 + 2 * KEY_LEN);
    input.extend_from_slice(DOMAIN);
    input.extend_from_slice(&shared.x());
    input.extend_from_slice(ephemeral);
    input.extend_from_slice(recipient);
    keccak256(input).0
}

fn compressed(key: &PublicKey) -> Vec<u8> {
    let point: ProjectivePoint = key.to_projective();
    point.to_affine().to_encoded_point(true).as_bytes().to_vec()
}
