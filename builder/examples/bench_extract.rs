//! Per-rollup block extraction and verification rates, with 10 namespaces per block.
//!
//! `cargo run --release -p ordo-builder --example bench_extract`
//!
//! For blocks of 10, 100, 1000 and 5000 signed transactions (100-byte payloads) spread evenly
//! over 10 namespaces, certified by 4 validators, it measures:
//! - **split**: all 10 namespace slices of a block from one namespace table (what a node does
//!   when it serves every rollup);
//! - **extract**: one slice built from scratch (what one API request does);
//! - **json**: serializing one slice (the API's answer);
//! - **verify**: a client checking one slice from its JSON (decode, header hash, 4 precommit
//!   signatures, namespace proof).
//!
//! It prints a table and then one JSON line with the same figures.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use ordo_builder::{namespace_block, split};
use ordo_rollup_adapters::Verifier;
use ordo_types::{
    vote_digest, Block, Body, Bytes, CommitCertificate, CommitSignature, Entry, Header,
    NamespaceEntries, SecretKey, Transaction, Validator, ValidatorSet, VoteType, B256,
};

const CHAIN_ID: u64 = 1337;
const NAMESPACES: u64 = 10;

fn fixture(txs: usize) -> (Block, CommitCertificate, ValidatorSet) {
    let keys: Vec<SecretKey> = (1..=4u8)
        .map(|i| SecretKey::from_bytes(&[i; 32]).unwrap())
        .collect();
    let set = ValidatorSet::new(
        keys.iter()
            .map(|k| Validator::new(k.public_key(), 100))
            .collect(),
    )
    .unwrap();
    let user = SecretKey::from_bytes(&[9; 32]).unwrap();
    let mut groups: Vec<NamespaceEntries> = (0..NAMESPACES)
        .map(|ns| NamespaceEntries {
            namespace: 1000 + ns,
            entries: Vec::new(),
        })
        .collect();
    for i in 0..txs {
        let ns = i as u64 % NAMESPACES;
        let tx = Transaction::sign(
            1000 + ns,
            i as u64,
            Bytes::from(vec![i as u8; 100]),
            &user,
            CHAIN_ID,
        );
        groups[ns as usize].entries.push(Entry::Signed(tx));
    }
    let body = Body::from_entries(groups).unwrap();
    let header = Header {
        chain_id: CHAIN_ID,
        height: 1,
        epoch: 0,
        timestamp_ms: 1,
        parent_hash: B256::ZERO,
        proposer: keys[0].address(),
        namespace_root: body.namespace_root(),
        tx_count: body.tx_count().unwrap(),
        validators_hash: set.hash(),
        next_validators_hash: set.hash(),
        l1_origin_number: 0,
        l1_origin_hash: B256::ZERO,
        inbox_cursor: 0,
        bundle_root: body.bundle_root(),
        encryption_key_hash: B256::ZERO,
    };
    let hash = header.hash();
    let digest = vote_digest(CHAIN_ID, 1, 0, VoteType::Precommit, Some(hash));
    let mut signatures: Vec<CommitSignature> = keys
        .iter()
        .map(|k| CommitSignature {
            signer: k.address(),
            signature: k.sign_digest(&digest),
        })
        .collect();
    signatures.sort_by_key(|s| s.signer);
    let cert = CommitCertificate {
        height: 1,
        round: 0,
        block_hash: hash,
        signatures,
    };
    (Block { header, body }, cert, set)
}

/// Runs `f` repeatedly for about `budget_ms` (at least 3 times); microseconds per run.
fn time_us(budget_ms: u128, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut runs = 0u32;
    while runs < 3 || start.elapsed().as_millis() < budget_ms {
        f();
        runs += 1;
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(runs)
}

fn main() {
    println!(
        "{:>8} {:>10} | {:>12} {:>14} | {:>12} {:>12} {:>12} | {:>14}",
        "txs",
        "json KiB",
        "split us",
        "slices/s",
        "extract us",
        "json us",
        "verify us",
        "verified/s"
    );
    let mut rows = Vec::new();
    for txs in [10usize, 100, 1000, 5000] {
        let (block, cert, set) = fixture(txs);
        let verifier = Verifier::new(CHAIN_ID, set);
        let ns = 1003;
        let split_us = time_us(1500, || {
            std::hint::black_box(split(&block, &cert));
        });
        assert_eq!(split(&block, &cert).len(), NAMESPACES as usize);
        let extract = time_us(1000, || {
            std::hint::black_box(namespace_block(&block, &cert, ns));
        });
        let slice = namespace_block(&block, &cert, ns);
        let json_us = time_us(1000, || {
            std::hint::black_box(serde_json::to_vec(&slice).unwrap());
        });
        let json = serde_json::to_vec(&slice).unwrap();
        let verify = time_us(1500, || {
            std::hint::black_box(verifier.verify_json(ns, 1, &json).unwrap());
        });
        let slices_per_s = NAMESPACES as f64 * 1e6 / split_us;
        let verified_per_s = 1e6 / verify;
        println!(
            "{:>8} {:>10.1} | {:>12.1} {:>14.0} | {:>12.1} {:>12.1} {:>12.1} | {:>14.0}",
            txs,
            json.len() as f64 / 1024.0,
            split_us,
            slices_per_s,
            extract,
            json_us,
            verify,
            verified_per_s
        );
        rows.push(serde_json::json!({
            "txs_per_block": txs,
            "namespaces": NAMESPACES,
            "slice_json_bytes": json.len(),
            "split_us_per_block": split_us,
            "slices_per_s": slices_per_s,
            "extract_us_per_slice": extract,
            "json_us_per_slice": json_us,
            "verify_us_per_slice": verify,
            "verified_slices_per_s": verified_per_s,
        }));
    }
    println!(
        "{}",
        serde_json::json!({ "bench": "extract", "rows": rows })
    );
}
