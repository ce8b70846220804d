//! The Malachite [`Context`] of Ordo and the types it names.
//!
//! Each type here is a thin wrapper over an `ordo-types` type, so that Malachite's traits can be
//! implemented for it; the bytes that are signed and hashed are defined in `ordo-types`.

use std::fmt;

use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    self as mc, NilOrVal, Round, SignedExtension, VoteType,
};
use ordo_types::{Address, PublicKey, Signature, B256};

use ordo_chain::select_proposer;

/// The Ordo consensus context: the chain id signed into every vote and proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrdoContext {
    /// The chain id of the network.
    pub chain_id: u64,
}

impl OrdoContext {
    /// A context for the given chain.
    pub fn new(chain_id: u64) -> Self {
        Self { chain_id }
    }
}

/// A block height. Height 1 is the first block.
#[derive(Copy, Clone, Default, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);

    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's Ethereum address, as Malachite sees it.
#[derive(Copy, Clone, Default, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValidatorAddress(pub Address);

impl fmt::Display for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Address for ValidatorAddress {}

/// The consensus value: the hash of a block header. The body travels as proposal parts.
#[derive(Copy, Clone, Default, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockHash(pub B256);

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Value for BlockHash {
    type Id = BlockHash;

    fn id(&self) -> BlockHash {
        *self
    }
}

/// A committee member with its consensus key and voting power.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// The address of the consensus key.
    pub address: ValidatorAddress,
    /// The consensus public key.
    pub public_key: PublicKey,
    /// Voting power.
    pub voting_power: u64,
}

impl mc::Validator<OrdoContext> for Validator {
    fn address(&self) -> &ValidatorAddress {
        &self.address
    }

    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn voting_power(&self) -> u64 {
        self.voting_power
    }
}

/// The committee deciding a height, sorted by address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    inner: ordo_types::ValidatorSet,
}

impl ValidatorSet {
    /// The committee for a validated `ordo-types` set.
    pub fn new(set: ordo_types::ValidatorSet) -> Self {
        let validators = set
            .validators()
            .iter()
            .map(|v| Validator {
                address: ValidatorAddress(v.address),
                public_key: v.public_key,
                voting_power: v.voting_power,
            })
            .collect();
        Self {
            validators,
            inner: set,
        }
    }

    /// The underlying set, as hashed into block headers.
    pub fn inner(&self) -> &ordo_types::ValidatorSet {
        &self.inner
    }

    /// The members, sorted by address.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Whether `address` is a member.
    pub fn contains(&self, address: &Address) -> bool {
        self.inner.get(address).is_some()
    }
}

impl mc::ValidatorSet<OrdoContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> u64 {
        self.inner.total_power()
    }

    fn get_by_address(&self, address: &ValidatorAddress) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.address.cmp(address))
            .ok()
            .and_then(|i| self.validators.get(i))
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}

/// A prevote or precommit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    /// Height voted on.
    pub height: Height,
    /// Round voted in.
    pub round: Round,
    /// The block hash voted for, or nil.
    pub value: NilOrVal<BlockHash>,
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// The voter.
    pub validator_address: ValidatorAddress,
    /// A precommit's extension: the voter's decryption shares for the block's encrypted
    /// transactions, signed apart (present only while the chain has an encryption key).
    pub extension: Option<SignedExtension<OrdoContext>>,
}

impl Vote {
    /// The digest the voter signs (see `docs/FORMATS.md`).
    pub fn digest(&self, chain_id: u64) -> Option<B256> {
        let round = self.round.as_u32()?;
        let vote_type = match self.vote_type {
            VoteType::Prevote => ordo_types::VoteType::Prevote,
            VoteType::Precommit => ordo_types::VoteType::Precommit,
        };
        let hash = match self.value {
            NilOrVal::Nil => None,
            NilOrVal::Val(hash) => Some(hash.0),
        };
        Some(ordo_types::vote_digest(
            chain_id,
            self.height.0,
            round,
            vote_type,
            hash,
        ))
    }
}

impl mc::Vote<OrdoContext> for Vote {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &NilOrVal<BlockHash> {
        &self.value
    }

    fn take_value(self) -> NilOrVal<BlockHash> {
        self.value
    }

    fn vote_type(&self) -> VoteType {
        self.vote_type
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator_address
    }

