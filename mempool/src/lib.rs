//! The Ordo mempool: where a node keeps the transactions it accepted until a block includes
//! them, so that a transaction sent to any node is treated as if it had reached the proposer.
//!
//! - **Admission** ([`Mempool::submit`]) checks, in order: payload size, the chain core's
//!   [`Admission`] rules (registered namespace, the rollup's transaction kind and chain id),
//!   the signature (the sender is verified once per node and remembered; what a client
//!   declares, [`Declared`] `from` and chain id, must be what the signature proves), nonces, per-sender
//!   and pool limits. The rules and the decided nonces are given at construction: the pool
//!   asks the chain core, never answers for it.
//!   Past `busy_at` ready transactions, client submissions are refused up front (`BUSY`).
//!   Each refusal is a [`MempoolError`] with a stable code.
//! - **Overload** ([`Mempool::admit`]): signature checks for clients and gossip run on a few
//!   threads at a lower CPU priority than consensus, so that a node flooded with transactions
//!   still decides blocks; past `max_unchecked` queued client transactions, more are refused
//!   with `BUSY` before any signature work.
//! - **Nonces** count per sender per namespace from 0, as the chain decided them
//!   ([`NonceReader`]). A transaction ahead of the next nonce is parked (up to a bounded gap)
//!   and becomes pending when the gap fills.
//! - **Block selection** ([`Mempool::select`]) gives every namespace with pending transactions
//!   its weighted share of the block, keeps each sender's nonce order, and otherwise goes by
//!   arrival.
//! - **Decided blocks** ([`Mempool::on_decided`]) remove what they included and what the nonces
//!   they moved (forced Ethereum transactions' included) made stale.
//! - **Durability**: admitted transactions are journaled before `submit` returns and reloaded
//!   on restart.
//! - **Gossip** ([`run_gossip`]): admitted transactions are batched to the other nodes over
//!   libp2p with their senders' public keys; a receiver checks the keys of all queued batches
//!   with one batch verification ([`Mempool::verify_claimed_senders`]) and then admits the
//!   transactions through the same path.
//!
//! ```
//! use std::sync::Arc;
//! use ordo_chain::{Admission, NonceTable};
//! use ordo_mempool::{Mempool, MempoolConfig, Origin};
//! use ordo_rollup_adapters::Rollups;
//! use ordo_types::{Bytes, SecretKey, Transaction};
//!
//! let admission = Admission::new(7, Rollups::raw([1]));
//! let pool = Mempool::in_memory(admission, MempoolConfig::default(), Arc::new(NonceTable::default()));
//! let tx = Transaction::sign(1, 0, Bytes::from_static(b"hi"), &SecretKey::random(), 7);
//! let hash = pool.submit(vec![tx.clone()], Origin::Local).remove(0).unwrap();
//! assert_eq!(hash, tx.hash());
//! assert_eq!(pool.select(1 << 20, 100), vec![tx.into()]);
//! ```

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod bundles;
mod checkers;
mod claimed;
mod gossip;
mod journal;
mod metrics;
mod pool;
mod relay;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use ordo_chain::{Admission, Candidate, KnownBundles, NonceReader, NonceUpdate, Senders, TxError};
use ordo_types::{
    verify_batch, Address, Block, Bundle, Claim, Encode, Entry, ErrorCode, PublicKey, Transaction,
    B256,
};
use serde::{Deserialize, Serialize};

pub use bundles::{BundleOutcome, BundleStatus, PendingBundle};
pub use claimed::CLAIMED_KEY_LEN;
pub use gossip::{Gossip, GossipConfig, GossipError, GossipEvent, Ticket};
pub use metrics::MempoolMetrics;
pub use pool::{NamespaceSummary, PoolStatus};
pub use relay::{decode_batch, decode_bundle, encode_batch, encode_bundle, run_gossip};

/// The live transactions (with their senders) that a journal file's bytes replay to, oldest
/// first: what a node reloads on restart. The entry point of the journal fuzz target
/// (`fuzz/`); not part of the API.
#[doc(hidden)]
pub fn replay_journal(bytes: &[u8]) -> Vec<(Transaction, Address)> {
    journal::replay(bytes).txs.into_values().collect()
}

use bundles::BundlePool;
use checkers::Checkers;
use journal::Journal;
use ordo_types::Generations;
use pool::Pool;

/// Limits and policy of the pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    /// Largest accepted payload, in bytes.
    pub max_payload_bytes: usize,
    /// Most transactions held at once.
    pub max_transactions: usize,
    /// Most payload bytes held at once.
    pub max_total_bytes: usize,
    /// Most transactions one sender may have pending in one namespace.
    pub max_per_sender: usize,
    /// How far ahead of the next nonce a transaction may be parked.
    pub max_nonce_gap: u64,
    /// Transactions ready for a block at which client submissions are refused with `BUSY`
    /// (retryable) before any signature work, so that under overload the CPU goes to finishing
    /// blocks rather than to checking transactions that would only queue. Gossip from other
    /// nodes is still admitted.
    pub busy_at: usize,
    /// The same in payload bytes ready for a block, so that large transactions, which fill
    /// blocks by bytes long before by count, are refused as early.
    pub busy_at_bytes: usize,
    /// Threads that check the signatures of client and gossiped transactions, at a lower CPU
    /// priority than consensus (0: one per core).
    pub check_threads: usize,
    /// Client transactions waiting for their signature checks at which more are refused with
    /// `BUSY` before any work is spent on them.
    pub max_unchecked: usize,
    /// How many verified senders to remember (the older half is forgotten at once when the
    /// newer half is full).
    pub verified_cache_size: usize,
    /// Also flush the journal to disk (survives power loss, not only a crash) before accepting.
    pub fsync: bool,
    /// Block share of namespaces when several compete (default weight 1).
    pub weights: Vec<NamespaceWeight>,
    /// Most bundles held at once.
    pub max_bundles: usize,
}

/// The weight of a namespace in block selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceWeight {
    /// The namespace.
    pub namespace: u64,
    /// Its weight (relative to the default of 1).
    pub weight: u32,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_payload_bytes: 128 * 1024,
            max_transactions: 200_000,
            max_total_bytes: 256 * 1024 * 1024,
            max_per_sender: 1_000,
            max_nonce_gap: 64,
            busy_at: 10_000,
            // About five full blocks, as 10,000 transactions are against 2,000 a block.
            busy_at_bytes: 10 * 1024 * 1024,
            check_threads: 0,
            max_unchecked: 8_192,
            verified_cache_size: 200_000,
            fsync: false,
            weights: Vec::new(),
            max_bundles: 10_000,
        }
    }
}

