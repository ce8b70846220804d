//! secp256k1 keys and Ethereum-style recoverable signatures (`r || s || v`, low-s only).

use crate::codec::{impl_decode, Encode, ReadFrom, Reader};
use crate::error::{DecodeError, Error};
use alloy_primitives::{keccak256, Address, B256};
use core::fmt;
use k256::ecdsa::hazmat::SignPrimitive;
use k256::ecdsa::{SigningKey, VerifyingKey};
use k256::elliptic_curve::ff::PrimeField;
use k256::elliptic_curve::group::Group;
use k256::elliptic_curve::ops::{Invert, LinearCombination, Reduce};
use k256::elliptic_curve::point::{AffineCoordinates, DecompressPoint};
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::subtle::Choice;
use k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar, U256};

mod batch;
pub use batch::{verify_batch, Claim};

/// Length of an encoded [`Signature`].
pub const SIGNATURE_LEN: usize = 65;

/// A secp256k1 secret key. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's random number generator.
    pub fn random() -> Self {
        Self(SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// The key with the given big-endian scalar; fails for zero or values not below the group
    /// order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        SigningKey::from_bytes(&FieldBytes::from(*bytes))
            .map(Self)
            .map_err(|_| Error::InvalidSecretKey)
    }

    /// The big-endian scalar of this key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// The Ethereum address of this key.
    pub fn address(&self) -> Address {
        self.public_key().address()
    }

    /// Signs a 32-byte digest (RFC 6979 deterministic nonce), returning a low-s signature with
    /// `v = 27 + y-parity of R`, the form Solidity's `ecrecover` takes.
    pub fn sign_digest(&self, digest: &B256) -> Signature {
        let z = FieldBytes::from(digest.0);
        let d: &Scalar = self.0.as_nonzero_scalar().as_ref();
        // The first attempt is plain RFC 6979. A further attempt (with the attempt number as
        // RFC 6979 additional data) is only needed when R's x-coordinate is not below the group
        // order (probability about 2^-128), because `v` cannot express that case.
        let mut attempt: u64 = 0;
        loop {
            let extra = attempt.to_be_bytes();
            let ad: &[u8] = if attempt == 0 { &[] } else { &extra };
            if let Ok((sig, Some(recid))) =
                d.try_sign_prehashed_rfc6979::<k256::sha2::Sha256>(&z, ad)
            {
                // k256 normalizes s to the lower half and adjusts the recovery id to match.
                if !recid.is_x_reduced() && !bool::from(sig.s().is_high()) {
                    let mut out = [0u8; SIGNATURE_LEN];
                    let (rs, v) = out.split_at_mut(64);
                    rs.copy_from_slice(&sig.to_bytes());
                    if let Some(v) = v.first_mut() {
                        *v = 27 + u8::from(recid.is_y_odd());
                    }
                    return Signature(out);
                }
            }
            attempt = attempt.wrapping_add(1);
        }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, address {})", self.address())
    }
}

