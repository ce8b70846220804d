//! Conversions from Ordo's types (`ordo-types`) to the contracts' calldata types: committees,
//! commit certificates, slashing evidence and the proof of possession.

use crate::error::L1Error;
use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use ordo_contracts::{BatchInbox, LightClient, StakeTable};
use ordo_types::{CommitCertificate, SecretKey, Signature, ValidatorSet, VoteType};

/// Domain tag of the proof-of-possession digest (`StakeTable.REGISTER_TAG`).
const REGISTER_TAG: &[u8; 16] = b"ordo/register/v1";

/// The light client's calldata form of a validator set: members in ascending address order
/// with their voting powers. It hashes to [`ValidatorSet::hash`].
pub fn committee(set: &ValidatorSet) -> LightClient::Committee {
    LightClient::Committee {
        members: set.validators().iter().map(|v| v.address).collect(),
        powers: set.validators().iter().map(|v| v.voting_power).collect(),
    }
}

/// The certificate's signatures as the light client takes them: each names its signer's
/// position in `set`. The order is the certificate's (ascending address, hence ascending
/// index). Fails when a signer is not in `set`.
pub fn commit_signatures(
    cert: &CommitCertificate,
    set: &ValidatorSet,
) -> Result<Vec<LightClient::SignerSig>, L1Error> {
    let validators = set.validators();
    cert.signatures
        .iter()
        .map(|cs| {
            let index = validators
                .binary_search_by_key(&cs.signer, |v| v.address)
                .map_err(|_| L1Error::UnknownSigner(cs.signer))?;
            let index = u16::try_from(index).map_err(|_| L1Error::UnknownSigner(cs.signer))?;
            Ok(LightClient::SignerSig {
                index,
                v: cs.signature.v(),
                r: cs.signature.r(),
                s: cs.signature.s(),
            })
        })
        .collect()
}

/// The certificate as `BatchInbox.certifyAndPost` takes it (the light client's `submitBlock`
/// arguments after the height and hash).
pub fn inbox_certificate(
    cert: &CommitCertificate,
    set: &ValidatorSet,
) -> Result<BatchInbox::Certificate, L1Error> {
    use ordo_contracts::batch_inbox::LightClient as Types;
    let LightClient::Committee { members, powers } = committee(set);
    let sigs = commit_signatures(cert, set)?
        .into_iter()
        .map(|sig| Types::SignerSig {
            index: sig.index,
            v: sig.v,
            r: sig.r,
            s: sig.s,
        })
        .collect();
    Ok(BatchInbox::Certificate {
        round: cert.round,
        committee: Types::Committee { members, powers },
        sigs,
    })
}

/// One signed vote as `StakeTable.slash` takes it (`block_hash` `None` for a nil vote).
pub fn signed_vote(
    height: u64,
    round: u32,
    vote_type: VoteType,
    block_hash: Option<B256>,
    signature: &Signature,
) -> StakeTable::SignedVote {
    StakeTable::SignedVote {
        height,
        round,
        voteType: vote_type.as_u8(),
        blockHash: block_hash.unwrap_or(B256::ZERO),
        v: signature.v(),
        r: signature.r(),
        s: signature.s(),
    }
}

/// The digest a consensus key signs to prove possession when `registrant` registers it in the
/// `StakeTable` at `stake_table` on the L1 with chain id `l1_chain_id`:
/// `keccak256("ordo/register/v1" (16 bytes) || l1_chain_id (uint256, 32 bytes) ||
/// stake_table (20) || registrant (20))`, the contract's `possessionDigest(registrant)`.
pub fn possession_digest(l1_chain_id: u64, stake_table: Address, registrant: Address) -> B256 {
    let mut buf = Vec::with_capacity(16 + 32 + 20 + 20);
    buf.extend_from_slice(REGISTER_TAG);
    buf.extend_from_slice(&U256::from(l1_chain_id).to_be_bytes::<32>());
    buf.extend_from_slice(stake_table.as_slice());
    buf.extend_from_slice(registrant.as_slice());
    keccak256(buf)
}

