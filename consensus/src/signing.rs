//! Signing and verifying votes and proposals with the validator's secp256k1 key.
//!
//! Votes and proposals are signed over the keccak256 digests of `docs/FORMATS.md`, so the L1
//! contracts can check them with `ecrecover`.
//!
//! Malachite checks each vote when it arrives, and again in the certificate it builds from the
//! precommits when it decides, and once more when it finalizes the height. The verifier
//! remembers the signatures it found valid, so that each is checked once.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use malachitebft_app_channel::app::types::core::{
    SignedMessage, ValidatorProof, VoteExtensionScope,
};
use malachitebft_signing::{Error as SigningError, Signer, VerificationResult, Verifier};
use ordo_types::{keccak256, Generations, PublicKey, SecretKey, Signature, B256};

use crate::context::{OrdoContext, Proposal, Vote};

/// Signs as one validator.
#[derive(Clone)]
pub struct OrdoSigner {
    key: SecretKey,
    chain_id: u64,
}

impl OrdoSigner {
    /// A signer for `key` on chain `chain_id`.
    pub fn new(key: SecretKey, chain_id: u64) -> Self {
        Self { key, chain_id }
    }
}

/// Verifies signatures against the committee's known public keys, remembering the valid ones.
#[derive(Clone)]
pub struct OrdoVerifier {
    chain_id: u64,
    /// `keccak256(digest || signature || key)` of the signatures found valid lately.
    valid: Arc<Mutex<Generations<()>>>,
}

/// Valid signatures remembered: a height at 16 validators checks about 32 (their prevotes and
/// precommits), so this holds the last hundred heights or so.
const REMEMBERED: usize = 4_096;

impl OrdoVerifier {
    /// A verifier for chain `chain_id`.
    pub fn new(chain_id: u64) -> Self {
        Self {
            chain_id,
            valid: Arc::new(Mutex::new(Generations::new(REMEMBERED))),
        }
    }

    /// Whether `signature` is `public_key`'s over `digest`: remembered, or checked (and then
    /// remembered if valid).
    fn verdict(
        &self,
        public_key: &PublicKey,
        digest: &B256,
        signature: &Signature,
    ) -> VerificationResult {
        let id = signature_id(public_key, digest, signature);
        let valid = || self.valid.lock().unwrap_or_else(|e| e.into_inner());
        if valid().contains(&id) {
            return VerificationResult::Valid;
        }
        let ok = public_key.verify(digest, signature).is_ok();
        if ok {
            valid().insert(id, ());
        }
        VerificationResult::from_bool(ok)
    }
}

/// What the verifier remembers of a valid signature: `keccak256(digest || signature || key)`.
fn signature_id(public_key: &PublicKey, digest: &B256, signature: &Signature) -> B256 {
    let mut preimage = Vec::with_capacity(32 + 65 + 33);
    preimage.extend_from_slice(digest.as_slice());
    preimage.extend_from_slice(&signature.0);
    preimage.extend_from_slice(&public_key.to_sec1());
    keccak256(&preimage)
}

fn undefined_round() -> SigningError {
    SigningError::from_source("a signed message must have a defined round")
}

fn validator_proof_digest(public_key: &[u8], peer_id: &[u8]) -> B256 {
    keccak256(ValidatorProof::<OrdoContext>::signing_bytes(
        public_key, peer_id,
    ))
}

