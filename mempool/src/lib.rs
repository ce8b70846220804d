//! The Ordo mempool: where a node keeps the transactions it accepted until a block includes them.
//!
//! This first version is a local, bounded FIFO queue:
//! - admission decodes nothing itself (the API hands it a [`Transaction`]), recovers the sender
//!   from the EIP-712 signature, refuses duplicates and enforces size limits;
//! - the proposer takes transactions in arrival order ([`Mempool::select`]);
//! - after a decided block, included transactions leave the pool ([`Mempool::remove_included`]);
//! - every signature checked here is remembered ([`Mempool::sender`]), so a validator checking a
//!   proposal does not verify the same signature twice.
//!
//! ```
//! use ordo_mempool::{Mempool, MempoolConfig};
//! use ordo_types::{Bytes, SecretKey, Transaction};
//!
//! let pool = Mempool::new(7, MempoolConfig::default());
//! let tx = Transaction::sign(1, 0, Bytes::from_static(b"hi"), &SecretKey::random(), 7);
//! let hash = pool.submit(tx.clone()).unwrap();
//! assert_eq!(hash, tx.hash());
//! assert_eq!(pool.select(1 << 20, 100), vec![tx]);
//! ```

mod gossip;

pub use gossip::{Gossip, GossipConfig, GossipError, GossipEvent};

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use ordo_types::{Address, Block, Entry, Transaction, B256};

/// Limits of the pool.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    /// Largest accepted payload, in bytes.
    pub max_payload_bytes: usize,
    /// Most transactions held at once.
    pub max_transactions: usize,
    /// Most payload bytes held at once.
    pub max_total_bytes: usize,
    /// How many verified signatures to remember.
    pub verified_cache_size: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_payload_bytes: 128 * 1024,
            max_transactions: 100_000,
            max_total_bytes: 256 * 1024 * 1024,
            verified_cache_size: 200_000,
        }
    }
}

/// Why a transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The signature does not recover to a sender.
    #[error("bad signature: {0}")]
    BadSignature(ordo_types::Error),
    /// The payload is larger than allowed.
    #[error("payload of {size} bytes exceeds the limit of {max}")]
    PayloadTooLarge {
        /// Payload size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The pool already holds this transaction.
    #[error("transaction already known")]
    AlreadyKnown,
    /// The pool is at its count or byte limit.
    #[error("mempool full")]
    Full,
}

impl MempoolError {
    /// A stable, machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            MempoolError::BadSignature(_) => "BAD_SIGNATURE",
            MempoolError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            MempoolError::AlreadyKnown => "ALREADY_KNOWN",
            MempoolError::Full => "MEMPOOL_FULL",
        }
    }
}

/// A cloneable handle to one node's pool.
#[derive(Clone)]
pub struct Mempool {
    chain_id: u64,
    config: Arc<MempoolConfig>,
    inner: Arc<Mutex<Pool>>,
}

#[derive(Default)]
struct Pool {
    queue: VecDeque<Transaction>,
    pending: HashMap<B256, Address>,
    bytes: usize,
    verified: HashMap<B256, Address>,
}

impl Mempool {
    /// An empty pool for chain `chain_id`.
    pub fn new(chain_id: u64, config: MempoolConfig) -> Self {
        Self {
            chain_id,
            config: Arc::new(config),
            inner: Arc::default(),
        }
    }

    fn pool(&self) -> MutexGuard<'_, Pool> {
        // A panic while holding the lock leaves the pool consistent (every update is a few
        // infallible collection operations), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits `tx`, returning its hash.
    pub fn submit(&self, tx: Transaction) -> Result<B256, MempoolError> {
        let size = tx.payload.len();
        if size > self.config.max_payload_bytes {
            return Err(MempoolError::PayloadTooLarge {
                size,
                max: self.config.max_payload_bytes,
            });
        }
        let hash = tx.hash();
        if self.pool().pending.contains_key(&hash) {
            return Err(MempoolError::AlreadyKnown);
        }
        let sender = self.sender(&tx)?;
        let mut pool = self.pool();
        if pool.pending.contains_key(&hash) {
            return Err(MempoolError::AlreadyKnown);
        }
        if pool.queue.len() >= self.config.max_transactions
            || pool.bytes.saturating_add(size) > self.config.max_total_bytes
        {
            return Err(MempoolError::Full);
        }
        pool.pending.insert(hash, sender);
        pool.bytes += size;
        pool.queue.push_back(tx);
        Ok(hash)
    }

