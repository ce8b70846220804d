//! Items of the L1 force-inclusion inbox, as Ordo's validity rule sees them.

use crate::transaction::ForcedTransaction;
use alloy_primitives::{Address, Bytes};
use serde::{Deserialize, Serialize};

/// One item queued in the L1 `Inbox` contract (its `ForcedInclusion` event).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InboxItem {
    /// Sequential index in the inbox (0, 1, 2, ...).
    pub index: u64,
    /// The rollup namespace it is for.
    pub namespace: u64,
    /// The L1 account that queued it.
    pub sender: Address,
    /// The payload.
    pub payload: Bytes,
    /// The L1 block it was queued in.
    pub l1_block: u64,
}

impl InboxItem {
    /// The L1 block from which an Ordo block must include it: `l1_block + delay`
    /// (saturating).
    pub fn deadline(&self, delay: u64) -> u64 {
        self.l1_block.saturating_add(delay)
    }

    /// Whether a block with L1 origin `origin` must include it (in it or earlier).
    pub fn is_due(&self, delay: u64, origin: u64) -> bool {
        self.deadline(delay) <= origin
    }

    /// The block entry that carries it.
    pub fn to_forced(&self) -> ForcedTransaction {
        ForcedTransaction {
            inbox_index: self.index,
            sender: self.sender,
            payload: self.payload.clone(),
        }
    }

    /// Whether `forced` is exactly this item.
    pub fn matches(&self, forced: &ForcedTransaction) -> bool {
        forced.inbox_index == self.index
            && forced.sender == self.sender
            && forced.payload == self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_and_due() {
        let item = InboxItem {
            index: 3,
            namespace: 9,
            sender: Address::repeat_byte(1),
            payload: Bytes::from_static(b"x"),
            l1_block: 100,
        };
        assert_eq!(item.deadline(5), 105);
        assert!(!item.is_due(5, 104));
        assert!(item.is_due(5, 105));
        assert_eq!(item.deadline(u64::MAX), u64::MAX);
        assert!(item.matches(&item.to_forced()));
        let mut other = item.to_forced();
        other.payload = Bytes::from_static(b"y");
        assert!(!item.matches(&other));
    }
}