/// The proof of possession `StakeTable.register` takes: `key`'s signature (`r || s || v`) over
/// [`possession_digest`].
pub fn possession_proof(
    key: &SecretKey,
    l1_chain_id: u64,
    stake_table: Address,
    registrant: Address,
) -> Bytes {
    let signature = key.sign_digest(&possession_digest(l1_chain_id, stake_table, registrant));
    Bytes::copy_from_slice(&signature.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ordo_types::{vote_digest, CommitSignature, Validator};

    fn keys(n: u8) -> Vec<SecretKey> {
        (1..=n)
            .map(|i| SecretKey::from_bytes(&[i; 32]).unwrap())
            .collect()
    }

    fn set_of(keys: &[SecretKey]) -> ValidatorSet {
        ValidatorSet::new(
            keys.iter()
                .map(|k| Validator::new(k.public_key(), 10))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn committee_matches_the_set_order_and_hash() {
        let set = set_of(&keys(5));
        let c = committee(&set);
        let mut packed = Vec::new();
        for (a, p) in c.members.iter().zip(&c.powers) {
            packed.extend_from_slice(a.as_slice());
            packed.extend_from_slice(&p.to_be_bytes());
        }
        assert_eq!(keccak256(packed), set.hash());
        assert!(c.members.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn commit_signatures_name_each_signer_position() {
        let keys = keys(4);
        let set = set_of(&keys);
        let block_hash = B256::repeat_byte(7);
        let digest = vote_digest(9, 3, 0, VoteType::Precommit, Some(block_hash));
        let mut signatures: Vec<CommitSignature> = keys
            .iter()
            .take(3)
            .map(|k| CommitSignature {
                signer: k.address(),
                signature: k.sign_digest(&digest),
            })
            .collect();
        signatures.sort_by_key(|s| s.signer);
        let cert = CommitCertificate {
            height: 3,
            round: 0,
            block_hash,
            signatures,
        };
        cert.verify(9, &set).unwrap();
        let sigs = commit_signatures(&cert, &set).unwrap();
        assert_eq!(sigs.len(), 3);
        for (s, cs) in sigs.iter().zip(&cert.signatures) {
            assert_eq!(set.validators()[usize::from(s.index)].address, cs.signer);
            assert_eq!(
                [s.r.as_slice(), s.s.as_slice(), &[s.v]].concat(),
                cs.signature.0
            );
        }
        assert!(sigs.windows(2).all(|w| w[0].index < w[1].index));
    }

    #[test]
    fn commit_signatures_refuse_outsiders() {
        let keys = keys(5);
        let set = set_of(&keys[..4]);
        let outsider = &keys[4];
        let cert = CommitCertificate {
            height: 1,
            round: 0,
            block_hash: B256::repeat_byte(1),
            signatures: vec![CommitSignature {
                signer: outsider.address(),
                signature: outsider.sign_digest(&B256::repeat_byte(2)),
            }],
        };
        assert!(matches!(
            commit_signatures(&cert, &set),
            Err(L1Error::UnknownSigner(a)) if a == outsider.address()
        ));
    }

    #[test]
    fn possession_proof_recovers_to_the_key() {
        let key = SecretKey::from_bytes(&[3; 32]).unwrap();
        let (st, reg) = (Address::repeat_byte(0xaa), Address::repeat_byte(0xbb));
        let proof = possession_proof(&key, 31337, st, reg);
        let sig = Signature::from_slice(&proof).unwrap();
        assert_eq!(
            sig.recover(&possession_digest(31337, st, reg)).unwrap(),
            key.address()
        );
        // Bound to chain, contract and registrant.
        assert_ne!(
            possession_digest(1, st, reg),
            possession_digest(31337, st, reg)
        );
        assert_ne!(
            possession_digest(31337, reg, reg),
            possession_digest(31337, st, reg)
        );
        assert_ne!(
            possession_digest(31337, st, st),
            possession_digest(31337, st, reg)
        );
    }
}