/// Why a transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The payload is larger than allowed.
    #[error("payload of {size} bytes exceeds the limit of {max}")]
    PayloadTooLarge {
        /// Payload size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// No rollup is registered under the namespace.
    #[error("namespace {0} is not registered")]
    UnknownNamespace(u64),
    /// The namespace's rollup refuses the transaction (its kind, encoding or chain id), or
    /// the chain does (an encrypted transaction sealed to a key it does not use).
    #[error("{reason}")]
    Rollup {
        /// The refusal's code (e.g. [`ErrorCode::WrongRollupChain`]).
        code: ErrorCode,
        /// Why.
        reason: String,
    },
    /// The signature does not recover to a sender.
    #[error("bad signature: {0}")]
    BadSignature(ordo_types::Error),
    /// The signature recovers to another sender than the one the client named (`from`): it
    /// was made over other bytes, or for another chain id than the one it was checked under.
    #[error(
        "bad signature: it recovers to {recovered} under chain id {chain_id}, not to from {from}{}",
        wrong_sender_hint(*.named_chain)
    )]
    WrongSender {
        /// The sender the client named.
        from: Address,
        /// The sender the signature recovers to.
        recovered: Address,
        /// The chain id it was recovered under.
        chain_id: u64,
        /// Whether the client named that chain id itself.
        named_chain: bool,
    },
    /// The signature recovers to another key than the `public_key` the client declared.
    #[error(
        "bad signature: it recovers to {recovered}, not to the sender of public_key, {declared}"
    )]
    WrongKey {
        /// The address of the declared key.
        declared: Address,
        /// The sender the signature recovers to.
        recovered: Address,
    },
    /// The client says the transaction was signed for another chain (and, when it names
    /// `from`, the signature recovers to it under that chain id).
    #[error("signed for chain {signed}; this is chain {chain}")]
    WrongChain {
        /// The chain id it was signed for.
        signed: u64,
        /// This network's chain id.
        chain: u64,
    },
    /// The nonce was already used on chain.
    #[error("nonce {nonce} already used; next is {next}")]
    NonceTooLow {
        /// The transaction's nonce.
        nonce: u64,
        /// The next nonce the chain expects.
        next: u64,
    },
    /// The nonce is too far ahead of the next one.
    #[error("nonce {nonce} is more than {max_gap} ahead of the next nonce {next}")]
    NonceGapTooLarge {
        /// The transaction's nonce.
        nonce: u64,
        /// The next nonce the chain expects.
        next: u64,
        /// The allowed gap.
        max_gap: u64,
    },
    /// The pool already holds this transaction.
    #[error("transaction already known")]
    AlreadyKnown,
    /// Another pending transaction of the sender has this nonce.
    #[error("another pending transaction already uses nonce {nonce}")]
    NonceTaken {
        /// The nonce.
        nonce: u64,
    },
    /// The sender has too many pending transactions.
    #[error("sender has {max} pending transactions in this namespace")]
    SenderLimit {
        /// The limit.
        max: usize,
    },
    /// The pool is at its count or byte limit and holds nothing it may evict.
    #[error("mempool full")]
    Full,
    /// More transactions are ready for blocks than the network is finishing: retry later.
    #[error(
        "node busy: {ready} transactions ({bytes} payload bytes) waiting for blocks; retry later"
    )]
    Busy {
        /// Transactions ready for a block.
        ready: usize,
        /// Their payload bytes (bundled transactions not counted).
        bytes: usize,
    },
    /// The node's signature checks are behind: retry later.
    #[error("node busy: {queued} transactions waiting for signature checks; retry later")]
    ChecksBehind {
        /// Client transactions waiting for checks.
        queued: usize,
    },
    /// The transaction could not be made durable.
    #[error("journal write failed: {0}")]
    Journal(String),
}

/// What [`MempoolError::WrongSender`] adds when the client did not name the chain id: the
/// likeliest cause of a signature recovering to a stranger is a wallet signing for the chain
/// it is connected to.
fn wrong_sender_hint(named_chain: bool) -> &'static str {
    if named_chain {
        ""
    } else {
        " (signed for another chain id? name it in chain_id)"
    }
}

impl MempoolError {
    /// A stable, machine-readable code for API clients and the refusal metric.
    pub fn code(&self) -> ErrorCode {
        match self {
            MempoolError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            MempoolError::UnknownNamespace(_) => ErrorCode::UnknownNamespace,
            MempoolError::Rollup { code, .. } => *code,
            MempoolError::BadSignature(_)
            | MempoolError::WrongSender { .. }
            | MempoolError::WrongKey { .. } => ErrorCode::BadSignature,
            MempoolError::WrongChain { .. } => ErrorCode::WrongChain,
            MempoolError::NonceTooLow { .. } => ErrorCode::NonceTooLow,
            MempoolError::NonceGapTooLarge { .. } => ErrorCode::NonceGapTooLarge,
            MempoolError::AlreadyKnown | MempoolError::NonceTaken { .. } => ErrorCode::AlreadyKnown,
            MempoolError::SenderLimit { .. } => ErrorCode::SenderLimit,
            MempoolError::Full => ErrorCode::MempoolFull,
            MempoolError::Busy { .. } | MempoolError::ChecksBehind { .. } => ErrorCode::Busy,
            MempoolError::Journal(_) => ErrorCode::Internal,
        }
    }
}

/// The decided nonces a pool admits against (a node's store).
pub type Nonces = Arc<dyn NonceReader + Send + Sync>;

impl From<TxError> for MempoolError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::UnknownNamespace(ns) => Self::UnknownNamespace(ns),
            e => Self::Rollup {
                code: e.code(),
                reason: e.to_string(),
            },
        }
    }
}

/// Where a submission came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A client of this node: gossip it to the others.
    Local,
    /// Another node, by gossip: it already reached the network.
    Gossip,
}

/// What a client declares about a transaction besides what it signed, checked at admission
/// against what the signature proves (the API's `from`, `chain_id` and `public_key`). Nothing
/// declared (the default) admits the transaction under whatever sender its signature recovers
/// to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Declared {
    /// The sender: the signature must recover to it, else [`MempoolError::WrongSender`].
    pub from: Option<Address>,
    /// The chain id it was signed for: another than this network's is
    /// [`MempoolError::WrongChain`] (with `from`, only if the signature recovers to `from`
    /// under that chain id; otherwise [`MempoolError::WrongSender`]).
    pub chain_id: Option<u64>,
    /// The sender's public key: the signature must recover to it, else
    /// [`MempoolError::WrongKey`]. It also names the sender (its address), and it lets
    /// admission check the keys of a request's transactions together in one batch instead of
    /// recovering each sender ([`Mempool::verify_claimed_senders`]).
    pub public_key: Option<PublicKey>,
}

impl Declared {
    /// Whether the client named a sender, by address or by key.
    fn names_sender(&self) -> bool {
        self.from.is_some() || self.public_key.is_some()
    }

    /// The refusal of a transaction whose signature recovers to `recovered` under `chain_id`,
    /// if that is not the sender declared: a `from` other than it, or a `public_key` that
    /// `is_signer` says is not the signer's.
    fn refusal(
        &self,
        recovered: Address,
        chain_id: u64,
        is_signer: impl Fn(&PublicKey) -> bool,
    ) -> Option<MempoolError> {
        match (self.from, self.public_key) {
            (Some(from), _) if from != recovered => Some(MempoolError::WrongSender {
                from,
                recovered,
                chain_id,
                named_chain: self.chain_id.is_some(),
            }),
            (_, Some(key)) if !is_signer(&key) => Some(MempoolError::WrongKey {
                declared: key.address(),
                recovered,
            }),
            _ => None,
        }
    }
}

/// A cloneable handle to one node's pool.
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<Inner>,
}

struct Inner {
    admission: Admission,
    config: MempoolConfig,
    weights: HashMap<u64, u32>,
    nonces: Nonces,
    pool: Mutex<Pool>,
    /// Locked after `pool` when both are held.
    bundles: Mutex<BundlePool>,
    /// Verified senders by transaction hash. A cell is inserted before its signature is
    /// checked, so concurrent callers (gossip admission and proposal validation often reach the
    /// same transaction at the same moment) wait for one recovery instead of doing two.
    verified: Mutex<Generations<SenderCell>>,
    journal: Option<Mutex<Journal>>,
    outbox: Mutex<Vec<Transaction>>,
    /// Bundles admitted from clients since the relay last took them.
    bundle_outbox: Mutex<Vec<PendingBundle>>,
    metrics: MempoolMetrics,
    /// Started on first use, so pools that only ever `submit` (tests, tools) have no threads.
    checkers: OnceLock<Checkers>,
}

