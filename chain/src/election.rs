//! Elections: the committee of an epoch, computed from the stake table's events.
//!
//! Pure functions over data. An epoch is `epoch_length` Ordo blocks (epoch `e` holds heights
//! `e * epoch_length + 1 ..= (e + 1) * epoch_length`). The first block of epoch `e` fixes an
//! L1 origin; the stake table as of that L1 block (all events in blocks at or below it) elects
//! the committee of epoch `e + activation_epochs`. Epochs below `activation_epochs` use the
//! genesis committee.

use std::collections::BTreeMap;

use alloy_primitives::U256;
use ordo_types::{Address, PublicKey, StakeEvent, Validator, ValidatorSet};
use serde::{Deserialize, Serialize};

/// Election parameters, fixed at genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionParams {
    /// Ordo blocks per epoch (at least 1).
    pub epoch_length: u64,
    /// Epochs from an election to the committee it elects taking over.
    pub activation_epochs: u64,
    /// Most validators in a committee.
    pub max_committee: usize,
    /// Least operator self-stake for a validator to be elected, wei.
    pub min_stake: U256,
}

impl ElectionParams {
    /// The epoch of `height` (height 0, before the first block, counts as epoch 0).
    pub fn epoch(&self, height: u64) -> u64 {
        height.saturating_sub(1) / self.epoch_length.max(1)
    }

    /// The first height of `epoch`.
    pub fn first_height(&self, epoch: u64) -> u64 {
        epoch
            .saturating_mul(self.epoch_length.max(1))
            .saturating_add(1)
    }

    /// The height whose L1 origin elects the committee of `epoch` (`None` for the epochs
    /// the genesis committee holds).
    pub fn election_height(&self, epoch: u64) -> Option<u64> {
        epoch
            .checked_sub(self.activation_epochs)
            .map(|e| self.first_height(e))
    }
}

/// A validator as the stake table's events describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Staker {
    /// The account that registered it.
    pub operator: Option<Address>,
    /// Its consensus key, when its registration proved possession of one.
    pub public_key: Option<PublicKey>,
    /// Its stake, delegations included, wei.
    pub active_stake: U256,
    /// Its operator's own stake, wei.
    pub self_stake: U256,
    /// Whether it was jailed.
    pub jailed: bool,
}

/// The stake table as of L1 block `l1_block`: the events in blocks at or below it, folded in
/// order, by validator address.
pub fn stake_table(events: &[(u64, StakeEvent)], l1_block: u64) -> BTreeMap<Address, Staker> {
    let mut table: BTreeMap<Address, Staker> = BTreeMap::new();
    for (_, event) in events.iter().filter(|(b, _)| *b <= l1_block) {
        match event {
            StakeEvent::Registered {
                validator,
                operator,
                public_key,
            } => {
                let s = table.entry(*validator).or_default();
                (s.operator, s.public_key) = (Some(*operator), *public_key);
            }
            StakeEvent::StakeUpdated {
                validator,
                active_stake,
                self_stake,
            } => {
                let s = table.entry(*validator).or_default();
                (s.active_stake, s.self_stake) = (*active_stake, *self_stake);
            }
            StakeEvent::Jailed { validator } => table.entry(*validator).or_default().jailed = true,
        }
    }
    table
}

