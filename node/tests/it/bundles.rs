//! Bundles end to end: submitted to one node, gossiped, placed whole in one block by whichever
//! validator proposes, proved against the header; refused whole for one bad part; never late;
//! replaced; kept across a SIGKILL; and a proposer that splits one gets no votes.

use std::time::{Duration, Instant};

use ordo_rollup_adapters::{Genesis, NamespaceBlock, VerifiedNamespaceBlock, Verifier};
use ordo_types::{BundleProof, Bytes, PlacedBundle, SecretKey, Transaction, B256};
use serde_json::{json, Value};

use crate::harness::Net;

const CHAIN_ID: u64 = 1337;
const T: Duration = Duration::from_secs(90);

fn tx(key: &SecretKey, namespace: u64, nonce: u64, payload: &str) -> Transaction {
    Transaction::sign(
        namespace,
        nonce,
        Bytes::copy_from_slice(payload.as_bytes()),
        key,
        CHAIN_ID,
    )
}

/// Posts a bundle to node `i`: `(status, answer)`.
async fn send(net: &Net, i: usize, body: Value) -> (u16, Value) {
    net.post(i, "/v1/bundles", &body).await
}

/// Posts a bundle that must be accepted; returns its hash.
async fn accepted(net: &Net, i: usize, body: Value) -> String {
    let (code, answer) = send(net, i, body).await;
    assert_eq!(code, 202, "{answer}");
    answer["hash"].as_str().unwrap().to_owned()
}

