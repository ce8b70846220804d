//! Mempool counters, rendered in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use ordo_types::ErrorCode;

use crate::{MempoolError, Origin};

/// One refusal counter per error code, in the order of [`ErrorCode::ALL`].
const CODES: usize = ErrorCode::ALL.len();

/// Counters of one node's mempool.
#[derive(Default, Debug)]
pub struct MempoolMetrics {
    admitted_local: AtomicU64,
    admitted_gossip: AtomicU64,
    bundles_local: AtomicU64,
    bundles_gossip: AtomicU64,
    bundles_refused: AtomicU64,
    refused: [AtomicU64; CODES],
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
                let slot = ErrorCode::ALL
                    .iter()
                    .position(|c| *c == e.code())
                    .and_then(|i| self.refused.get(i));
                slot.map_or(0, |c| c.fetch_add(1, Relaxed))
            }
        };
    }

    /// Counts a bundle admitted (by origin) or refused.
    pub(crate) fn record_bundle(&self, refusal: Option<&MempoolError>, origin: Origin) {
        match (refusal, origin) {
            (None, Origin::Local) => self.bundles_local.fetch_add(1, Relaxed),
            (None, Origin::Gossip) => self.bundles_gossip.fetch_add(1, Relaxed),
            (Some(_), _) => self.bundles_refused.fetch_add(1, Relaxed),
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
        metric(
            "ordo_mempool_bundles_total",
            "counter",
            "Bundles admitted, by origin, and refused.",
            &[
                (
                    "{outcome=\"admitted\",origin=\"local\"}",
                    get(&self.bundles_local),
                ),
                (
                    "{outcome=\"admitted\",origin=\"gossip\"}",
                    get(&self.bundles_gossip),
                ),
                ("{outcome=\"refused\"}", get(&self.bundles_refused)),
            ],
        );
        // Every code admission refuses with, from the start (so rates have a series to read),
        // and any other code a refusal carried.
        let refused: Vec<(String, u64)> = ErrorCode::ALL
            .iter()
            .zip(&self.refused)
            .map(|(code, c)| (code, get(c)))
            .filter(|(code, n)| code.is_admission_refusal() || *n > 0)
            .map(|(code, n)| (format!("{{code=\"{code}\"}}"), n))
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
            "Transaction signatures verified, by method: one sender recovery each, or checked in a batch against the public key a peer or a client sent.",
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use ordo_chain::{Admission, NonceTable};
    use ordo_rollup_adapters::{RegisteredRollup, Rollups};
    use ordo_types::{Bytes, SecretKey, Transaction};

    use super::*;
    use crate::{Mempool, MempoolConfig};

    /// An EIP-1559 transfer signed for chain 901 (the golden vector of `ordo-types`).
    const SIGNED_FOR_901: &str = "02f86c82038580843b9aca0084773594008252089400000000000000000000000000000000000000020180c001a020b201e03388439a07843d1bb4efe1f1215a6c4803998f95c59e80b6a7cfbd75a0301a583ea1d75038ea33ea351980dc86f3d753e7cde65ed799f2ae5e30fbba34";

    fn refused(text: &str, code: &str) -> Option<u64> {
        let prefix = format!("ordo_mempool_refused_transactions_total{{code=\"{code}\"}} ");
        let mut values = text.lines().filter_map(|l| l.strip_prefix(&prefix));
        let value = values.next().map(|v| v.parse().unwrap());
        assert_eq!(values.next(), None, "{code} rendered twice");
        value
    }

    #[test]
    fn every_refusal_is_counted_under_its_own_code() {
        let (raw_ns, evm_ns, other_evm_ns) = (1, 901, 902);
        let rollup = |namespace: u64, adapter: &str, chain_id: Option<u64>| RegisteredRollup {
            namespace,
            name: format!("r{namespace}"),
            adapter: adapter.into(),
            chain_id,
            encrypted: false,
        };
        let rollups = Rollups::new(&[
            rollup(raw_ns, "raw", None),
            rollup(evm_ns, "evm", Some(901)),
            rollup(other_evm_ns, "evm", Some(902)),
        ])
        .unwrap();
        let pool = Mempool::in_memory(
            Admission::new(7, rollups),
            MempoolConfig::default(),
            Arc::new(NonceTable::default()),
        );
        let signed = Bytes::from(hex::decode(SIGNED_FOR_901).unwrap());
        let ethereum = |ns| Transaction::ethereum(ns, signed.clone()).unwrap();
        let key = SecretKey::random();
        let results = pool.submit(
            vec![
                ethereum(raw_ns),
                ethereum(other_evm_ns),
                Transaction::sign(evm_ns, 0, Bytes::from_static(b"x"), &key, 7),
                Transaction::sign(5, 0, Bytes::from_static(b"x"), &key, 7),
                ethereum(evm_ns),
            ],
            Origin::Gossip,
        );
        assert_eq!(
            crate::tests::codes(&results),
            [
                Some(ErrorCode::WrongTxKind),
                Some(ErrorCode::WrongRollupChain),
                Some(ErrorCode::WrongTxKind),
                Some(ErrorCode::UnknownNamespace),
                None,
            ]
        );

        let mut text = String::new();
        pool.metrics().render(&mut text, pool.len(), pool.bytes());
        assert_eq!(refused(&text, "WRONG_TX_KIND"), Some(2), "{text}");
        assert_eq!(refused(&text, "WRONG_ROLLUP_CHAIN"), Some(1), "{text}");
        // An Ethereum-kind transaction whose payload is not one cannot be made
        // (`Transaction::ethereum` refuses it, and decoding goes through it), so the adapter's
        // `INVALID_PAYLOAD` is a second line that keeps its series at zero.
        assert!(Transaction::ethereum(evm_ns, Bytes::from_static(b"\x02\xc0")).is_err());
        assert_eq!(refused(&text, "INVALID_PAYLOAD"), Some(0), "{text}");
        assert_eq!(refused(&text, "UNKNOWN_NAMESPACE"), Some(1), "{text}");
        assert_eq!(refused(&text, "INTERNAL"), Some(0), "{text}");
        // Every admission code has its series from the start; codes the API answers around
        // the mempool have none.
        for code in ErrorCode::ALL {
            let rendered = refused(&text, code.as_str()).is_some();
            assert_eq!(rendered, code.is_admission_refusal(), "{code}");
        }
        assert!(text.contains("ordo_mempool_admitted_transactions_total{origin=\"gossip\"} 1"));
    }
}
