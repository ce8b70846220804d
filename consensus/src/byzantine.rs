//! Test faults: ways to make one validator misbehave, so that tests and fault scenarios can
//! watch the honest ones refuse it. Compiled only with the `byzantine` feature; a default
//! build can neither parse nor run them.

use ordo_chain::{BlockLimits, Candidate};
use ordo_mempool::Mempool;
use ordo_types::{
    Address, Block, Body, Bytes, InboxItem, NamespaceEntries, Sealed, SecretKey, Transaction, B256,
};
use serde::{Deserialize, Serialize};

/// A way to make a proposer's blocks invalid, for tests of honest validators' checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposerFault {
    /// Name another validator as the proposer.
    WrongProposer,
    /// Point at a parent that is not the previous block.
    WrongParent,
    /// Include a transaction whose signature does not verify.
    BadTransactionSignature,
    /// Exceed the block size limit.
    OversizedBody,
    /// Never include anything for this namespace: its mempool transactions are dropped and
    /// inbox items stop at the first one for it (so blocks after its deadline are invalid).
    CensorNamespace(u64),
    /// Refuse every proposal (vote nil). Run next to a twin holding the same validator key
    /// that votes normally, and the key's votes conflict: equivocation for slashing tests.
    VoteNil,
    /// Drop this sender's mempool transactions. Its inbox items still go in once due, as
    /// every proposer's do (the blocks stay valid: the inbox is the way around this proposer).
    CensorSender(Address),
    /// Split every pending bundle: propose its first transaction alone, as a single one.
    SplitBundles,
    /// Include an encrypted transaction for namespace 1 whose key encapsulation is not a
    /// point of the group (it could never open).
    MalformedEnvelope,
    /// Include one encrypted transaction for namespace 1 twice: the same identity twice.
    ReusedIdentity,
    /// Precommit without decryption shares (an empty vote extension).
    WithholdShares,
    /// Exit the process right after storing a decided block with encrypted transactions,
    /// before opening it (as a crash there would).
    CrashBeforeOpening,
}

/// Puts `group` first in `block`, in place of any group of its namespace (the faults below use
/// namespaces their blocks are otherwise without).
fn add_group(block: &mut Block, group: NamespaceEntries) {
    let others: Vec<_> = block
        .body
        .namespaces
        .drain(..)
        .filter(|g| g.namespace != group.namespace)
        .collect();
    block.body =
        Body::from_entries(std::iter::once(group).chain(others).collect()).unwrap_or_default();
}

/// A key encapsulation whose `U` is a point of G2 (so the envelope passes the shape check),
/// made for a throwaway key.
fn generator_kem() -> [u8; ordo_types::KEM_LEN] {
    let (sharing, _) = ordo_enc::deal(&mut rand_010::rng(), 1);
    let key = ordo_enc::EncryptionKey {
        key_id: 0,
        public: *sharing.public(),
    };
    let to = ordo_enc::Recipient {
        chain_id: 0,
        namespace: 0,
        sender: Address::ZERO,
        nonce: 0,
    };
    ordo_enc::seal(&mut rand_010::rng(), &key, &to, b"").map_or([0; ordo_types::KEM_LEN], |s| s.kem)
}

/// Leaves out what a censoring proposer leaves out of the block it builds.
pub(crate) fn censor(
    fault: Option<ProposerFault>,
    forced: &mut Vec<InboxItem>,
    candidates: &mut Vec<Candidate>,
    mempool: &Mempool,
) {
    let txs = |c: &Candidate| -> Vec<Transaction> {
        match c {
            Candidate::Tx(tx) | Candidate::Release(tx) => vec![tx.clone()],
            Candidate::Bundle(b) => b.txs().to_vec(),
        }
    };
    match fault {
        Some(ProposerFault::CensorNamespace(ns)) => {
            if let Some(first) = forced.iter().position(|i| i.namespace == ns) {
                forced.truncate(first);
            }
            candidates.retain(|c| txs(c).iter().all(|tx| tx.namespace() != ns));
        }
        Some(ProposerFault::CensorSender(a)) => {
            candidates.retain(|c| txs(c).iter().all(|tx| mempool.sender(tx).ok() != Some(a)));
        }
        Some(ProposerFault::SplitBundles) => {
            for c in candidates.iter_mut() {
                if let Some(first) = txs(c).into_iter().next() {
                    *c = Candidate::Tx(first);
                }
            }
        }
        _ => {}
    }
}

