//! The mempool of real nodes: any node accepts, every proposer can include, nothing accepted is
//! lost, no namespace is starved, every refusal has its code.

use std::time::{Duration, Instant};

use ordo_types::{Address, Bytes, SecretKey, Transaction};
use serde_json::{json, Value};

use crate::evm;
use crate::harness::{set, Net};

const CHAIN_ID: u64 = 1337;
const T: Duration = Duration::from_secs(90);

fn tx(key: &SecretKey, namespace: u64, nonce: u64, payload: &[u8]) -> Transaction {
    Transaction::sign(
        namespace,
        nonce,
        Bytes::copy_from_slice(payload),
        key,
        CHAIN_ID,
    )
}

fn hash(tx: &Transaction) -> String {
    tx.hash().to_string()
}

#[tokio::test]
async fn a_transaction_sent_to_a_full_node_lands_and_every_node_agrees() {
    let net = Net::start(4, 1, |_, _| {});
    net.wait_height(&[0, 1, 2, 3, 4], 2, T).await;
    let key = SecretKey::random();
    let t = tx(&key, 3, 0, b"via the full node");
    let (code, _) = net.post(4, "/v1/transactions", &t).await;
    assert_eq!(code, 202);
    let landed = net.wait_included(4, &hash(&t), T).await;
    for i in 0..5 {
        let seen = net.wait_included(i, &hash(&t), T).await;
        assert_eq!(seen, landed, "node {i} disagrees");
    }
    // The block at that height holds it, in its namespace, at that index.
    let height = landed["height"].as_u64().unwrap();
    let slice = net
        .get(2, &format!("/v1/namespaces/3/blocks/{height}"))
        .await
        .unwrap();
    let index = landed["index"].as_u64().unwrap() as usize;
    assert_eq!(
        slice["transactions"][index]["signature"],
        serde_json::to_value(&t).unwrap()["signature"]
    );
    // A replay of the included transaction is refused everywhere (once the node has also dropped
    // it from its pool, which it does before it reports the height).
    net.wait_height(&[0, 4], height, T).await;
    for i in [0, 4] {
        let (code, err) = net.post(i, "/v1/transactions", &t).await;
        assert_eq!(
            (code, err["code"].as_str()),
            (400, Some("NONCE_TOO_LOW")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn parked_transactions_become_ready_and_land_in_nonce_order() {
    let net = Net::start(4, 0, |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 2, T).await;
    let key = SecretKey::random();
    let txs: Vec<Transaction> = (0..3).map(|n| tx(&key, 2, n, b"ordered")).collect();
    for n in [2usize, 1] {
        let (code, _) = net.post(n % 4, "/v1/transactions", &txs[n]).await;
        assert_eq!(code, 202);
        let status = net
            .get(n % 4, &format!("/v1/transactions/{}", hash(&txs[n])))
            .await
            .unwrap();
        assert_eq!(status["status"], "parked", "nonce {n} waits for nonce 0");
    }
    let (code, _) = net.post(0, "/v1/transactions", &txs[0]).await;
    assert_eq!(code, 202);
    let mut positions = Vec::new();
    for t in &txs {
        let s = net.wait_included(3, &hash(t), T).await;
        positions.push((s["height"].as_u64().unwrap(), s["index"].as_u64().unwrap()));
    }
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "nonces 0, 1, 2 land in that order");
}

/// Every refusal code, each from a real request, on a node whose blocks include nothing (so the
/// pool's contents are known exactly); each refusal admission answered is counted under its own
/// code in `/metrics`.
#[tokio::test]
async fn every_refusal_has_its_code() {
    const EVM: u64 = 901;
    let net = Net::start_with(1, 0, &[format!("--evm-rollup={EVM}")], |_, text| {
        set(text, "limits", "max_transactions", 0);
        set(text, "mempool", "max_transactions", 6);
        set(text, "mempool", "busy_at", 6);
        set(text, "mempool", "max_per_sender", 2);
        set(text, "mempool", "max_nonce_gap", 4);
        set(text, "mempool", "max_payload_bytes", 128);
        set(text, "api", "rate_limit_per_second", 1);
        set(text, "api", "rate_limit_burst", 60);
    });
    net.wait_height(&[0], 1, T).await;
    let net = &net;
    let submit = |body: Value| async move { net.post(0, "/v1/transactions", &body).await };
    let expect = |(code, err): (u16, Value), status: u16, name: &str| {
        assert_eq!((code, err["code"].as_str()), (status, Some(name)), "{err}");
    };
    let key = SecretKey::random();
    let good = tx(&key, 1, 0, b"ok");

    expect(submit(json!({"namespace": 1})).await, 400, "MALFORMED");
    let big = tx(&key, 1, 0, &[0u8; 129]);
    expect(
        submit(serde_json::to_value(&big).unwrap()).await,
        413,
        "PAYLOAD_TOO_LARGE",
    );
    let mut unrecoverable = serde_json::to_value(&good).unwrap();
    unrecoverable["signature"] = json!(format!("0x{}05{}011b", "00".repeat(31), "00".repeat(31)));
    expect(submit(unrecoverable).await, 400, "BAD_SIGNATURE");
    let mut other_chain = serde_json::to_value(&good).unwrap();
    other_chain["chain_id"] = json!(1);
    expect(submit(other_chain).await, 400, "WRONG_CHAIN");
    let stray = tx(&key, 99, 0, b"no such rollup");
    expect(
        submit(serde_json::to_value(&stray).unwrap()).await,
        400,
        "UNKNOWN_NAMESPACE",
    );
    // The rollup's own rules: an EIP-712 transaction for the EVM rollup, and an Ethereum one
    // signed for another chain.
    expect(
        submit(serde_json::to_value(tx(&key, EVM, 0, b"not ethereum")).unwrap()).await,
        400,
        "WRONG_TX_KIND",
    );
    let wallet = alloy::signers::local::PrivateKeySigner::random();
    let other_chain = evm::sign(
        evm::transfer(EVM + 1, 0, Address::repeat_byte(9), 1),
        &wallet,
    );
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction",
        "params": [format!("0x{}", hex::encode(other_chain))]});
    let (status, answer) = net.post(0, &format!("/v1/rollups/{EVM}/rpc"), &call).await;
    assert_eq!(
        (status, answer["error"]["data"]["code"].as_str()),
        (200, Some("WRONG_ROLLUP_CHAIN")),
        "{answer}"
    );
    let far = tx(&key, 1, 5, b"too far ahead");
    expect(
        submit(serde_json::to_value(&far).unwrap()).await,
        400,
        "NONCE_GAP_TOO_LARGE",
    );

    assert_eq!(submit(serde_json::to_value(&good).unwrap()).await.0, 202);
    expect(
        submit(serde_json::to_value(&good).unwrap()).await,
        409,
        "ALREADY_KNOWN",
    );
    assert_eq!(
        submit(serde_json::to_value(tx(&key, 1, 1, b"1")).unwrap())
            .await
            .0,
        202
    );
    expect(
        submit(serde_json::to_value(tx(&key, 1, 2, b"2")).unwrap()).await,
        429,
        "SENDER_LIMIT",
    );

    // Fill the pool (6) with ready transactions, then one more is refused.
    let batch: Vec<Transaction> = (0..5)
        .map(|_| tx(&SecretKey::random(), 2, 0, b"fill"))
        .collect();
    let (code, answer) = net.post(0, "/v1/transactions/batch", &batch).await;
    assert_eq!(code, 200);
    let codes: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(codes, ["ok", "ok", "ok", "ok", "MEMPOOL_FULL"]);
    // Holding `busy_at` transactions, the node refuses client submissions up front.
    expect(
        submit(serde_json::to_value(tx(&SecretKey::random(), 1, 0, b"x")).unwrap()).await,
        503,
        "BUSY",
    );
    // A batch is refused whole before its body is read (this one is not even JSON), with the
    // HTTP convention for when to come back.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/transactions/batch", net.apis[0]))
        .header("content-type", "application/json")
        .body("not even json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "BUSY");
    let summary = net.get(0, "/v1/mempool").await.unwrap();
    assert_eq!(summary["transactions"], 6);

    // Past the client's rate: 429 with Retry-After.
    let client = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..120 {
        let resp = client
            .post(format!("{}/v1/transactions", net.apis[0]))
            .json(&good)
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("never rate limited");
    assert!(resp.headers().contains_key("retry-after"));
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["code"], "RATE_LIMITED");
    // The same client on an EVM rollup's JSON-RPC: a JSON-RPC error, as providers answer it.
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
    let resp = client
        .post(format!("{}/v1/rollups/{EVM}/rpc", net.apis[0]))
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["jsonrpc"], "2.0");
    assert_eq!(err["error"]["code"], -32005, "{err}");
    assert_eq!(err["error"]["data"]["code"], "RATE_LIMITED", "{err}");
    // Reads are not limited, and the node is alive.
    assert!(net.height(0).await.is_some());

    // Admission's refusals, each under its own code (the BUSY ones include the rate-limit
    // loop's); what the API refuses before admission is not counted there.
    let metrics = reqwest::get(format!("{}/metrics", net.apis[0]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused = |code: &str| -> u64 {
        let series = format!("ordo_mempool_refused_transactions_total{{code=\"{code}\"}} ");
        let value = metrics.lines().find_map(|l| l.strip_prefix(&series));
        value
            .unwrap_or_else(|| panic!("no {code} series: {metrics}"))
            .parse()
            .unwrap()
    };
    for code in [
        "PAYLOAD_TOO_LARGE",
        "BAD_SIGNATURE",
        "UNKNOWN_NAMESPACE",
        "WRONG_TX_KIND",
        "WRONG_ROLLUP_CHAIN",
        "NONCE_GAP_TOO_LARGE",
        "ALREADY_KNOWN",
        "SENDER_LIMIT",
        "MEMPOOL_FULL",
    ] {
        assert_eq!(refused(code), 1, "{code}");
    }
    assert!(refused("BUSY") >= 1);
    assert_eq!(refused("INTERNAL"), 0);
    assert!(!metrics.contains("code=\"MALFORMED\""), "{metrics}");
}

/// Namespace 1 is flooded far beyond what blocks can hold; namespace 2's transaction still lands
/// within two blocks of reaching every validator.
#[tokio::test]
async fn a_flooded_namespace_does_not_delay_another() {
    let net = Net::start(4, 0, |_, text| {
        set(text, "limits", "max_transactions", 10);
    });
    net.wait_height(&[0, 1, 2, 3], 2, T).await;
    // 2,000 transactions for namespace 1, 200 blocks' worth, to every node.
    for node in 0..4 {
        let flood: Vec<Transaction> = (0..500)
            .map(|i| {
                tx(
                    &SecretKey::random(),
                    1,
                    0,
                    format!("flood {node} {i}").as_bytes(),
                )
            })
            .collect();
        let (code, _) = net.post(node, "/v1/transactions/batch", &flood).await;
        assert_eq!(code, 200);
    }
    let b = tx(&SecretKey::random(), 2, 0, b"not starved");
    let (code, _) = net.post(1, "/v1/transactions", &b).await;
    assert_eq!(code, 202);
    // Once every validator holds it, none has decided past `before`: every proposal from
    // height `before + 2` on is built from a pool that holds it.
    for i in 0..4 {
        net.wait_tx(i, &hash(&b), &["pending", "included"], T).await;
    }
    let mut before = 0;
    for i in 0..4 {
        before = before.max(net.height(i).await.unwrap());
    }
    let landed = net.wait_included(1, &hash(&b), T).await;
    let height = landed["height"].as_u64().unwrap();
    assert!(
        height <= before + 2,
        "every validator held it at height {before} or below, included at {height}"
    );
    // Namespace 1 was still backlogged: the flood had not drained.
    let summary = net.get(1, "/v1/mempool").await.unwrap();
    assert!(
        summary["namespaces"]["1"]["pending"].as_u64().unwrap_or(0) > 100,
        "{summary}"
    );
}

/// Pending transactions survive a SIGKILL of the node holding them.
#[tokio::test]
async fn accepted_transactions_survive_a_kill() {
    let mut net = Net::start(1, 0, |_, text| {
        // Blocks include nothing, so the transactions stay pending across the restart.
        set(text, "limits", "max_transactions", 0);
    });
    net.wait_height(&[0], 1, T).await;
    let txs: Vec<Transaction> = (0..20)
        .map(|i| tx(&SecretKey::random(), 4, 0, format!("keep {i}").as_bytes()))
        .collect();
    let (code, _) = net.post(0, "/v1/transactions/batch", &txs).await;
    assert_eq!(code, 200);
    let single = tx(&SecretKey::random(), 4, 0, b"single");
    assert_eq!(net.post(0, "/v1/transactions", &single).await.0, 202);
    net.kill(0);
    net.restart(0);
    net.wait_height(&[0], 1, T).await;
    for t in txs.iter().chain([&single]) {
        let status = net
            .get(0, &format!("/v1/transactions/{}", hash(t)))
            .await
            .unwrap();
        assert_eq!(status["status"], "pending", "{status}");
    }
}

/// A full pool refuses more with MEMPOOL_FULL, keeps serving, and does not grow.
#[tokio::test]
async fn a_full_mempool_refuses_and_stays_bounded() {
    let net = Net::start(1, 0, |_, text| {
        set(text, "limits", "max_transactions", 0);
        set(text, "mempool", "max_transactions", 1000);
    });
    net.wait_height(&[0], 1, T).await;
    let fill: Vec<Transaction> = (0..1000)
        .map(|i| tx(&SecretKey::random(), 1, 0, format!("fill {i}").as_bytes()))
        .collect();
    assert_eq!(net.post(0, "/v1/transactions/batch", &fill).await.0, 200);
    let rss = |pid: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    let verifications = || {
        net.metric(
            0,
            "ordo_mempool_signature_verifications_total{method=\"recover\"}",
        )
    };
    let verified_before = verifications().await;
    let before = rss(net.pid(0));
    let started = Instant::now();
    for round in 0..10 {
        let more: Vec<Transaction> = (0..1000)
            .map(|i| {
                tx(
                    &SecretKey::random(),
                    1,
                    0,
                    format!("more {round} {i}").as_bytes(),
                )
            })
            .collect();
        // Refused whole, before the body is read, so the client is told not to reuse the
        // connection the node closes.
        let refusal = net
            .client
            .post(format!("{}/v1/transactions/batch", net.apis[0]))
            .json(&more)
            .send()
            .await
            .unwrap();
        assert_eq!(refusal.headers()["connection"], "close");
        let code = refusal.status().as_u16();
        let answer: serde_json::Value = refusal.json().await.unwrap();
        assert_eq!((code, answer["code"].as_str()), (503, Some("MEMPOOL_FULL")));
        assert!(net.height(0).await.is_some(), "node unresponsive");
    }
    let after = rss(net.pid(0));
    assert_eq!(
        verifications().await,
        verified_before,
        "a full pool checks no signature of what it refuses anyway"
    );
    let summary = net.get(0, "/v1/mempool").await.unwrap();
    assert_eq!(summary["transactions"], 1000);
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} kB to {after} kB refusing 10,000 transactions in {:?}",
        started.elapsed()
    );
}

/// The command-line client: a new key, a send that waits for inclusion, a status query.
#[tokio::test]
async fn the_cli_sends_and_follows_a_transaction() {
    let net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 1, T).await;
    let key = net.dir.path().join("alice.json");
    let out = crate::harness::ordo()
        .args(["keys", "new", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let address = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        crate::harness::ordo()
            .args(["keys", "new", "--out"])
            .arg(&key)
            .output()
            .unwrap()
            .status
            .code()
            .is_some_and(|c| c != 0),
        "an existing key file is not overwritten"
    );

    let mut hashes = Vec::new();
    for _ in 0..2 {
        // No --nonce: the client asks the node for the next one, so back-to-back sends work.
        let out = crate::harness::ordo()
            .args(["tx", "send", "--node", &net.apis[0], "--key"])
            .arg(&key)
            .args(["--namespace", "7", "--data", "0x68656c6c6f", "--wait"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("included at height"), "{stdout}");
        hashes.push(stdout.lines().next().unwrap().to_owned());
    }
    let out = crate::harness::ordo()
        .args(["tx", "status", &hashes[1], "--node", &net.apis[0]])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["status"], "included");
    let nonce = net
        .get(0, &format!("/v1/accounts/{address}/nonce?namespace=7"))
        .await
        .unwrap();
    assert_eq!(nonce["next_nonce"], 2);
}
