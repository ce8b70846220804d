//! Consensus signing digests (votes, proposals) and commit certificates.

use crate::codec::{impl_decode, list_len, put_list, Encode, ReadFrom, Reader};
use crate::crypto::{Signature, SIGNATURE_LEN};
use crate::error::{DecodeError, Error};
use crate::validator::ValidatorSet;
use alloy_primitives::{keccak256, Address, B256};
use serde::{Deserialize, Serialize};

const VOTE_DOMAIN: &[u8; 12] = b"ordo/vote/v1";
const PROPOSAL_DOMAIN: &[u8; 12] = b"ordo/prop/v1";
/// `pol_round` value that means "no proof-of-lock round".
const NO_POL_ROUND: u32 = u32::MAX;

/// The two kinds of Tendermint vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum VoteType {
    /// First-round vote.
    Prevote = 1,
    /// Second-round vote; a certificate is made of precommits.
    Precommit = 2,
}

impl VoteType {
    /// The byte used in digests.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for VoteType {
    type Error = u8;

    fn try_from(value: u8) -> Result<Self, u8> {
        match value {
            1 => Ok(Self::Prevote),
            2 => Ok(Self::Precommit),
            other => Err(other),
        }
    }
}

/// The digest a validator signs for a vote: `keccak256("ordo/vote/v1" || chain_id u64 ||
/// height u64 || round u32 || vote_type u8 || block_hash)`, `block_hash` zero for nil.
pub fn vote_digest(
    chain_id: u64,
    height: u64,
    round: u32,
    vote_type: VoteType,
    block_hash: Option<B256>,
) -> B256 {
    let mut buf = [0u8; 12 + 8 + 8 + 4 + 1 + 32];
    buf[..12].copy_from_slice(VOTE_DOMAIN);
    buf[12..20].copy_from_slice(&chain_id.to_be_bytes());
    buf[20..28].copy_from_slice(&height.to_be_bytes());
    buf[28..32].copy_from_slice(&round.to_be_bytes());
    buf[32] = vote_type.as_u8();
    buf[33..].copy_from_slice(block_hash.unwrap_or(B256::ZERO).as_slice());
    keccak256(buf)
}

/// The digest a proposer signs for a proposal: `keccak256("ordo/prop/v1" || chain_id u64 ||
/// height u64 || round u32 || pol_round u32 || block_hash)`, `pol_round = 0xFFFFFFFF` for none.
pub fn proposal_digest(
    chain_id: u64,
    height: u64,
    round: u32,
    pol_round: Option<u32>,
    block_hash: B256,
) -> B256 {
    let mut buf = [0u8; 12 + 8 + 8 + 4 + 4 + 32];
    buf[..12].copy_from_slice(PROPOSAL_DOMAIN);
    buf[12..20].copy_from_slice(&chain_id.to_be_bytes());
    buf[20..28].copy_from_slice(&height.to_be_bytes());
    buf[28..32].copy_from_slice(&round.to_be_bytes());
    buf[32..36].copy_from_slice(&pol_round.unwrap_or(NO_POL_ROUND).to_be_bytes());
    buf[36..].copy_from_slice(block_hash.as_slice());
    keccak256(buf)
}

/// One validator's precommit signature in a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommitSignature {
    /// The validator's address.
    pub signer: Address,
    /// Its precommit signature for the certificate's block.
    pub signature: Signature,
}

/// Proof that a block was decided: precommits for `(height, round, block_hash)` from
/// validators holding more than 2/3 of the voting power.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommitCertificate {
    /// Height of the decided block.
    pub height: u64,
    /// Round in which it was decided.
    pub round: u32,
    /// Hash of the decided block.
    pub block_hash: B256,
    /// Precommit signatures, signers in strictly ascending address order.
    pub signatures: Vec<CommitSignature>,
}

impl CommitCertificate {
    /// The digest every signature in the certificate signs.
    pub fn digest(&self, chain_id: u64) -> B256 {
        vote_digest(
            chain_id,
            self.height,
            self.round,
            VoteType::Precommit,
            Some(self.block_hash),
        )
    }

    /// Checks the certificate against `validators`: signers strictly ascending (so none
    /// repeats), every signer a member, signers holding more than 2/3 of the total power, and
    /// every signature a valid precommit by its signer's key. Cheap checks run before any
    /// signature is verified.
    pub fn verify(&self, chain_id: u64, validators: &ValidatorSet) -> Result<(), Error> {
        let mut signed: u64 = 0;
        let mut previous: Option<Address> = None;
        for cs in &self.signatures {
            if let Some(prev) = previous {
                if cs.signer == prev {
                    return Err(Error::DuplicateSigner(cs.signer));
                }
                if cs.signer < prev {
                    return Err(Error::UnsortedSigners(cs.signer));
                }
            }
            previous = Some(cs.signer);
            let member = validators
                .get(&cs.signer)
                .ok_or(Error::UnknownSigner(cs.signer))?;
            // Cannot overflow: distinct members' powers sum to at most the set's total.
            signed = signed.saturating_add(member.voting_power);
        }
        if !validators.is_supermajority(signed) {
            return Err(Error::InsufficientPower {
                signed,
                total: validators.total_power(),
            });
        }
        let digest = self.digest(chain_id);
        for cs in &self.signatures {
            let member = validators
                .get(&cs.signer)
                .ok_or(Error::UnknownSigner(cs.signer))?;
            member.public_key.verify(&digest, &cs.signature)?;
        }
        Ok(())
    }
}

impl Encode for CommitSignature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.signer.as_slice());
        self.signature.encode_to(out);
    }

    fn encoded_len(&self) -> usize {
        20 + SIGNATURE_LEN
    }
}

impl ReadFrom for CommitSignature {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            signer: r.address()?,
            signature: Signature::read_from(r)?,
        })
    }
}

impl Encode for CommitCertificate {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.round.to_be_bytes());
        out.extend_from_slice(self.block_hash.as_slice());
        put_list(out, &self.signatures);
    }

    fn encoded_len(&self) -> usize {
        (8 + 4 + 32usize).saturating_add(list_len(&self.signatures))
    }
}

impl ReadFrom for CommitCertificate {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            height: r.u64()?,
            round: r.u32()?,
            block_hash: r.b256()?,
            signatures: r.list(20 + SIGNATURE_LEN)?,
        })
    }
}

impl_decode!(CommitSignature, CommitCertificate);