/// A sender verified once, shared by everyone who asks for it.
type SenderCell = Arc<OnceLock<Result<Signer, ordo_types::Error>>>;

/// A transaction's verified sender: its address and public key (which gossip passes on, so
/// that peers can check it in batches instead of recovering it).
#[derive(Clone, Debug)]
struct Signer {
    address: Address,
    key: PublicKey,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data consistent, so a poisoned lock is safe to reuse.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Mempool {
    fn build(
        admission: Admission,
        config: MempoolConfig,
        nonces: Nonces,
        journal: Option<Journal>,
    ) -> Self {
        let weights = config
            .weights
            .iter()
            .map(|w| (w.namespace, w.weight))
            .collect();
        Self {
            inner: Arc::new(Inner {
                admission,
                weights,
                verified: Mutex::new(Generations::new(config.verified_cache_size)),
                config,
                nonces,
                pool: Mutex::default(),
                bundles: Mutex::default(),
                journal: journal.map(Mutex::new),
                outbox: Mutex::default(),
                bundle_outbox: Mutex::default(),
                metrics: MempoolMetrics::default(),
                checkers: OnceLock::new(),
            }),
        }
    }

    /// A pool without a journal (nothing survives a restart): for tests and tools.
    pub fn in_memory(admission: Admission, config: MempoolConfig, nonces: Nonces) -> Self {
        Self::build(admission, config, nonces, None)
    }

    /// Opens the pool journaled at `path`, reloading what it held (transactions that are no
    /// longer admissible, e.g. because their nonce was used meanwhile, are dropped).
    pub fn open(
        admission: Admission,
        config: MempoolConfig,
        path: &Path,
        nonces: Nonces,
    ) -> std::io::Result<Self> {
        let (journal, live) = Journal::open(path, config.fsync)?;
        let mempool = Self::build(admission, config, nonces, Some(journal));
        let mut kept = Vec::new();
        let mut kept_bundles = Vec::new();
        {
            let inner = &mempool.inner;
            let nonces = &inner.nonces;
            let mut bundles = lock(&inner.bundles);
            for (hash, bundle) in live.bundles {
                let used = bundle
                    .bundle
                    .txs()
                    .iter()
                    .zip(&bundle.senders)
                    .any(|(tx, s)| nonces.next_nonce(s, tx.namespace()) > tx.nonce());
                if !used
                    && bundles
                        .insert(bundle.clone(), inner.config.max_bundles)
                        .is_ok()
                {
                    kept_bundles.push(bundle);
                } else {
                    tracing::debug!(target: "ordo::mempool", %hash, "journaled bundle no longer admissible");
                }
            }
            drop(bundles);
            let mut pool = lock(&inner.pool);
            for (tx, sender) in live.txs.into_values() {
                let namespace = tx.namespace();
                let entry = (tx.clone(), sender);
                if pool
                    .insert(&inner.config, tx, sender, || {
                        nonces.next_nonce(&sender, namespace)
                    })
                    .is_ok()
                {
                    kept.push(entry);
                }
            }
        }
        if let Some(journal) = &mempool.inner.journal {
            lock(journal).compact(&kept, &kept_bundles)?;
        }
        lock(&mempool.inner.outbox).extend(kept.into_iter().map(|(tx, _)| tx));
        lock(&mempool.inner.bundle_outbox).extend(kept_bundles);
        Ok(mempool)
    }

    /// The chain this pool admits transactions for.
    pub fn chain_id(&self) -> u64 {
        self.inner.admission.chain_id()
    }

    /// The admission rules (chain id, registered rollups).
    pub fn admission(&self) -> &Admission {
        &self.inner.admission
    }

    /// Counters for the metrics endpoint.
    pub fn metrics(&self) -> &MempoolMetrics {
        &self.inner.metrics
    }

    /// The pool's limits.
    pub fn config(&self) -> &MempoolConfig {
        &self.inner.config
    }

    /// Admits a client's batch as [`Mempool::submit`] does, with the signature work on the
    /// checking threads (at a lower CPU priority than consensus). Refused with `BUSY` before any
    /// signature work when the node is busy, the pool full, or the checks behind.
    pub async fn admit(&self, txs: Vec<Transaction>) -> Vec<Result<B256, MempoolError>> {
        self.admit_declared(
            txs.into_iter()
                .map(|tx| (tx, Declared::default()))
                .collect(),
        )
        .await
    }

    /// [`Mempool::admit`] for transactions with what their client declared about them
    /// ([`Declared`]): one whose declaration its signature does not bear out is refused.
    pub async fn admit_declared(
        &self,
        txs: Vec<(Transaction, Declared)>,
    ) -> Vec<Result<B256, MempoolError>> {
        let reserved = match self.overloaded() {
            Some(e) => Err(e),
            None => self
                .checkers()
                .reserve(txs.len())
                .map_err(|queued| MempoolError::ChecksBehind { queued }),
        };
        let reservation = match reserved {
            Ok(reservation) => reservation,
            Err(e) => return self.refuse(txs.len(), &e),
        };
        let pool = self.clone();
        let results = self
            .checkers()
            .run(move || {
                let _reservation = reservation;
                pool.submit_declared(txs, Origin::Local)
            })
            .await;
        results.unwrap_or_default()
    }

    /// Admits a client's bundle: refused whole, with the first offending transaction's index
    /// and error, unless every transaction passes the checks a single one does (size,
    /// admission, signature, a nonce the chain has not used and at most `max_nonce_gap` past
    /// the sender's pending ones, none already pending alone nor its nonce taken by a pending
    /// transaction) and the bundle pool takes it (see
    /// [`BundlePool::insert`]). `replacement` is its `replacementUuid`; `declared` holds what
    /// the client declared about each transaction, in order (missing ones declare nothing).
    /// The signature work runs on the checking threads.
    pub async fn admit_bundle(
        &self,
        bundle: Bundle,
        replacement: Option<String>,
        declared: Vec<Declared>,
    ) -> Result<B256, (Option<usize>, MempoolError)> {
        if let Some(e) = self.overloaded() {
            self.inner.metrics.record(Some(&e), Origin::Local);
            return Err((None, e));
        }
        let reservation = self
            .checkers()
            .reserve(bundle.txs().len())
            .map_err(|queued| (None, MempoolError::ChecksBehind { queued }))?;
        let pool = self.clone();
        self.checkers()
            .run(move || {
                let _reservation = reservation;
                pool.insert_declared_bundle(bundle, replacement, &declared, Origin::Local)
            })
            .await
            .unwrap_or(Err((None, MempoolError::ChecksBehind { queued: 0 })))
    }

    /// Admits a bundle: [`Self::admit_bundle`]'s checks, run on the calling thread (which
    /// recovers every sender not already verified). A local bundle is queued for gossip.
    pub fn insert_bundle(
        &self,
        bundle: Bundle,
        replacement: Option<String>,
        origin: Origin,
    ) -> Result<B256, (Option<usize>, MempoolError)> {
        self.insert_declared_bundle(bundle, replacement, &[], origin)
    }

    /// [`Self::insert_bundle`] with what the client declared about each transaction.
    fn insert_declared_bundle(
        &self,
        bundle: Bundle,
        replacement: Option<String>,
        declared: &[Declared],
        origin: Origin,
    ) -> Result<B256, (Option<usize>, MempoolError)> {
        let result = self.try_insert_bundle(bundle, replacement, declared, origin);
        self.inner
            .metrics
            .record_bundle(result.as_ref().err().map(|(_, e)| e), origin);
        result
    }

    fn try_insert_bundle(
        &self,
        bundle: Bundle,
        replacement: Option<String>,
        declared: &[Declared],
        origin: Origin,
    ) -> Result<B256, (Option<usize>, MempoolError)> {
        let inner = &self.inner;
        // What needs no signature work first, for every part; then the declared keys together.
        for (i, tx) in bundle.txs().iter().enumerate() {
            self.check_unsigned(tx).map_err(|e| (Some(i), e))?;
        }
        let declared: Vec<Declared> = (0..bundle.txs().len())
            .map(|i| declared.get(i).copied().unwrap_or_default())
            .collect();
        self.verify_declared_keys(bundle.txs().iter().zip(&declared));
        let mut senders = Vec::with_capacity(bundle.txs().len());
        for (i, (tx, declared)) in bundle.txs().iter().zip(&declared).enumerate() {
            let sender = self
                .declared_sender(tx, *declared)
                .map_err(|e| (Some(i), e))?;
            senders.push(sender);
        }
        let pool = lock(&inner.pool);
        for (i, (tx, sender)) in bundle.txs().iter().zip(&senders).enumerate() {
            let key = (*sender, tx.namespace());
            let next = pool
                .chain_next(&key)
                .unwrap_or_else(|| inner.nonces.next_nonce(sender, tx.namespace()));
            let frontier = pool.next_nonce(&key).unwrap_or(next);
            let refusal = if tx.nonce() < next {
                Some(MempoolError::NonceTooLow {
                    nonce: tx.nonce(),
                    next,
                })
            } else if tx.nonce().saturating_sub(frontier) > inner.config.max_nonce_gap {
                Some(MempoolError::NonceGapTooLarge {
                    nonce: tx.nonce(),
                    next: frontier,
                    max_gap: inner.config.max_nonce_gap,
                })
            } else if !matches!(
                pool.status(&tx.hash()),
                PoolStatus::Unknown | PoolStatus::Dropped { .. }
            ) {
                Some(MempoolError::AlreadyKnown)
            } else if pool.uses_nonce(&key, tx.nonce()) {
                Some(MempoolError::NonceTaken { nonce: tx.nonce() })
            } else {
                None
            };
            if let Some(e) = refusal {
                return Err((Some(i), e));
            }
        }
        let pending = PendingBundle {
            bundle: Arc::new(bundle),
            senders,
            replacement,
        };
        let hash = pending.bundle.hash();
        let kept = pending.clone();
        let replaced = lock(&inner.bundles).insert(pending, inner.config.max_bundles)?;
        drop(pool);
        if let Some(journal) = &inner.journal {
            let mut journal = lock(journal);
            let written = journal
                .append_bundle(&kept)
                .and_then(|()| journal.remove_bundles(replaced.as_slice()));
            if let Err(e) = written {
                // Not durable: not accepted.
                drop(journal);
                lock(&inner.bundles).forget(&hash);
                return Err((None, MempoolError::Journal(e.to_string())));
            }
        }
        if origin == Origin::Local {
            lock(&inner.bundle_outbox).push(kept);
        }
        Ok(hash)
    }

    /// Why client submissions are refused now whatever they hold, before any work is spent on
    /// them: the node is busy, the pool full, or the signature checks behind.
    pub fn overloaded(&self) -> Option<MempoolError> {
        self.busy()
            .or_else(|| self.is_full().then_some(MempoolError::Full))
            .or_else(|| {
                let queued = self.checkers().behind()?;
                Some(MempoolError::ChecksBehind { queued })
            })
    }

    /// [`Mempool::overloaded`] for a client request refused whole before it is read: the
    /// refusal is counted once, whatever the request held.
    pub fn refuse_unread(&self) -> Option<MempoolError> {
        let e = self.overloaded()?;
        self.inner.metrics.record(Some(&e), Origin::Local);
        Some(e)
    }

    /// The checking threads.
    pub(crate) fn checkers(&self) -> &Checkers {
        self.inner.checkers.get_or_init(|| {
            let config = &self.inner.config;
            let threads = match config.check_threads {
                0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
                n => n,
            };
            Checkers::start(threads, config.max_unchecked)
        })
    }

    /// Refuses `count` client transactions with `e`, counting the refusals.
    fn refuse(&self, count: usize, e: &MempoolError) -> Vec<Result<B256, MempoolError>> {
        for _ in 0..count {
            self.inner.metrics.record(Some(e), Origin::Local);
        }
        vec![Err(e.clone()); count]
    }

    /// Admits a batch of transactions; one result per transaction, in order. Accepted ones are
    /// journaled before this returns.
    pub fn submit(&self, txs: Vec<Transaction>, origin: Origin) -> Vec<Result<B256, MempoolError>> {
        let txs = txs
            .into_iter()
            .map(|tx| (tx, Declared::default()))
            .collect();
        self.submit_declared(txs, origin)
    }

    /// [`Mempool::submit`] for transactions with what their client declared about them
    /// ([`Declared`]).
    pub fn submit_declared(
        &self,
        txs: Vec<(Transaction, Declared)>,
        origin: Origin,
    ) -> Vec<Result<B256, MempoolError>> {
        let inner = &self.inner;
        let mut results: Vec<Result<B256, MempoolError>> = Vec::with_capacity(txs.len());
        let mut checked = Vec::with_capacity(txs.len());
        let busy = match origin {
            Origin::Local => self.busy(),
            Origin::Gossip => None,
        };
        // What needs no signature work first, then the keys declared for what passed, together.
        let verdicts: Vec<Result<(), MempoolError>> = txs
            .iter()
            .map(|(tx, _)| self.precheck(tx, busy.as_ref()))
            .collect();
        self.verify_declared_keys(
            txs.iter()
                .zip(&verdicts)
                .filter(|(_, verdict)| verdict.is_ok())
                .map(|((tx, declared), _)| (tx, declared)),
        );
        for (i, ((tx, declared), verdict)) in txs.into_iter().zip(verdicts).enumerate() {
            match verdict.and_then(|()| self.declared_sender(&tx, declared)) {
                Ok(sender) => {
                    results.push(Ok(tx.hash()));
                    checked.push((i, tx, sender));
                }
                Err(e) => results.push(Err(e)),
            }
        }

        let mut accepted = Vec::with_capacity(checked.len());
        let mut evicted = Vec::new();
        {
            let nonces = &inner.nonces;
            let mut pool = lock(&inner.pool);
            let bundles = lock(&inner.bundles);
            for (i, tx, sender) in checked {
                let namespace = tx.namespace();
                if bundles.bundle_of(&tx.hash()).is_some() {
                    results[i] = Err(MempoolError::AlreadyKnown);
                    continue;
                }
                if bundles.uses_nonce(sender, namespace, tx.nonce()) {
                    results[i] = Err(MempoolError::NonceTaken { nonce: tx.nonce() });
                    continue;
                }
                let entry = (tx.clone(), sender);
                match pool.insert(&inner.config, tx, sender, || {
                    nonces.next_nonce(&sender, namespace)
                }) {
                    Ok(gone) => {
                        evicted.extend(gone);
                        accepted.push((i, entry));
                    }
                    Err(e) => results[i] = Err(e),
                }
            }
        }

        if let Some(journal) = &inner.journal {
            let entries: Vec<(Transaction, Address)> =
                accepted.iter().map(|(_, e)| e.clone()).collect();
            let mut journal = lock(journal);
            let written = journal
                .append(&entries)
                .and_then(|()| journal.remove(&evicted));
            if let Err(e) = written {
                // Not durable: not accepted.
                drop(journal);
                let hashes: Vec<_> = entries.iter().map(|(tx, _)| tx.hash()).collect();
                lock(&inner.pool).forget(&hashes);
                for (i, _) in &accepted {
                    results[*i] = Err(MempoolError::Journal(e.to_string()));
                }
                accepted.clear();
            }
        }
        if origin == Origin::Local && !accepted.is_empty() {
            lock(&inner.outbox).extend(accepted.into_iter().map(|(_, (tx, _))| tx));
        }
        for result in &results {
            inner.metrics.record(result.as_ref().err(), origin);
        }
        results
    }

    /// How many transactions are ready for a block (parked ones are not), counting every
    /// transaction of the pending bundles.
    pub fn ready(&self) -> usize {
        let pool = lock(&self.inner.pool);
        pool.ready() + lock(&self.inner.bundles).tx_count()
    }

    /// [`MempoolError::Busy`] if at least `busy_at` transactions, or `busy_at_bytes` payload
    /// bytes, are ready for a block, pending bundles' included: client submissions are then
    /// refused before any signature work. Parked transactions do not count: they wait on their
    /// senders, not on the network.
    pub fn busy(&self) -> Option<MempoolError> {
        let ready = self.ready();
        let bytes =
            lock(&self.inner.pool).ready_bytes() + lock(&self.inner.bundles).payload_bytes();
        let config = &self.inner.config;
        (ready >= config.busy_at || bytes >= config.busy_at_bytes)
            .then_some(MempoolError::Busy { ready, bytes })
    }

    /// The checks of a client's or a peer's transaction that need no signature work: `busy`
    /// (a client's, under overload), a full pool, the payload's size, the admission rules.
    fn precheck(&self, tx: &Transaction, busy: Option<&MempoolError>) -> Result<(), MempoolError> {
        if let Some(e) = busy {
            Err(e.clone())
        } else if self.is_full() {
            // Refused whatever it is: do not spend a signature check on it.
            Err(MempoolError::Full)
        } else {
            self.check_unsigned(tx)
        }
    }

    /// What a transaction must pass before its signature is checked, alone or in a bundle: its
    /// payload's size and the admission rules.
    fn check_unsigned(&self, tx: &Transaction) -> Result<(), MempoolError> {
        let inner = &self.inner;
        let size = tx.payload().len();
        if size > inner.config.max_payload_bytes {
            return Err(MempoolError::PayloadTooLarge {
                size,
                max: inner.config.max_payload_bytes,
            });
        }
        inner.admission.check(tx).map_err(MempoolError::from)
    }

    /// Whether the pool is at a limit with nothing it may evict (every submission would be
    /// refused with [`MempoolError::Full`]).
    pub fn is_full(&self) -> bool {
        lock(&self.inner.pool).is_full(&self.inner.config)
    }

    /// The sender of `tx`: from the cache of verified signatures, or recovered (once) and
    /// remembered.
    pub fn sender(&self, tx: &Transaction) -> Result<Address, ordo_types::Error> {
        self.signer(tx).map(|s| s.address)
    }

    /// The sender of `tx`, if it is what its client declared ([`Declared`]). A chain id other
    /// than this network's is refused without signature work unless `from` is declared too;
    /// then the signature is recovered under that chain id (not remembered: the cache holds
    /// senders under this network's) to tell a signature for another chain
    /// ([`MempoolError::WrongChain`]) from a wrong one ([`MempoolError::WrongSender`]).
    fn declared_sender(
        &self,
        tx: &Transaction,
        declared: Declared,
    ) -> Result<Address, MempoolError> {
        let chain = self.inner.admission.chain_id();
        if let Some(signed) = declared.chain_id.filter(|c| *c != chain) {
            if declared.names_sender() {
                self.inner.metrics.recovered(1);
                let recovered = tx
                    .recover_sender(signed)
                    .map_err(MempoolError::BadSignature)?;
                if let Some(e) = declared.refusal(recovered, signed, |k| k.address() == recovered) {
                    return Err(e);
                }
            }
            return Err(MempoolError::WrongChain { signed, chain });
        }
        let signer = self.signer(tx).map_err(MempoolError::BadSignature)?;
        match declared.refusal(signer.address, chain, |k| *k == signer.key) {
            Some(e) => Err(e),
            None => Ok(signer.address),
        }
    }

    /// Checks the public keys a client declared for `txs` in one batch, so that admitting them
    /// finds their senders verified. A false key (or one signed for another chain) fails the
    /// batch and nothing is remembered: each sender is then recovered alone, and a false key
    /// refused, as without the batch. A lone key is left to that path, which costs the same.
    fn verify_declared_keys<'a>(&self, txs: impl Iterator<Item = (&'a Transaction, &'a Declared)>) {
        let chain = self.inner.admission.chain_id();
        let claims: Vec<(Transaction, PublicKey)> = txs
            .filter(|(_, d)| d.chain_id.is_none_or(|c| c == chain))
            .filter_map(|(tx, d)| Some((tx.clone(), d.public_key?)))
            .collect();
        if claims.len() > 1 {
            self.verify_claimed_senders(&claims);
        }
    }