#[async_trait]
impl Signer<OrdoContext> for OrdoSigner {
    async fn sign_vote(
        &self,
        vote: Vote,
    ) -> Result<SignedMessage<OrdoContext, Vote>, SigningError> {
        let digest = vote.digest(self.chain_id).ok_or_else(undefined_round)?;
        let signature = self.key.sign_digest(&digest);
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<OrdoContext, Proposal>, SigningError> {
        let digest = proposal.digest(self.chain_id).ok_or_else(undefined_round)?;
        let signature = self.key.sign_digest(&digest);
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<OrdoContext>,
        extension: Bytes,
    ) -> Result<SignedMessage<OrdoContext, Bytes>, SigningError> {
        let digest =
            extension_digest(self.chain_id, &scope, &extension).ok_or_else(undefined_round)?;
        let signature = self.key.sign_digest(&digest);
        Ok(SignedMessage::new(extension, signature))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<OrdoContext>, SigningError> {
        let signature = self
            .key
            .sign_digest(&validator_proof_digest(&public_key, &peer_id));
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

/// The digest a precommit's extension is signed over (`ordo_types::extension_digest`), `None`
/// for a nil round.
fn extension_digest(
    chain_id: u64,
    scope: &VoteExtensionScope<OrdoContext>,
    extension: &[u8],
) -> Option<B256> {
    Some(ordo_types::extension_digest(
        chain_id,
        scope.height.0,
        scope.round.as_u32()?,
        scope.value_id.0,
        scope.validator_address.0,
        extension,
    ))
}

#[async_trait]
impl Verifier<OrdoContext> for OrdoVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        let digest = vote.digest(self.chain_id).ok_or_else(undefined_round)?;
        Ok(self.verdict(public_key, &digest, signature))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        let digest = proposal.digest(self.chain_id).ok_or_else(undefined_round)?;
        Ok(self.verdict(public_key, &digest, signature))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<OrdoContext>,
        extension: &Bytes,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        let digest =
            extension_digest(self.chain_id, scope, extension).ok_or_else(undefined_round)?;
        Ok(self.verdict(public_key, &digest, signature))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<OrdoContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(public_key) = PublicKey::from_sec1(&proof.public_key) else {
            return Ok(VerificationResult::Invalid);
        };
        let digest = validator_proof_digest(&proof.public_key, &proof.peer_id);
        Ok(self.verdict(&public_key, &digest, &proof.signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{BlockHash, Height, ValidatorAddress};
    use malachitebft_app_channel::app::types::core::{NilOrVal, Round, VoteType};

    fn precommit(key: &SecretKey, height: u64) -> Vote {
        Vote {
            height: Height(height),
            round: Round::new(2),
            value: NilOrVal::Val(BlockHash(B256::repeat_byte(0xab))),
            vote_type: VoteType::Precommit,
            validator_address: ValidatorAddress(key.address()),
            extension: None,
        }
    }

    /// What the signer signs is exactly the documented vote digest, recoverable with
    /// `ecrecover` semantics to the validator's address.
    #[tokio::test]
    async fn votes_are_signed_over_the_documented_digest() {
        let key = SecretKey::from_bytes(&[0x11; 32]).unwrap();
        let signer = OrdoSigner::new(key.clone(), 1337);
        let vote = precommit(&key, 7);
        let signed = signer.sign_vote(vote.clone()).await.unwrap();
        let digest = ordo_types::vote_digest(
            1337,
            7,
            2,
            ordo_types::VoteType::Precommit,
            Some(B256::repeat_byte(0xab)),
        );
        assert_eq!(signed.signature.recover(&digest).unwrap(), key.address());

        let verifier = OrdoVerifier::new(1337);
        let pk = key.public_key();
        let ok = verifier
            .verify_signed_vote(&vote, &signed.signature, &pk)
            .await;
        assert!(ok.unwrap().is_valid());
        // The same signature does not hold for another height or chain.
        let other = precommit(&key, 8);
        let bad = verifier
            .verify_signed_vote(&other, &signed.signature, &pk)
            .await;
        assert!(bad.unwrap().is_invalid());
        let other_chain = OrdoVerifier::new(1);
        let bad = other_chain
            .verify_signed_vote(&vote, &signed.signature, &pk)
            .await;
        assert!(bad.unwrap().is_invalid());
    }

    /// Only valid signatures are remembered, each under its digest, signature and key
    /// together: a remembered one holds for nothing else.
    #[tokio::test]
    async fn the_verifier_remembers_valid_signatures_only_for_what_they_sign() {
        let key = SecretKey::random();
        let signer = OrdoSigner::new(key.clone(), 5);
        let verifier = OrdoVerifier::new(5);
        let vote = precommit(&key, 3);
        let signed = signer.sign_vote(vote.clone()).await.unwrap();
        let digest = vote.digest(5).unwrap();
        let pk = key.public_key();
        let remembered = |pk: &PublicKey, digest: &B256| {
            let id = signature_id(pk, digest, &signed.signature);
            verifier.valid.lock().unwrap().contains(&id)
        };
        assert!(!remembered(&pk, &digest));
        let check = |vote: Vote, pk: PublicKey| {
            let verifier = verifier.clone();
            let signature = signed.signature;
            async move {
                verifier
                    .verify_signed_vote(&vote, &signature, &pk)
                    .await
                    .unwrap()
                    .is_valid()
            }
        };
        assert!(check(vote.clone(), pk).await);
        assert!(remembered(&pk, &digest));
        // Checked again (as in the certificate Malachite builds): still valid, from memory.
        assert!(check(vote.clone(), pk).await);
        // The same signature under another key or over another vote: invalid, not remembered.
        let stranger = SecretKey::random().public_key();
        assert!(!check(vote, stranger).await);
        assert!(!remembered(&stranger, &digest));
        let other = precommit(&key, 4);
        let other_digest = other.digest(5).unwrap();
        assert!(!check(other, pk).await);
        assert!(!remembered(&pk, &other_digest));
    }

    #[tokio::test]
    async fn validator_proofs_verify_and_forgeries_do_not() {
        let key = SecretKey::random();
        let signer = OrdoSigner::new(key.clone(), 1);
        let proof = signer
            .sign_validator_proof(key.public_key().to_sec1().to_vec(), vec![1, 2, 3])
            .await
            .unwrap();
        let verifier = OrdoVerifier::new(1);
        assert!(verifier
            .verify_validator_proof(&proof)
            .await
            .unwrap()
            .is_valid());
        let mut forged = proof.clone();
        forged.peer_id = vec![9];
        assert!(verifier
            .verify_validator_proof(&forged)
            .await
            .unwrap()
            .is_invalid());
    }
}
