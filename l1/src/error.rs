//! The crate's error type.

use alloy::primitives::{Address, B256};
use alloy::transports::http::reqwest::Url;
use std::path::PathBuf;

/// Everything that can go wrong talking to the L1 or preparing data for it.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The RPC URL does not parse.
    #[error("invalid L1 RPC URL {url:?}: {reason}")]
    InvalidRpcUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The RPC endpoint failed or answered with an error.
    #[error("L1 RPC error: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// Every endpoint failed (or timed out) on every attempt.
    #[error("L1 unavailable for {what} after {attempts} passes over the endpoints: {last}")]
    Unavailable {
        /// The request.
        what: &'static str,
        /// Passes over all endpoints.
        attempts: u32,
        /// The last endpoint's error.
        last: String,
    },
    /// The L1 has no block at a height it reported (an endpoint behind the others).
    #[error("L1 block {0} not found")]
    MissingBlock(u64),
    /// The confirmed chain changed under the watcher: block `number`'s parent is not the
    /// block the watcher read before. A reorg deeper than the confirmation depth.
    #[error("L1 reorg deeper than the confirmation depth at block {number}: parent {found}, read before {expected}")]
    DeepReorg {
        /// The first block read after the change.
        number: u64,
        /// Its parent hash now.
        found: B256,
        /// The hash the watcher had read for the parent.
        expected: B256,
    },
    /// A log from a watched contract could not be decoded as any of its events, or lacks its
    /// block number.
    #[error("malformed L1 log in block {block:?}: {reason}")]
    MalformedLog {
        /// The block the log claims to be in.
        block: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// Inbox indexes are not consecutive: an item is missing.
    #[error("inbox item {found} arrived while {expected} was expected next")]
    InboxGap {
        /// Index in the log.
        found: u64,
        /// Index expected.
        expected: u64,
    },
    /// A contract call or deployment failed (including reverts, with their data).
    #[error("L1 contract call failed: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// A sent transaction could not be followed to its receipt.
    #[error("L1 transaction not confirmed: {0}")]
    PendingTransaction(#[from] alloy::providers::PendingTransactionError),
    /// A transaction was mined but reverted.
    #[error("L1 transaction {0} reverted")]
    Reverted(B256),
    /// A deployment receipt carries no contract address.
    #[error("deployment transaction {0} created no contract")]
    NoContractAddress(B256),
    /// A certificate names a signer outside the validator set it is checked against.
    #[error("certificate signer {0} is not in the committee")]
    UnknownSigner(Address),
    /// The Anvil binary is not where the repository's npm toolchain puts it.
    #[error("anvil not found at {}: run `npm ci` in the repository root", path.display())]
    AnvilNotFound {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Anvil did not start.
    #[error("could not start anvil: {0}")]
    AnvilStart(String),
    /// A deployment file could not be read or written.
    #[error("deployment file {}: {source}", path.display())]
    DeploymentIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A deployment file is not valid JSON for a [`crate::Deployment`].
    #[error("deployment file {}: {source}", path.display())]
    DeploymentJson {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A blob sidecar could not be built (KZG commitment or proof).
    #[error("blob sidecar: {0}")]
    Blob(String),
    /// A posted frame's blobs are not available from any blob source.
    #[error("blobs of L1 transaction {0} are not available from any blob source")]
    BlobsUnavailable(B256),
    /// The Ordo node the batcher reads from failed.
    #[error("Ordo node: {0}")]
    Node(String),
    /// The L1 batch format refused what it was given.
    #[error("batch: {0}")]
    Batch(#[from] ordo_batch::BatchError),
}

impl L1Error {
    /// True when the failure is a contract revert (the call was well formed and reached the
    /// chain, and the contract refused it).
    pub fn is_revert(&self) -> bool {
        match self {
            Self::Reverted(_) => true,
            Self::Contract(e) => e.as_revert_data().is_some(),
            _ => false,
        }
    }

    /// The revert decoded as one of a contract's custom errors (for example
    /// `LightClient::LightClientErrors`), when it is one.
    pub fn decode_revert<E: alloy::sol_types::SolInterface>(&self) -> Option<E> {
        match self {
            Self::Contract(e) => e.as_decoded_interface_error::<E>(),
            _ => None,
        }
    }
}

/// Parses an L1 RPC URL, refusing it with [`L1Error::InvalidRpcUrl`].
pub(crate) fn parse_rpc_url(url: &str) -> Result<Url, L1Error> {
    url.parse().map_err(
        |e: <Url as std::str::FromStr>::Err| L1Error::InvalidRpcUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        },
    )
}

/// A receipt of a transaction that succeeded, or [`L1Error::Reverted`].
pub(crate) fn succeeded(
    receipt: alloy::rpc::types::TransactionReceipt,
) -> Result<alloy::rpc::types::TransactionReceipt, L1Error> {
    if receipt.status() {
        Ok(receipt)
    } else {
        Err(L1Error::Reverted(receipt.transaction_hash))
    }
}