    fn signer(&self, tx: &Transaction) -> Result<Signer, ordo_types::Error> {
        let hash = tx.hash();
        let (cell, mine) = {
            let mut verified = lock(&self.inner.verified);
            match verified.get(&hash) {
                Some(cell) => (Arc::clone(cell), false),
                None => {
                    let cell = Arc::new(OnceLock::new());
                    verified.insert(hash, Arc::clone(&cell));
                    (cell, true)
                }
            }
        };
        if mine {
            let result = tx
                .recover_signer(self.inner.admission.chain_id())
                .map(|key| Signer {
                    address: key.address(),
                    key,
                });
            self.inner.metrics.recovered(1);
            // Only this caller sets the cell.
            let _ = cell.set(result);
        }
        cell.wait().clone()
    }

    /// Checks in one batch that each transaction's signature recovers to the public key sent
    /// with it ([`verify_batch`]), and remembers the senders not known yet, so that admitting
    /// them costs no recovery. Transactions whose signature cannot even be parsed are left for
    /// admission to refuse. Returns false if some key was false: nothing is remembered then,
    /// and admission recovers each sender on its own.
    pub fn verify_claimed_senders(&self, claimed: &[(Transaction, PublicKey)]) -> bool {
        // A sender this node already knows needs no signature work, but the claim must still
        // name it: a true transaction with a false key would otherwise pass here and be
        // forwarded to nodes that do not know the sender yet.
        let mut unknown: Vec<(B256, &Transaction, &PublicKey)> = Vec::with_capacity(claimed.len());
        {
            let verified = lock(&self.inner.verified);
            for (tx, key) in claimed {
                let hash = tx.hash();
                match verified.get(&hash).and_then(|cell| cell.get()) {
                    Some(Ok(signer)) if signer.key == *key => {}
                    Some(_) => return false,
                    None => unknown.push((hash, tx, key)),
                }
            }
        }
        let unknown: Vec<(B256, B256, ordo_types::Signature, &PublicKey)> = unknown
            .into_iter()
            .filter_map(|(hash, tx, key)| {
                let (digest, signature) = tx.signed_digest(self.inner.admission.chain_id()).ok()?;
                Some((hash, digest, signature, key))
            })
            .collect();
        let claims: Vec<Claim<'_>> = unknown
            .iter()
            .map(|(_, digest, signature, key)| Claim {
                digest,
                signature,
                key,
            })
            .collect();
        if !verify_batch(&claims) {
            return false;
        }
        self.inner.metrics.batch_verified(claims.len() as u64);
        let mut verified = lock(&self.inner.verified);
        for (hash, _, _, key) in unknown {
            if !verified.contains(&hash) {
                let signer = Signer {
                    address: key.address(),
                    key: *key,
                };
                verified.insert(hash, Arc::new(OnceLock::from(Ok(signer))));
            }
        }
        true
    }

