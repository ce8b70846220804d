//! The encrypted lane's admission on real nodes: a network dealt a key at genesis names it,
//! takes a transaction sealed to it and orders it; one sealed to another key, or sent to a
//! network without the lane, is refused with its code and changes nothing.

use std::time::{Duration, Instant};

use ordo_enc::{encrypt_transaction, EncryptionKey};
use ordo_types::{SecretKey, Transaction};
use rand_010::SeedableRng;
use serde_json::Value;

use crate::harness::Net;

const CHAIN_ID: u64 = 1337;
const T: Duration = Duration::from_secs(60);

async fn submit(net: &Net, tx: &Transaction) -> (u16, Value) {
    let resp = net
        .client
        .post(format!("{}/v1/transactions", net.apis[0]))
        .json(tx)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn a_transaction_sealed_to_the_genesis_key_is_ordered_and_others_are_refused() {
    let net = Net::start_with(1, 0, &["--encryption".to_owned()], |_, _| {});
    net.wait_height(&[0], 1, T).await;
    let info = net.get(0, "/v1/encryption").await.expect("the key");
    let public = alloy_primitives::hex::decode(info["public_key"].as_str().unwrap()).unwrap();
    let key = EncryptionKey::from_bytes(info["key_id"].as_u64().unwrap(), &public).unwrap();
    assert_eq!(info["namespaces"][0], 1);

    let mut rng = rand_010::rngs::StdRng::seed_from_u64(1);
    let sender = SecretKey::random();
    let sealed = encrypt_transaction(&mut rng, &key, CHAIN_ID, 1, 0, b"hidden", &sender).unwrap();
    let (status, body) = submit(&net, &sealed).await;
    assert_eq!(status, 202, "{body}");
    let path = format!("/v1/transactions/{}", sealed.hash());
    let deadline = Instant::now() + T;
    while net.get(0, &path).await.unwrap()["status"] != "included" {
        assert!(Instant::now() < deadline, "never included");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Sealed to another key id: refused, and not in the pool.
    let other = EncryptionKey {
        key_id: key.key_id + 1,
        ..key
    };
    let stale = encrypt_transaction(&mut rng, &other, CHAIN_ID, 1, 1, b"x", &sender).unwrap();
    let (status, body) = submit(&net, &stale).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("WRONG_ENCRYPTION_KEY"))
    );
    let path = format!("/v1/transactions/{}", stale.hash());
    assert_eq!(net.get(0, &path).await.unwrap()["status"], "unknown");

    // In a batch, an "encrypted" item whose payload is no envelope is refused alone.
    let next = encrypt_transaction(&mut rng, &key, CHAIN_ID, 1, 1, b"next", &sender).unwrap();
    let mut not_sealed = serde_json::to_value(&next).unwrap();
    not_sealed["payload"] = "0x1234".into();
    let resp = net
        .client
        .post(format!("{}/v1/transactions/batch", net.apis[0]))
        .json(&serde_json::json!([next, not_sealed]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["results"][0]["hash"], next.hash().to_string());
    assert_eq!(body["results"][1]["code"], "INVALID_PAYLOAD");

    // The CLI seals to the key the node names, and the transaction lands sealed.
    let out = send_encrypted(&net);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("included at height"), "{stdout}");
    let hash = stdout.lines().next().unwrap();
    let status = net
        .get(0, &format!("/v1/transactions/{hash}"))
        .await
        .unwrap();
    let height = status["height"].as_u64().unwrap();
    let slice = net
        .get(0, &format!("/v1/namespaces/1/blocks/{height}"))
        .await
        .unwrap();
    let landed = &slice["transactions"][status["index"].as_u64().unwrap() as usize];
    assert_eq!(landed["auth"], "encrypted", "{landed}");
}

/// `ordo tx send --encrypt --wait` of a fresh key's payload to namespace 1 of node 0.
fn send_encrypted(net: &Net) -> std::process::Output {
    let key = net.dir.path().join("alice.json");
    if !key.exists() {
        let out = crate::harness::ordo()
            .args(["keys", "new", "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    crate::harness::ordo()
        .args([
            "tx",
            "send",
            "--encrypt",
            "--wait",
            "--node",
            &net.apis[0],
            "--key",
        ])
        .arg(&key)
        .args(["--namespace", "1", "--data", "0x68656c6c6f"])
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_network_without_the_lane_says_so_and_refuses_encrypted_transactions() {
    let net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 1, T).await;
    let resp = net
        .client
        .get(format!("{}/v1/encryption", net.apis[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "ENC_KEY_UNAVAILABLE");

    let mut rng = rand_010::rngs::StdRng::seed_from_u64(2);
    let (sharing, _) = ordo_enc::deal(&mut rng, 4);
    let key = EncryptionKey {
        key_id: 1,
        public: *sharing.public(),
    };
    let tx =
        encrypt_transaction(&mut rng, &key, CHAIN_ID, 1, 0, b"x", &SecretKey::random()).unwrap();
    let (status, body) = submit(&net, &tx).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("WRONG_TX_KIND"))
    );
    let out = send_encrypted(&net);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ENC_KEY_UNAVAILABLE"), "{stderr}");
}
