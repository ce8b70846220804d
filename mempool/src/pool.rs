//! The pool itself: pending transactions indexed by account (sender, namespace) and nonce, with
//! the rules of admission, parking, eviction and fair block selection. Plain data, no locking,
//! no I/O.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};

use ordo_chain::NonceUpdate;
use ordo_types::{Address, Transaction, B256};

use crate::{MempoolConfig, MempoolError};

/// An account: one sender's transactions in one namespace.
pub(crate) type AccountKey = (Address, u64);

/// Encoded overhead of a signed entry besides its payload (tag, version, namespace, nonce,
/// payload length, signature).
pub(crate) const ENTRY_OVERHEAD: usize = 1 + 1 + 8 + 8 + 4 + 65;

#[derive(Debug, Clone)]
pub(crate) struct Pooled {
    pub(crate) tx: Transaction,
    pub(crate) sender: Address,
    /// Arrival order.
    seq: u64,
}

impl Pooled {
    fn size(&self) -> usize {
        self.tx.payload().len()
    }
}

#[derive(Debug, Default)]
struct Account {
    /// Next nonce the chain expects.
    next: u64,
    /// Pending transactions by nonce.
    txs: BTreeMap<u64, B256>,
}

impl Account {
    /// Nonces `next..` present without a gap: these are ready, the rest is parked.
    fn ready_len(&self) -> u64 {
        let mut n = 0;
        while self.txs.contains_key(&(self.next + n)) {
            n += 1;
        }
        n
    }
}

/// Where a transaction stands, as the pool knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolStatus {
    /// Ready for the next block.
    Pending {
        /// Its namespace.
        namespace: u64,
    },
    /// Waiting for lower nonces.
    Parked {
        /// Its namespace.
        namespace: u64,
    },
    /// Removed without being included.
    Dropped {
        /// Why.
        reason: String,
    },
    /// Not known to the pool.
    Unknown,
}

/// Counts and bytes of one namespace's pending transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct NamespaceSummary {
    /// Ready transactions.
    pub pending: usize,
    /// Parked transactions.
    pub parked: usize,
    /// Payload bytes of both.
    pub bytes: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Pool {
    txs: HashMap<B256, Pooled>,
    accounts: HashMap<AccountKey, Account>,
    seq: u64,
    bytes: usize,
    dropped: HashMap<B256, String>,
    dropped_order: VecDeque<B256>,
    /// Parked transactions by arrival, so eviction finds the oldest without a scan.
    parked: BTreeSet<(u64, B256)>,
    /// Payload bytes of the parked transactions.
    parked_bytes: usize,
}

/// How many dropped transactions' reasons are remembered.
const DROPPED_MEMORY: usize = 100_000;

impl Pool {
    pub(crate) fn len(&self) -> usize {
        self.txs.len()
    }