/// Waits until node `i` reports bundle `hash` as `status`; returns the answer.
async fn wait_bundle(net: &Net, i: usize, hash: &str, status: &str) -> Value {
    let deadline = Instant::now() + T;
    loop {
        let answer = net.get(i, &format!("/v1/bundles/{hash}")).await;
        if let Some(answer) = answer.as_ref().filter(|a| a["status"] == status) {
            return answer.clone();
        }
        assert!(
            Instant::now() < deadline,
            "bundle {hash} not {status} on node {i}: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Namespace `ns`'s slice at `height` as a rollup client reads it: verified against the genesis
/// committee (certificate, namespace proof, and every bundle against the header).
async fn verified_slice(net: &Net, i: usize, height: u64, ns: u64) -> VerifiedNamespaceBlock {
    let slice = net
        .get(i, &format!("/v1/namespaces/{ns}/blocks/{height}"))
        .await
        .unwrap();
    let genesis = Genesis::load(&net.homes[0].join("genesis.json")).unwrap();
    let slice: NamespaceBlock = serde_json::from_value(slice).unwrap();
    Verifier::from_genesis(&genesis)
        .verify(ns, height, slice)
        .unwrap()
}

/// The hashes of namespace `ns`'s transactions at `height`, in block order.
async fn namespace_hashes(net: &Net, i: usize, height: u64, ns: u64) -> Vec<String> {
    verified_slice(net, i, height, ns)
        .await
        .tx_hashes()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[tokio::test]
async fn a_bundle_across_rollups_lands_whole_in_one_block_and_proves_against_the_header() {
    let net = Net::start(4, 0, |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 1, T).await;
    let (alice, bob, carol) = (
        SecretKey::random(),
        SecretKey::random(),
        SecretKey::random(),
    );
    let parts = [
        tx(&alice, 1, 0, "alice opens"),
        tx(&bob, 2, 0, "bob fills"),
        tx(&alice, 1, 1, "alice closes"),
    ];
    let tip = net.height(1).await.unwrap();
    let hash = accepted(
        &net,
        1,
        json!({ "txs": parts, "maxHeight": format!("{:#x}", tip + 200) }),
    )
    .await;
    // Carol's transaction competes for namespace 1 at the same time.
    let (code, _) = net
        .post(2, "/v1/transactions", &tx(&carol, 1, 0, "carol"))
        .await;
    assert_eq!(code, 202);

    // Every node sees it land (whoever proposed it knew it by gossip).
    let included = wait_bundle(&net, 3, &hash, "included").await;
    let height = included["height"].as_u64().unwrap();
    for i in 0..4 {
        let there = wait_bundle(&net, i, &hash, "included").await;
        assert_eq!(there["height"], height);
    }
    // Each part is contiguous and in submitted order inside its namespace.
    let hex = |t: &Transaction| t.hash().to_string();
    let part = |ns: u64| {
        included["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["namespace"] == ns)
            .cloned()
            .unwrap()
    };
    let ns1 = namespace_hashes(&net, 0, height, 1).await;
    let start = part(1)["index"].as_u64().unwrap() as usize;
    assert_eq!(part(1)["count"], 2);
    assert_eq!(ns1[start..start + 2], [hex(&parts[0]), hex(&parts[2])]);
    let ns2 = namespace_hashes(&net, 0, height, 2).await;
    let start = part(2)["index"].as_u64().unwrap() as usize;
    assert_eq!(ns2[start..start + 1], [hex(&parts[1])]);
    for t in &parts {
        let status = net.wait_included(0, &hex(t), T).await;
        assert_eq!(status["height"], height);
    }

    // The placement proves against the certified header's bundle root, and names the bundle.
    let placed: PlacedBundle = serde_json::from_value(included["bundle"].clone()).unwrap();
    let proof: BundleProof = serde_json::from_value(included["proof"].clone()).unwrap();
    assert_eq!(placed.hash().to_string(), hash);
    let block = net.block(0, height).await.unwrap();
    let root: B256 = serde_json::from_value(block["bundle_root"].clone()).unwrap();
    proof.verify(&root, &placed).unwrap();
    assert_eq!(block["hash"], included["block_hash"]);
    let mut moved = placed.clone();
    moved.parts[0].start += 1;
    assert!(proof.verify(&root, &moved).is_err());
    // A rollup client of either namespace gets the bundle with its slice, checked against the
    // header, and finds where the other part sits.
    for (ns, other) in [(1, 2), (2, 1)] {
        let slice = verified_slice(&net, 2, height, ns).await;
        let known: Vec<&PlacedBundle> = slice
            .bundles()
            .iter()
            .filter(|b| b.hash() == placed.hash())
            .collect();
        assert_eq!(known.len(), 1);
        assert_eq!(known[0].part(other), placed.part(other));
    }
}

#[tokio::test]
async fn bad_bundles_are_refused_whole_and_none_of_their_parts_lands() {
    let net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 1, T).await;
    let alice = SecretKey::random();
    let good = tx(&alice, 1, 0, "good part");
    // The second part is for a namespace no rollup is registered under.
    let (code, answer) = send(
        &net,
        0,
        json!({ "txs": [good, tx(&alice, 99, 0, "bad part")], "maxHeight": 1_000 }),
    )
    .await;
    assert_eq!(
        (code, answer["code"].as_str()),
        (400, Some("UNKNOWN_NAMESPACE"))
    );
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("transaction 1:"),
        "{answer}"
    );
    // A part signed for another chain.
    let foreign = Transaction::sign(1, 0, Bytes::from_static(b"x"), &alice, CHAIN_ID + 1);
    let mut item = serde_json::to_value(&foreign).unwrap();
    item["chain_id"] = json!(CHAIN_ID + 1);
    let (code, answer) = send(&net, 0, json!({ "txs": [good, item], "maxHeight": 1_000 })).await;
    assert_eq!(
        (code, answer["code"].as_str()),
        (400, Some("WRONG_CHAIN")),
        "{answer}"
    );
    // A part too far ahead of its sender's next nonce.
    let (_, answer) = send(
        &net,
        0,
        json!({ "txs": [good, tx(&alice, 2, 1_000, "far ahead")], "maxHeight": 1_000 }),
    )
    .await;
    assert_eq!(answer["code"], "NONCE_GAP_TOO_LARGE", "{answer}");
    // Malformed: no bound, two bounds, a stranger among the reverting hashes, a duplicate.
    for body in [
        json!({ "txs": [good] }),
        json!({ "txs": [good], "maxHeight": 9, "blockNumber": 9 }),
        json!({ "txs": [good], "maxHeight": 9, "revertingTxHashes": [B256::repeat_byte(1)] }),
        json!({ "txs": [good, good], "maxHeight": 9 }),
        json!({ "txs": [], "maxHeight": 9 }),
        json!({ "txs": [{ "namespace": 1, "raw": "0x00" }], "maxHeight": 9 }),
        json!({ "txs": [good], "maxHeight": 9, "extra": 1 }),
    ] {
        let (code, answer) = send(&net, 0, body.clone()).await;
        assert_eq!(
            (code, answer["code"].as_str()),
            (400, Some("MALFORMED")),
            "{body}: {answer}"
        );
    }
    // None of it is pending, and the good part's nonce is still free: a single transaction
    // with it lands.
    let good_hash = good.hash().to_string();
    let status = net
        .get(0, &format!("/v1/transactions/{good_hash}"))
        .await
        .unwrap();
    assert_eq!(status["status"], "unknown");
    let single = tx(&alice, 1, 0, "alone");
    let (code, _) = net.post(0, "/v1/transactions", &single).await;
    assert_eq!(code, 202);
    net.wait_included(0, &single.hash().to_string(), T).await;
}

#[tokio::test]
async fn an_expired_bundle_never_lands_and_a_replaced_one_lands_only_in_its_newer_form() {
    let net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 2, T).await;
    let (alice, bob) = (SecretKey::random(), SecretKey::random());

    // Only the height just decided: no later block may hold it.
    let tip = net.height(0).await.unwrap();
    let late = tx(&alice, 1, 0, "too late");
    let expired = accepted(&net, 0, json!({ "txs": [late], "blockNumber": tip })).await;
    wait_bundle(&net, 0, &expired, "expired").await;
    let single = tx(&alice, 1, 0, "in time, alone");
    let (code, _) = net.post(0, "/v1/transactions", &single).await;
    assert_eq!(code, 202);
    net.wait_included(0, &single.hash().to_string(), T).await;
    let status = net
        .get(0, &format!("/v1/transactions/{}", late.hash()))
        .await
        .unwrap();
    assert_ne!(status["status"], "included", "{status}");

    // The first form cannot land yet (Bob's nonce 0 is not there); the second, with the same
    // replacement id from the same first sender, can, and takes its place.
    let first = json!({
        "txs": [tx(&alice, 2, 0, "first form"), tx(&bob, 2, 1, "waits")],
        "maxHeight": tip + 500,
        "replacementUuid": "4a9f0b7e-one",
    });
    let first_hash = accepted(&net, 0, first).await;
    assert_eq!(
        wait_bundle(&net, 0, &first_hash, "pending").await["status"],
        "pending"
    );
    let newer = [tx(&alice, 2, 0, "newer form"), tx(&bob, 2, 0, "bob first")];
    let newer_hash = accepted(
        &net,
        0,
        json!({ "txs": newer, "maxHeight": tip + 500, "replacementUuid": "4a9f0b7e-one" }),
    )
    .await;
    let replaced = wait_bundle(&net, 0, &first_hash, "replaced").await;
    assert_eq!(replaced["by"].as_str(), Some(newer_hash.as_str()));
    let included = wait_bundle(&net, 0, &newer_hash, "included").await;
    let height = included["height"].as_u64().unwrap();
    assert_eq!(
        namespace_hashes(&net, 0, height, 2).await,
        newer
            .iter()
            .map(|t| t.hash().to_string())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_pending_bundle_survives_a_sigkill_and_lands_after_the_restart() {
    let mut net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 1, T).await;
    let (alice, bob) = (SecretKey::random(), SecretKey::random());
    // Waits for Bob's nonce 0, which nobody has sent yet.
    let parts = [
        tx(&alice, 3, 0, "held"),
        tx(&bob, 4, 1, "after bob's first"),
    ];
    let tip = net.height(0).await.unwrap();
    let hash = accepted(&net, 0, json!({ "txs": parts, "maxHeight": tip + 1_000 })).await;
    net.kill(0);
    net.restart(0);
    net.wait_height(&[0], tip + 1, T).await;
    assert_eq!(
        wait_bundle(&net, 0, &hash, "pending").await["status"],
        "pending"
    );
    let first = tx(&bob, 4, 0, "bob's first");
    let (code, _) = net.post(0, "/v1/transactions", &first).await;
    assert_eq!(code, 202);
    let included = wait_bundle(&net, 0, &hash, "included").await;
    let height = included["height"].as_u64().unwrap();
    let bob_first = net.wait_included(0, &first.hash().to_string(), T).await;
    assert!(bob_first["height"].as_u64().unwrap() <= height);
}

#[tokio::test]
async fn a_proposer_that_splits_a_bundle_gets_no_votes() {
    // Node 0 proposes the first transaction of every pending bundle alone.
    let net = Net::start(4, 0, |i, text| {
        if i == 0 {
            text.insert_str(0, "test_fault = \"split_bundles\"\n");
        }
    });
    net.wait_height(&[0, 1, 2, 3], 1, T).await;
    let (alice, bob) = (SecretKey::random(), SecretKey::random());
    // No honest proposer can place it until Bob's nonce 0 lands; node 0 would place Alice's
    // part alone, and the others refuse that block.
    let parts = [
        tx(&alice, 1, 0, "must not land alone"),
        tx(&bob, 2, 1, "second"),
    ];
    let tip = net.height(1).await.unwrap();
    let hash = accepted(&net, 1, json!({ "txs": parts, "maxHeight": tip + 1_000 })).await;
    for i in 0..4 {
        wait_bundle(&net, i, &hash, "pending").await;
    }
    let deadline = Instant::now() + T;
    while !(1..4).any(|i| net.log(i).contains("without its bundle")) {
        assert!(
            Instant::now() < deadline,
            "no honest validator refused a split bundle"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let alice_hash = parts[0].hash().to_string();
    let status = net
        .get(1, &format!("/v1/transactions/{alice_hash}"))
        .await
        .unwrap();
    assert_ne!(status["status"], "included", "{status}");
    // Once Bob's nonce 0 lands, an honest proposer places the bundle whole.
    let first = tx(&bob, 2, 0, "bob's first");
    let (code, _) = net.post(2, "/v1/transactions", &first).await;
    assert_eq!(code, 202);
    let included = wait_bundle(&net, 2, &hash, "included").await;
    let alice_status = net.wait_included(2, &alice_hash, T).await;
    assert_eq!(alice_status["height"], included["height"]);
}

/// `ordo bundle send --wait` and `ordo bundle status`, and a refusal's clear error.
#[tokio::test]
async fn the_cli_sends_a_bundle_and_follows_it() {
    let net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 1, T).await;
    let key = SecretKey::random();
    let file = net.dir.path().join("bundle.json");
    let body =
        json!({ "txs": [tx(&key, 1, 0, "one"), tx(&key, 2, 0, "two")], "maxHeight": 10_000 });
    std::fs::write(&file, body.to_string()).unwrap();
    let run = |args: &[&str]| {
        let out = crate::harness::ordo().args(args).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let file_arg = file.to_str().unwrap();
    // Named as someone else's (`--from` fills in every part's `from`): refused.
    let stranger = SecretKey::random().address().to_string();
    let (ok, _, err) = run(&[
        "bundle",
        "send",
        "--node",
        &net.apis[0],
        "--file",
        file_arg,
        "--from",
        &stranger,
    ]);
    assert!(!ok);
    assert!(
        err.contains("BAD_SIGNATURE") && err.contains("transaction 0"),
        "{err}"
    );
    let from = key.address().to_string();
    let (ok, out, err) = run(&[
        "bundle",
        "send",
        "--node",
        &net.apis[0],
        "--file",
        file_arg,
        "--from",
        &from,
        "--wait",
    ]);
    assert!(ok, "{out}{err}");
    let mut lines = out.lines();
    let hash = lines.next().unwrap().to_owned();
    assert!(
        lines.next().unwrap().starts_with("included at height "),
        "{out}"
    );
    let (ok, out, _) = run(&["bundle", "status", &hash, "--node", &net.apis[0]]);
    assert!(ok);
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["status"], "included");
    // The same bundle again: its transactions' nonces are used now.
    let (ok, _, err) = run(&["bundle", "send", "--node", &net.apis[0], "--file", file_arg]);
    assert!(!ok);
    assert!(
        err.contains("NONCE_TOO_LOW") && err.contains("transaction 0"),
        "{err}"
    );
}
