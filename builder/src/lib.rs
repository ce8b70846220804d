//! The Ordo block builder: assembles the block a proposer proposes, and checks a received
//! proposal before its validator votes for it.
//!
//! Both are pure functions over data: [`build_block`] (or [`build_block_with_forced`]) and
//! [`validate_block`]. The consensus application supplies the chain state they need
//! ([`BlockTemplate`], [`ProposalCheck`], [`ChainView`]).
//!
//! # Force inclusion
//! With an L1 ([`ProposalCheck::l1`]), each block names an L1 origin (number and hash) that
//! never goes backwards and that the validator can see: a block its own L1 view holds with the
//! same hash, at most `origin_tolerance` blocks above its confirmed block (or the parent's
//! origin unchanged). Inbox items are included in inbox order, each as a forced entry at the
//! front of its namespace's group, starting at the parent's `inbox_cursor`; the header's
//! `inbox_cursor` counts the items included so far. An item whose deadline (`l1_block +
//! inclusion_delay`) is at or before the block's L1 origin must be in the block or an earlier
//! one, unless the block is full; earlier inclusion is allowed.

use ordo_types::{
    Address, Block, Body, Encode, Entry, Header, InboxItem, NamespaceEntries, Transaction, B256,
};
use serde::{Deserialize, Serialize};

/// Size limits of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlockLimits {
    /// Largest encoded block, in bytes.
    pub max_block_bytes: usize,
    /// Most transactions in a block.
    pub max_transactions: u32,
}

impl Default for BlockLimits {
    fn default() -> Self {
        Self {
            max_block_bytes: 2 * 1024 * 1024,
            max_transactions: 10_000,
        }
    }
}

/// What the proposer knows about the chain when it builds the block at `height`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockTemplate {
    /// Chain id.
    pub chain_id: u64,
    /// Height of the new block.
    pub height: u64,
    /// Epoch of the new block.
    pub epoch: u64,
    /// Hash of the block at `height - 1` (zero at height 1).
    pub parent_hash: B256,
    /// Timestamp of the parent (genesis time at height 1).
    pub parent_timestamp_ms: u64,
    /// The proposer building the block.
    pub proposer: Address,
    /// Hash of the committee deciding this block.
    pub validators_hash: B256,
    /// Hash of the committee deciding the next block.
    pub next_validators_hash: B256,
    /// Inbox items included up to the parent (the parent's `inbox_cursor`).
    pub inbox_cursor: u64,
    /// The L1 origin the proposer names: number (0 without an L1).
    pub l1_origin_number: u64,
    /// The L1 origin's hash (zero without an L1).
    pub l1_origin_hash: B256,
}

/// Fixed encoded overhead of a block besides its entries: header and namespace-group counts.
const BLOCK_OVERHEAD: usize = Header::ENCODED_LEN + 4;
/// Encoded overhead of one namespace group: namespace id and entry count.
const GROUP_OVERHEAD: usize = 8 + 4;

/// Builds the block for `template` from candidate transactions (in priority order), taking as
/// many as fit within `limits`. The timestamp is `now_ms`, or one past the parent's if the
/// clock is behind it.
pub fn build_block(
    template: &BlockTemplate,
    now_ms: u64,
    candidates: Vec<Transaction>,
    limits: &BlockLimits,
) -> Block {
    build_block_with_forced(template, now_ms, &[], candidates, limits)
}

/// Encoded size an inbox item adds to a block whose namespace groups are `groups`.
fn forced_size(item: &InboxItem, groups: &[NamespaceEntries]) -> usize {
    let entry = 1usize.saturating_add(item.to_forced().encoded_len());
    let group = if groups.iter().any(|g| g.namespace == item.namespace) {
        0
    } else {
        GROUP_OVERHEAD
    };
    entry.saturating_add(group)
}

