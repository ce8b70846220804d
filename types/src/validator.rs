//! Validators and validator sets.

use crate::crypto::PublicKey;
use crate::error::Error;
use alloy_primitives::{keccak256, Address, B256};
use serde::{Deserialize, Serialize};

/// A committee member: its address, signing key and voting power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Validator {
    /// Ethereum address of `public_key`.
    pub address: Address,
    /// The key that signs votes and proposals.
    pub public_key: PublicKey,
    /// Voting power (`> 0`).
    pub voting_power: u64,
}

impl Validator {
    /// A validator for `public_key`, with its address derived from the key.
    pub fn new(public_key: PublicKey, voting_power: u64) -> Self {
        Self {
            address: public_key.address(),
            public_key,
            voting_power,
        }
    }
}

/// A validated, non-empty set of validators sorted by ascending address. Serializes as a list
/// of validators; deserializing checks the same rules as [`ValidatorSet::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<Validator>", into = "Vec<Validator>")]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total_power: u64,
}

impl ValidatorSet {
    /// Sorts `validators` by address and checks the set: non-empty, no duplicate address,
    /// every power `> 0`, every address equal to its key's address, total power fits in `u64`.
    pub fn new(mut validators: Vec<Validator>) -> Result<Self, Error> {
        if validators.is_empty() {
            return Err(Error::InvalidValidatorSet("the set is empty"));
        }
        validators.sort_by_key(|v| v.address);
        if validators
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.address == b.address))
        {
            return Err(Error::InvalidValidatorSet("duplicate validator address"));
        }
        let mut total_power: u64 = 0;
        for v in &validators {
            if v.voting_power == 0 {
                return Err(Error::InvalidValidatorSet(
                    "a validator has zero voting power",
                ));
            }
            if v.public_key.address() != v.address {
                return Err(Error::InvalidValidatorSet(
                    "a validator's address does not match its public key",
                ));
            }
            total_power =
                total_power
                    .checked_add(v.voting_power)
                    .ok_or(Error::InvalidValidatorSet(
                        "total voting power overflows u64",
                    ))?;
        }
        Ok(Self {
            validators,
            total_power,
        })
    }

    /// The validators, sorted by ascending address.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// The member with address `address`.
    pub fn get(&self, address: &Address) -> Option<&Validator> {
        self.validators
            .binary_search_by_key(address, |v| v.address)
            .ok()
            .and_then(|i| self.validators.get(i))
    }

    /// Sum of all voting power.
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Always false: a set has at least one validator.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// `keccak256(concat(address (20) || voting_power u64))` over the sorted validators, i.e.
    /// `keccak256(abi.encodePacked(address, uint64, address, uint64, ...))`.
    pub fn hash(&self) -> B256 {
        let mut buf = Vec::with_capacity(self.validators.len().saturating_mul(28));
        for v in &self.validators {
            buf.extend_from_slice(v.address.as_slice());
            buf.extend_from_slice(&v.voting_power.to_be_bytes());
        }
        keccak256(buf)
    }

    /// True when `power` is more than 2/3 of the total (`3 * power > 2 * total`, in `u128`).
    pub fn is_supermajority(&self, power: u64) -> bool {
        3u128 * u128::from(power) > 2u128 * u128::from(self.total_power)
    }
}

impl TryFrom<Vec<Validator>> for ValidatorSet {
    type Error = Error;

    fn try_from(validators: Vec<Validator>) -> Result<Self, Error> {
        Self::new(validators)
    }
}

impl From<ValidatorSet> for Vec<Validator> {
    fn from(set: ValidatorSet) -> Self {
        set.validators
    }
}
