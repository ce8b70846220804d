//! Submissions name their sender (`from`, or its `public_key`): a signature that recovers to
//! someone else is refused as `BAD_SIGNATURE`, one made for another named chain as
//! `WRONG_CHAIN`, for a single transaction, a batch item and a bundle part alike; a refusal
//! leaves the pool, the journal and the chain as they were. A submission without either is
//! admitted under the sender its signature recovers to, and the answer names that sender. A
//! batch's declared keys are checked together, without recovering a sender.

use std::time::Duration;

use ordo_types::{Address, Bytes, SecretKey, Transaction};
use serde_json::{json, Value};

use crate::harness::Net;

const CHAIN_ID: u64 = 1337;
const OTHER_CHAIN: u64 = 1338;
const T: Duration = Duration::from_secs(60);

/// `tx` as submitted: its JSON with `from` and `chain_id` when given.
fn item(tx: &Transaction, from: Option<Address>, chain_id: Option<u64>) -> Value {
    let mut v = serde_json::to_value(tx).unwrap();
    if let Some(from) = from {
        v["from"] = json!(from);
    }
    if let Some(chain_id) = chain_id {
        v["chain_id"] = json!(chain_id);
    }
    v
}

/// `item` declaring `key`'s public key, SEC1 uncompressed (as viem and ethers write it) or
/// compressed.
fn with_key(mut item: Value, key: &SecretKey, compressed: bool) -> Value {
    let public = key.public_key();
    item["public_key"] = json!(if compressed {
        public.to_string()
    } else {
        format!("0x04{}", hex::encode(public.to_xy()))
    });
    item
}

/// Node 0's `ordo_mempool_signature_verifications_total` for `method`.
async fn verifications(net: &Net, method: &str) -> u64 {
    let series = format!("ordo_mempool_signature_verifications_total{{method=\"{method}\"}}");
    net.metric(0, &series).await
}

/// Posts `batch` to node 0 and returns the sender each item was admitted under.
async fn admitted_senders(net: &Net, batch: &Value) -> Vec<Address> {
    let (status, answer) = net.post(0, "/v1/transactions/batch", batch).await;
    assert_eq!(status, 200, "{answer}");
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["from"].as_str().unwrap().parse().unwrap())
        .collect()
}

fn sign(key: &SecretKey, namespace: u64, nonce: u64, chain_id: u64) -> Transaction {
    let payload = Bytes::from(format!("{namespace}/{nonce}@{chain_id}").into_bytes());
    Transaction::sign(namespace, nonce, payload, key, chain_id)
}

/// What a refusal must not change: the pool, the journal, every block's transaction count,
/// and the next nonces of the senders involved (the real one and any a wrong signature
/// recovers to).
async fn snapshot(net: &Net, senders: &[Address]) -> Value {
    let journal = std::fs::read(net.home(0).join("data/mempool.journal")).unwrap_or_default();
    let height = net.height(0).await.unwrap();
    let mut blocks = Vec::new();
    for h in 1..=height {
        blocks.push(net.block(0, h).await.unwrap()["tx_count"].clone());
    }
    let mut nonces = Vec::new();
    for sender in senders {
        for ns in [1, 2] {
            let path = format!("/v1/accounts/{sender}/nonce?namespace={ns}");
            nonces.push(net.get(0, &path).await.unwrap()["next_nonce"].clone());
        }
    }
    json!({
        "mempool": net.get(0, "/v1/mempool").await.unwrap(),
        "journal_bytes": journal.len(),
        "block_tx_counts": blocks,
        "nonces": nonces,
    })
}