    /// Candidates for a block under the byte (encoded entries) and count limits, in the order
    /// a proposer should try them: pending bundles, oldest first, in up to half of the block
    /// when single transactions are ready (all of it otherwise); then ready transactions with
    /// each namespace's weighted share, the bundles' transactions counted against their
    /// namespaces' shares; then the other bundles, which the chain core packs as far as they
    /// fit. Neither lane starves the other for more than a block.
    pub fn select(&self, max_bytes: usize, max_count: usize) -> Vec<Candidate> {
        let weights = &self.inner.weights;
        let pool = lock(&self.inner.pool);
        let bundles: Vec<Arc<Bundle>> = lock(&self.inner.bundles)
            .all()
            .map(|b| b.bundle.clone())
            .collect();
        let share = if pool.ready() > 0 { 2 } else { 1 };
        let (bundle_bytes, bundle_count) = (max_bytes / share, max_count / share);
        let (mut bytes, mut count) = (0usize, 0usize);
        let mut charged: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
        let mut first = Vec::new();
        let mut rest = Vec::new();
        for bundle in bundles {
            let size = bundle.encoded_len();
            let n = bundle.txs().len();
            if bytes + size <= bundle_bytes && count + n <= bundle_count {
                bytes += size;
                count += n;
                for tx in bundle.txs() {
                    let used = charged.entry(tx.namespace()).or_default();
                    *used = (used.0 + 1 + tx.encoded_len(), used.1 + 1);
                }
                first.push(Candidate::Bundle(bundle));
            } else {
                rest.push(Candidate::Bundle(bundle));
            }
        }
        let singles = pool.select(
            max_bytes.saturating_sub(bytes),
            max_count.saturating_sub(count),
            |ns| weights.get(&ns).copied().unwrap_or(1),
            &charged,
        );
        first.extend(singles.into_iter().map(Candidate::Tx));
        first.extend(rest);
        first
    }

