//! Why the chain core refuses a block or cannot go on.

use ordo_types::B256;

/// Why a proposed block gets no vote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// `{field}` in the header is not what this validator expects.
    #[error("header field {field} is {found}, expected {expected}")]
    Mismatch {
        /// The header field.
        field: &'static str,
        /// Value in the block.
        found: String,
        /// Value expected.
        expected: String,
    },
    /// The timestamp does not move past the parent's.
    #[error("timestamp {timestamp_ms} is not after the parent's {parent_ms}")]
    TimestampNotIncreasing {
        /// Block timestamp.
        timestamp_ms: u64,
        /// Parent timestamp.
        parent_ms: u64,
    },
    /// The timestamp is too far ahead of this validator's clock.
    #[error("timestamp {timestamp_ms} is more than {drift_ms} ms ahead of {now_ms}")]
    TimestampInFuture {
        /// Block timestamp.
        timestamp_ms: u64,
        /// Local clock.
        now_ms: u64,
        /// Allowed drift.
        drift_ms: u64,
    },
    /// The header's commitments do not match the body, or the body is malformed.
    #[error("body does not match header: {0}")]
    Commitments(ordo_types::Error),
    /// The block is larger than allowed.
    #[error("block of {size} bytes exceeds {max}")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// The block holds more transactions than allowed.
    #[error("{count} transactions exceed {max}")]
    TooManyTransactions {
        /// Transactions in the block.
        count: u32,
        /// Limit.
        max: u32,
    },
    /// The block holds more encrypted transactions than allowed.
    #[error("{count} encrypted transactions exceed {max}")]
    TooManyEncrypted {
        /// Encrypted transactions in the block.
        count: usize,
        /// Limit.
        max: u32,
    },
    /// A released-key transaction that does not commit a pending height's keys
    /// ([`crate::lane`]).
    #[error("released keys for height {height}: {reason}")]
    BadRelease {
        /// The height it names.
        height: u64,
        /// What is wrong.
        reason: String,
    },
    /// A bundle placed outside its terms (height or timestamp bounds).
    #[error("bundle {bundle} may not land at height {height}, timestamp {timestamp_ms} ms")]
    BundleOutOfTerms {
        /// The bundle.
        bundle: B256,
        /// The block's height.
        height: u64,
        /// The block's timestamp.
        timestamp_ms: u64,
    },
    /// A transaction this validator knows as part of a bundle is in the block outside that
    /// bundle (alone, or in another one): the bundle would be split.
    #[error("transaction {hash} of bundle {bundle} is in the block without its bundle")]
    BundleSplit {
        /// The transaction.
        hash: B256,
        /// The bundle it belongs to.
        bundle: B256,
    },
    /// A transaction's signature does not verify.
    #[error("transaction {hash} has a bad signature")]
    BadSignature {
        /// The transaction.
        hash: B256,
    },
    /// A transaction sits in another namespace's group.
    #[error("transaction {hash} is filed under namespace {group}")]
    WrongNamespace {
        /// The transaction.
        hash: B256,
        /// The group it sits in.
        group: u64,
    },
    /// The same transaction appears twice.
    #[error("transaction {hash} appears twice")]
    Duplicate {
        /// The transaction.
        hash: B256,
    },
    /// A transaction's nonce is not the next one of its sender in its namespace.
    #[error("transaction {hash} has nonce {nonce}, expected {expected}")]
    NonceOutOfOrder {
        /// The transaction.
        hash: B256,
        /// Its nonce.
        nonce: u64,
        /// The nonce the chain expects.
        expected: u64,
    },
    /// Transactions for a namespace no rollup is registered under.
    #[error("namespace {0} is not registered")]
    UnknownNamespace(u64),
    /// A transaction the admission rules refuse: its rollup does (wrong kind or chain id), or
    /// it is sealed to another encryption key or cannot open.
    #[error("transaction {hash} refused: {reason}")]
    Refused {
        /// The transaction.
        hash: B256,
        /// The refusal.
        reason: crate::TxError,
    },
    /// This validator does not know the committee of the block's epoch (or of the next
    /// one) yet: its L1 view is behind the election. It cannot judge the block.
    #[error("committee of epoch {epoch} unknown here")]
    CommitteeUnknown {
        /// The epoch.
        epoch: u64,
    },
    /// A forced transaction appears without an inbox to justify it.
    #[error("forced transaction {inbox_index} without a matching inbox item")]
    UnexpectedForced {
        /// Inbox index claimed.
        inbox_index: u64,
    },
    /// The L1 origin is below the parent's.
    #[error("L1 origin {number} is below the parent's {parent}")]
    L1OriginBackwards {
        /// The block's origin.
        number: u64,
        /// The parent's.
        parent: u64,
    },
    /// The L1 origin is further above this validator's confirmed L1 block than allowed.
    #[error("L1 origin {number} is more than {tolerance} blocks above the confirmed {confirmed}")]
    L1OriginTooFarAhead {
        /// The block's origin.
        number: u64,
        /// This validator's confirmed block.
        confirmed: u64,
        /// The allowed distance.
        tolerance: u64,
    },
    /// This validator's L1 view does not hold the origin block, or holds it with another hash.
    #[error("L1 origin {number} with hash {hash} is not in this validator's view ({known:?})")]
    L1OriginUnknown {
        /// The block's origin number.
        number: u64,
        /// The block's origin hash.
        hash: B256,
        /// The hash this validator holds for that number, if any.
        known: Option<B256>,
    },
    /// Forced entries do not continue the inbox in order from the parent's cursor.
    #[error("forced entry {found} where inbox item {expected} was expected")]
    ForcedOutOfOrder {
        /// Index found.
        found: u64,
        /// Index expected.
        expected: u64,
    },
    /// A forced entry differs from the inbox item with its index, or sits in another
    /// namespace's group.
    #[error("forced entry {inbox_index} does not match the inbox")]
    ForcedMismatch {
        /// The entry's index.
        inbox_index: u64,
    },
    /// A forced entry follows a signed transaction in its group.
    #[error("forced entry {inbox_index} after a signed transaction in namespace {namespace}")]
    ForcedAfterSigned {
        /// The entry's index.
        inbox_index: u64,
        /// The group.
        namespace: u64,
    },
    /// An inbox item due at the block's L1 origin is missing, and it would have fit.
    #[error("inbox item {index} was due at L1 block {deadline} (origin {origin}) and is missing")]
    DueItemOmitted {
        /// The item.
        index: u64,
        /// Its deadline.
        deadline: u64,
        /// The block's L1 origin.
        origin: u64,
    },
}