/// The committee elected by the stake table as of L1 block `l1_block`: validators registered
/// with a known public key, not jailed, with a self-stake of at least `min_stake`, the
/// `max_committee` largest by active stake (ties by ascending address). Voting power is the
/// stake in gwei, halved (rounding up, so never 0) until the total fits in `u64`. `None` if
/// nobody qualifies.
pub fn elect(
    events: &[(u64, StakeEvent)],
    l1_block: u64,
    params: &ElectionParams,
) -> Option<ValidatorSet> {
    let mut eligible: Vec<(Address, PublicKey, U256)> = stake_table(events, l1_block)
        .into_iter()
        .filter(|(_, c)| !c.jailed && c.self_stake >= params.min_stake && !c.active_stake.is_zero())
        .filter_map(|(a, c)| c.public_key.map(|k| (a, k, c.active_stake)))
        .collect();
    eligible.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(&y.0)));
    eligible.truncate(params.max_committee);
    if eligible.is_empty() {
        return None;
    }
    let gwei = U256::from(1_000_000_000u64);
    let mut powers: Vec<U256> = eligible
        .iter()
        .map(|(_, _, s)| (*s / gwei).max(U256::from(1)))
        .collect();
    loop {
        let total = powers.iter().try_fold(0u64, |acc, p| {
            u64::try_from(*p).ok().and_then(|p| acc.checked_add(p))
        });
        if total.is_some() {
            break;
        }
        for p in &mut powers {
            *p = (*p).div_ceil(U256::from(2));
        }
    }
    let validators = eligible
        .iter()
        .zip(powers)
        .map(|((_, key, _), power)| Validator::new(*key, u64::try_from(power).unwrap_or(1)))
        .collect();
    ValidatorSet::new(validators).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ordo_types::SecretKey;

    const ETH: u64 = 1_000_000_000_000_000_000;

    fn params(max: usize) -> ElectionParams {
        ElectionParams {
            epoch_length: 10,
            activation_epochs: 2,
            max_committee: max,
            min_stake: U256::from(ETH),
        }
    }

    fn register(events: &mut Vec<(u64, StakeEvent)>, block: u64, key: &SecretKey, stake: U256) {
        events.push((
            block,
            StakeEvent::Registered {
                validator: key.address(),
                operator: key.address(),
                public_key: Some(key.public_key()),
            },
        ));
        events.push((
            block,
            StakeEvent::StakeUpdated {
                validator: key.address(),
                active_stake: stake,
                self_stake: stake,
            },
        ));
    }

    #[test]
    fn epochs_and_election_heights() {
        let p = params(4);
        assert_eq!(
            (p.epoch(0), p.epoch(1), p.epoch(10), p.epoch(11)),
            (0, 0, 0, 1)
        );
        assert_eq!(p.first_height(3), 31);
        assert_eq!(p.election_height(1), None);
        assert_eq!(p.election_height(2), Some(1));
        assert_eq!(p.election_height(5), Some(31));
    }

    #[test]
    fn top_stakers_above_the_minimum_not_jailed_as_of_the_block() {
        let keys: Vec<SecretKey> = (0..5).map(|_| SecretKey::random()).collect();
        let mut events = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            register(&mut events, 10, key, U256::from(ETH * (i as u64 + 1)));
        }
        // Below the minimum self-stake.
        let poor = SecretKey::random();
        register(&mut events, 10, &poor, U256::from(ETH / 2));
        // Without a known key.
        events.push((
            10,
            StakeEvent::Registered {
                validator: Address::repeat_byte(1),
                operator: Address::repeat_byte(1),
                public_key: None,
            },
        ));
        // Jailed at block 20; the largest joins at 30.
        events.push((
            20,
            StakeEvent::Jailed {
                validator: keys[4].address(),
            },
        ));
        let late = SecretKey::random();
        register(&mut events, 30, &late, U256::from(ETH) * U256::from(100));

        let at_15 = elect(&events, 15, &params(3)).unwrap();
        let members: Vec<Address> = at_15.validators().iter().map(|v| v.address).collect();
        let mut expected = vec![keys[4].address(), keys[3].address(), keys[2].address()];
        expected.sort();
        assert_eq!(members, expected);
        assert_eq!(
            at_15.get(&keys[4].address()).unwrap().voting_power,
            5_000_000_000
        );

        let at_25 = elect(&events, 25, &params(3)).unwrap();
        assert!(at_25.get(&keys[4].address()).is_none(), "jailed");
        assert!(at_25.get(&keys[1].address()).is_some());
        let at_30 = elect(&events, 30, &params(3)).unwrap();
        assert!(at_30.get(&late.address()).is_some());
        assert!(elect(&events, 9, &params(3)).is_none(), "nobody yet");
        // The same inputs always elect the same committee.
        assert_eq!(elect(&events, 30, &params(3)).unwrap().hash(), at_30.hash());
    }

    #[test]
    fn huge_stakes_are_scaled_into_u64() {
        let keys: Vec<SecretKey> = (0..3).map(|_| SecretKey::random()).collect();
        let mut events = Vec::new();
        for key in &keys {
            register(&mut events, 1, key, U256::MAX / U256::from(2));
        }
        let set = elect(&events, 1, &params(10)).unwrap();
        assert_eq!(set.len(), 3);
        let powers: Vec<u64> = set.validators().iter().map(|v| v.voting_power).collect();
        assert!(powers.iter().all(|p| *p == powers[0] && *p > 0));
        // Unstaked to zero: out.
        events.push((
            2,
            StakeEvent::StakeUpdated {
                validator: keys[0].address(),
                active_stake: U256::ZERO,
                self_stake: U256::ZERO,
            },
        ));
        assert_eq!(elect(&events, 2, &params(10)).unwrap().len(), 2);
    }
}
