//! A hostile peer against a live network: `ordo-testnet hostile` joins both p2p networks of four
//! validators with keys outside the committee and sends every kind of bad input it has; the
//! nodes keep deciding one chain, honest transactions sent meanwhile land, memory stays
//! bounded, the nodes close the consensus connections that carry bad validator proofs, the
//! transaction gossip cuts the peer off after its first bad batches, and once the peer
//! publishes a proposal from outside the committee every node bans it from the consensus
//! network.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ordo_types::{Bytes, SecretKey, Transaction};
use serde_json::Value;

use crate::harness::Net;

const CHAIN_ID: u64 = 1337;
const T: Duration = Duration::from_secs(60);
/// Seconds of attack.
const ATTACK_S: u64 = 20;
/// Seconds of it before the peer does what gets it banned from the consensus network.
const PROVOKE_AFTER_S: u64 = 10;
/// How much a node's resident memory may grow over its value before the attack.
const RSS_BOUND_KIB: u64 = 200 * 1024;

/// The `ordo-testnet` binary next to `ordo` (cargo builds it with the workspace).
fn testnet_tools() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_ordo")).with_file_name("ordo-testnet");
    assert!(
        path.is_file(),
        "{} is missing: build the workspace (cargo build --workspace)",
        path.display()
    );
    path
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

async fn heights(net: &Net) -> Vec<u64> {
    let mut out = Vec::new();
    for i in 0..4 {
        out.push(net.height(i).await.unwrap_or(0));
    }
    out
}