/// A secp256k1 public key. Encoded as 33-byte compressed SEC1, and as that in `0x` hex with
/// serde.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Whether `bytes` has the form of a key [`PublicKey::from_sec1`] reads: 33 bytes starting
    /// `02` or `03`, or 65 starting `04` (whether it is a point of the curve is not checked).
    pub fn is_sec1_form(bytes: &[u8]) -> bool {
        matches!(
            (bytes.len(), bytes.first()),
            (33, Some(2 | 3)) | (65, Some(4))
        )
    }

    /// Parses a SEC1 encoding (33-byte compressed or 65-byte uncompressed). Other SEC1 forms
    /// (the identity, the `0x05` compact form) are refused, so a key has one encoding of each
    /// length.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, Error> {
        if !Self::is_sec1_form(bytes) {
            return Err(Error::InvalidPublicKey);
        }
        VerifyingKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| Error::InvalidPublicKey)
    }

    /// The 33-byte compressed SEC1 encoding.
    pub fn to_sec1(&self) -> [u8; 33] {
        let point = self.0.to_encoded_point(true);
        let mut out = [0u8; 33];
        if let Some(bytes) = point.as_bytes().get(..33) {
            out.copy_from_slice(bytes);
        }
        out
    }

    /// The 64-byte uncompressed point `x || y` (SEC1 without its `0x04` prefix).
    pub fn to_xy(&self) -> [u8; 64] {
        let point = self.0.to_encoded_point(false);
        let mut out = [0u8; 64];
        if let Some(bytes) = point.as_bytes().get(1..) {
            out.copy_from_slice(bytes);
        }
        out
    }

    /// Parses the 64-byte `x || y` form, refusing points not on the curve.
    pub fn from_xy(xy: &[u8; 64]) -> Result<Self, Error> {
        let mut sec1 = [0u8; 65];
        sec1[0] = 0x04;
        sec1[1..].copy_from_slice(xy);
        Self::from_sec1(&sec1)
    }

    /// The Ethereum address: last 20 bytes of keccak256 of the uncompressed point without its
    /// `0x04` prefix.
    pub fn address(&self) -> Address {
        address_of(self.0.as_affine())
    }

    /// Checks that `sig` is this key's signature over `digest`, with a `v` that makes
    /// `ecrecover(digest, v, r, s)` return this key's address. Costs one verification, about
    /// the same as [`Signature::recover`], but needs no square root.
    pub fn verify(&self, digest: &B256, sig: &Signature) -> Result<(), Error> {
        let parts = sig.parts()?;
        let z = digest_scalar(digest);
        let s_inv = Option::<Scalar>::from(parts.s.invert_vartime())
            .ok_or(Error::InvalidSignatureScalar)?;
        let u1 = z * s_inv;
        let u2 = parts.r * s_inv;
        let q = ProjectivePoint::from(*self.0.as_affine());
        let r_point = ProjectivePoint::lincomb(&ProjectivePoint::GENERATOR, &u1, &q, &u2);
        if bool::from(r_point.is_identity()) {
            return Err(Error::BadSignature);
        }
        let r_affine = r_point.to_affine();
        // The x-coordinate must equal r exactly (not just modulo n) and its y parity must
        // match v: exactly the point `ecrecover` would reconstruct.
        if r_affine.x() == parts.r_bytes && bool::from(r_affine.y_is_odd()) == parts.y_odd {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }
}

impl core::hash::Hash for PublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.to_sec1().hash(state);
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Orders by compressed SEC1 bytes.
impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.to_sec1().cmp(&other.to_sec1())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(0x{})", hex::encode(self.to_sec1()))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.to_sec1()))
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = crate::serde_hex::deserialize_hex(deserializer)?;
        Self::from_sec1(&bytes).map_err(serde::de::Error::custom)
    }
}

/// A recoverable secp256k1 signature, `r (32) || s (32) || v (1)` with `v ∈ {27, 28}` and
/// `s <= n/2`. Construct it with [`Signature::from_slice`] or [`SecretKey::sign_digest`] to
/// get those checks; [`Signature::recover`] and [`PublicKey::verify`] check them again.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

/// A signature's components, checked.
struct SigParts {
    r: Scalar,
    r_bytes: FieldBytes,
    s: Scalar,
    y_odd: bool,
}

