//! What can go wrong when a rollup reads its blocks: transport and protocol failures, and the
//! verification failures that mean the node served something it cannot prove.

use ordo_types::B256;

/// A failure of [`crate::RollupClient`] or [`crate::Verifier`].
///
/// [`ClientError::is_verification_failure`] separates "the node served data that does not
/// verify" (never retry: refuse it) from transport trouble (retrying may help).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The HTTP request failed (connection, timeout, body).
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// The node answered with an error.
    #[error("node answered {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The API error code (`NOT_FOUND`, ...).
        code: String,
        /// The API's message.
        message: String,
    },
    /// The node's answer is not the expected JSON or SSE.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The stream ended with an error event from the node.
    #[error("the node ended the stream: {code}: {message}")]
    StreamError {
        /// The error code.
        code: String,
        /// The message.
        message: String,
    },
    /// The slice is for another namespace than the one asked for.
    #[error("asked for namespace {expected}, got namespace {got}")]
    NamespaceMismatch {
        /// Namespace asked for.
        expected: u64,
        /// Namespace in the answer.
        got: u64,
    },
    /// A height in the answer is not the one expected (the header's, the certificate's, the
    /// event id, or the next in a sequence).
    #[error("expected height {expected}, got {got} ({what})")]
    HeightMismatch {
        /// Height expected.
        expected: u64,
        /// Height found.
        got: u64,
        /// Where it was found.
        what: &'static str,
    },
    /// The header is for another chain.
    #[error("header chain id {got}, trusted chain id {expected}")]
    ChainIdMismatch {
        /// Trusted chain id.
        expected: u64,
        /// Chain id in the header.
        got: u64,
    },
    /// The header does not hash to the hash the certificate (or the answer) names.
    #[error("header hashes to {header}, but the {what} names {claimed}")]
    HeaderHashMismatch {
        /// keccak256 of the header.
        header: B256,
        /// The hash named elsewhere.
        claimed: B256,
        /// Where (`certificate` or `block_hash field`).
        what: &'static str,
    },
    /// The header says the block is decided by a validator set this client does not trust.
    #[error("block decided by validator set {header}, but the trusted set is {trusted}")]
    UnknownValidatorSet {
        /// `validators_hash` in the header.
        header: B256,
        /// Hash of the trusted set.
        trusted: B256,
    },
    /// The commit certificate does not verify against the trusted validator set (a signer
    /// outside the set, not more than 2/3 of the voting power, a bad signature, ...).
    #[error("commit certificate does not verify: {0}")]
    CertificateInvalid(ordo_types::Error),
    /// The namespace proof does not verify the entries against the header's namespace root:
    /// entries were added, removed, reordered or replaced, or the namespace was hidden.
    #[error("namespace proof does not verify against the header: {0}")]
    BadProof(ordo_types::Error),
    /// The bundles served do not hash to the header's `bundle_root` (one was hidden, added or
    /// altered), or a part in this namespace does not cover the entries it names.
    #[error("bundles do not verify against the header: {0}")]
    BadBundles(ordo_types::Error),
    /// A block does not extend the previous verified block.
    #[error("block {height} has parent {parent}, but block {} hashes to {previous}", height.saturating_sub(1))]
    ParentMismatch {
        /// Height of the block.
        height: u64,
        /// Its `parent_hash`.
        parent: B256,
        /// Hash of the previous verified block.
        previous: B256,
    },
    /// The encrypted transactions' openings do not check: one is missing or extra, for
    /// another identity, with a key that is not its identity's, or not what that key opens.
    #[error("encrypted transactions' openings do not verify: {0}")]
    BadOpening(String),
    /// The block has encrypted transactions the node did not serve openings for (it has not
    /// opened them yet): ask again, or another node.
    #[error("the encrypted transactions of block {height} are not opened yet")]
    Unopened {
        /// The block's height.
        height: u64,
    },
    /// The block's certified header commits to an encryption key this client does not hold
    /// (`RollupClient` fetches it from the node, checked against the commitment).
    #[error("block {height}'s header commits to encryption key {commitment}, which this client does not hold")]
    UnknownEncryptionKey {
        /// The block's height.
        height: u64,
        /// The header's `encryption_key_hash`.
        commitment: B256,
    },
}

impl ClientError {
    /// True when the node served data that does not verify: a rollup must refuse it, and
    /// asking the same node again will not help.
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Self::NamespaceMismatch { .. }
                | Self::HeightMismatch { .. }
                | Self::ChainIdMismatch { .. }
                | Self::HeaderHashMismatch { .. }
                | Self::UnknownValidatorSet { .. }
                | Self::CertificateInvalid(_)
                | Self::BadProof(_)
                | Self::BadBundles(_)
                | Self::ParentMismatch { .. }
                | Self::BadOpening(_)
        )
    }

    /// True when the node answered `404 NOT_FOUND` (the height is not decided yet).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }

    /// A short stable name of the failure, for logs and exit messages.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Http(_) => "HTTP",
            Self::Api { .. } => "API",
            Self::Malformed(_) => "MALFORMED",
            Self::StreamError { .. } => "STREAM_ERROR",
            Self::NamespaceMismatch { .. } => "NAMESPACE_MISMATCH",
            Self::HeightMismatch { .. } => "HEIGHT_MISMATCH",
            Self::ChainIdMismatch { .. } => "CHAIN_ID_MISMATCH",
            Self::HeaderHashMismatch { .. } => "HEADER_HASH_MISMATCH",
            Self::UnknownValidatorSet { .. } => "UNKNOWN_VALIDATOR_SET",
            Self::CertificateInvalid(_) => "CERTIFICATE_INVALID",
            Self::BadProof(_) => "BAD_PROOF",
            Self::BadBundles(_) => "BAD_BUNDLES",
            Self::ParentMismatch { .. } => "PARENT_MISMATCH",
            Self::BadOpening(_) => "BAD_OPENING",
            Self::Unopened { .. } => "UNOPENED",
            Self::UnknownEncryptionKey { .. } => "UNKNOWN_ENCRYPTION_KEY",
        }
    }
}

/// A genesis file that cannot be used as a trust root.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid genesis (JSON shape, or a validator set that breaks the rules).
    #[error("parsing the genesis: {0}")]
    Json(#[from] serde_json::Error),
}
