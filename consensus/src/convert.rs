//! Conversions between Malachite's types and Ordo's: certificates, proposed values and
//! equivocation evidence.

use malachitebft_app_channel::app::types::core::{
    CommitCertificate as MalachiteCertificate, ExtendedCommitCertificate, ExtendedCommitSignature,
    NilOrVal, Round, SignedExtension, SignedVote, Validity, VoteType,
};
use malachitebft_app_channel::app::types::ProposedValue;
use ordo_types::{CommitCertificate, CommitSignature};

use crate::context::{BlockHash, Height, OrdoContext, ValidatorAddress};
use crate::store::StoredProposal;
use crate::EvidenceVote;

/// A round number as Ordo stores it (nil as 0, which consensus never asks about).
pub(crate) fn round_u32(round: Round) -> u32 {
    round.as_u32().unwrap_or(0)
}

/// The value Malachite is told about for a stored proposal.
pub(crate) fn proposed_value(height: u64, p: &StoredProposal) -> ProposedValue<OrdoContext> {
    ProposedValue {
        height: Height(height),
        round: Round::new(p.round),
        valid_round: p.pol_round.map_or(Round::Nil, Round::new),
        proposer: ValidatorAddress(p.proposer),
        value: BlockHash(p.block.hash()),
        validity: Validity::from_bool(p.valid),
    }
}

/// Malachite's certificate as Ordo's (sorted signers, as in `docs/FORMATS.md`).
pub(crate) fn to_certificate(c: &MalachiteCertificate<OrdoContext>) -> CommitCertificate {
    let mut signatures: Vec<CommitSignature> = c
        .commit_signatures
        .iter()
        .map(|s| CommitSignature {
            signer: s.address.0,
            signature: s.signature,
        })
        .collect();
    signatures.sort_by_key(|s| s.signer);
    signatures.dedup_by_key(|s| s.signer);
    CommitCertificate {
        height: c.height.0,
        round: round_u32(c.round),
        block_hash: c.value_id.0,
        signatures,
    }
}

/// Ordo's certificate in the form Malachite's sync protocol carries, each precommit with its
/// vote extension. While the chain has an encryption key every counted precommit must carry
/// one, so a signature stored without its extension is left out.
pub(crate) fn to_extended(
    c: &CommitCertificate,
    extensions: &[(ValidatorAddress, SignedExtension<OrdoContext>)],
) -> ExtendedCommitCertificate<OrdoContext> {
    let extension_of = |signer| {
        extensions
            .iter()
            .find(|(a, _)| a.0 == signer)
            .map(|(_, e)| e.clone())
    };
    ExtendedCommitCertificate {
        height: Height(c.height),
        round: Round::new(c.round),
        value_id: BlockHash(c.block_hash),
        commit_signatures: c
            .signatures
            .iter()
            .filter_map(|s| {
                let extension = extension_of(s.signer);
                (extensions.is_empty() || extension.is_some()).then(|| {
                    ExtendedCommitSignature::new(ValidatorAddress(s.signer), s.signature, extension)
                })
            })
            .collect(),
    }
}

/// One vote of an equivocation, in the form `StakeTable.slash` takes.
pub(crate) fn evidence_vote(v: &SignedVote<OrdoContext>) -> EvidenceVote {
    EvidenceVote {
        height: v.message.height.0,
        round: round_u32(v.message.round),
        vote_type: match v.message.vote_type {
            VoteType::Prevote => ordo_types::VoteType::Prevote,
            VoteType::Precommit => ordo_types::VoteType::Precommit,
        },
        block_hash: match v.message.value {
            NilOrVal::Nil => None,
            NilOrVal::Val(h) => Some(h.0),
        },
        signature: v.signature,
    }
}
