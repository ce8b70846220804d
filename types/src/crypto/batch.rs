//! Batch verification of recoverable signatures against the public keys they are claimed to
//! recover to.
//!
//! A node that recovered a sender can pass the public key on with the transaction. Whoever
//! receives it checks a whole batch of such claims with one multi-scalar multiplication
//! instead of one recovery each: for claims `(zᵢ, rᵢ, sᵢ, vᵢ, Qᵢ)`, with `Rᵢ` the point of
//! x-coordinate `rᵢ` and y parity `vᵢ`, and fresh random 128-bit weights `aᵢ`,
//!
//! `Σ aᵢ·Rᵢ − Σ aᵢ·rᵢ/sᵢ·Qᵢ − (Σ aᵢ·zᵢ/sᵢ)·G = 0`.
//!
//! Each claim alone is `Rᵢ = (zᵢ·G + rᵢ·Qᵢ)/sᵢ`, which holds exactly when recovering the
//! signature gives `Qᵢ` (recovery computes `Qᵢ = (sᵢ·Rᵢ − zᵢ·G)/rᵢ`). If any claim is false,
//! the weighted sum is zero with probability at most 2⁻¹²⁸, because the weights are drawn after
//! the claims are fixed. Nothing is trusted: a false claim only makes the batch fail, and the
//! caller then recovers each signature on its own.

use super::{PublicKey, Signature};
use alloy_primitives::B256;
use k256::elliptic_curve::ff::PrimeField;
use k256::elliptic_curve::group::Group;
use k256::elliptic_curve::ops::Invert;
use k256::elliptic_curve::point::DecompressPoint;
use k256::elliptic_curve::subtle::Choice;
use k256::{AffinePoint, ProjectivePoint, Scalar};
use rand::RngCore;

/// One claim: `signature` over `digest` recovers to `key`.
#[derive(Clone, Copy, Debug)]
pub struct Claim<'a> {
    /// The signed digest.
    pub digest: &'a B256,
    /// The recoverable signature.
    pub signature: &'a Signature,
    /// The public key it is claimed to recover to.
    pub key: &'a PublicKey,
}

/// Whether every claim holds, i.e. `claim.signature.recover_public_key(claim.digest)` is
/// `claim.key` for each (up to a 2⁻¹²⁸ chance of accepting a false batch). An empty batch holds.
/// A signature that breaks the encoding rules (high s, bad v, zero or out-of-range scalars) or
/// whose `r` is no x-coordinate makes the batch fail.
pub fn verify_batch(claims: &[Claim<'_>]) -> bool {
    let n = claims.len();
    let mut parts = Vec::with_capacity(n);
    let mut points = Vec::with_capacity(2 * n + 1);
    for claim in claims {
        let Ok(p) = claim.signature.parts() else {
            return false;
        };
        let r_point = AffinePoint::decompress(&p.r_bytes, Choice::from(u8::from(p.y_odd)));
        let Some(r_point) = Option::<AffinePoint>::from(r_point) else {
            return false;
        };
        points.push(r_point);
        points.push(*claim.key.0.as_affine());
        parts.push(p);
    }
    // One inversion for all the s values (Montgomery's trick).
    let mut prefix = Vec::with_capacity(n);
    let mut acc = Scalar::ONE;
    for p in &parts {
        prefix.push(acc);
        acc *= p.s;
    }
    let Some(mut inv) = Option::<Scalar>::from(acc.invert_vartime()) else {
        return false;
    };
    let mut scalars = vec![Scalar::ZERO; 2 * n + 1];
    let mut g = Scalar::ZERO;
    let mut rng = rand::thread_rng();
    for i in (0..n).rev() {
        let s_inv = inv * prefix[i];
        inv *= parts[i].s;
        let a = random_weight(&mut rng);
        let a_s_inv = a * s_inv;
        scalars[2 * i] = a;
        scalars[2 * i + 1] = -(a_s_inv * parts[i].r);
        g -= a_s_inv * super::digest_scalar(claims[i].digest);
    }
    points.push(AffinePoint::GENERATOR);
    scalars[2 * n] = g;
    bool::from(msm(&points, &scalars).is_identity())
}

/// A uniformly random nonzero weight below 2¹²⁸.
fn random_weight(rng: &mut impl RngCore) -> Scalar {
    loop {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes[16..]);
        if let Some(a) = Option::<Scalar>::from(Scalar::from_repr(bytes.into())) {
            if !bool::from(a.is_zero()) {
                return a;
            }
        }
    }
}