impl Signature {
    /// Parses 65 bytes, rejecting a bad length, `v` other than 27/28, `r` or `s` zero or
    /// not below the group order, and high `s`.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let array = <[u8; SIGNATURE_LEN]>::try_from(bytes)
            .map_err(|_| Error::InvalidSignatureLength(bytes.len()))?;
        let sig = Self(array);
        sig.parts()?;
        Ok(sig)
    }

    /// The `r` component.
    pub fn r(&self) -> B256 {
        let mut r = [0u8; 32];
        r.copy_from_slice(&self.0[..32]);
        B256::from(r)
    }

    /// The `s` component.
    pub fn s(&self) -> B256 {
        let mut s = [0u8; 32];
        s.copy_from_slice(&self.0[32..64]);
        B256::from(s)
    }

    /// The `v` byte (27 or 28 for a valid signature).
    pub fn v(&self) -> u8 {
        self.0[SIGNATURE_LEN - 1]
    }

    /// Checks the encoding rules and splits the signature into scalars.
    fn parts(&self) -> Result<SigParts, Error> {
        let v = self.v();
        let y_odd = match v {
            27 => false,
            28 => true,
            other => return Err(Error::InvalidRecoveryId(other)),
        };
        let r_bytes = FieldBytes::from(self.r().0);
        let s_bytes = FieldBytes::from(self.s().0);
        let r = Option::<Scalar>::from(Scalar::from_repr(r_bytes))
            .ok_or(Error::InvalidSignatureScalar)?;
        let s = Option::<Scalar>::from(Scalar::from_repr(s_bytes))
            .ok_or(Error::InvalidSignatureScalar)?;
        if bool::from(r.is_zero()) || bool::from(s.is_zero()) {
            return Err(Error::InvalidSignatureScalar);
        }
        if bool::from(s.is_high()) {
            return Err(Error::HighS);
        }
        Ok(SigParts {
            r,
            r_bytes,
            s,
            y_odd,
        })
    }

    /// Recovers the address whose key made this signature over `digest`, as Solidity's
    /// `ecrecover(digest, v, r, s)` does.
    ///
    /// Computes `Q = r⁻¹ (s·R − z·G)` with one double-scalar multiplication, where `R` is the
    /// curve point with x-coordinate `r` and the y parity given by `v`. The signature verifies
    /// under `Q` by construction, so no second verification is done.
    pub fn recover(&self, digest: &B256) -> Result<Address, Error> {
        Ok(address_of(&self.recover_point(digest)?))
    }

    /// Recovers the public key whose signature over `digest` this is (as [`Self::recover`],
    /// returning the key rather than its address).
    pub fn recover_public_key(&self, digest: &B256) -> Result<PublicKey, Error> {
        VerifyingKey::from_affine(self.recover_point(digest)?)
            .map(PublicKey)
            .map_err(|_| Error::BadSignature)
    }

    fn recover_point(&self, digest: &B256) -> Result<AffinePoint, Error> {
        let parts = self.parts()?;
        let r_point = Option::<AffinePoint>::from(AffinePoint::decompress(
            &parts.r_bytes,
            Choice::from(u8::from(parts.y_odd)),
        ))
        .ok_or(Error::BadSignature)?;
        let z = digest_scalar(digest);
        let r_inv = Option::<Scalar>::from(parts.r.invert_vartime())
            .ok_or(Error::InvalidSignatureScalar)?;
        let u1 = -(z * r_inv);
        let u2 = parts.s * r_inv;
        let q = ProjectivePoint::lincomb(
            &ProjectivePoint::GENERATOR,
            &u1,
            &ProjectivePoint::from(r_point),
            &u2,
        );
        if bool::from(q.is_identity()) {
            return Err(Error::BadSignature);
        }
        Ok(q.to_affine())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(0x{})", hex::encode(self.0))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = crate::serde_hex::deserialize_hex(deserializer)?;
        Self::from_slice(&bytes).map_err(serde::de::Error::custom)
    }
}

impl Encode for Signature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }

    fn encoded_len(&self) -> usize {
        SIGNATURE_LEN
    }
}

impl ReadFrom for Signature {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let sig = Self(r.array::<SIGNATURE_LEN>()?);
        sig.parts().map_err(|e| Reader::invalid_at(start, e))?;
        Ok(sig)
    }
}

impl_decode!(Signature);

/// The digest as a scalar (reduced modulo the group order, as ECDSA specifies).
fn digest_scalar(digest: &B256) -> Scalar {
    <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(digest.0))
}