    /// Applies a decided block and the nonces it moved ([`ordo_chain::Applied`]): drops what
    /// it included and what the moved nonces made stale.
    pub fn on_decided(&self, block: &Block, nonces: &[NonceUpdate]) {
        let included: Vec<B256> = block
            .body
            .entries()
            .filter_map(|(_, e)| match e {
                Entry::Signed(tx) => Some(tx.hash()),
                Entry::Forced(_) => None,
            })
            .collect();
        let (gone, live_bytes) = {
            let mut pool = lock(&self.inner.pool);
            let mut gone = pool.on_decided(&included, nonces);
            // A new epoch's key took over: what was sealed to the old one can no longer be
            // included (docs/ENCRYPTION.md, "A key per epoch, under elections").
            let admission = &self.inner.admission;
            let next = block.header.height + 1;
            if let Some(schedule) = admission.keygen() {
                if schedule.epoch(next) != schedule.epoch(block.header.height) {
                    gone.extend(pool.drop_stale(
                        |tx| tx.sealed().is_some() && admission.check_at(tx, next).is_err(),
                        "sealed to the previous epoch's encryption key; seal it again to the current one",
                    ));
                }
            }
            (gone, pool.bytes() as u64)
        };
        let moved: HashMap<(Address, u64), u64> = nonces
            .iter()
            .map(|u| ((u.sender, u.namespace), u.next))
            .collect();
        let decided = &self.inner.nonces;
        let gone_bundles = lock(&self.inner.bundles).on_decided(block, |sender, ns| {
            moved
                .get(&(*sender, ns))
                .copied()
                .unwrap_or_else(|| decided.next_nonce(sender, ns))
        });
        // Included transactions stay in the verified cache: a late gossip copy of one is then
        // refused (its nonce is used) without checking its signature again.
        self.inner.metrics.block_fill(block.header.tx_count);
        if let Some(journal) = &self.inner.journal {
            let mut journal = lock(journal);
            let compact = journal.wants_compaction(live_bytes);
            let result = if compact {
                let live: Vec<(Transaction, Address)> = lock(&self.inner.pool)
                    .all()
                    .into_iter()
                    .map(|p| (p.tx.clone(), p.sender))
                    .collect();
                let bundles: Vec<PendingBundle> =
                    lock(&self.inner.bundles).all().cloned().collect();
                journal.compact(&live, &bundles)
            } else {
                journal
                    .remove(&gone)
                    .and_then(|()| journal.remove_bundles(&gone_bundles))
            };
            if let Err(e) = result {
                tracing::error!(target: "ordo::mempool", error = %e, "journal write failed");
            }
        }
    }

    /// What the pool knows of a bundle.
    pub fn bundle_status(&self, hash: &B256) -> BundleStatus {
        lock(&self.inner.bundles).status(hash)
    }

    /// Pending bundles.
    pub fn bundle_count(&self) -> usize {
        lock(&self.inner.bundles).len()
    }

    /// What the pool knows of a transaction.
    pub fn status(&self, hash: &B256) -> PoolStatus {
        lock(&self.inner.pool).status(hash)
    }

    /// The next nonce `sender` should use in `namespace`, counting its pending transactions.
    pub fn next_nonce(&self, sender: &Address, namespace: u64) -> u64 {
        let pending = lock(&self.inner.pool).next_nonce(&(*sender, namespace));
        pending.unwrap_or_else(|| self.inner.nonces.next_nonce(sender, namespace))
    }

    /// Counts and bytes of pending transactions per namespace.
    pub fn summary(&self) -> BTreeMap<u64, NamespaceSummary> {
        lock(&self.inner.pool).summary()
    }

