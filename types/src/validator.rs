//! Validators and validator sets.

use crate::codec::{impl_decode, list_len, put_list, Encode, ReadFrom, Reader};
use crate::crypto::PublicKey;
use crate::error::{DecodeError, Error};
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
    /// Length of a member's encoding.
    pub const ENCODED_LEN: usize = 33 + 8;

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

/// A member's encoding: its compressed public key (33) and voting power (`u64`).
impl Encode for Validator {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.public_key.to_sec1());
        out.extend_from_slice(&self.voting_power.to_be_bytes());
    }

    fn encoded_len(&self) -> usize {
        Self::ENCODED_LEN
    }
}

impl ReadFrom for Validator {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let key = PublicKey::from_sec1(&r.array::<33>()?).map_err(|e| Reader::invalid_at(at, e))?;
        Ok(Self::new(key, r.u64()?))
    }
}

/// `list<Validator>` in address order; decoding checks the rules of [`ValidatorSet::new`].
impl Encode for ValidatorSet {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_list(out, &self.validators);
    }

    fn encoded_len(&self) -> usize {
        list_len(&self.validators)
    }
}

impl ReadFrom for ValidatorSet {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let members: Vec<Validator> = r.list(Validator::ENCODED_LEN)?;
        // One encoding per set: members in strictly ascending address order, as encoded.
        if members.windows(2).any(|w| w[0].address >= w[1].address) {
            return Err(Reader::invalid_at(
                at,
                Error::InvalidValidatorSet("validators not in ascending address order"),
            ));
        }
        Self::new(members).map_err(|e| Reader::invalid_at(at, e))
    }
}

impl_decode!(Validator, ValidatorSet);

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

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::codec::Decode;
    use crate::testutil::{hex32, key};

    // Computed independently with Foundry's `cast` 1.7.1: addresses with `cast wallet address`,
    // the hash with `cast keccak $(cast abi-encode --packed "f(address,uint64,...)" ...)` over
    // the validators sorted by address.
    const SET_HASH: &str = "0xbde2405ee19a091d322ca6bf68e718c112b990ce09a28407bede7994a7db9995";

    pub(crate) fn validator(b: u8, power: u64) -> Validator {
        Validator::new(key(b).public_key(), power)
    }

    /// Found by the `types` fuzz target (its re-encoding check): a set whose members were
    /// encoded out of address order decoded (sorted) to the same set as the canonical bytes.
    #[test]
    fn a_set_out_of_address_order_does_not_decode() {
        let swapped = hex::decode(concat!(
            "00000004",
            "031b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f000000000000000a",
            "02531fe6068134503d2723133227c867ac8fa6c83c537e9a44c3c5bdbdcb1fe332000000000000000a",
            "024d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766000000000000000a",
            "03462779ad4aad39514614751a71085f2f10e1c7a593e4e030efb5b8721ce55b0b000000000000000a",
        ))
        .unwrap();
        assert!(ValidatorSet::decode(&swapped).is_err());
        // The same members in address order decode, and encode back to the same bytes.
        let mut sorted = swapped.clone();
        sorted[45..86].copy_from_slice(&swapped[86..127]);
        sorted[86..127].copy_from_slice(&swapped[45..86]);
        let set = ValidatorSet::decode(&sorted).unwrap();
        assert_eq!(set.encode(), sorted);
    }

    #[test]
    fn golden_validator_set_hash() {
        // Keys 0x01.., 0x02.., 0x03.. have addresses 0x1a64.., 0x5050.., 0x3325...
        let set =
            ValidatorSet::new(vec![validator(2, 20), validator(1, 10), validator(3, 30)]).unwrap();
        let order: Vec<Address> = set.validators().iter().map(|v| v.address).collect();
        assert_eq!(
            order,
            [key(1).address(), key(3).address(), key(2).address()]
        );
        assert_eq!(
            key(2).address(),
            "0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c"
                .parse::<Address>()
                .unwrap()
        );
        assert_eq!(set.hash(), hex32(SET_HASH));
        assert_eq!(set.total_power(), 60);
        assert_eq!(set.len(), 3);
        assert!(!set.is_empty());
        assert_eq!(set.get(&key(3).address()).unwrap().voting_power, 30);
        assert!(set.get(&key(4).address()).is_none());
        // The hash covers the powers.
        let other =
            ValidatorSet::new(vec![validator(2, 21), validator(1, 10), validator(3, 30)]).unwrap();
        assert_ne!(other.hash(), set.hash());
    }

    #[test]
    fn invalid_sets_are_rejected() {
        assert!(matches!(
            ValidatorSet::new(vec![]),
            Err(Error::InvalidValidatorSet(_))
        ));
        assert!(matches!(
            ValidatorSet::new(vec![validator(1, 10), validator(1, 5)]),
            Err(Error::InvalidValidatorSet(_))
        ));
        assert!(matches!(
            ValidatorSet::new(vec![validator(1, 10), validator(2, 0)]),
            Err(Error::InvalidValidatorSet(_))
        ));
        assert!(matches!(
            ValidatorSet::new(vec![
                validator(1, u64::MAX / 2 + 1),
                validator(2, u64::MAX / 2 + 1)
            ]),
            Err(Error::InvalidValidatorSet(_))
        ));
        ValidatorSet::new(vec![
            validator(1, u64::MAX / 2 + 1),
            validator(2, u64::MAX / 2),
        ])
        .unwrap();
        let mut wrong = validator(1, 10);
        wrong.address = key(2).address();
        assert!(matches!(
            ValidatorSet::new(vec![wrong]),
            Err(Error::InvalidValidatorSet(_))
        ));
    }

    #[test]
    fn supermajority_threshold() {
        let set =
            ValidatorSet::new(vec![validator(1, 1), validator(2, 1), validator(3, 1)]).unwrap();
        assert!(!set.is_supermajority(2));
        assert!(set.is_supermajority(3));
        let big = ValidatorSet::new(vec![validator(1, u64::MAX / 3 * 3)]).unwrap();
        assert!(!big.is_supermajority(u64::MAX / 3 * 2));
        assert!(big.is_supermajority(u64::MAX / 3 * 2 + 1));
    }

    #[test]
    fn genesis_json() {
        let set = ValidatorSet::new(vec![validator(2, 20), validator(1, 10)]).unwrap();
        let json = serde_json::to_value(&set).unwrap();
        let first = &json[0];
        assert_eq!(
            first["address"],
            key(1).address().to_string().to_lowercase()
        );
        assert_eq!(first["public_key"], key(1).public_key().to_string());
        assert_eq!(first["voting_power"], 10);
        assert_eq!(
            serde_json::from_value::<ValidatorSet>(json.clone()).unwrap(),
            set
        );
        // Deserializing checks the rules.
        let mut bad = json;
        bad[1]["voting_power"] = serde_json::json!(0);
        assert!(serde_json::from_value::<ValidatorSet>(bad).is_err());
    }
}
