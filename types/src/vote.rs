//! Consensus signing digests (votes, proposals) and commit certificates.

use crate::codec::{impl_decode, list_len, put_list, Encode, ReadFrom, Reader};
use crate::crypto::{Signature, SIGNATURE_LEN};
use crate::error::{DecodeError, Error};
use crate::validator::ValidatorSet;
use alloy_primitives::{keccak256, Address, B256};
use serde::{Deserialize, Serialize};

const VOTE_DOMAIN: &[u8; 12] = b"ordo/vote/v1";
const PROPOSAL_DOMAIN: &[u8; 12] = b"ordo/prop/v1";
const EXTENSION_DOMAIN: &[u8; 11] = b"ordo/ext/v1";
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

/// The digest a validator signs for its precommit's vote extension (the decryption shares of
/// the block's encrypted transactions): `keccak256("ordo/ext/v1" || chain_id u64 || height
/// u64 || round u32 || block_hash || validator || keccak256(extension))`, so an extension
/// cannot be replayed on another height, round, block or validator.
pub fn extension_digest(
    chain_id: u64,
    height: u64,
    round: u32,
    block_hash: B256,
    validator: Address,
    extension: &[u8],
) -> B256 {
    let mut buf = [0u8; 11 + 8 + 8 + 4 + 32 + 20 + 32];
    buf[..11].copy_from_slice(EXTENSION_DOMAIN);
    buf[11..19].copy_from_slice(&chain_id.to_be_bytes());
    buf[19..27].copy_from_slice(&height.to_be_bytes());
    buf[27..31].copy_from_slice(&round.to_be_bytes());
    buf[31..63].copy_from_slice(block_hash.as_slice());
    buf[63..83].copy_from_slice(validator.as_slice());
    buf[83..].copy_from_slice(keccak256(extension).as_slice());
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::codec::Decode;
    use crate::testutil::{arb_certificate, assert_round_trip, hex32, key};
    use crate::validator::Validator;
    use proptest::prelude::*;

    // Computed independently with Foundry's `cast` 1.7.1:
    // `cast keccak $(cast abi-encode --packed "f(string,uint64,uint64,uint32,uint8,bytes32)" "ordo/vote/v1" ...)`
    // and the same with `uint32 pol_round` for proposals. BLOCK_HASH is the golden header's hash.
    const BLOCK_HASH: &str = crate::block::tests::BLOCK_HASH;
    const PRECOMMIT: &str = "0x932095f56a9651a65bacd5e4a63f46096f3269c4e6f228b024dc8496fbb1c087";
    const NIL_PREVOTE: &str = "0x252fe6bd6d86d0d1ebb8d50513a204db0b98c5474d508c47131e8be80a76574b";
    const PROPOSAL_POL_1: &str =
        "0x1d9c42caa0b1a2e12bcbb2e1315b2effc20c1ccb426cf17c303f2fa5497bb8b9";
    const PROPOSAL_NO_POL: &str =
        "0x6c5dd8958046cb76063ad06dc0aa10e51daf2abd66a69477d2b268fe7940c54b";
    const CHAIN: u64 = 1234;

    #[test]
    fn golden_digests() {
        let hash = hex32(BLOCK_HASH);
        assert_eq!(
            vote_digest(CHAIN, 5, 2, VoteType::Precommit, Some(hash)),
            hex32(PRECOMMIT)
        );
        assert_eq!(
            vote_digest(CHAIN, 5, 2, VoteType::Prevote, None),
            hex32(NIL_PREVOTE)
        );
        assert_eq!(
            proposal_digest(CHAIN, 5, 2, Some(1), hash),
            hex32(PROPOSAL_POL_1)
        );
        assert_eq!(
            proposal_digest(CHAIN, 5, 2, None, hash),
            hex32(PROPOSAL_NO_POL)
        );
        // Votes and proposals never share a digest, and every field matters.
        assert_ne!(
            vote_digest(CHAIN, 5, 2, VoteType::Prevote, Some(hash)),
            hex32(PRECOMMIT)
        );
        assert_ne!(
            vote_digest(CHAIN + 1, 5, 2, VoteType::Precommit, Some(hash)),
            hex32(PRECOMMIT)
        );
        assert_ne!(
            vote_digest(CHAIN, 6, 2, VoteType::Precommit, Some(hash)),
            hex32(PRECOMMIT)
        );
        assert_ne!(
            vote_digest(CHAIN, 5, 3, VoteType::Precommit, Some(hash)),
            hex32(PRECOMMIT)
        );
        assert_eq!(VoteType::try_from(2), Ok(VoteType::Precommit));
        assert_eq!(VoteType::try_from(3), Err(3));
    }

    /// Validators 1..=4 with powers 100, 100, 99, 1 (total 300: 200 is exactly 2/3).
    fn set() -> ValidatorSet {
        ValidatorSet::new(vec![
            Validator::new(key(1).public_key(), 100),
            Validator::new(key(2).public_key(), 100),
            Validator::new(key(3).public_key(), 99),
            Validator::new(key(4).public_key(), 1),
        ])
        .unwrap()
    }

    fn certificate(signers: &[u8]) -> CommitCertificate {
        let block_hash = hex32(BLOCK_HASH);
        let digest = vote_digest(CHAIN, 5, 2, VoteType::Precommit, Some(block_hash));
        let mut signatures: Vec<CommitSignature> = signers
            .iter()
            .map(|b| CommitSignature {
                signer: key(*b).address(),
                signature: key(*b).sign_digest(&digest),
            })
            .collect();
        signatures.sort_by_key(|s| s.signer);
        CommitCertificate {
            height: 5,
            round: 2,
            block_hash,
            signatures,
        }
    }

    #[test]
    fn exactly_two_thirds_fails_just_above_passes() {
        let set = set();
        assert_eq!(
            certificate(&[1, 2]).verify(CHAIN, &set).unwrap_err(),
            Error::InsufficientPower {
                signed: 200,
                total: 300
            }
        );
        certificate(&[1, 2, 4]).verify(CHAIN, &set).unwrap();
        certificate(&[1, 2, 3]).verify(CHAIN, &set).unwrap();
        certificate(&[1, 2, 3, 4]).verify(CHAIN, &set).unwrap();
        assert!(matches!(
            certificate(&[1, 3, 4]).verify(CHAIN, &set).unwrap_err(),
            Error::InsufficientPower {
                signed: 200,
                total: 300
            }
        ));
        assert!(certificate(&[]).verify(CHAIN, &set).is_err());
    }

    #[test]
    fn non_member_signer_fails() {
        let mut cert = certificate(&[1, 2, 3, 5]);
        assert_eq!(
            cert.verify(CHAIN, &set()).unwrap_err(),
            Error::UnknownSigner(key(5).address())
        );
        cert.signatures.retain(|s| s.signer != key(5).address());
        cert.verify(CHAIN, &set()).unwrap();
    }

    #[test]
    fn duplicate_and_unsorted_signers_fail() {
        let mut cert = certificate(&[1, 2]);
        let first = cert.signatures[0];
        cert.signatures.insert(0, first);
        assert_eq!(
            cert.verify(CHAIN, &set()).unwrap_err(),
            Error::DuplicateSigner(first.signer)
        );
        let mut cert = certificate(&[1, 2, 4]);
        cert.signatures.reverse();
        assert!(matches!(
            cert.verify(CHAIN, &set()).unwrap_err(),
            Error::UnsortedSigners(_)
        ));
    }

    #[test]
    fn forged_signatures_fail() {
        let set = set();
        // Signer 4's slot signed by key 5.
        let mut cert = certificate(&[1, 2, 4]);
        let digest = cert.digest(CHAIN);
        let i = cert
            .signatures
            .iter()
            .position(|s| s.signer == key(4).address())
            .unwrap();
        cert.signatures[i].signature = key(5).sign_digest(&digest);
        assert_eq!(cert.verify(CHAIN, &set).unwrap_err(), Error::BadSignature);
        // A prevote instead of a precommit.
        let mut cert = certificate(&[1, 2, 4]);
        let prevote = vote_digest(CHAIN, 5, 2, VoteType::Prevote, Some(cert.block_hash));
        let i = cert
            .signatures
            .iter()
            .position(|s| s.signer == key(1).address())
            .unwrap();
        cert.signatures[i].signature = key(1).sign_digest(&prevote);
        assert_eq!(cert.verify(CHAIN, &set).unwrap_err(), Error::BadSignature);
        // Flipped v (same key and digest, but ecrecover would disagree).
        let mut cert = certificate(&[1, 2, 4]);
        cert.signatures[1].signature.0[64] ^= 27 ^ 28;
        assert_eq!(cert.verify(CHAIN, &set).unwrap_err(), Error::BadSignature);
    }

    #[test]
    fn wrong_height_round_hash_or_chain_fails() {
        let set = set();
        let good = certificate(&[1, 2, 4]);
        good.verify(CHAIN, &set).unwrap();
        let mut c = good.clone();
        c.height += 1;
        assert_eq!(c.verify(CHAIN, &set).unwrap_err(), Error::BadSignature);
        let mut c = good.clone();
        c.round += 1;
        assert_eq!(c.verify(CHAIN, &set).unwrap_err(), Error::BadSignature);
        let mut c = good.clone();
        c.block_hash.0[0] ^= 1;
        assert_eq!(c.verify(CHAIN, &set).unwrap_err(), Error::BadSignature);
        assert_eq!(
            good.verify(CHAIN + 1, &set).unwrap_err(),
            Error::BadSignature
        );
    }

    #[test]
    fn certificate_encoding_and_json() {
        let cert = certificate(&[1, 2, 4]);
        assert_round_trip(&cert);
        let bytes = cert.encode();
        assert_eq!(bytes.len(), 8 + 4 + 32 + 4 + 3 * (20 + 65));
        assert_eq!(&bytes[..8], &5u64.to_be_bytes());
        assert_eq!(&bytes[44..48], &3u32.to_be_bytes());
        assert_eq!(&bytes[48..68], cert.signatures[0].signer.as_slice());
        let json = serde_json::to_string(&cert).unwrap();
        assert_eq!(
            serde_json::from_str::<CommitCertificate>(&json).unwrap(),
            cert
        );
        let mut huge = bytes[..44].to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(&[0u8; 100]);
        assert!(CommitCertificate::decode(&huge).is_err());
    }

    proptest! {
        #[test]
        fn certificate_round_trip(cert in arb_certificate()) {
            assert_round_trip(&cert);
        }

        #[test]
        fn certificate_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(cert) = CommitCertificate::decode(&bytes) {
                prop_assert_eq!(cert.encode(), bytes);
            }
        }
    }
}