    /// Number of transactions held (pending and parked).
    pub fn len(&self) -> usize {
        lock(&self.inner.pool).len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Payload bytes held.
    pub fn bytes(&self) -> usize {
        lock(&self.inner.pool).bytes()
    }

    /// Transactions admitted locally since the last call, to gossip, with their senders' keys.
    /// Blocking: a key no longer cached is recovered again.
    pub fn take_outbox(&self) -> Vec<(Transaction, PublicKey)> {
        let txs = std::mem::take(&mut *lock(&self.inner.outbox));
        self.with_keys(txs)
    }

    /// Bundles admitted from clients since the last call, to gossip.
    pub fn take_bundle_outbox(&self) -> Vec<PendingBundle> {
        std::mem::take(&mut *lock(&self.inner.bundle_outbox))
    }

    /// The `max` oldest pending bundles, to gossip again.
    pub fn bundles_for_regossip(&self, max: usize) -> Vec<PendingBundle> {
        lock(&self.inner.bundles).all().take(max).cloned().collect()
    }

    /// The `max` oldest pending transactions with their senders' keys, to gossip again (a peer
    /// may have been down when they were first sent). Blocking, as [`Self::take_outbox`].
    pub fn pending_for_regossip(&self, max: usize) -> Vec<(Transaction, PublicKey)> {
        let txs = lock(&self.inner.pool)
            .all()
            .into_iter()
            .take(max)
            .map(|p| p.tx.clone())
            .collect();
        self.with_keys(txs)
    }

    /// The sender's key of `tx` if this node verified it already (no signature work).
    pub fn verified_key(&self, tx: &Transaction) -> Option<PublicKey> {
        let cell = lock(&self.inner.verified).get(&tx.hash()).cloned()?;
        let key = cell.get()?.as_ref().ok()?.key;
        Some(key)
    }

    fn with_keys(&self, txs: Vec<Transaction>) -> Vec<(Transaction, PublicKey)> {
        txs.into_iter()
            .filter_map(|tx| {
                let key = self.signer(&tx).ok()?.key;
                Some((tx, key))
            })
            .collect()
    }
}

impl Senders for Mempool {
    fn sender(&self, tx: &Transaction) -> Option<Address> {
        Mempool::sender(self, tx).ok()
    }
}

impl KnownBundles for Mempool {
    fn bundle_of(&self, hash: &B256) -> Option<B256> {
        lock(&self.inner.bundles).bundle_of(hash)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ordo_types::{Bytes, SecretKey};

    /// An in-memory pool for chain 7 and the raw rollups `namespaces`.
    fn pool_with(config: MempoolConfig, namespaces: impl IntoIterator<Item = u64>) -> Mempool {
        let admission = Admission::new(7, ordo_rollup_adapters::Rollups::raw(namespaces));
        Mempool::in_memory(
            admission,
            config,
            Arc::new(ordo_chain::NonceTable::default()),
        )
    }

    /// Each result's refusal code, `None` where it was admitted.
    pub(crate) fn codes<T>(results: &[Result<T, MempoolError>]) -> Vec<Option<ErrorCode>> {
        results
            .iter()
            .map(|r| r.as_ref().err().map(MempoolError::code))
            .collect()
    }

    #[test]
    fn a_false_key_claimed_for_a_sender_already_known_fails_the_check() {
        let pool = pool_with(MempoolConfig::default(), [1]);
        let key = SecretKey::random();
        let tx = Transaction::sign(1, 0, Bytes::from_static(b"x"), &key, 7);
        let other = SecretKey::random().public_key();
        assert!(!pool.verify_claimed_senders(&[(tx.clone(), other)]));
        // Once this node knows the sender (admitted here), a false claim still fails, with no
        // signature work: a relay must not pass it on to nodes that do not know the sender.
        assert!(pool.submit(vec![tx.clone()], Origin::Local)[0].is_ok());
        let batches = pool.metrics().signatures_batch_verified();
        assert!(!pool.verify_claimed_senders(&[(tx.clone(), other)]));
        assert!(pool.verify_claimed_senders(&[(tx, key.public_key())]));
        assert_eq!(pool.metrics().signatures_batch_verified(), batches);
    }

    /// Public keys a client declares for a request's transactions are checked in one batch:
    /// with true keys no sender is recovered. One false key fails the batch; every sender is
    /// then recovered alone, the false one refused as `BAD_SIGNATURE`, the others admitted.
    #[tokio::test]
    async fn declared_public_keys_are_checked_together_and_a_false_one_is_refused_alone() {
        let pool = pool_with(MempoolConfig::default(), [1]);
        let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::random()).collect();
        let signed = |nonce: u64, key: &SecretKey, claimed: &SecretKey| {
            let tx = Transaction::sign(1, nonce, Bytes::from(vec![nonce as u8; 3]), key, 7);
            let declared = Declared {
                public_key: Some(claimed.public_key()),
                ..Declared::default()
            };
            (tx, declared)
        };
        let honest: Vec<_> = keys.iter().map(|k| signed(0, k, k)).collect();
        let admitted = pool.admit_declared(honest).await;
        assert!(admitted.iter().all(Result::is_ok), "{admitted:?}");
        assert_eq!(pool.metrics().signatures_recovered(), 0);
        assert_eq!(pool.metrics().signatures_batch_verified(), 4);
        for k in &keys {
            assert_eq!(pool.next_nonce(&k.address(), 1), 1);
        }

        // The second transaction claims the first sender's key.
        let mut lying: Vec<_> = keys.iter().map(|k| signed(1, k, k)).collect();
        lying[1].1.public_key = Some(keys[0].public_key());
        let results = pool.admit_declared(lying).await;
        assert_eq!(
            codes(&results),
            [None, Some(ErrorCode::BadSignature), None, None]
        );
        let refusal = results[1].as_ref().unwrap_err().to_string();
        assert!(
            refusal.contains(&keys[1].address().to_string()),
            "{refusal}"
        );
        assert_eq!(pool.metrics().signatures_recovered(), 4);
        assert_eq!(pool.metrics().signatures_batch_verified(), 4);
        assert_eq!(pool.next_nonce(&keys[1].address(), 1), 1);
        assert_eq!(pool.len(), 7);

        // Already known, its sender's key is still compared: a false one is refused.
        let known = signed(0, &keys[2], &keys[3]);
        let results = pool.admit_declared(vec![known]).await;
        assert_eq!(
            results[0].as_ref().map_err(MempoolError::code),
            Err(ErrorCode::BadSignature)
        );

        // Signed for chain 8 and said so: with its signer's key, WRONG_CHAIN; with another
        // key, BAD_SIGNATURE (its signer under chain 8 is not that key's). Neither is batched.
        let foreign = Transaction::sign(1, 5, Bytes::from_static(b"f"), &keys[0], 8);
        let on_chain_8 = |claimed: &SecretKey| Declared {
            chain_id: Some(8),
            public_key: Some(claimed.public_key()),
            ..Declared::default()
        };
        let results = pool
            .admit_declared(vec![
                (foreign.clone(), on_chain_8(&keys[0])),
                (foreign, on_chain_8(&keys[1])),
            ])
            .await;
        assert_eq!(
            codes(&results),
            [Some(ErrorCode::WrongChain), Some(ErrorCode::BadSignature)]
        );
        let refusal = results[1].as_ref().unwrap_err().to_string();
        assert!(refusal.contains("public_key"), "{refusal}");
        assert_eq!(pool.metrics().signatures_recovered(), 6);
        assert_eq!(pool.metrics().signatures_batch_verified(), 4);

        // A bundle's declared keys are checked together too.
        let senders: Vec<SecretKey> = (0..3).map(|_| SecretKey::random()).collect();
        let parts: Vec<_> = senders.iter().map(|k| signed(0, k, k)).collect();
        let terms = ordo_types::BundleTerms {
            max_height: 10,
            ..Default::default()
        };
        let txs = parts.iter().map(|(tx, _)| tx.clone()).collect();
        let declared = parts.iter().map(|(_, d)| *d).collect();
        let bundle = Bundle::new(terms, txs).unwrap();
        assert!(pool.admit_bundle(bundle, None, declared).await.is_ok());
        assert_eq!(pool.metrics().signatures_recovered(), 6);
        assert_eq!(pool.metrics().signatures_batch_verified(), 7);
    }

    #[test]
    fn a_busy_pool_refuses_client_submissions_before_any_signature_work_but_not_gossip() {
        let config = MempoolConfig {
            busy_at: 2,
            ..MempoolConfig::default()
        };
        let pool = pool_with(config, [1]);
        let key = SecretKey::random();
        let txs: Vec<Transaction> = (0..3)
            .map(|n| Transaction::sign(1, n, Bytes::from_static(b"x"), &key, 7))
            .collect();
        assert!(pool
            .submit(txs[..2].to_vec(), Origin::Local)
            .iter()
            .all(Result::is_ok));
        let recovered = pool.metrics().signatures_recovered();
        let refused = pool.submit(vec![txs[2].clone()], Origin::Local);
        assert_eq!(refused, [Err(MempoolError::Busy { ready: 2, bytes: 2 })]);
        assert_eq!(refused[0].as_ref().unwrap_err().code(), ErrorCode::Busy);
        assert_eq!(pool.metrics().signatures_recovered(), recovered);
        // The same transaction from another node is admitted: it is already in the network.
        assert!(pool.submit(vec![txs[2].clone()], Origin::Gossip)[0].is_ok());
        assert_eq!(pool.len(), 3);
    }