#[tokio::test]
async fn a_sender_or_chain_the_signature_does_not_bear_out_is_refused_and_changes_nothing() {
    let net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 1, T).await;
    let (alice, bob) = (SecretKey::random(), SecretKey::random());
    let ours = sign(&alice, 1, 0, CHAIN_ID);
    let foreign = sign(&alice, 1, 0, OTHER_CHAIN);
    // Whom the foreign signature recovers to under this network's chain id: a stranger.
    let phantom = foreign.recover_sender(CHAIN_ID).unwrap();
    assert_ne!(phantom, alice.address());
    let watched = [alice.address(), bob.address(), phantom];
    let before = snapshot(&net, &watched).await;

    // The refused cases, each with its code and a word of its message.
    let refused = [
        // Signed for another chain, and said so: Alice's under that chain id.
        (
            item(&foreign, Some(alice.address()), Some(OTHER_CHAIN)),
            "WRONG_CHAIN",
            "signed for chain 1338",
        ),
        // Signed for another chain without saying so: a stranger's under this one.
        (
            item(&foreign, Some(alice.address()), None),
            "BAD_SIGNATURE",
            "name it in chain_id",
        ),
        // Said to be for another chain, but not Alice's there either.
        (
            item(&ours, Some(alice.address()), Some(OTHER_CHAIN)),
            "BAD_SIGNATURE",
            "under chain id 1338",
        ),
        // Alice's, named as Bob's.
        (
            item(&ours, Some(bob.address()), None),
            "BAD_SIGNATURE",
            "not to from",
        ),
        (
            item(&ours, Some(bob.address()), Some(CHAIN_ID)),
            "BAD_SIGNATURE",
            "not to from",
        ),
        // Alice's, with Bob's public key.
        (
            with_key(item(&ours, None, None), &bob, false),
            "BAD_SIGNATURE",
            "not to the sender of public_key",
        ),
        // With a public key that is no point of the curve.
        (
            {
                let mut v = item(&ours, None, None);
                v["public_key"] = json!(format!("0x04{}", "00".repeat(64)));
                v
            },
            "BAD_SIGNATURE",
            "no point of secp256k1",
        ),
        // Another chain named, no sender: refused as before `from` existed.
        (
            item(&foreign, None, Some(OTHER_CHAIN)),
            "WRONG_CHAIN",
            "this is chain 1337",
        ),
    ];
    for (body, code, words) in &refused {
        // Alone.
        let (status, answer) = net.post(0, "/v1/transactions", body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(*code)),
            "{body}: {answer}"
        );
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(words), "{body}: {message}");
        // As a batch item, after one for a namespace no rollup has (each its own result).
        let stranger = item(&sign(&alice, 99, 0, CHAIN_ID), None, None);
        let batch = json!([stranger, body]);
        let (status, answer) = net.post(0, "/v1/transactions/batch", &batch).await;
        assert_eq!(status, 200, "{answer}");
        let results = answer["results"].as_array().unwrap();
        let codes: Vec<_> = results.iter().map(|r| r["code"].as_str()).collect();
        assert_eq!(codes, [Some("UNKNOWN_NAMESPACE"), Some(*code)], "{answer}");
        // As the second part of a bundle whose first part is good: refused whole.
        let good = item(&sign(&alice, 2, 0, CHAIN_ID), Some(alice.address()), None);
        let bundle = json!({ "txs": [good, body], "maxHeight": 100_000 });
        let (status, answer) = net.post(0, "/v1/bundles", &bundle).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(*code)),
            "{answer}"
        );
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.starts_with("transaction 1:") && message.contains(words),
            "{message}"
        );
    }
    // A malformed item refuses its batch whole, before admission.
    let batch = json!([item(&ours, Some(alice.address()), None), { "namespace": 1 }]);
    let (status, answer) = net.post(0, "/v1/transactions/batch", &batch).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("MALFORMED")),
        "{answer}"
    );
    assert!(
        answer["message"].as_str().unwrap().starts_with("item 1:"),
        "{answer}"
    );
    // So does a public key that is not SEC1 or is null.
    for key in [
        json!(format!("0x{}", "11".repeat(64))),
        json!(format!("0x05{}", "11".repeat(32))),
        json!(null),
    ] {
        let mut keyed = item(&ours, None, None);
        keyed["public_key"] = key;
        let batch = json!([item(&ours, Some(alice.address()), None), keyed]);
        let (status, answer) = net.post(0, "/v1/transactions/batch", &batch).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("MALFORMED")),
            "{answer}"
        );
    }
    // A block or two later, nothing of it anywhere.
    let now = net.height(0).await.unwrap();
    net.wait_height(&[0], now + 2, T).await;
    let after = snapshot(&net, &watched).await;
    assert_eq!(before["mempool"], after["mempool"]);
    assert_eq!(before["journal_bytes"], after["journal_bytes"]);
    assert_eq!(before["nonces"], after["nonces"]);
    let counts = after["block_tx_counts"].as_array().unwrap();
    assert!(counts.iter().all(|c| c == 0), "{after}");
    for tx in [&ours, &foreign] {
        let status = net.get(0, &format!("/v1/transactions/{}", tx.hash())).await;
        assert_eq!(status.unwrap()["status"], "unknown");
    }

    // Named rightly, it lands; the answer names the sender it was admitted under.
    let (status, answer) = net
        .post(
            0,
            "/v1/transactions",
            &item(&ours, Some(alice.address()), Some(CHAIN_ID)),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        answer["from"].as_str().unwrap().parse::<Address>().unwrap(),
        alice.address()
    );
    net.wait_included(0, &ours.hash().to_string(), T).await;

    // Without `from`, as clients before it: admitted under the recovered sender, which the
    // answer names. A signature for another chain then lands under a stranger's nonces, and
    // the answer is how the client can tell.
    let batch = json!([
        item(&sign(&alice, 1, 1, CHAIN_ID), None, None),
        item(&foreign, None, None)
    ]);
    let froms = admitted_senders(&net, &batch).await;
    assert_eq!(froms, [alice.address(), phantom]);
    let path = format!("/v1/accounts/{phantom}/nonce?namespace=1");
    assert_eq!(net.get(0, &path).await.unwrap()["next_nonce"], 1);

    // A bundle without `from` is admitted too, and one with it.
    let bundle =
        json!({ "txs": [item(&sign(&alice, 2, 0, CHAIN_ID), None, None)], "maxHeight": 100_000 });
    let (status, answer) = net.post(0, "/v1/bundles", &bundle).await;
    assert_eq!(status, 202, "{answer}");
    let named = item(
        &sign(&bob, 2, 0, CHAIN_ID),
        Some(bob.address()),
        Some(CHAIN_ID),
    );
    let bundle = json!({ "txs": [named], "maxHeight": 100_000 });
    let (status, answer) = net.post(0, "/v1/bundles", &bundle).await;
    assert_eq!(status, 202, "{answer}");

    // With their public keys, in either form, a batch's senders are checked together: none
    // is recovered, and the answers name them.
    let (carol, dave) = (SecretKey::random(), SecretKey::random());
    let batch = json!([
        with_key(
            item(&sign(&carol, 1, 0, CHAIN_ID), None, None),
            &carol,
            false
        ),
        with_key(
            item(&sign(&dave, 1, 0, CHAIN_ID), Some(dave.address()), None),
            &dave,
            true
        ),
    ]);
    let (recovered, batched) = (
        verifications(&net, "recover").await,
        verifications(&net, "batch").await,
    );
    let froms = admitted_senders(&net, &batch).await;
    assert_eq!(froms, [carol.address(), dave.address()]);
    assert_eq!(verifications(&net, "recover").await, recovered);
    assert_eq!(verifications(&net, "batch").await, batched + 2);
}
