//! Core types of Ordo, a decentralized shared sequencer: transactions, blocks, the namespace
//! table and its proofs, validator sets, vote digests and commit certificates, with their
//! canonical encodings and hashes.
//!
//! The byte formats are specified in `docs/FORMATS.md` and pinned by golden tests here.
//! This crate is pure: no I/O, no async runtime, no global state.
//!
//! # Invariants
//! - **Canonical encodings.** Every type has one encoding ([`Encode`]); [`Decode`] accepts
//!   exactly that encoding (whole input consumed, versions and tags checked, bodies sorted,
//!   signatures low-s), never panics, and never allocates more than its input can fill.
//! - **Hashes are of encodings.** A transaction hash is keccak256 of its encoding (of the
//!   payload, for an Ethereum transaction), computed once when the value is made and carried
//!   with it ([`Transaction::hash`]); a block hash is keccak256 of the 233-byte header, which
//!   commits to the body through `namespace_root` and `tx_count` ([`Block::check_commitments`]).
//! - **Ethereum-compatible signatures.** Users sign EIP-712 typed data; validators sign
//!   keccak256 digests that a contract can rebuild with `abi.encodePacked` and check with
//!   `ecrecover`. Signatures are `r || s || v`, low-s only, `v ∈ {27, 28}`.
//! - **Namespace proofs.** For any namespace, a body yields a [`NamespaceProof`] that the
//!   entries a rollup received are all of its entries, in order, or that it has none.
//!
//! # Example
//! ```
//! use ordo_types::{Body, Bytes, Entry, NamespaceEntries, SecretKey, Transaction};
//!
//! let chain_id = 7;
//! let key = SecretKey::from_bytes(&[0x11; 32])?;
//! let tx = Transaction::sign(42, 0, Bytes::from_static(b"hello"), &key, chain_id);
//! assert_eq!(tx.recover_sender(chain_id)?, key.address());
//!
//! let body = Body::from_entries(vec![NamespaceEntries {
//!     namespace: 42,
//!     entries: vec![Entry::Signed(tx)],
//! }])?;
//! let root = body.namespace_root();
//!
//! // A rollup checks that it got all of namespace 42's entries...
//! let mine = body.namespace(42).map(|g| g.entries.clone()).unwrap_or_default();
//! body.proof(42).verify(&root, 42, &mine)?;
//! // ...and another rollup that it really has none in this block.
//! body.proof(9).verify(&root, 9, &[])?;
//! # Ok::<(), ordo_types::Error>(())
//! ```

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod block;
mod bundle;
mod codec;
mod crypto;
mod error;
mod error_code;
mod ethereum;
mod generations;
mod inbox;
mod l1;
mod merkle;
mod namespace;
mod sealed;
mod serde_hex;
mod transaction;
mod validator;
mod vote;

#[cfg(test)]
mod testutil;

pub use alloy_primitives::{keccak256, Address, Bytes, B256};

pub use block::{Block, Body, Header, NamespaceEntries, SyncedBlock};
pub use bundle::{Bundle, BundlePart, BundleProof, BundleTerms, PlacedBundle, MAX_BUNDLE_TXS};
pub use codec::{Decode, Encode};
pub use crypto::{verify_batch, Claim, PublicKey, SecretKey, Signature, SIGNATURE_LEN};
pub use error::{DecodeError, DecodeErrorKind, Error};
pub use error_code::ErrorCode;
pub use ethereum::{EthereumTx, EthereumTxType};
pub use generations::Generations;
pub use inbox::InboxItem;
pub use l1::{Batch, L1Block, L1View, L1ViewError, StakeEvent};
pub use namespace::{AdjacentLeaf, NamespaceProof, NamespaceTable};
pub use sealed::{
    bucket_size, identity, OpenFailure, Opened, OpenedEntry, Sealed, IDENTITY_RULE, KEM_LEN,
    MAX_BUCKET, MIN_BUCKET, TAG_LEN,
};
pub use transaction::{
    Auth, Entry, ForcedTransaction, Transaction, ENCRYPTED_TX_TYPEHASH_STRING, TX_TYPEHASH_STRING,
};
pub use validator::{Validator, ValidatorSet};
pub use vote::{
    extension_digest, proposal_digest, vote_digest, CommitCertificate, CommitSignature, VoteType,
};