/// Like [`build_block`], with inbox items first: `forced` are the items from the parent's
/// `inbox_cursor` on, in index order (the caller passes at least the due ones); they are
/// taken in order, as far as they fit, each at the front of its namespace's group, then the
/// candidates fill what is left. The header's `inbox_cursor` moves past the items taken.
pub fn build_block_with_forced(
    template: &BlockTemplate,
    now_ms: u64,
    forced: &[InboxItem],
    candidates: Vec<Transaction>,
    limits: &BlockLimits,
) -> Block {
    let mut size = BLOCK_OVERHEAD;
    let mut groups: Vec<NamespaceEntries> = Vec::new();
    let mut count: u32 = 0;
    let mut cursor = template.inbox_cursor;
    for item in forced {
        if item.index != cursor || count >= limits.max_transactions {
            break;
        }
        let added = forced_size(item, &groups);
        if size.saturating_add(added) > limits.max_block_bytes {
            break;
        }
        size += added;
        count += 1;
        cursor += 1;
        let entry = Entry::Forced(item.to_forced());
        match groups.iter_mut().find(|g| g.namespace == item.namespace) {
            Some(g) => g.entries.push(entry),
            None => groups.push(NamespaceEntries {
                namespace: item.namespace,
                entries: vec![entry],
            }),
        }
    }
    for tx in candidates {
        if count >= limits.max_transactions {
            break;
        }
        let entry = Entry::Signed(tx);
        let known = groups
            .iter()
            .position(|g| g.namespace == entry_namespace(&entry));
        let added = entry.encoded_len() + if known.is_some() { 0 } else { GROUP_OVERHEAD };
        if size.saturating_add(added) > limits.max_block_bytes {
            continue;
        }
        size += added;
        count += 1;
        match known {
            Some(i) => groups[i].entries.push(entry),
            None => groups.push(NamespaceEntries {
                namespace: entry_namespace(&entry),
                entries: vec![entry],
            }),
        }
    }
    groups.sort_by_key(|g| g.namespace);
    let body = Body { namespaces: groups };
    let header = Header {
        chain_id: template.chain_id,
        height: template.height,
        epoch: template.epoch,
        timestamp_ms: now_ms.max(template.parent_timestamp_ms.saturating_add(1)),
        parent_hash: template.parent_hash,
        proposer: template.proposer,
        namespace_root: body.namespace_root(),
        tx_count: count,
        validators_hash: template.validators_hash,
        next_validators_hash: template.next_validators_hash,
        l1_origin_number: template.l1_origin_number,
        l1_origin_hash: template.l1_origin_hash,
        inbox_cursor: cursor,
    };
    Block { header, body }
}

fn entry_namespace(entry: &Entry) -> u64 {
    match entry {
        Entry::Signed(tx) => tx.namespace,
        // Forced transactions are placed by namespace by the force-inclusion rule, not here.
        Entry::Forced(_) => u64::MAX,
    }
}

/// What a validator expects of the proposal at `height`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalCheck {
    /// Template the block must follow (chain id, height, parent, committee, epoch).
    pub template: BlockTemplate,
    /// Local clock, unix milliseconds.
    pub now_ms: u64,
    /// How far ahead of the local clock a block's timestamp may be.
    pub max_clock_drift_ms: u64,
    /// Size limits.
    pub limits: BlockLimits,
    /// The force-inclusion rule, when the chain has an L1; without one the L1 origin must be
    /// zero and no block may hold forced entries.
    pub l1: Option<L1Check>,
}

