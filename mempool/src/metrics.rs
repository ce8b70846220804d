//! Mempool counters, rendered in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::{MempoolError, Origin};

const CODES: [&str; 10] = [
    "PAYLOAD_TOO_LARGE",
    "UNKNOWN_NAMESPACE",
    "BAD_SIGNATURE",
    "NONCE_TOO_LOW",
    "NONCE_GAP_TOO_LARGE",
    "ALREADY_KNOWN",
    "SENDER_LIMIT",
    "MEMPOOL_FULL",
    "BUSY",
    "INTERNAL",
];

/// Counters of one node's mempool.
#[derive(Default, Debug)]
pub struct MempoolMetrics {
    admitted_local: AtomicU64,
    admitted_gossip: AtomicU64,
    refused: [AtomicU64; CODES.len()],
    signatures_recovered: AtomicU64,
    signatures_batch_verified: AtomicU64,
    false_claim_batches: AtomicU64,
    gossip_batches_sent: AtomicU64,
    gossip_batches_received: AtomicU64,
    blocks: AtomicU64,
    block_transactions: AtomicU64,
    last_block_transactions: AtomicU64,
}

impl MempoolMetrics {
    pub(crate) fn record(&self, refusal: Option<&MempoolError>, origin: Origin) {
        match (refusal, origin) {
            (None, Origin::Local) => self.admitted_local.fetch_add(1, Relaxed),
            (None, Origin::Gossip) => self.admitted_gossip.fetch_add(1, Relaxed),
            (Some(e), _) => {
                let i = CODES
                    .iter()
                    .position(|c| *c == e.code().as_str())
                    .unwrap_or(CODES.len() - 1);
                self.refused[i].fetch_add(1, Relaxed)
            }
        };
    }

    pub(crate) fn recovered(&self, n: u64) {
        self.signatures_recovered.fetch_add(n, Relaxed);
    }

    pub(crate) fn batch_verified(&self, n: u64) {
        self.signatures_batch_verified.fetch_add(n, Relaxed);
    }

    /// Counts one gossip batch whose claimed sender keys were not all true.
    pub fn false_claims(&self) {
        self.false_claim_batches.fetch_add(1, Relaxed);
    }

    pub(crate) fn block_fill(&self, tx_count: u32) {
        self.blocks.fetch_add(1, Relaxed);
        self.block_transactions
            .fetch_add(u64::from(tx_count), Relaxed);
        self.last_block_transactions
            .store(u64::from(tx_count), Relaxed);
    }

    /// Counts one gossip batch sent.
    pub fn gossip_sent(&self) {
        self.gossip_batches_sent.fetch_add(1, Relaxed);
    }

    /// Counts one gossip batch received.
    pub fn gossip_received(&self) {
        self.gossip_batches_received.fetch_add(1, Relaxed);
    }

    /// Senders this node has recovered one by one so far.
    pub fn signatures_recovered(&self) -> u64 {
        self.signatures_recovered.load(Relaxed)
    }

    /// Gossip batches whose claimed sender keys were not all true so far.
    pub fn false_claim_batches(&self) -> u64 {
        self.false_claim_batches.load(Relaxed)
    }

    /// Signatures this node has checked in batches against the keys peers sent so far.
    pub fn signatures_batch_verified(&self) -> u64 {
        self.signatures_batch_verified.load(Relaxed)
    }

    /// Appends the counters in the Prometheus text format.
    pub fn render(&self, out: &mut String, pool_size: usize, pool_bytes: usize) {
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let get = |c: &AtomicU64| c.load(Relaxed);
        metric(
            "ordo_mempool_admitted_transactions_total",
            "counter",
            "Transactions admitted, by origin.",
            &[
                ("{origin=\"local\"}", get(&self.admitted_local)),
                ("{origin=\"gossip\"}", get(&self.admitted_gossip)),
            ],
        );
        let refused: Vec<(String, u64)> = CODES
            .iter()
            .zip(&self.refused)
            .map(|(code, c)| (format!("{{code=\"{code}\"}}"), get(c)))
            .collect();
        let refused: Vec<(&str, u64)> = refused.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        metric(
            "ordo_mempool_refused_transactions_total",
            "counter",
            "Transactions refused, by error code.",
            &refused,
        );
        metric(
            "ordo_mempool_transactions",
            "gauge",
            "Transactions held (pending and parked).",
            &[("", pool_size as u64)],
        );
        metric(
            "ordo_mempool_bytes",
            "gauge",
            "Payload bytes held.",
            &[("", pool_bytes as u64)],
        );
        metric(
            "ordo_mempool_signature_verifications_total",
            "counter",
            "Transaction signatures verified, by method: one sender recovery each, or checked in a batch against the public key a peer sent.",
            &[
                ("{method=\"recover\"}", get(&self.signatures_recovered)),
                ("{method=\"batch\"}", get(&self.signatures_batch_verified)),
            ],
        );
        metric(
            "ordo_mempool_gossip_false_claims_total",
            "counter",
            "Gossip batches whose claimed sender keys did not all verify (their senders were recovered one by one).",
            &[("", get(&self.false_claim_batches))],
        );
        metric(
            "ordo_mempool_gossip_batches_total",
            "counter",
            "Gossip batches, by direction.",
            &[
                ("{direction=\"sent\"}", get(&self.gossip_batches_sent)),
                (
                    "{direction=\"received\"}",
                    get(&self.gossip_batches_received),
                ),
            ],
        );
        metric(
            "ordo_blocks_decided_total",
            "counter",
            "Decided blocks applied to the mempool.",
            &[("", get(&self.blocks))],
        );
        metric(
            "ordo_block_transactions_total",
            "counter",
            "Transactions in decided blocks.",
            &[("", get(&self.block_transactions))],
        );
        metric(
            "ordo_block_last_transactions",
            "gauge",
            "Transactions in the latest decided block.",
            &[("", get(&self.last_block_transactions))],
        );
    }
}
