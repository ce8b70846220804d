//! The Ordo block builder's output side: the one place that turns a decided block into the
//! per-rollup blocks rollups read, each with the proof that it is all of its namespace's
//! entries (or that the namespace is absent), the header and the commit certificate.
//!
//! Assembling proposals is the chain core's ([`ordo_chain::Chain::build`]), next to the rules
//! that judge them, so that a block built is a block accepted.
//!
//! ```
//! use ordo_builder::{namespace_block, split};
//! use ordo_types::{Address, Block, Body, Bytes, CommitCertificate, Header, NamespaceEntries, SecretKey, Transaction, B256};
//!
//! let tx = Transaction::sign(3, 0, Bytes::from_static(b"hi"), &SecretKey::random(), 7);
//! let body = Body::from_entries(vec![NamespaceEntries { namespace: 3, entries: vec![tx.into()] }]).unwrap();
//! let header = Header {
//!     chain_id: 7, height: 1, epoch: 0, timestamp_ms: 1, parent_hash: B256::ZERO,
//!     proposer: Address::ZERO, namespace_root: body.namespace_root(), tx_count: 1,
//!     validators_hash: B256::ZERO, next_validators_hash: B256::ZERO,
//!     l1_origin_number: 0, l1_origin_hash: B256::ZERO, inbox_cursor: 0, bundle_root: B256::ZERO,
//!     encryption_key_hash: B256::ZERO,
//! };
//! let block = Block { header, body };
//! let cert = CommitCertificate { height: 0, round: 0, block_hash: block.hash(), signatures: vec![] };
//! let slice = namespace_block(&block, &cert, 3);
//! slice.proof.verify(&block.header.namespace_root, 3, &slice.transactions).unwrap();
//! assert_eq!(split(&block, &cert).len(), 1);
//! // An absent namespace gets an absence proof.
//! let absent = namespace_block(&block, &cert, 4);
//! assert!(absent.transactions.is_empty());
//! absent.proof.verify(&block.header.namespace_root, 4, &[]).unwrap();
//! ```

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

use ordo_rollup_adapters::NamespaceBlock;
use ordo_types::{Block, CommitCertificate, NamespaceTable};

/// `namespace`'s slice of `block`. Builds the block's namespace table; to slice one block for
/// many namespaces, use [`split`] or [`slice_with`].
pub fn namespace_block(
    block: &Block,
    certificate: &CommitCertificate,
    namespace: u64,
) -> NamespaceBlock {
    slice_with(block, &block.body.namespace_table(), certificate, namespace)
}

/// `namespace`'s slice of `block`, with the proof taken from `table` (which must be the table
/// of `block`'s body).
pub fn slice_with(
    block: &Block,
    table: &NamespaceTable,
    certificate: &CommitCertificate,
    namespace: u64,
) -> NamespaceBlock {
    let transactions = block
        .body
        .namespace(namespace)
        .map(|g| g.entries.clone())
        .unwrap_or_default();
    NamespaceBlock {
        namespace,
        height: block.header.height,
        block_hash: block.hash(),
        namespace_root: block.header.namespace_root,
        header: block.header.clone(),
        certificate: certificate.clone(),
        transactions,
        proof: table.proof(namespace),
        bundles: block.body.bundles.clone(),
        opened: Vec::new(),
    }
}

/// The slices of every namespace present in `block`, in namespace order, from one table.
pub fn split(block: &Block, certificate: &CommitCertificate) -> Vec<NamespaceBlock> {
    let table = block.body.namespace_table();
    block
        .body
        .namespaces
        .iter()
        .map(|g| slice_with(block, &table, certificate, g.namespace))
        .collect()
}