/// Whether this proposer builds as if it held no bundle (so that it packs a bundle's
/// transaction alone).
pub(crate) fn ignores_bundles(fault: Option<ProposerFault>) -> bool {
    fault == Some(ProposerFault::SplitBundles)
}

/// Whether this validator withholds its decryption shares.
pub(crate) fn withholds_shares(fault: Option<ProposerFault>) -> bool {
    fault == Some(ProposerFault::WithholdShares)
}

/// Whether this node stops before opening a decided block with encrypted transactions.
pub(crate) fn crashes_before_opening(fault: Option<ProposerFault>) -> bool {
    fault == Some(ProposerFault::CrashBeforeOpening)
}

/// Whether this validator refuses every proposal.
pub(crate) fn votes_nil(fault: Option<ProposerFault>) -> bool {
    fault == Some(ProposerFault::VoteNil)
}

/// Makes a built block invalid in the way `fault` names, keeping it well formed otherwise.
pub(crate) fn corrupt(
    fault: Option<ProposerFault>,
    block: &mut Block,
    limits: &BlockLimits,
    chain_id: u64,
    key_id: u64,
) {
    let add = |block: &mut Block, tx: Transaction| {
        add_group(
            block,
            NamespaceEntries {
                namespace: tx.namespace(),
                entries: vec![tx.into()],
            },
        )
    };
    match fault {
        Some(ProposerFault::WrongProposer) => block.header.proposer = Address::repeat_byte(0x42),
        Some(ProposerFault::WrongParent) => block.header.parent_hash = B256::repeat_byte(0x42),
        Some(ProposerFault::BadTransactionSignature) => {
            let payload = Bytes::from_static(b"forged");
            let digest = Transaction::signing_hash(1, 0, &payload, chain_id);
            let mut signature = SecretKey::random().sign_digest(&digest);
            // r = 5 is not the x-coordinate of a curve point: no sender can be recovered.
            // (Tampering with the payload instead would just recover some other sender.)
            signature.0[..32].copy_from_slice(&B256::with_last_byte(5).0);
            add(block, Transaction::eip712(1, 0, payload, signature));
        }
        Some(ProposerFault::OversizedBody) => {
            let payload = Bytes::from(vec![0u8; limits.max_block_bytes]);
            add(
                block,
                Transaction::sign(1, 0, payload, &SecretKey::random(), chain_id),
            );
        }
        Some(ProposerFault::MalformedEnvelope) => {
            let sealed = Sealed {
                key_id,
                bucket: ordo_types::MIN_BUCKET,
                kem: [0xff; ordo_types::KEM_LEN],
                dem: Bytes::from(vec![
                    0u8;
                    ordo_types::bucket_size(ordo_types::MIN_BUCKET) + 16
                ]),
            };
            add(
                block,
                Transaction::sign_encrypted(1, 0, &sealed, &SecretKey::random(), chain_id),
            );
        }
        Some(ProposerFault::ReusedIdentity) => {
            let sealed = Sealed {
                key_id,
                bucket: ordo_types::MIN_BUCKET,
                // The group's generator: a well-formed encapsulation.
                kem: generator_kem(),
                dem: Bytes::from(vec![
                    0u8;
                    ordo_types::bucket_size(ordo_types::MIN_BUCKET) + 16
                ]),
            };
            let tx = Transaction::sign_encrypted(1, 0, &sealed, &SecretKey::random(), chain_id);
            add_group(
                block,
                NamespaceEntries {
                    namespace: 1,
                    entries: vec![tx.clone().into(), tx.into()],
                },
            );
        }
        // Censorship is applied while selecting what goes in, not to a built block.
        Some(
            ProposerFault::CensorNamespace(_)
            | ProposerFault::CensorSender(_)
            | ProposerFault::SplitBundles,
        )
        | Some(
            ProposerFault::VoteNil
            | ProposerFault::WithholdShares
            | ProposerFault::CrashBeforeOpening,
        )
        | None => return,
    }
    tracing::warn!(target: "ordo::consensus", height = block.header.height, ?fault, "test fault: proposing an invalid block");
    block.header.namespace_root = block.body.namespace_root();
    block.header.tx_count = block.body.tx_count().unwrap_or(u32::MAX);
    block.header.bundle_root = block.body.bundle_root();
}
