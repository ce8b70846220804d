//! What a node knows of its L1: confirmed blocks, inbox items and stake-table events, as the
//! L1 watcher (`ordo-l1`) reads them and the chain core judges blocks by them.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::InboxItem;

/// Why an [`L1View`] refuses a read range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum L1ViewError {
    /// An inbox item already held arrives again with other contents.
    #[error("inbox item {index} (L1 block {l1_block}) differs from the one read before")]
    InboxChanged {
        /// The item's index.
        index: u64,
        /// The L1 block the new copy claims.
        l1_block: u64,
    },
    /// Inbox indexes are not consecutive: an item is missing.
    #[error("inbox item {found} where {expected} was expected")]
    InboxGap {
        /// Index read.
        found: u64,
        /// Index expected.
        expected: u64,
    },
}

/// An L1 block: number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct L1Block {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
}

/// The election inputs of a `StakeTable` event (`contracts/README.md`, "Rebuilding the table
/// from logs").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StakeEvent {
    /// A validator was registered.
    Registered {
        /// Consensus address.
        validator: Address,
        /// Operator (owner of the self-stake).
        operator: Address,
        /// The consensus public key, recovered from the proof of possession in the
        /// registration's calldata; `None` when the registration came through a contract
        /// (no direct `register` call to read), which makes the validator unelectable.
        public_key: Option<crate::PublicKey>,
    },
    /// A validator's totals after a change.
    StakeUpdated {
        /// Consensus address.
        validator: Address,
        /// Stake not in exit requests, wei: the election weight.
        active_stake: U256,
        /// The operator's active stake, wei.
        self_stake: U256,
    },
    /// A validator was jailed for good.
    Jailed {
        /// Consensus address.
        validator: Address,
    },
}

/// What a node knows of the L1, as of its confirmed block. Serializable, so a node can keep
/// it across restarts and resume reading after its confirmed block (the watcher's `resume`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1View {
    /// The latest confirmed block read; `None` before the first successful read.
    pub confirmed: Option<L1Block>,
    /// Hashes of recent confirmed blocks and of up to `lookahead_blocks` above.
    hashes: BTreeMap<u64, B256>,
    /// Every inbox item read, `inbox[i].index == i`.
    inbox: Vec<InboxItem>,
    /// Every election-relevant stake-table event read, with its L1 block, in chain order.
    stake_events: Vec<(u64, StakeEvent)>,
    /// The last read error, cleared by the next successful read.
    pub last_error: Option<String>,
}

/// Most block hashes an [`L1View`] keeps.
const MAX_HASHES: usize = 4_096;

impl L1View {
    /// Number of the confirmed block (0 before the first read).
    pub fn confirmed_number(&self) -> u64 {
        self.confirmed.map_or(0, |b| b.number)
    }

    /// The hash of block `number`, if this view has it (recent confirmed blocks and the
    /// lookahead window).
    pub fn block_hash(&self, number: u64) -> Option<B256> {
        self.hashes.get(&number).copied()
    }

    /// Inbox item `index`, if read.
    pub fn inbox_item(&self, index: u64) -> Option<&InboxItem> {
        usize::try_from(index).ok().and_then(|i| self.inbox.get(i))
    }

    /// Every inbox item read, in index order.
    pub fn inbox(&self) -> &[InboxItem] {
        &self.inbox
    }

    /// Every stake-table event read, with its L1 block.
    pub fn stake_events(&self) -> &[(u64, StakeEvent)] {
        &self.stake_events
    }

    /// Adds one read range: its events and the block hashes read with it. Inbox items must
    /// continue the indexes already held; an item already held is skipped when identical and
    /// refused when different.
    pub fn apply(&mut self, batch: Batch) -> Result<(), L1ViewError> {
        let mut next = self.inbox.len() as u64;
        for item in &batch.inbox {
            if item.index < next {
                if self.inbox_item(item.index) != Some(item) {
                    return Err(L1ViewError::InboxChanged {
                        index: item.index,
                        l1_block: item.l1_block,
                    });
                }
                continue;
            }
            if item.index != next {
                return Err(L1ViewError::InboxGap {
                    found: item.index,
                    expected: next,
                });
            }
            next += 1;
        }
        let held = self.inbox.len() as u64;
        self.inbox
            .extend(batch.inbox.into_iter().filter(|i| i.index >= held));
        self.stake_events.extend(batch.stake_events);
        // Lookahead hashes above the new confirmed block are replaced, not merged.
        let _ = self
            .hashes
            .split_off(&batch.confirmed.number.saturating_add(1));
        self.hashes.extend(batch.hashes);
        while self.hashes.len() > MAX_HASHES {
            self.hashes.pop_first();
        }
        self.confirmed = Some(batch.confirmed);
        self.last_error = None;
        Ok(())
    }
}

/// The events and hashes of one read range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The last block of the range.
    pub confirmed: L1Block,
    /// Hashes read (the range's, and lookahead blocks above it).
    pub hashes: Vec<(u64, B256)>,
    /// Inbox items, in index order.
    pub inbox: Vec<InboxItem>,
    /// Stake-table events, in chain order.
    pub stake_events: Vec<(u64, StakeEvent)>,
}

impl Default for L1Block {
    fn default() -> Self {
        Self {
            number: 0,
            hash: B256::ZERO,
        }
    }
}