/// What a validator knows to check a block's L1 origin and inbox entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1Check {
    /// The parent block's L1 origin number (0 at height 1).
    pub parent_origin_number: u64,
    /// The parent block's L1 origin hash.
    pub parent_origin_hash: B256,
    /// L1 blocks from an inbox item's block to its deadline.
    pub inclusion_delay: u64,
    /// How far above this validator's confirmed L1 block an origin may be.
    pub origin_tolerance: u64,
    /// This validator's confirmed L1 block number.
    pub confirmed: u64,
}

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
    /// A transaction its namespace's rollup refuses (wrong kind or chain id).
    #[error("transaction {hash} refused by its rollup: {reason}")]
    RollupRefused {
        /// The transaction.
        hash: B256,
        /// The rollup adapter's reason.
        reason: String,
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

fn expect<T: PartialEq + std::fmt::Display>(
    field: &'static str,
    found: T,
    expected: T,
) -> Result<(), BlockError> {
    if found == expected {
        Ok(())
    } else {
        Err(BlockError::Mismatch {
            field,
            found: found.to_string(),
            expected: expected.to_string(),
        })
    }
}

/// The chain state a validator checks a proposal's transactions against.
pub trait ChainView {
    /// The sender of a transaction, or `None` if its signature recovers to no key. Callers
    /// cache this, so each signature is checked at most once per node.
    fn sender(&self, tx: &Transaction) -> Option<Address>;
    /// The next nonce the decided chain expects from `sender` in `namespace`.
    fn next_nonce(&self, sender: &Address, namespace: u64) -> u64;
    /// Whether a rollup is registered under `namespace`.
    fn is_registered(&self, namespace: u64) -> bool;
    /// The rollup's own rules for `tx` (its kind, encoding, chain id): `Err(reason)` refuses.
    fn rollup_rules(&self, tx: &Transaction) -> Result<(), String>;
    /// The hash of L1 block `number` in this validator's view (none without an L1).
    fn l1_block_hash(&self, _number: u64) -> Option<B256> {
        None
    }
    /// Inbox item `index`, if this validator has read it (none without an L1).
    fn inbox_item(&self, _index: u64) -> Option<InboxItem> {
        None
    }
}

/// Checks a proposed block against what this validator expects and against the chain state
/// (signatures, registered namespaces, each sender's nonces strictly in sequence).
pub fn validate_block(
    block: &Block,
    check: &ProposalCheck,
    chain: &impl ChainView,
) -> Result<(), BlockError> {
    let h = &block.header;
    let t = &check.template;
    expect("chain_id", h.chain_id, t.chain_id)?;
    expect("height", h.height, t.height)?;
    expect("epoch", h.epoch, t.epoch)?;
    expect("parent_hash", h.parent_hash, t.parent_hash)?;
    expect("proposer", h.proposer, t.proposer)?;
    expect("validators_hash", h.validators_hash, t.validators_hash)?;
    expect(
        "next_validators_hash",
        h.next_validators_hash,
        t.next_validators_hash,
    )?;
    if h.timestamp_ms <= t.parent_timestamp_ms {
        return Err(BlockError::TimestampNotIncreasing {
            timestamp_ms: h.timestamp_ms,
            parent_ms: t.parent_timestamp_ms,
        });
    }
    if h.timestamp_ms > check.now_ms.saturating_add(check.max_clock_drift_ms) {
        return Err(BlockError::TimestampInFuture {
            timestamp_ms: h.timestamp_ms,
            now_ms: check.now_ms,
            drift_ms: check.max_clock_drift_ms,
        });
    }
    if h.tx_count > check.limits.max_transactions {
        return Err(BlockError::TooManyTransactions {
            count: h.tx_count,
            max: check.limits.max_transactions,
        });
    }
    let size = block.encoded_len();
    if size > check.limits.max_block_bytes {
        return Err(BlockError::TooLarge {
            size,
            max: check.limits.max_block_bytes,
        });
    }
    block.check_commitments().map_err(BlockError::Commitments)?;
    let mut seen = std::collections::HashSet::with_capacity(h.tx_count as usize);
    let mut nonces: std::collections::HashMap<(Address, u64), u64> = Default::default();
    let mut forced: Vec<(u64, u64, &ordo_types::ForcedTransaction)> = Vec::new();
    for group in &block.body.namespaces {
        let mut signed_seen = false;
        for entry in &group.entries {
            match entry {
                Entry::Signed(tx) => {
                    signed_seen = true;
                    if !chain.is_registered(group.namespace) {
                        return Err(BlockError::UnknownNamespace(group.namespace));
                    }
                    let hash = tx.hash();
                    if tx.namespace != group.namespace {
                        return Err(BlockError::WrongNamespace {
                            hash,
                            group: group.namespace,
                        });
                    }
                    if !seen.insert(hash) {
                        return Err(BlockError::Duplicate { hash });
                    }
                    chain
                        .rollup_rules(tx)
                        .map_err(|reason| BlockError::RollupRefused { hash, reason })?;
                    let Some(sender) = chain.sender(tx) else {
                        return Err(BlockError::BadSignature { hash });
                    };
                    let next = nonces
                        .entry((sender, tx.namespace))
                        .or_insert_with(|| chain.next_nonce(&sender, tx.namespace));
                    if tx.nonce != *next {
                        return Err(BlockError::NonceOutOfOrder {
                            hash,
                            nonce: tx.nonce,
                            expected: *next,
                        });
                    }
                    *next += 1;
                }
                Entry::Forced(f) => {
                    if check.l1.is_none() {
                        return Err(BlockError::UnexpectedForced {
                            inbox_index: f.inbox_index,
                        });
                    }
                    if signed_seen {
                        return Err(BlockError::ForcedAfterSigned {
                            inbox_index: f.inbox_index,
                            namespace: group.namespace,
                        });
                    }
                    if let Some((prev, _, _)) = forced.last().filter(|l| l.1 == group.namespace) {
                        if f.inbox_index <= *prev {
                            return Err(BlockError::ForcedOutOfOrder {
                                found: f.inbox_index,
                                expected: prev.saturating_add(1),
                            });
                        }
                    }
                    forced.push((f.inbox_index, group.namespace, f));
                }
            }
        }
    }
    match &check.l1 {
        None => {
            expect("l1_origin_number", h.l1_origin_number, 0)?;
            expect("l1_origin_hash", h.l1_origin_hash, B256::ZERO)?;
            expect("inbox_cursor", h.inbox_cursor, t.inbox_cursor)?;
            Ok(())
        }
        Some(l1) => check_force_inclusion(block, check, l1, forced, chain, size),
    }
}

/// The L1 origin and inbox rules (see the crate documentation).
fn check_force_inclusion(
    block: &Block,
    check: &ProposalCheck,
    l1: &L1Check,
    mut forced: Vec<(u64, u64, &ordo_types::ForcedTransaction)>,
    chain: &impl ChainView,
    size: usize,
) -> Result<(), BlockError> {
    let h = &block.header;
    let origin = h.l1_origin_number;
    if origin < l1.parent_origin_number {
        return Err(BlockError::L1OriginBackwards {
            number: origin,
            parent: l1.parent_origin_number,
        });
    }
    let unchanged = origin == l1.parent_origin_number;
    if unchanged {
        expect("l1_origin_hash", h.l1_origin_hash, l1.parent_origin_hash)?;
    } else {
        if origin > l1.confirmed.saturating_add(l1.origin_tolerance) {
            return Err(BlockError::L1OriginTooFarAhead {
                number: origin,
                confirmed: l1.confirmed,
                tolerance: l1.origin_tolerance,
            });
        }
        let known = chain.l1_block_hash(origin);
        if known != Some(h.l1_origin_hash) {
            return Err(BlockError::L1OriginUnknown {
                number: origin,
                hash: h.l1_origin_hash,
                known,
            });
        }
    }
    forced.sort_by_key(|f| f.0);
    let mut next = check.template.inbox_cursor;
    for (index, namespace, entry) in &forced {
        if *index != next {
            return Err(BlockError::ForcedOutOfOrder {
                found: *index,
                expected: next,
            });
        }
        match chain.inbox_item(*index) {
            Some(item) if item.matches(entry) && item.namespace == *namespace => {}
            _ => {
                return Err(BlockError::ForcedMismatch {
                    inbox_index: *index,
                })
            }
        }
        next += 1;
    }
    expect("inbox_cursor", h.inbox_cursor, next)?;
    if let Some(item) = chain.inbox_item(next) {
        if item.is_due(l1.inclusion_delay, origin) {
            let groups = &block.body.namespaces;
            let fits = h.tx_count < check.limits.max_transactions
                && size.saturating_add(forced_size(&item, groups)) <= check.limits.max_block_bytes;
            if fits {
                return Err(BlockError::DueItemOmitted {
                    index: item.index,
                    deadline: item.deadline(l1.inclusion_delay),
                    origin,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordo_types::{Bytes, SecretKey};

    fn template() -> BlockTemplate {
        BlockTemplate {
            chain_id: 7,
            height: 5,
            epoch: 0,
            parent_hash: B256::repeat_byte(1),
            parent_timestamp_ms: 1_000,
            proposer: Address::repeat_byte(2),
            validators_hash: B256::repeat_byte(3),
            next_validators_hash: B256::repeat_byte(3),
            inbox_cursor: 0,
            l1_origin_number: 0,
            l1_origin_hash: B256::ZERO,
        }
    }

    fn check() -> ProposalCheck {
        ProposalCheck {
            template: template(),
            now_ms: 2_000,
            max_clock_drift_ms: 500,
            limits: BlockLimits::default(),
            l1: None,
        }
    }

    /// `n` transactions over namespaces 0, 1 and 2, one sender per namespace, nonces from 0.
    fn txs(n: u64) -> Vec<Transaction> {
        let keys = [
            SecretKey::random(),
            SecretKey::random(),
            SecretKey::random(),
        ];
        (0..n)
            .map(|i| {
                let ns = i % 3;
                Transaction::sign(
                    ns,
                    i / 3,
                    Bytes::from(vec![i as u8; 100]),
                    &keys[ns as usize],
                    7,
                )
            })
            .collect()
    }

    fn valid_block() -> Block {
        build_block(&template(), 1_500, txs(9), &BlockLimits::default())
    }

    struct Chain;

    impl ChainView for Chain {
        fn sender(&self, tx: &Transaction) -> Option<Address> {
            tx.recover_sender(7).ok()
        }
        fn next_nonce(&self, _: &Address, _: u64) -> u64 {
            0
        }
        fn is_registered(&self, namespace: u64) -> bool {
            namespace < 3
        }
        fn rollup_rules(&self, tx: &Transaction) -> Result<(), String> {
            match tx.payload.as_ref() {
                b"refused by its rollup" => Err("not a transaction of this rollup".into()),
                _ => Ok(()),
            }
        }
    }

    /// Re-commits the header to a modified body.
    fn recommit(mut block: Block) -> Block {
        block.header.namespace_root = block.body.namespace_root();
        block.header.tx_count = block.body.tx_count().unwrap();
        block
    }

    #[test]
    fn a_built_block_is_valid_and_sorted() {
        let block = valid_block();
        assert_eq!(block.header.tx_count, 9);
        let namespaces: Vec<u64> = block.body.namespaces.iter().map(|g| g.namespace).collect();
        assert_eq!(namespaces, vec![0, 1, 2]);
        validate_block(&block, &check(), &Chain).unwrap();
    }

    #[test]
    fn building_respects_limits_and_clock() {
        let limits = BlockLimits {
            max_block_bytes: 1_000,
            max_transactions: 100,
        };
        let block = build_block(&template(), 10, txs(20), &limits);
        assert!(block.encoded_len() <= 1_000);
        assert!(block.header.tx_count > 0);
        assert_eq!(
            block.header.timestamp_ms, 1_001,
            "one past the parent when the clock lags"
        );
        let capped = BlockLimits {
            max_transactions: 4,
            ..BlockLimits::default()
        };
        assert_eq!(
            build_block(&template(), 1_500, txs(20), &capped)
                .header
                .tx_count,
            4
        );
    }

    #[test]
    fn every_rule_refuses_its_violation() {
        let mismatch = |f: fn(&mut Header), field: &str| {
            let mut block = valid_block();
            f(&mut block.header);
            match validate_block(&block, &check(), &Chain) {
                Err(BlockError::Mismatch { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        };
        mismatch(|h| h.chain_id = 8, "chain_id");
        mismatch(|h| h.height = 6, "height");
        mismatch(|h| h.epoch = 1, "epoch");
        mismatch(|h| h.parent_hash = B256::ZERO, "parent_hash");
        mismatch(|h| h.proposer = Address::ZERO, "proposer");
        mismatch(|h| h.validators_hash = B256::ZERO, "validators_hash");
        mismatch(
            |h| h.next_validators_hash = B256::ZERO,
            "next_validators_hash",
        );

        let mut block = valid_block();
        block.header.timestamp_ms = 1_000;
        assert!(matches!(
            validate_block(&block, &check(), &Chain),
            Err(BlockError::TimestampNotIncreasing { .. })
        ));
        block.header.timestamp_ms = 2_501;
        assert!(matches!(
            validate_block(&block, &check(), &Chain),
            Err(BlockError::TimestampInFuture { .. })
        ));

        let mut block = valid_block();
        block.body.namespaces[0].entries.pop();
        assert!(matches!(
            validate_block(&block, &check(), &Chain),
            Err(BlockError::Commitments(_))
        ));

        let mut small = check();
        small.limits.max_block_bytes = 500;
        assert!(matches!(
            validate_block(&valid_block(), &small, &Chain),
            Err(BlockError::TooLarge { .. })
        ));
        small.limits = BlockLimits {
            max_transactions: 3,
            ..BlockLimits::default()
        };
        assert!(matches!(
            validate_block(&valid_block(), &small, &Chain),
            Err(BlockError::TooManyTransactions { count: 9, max: 3 })
        ));

        let mut block = valid_block();
        let dup = block.body.namespaces[0].entries[0].clone();
        block.body.namespaces[0].entries.push(dup);
        assert!(matches!(
            validate_block(&recommit(block), &check(), &Chain),
            Err(BlockError::Duplicate { .. })
        ));

        let mut block = valid_block();
        if let Entry::Signed(tx) = &mut block.body.namespaces[0].entries[0] {
            if let ordo_types::Auth::Eip712(signature) = &mut tx.auth {
                signature.0[..32].copy_from_slice(&B256::with_last_byte(5).0);
            }
        }
        assert!(matches!(
            validate_block(&recommit(block), &check(), &Chain),
            Err(BlockError::BadSignature { .. })
        ));

        // Nonces out of order, or a gap.
        let mut block = valid_block();
        block.body.namespaces[1].entries.swap(0, 1);
        assert!(matches!(
            validate_block(&recommit(block), &check(), &Chain),
            Err(BlockError::NonceOutOfOrder {
                nonce: 1,
                expected: 0,
                ..
            })
        ));
        let mut block = valid_block();
        block.body.namespaces[1].entries.remove(0);
        assert!(matches!(
            validate_block(&recommit(block), &check(), &Chain),
            Err(BlockError::NonceOutOfOrder {
                nonce: 1,
                expected: 0,
                ..
            })
        ));

        // A namespace nobody registered.
        let key = SecretKey::random();
        let stray = Transaction::sign(9, 0, Bytes::from_static(b"x"), &key, 7);
        let block = build_block(&template(), 1_500, vec![stray], &BlockLimits::default());
        assert_eq!(
            validate_block(&block, &check(), &Chain),
            Err(BlockError::UnknownNamespace(9))
        );

        // A transaction its rollup refuses.
        let wrong_kind =
            Transaction::sign(2, 0, Bytes::from_static(b"refused by its rollup"), &key, 7);
        let block = build_block(
            &template(),
            1_500,
            vec![wrong_kind],
            &BlockLimits::default(),
        );
        assert!(matches!(
            validate_block(&block, &check(), &Chain),
            Err(BlockError::RollupRefused { .. })
        ));
    }

    /// An L1 view: blocks 0..=20 with hash `repeat_byte(n)`, confirmed up to 18, and inbox
    /// items 0..5 at L1 blocks 10, 10, 12, 15, 19 for namespaces 1, 5 (unregistered), 1, 2, 1.
    struct L1Chain;

    fn inbox(index: u64) -> Option<InboxItem> {
        let (block, namespace) =
            *[(10, 1), (10, 5), (12, 1), (15, 2), (19, 1)].get(index as usize)?;
        Some(InboxItem {
            index,
            namespace,
            sender: Address::repeat_byte(0xee),
            payload: ordo_types::Bytes::from(vec![index as u8; 10]),
            l1_block: block,
        })
    }

    impl ChainView for L1Chain {
        fn sender(&self, tx: &Transaction) -> Option<Address> {
            tx.recover_sender(7).ok()
        }
        fn next_nonce(&self, _: &Address, _: u64) -> u64 {
            0
        }
        fn is_registered(&self, namespace: u64) -> bool {
            namespace < 3
        }
        fn l1_block_hash(&self, number: u64) -> Option<B256> {
            (number <= 20).then(|| B256::repeat_byte(number as u8))
        }
        fn inbox_item(&self, index: u64) -> Option<InboxItem> {
            inbox(index)
        }
        fn rollup_rules(&self, _: &Transaction) -> Result<(), String> {
            Ok(())
        }
    }

    fn l1_check() -> ProposalCheck {
        ProposalCheck {
            l1: Some(L1Check {
                parent_origin_number: 11,
                parent_origin_hash: B256::repeat_byte(11),
                inclusion_delay: 4,
                origin_tolerance: 2,
                confirmed: 18,
            }),
            ..check()
        }
    }

    fn l1_template(origin: u64) -> BlockTemplate {
        BlockTemplate {
            l1_origin_number: origin,
            l1_origin_hash: B256::repeat_byte(origin as u8),
            ..template()
        }
    }

    fn due(origin: u64) -> Vec<InboxItem> {
        (0..5)
            .filter_map(inbox)
            .filter(|i| i.is_due(4, origin))
            .collect()
    }

    #[test]
    fn due_inbox_items_are_built_first_in_order_and_accepted() {
        // At origin 16, items 0..=2 are due (blocks 10, 10, 12); 3 is due at 19.
        let block = build_block_with_forced(
            &l1_template(16),
            1_500,
            &due(16),
            txs(6),
            &BlockLimits::default(),
        );
        assert_eq!(block.header.inbox_cursor, 3);
        assert_eq!(block.header.tx_count, 9);
        let ns1 = &block.body.namespace(1).unwrap().entries;
        assert!(matches!(&ns1[0], Entry::Forced(f) if f.inbox_index == 0));
        assert!(matches!(&ns1[1], Entry::Forced(f) if f.inbox_index == 2));
        assert!(matches!(&ns1[2], Entry::Signed(_)));
        // The unregistered namespace 5 gets its forced item anyway.
        assert!(block.body.namespace(5).is_some());
        validate_block(&block, &l1_check(), &L1Chain).unwrap();

        // Earlier inclusion is allowed: item 3 before its deadline.
        let early = build_block_with_forced(
            &l1_template(16),
            1_500,
            &due(19)[..4],
            vec![],
            &BlockLimits::default(),
        );
        assert_eq!(early.header.inbox_cursor, 4);
        validate_block(&early, &l1_check(), &L1Chain).unwrap();

        // Nothing due: an empty block with the same origin as the parent is fine.
        let idle = build_block_with_forced(
            &l1_template(11),
            1_500,
            &[],
            vec![],
            &BlockLimits::default(),
        );
        validate_block(&idle, &l1_check(), &L1Chain).unwrap();
    }

    #[test]
    fn a_block_omitting_a_due_item_is_refused_unless_full() {
        // Censoring item 1 (stopping before it) while item 1 is due.
        let censored = build_block_with_forced(
            &l1_template(16),
            1_500,
            &due(16)[..1],
            txs(3),
            &BlockLimits::default(),
        );
        assert!(matches!(
            validate_block(&censored, &l1_check(), &L1Chain),
            Err(BlockError::DueItemOmitted {
                index: 1,
                deadline: 14,
                origin: 16
            })
        ));
        // Skipping an item and including the next one.
        let mut skipping = due(16);
        skipping.remove(1);
        let mut block = build_block_with_forced(
            &l1_template(16),
            1_500,
            &skipping[..1],
            vec![],
            &BlockLimits::default(),
        );
        block.body = Body::from_entries(vec![NamespaceEntries {
            namespace: 1,
            entries: vec![
                Entry::Forced(skipping[0].to_forced()),
                Entry::Forced(skipping[1].to_forced()),
            ],
        }])
        .unwrap();
        block.header.inbox_cursor = 2;
        let block = recommit(block);
        assert!(matches!(
            validate_block(&block, &l1_check(), &L1Chain),
            Err(BlockError::ForcedOutOfOrder {
                found: 2,
                expected: 1
            })
        ));
        // A block too full for the due item is not at fault.
        let limits = BlockLimits {
            max_transactions: 1,
            ..BlockLimits::default()
        };
        let full = build_block_with_forced(&l1_template(16), 1_500, &due(16), vec![], &limits);
        assert_eq!(full.header.inbox_cursor, 1);
        let check = ProposalCheck {
            limits,
            ..l1_check()
        };
        validate_block(&full, &check, &L1Chain).unwrap();
    }

    #[test]
    fn forged_or_misplaced_forced_entries_are_refused() {
        let good = build_block_with_forced(
            &l1_template(16),
            1_500,
            &due(16),
            vec![],
            &BlockLimits::default(),
        );
        // A different payload under a real index.
        let mut forged = good.clone();
        if let Entry::Forced(f) = &mut forged.body.namespaces[0].entries[0] {
            f.payload = ordo_types::Bytes::from_static(b"forged");
        }
        assert!(matches!(
            validate_block(&recommit(forged), &l1_check(), &L1Chain),
            Err(BlockError::ForcedMismatch { inbox_index: 0 })
        ));
        // An index the validator has not read.
        let mut unknown = inbox(4).unwrap();
        unknown.index = 3;
        let block = build_block_with_forced(
            &l1_template(16),
            1_500,
            &[due(16), vec![unknown]].concat(),
            vec![],
            &BlockLimits::default(),
        );
        assert!(matches!(
            validate_block(&block, &l1_check(), &L1Chain),
            Err(BlockError::ForcedMismatch { inbox_index: 3 })
        ));
        // A forced entry after a signed transaction.
        let mut late = build_block_with_forced(
            &l1_template(16),
            1_500,
            &due(16),
            txs(3),
            &BlockLimits::default(),
        );
        let ns1 = &mut late
            .body
            .namespaces
            .iter_mut()
            .find(|g| g.namespace == 1)
            .unwrap()
            .entries;
        ns1.rotate_left(1);
        assert!(matches!(
            validate_block(&recommit(late), &l1_check(), &L1Chain),
            Err(BlockError::ForcedAfterSigned { .. })
        ));
        // A cursor that does not count the items.
        let mut cursor = good.clone();
        cursor.header.inbox_cursor = 2;
        assert!(matches!(
            validate_block(&cursor, &l1_check(), &L1Chain),
            Err(BlockError::Mismatch {
                field: "inbox_cursor",
                ..
            })
        ));
        // Forced entries on a chain without an L1.
        assert!(matches!(
            validate_block(
                &good,
                &ProposalCheck {
                    template: l1_template(16),
                    ..check()
                },
                &L1Chain
            ),
            Err(BlockError::UnexpectedForced { .. })
        ));
    }

    #[test]
    fn the_l1_origin_must_move_forward_to_a_block_the_validator_sees() {
        let at = |origin: u64, hash: B256| {
            let mut t = l1_template(origin);
            t.l1_origin_hash = hash;
            build_block_with_forced(&t, 1_500, &due(origin), vec![], &BlockLimits::default())
        };
        let verdict = |b: &Block| validate_block(b, &l1_check(), &L1Chain);
        assert!(matches!(
            verdict(&at(10, B256::repeat_byte(10))),
            Err(BlockError::L1OriginBackwards {
                number: 10,
                parent: 11
            })
        ));
        // Same number as the parent with another hash.
        assert!(matches!(
            verdict(&at(11, B256::repeat_byte(1))),
            Err(BlockError::Mismatch {
                field: "l1_origin_hash",
                ..
            })
        ));
        // Within the tolerance (18 + 2) and seen: fine; beyond it: refused.
        verdict(&at(20, B256::repeat_byte(20))).unwrap();
        assert!(matches!(
            verdict(&at(21, B256::repeat_byte(21))),
            Err(BlockError::L1OriginTooFarAhead { .. })
        ));
        // A hash this validator does not hold for the number.
        assert!(matches!(
            verdict(&at(15, B256::repeat_byte(99))),
            Err(BlockError::L1OriginUnknown { .. })
        ));
        // Without an L1 the origin must be zero.
        let mut t = template();
        t.l1_origin_number = 3;
        let block = build_block(&t, 1_500, vec![], &BlockLimits::default());
        assert!(matches!(
            validate_block(&block, &check(), &Chain),
            Err(BlockError::Mismatch {
                field: "l1_origin_number",
                ..
            })
        ));
    }
}