/// `Σ scalarsᵢ·pointsᵢ` by Pippenger's bucket method with signed digits.
fn msm(points: &[AffinePoint], scalars: &[Scalar]) -> ProjectivePoint {
    let c = window_bits(points.len());
    // One more window than 256/c absorbs the carry of the signed recoding.
    let windows = 256 / c + 1;
    let digits: Vec<Vec<i32>> = scalars
        .iter()
        .map(|s| signed_digits(s, c, windows))
        .collect();
    let mut buckets = vec![ProjectivePoint::IDENTITY; 1 << (c - 1)];
    let mut total = ProjectivePoint::IDENTITY;
    for w in (0..windows).rev() {
        for _ in 0..c {
            total = total.double();
        }
        buckets.fill(ProjectivePoint::IDENTITY);
        for (point, digits) in points.iter().zip(&digits) {
            match digits[w] {
                0 => {}
                d if d > 0 => buckets[d as usize - 1] += point,
                d => buckets[(-d) as usize - 1] += &-*point,
            }
        }
        // Σ (k+1)·bucket[k], by running sums from the top.
        let mut running = ProjectivePoint::IDENTITY;
        let mut sum = ProjectivePoint::IDENTITY;
        for bucket in buckets.iter().rev() {
            running += bucket;
            sum += running;
        }
        total += sum;
    }
    total
}

/// The window width that minimises the additions for `n` points (about
/// `256/c · (n + 2^c)`).
fn window_bits(n: usize) -> usize {
    (2..=16)
        .min_by_key(|&c| (256 / c + 1) * (n + (1 << c)))
        .unwrap_or(4)
}

