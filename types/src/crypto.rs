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
    /// Parses a SEC1 encoding (33-byte compressed or 65-byte uncompressed).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, Error> {
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
        Ok(address_of(&q.to_affine()))
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