    fn extension(&self) -> Option<&SignedExtension<OrdoContext>> {
        self.extension.as_ref()
    }

    fn take_extension(&mut self) -> Option<SignedExtension<OrdoContext>> {
        self.extension.take()
    }

    fn extend(self, extension: SignedExtension<OrdoContext>) -> Self {
        Self {
            extension: Some(extension),
            ..self
        }
    }
}

/// A signed proposal of a block hash for (height, round).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Height proposed for.
    pub height: Height,
    /// Round proposed in.
    pub round: Round,
    /// The block hash.
    pub value: BlockHash,
    /// The proof-of-lock round, or nil.
    pub pol_round: Round,
    /// The proposer.
    pub validator_address: ValidatorAddress,
}

impl Proposal {
    /// The digest the proposer signs (see `docs/FORMATS.md`).
    pub fn digest(&self, chain_id: u64) -> Option<B256> {
        Some(ordo_types::proposal_digest(
            chain_id,
            self.height.0,
            self.round.as_u32()?,
            self.pol_round.as_u32(),
            self.value.0,
        ))
    }
}

impl mc::Proposal<OrdoContext> for Proposal {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &BlockHash {
        &self.value
    }

    fn take_value(self) -> BlockHash {
        self.value
    }

    fn pol_round(&self) -> Round {
        self.pol_round
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator_address
    }
}

/// One part of a streamed proposal: `Init`, the encoded block in `Data` chunks, the senders'
/// claimed keys in `Keys` chunks, then `Fin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalPart {
    /// Opens the stream: what is proposed, by whom.
    Init(ProposalInit),
    /// A chunk of the encoded block.
    Data(Bytes),
    /// A chunk of the public keys (`x || y`, 64 bytes each) of the block's signed transactions'
    /// senders, in block order, as the proposer verified them: claims, not signed, which a
    /// validator checks in batches for the transactions gossip has not brought it yet instead
    /// of recovering each sender. Absent or wrong, they only cost that validator recoveries.
    Keys(Bytes),
    /// Closes the stream with the proposer's signature over the proposal digest of the block.
    Fin(Signature),
}

/// The first part of a proposal stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProposalInit {
    /// Height of the proposal.
    pub height: Height,
    /// Round in which the block was first proposed.
    pub round: Round,
    /// Proof-of-lock round (always nil for a freshly built block).
    pub pol_round: Round,
    /// The proposer that built and signed the block.
    pub proposer: ValidatorAddress,
}

impl mc::ProposalPart<OrdoContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, ProposalPart::Init(_))
    }

    fn is_last(&self) -> bool {
        matches!(self, ProposalPart::Fin(_))
    }
}

/// Ethereum-style secp256k1 signatures (see `docs/FORMATS.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthSigning;

impl mc::SigningScheme for EthSigning {
    type DecodingError = ordo_types::Error;
    type Signature = Signature;
    type PublicKey = PublicKey;
    type PrivateKey = ordo_types::SecretKey;

    fn decode_signature(bytes: &[u8]) -> Result<Signature, ordo_types::Error> {
        Signature::from_slice(bytes)
    }

    fn encode_signature(signature: &Signature) -> Vec<u8> {
        signature.0.to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, ordo_types::Error> {
        PublicKey::from_sec1(bytes)
    }

    fn encode_public_key(public_key: &PublicKey) -> Vec<u8> {
        public_key.to_sec1().to_vec()
    }
}

impl mc::Context for OrdoContext {
    type Address = ValidatorAddress;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = mc::LinearTimeouts;
    type Value = BlockHash;
    type Vote = Vote;
    type Extension = bytes::Bytes;
    type SigningScheme = EthSigning;

    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a Validator {
        let index = select_proposer(validator_set.inner(), height.0, round.as_u32().unwrap_or(0));
        // `select` returns an index into the set, and Malachite never asks with an empty set.
        #[allow(clippy::indexing_slicing)]
        &validator_set.validators[index]
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockHash,
        pol_round: Round,
        address: ValidatorAddress,
    ) -> Proposal {
        Proposal {
            height,
            round,
            value,
            pol_round,
            validator_address: address,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            height,
            round,
            value: value_id,
            vote_type: VoteType::Prevote,
            validator_address: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            height,
            round,
            value: value_id,
            vote_type: VoteType::Precommit,
            validator_address: address,
            extension: None,
        }
    }
}