/// `scalar` as `windows` digits in `[-2^(c-1), 2^(c-1)]`, least significant first, with
/// `scalar = Σ digitᵢ·2^(c·i)`.
fn signed_digits(scalar: &Scalar, c: usize, windows: usize) -> Vec<i32> {
    let bytes = scalar.to_bytes();
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[32 - 8 * (i + 1)..32 - 8 * i]);
        *limb = u64::from_be_bytes(word);
    }
    let bits = |at: usize| -> u64 {
        // c <= 16 bits starting at bit `at`, zero past the top.
        let (limb, shift) = (at / 64, at % 64);
        let low = limbs.get(limb).map_or(0, |l| l >> shift);
        let high = match (shift, limbs.get(limb + 1)) {
            (0, _) | (_, None) => 0,
            (_, Some(h)) => h << (64 - shift),
        };
        (low | high) & ((1 << c) - 1)
    };
    let half = 1i32 << (c - 1);
    let mut carry = 0i32;
    (0..windows)
        .map(|w| {
            let mut d = bits(w * c) as i32 + carry;
            carry = 0;
            if d > half {
                d -= 1 << c;
                carry = 1;
            }
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::SecretKey;
    use alloy_primitives::keccak256;
    use proptest::prelude::*;

    struct Fixture {
        digests: Vec<B256>,
        sigs: Vec<Signature>,
        keys: Vec<PublicKey>,
    }

    impl Fixture {
        fn new(n: usize, seed: u8) -> Self {
            let secrets: Vec<SecretKey> = (0..n.min(7))
                .map(|i| {
                    let mut bytes = [seed.wrapping_add(i as u8) | 1; 32];
                    bytes[0] = 0x11;
                    SecretKey::from_bytes(&bytes).unwrap()
                })
                .collect();
            let digests: Vec<B256> = (0..n).map(|i| keccak256([seed, i as u8, 1])).collect();
            let sigs = (0..n)
                .map(|i| secrets[i % secrets.len()].sign_digest(&digests[i]))
                .collect();
            let keys = (0..n)
                .map(|i| secrets[i % secrets.len()].public_key())
                .collect();
            Self {
                digests,
                sigs,
                keys,
            }
        }

        fn claims(&self) -> Vec<Claim<'_>> {
            (0..self.sigs.len())
                .map(|i| Claim {
                    digest: &self.digests[i],
                    signature: &self.sigs[i],
                    key: &self.keys[i],
                })
                .collect()
        }
    }

    #[test]
    fn signed_digits_recompose_the_scalar() {
        for c in 2..=16 {
            let windows = 256 / c + 1;
            for s in [
                Scalar::ZERO,
                Scalar::ONE,
                -Scalar::ONE,
                Scalar::from(0xdead_beefu64),
            ] {
                let digits = signed_digits(&s, c, windows);
                let radix = Scalar::from(1u64 << c);
                let back = digits.iter().rev().fold(Scalar::ZERO, |acc, &d| {
                    let d = if d < 0 {
                        -Scalar::from(d.unsigned_abs() as u64)
                    } else {
                        Scalar::from(d as u64)
                    };
                    acc * radix + d
                });
                assert_eq!(back, s, "c = {c}");
            }
        }
    }

    #[test]
    fn msm_matches_the_naive_sum() {
        for n in [1, 2, 5, 40, 300] {
            let points: Vec<AffinePoint> = (1..=n as u64)
                .map(|i| (ProjectivePoint::GENERATOR * Scalar::from(i * 7919)).to_affine())
                .collect();
            let scalars: Vec<Scalar> = (0..n as u64)
                .map(|i| -Scalar::from(i * 104_729 + 3) * Scalar::from(u64::MAX))
                .collect();
            let naive = points
                .iter()
                .zip(&scalars)
                .fold(ProjectivePoint::IDENTITY, |acc, (p, s)| {
                    acc + ProjectivePoint::from(*p) * s
                });
            assert_eq!(msm(&points, &scalars), naive, "n = {n}");
        }
    }

    #[test]
    fn true_batches_pass() {
        for n in [0, 1, 2, 3, 64, 257] {
            assert!(verify_batch(&Fixture::new(n, 3).claims()), "n = {n}");
        }
    }

    #[test]
    fn one_false_claim_fails_the_batch() {
        let f = Fixture::new(50, 9);
        let other = SecretKey::from_bytes(&[0x42; 32]).unwrap().public_key();
        let wrong_digest = keccak256(b"not signed");
        for i in [0, 17, 49] {
            let mut claims = f.claims();
            claims[i].key = &other;
            assert!(!verify_batch(&claims), "wrong key at {i}");
            let mut claims = f.claims();
            claims[i].digest = &wrong_digest;
            assert!(!verify_batch(&claims), "wrong digest at {i}");
            // The key of the other y parity: the signature still verifies as plain ECDSA but
            // recovers to a different key.
            let mut flipped = f.sigs[i];
            flipped.0[64] ^= 27 ^ 28;
            let mut claims = f.claims();
            claims[i].signature = &flipped;
            assert!(!verify_batch(&claims), "flipped v at {i}");
        }
    }

    #[test]
    fn two_false_claims_cannot_cancel() {
        // Swapping the keys of two claims keeps the multiset of keys: only the weights tell them
        // apart.
        let f = Fixture::new(10, 21);
        let mut claims = f.claims();
        claims[2].key = &f.keys[3];
        claims[3].key = &f.keys[2];
        assert_ne!(f.keys[2], f.keys[3]);
        assert!(!verify_batch(&claims));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The batch agrees with recovering each signature, whatever bytes the signatures hold.
        #[test]
        fn agrees_with_recovery(
            n in 1usize..6,
            corrupt in proptest::option::of((0usize..6, 0usize..65, 0u8..8)),
            seed in any::<u8>(),
        ) {
            let mut f = Fixture::new(n, seed);
            if let Some((i, byte, bit)) = corrupt {
                f.sigs[i % n].0[byte] ^= 1 << bit;
            }
            let expected = (0..n).all(|i| {
                f.sigs[i].recover_public_key(&f.digests[i]).ok().as_ref() == Some(&f.keys[i])
            });
            prop_assert_eq!(verify_batch(&f.claims()), expected);
        }
    }
}