    /// Transactions ready for a block (held and not parked).
    pub(crate) fn ready(&self) -> usize {
        self.txs.len() - self.parked.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Payload bytes of the transactions ready for a block.
    pub(crate) fn ready_bytes(&self) -> usize {
        self.bytes - self.parked_bytes
    }

    /// Adds `tx` from `sender`. `chain_next` is the next nonce the chain expects for the account
    /// (used when the pool does not know the account yet). Returns the hashes evicted to make
    /// room.
    pub(crate) fn insert(
        &mut self,
        cfg: &MempoolConfig,
        tx: Transaction,
        sender: Address,
        chain_next: impl FnOnce() -> u64,
    ) -> Result<Vec<B256>, MempoolError> {
        let hash = tx.hash();
        if self.txs.contains_key(&hash) {
            return Err(MempoolError::AlreadyKnown);
        }
        let key = (sender, tx.namespace());
        let next = match self.accounts.get(&key) {
            Some(account) => account.next,
            None => chain_next(),
        };
        if tx.nonce() < next {
            return Err(MempoolError::NonceTooLow {
                nonce: tx.nonce(),
                next,
            });
        }
        // The gap counts from the first nonce not yet pending, so a sender may queue many
        // transactions in sequence.
        let frontier = self
            .accounts
            .get(&key)
            .map_or(next, |a| a.next + a.ready_len());
        if tx.nonce().saturating_sub(frontier) > cfg.max_nonce_gap {
            return Err(MempoolError::NonceGapTooLarge {
                nonce: tx.nonce(),
                next: frontier,
                max_gap: cfg.max_nonce_gap,
            });
        }
        if let Some(account) = self.accounts.get(&key) {
            if account.txs.contains_key(&tx.nonce()) {
                return Err(MempoolError::NonceTaken { nonce: tx.nonce() });
            }
            if account.txs.len() >= cfg.max_per_sender {
                return Err(MempoolError::SenderLimit {
                    max: cfg.max_per_sender,
                });
            }
        }
        let size = tx.payload().len();
        let mut evicted = Vec::new();
        while self.txs.len() >= cfg.max_transactions
            || self.bytes.saturating_add(size) > cfg.max_total_bytes
        {
            match self.oldest_parked() {
                Some(victim) => {
                    self.remove(&victim);
                    self.note_dropped(victim, "evicted: mempool full (parked, oldest first)");
                    evicted.push(victim);
                }
                None => return Err(MempoolError::Full),
            }
        }
        self.seq += 1;
        let account = self.accounts.entry(key).or_insert_with(|| Account {
            next,
            txs: BTreeMap::new(),
        });
        account.txs.insert(tx.nonce(), hash);
        self.bytes += size;
        self.txs.insert(
            hash,
            Pooled {
                tx,
                sender,
                seq: self.seq,
            },
        );
        self.reindex(&key);
        Ok(evicted)
    }

    /// Whether the pool is at a limit with nothing it may evict: a new transaction would be
    /// refused whatever it is, so its signature need not be checked.
    pub(crate) fn is_full(&self, cfg: &MempoolConfig) -> bool {
        (self.txs.len() >= cfg.max_transactions || self.bytes >= cfg.max_total_bytes)
            && self.parked.is_empty()
    }

    fn oldest_parked(&self) -> Option<B256> {
        self.parked.first().map(|(_, hash)| *hash)
    }

    /// Brings the parked index up to date for one account (its size is bounded by
    /// `max_per_sender`).
    fn reindex(&mut self, key: &AccountKey) {
        let Some(account) = self.accounts.get(key) else {
            return;
        };
        let frontier = account.next + account.ready_len();
        for (&nonce, hash) in &account.txs {
            if let Some(p) = self.txs.get(hash) {
                if nonce >= frontier {
                    if self.parked.insert((p.seq, *hash)) {
                        self.parked_bytes += p.size();
                    }
                } else if self.parked.remove(&(p.seq, *hash)) {
                    self.parked_bytes -= p.size();
                }
            }
        }
    }

    fn remove(&mut self, hash: &B256) -> Option<Pooled> {
        let pooled = self.txs.remove(hash)?;
        self.bytes -= pooled.size();
        if self.parked.remove(&(pooled.seq, *hash)) {
            self.parked_bytes -= pooled.size();
        }
        let key = (pooled.sender, pooled.tx.namespace());
        if let Some(account) = self.accounts.get_mut(&key) {
            account.txs.remove(&pooled.tx.nonce());
            if account.txs.is_empty() {
                self.accounts.remove(&key);
            }
        }
        self.reindex(&key);
        Some(pooled)
    }

    /// Removes transactions without recording a reason (an admission rolled back).
    pub(crate) fn forget(&mut self, hashes: &[B256]) {
        for hash in hashes {
            self.remove(hash);
        }
    }

    fn note_dropped(&mut self, hash: B256, reason: &str) {
        if self.dropped.insert(hash, reason.to_owned()).is_none() {
            self.dropped_order.push_back(hash);
            if self.dropped_order.len() > DROPPED_MEMORY {
                if let Some(old) = self.dropped_order.pop_front() {
                    self.dropped.remove(&old);
                }
            }
        }
    }

    pub(crate) fn status(&self, hash: &B256) -> PoolStatus {
        if let Some(p) = self.txs.get(hash) {
            let namespace = p.tx.namespace();
            return if !self.parked.contains(&(p.seq, *hash)) {
                PoolStatus::Pending { namespace }
            } else {
                PoolStatus::Parked { namespace }
            };
        }
        match self.dropped.get(hash) {
            Some(reason) => PoolStatus::Dropped {
                reason: reason.clone(),
            },
            None => PoolStatus::Unknown,
        }
    }

    /// Whether a held transaction of the account uses `nonce`.
    pub(crate) fn uses_nonce(&self, key: &AccountKey, nonce: u64) -> bool {
        self.accounts
            .get(key)
            .is_some_and(|a| a.txs.contains_key(&nonce))
    }

    /// The decided next nonce of an account the pool holds transactions of.
    pub(crate) fn chain_next(&self, key: &AccountKey) -> Option<u64> {
        self.accounts.get(key).map(|a| a.next)
    }

    /// The next nonce a sender should use in a namespace: after the chain's and the pool's.
    pub(crate) fn next_nonce(&self, key: &AccountKey) -> Option<u64> {
        self.accounts.get(key).map(|a| a.next + a.ready_len())
    }

    /// Applies a decided block: `included` lists the hashes of its signed transactions and
    /// `nonces` the accounts it moved (forced entries included). Returns the hashes that left
    /// the pool.
    pub(crate) fn on_decided(&mut self, included: &[B256], nonces: &[NonceUpdate]) -> Vec<B256> {
        let mut gone = Vec::new();
        let mut touched = Vec::new();
        for hash in included {
            if self.remove(hash).is_some() {
                gone.push(*hash);
            }
        }
        for u in nonces {
            let key = (u.sender, u.namespace);
            if let Some(account) = self.accounts.get_mut(&key) {
                account.next = account.next.max(u.next);
                touched.push(key);
            }
        }
        for key in touched {
            self.reindex(&key);
            let stale: Vec<B256> = match self.accounts.get(&key) {
                Some(a) => a.txs.range(..a.next).map(|(_, h)| *h).collect(),
                None => continue,
            };
            for hash in stale {
                self.remove(&hash);
                self.note_dropped(hash, "nonce used by another included transaction");
                gone.push(hash);
            }
        }
        gone
    }

    /// Drops the held transactions `stale` names, with `reason`. Returns their hashes.
    pub(crate) fn drop_stale(
        &mut self,
        stale: impl Fn(&Transaction) -> bool,
        reason: &str,
    ) -> Vec<B256> {
        let hashes: Vec<B256> = self
            .txs
            .iter()
            .filter(|(_, p)| stale(&p.tx))
            .map(|(h, _)| *h)
            .collect();
        for hash in &hashes {
            self.remove(hash);
            self.note_dropped(*hash, reason);
        }
        hashes
    }

    /// Ready transactions for a block, at most `max_bytes` of encoded entries and `max_count`
    /// transactions. Namespaces share the block by deficit round robin in proportion to
    /// `weight(namespace)`, so a flooded namespace cannot crowd out the others; each sender's
    /// transactions come in nonce order, and senders within a namespace in arrival order.
    ///
    /// `charged` is what the block already gives each namespace (bundles): encoded bytes and
    /// entries, counted against its share before any of its single transactions.
    pub(crate) fn select(
        &self,
        max_bytes: usize,
        max_count: usize,
        weight: impl Fn(u64) -> u32,
        charged: &BTreeMap<u64, (usize, usize)>,
    ) -> Vec<Transaction> {
        // Per namespace: accounts ordered by the arrival of their next ready transaction.
        let mut queues: BTreeMap<u64, BinaryHeap<Reverse<(u64, Address)>>> = BTreeMap::new();
        let mut cursors: HashMap<AccountKey, u64> = HashMap::new();
        for (&(sender, namespace), account) in &self.accounts {
            if let Some(head) = account.txs.get(&account.next).and_then(|h| self.txs.get(h)) {
                queues
                    .entry(namespace)
                    .or_default()
                    .push(Reverse((head.seq, sender)));
                cursors.insert((sender, namespace), account.next);
            }
        }
        // A transaction's cost is its share of whichever block limit it uses more of (bytes
        // or count), scaled so that a whole block costs `max_bytes * max_count`.
        let (bytes_cap, count_cap) = (max_bytes.max(1) as u128, max_count.max(1) as u128);
        let cost = |size: usize| (size as u128 * count_cap).max(bytes_cap) as i128;
        let total_weight: u128 = queues.keys().map(|&ns| u128::from(weight(ns).max(1))).sum();
        let quantum = (bytes_cap * count_cap / total_weight.max(1) / 4).max(1) as i128;
        let mut deficits: BTreeMap<u64, i128> = queues
            .keys()
            .map(|&ns| {
                let (bytes, count) = charged.get(&ns).copied().unwrap_or_default();
                let debt = (bytes as u128 * count_cap).max(count as u128 * bytes_cap);
                (ns, -(debt as i128))
            })
            .collect();
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while !queues.is_empty() && out.len() < max_count {
            let mut progressed = false;
            let namespaces: Vec<u64> = queues.keys().copied().collect();
            for ns in namespaces {
                let deficit = deficits.entry(ns).or_default();
                *deficit += quantum * i128::from(weight(ns).max(1));
                while let Some(queue) = queues.get_mut(&ns) {
                    let Some(Reverse((_, sender))) = queue.peek().copied() else {
                        queues.remove(&ns);
                        break;
                    };
                    let key = (sender, ns);
                    let nonce = cursors.get(&key).copied().unwrap_or_default();
                    let Some(p) = self
                        .accounts
                        .get(&key)
                        .and_then(|a| a.txs.get(&nonce))
                        .and_then(|h| self.txs.get(h))
                    else {
                        queue.pop();
                        continue;
                    };
                    let size = ENTRY_OVERHEAD + p.size();
                    if cost(size) > *deficit {
                        break;
                    }
                    if bytes + size > max_bytes || out.len() >= max_count {
                        // This namespace's next transaction does not fit: it is done.
                        queues.remove(&ns);
                        break;
                    }
                    *deficit -= cost(size);
                    bytes += size;
                    out.push(p.tx.clone());
                    progressed = true;
                    queue.pop();
                    cursors.insert(key, nonce + 1);
                    let next = self
                        .accounts
                        .get(&key)
                        .and_then(|a| a.txs.get(&(nonce + 1)))
                        .and_then(|h| self.txs.get(h));
                    if let Some(next) = next {
                        queue.push(Reverse((next.seq, sender)));
                    }
                }
            }
            if !progressed && queues.values().all(BinaryHeap::is_empty) {
                break;
            }
        }
        out
    }

    /// Counts and bytes per namespace.
    pub(crate) fn summary(&self) -> BTreeMap<u64, NamespaceSummary> {
        let mut out: BTreeMap<u64, NamespaceSummary> = BTreeMap::new();
        for (&(_, namespace), account) in &self.accounts {
            let ready = account.ready_len();
            let entry = out.entry(namespace).or_default();
            for (&nonce, hash) in &account.txs {
                if nonce < account.next + ready {
                    entry.pending += 1;
                } else {
                    entry.parked += 1;
                }
                entry.bytes += self.txs.get(hash).map_or(0, Pooled::size);
            }
        }
        out
    }

    /// Every pending transaction, oldest first (for persistence and re-gossip).
    pub(crate) fn all(&self) -> Vec<&Pooled> {
        let mut all: Vec<&Pooled> = self.txs.values().collect();
        all.sort_by_key(|p| p.seq);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordo_types::{Bytes, SecretKey};

    fn cfg() -> MempoolConfig {
        MempoolConfig::default()
    }

    fn tx(key: &SecretKey, ns: u64, nonce: u64, size: usize) -> Transaction {
        Transaction::sign(ns, nonce, Bytes::from(vec![1; size]), key, 1)
    }

    fn add(pool: &mut Pool, key: &SecretKey, ns: u64, nonce: u64) -> Result<B256, MempoolError> {
        let t = tx(key, ns, nonce, 10);
        let hash = t.hash();
        pool.insert(&cfg(), t, key.address(), || 0).map(|_| hash)
    }

    #[test]
    fn nonces_park_until_the_gap_fills_then_select_in_order() {
        let mut pool = Pool::default();
        let key = SecretKey::random();
        let h2 = add(&mut pool, &key, 1, 2).unwrap();
        let h1 = add(&mut pool, &key, 1, 1).unwrap();
        assert_eq!(pool.status(&h2), PoolStatus::Parked { namespace: 1 });
        assert!(pool
            .select(1 << 20, 100, |_| 1, &BTreeMap::new())
            .is_empty());
        assert_eq!(pool.oldest_parked(), Some(h2), "oldest parked first");
        let h0 = add(&mut pool, &key, 1, 0).unwrap();
        assert_eq!(pool.oldest_parked(), None, "the gap filled: nothing parked");
        for h in [h0, h1, h2] {
            assert_eq!(pool.status(&h), PoolStatus::Pending { namespace: 1 });
        }
        let nonces: Vec<u64> = pool
            .select(1 << 20, 100, |_| 1, &BTreeMap::new())
            .iter()
            .map(|t| t.nonce())
            .collect();
        assert_eq!(nonces, vec![0, 1, 2]);
        assert_eq!(pool.next_nonce(&(key.address(), 1)), Some(3));
    }

    #[test]
    fn nonce_rules() {
        let mut pool = Pool::default();
        let key = SecretKey::random();
        let t = tx(&key, 1, 3, 10);
        assert_eq!(
            pool.insert(&cfg(), t, key.address(), || 5),
            Err(MempoolError::NonceTooLow { nonce: 3, next: 5 })
        );
        let far = tx(&key, 1, 5 + cfg().max_nonce_gap + 1, 10);
        assert!(matches!(
            pool.insert(&cfg(), far, key.address(), || 5),
            Err(MempoolError::NonceGapTooLarge { .. })
        ));
        let a = tx(&key, 1, 5, 10);
        pool.insert(&cfg(), a.clone(), key.address(), || 5).unwrap();
        assert_eq!(
            pool.insert(&cfg(), a, key.address(), || 5),
            Err(MempoolError::AlreadyKnown)
        );
        let b = tx(&key, 1, 5, 11);
        assert_eq!(
            pool.insert(&cfg(), b, key.address(), || 5),
            Err(MempoolError::NonceTaken { nonce: 5 })
        );
        // Nonces are independent across namespaces.
        pool.insert(&cfg(), tx(&key, 2, 0, 10), key.address(), || 0)
            .unwrap();
    }

    #[test]
    fn sender_limit_and_eviction_of_parked_oldest_first() {
        let config = MempoolConfig {
            max_transactions: 3,
            max_per_sender: 2,
            ..cfg()
        };
        let mut pool = Pool::default();
        let a = SecretKey::random();
        let ins = |pool: &mut Pool, k: &SecretKey, nonce| {
            let t = tx(k, 1, nonce, 10);
            let h = t.hash();
            pool.insert(&config, t, k.address(), || 0).map(|e| (h, e))
        };
        ins(&mut pool, &a, 0).unwrap();
        let (parked, _) = ins(&mut pool, &a, 5).unwrap();
        assert_eq!(
            ins(&mut pool, &a, 1),
            Err(MempoolError::SenderLimit { max: 2 })
        );
        let b = SecretKey::random();
        ins(&mut pool, &b, 0).unwrap();
        // Full: the parked transaction is evicted for a new one, and says so.
        let (_, evicted) = ins(&mut pool, &b, 1).unwrap();
        assert_eq!(evicted, vec![parked]);
        assert!(matches!(pool.status(&parked), PoolStatus::Dropped { .. }));
        // Full with nothing parked: refused.
        assert!(pool.is_full(&config));
        let c = SecretKey::random();
        assert_eq!(ins(&mut pool, &c, 0), Err(MempoolError::Full));
        assert_eq!(pool.len(), 3);
    }

    #[test]
    fn decided_blocks_remove_included_and_stale_transactions() {
        let mut pool = Pool::default();
        let key = SecretKey::random();
        let h0 = add(&mut pool, &key, 1, 0).unwrap();
        let h1 = add(&mut pool, &key, 1, 1).unwrap();
        let h2 = add(&mut pool, &key, 1, 2).unwrap();
        // Another node's transaction with nonce 1 was included instead of ours.
        let theirs = B256::repeat_byte(9);
        let moved = NonceUpdate {
            sender: key.address(),
            namespace: 1,
            next: 2,
        };
        let gone = pool.on_decided(&[h0, theirs], &[moved]);
        assert_eq!(gone.len(), 2);
        assert!(matches!(pool.status(&h1), PoolStatus::Dropped { .. }));
        assert_eq!(pool.status(&h2), PoolStatus::Pending { namespace: 1 });
        assert_eq!(pool.status(&h0), PoolStatus::Unknown);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.bytes(), 10);
    }

    #[test]
    fn a_flooded_namespace_does_not_crowd_out_another() {
        let mut pool = Pool::default();
        for _ in 0..50 {
            let k = SecretKey::random();
            for n in 0..20 {
                pool.insert(&cfg(), tx(&k, 1, n, 1000), k.address(), || 0)
                    .unwrap();
            }
        }
        let b = SecretKey::random();
        for n in 0..5 {
            pool.insert(&cfg(), tx(&b, 2, n, 1000), b.address(), || 0)
                .unwrap();
        }
        let block = pool.select(
            20 * (1000 + ENTRY_OVERHEAD),
            10_000,
            |_| 1,
            &BTreeMap::new(),
        );
        let from_b = block.iter().filter(|t| t.namespace() == 2).count();
        assert_eq!(
            from_b, 5,
            "namespace 2 gets all of its 5 in the first block"
        );
        assert_eq!(block.len(), 20);
        // The same when the block is limited by count rather than bytes.
        let by_count = pool.select(1 << 30, 20, |_| 1, &BTreeMap::new());
        assert_eq!(by_count.iter().filter(|t| t.namespace() == 2).count(), 5);
        assert_eq!(by_count.len(), 20);
        // With namespace 2 idle, namespace 1 may use the whole block.
        let mut only_a = Pool::default();
        let k = SecretKey::random();
        for n in 0..30 {
            only_a
                .insert(&cfg(), tx(&k, 1, n, 1000), k.address(), || 0)
                .unwrap();
        }
        assert_eq!(
            only_a
                .select(
                    20 * (1000 + ENTRY_OVERHEAD),
                    10_000,
                    |_| 1,
                    &BTreeMap::new()
                )
                .len(),
            20
        );
    }

    #[test]
    fn weights_split_a_contended_block() {
        let mut pool = Pool::default();
        for ns in [1u64, 2] {
            let k = SecretKey::random();
            for n in 0..100 {
                pool.insert(&cfg(), tx(&k, ns, n, 100), k.address(), || 0)
                    .unwrap();
            }
        }
        let weights = |ns| if ns == 1 { 2 } else { 1 };
        let block = pool.select(
            60 * (100 + ENTRY_OVERHEAD),
            10_000,
            weights,
            &BTreeMap::new(),
        );
        let ones = block.iter().filter(|t| t.namespace() == 1).count();
        let twos = block.iter().filter(|t| t.namespace() == 2).count();
        assert_eq!(ones + twos, 60);
        assert!(
            (38..=42).contains(&ones),
            "weight 2:1 gives about 40:20, got {ones}:{twos}"
        );
        // Bundles already gave namespace 1 the room of 30 of these transactions: it has used
        // its share, so namespace 2 gets nearly all of what is left.
        let charged = BTreeMap::from([(1, (30 * (100 + ENTRY_OVERHEAD), 30))]);
        let block = pool.select(30 * (100 + ENTRY_OVERHEAD), 10_000, |_| 1, &charged);
        let ones = block.iter().filter(|t| t.namespace() == 1).count();
        assert_eq!(block.len(), 30);
        assert!(ones <= 2, "namespace 1 got {ones} of 30 after its bundles");
    }
}