#[tokio::test]
async fn honest_nodes_stay_live_bounded_and_ban_a_hostile_peer() {
    let net = Net::start(4, 0, |_, _| {});
    let all = [0, 1, 2, 3];
    net.wait_height(&all, 3, T).await;
    let before: Vec<u64> = all.iter().map(|&i| rss_kib(net.pid(i))).collect();

    let report_path = net.dir.path().join("hostile.json");
    let mut hostile = Command::new(testnet_tools())
        .arg("hostile")
        .arg("--home")
        .arg(net.dir.path())
        .args(["--duration", &ATTACK_S.to_string()])
        .args(["--rate", "300", "--oversized-every", "4"])
        .args(["--provoke-after", &PROVOKE_AFTER_S.to_string()])
        .arg("--out")
        .arg(&report_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let attack_started = Instant::now();
    let start = heights(&net).await;

    // Honest clients send transactions while the attack runs, one sender per node.
    let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::random()).collect();
    let mut sent = Vec::new();
    let mut peak = before.clone();
    let mut live_during_attack = false;
    let mut nonce = 0u64;
    while hostile.try_wait().unwrap().is_none() {
        for (i, key) in keys.iter().enumerate() {
            let payload = Bytes::from(format!("honest {i} {nonce}").into_bytes());
            let tx = Transaction::sign(1 + i as u64 % 4, nonce, payload, key, CHAIN_ID);
            let (code, body) = net.post(i, "/v1/transactions", &tx).await;
            assert_eq!(code, 202, "node {i} refused an honest transaction: {body}");
            sent.push((i, tx.hash().to_string()));
        }
        nonce += 1;
        for (i, p) in peak.iter_mut().enumerate() {
            *p = (*p).max(rss_kib(net.pid(i)));
        }
        // Every node decides ten blocks past the start while the hostile peer still runs.
        let now = heights(&net).await;
        if now.iter().zip(&start).all(|(n, s)| *n >= s + 10)
            && hostile.try_wait().unwrap().is_none()
        {
            live_during_attack = true;
        }
        assert!(
            attack_started.elapsed() < Duration::from_secs(ATTACK_S + 30),
            "the hostile peer did not stop"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        hostile.wait().unwrap().success(),
        "ordo-testnet hostile failed"
    );
    assert!(
        live_during_attack,
        "the nodes did not decide 10 blocks during the attack (from {start:?} to {:?})",
        heights(&net).await
    );
    for (i, (b, p)) in before.iter().zip(&peak).enumerate() {
        assert!(
            *p < b + RSS_BOUND_KIB,
            "node {i} grew from {b} KiB to {p} KiB under attack"
        );
    }

    // After the attack: still deciding, one chain, every honest transaction included.
    let after = heights(&net).await.into_iter().max().unwrap_or(0);
    net.wait_height(&all, after + 5, T).await;
    for (i, hash) in &sent {
        net.wait_included(*i, hash, T).await;
    }
    let common = heights(&net).await.into_iter().min().unwrap_or(0);
    net.assert_same_chain(&all, common).await;

    // The attack happened: every kind of message went out and the nodes read them. Except on
    // the transaction gossip, which cuts the peer off after its first bad batches: by then it
    // has sent no oversized batch (mempool/tests/it/gossip.rs covers those) and seen no honest
    // batch to replay.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap())
        .expect("the hostile peer's report");
    for kind in [
        "consensus_garbage",
        "proposal_parts_garbage",
        "liveness_garbage",
        "consensus_oversized",
        "consensus_large",
        "consensus_replay",
        "outsider_vote",
        "outsider_vote_far_ahead",
        "forged_committee_vote",
        "outsider_proposal",
        "outsider_proposal_part",
        "sync_far_ahead",
        "sync_whole_range",
        "sync_malformed",
        "sync_oversized",
        "sync_status_far_ahead",
        "proof_outsider",
        "proof_forged",
        "proof_oversized",
        "tx_garbage",
        "tx_malformed_batch",
        "tx_bad_signatures",
    ] {
        assert!(
            report["sent"][kind].as_u64().unwrap_or(0) > 0,
            "the hostile peer sent no {kind}: {report}"
        );
    }
    let logs: String = all.iter().map(|&i| net.log(i)).collect();
    let seen = |needle: &str| logs.matches(needle).count();
    assert!(
        seen("Received vote from unknown validator") > 0,
        "outsider votes unseen"
    );
    assert!(
        seen("Received vote with invalid signature") > 0,
        "forged votes unseen"
    );
    assert!(
        seen("Failed to decode consensus message") > 0,
        "garbage unseen"
    );
    // A consensus message far larger than any vote or proposal (a vote and 64 KiB of trailing
    // bytes) is dropped by gossipsub on receipt, not read by consensus nor relayed.
    assert_eq!(
        seen("Trailing(65536)"),
        0,
        "large consensus messages reached consensus"
    );
    assert!(
        seen("malformed batch rejected") > 0,
        "garbage batches unseen"
    );
    assert!(seen("false sender keys") > 0, "false sender claims unseen");
    // Nodes forward only batches they checked: every bad one came straight from the peer.
    let hostile = report["peer_id"].as_str().unwrap();
    let rejected: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("rejected") && l.contains("from="))
        .collect();
    assert!(!rejected.is_empty());
    for line in rejected {
        assert!(line.contains(hostile), "a bad batch was forwarded: {line}");
    }
    // Far-ahead and whole-range sync requests are answered from the store, within its bound.
    assert!(
        report["sync_responses"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );

    // What the consensus network does to the peer. An oversized validator proof closes its
    // connection (Malachite checks the size). From `--provoke-after` on it publishes proposal
    // streams from outside the committee and forged proofs: every node bans it (the guard,
    // `consensus/src/guard.rs`) and closes each of its connections as soon as it opens, so
    // the nodes close far more connections than those that carried a bad proof.
    assert!(seen("Rejecting validator proof, closing connection") > 0);
    for i in all {
        let banned = net
            .log(i)
            .lines()
            .any(|l| l.contains("consensus peer banned") && l.contains(hostile));
        assert!(banned, "node {i} did not ban the hostile peer");
    }
    let consensus = &report["consensus"];
    let closed: u64 = consensus["closed_by_node"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    let bad_proofs = report["sent"]["proof_forged"].as_u64().unwrap_or(0)
        + report["sent"]["proof_oversized"].as_u64().unwrap_or(0);
    assert!(closed > bad_proofs, "{consensus}");
    assert_eq!(consensus["dial_failures"], 0, "{consensus}");
    // Transaction gossip cuts the peer off once it delivered three bad batches (malformed, or
    // claiming false sender keys), and refuses its connections from then on.
    assert!(
        seen("peer delivered bad batches; disconnected") > 0,
        "the gossip never cut the peer off"
    );
    let gossip_closed: u64 = report["gossip"]["closed_by_node"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(gossip_closed > 1, "{report}");
}