/// Ethereum address of an affine point.
fn address_of(point: &AffinePoint) -> Address {
    let encoded = point.to_encoded_point(false);
    let xy = encoded.as_bytes().get(1..).unwrap_or_default();
    Address::from_word(keccak256(xy))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::codec::Decode;
    use crate::testutil::{arb_signature, assert_round_trip, hex32, key};
    use proptest::prelude::*;

    /// Group order n, big-endian.
    const N: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36,
        0x41, 0x41,
    ];

    /// `n - x` for big-endian 32-byte x (0 < x < n).
    fn n_minus(x: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = i16::from(N[i]) - i16::from(x[i]) - borrow;
            borrow = 0;
            if d < 0 {
                d += 256;
                borrow = 1;
            }
            out[i] = d as u8;
        }
        out
    }

    fn k256_recover(digest: &B256, sig: &Signature) -> Option<Address> {
        let inner = k256::ecdsa::Signature::from_slice(&sig.0[..64]).ok()?;
        let recid = k256::ecdsa::RecoveryId::new(sig.v() == 28, false);
        let vk = VerifyingKey::recover_from_prehash(digest.as_slice(), &inner, recid).ok()?;
        Some(PublicKey(vk).address())
    }

    // Values below were computed independently with Foundry's `cast` 1.7.1
    // (`cast wallet address`, `cast wallet sign --no-hash`, `cast wallet public-key`).
    const KEY1_ADDRESS: &str = "0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1";
    const KEY1_UNCOMPRESSED: &str = "1b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f70beaf8f588b541507fed6a642c5ab42dfdf8120a7f639de5122d47a69a8e8d1";
    const FIXED_DIGEST: &str = "0xa5ea63e87708d835a93f1aa26fb895ffd6285bc2de8a7f27ffe6cab4ca2ea7e2";
    const FIXED_SIG: &str = "1296c6111504d4c0f5a4fb961b81881c0c58a2906428ec629bfb4de053cbe3866795b06d81af2aa3ec022c0e5761cb640e3c18be394de79f451d6e132dbd0ca21b";

    #[test]
    fn golden_address_and_public_key() {
        let k = key(1);
        assert_eq!(k.address(), KEY1_ADDRESS.parse::<Address>().unwrap());
        let uncompressed = hex::decode(format!("04{KEY1_UNCOMPRESSED}")).unwrap();
        let pk = PublicKey::from_sec1(&uncompressed).unwrap();
        assert_eq!(pk, k.public_key());
        assert_eq!(pk.address(), k.address());
        // y ends in 0xd1 (odd), so the compressed form starts with 0x03.
        let compressed = pk.to_sec1();
        assert_eq!(compressed[0], 0x03);
        assert_eq!(&compressed[1..], &uncompressed[1..33]);
        assert_eq!(PublicKey::from_sec1(&compressed).unwrap(), pk);
        assert_eq!(k.to_bytes(), [1u8; 32]);
    }

    #[test]
    fn golden_signature_matches_cast() {
        let sig = key(1).sign_digest(&hex32(FIXED_DIGEST));
        assert_eq!(hex::encode(sig.0), FIXED_SIG);
        assert_eq!(sig.recover(&hex32(FIXED_DIGEST)).unwrap(), key(1).address());
    }

    #[test]
    fn secret_key_rules_and_debug() {
        assert_eq!(
            SecretKey::from_bytes(&[0u8; 32]).unwrap_err(),
            Error::InvalidSecretKey
        );
        assert_eq!(
            SecretKey::from_bytes(&N).unwrap_err(),
            Error::InvalidSecretKey
        );
        assert_eq!(
            SecretKey::from_bytes(&[0xFF; 32]).unwrap_err(),
            Error::InvalidSecretKey
        );
        let k = key(0xAB);
        let debug = format!("{k:?}");
        assert!(!debug.to_lowercase().contains("abababab"), "{debug}");
        assert!(debug.contains("redacted"));
        assert_ne!(
            SecretKey::random().to_bytes(),
            SecretKey::random().to_bytes()
        );
        assert_eq!(
            PublicKey::from_sec1(&[0x05; 33]).unwrap_err(),
            Error::InvalidPublicKey
        );
        assert_eq!(
            PublicKey::from_sec1(&[]).unwrap_err(),
            Error::InvalidPublicKey
        );
    }

    #[test]
    fn high_s_is_rejected_everywhere() {
        let digest = hex32(FIXED_DIGEST);
        let sig = key(1).sign_digest(&digest);
        // (r, n - s) with the other parity is the same signature mathematically.
        let mut high = sig.0;
        high[32..64].copy_from_slice(&n_minus(&sig.0[32..64]));
        high[64] = if sig.v() == 27 { 28 } else { 27 };
        let high = Signature(high);
        assert_eq!(Signature::from_slice(&high.0).unwrap_err(), Error::HighS);
        assert_eq!(high.recover(&digest).unwrap_err(), Error::HighS);
        assert_eq!(
            key(1).public_key().verify(&digest, &high).unwrap_err(),
            Error::HighS
        );
        assert!(Signature::decode(&high.0).is_err());
        // n/2 itself is the largest accepted s; n/2 + 1 is rejected.
        let half: [u8; 32] = {
            let mut h = [0u8; 32];
            let mut carry = 0u16;
            for i in 0..32 {
                let v = (carry << 8) | u16::from(N[i]);
                h[i] = (v / 2) as u8;
                carry = v % 2;
            }
            h
        };
        let mut edge = sig.0;
        edge[32..64].copy_from_slice(&half);
        assert!(Signature::from_slice(&edge).is_ok());
        edge[63] += 1;
        assert_eq!(Signature::from_slice(&edge).unwrap_err(), Error::HighS);
    }

    #[test]
    fn bad_v_length_and_scalars_are_rejected() {
        let digest = hex32(FIXED_DIGEST);
        let sig = key(1).sign_digest(&digest);
        for v in [0u8, 1, 26, 29, 35, 255] {
            let mut bad = sig.0;
            bad[64] = v;
            assert_eq!(
                Signature::from_slice(&bad).unwrap_err(),
                Error::InvalidRecoveryId(v)
            );
            assert_eq!(
                Signature(bad).recover(&digest).unwrap_err(),
                Error::InvalidRecoveryId(v)
            );
            assert!(key(1)
                .public_key()
                .verify(&digest, &Signature(bad))
                .is_err());
        }
        assert_eq!(
            Signature::from_slice(&sig.0[..64]).unwrap_err(),
            Error::InvalidSignatureLength(64)
        );
        let mut zero_r = sig.0;
        zero_r[..32].fill(0);
        assert_eq!(
            Signature::from_slice(&zero_r).unwrap_err(),
            Error::InvalidSignatureScalar
        );
        let mut big_r = sig.0;
        big_r[..32].copy_from_slice(&N);
        assert_eq!(
            Signature::from_slice(&big_r).unwrap_err(),
            Error::InvalidSignatureScalar
        );
        let mut zero_s = sig.0;
        zero_s[32..64].fill(0);
        assert_eq!(
            Signature::from_slice(&zero_s).unwrap_err(),
            Error::InvalidSignatureScalar
        );
        assert_eq!(
            Signature(zero_s).recover(&digest).unwrap_err(),
            Error::InvalidSignatureScalar
        );
    }

    #[test]
    fn r_that_is_not_an_x_coordinate_fails_recovery() {
        let digest = hex32(FIXED_DIGEST);
        let sig = key(1).sign_digest(&digest);
        let mut found = 0;
        for x in 1u8..=40 {
            let mut bytes = sig.0;
            bytes[..32].fill(0);
            bytes[31] = x;
            let candidate = Signature(bytes);
            let on_curve = bool::from(
                AffinePoint::decompress(&FieldBytes::from(candidate.r().0), Choice::from(0))
                    .is_some(),
            );
            if !on_curve {
                found += 1;
                assert_eq!(candidate.recover(&digest).unwrap_err(), Error::BadSignature);
                assert_eq!(k256_recover(&digest, &candidate), None);
            }
        }
        assert!(found > 0);
    }

    #[test]
    fn verify_rejects_wrong_key_digest_and_parity() {
        let digest = hex32(FIXED_DIGEST);
        let sig = key(1).sign_digest(&digest);
        key(1).public_key().verify(&digest, &sig).unwrap();
        assert_eq!(
            key(2).public_key().verify(&digest, &sig).unwrap_err(),
            Error::BadSignature
        );
        assert_eq!(
            key(1).public_key().verify(&B256::ZERO, &sig).unwrap_err(),
            Error::BadSignature
        );
        let mut flipped = sig.0;
        flipped[64] ^= 27 ^ 28;
        let flipped = Signature(flipped);
        // Mathematically valid for the key, but ecrecover would return another address.
        assert_eq!(
            key(1).public_key().verify(&digest, &flipped).unwrap_err(),
            Error::BadSignature
        );
        assert_ne!(flipped.recover(&digest).ok(), Some(key(1).address()));
    }

    #[test]
    fn serde_and_encoding() {
        let sig = key(1).sign_digest(&hex32(FIXED_DIGEST));
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(json, format!("\"0x{FIXED_SIG}\""));
        assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
        assert_eq!(format!("{sig:?}"), format!("Signature(0x{FIXED_SIG})"));
        assert!(serde_json::from_str::<Signature>("\"0x1234\"").is_err());
        let pk = key(1).public_key();
        let json = serde_json::to_string(&pk).unwrap();
        assert_eq!(json, format!("\"0x{}\"", hex::encode(pk.to_sec1())));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), pk);
        assert_round_trip(&sig);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sign_recover_verify_agree_with_k256(secret in any::<[u8; 32]>(), digest in any::<[u8; 32]>()) {
            let Ok(k) = SecretKey::from_bytes(&secret) else { return Ok(()) };
            let digest = B256::from(digest);
            let sig = k.sign_digest(&digest);
            prop_assert!(sig.v() == 27 || sig.v() == 28);
            prop_assert_eq!(Signature::from_slice(&sig.0), Ok(sig));
            prop_assert_eq!(sig.recover(&digest), Ok(k.address()));
            prop_assert_eq!(k256_recover(&digest, &sig), Some(k.address()));
            prop_assert_eq!(k.public_key().verify(&digest, &sig), Ok(()));
            // k256's own signature (before our v encoding) agrees on r and s.
            let (inner, _) = k.0.sign_prehash_recoverable(digest.as_slice()).unwrap();
            prop_assert_eq!(&inner.to_bytes()[..], &sig.0[..64]);
            // Another digest recovers to another address and does not verify.
            let other = keccak256(digest);
            prop_assert_ne!(sig.recover(&other).ok(), Some(k.address()));
            prop_assert_eq!(k.public_key().verify(&other, &sig), Err(Error::BadSignature));
        }

        #[test]
        fn recover_matches_k256_on_arbitrary_signatures(sig in arb_signature(), digest in any::<[u8; 32]>()) {
            let digest = B256::from(digest);
            let ours = sig.recover(&digest).ok();
            prop_assert_eq!(ours, k256_recover(&digest, &sig));
            // Whenever something is recovered, the signature verifies under that key.
            if ours.is_some() {
                let inner = k256::ecdsa::Signature::from_slice(&sig.0[..64]).unwrap();
                let recid = k256::ecdsa::RecoveryId::new(sig.v() == 28, false);
                let vk = VerifyingKey::recover_from_prehash(digest.as_slice(), &inner, recid).unwrap();
                prop_assert_eq!(PublicKey(vk).verify(&digest, &sig), Ok(()));
            }
        }

        #[test]
        fn signature_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let result = Signature::decode(&bytes);
            if let Ok(sig) = result {
                prop_assert_eq!(sig.0.to_vec(), bytes);
            }
        }

        #[test]
        fn signature_round_trip(sig in arb_signature()) {
            assert_round_trip(&sig);
        }
    }

    /// `ecrecover` as libsecp256k1 (C, through the `secp256k1` crate) computes it, with
    /// Ethereum's rules on top: `v` is 27 or 28, `r` and `s` are non-zero, `s <= n/2`.
    fn libsecp_recover(digest: &B256, sig: &[u8; 65]) -> Option<[u8; 64]> {
        use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
        let recid = match sig[64] {
            27 => RecoveryId::Zero,
            28 => RecoveryId::One,
            _ => return None,
        };
        let half_n = n_minus(&[0u8; 32]); // n, then halved below
        let mut half = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let v = (carry << 8) | u16::from(half_n[i]);
            half[i] = (v / 2) as u8;
            carry = v % 2;
        }
        if sig[..32] == [0u8; 32] || sig[32..64] == [0u8; 32] || sig[32..64] > half[..] {
            return None;
        }
        let parsed = RecoverableSignature::from_compact(&sig[..64], recid).ok()?;
        let key = secp256k1::Secp256k1::verification_only()
            .recover_ecdsa(secp256k1::Message::from_digest(digest.0), &parsed)
            .ok()?;
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&key.serialize_uncompressed()[1..]);
        Some(xy)
    }

    /// A signature from raw parts, with its edges more likely: zero, n - 1, n, all ones, the
    /// high-s twin.
    fn edgy(part: [u8; 32], pick: u8) -> [u8; 32] {
        match pick % 8 {
            0 => [0u8; 32],
            1 => n_minus(&{
                let mut one = [0u8; 32];
                one[31] = 1;
                one
            }),
            2 => N,
            3 => [0xFF; 32],
            _ => part,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The same comparison as the `crypto` fuzz target (`fuzz/`), run by `make test`:
        /// our recovery, verification and batch check against libsecp256k1.
        #[test]
        fn recovery_and_batch_agree_with_libsecp256k1(
            secrets in proptest::collection::vec(any::<[u8; 32]>(), 1..4),
            digests in proptest::collection::vec(any::<[u8; 32]>(), 4),
            raw in proptest::collection::vec((any::<[u8; 32]>(), any::<[u8; 32]>(), any::<u8>(), any::<u8>()), 4),
            tamper in any::<u8>(),
        ) {
            let mut claims = Vec::new();
            for (i, secret) in secrets.iter().enumerate() {
                let Ok(k) = SecretKey::from_bytes(secret) else { continue };
                let digest = B256::from(digests[i]);
                let valid = k.sign_digest(&digest);
                let (r, s, pick, v) = raw[i];
                // Valid, high-s twin, edge or random parts, or a valid one with a byte changed.
                let sig = match (tamper >> i) % 4 {
                    0 => valid,
                    1 => {
                        let mut high = valid.0;
                        high[32..64].copy_from_slice(&n_minus(&valid.0[32..64]));
                        high[64] ^= 27 ^ 28;
                        Signature(high)
                    }
                    2 => {
                        let mut out = [0u8; 65];
                        out[..32].copy_from_slice(&edgy(r, pick));
                        out[32..64].copy_from_slice(&edgy(s, pick >> 3));
                        out[64] = if v < 200 { 27 + v % 2 } else { v };
                        Signature(out)
                    }
                    _ => {
                        let mut out = valid.0;
                        out[usize::from(pick) % 65] ^= v | 1;
                        Signature(out)
                    }
                };
                let expected = libsecp_recover(&digest, &sig.0);
                prop_assert_eq!(sig.recover_public_key(&digest).ok().map(|p| p.to_xy()), expected);
                prop_assert_eq!(
                    sig.recover(&digest).ok(),
                    expected.map(|xy| Address::from_word(keccak256(xy)))
                );
                let holds = expected == Some(k.public_key().to_xy());
                prop_assert_eq!(k.public_key().verify(&digest, &sig).is_ok(), holds);
                claims.push((digest, sig, k.public_key(), holds));
            }
            let batch: Vec<Claim<'_>> = claims
                .iter()
                .map(|(digest, signature, key, _)| Claim { digest, signature, key })
                .collect();
            prop_assert_eq!(verify_batch(&batch), claims.iter().all(|c| c.3));
        }
    }

    /// Found by the `types` and `store` fuzz targets (their re-encoding checks): a validator
    /// whose key was given in SEC1's compact form (`0x05 || x`) decoded, and encoded back as
    /// `0x02 || x`.
    #[test]
    fn only_compressed_and_uncompressed_keys_parse() {
        let x = "4d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766";
        let compact = hex::decode(format!("05{x}")).unwrap();
        assert_eq!(
            PublicKey::from_sec1(&compact).unwrap_err(),
            Error::InvalidPublicKey
        );
        let compressed = hex::decode(format!("02{x}")).unwrap();
        let pk = PublicKey::from_sec1(&compressed).unwrap();
        assert_eq!(pk.to_sec1().to_vec(), compressed);
        let mut uncompressed = vec![4u8];
        uncompressed.extend_from_slice(&pk.to_xy());
        assert_eq!(PublicKey::from_sec1(&uncompressed).unwrap(), pk);
        uncompressed[0] = 6; // SEC1's hybrid form
        assert!(PublicKey::from_sec1(&uncompressed).is_err());
        assert!(PublicKey::from_sec1(&[0u8]).is_err()); // the identity
        let mut member = compact;
        member.extend_from_slice(&10u64.to_be_bytes());
        assert!(crate::Validator::decode(&member).is_err());
    }

    #[test]
    fn recovered_public_key_is_the_signers() {
        let key = SecretKey::random();
        let digest = B256::repeat_byte(7);
        let sig = key.sign_digest(&digest);
        assert_eq!(sig.recover_public_key(&digest).unwrap(), key.public_key());
        assert_ne!(
            sig.recover_public_key(&B256::repeat_byte(8)).ok(),
            Some(key.public_key())
        );
    }
}
