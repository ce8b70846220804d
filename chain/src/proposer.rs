//! Deterministic proposer selection in proportion to voting power.
//!
//! Round 0 of a height picks a validator with probability proportional to its voting power, from
//! a seed that is the keccak256 hash of the height. Each later round picks again among the
//! validators not yet chosen at this height (in windows of `n` rounds), so a crashed proposer
//! costs at most one round per window. Every node computes the same choice from the same set.

use ordo_types::{keccak256, ValidatorSet};

/// The index (into `set.validators()`) of the proposer for `(height, round)`.
///
/// Returns 0 for an empty set, which consensus never asks about.
pub fn select(set: &ValidatorSet, height: u64, round: u32) -> usize {
    let validators = set.validators();
    let n = u32::try_from(validators.len()).unwrap_or(u32::MAX);
    if n == 0 {
        return 0;
    }
    let window_start = round - round % n;
    let mut taken = vec![false; validators.len()];
    let mut chosen = 0;
    for r in window_start..=round {
        let remaining: u128 = validators
            .iter()
            .zip(&taken)
            .filter(|(_, taken)| !**taken)
            .map(|(v, _)| u128::from(v.voting_power))
            .sum();
        let mut point = seed(height, r) % remaining.max(1);
        for (i, v) in validators.iter().enumerate() {
            if taken[i] {
                continue;
            }
            let power = u128::from(v.voting_power);
            if point < power {
                chosen = i;
                break;
            }
            point -= power;
        }
        taken[chosen] = true;
    }
    chosen
}

fn seed(height: u64, round: u32) -> u128 {
    let mut input = [0u8; 12 + 8 + 4];
    input[..12].copy_from_slice(b"ordo/leader1");
    input[12..20].copy_from_slice(&height.to_be_bytes());
    input[20..].copy_from_slice(&round.to_be_bytes());
    let hash = keccak256(input);
    let mut first = [0u8; 16];
    first.copy_from_slice(&hash[..16]);
    u128::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordo_types::{SecretKey, Validator};

    fn set(powers: &[u64]) -> ValidatorSet {
        let validators = powers
            .iter()
            .map(|&voting_power| {
                let key = SecretKey::random();
                Validator {
                    address: key.address(),
                    public_key: key.public_key(),
                    voting_power,
                }
            })
            .collect();
        ValidatorSet::new(validators).unwrap()
    }

    #[test]
    fn deterministic() {
        let s = set(&[1, 2, 3, 4]);
        for h in 1..50 {
            for r in 0..6 {
                assert_eq!(select(&s, h, r), select(&s, h, r));
            }
        }
    }

    #[test]
    fn proportional_to_power_at_round_zero() {
        let s = set(&[1, 1, 2, 4]);
        let mut counts = [0u32; 4];
        for h in 0..16_000 {
            counts[select(&s, h, 0)] += 1;
        }
        let power: Vec<u64> = s.validators().iter().map(|v| v.voting_power).collect();
        for (i, c) in counts.iter().enumerate() {
            let expected = 16_000.0 * power[i] as f64 / 8.0;
            let deviation = (*c as f64 - expected).abs() / expected;
            assert!(deviation < 0.1, "validator {i}: {c} vs {expected}");
        }
    }

    #[test]
    fn later_rounds_pick_someone_new_within_a_window() {
        let s = set(&[10, 1, 1, 1]);
        for h in 0..200 {
            let picks: std::collections::HashSet<usize> =
                (0..4).map(|r| select(&s, h, r)).collect();
            assert_eq!(
                picks.len(),
                4,
                "height {h}: every validator proposes once per window"
            );
        }
    }

    #[test]
    fn huge_round_is_cheap_and_in_range() {
        let s = set(&[5, 7, 9]);
        assert!(select(&s, 1, u32::MAX) < 3);
    }
}