impl BlockError {
    /// True when the refusal is about the force-inclusion rule or the L1 origin.
    pub fn is_force_inclusion(&self) -> bool {
        matches!(
            self,
            Self::UnexpectedForced { .. }
                | Self::L1OriginBackwards { .. }
                | Self::L1OriginTooFarAhead { .. }
                | Self::L1OriginUnknown { .. }
                | Self::ForcedOutOfOrder { .. }
                | Self::ForcedMismatch { .. }
                | Self::ForcedAfterSigned { .. }
                | Self::DueItemOmitted { .. }
        )
    }
}

/// Why the chain core cannot take a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The committee of `epoch` is not fixed yet: its election reads the stake table as of L1
    /// block `l1_block`, which this node's L1 view has not confirmed.
    #[error("committee of epoch {epoch} unknown: waiting for L1 block {l1_block:?}")]
    CommitteeUnknown {
        /// The epoch.
        epoch: u64,
        /// The L1 block its election waits for, if it is scheduled.
        l1_block: Option<u64>,
    },
    /// A certified header announces another committee than the one this node elected: its
    /// L1 view disagrees with the committee's.
    #[error("committee of epoch {epoch}: elected {ours} here, certified {certified}")]
    CommitteeDiverges {
        /// The epoch.
        epoch: u64,
        /// The hash of the committee this node elected.
        ours: B256,
        /// The hash the certified header announces.
        certified: B256,
    },
    /// A header that is not the tip's.
    #[error("header {height} is not the tip {tip}")]
    NotTip {
        /// The header's height.
        height: u64,
        /// The tip's height.
        tip: u64,
    },
    /// A block applied out of turn: it does not extend the tip.
    #[error("block {height} with parent {parent} does not extend the tip {tip} ({tip_hash})")]
    NotNext {
        /// The block's height.
        height: u64,
        /// Its parent hash.
        parent: B256,
        /// The tip's height.
        tip: u64,
        /// The tip's hash.
        tip_hash: B256,
    },
}
