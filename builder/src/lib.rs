//! The Ordo block builder: assembles the block a proposer proposes, and checks a received
//! proposal before its validator votes for it.
//!
//! Both are pure functions over data: [`build_block`] and [`validate_block`]. The consensus
//! application supplies the chain state they need ([`BlockTemplate`], [`ProposalCheck`]).

use ordo_types::{
    Address, Block, Body, Encode, Entry, Header, NamespaceEntries, Transaction, B256,
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
    /// Inbox items included up to the parent.
    pub inbox_cursor: u64,
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
    let mut size = BLOCK_OVERHEAD;
    let mut groups: Vec<NamespaceEntries> = Vec::new();
    let mut count: u32 = 0;
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
        l1_origin_number: 0,
        l1_origin_hash: B256::ZERO,
        inbox_cursor: template.inbox_cursor,
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
    expect("inbox_cursor", h.inbox_cursor, t.inbox_cursor)?;
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
    for group in &block.body.namespaces {
        if !chain.is_registered(group.namespace) {
            return Err(BlockError::UnknownNamespace(group.namespace));
        }
        for entry in &group.entries {
            match entry {
                Entry::Signed(tx) => {
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
                Entry::Forced(forced) => {
                    return Err(BlockError::UnexpectedForced {
                        inbox_index: forced.inbox_index,
                    })
                }
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
        }
    }

    fn check() -> ProposalCheck {
        ProposalCheck {
            template: template(),
            now_ms: 2_000,
            max_clock_drift_ms: 500,
            limits: BlockLimits::default(),
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
}
