//! The JSON a node serves to rollups: one namespace's slice of a decided block with everything
//! needed to check it offline, and a range of such slices. The API serializes these types and
//! the client deserializes them, so both sides share one definition.

use ordo_types::{
    CommitCertificate, Entry, Header, NamespaceProof, OpenedEntry, PlacedBundle, ValidatorSet, B256,
};
use serde::{Deserialize, Serialize};

/// One namespace's slice of a decided block: its entries, the proof that they are all of the
/// namespace's entries (or that it has none) against the header's `namespace_root`, the full
/// header, and the commit certificate over the header's hash.
///
/// Nothing here is trusted by itself: [`crate::Verifier`] checks it against a validator set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceBlock {
    /// The namespace (rollup) id.
    pub namespace: u64,
    /// Height of the block (the same as `header.height`).
    pub height: u64,
    /// Hash of the header, as the node computed it.
    pub block_hash: B256,
    /// The header's `namespace_root` (repeated for convenience).
    pub namespace_root: B256,
    /// The block header.
    pub header: Header,
    /// The commit certificate that decided the block.
    pub certificate: CommitCertificate,
    /// The namespace's entries in block order (empty when it has none in this block).
    pub transactions: Vec<Entry>,
    /// Inclusion proof of `transactions`, or absence proof of the namespace.
    pub proof: NamespaceProof,
    /// Every bundle the block places, in body order: all of them, so that the client rebuilds
    /// the header's `bundle_root` and knows none touching its namespace was left out.
    #[serde(default)]
    pub bundles: Vec<PlacedBundle>,
    /// The namespace's encrypted transactions, in entry order, as they opened with the keys
    /// the committee released when it decided the block: each with its key, which anyone
    /// checks against the epoch key, and its payload or why it did not open. Empty when the
    /// namespace has none, or while the serving node could not open them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opened: Vec<OpenedEntry>,
}

/// A range of one namespace's slices, as `GET /v1/namespaces/{ns}/blocks?from=&to=` serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceRange {
    /// The namespace (rollup) id.
    pub namespace: u64,
    /// First height asked for.
    pub from: u64,
    /// Last height served (`None` when nothing was: `from` is past the tip). It is below the
    /// requested `to` when the tip is, or when the response reached its size budget; ask
    /// again from `to + 1`.
    pub to: Option<u64>,
    /// The node's highest decided height when it answered (0 before the first block).
    pub tip: u64,
    /// One slice per height, `from..=to`, in order.
    pub blocks: Vec<NamespaceBlock>,
}

/// The most heights one range request may ask for.
pub const MAX_RANGE: u64 = 100;

/// A committee handover: a decided header naming another committee for the next height, the
/// certificate its own committee signed over it, and the committee it names.
///
/// Nothing here is trusted by itself: [`crate::Verifier::hand_over`] checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// The last header its committee decides.
    pub header: Header,
    /// That committee's commit certificate over the header's hash.
    pub certificate: CommitCertificate,
    /// The committee deciding from `header.height + 1` (hashes to `next_validators_hash`).
    pub next: ValidatorSet,
}

/// The handovers at heights `from..=to`, as `GET /v1/handovers?from=&to=` serves them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handovers {
    /// First height asked for.
    pub from: u64,
    /// Last height covered: the requested `to` cut at the node's tip, or the last handover's
    /// height when the answer holds [`MAX_HANDOVERS`]; ask again from `to + 1`.
    pub to: u64,
    /// Every handover in `from..=to`, in height order.
    pub handovers: Vec<Handover>,
}

/// The most handovers one answer holds.
pub const MAX_HANDOVERS: usize = 64;

/// The error body of every API error: `{"code", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// A stable machine-readable code (`NOT_FOUND`, `RANGE_TOO_LARGE`, ...).
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}