    /// The sender of `tx`, from the cache of verified signatures or by recovering it once.
    pub fn sender(&self, tx: &Transaction) -> Result<Address, MempoolError> {
        let hash = tx.hash();
        if let Some(sender) = self.pool().verified.get(&hash) {
            return Ok(*sender);
        }
        let sender = tx
            .recover_sender(self.chain_id)
            .map_err(MempoolError::BadSignature)?;
        let mut pool = self.pool();
        if pool.verified.len() >= self.config.verified_cache_size {
            // Keep what is pending; forget the rest.
            let pending = std::mem::take(&mut pool.pending);
            pool.verified = pending.clone();
            pool.pending = pending;
        }
        pool.verified.insert(hash, sender);
        Ok(sender)
    }

    /// Up to `max_count` transactions in arrival order, totalling at most `max_bytes` of payload.
    pub fn select(&self, max_bytes: usize, max_count: usize) -> Vec<Transaction> {
        let pool = self.pool();
        let mut bytes = 0usize;
        let mut out = Vec::new();
        for tx in pool.queue.iter() {
            if out.len() >= max_count {
                break;
            }
            let next = bytes.saturating_add(tx.payload.len());
            if next > max_bytes {
                break;
            }
            bytes = next;
            out.push(tx.clone());
        }
        out
    }

    /// Drops the transactions `block` included.
    pub fn remove_included(&self, block: &Block) {
        let included: Vec<B256> = block
            .body
            .namespaces
            .iter()
            .flat_map(|ns| ns.entries.iter())
            .filter_map(|entry| match entry {
                Entry::Signed(tx) => Some(tx.hash()),
                Entry::Forced(_) => None,
            })
            .collect();
        let mut pool = self.pool();
        let mut removed_bytes = 0usize;
        let mut any = false;
        for hash in &included {
            any |= pool.pending.remove(hash).is_some();
        }
        if any {
            let Pool { queue, pending, .. } = &mut *pool;
            queue.retain(|tx| {
                let keep = pending.contains_key(&tx.hash());
                if !keep {
                    removed_bytes += tx.payload.len();
                }
                keep
            });
            pool.bytes = pool.bytes.saturating_sub(removed_bytes);
        }
    }

    /// Whether the pool holds the transaction with this hash.
    pub fn contains(&self, hash: &B256) -> bool {
        self.pool().pending.contains_key(hash)
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.pool().queue.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ordo_types::{Bytes, SecretKey};

    fn tx(key: &SecretKey, nonce: u64, payload: &'static [u8]) -> Transaction {
        Transaction::sign(1, nonce, Bytes::from_static(payload), key, 7)
    }

    #[test]
    fn refuses_duplicates_oversize_and_full() {
        let pool = Mempool::new(
            7,
            MempoolConfig {
                max_payload_bytes: 4,
                max_transactions: 1,
                ..Default::default()
            },
        );
        let key = SecretKey::random();
        pool.submit(tx(&key, 0, b"ok")).unwrap();
        assert_eq!(
            pool.submit(tx(&key, 0, b"ok")),
            Err(MempoolError::AlreadyKnown)
        );
        assert!(matches!(
            pool.submit(tx(&key, 1, b"too long")),
            Err(MempoolError::PayloadTooLarge { size: 8, max: 4 })
        ));
        assert_eq!(pool.submit(tx(&key, 2, b"x")), Err(MempoolError::Full));
    }

    #[test]
    fn select_respects_limits_and_order() {
        let pool = Mempool::new(7, MempoolConfig::default());
        let key = SecretKey::random();
        let txs: Vec<_> = (0..5).map(|n| tx(&key, n, b"abcd")).collect();
        for t in &txs {
            pool.submit(t.clone()).unwrap();
        }
        assert_eq!(pool.select(1 << 20, 3), txs[..3].to_vec());
        assert_eq!(pool.select(9, 10), txs[..2].to_vec());
    }
}