    #[test]
    fn a_pool_holding_busy_at_bytes_ready_is_busy_and_parked_bytes_do_not_count() {
        let config = MempoolConfig {
            busy_at_bytes: 10_000,
            ..MempoolConfig::default()
        };
        let pool = pool_with(config, [1]);
        let key = SecretKey::random();
        let tx = |nonce: u64| Transaction::sign(1, nonce, Bytes::from(vec![7u8; 4_000]), &key, 7);
        // Nonces 1 and 2 wait for 0: parked, 8,000 bytes that do not make the node busy.
        assert!(pool
            .submit(vec![tx(1), tx(2)], Origin::Local)
            .iter()
            .all(Result::is_ok));
        assert_eq!(pool.busy(), None);
        // Nonce 0 makes all three ready: 12,000 bytes, three transactions.
        assert!(pool.submit(vec![tx(0)], Origin::Local)[0].is_ok());
        assert_eq!(
            pool.busy(),
            Some(MempoolError::Busy {
                ready: 3,
                bytes: 12_000
            })
        );
        let recovered = pool.metrics().signatures_recovered();
        let refused = pool.submit(vec![tx(3)], Origin::Local);
        assert_eq!(refused[0].as_ref().unwrap_err().code(), ErrorCode::Busy);
        assert_eq!(pool.metrics().signatures_recovered(), recovered);
    }

    #[test]
    fn pending_bundles_count_toward_busy_at_bytes() {
        let config = MempoolConfig {
            busy_at_bytes: 10_000,
            ..MempoolConfig::default()
        };
        let pool = pool_with(config, [1, 2]);
        let key = SecretKey::random();
        let part =
            |namespace| Transaction::sign(namespace, 0, Bytes::from(vec![7u8; 6_000]), &key, 7);
        let bundle = Bundle::new(
            ordo_types::BundleTerms {
                max_height: 10,
                ..Default::default()
            },
            vec![part(1), part(2)],
        )
        .unwrap();
        assert_eq!(pool.busy(), None);
        pool.insert_bundle(bundle, None, Origin::Local).unwrap();
        assert_eq!(
            pool.busy(),
            Some(MempoolError::Busy {
                ready: 2,
                bytes: 12_000
            })
        );
    }

    /// A declared sender or chain id that the signature does not bear out refuses the
    /// transaction (alone or as a bundle part) and keeps nothing of it.
    #[tokio::test]
    async fn a_declaration_the_signature_does_not_bear_out_is_refused_and_nothing_is_kept() {
        let pool = pool_with(MempoolConfig::default(), [1]);
        let (alice, bob) = (SecretKey::random(), SecretKey::random());
        let ours = Transaction::sign(1, 0, Bytes::from_static(b"x"), &alice, 7);
        let foreign = Transaction::sign(1, 0, Bytes::from_static(b"y"), &alice, 8);
        let from = |key: &SecretKey, chain_id: Option<u64>| Declared {
            from: Some(key.address()),
            chain_id,
            public_key: None,
        };
        let code = |r: &Result<B256, MempoolError>| r.as_ref().map_err(MempoolError::code).err();
        let refused = pool
            .admit_declared(vec![
                // Named as Bob's: it recovers to Alice.
                (ours.clone(), from(&bob, None)),
                (ours.clone(), from(&bob, Some(7))),
                // Signed for chain 8 and said so: Alice's there.
                (foreign.clone(), from(&alice, Some(8))),
                // ... without naming the sender: refused without signature work.
                (
                    foreign.clone(),
                    Declared {
                        chain_id: Some(8),
                        ..Declared::default()
                    },
                ),
                // Said to be for chain 9, Alice's: it is not Alice's under chain 9.
                (foreign.clone(), from(&alice, Some(9))),
                // Signed for chain 8 without saying so: a stranger under chain 7.
                (foreign.clone(), from(&alice, None)),
            ])
            .await;
        let codes: Vec<_> = refused.iter().map(code).collect();
        use ErrorCode::{BadSignature, WrongChain};
        assert_eq!(
            codes,
            [
                BadSignature,
                BadSignature,
                WrongChain,
                WrongChain,
                BadSignature,
                BadSignature
            ]
            .map(Some)
        );
        let hint = refused[5].as_ref().unwrap_err().to_string();
        assert!(hint.contains("name it in chain_id"), "{hint}");
        assert!(!refused[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("name it"));
        // Two recoveries under chain 7 (one per transaction, remembered) and two under the
        // chains the client named (not remembered).
        assert_eq!(pool.metrics().signatures_recovered(), 4);
        assert_eq!(pool.len(), 0);
        assert_eq!(pool.status(&ours.hash()), PoolStatus::Unknown);

        // A bundle with a part named as someone else's is refused whole, that part's index.
        let terms = ordo_types::BundleTerms {
            max_height: 10,
            ..Default::default()
        };
        let second = Transaction::sign(1, 1, Bytes::from_static(b"z"), &alice, 7);
        let bundle = Bundle::new(terms, vec![ours.clone(), second.clone()]).unwrap();
        let (index, e) = pool
            .admit_bundle(
                bundle.clone(),
                None,
                vec![from(&alice, None), from(&bob, None)],
            )
            .await
            .unwrap_err();
        assert_eq!((index, e.code()), (Some(1), BadSignature));
        assert_eq!(pool.bundle_status(&bundle.hash()), BundleStatus::Unknown);

        // Declarations that hold are admitted: Alice's, for chain 7 or without a chain id.
        let admitted = pool
            .admit_declared(vec![(ours.clone(), from(&alice, Some(7)))])
            .await;
        assert_eq!(admitted, [Ok(ours.hash())]);
        let hash = pool
            .admit_bundle(
                Bundle::new(
                    ordo_types::BundleTerms {
                        max_height: 10,
                        ..Default::default()
                    },
                    vec![second.clone()],
                )
                .unwrap(),
                None,
                vec![from(&alice, None)],
            )
            .await;
        assert!(hash.is_ok(), "{hash:?}");
    }

    #[tokio::test]
    async fn clients_are_refused_before_any_signature_work_while_the_checks_are_behind() {
        let config = MempoolConfig {
            max_unchecked: 4,
            ..MempoolConfig::default()
        };
        let pool = pool_with(config, [1]);
        let key = SecretKey::random();
        let txs: Vec<Transaction> = (0..3)
            .map(|n| Transaction::sign(1, n, Bytes::from_static(b"x"), &key, 7))
            .collect();
        // Admitted through the checking threads.
        let admitted = pool.admit(txs[..2].to_vec()).await;
        assert!(admitted.iter().all(Result::is_ok), "{admitted:?}");
        assert_eq!(pool.metrics().signatures_recovered(), 2);

        // Four client transactions still waiting for their checks: the next are refused.
        let waiting = pool.checkers().reserve(4).unwrap();
        assert_eq!(
            pool.overloaded(),
            Some(MempoolError::ChecksBehind { queued: 4 })
        );
        let refused = pool.admit(vec![txs[2].clone()]).await;
        assert_eq!(refused, [Err(MempoolError::ChecksBehind { queued: 4 })]);
        assert_eq!(refused[0].as_ref().unwrap_err().code(), ErrorCode::Busy);
        assert_eq!(pool.metrics().signatures_recovered(), 2);
        // Gossip is not refused: it already reached the network.
        assert!(pool.submit(vec![txs[2].clone()], Origin::Gossip)[0].is_ok());
        // Once the checks catch up, clients are taken again.
        drop(waiting);
        assert_eq!(pool.overloaded(), None);
    }
}
