//! The encrypted lane's admission on real nodes: a network dealt a key at genesis names it,
//! takes a transaction sealed to it and orders it; one sealed to another key, or sent to a
//! network without the lane, is refused with its code and changes nothing. A dapp's JavaScript
//! (`enc/js`, its @noble packages installed by `make deps`) sends one as the CLI does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ordo_enc::{encrypt_transaction, identity_of, EncryptionKey, Recipient};
use ordo_types::{Address, Auth, Entry, SecretKey, Transaction};
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
    let info = net.wait_encryption(0, T).await;
    let public = alloy_primitives::hex::decode(info["public_key"].as_str().unwrap()).unwrap();
    let key = EncryptionKey::from_bytes(info["key_id"].as_u64().unwrap(), &public).unwrap();
    assert_eq!(info["namespaces"][0], 1);
    assert_eq!(info["epoch"], 0);
    assert_eq!(info["identity"], ordo_types::IDENTITY_RULE);
    assert!(ordo_types::IDENTITY_RULE.contains("ordo/enc/identity/v1"));

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

    // The block's header commits to the key; the node serves the key by that commitment, and
    // refuses a commitment that is malformed or names no key it holds.
    let block = net.block(0, height).await.unwrap();
    let commitment = key.commitment().to_string();
    assert_eq!(block["encryption_key_hash"], commitment, "{block}");
    let by_commitment = net
        .get(0, &format!("/v1/encryption/keys/{commitment}"))
        .await
        .unwrap();
    assert_eq!(by_commitment["key_id"], info["key_id"]);
    assert_eq!(by_commitment["public_key"], info["public_key"]);
    let status_of = |path: String| {
        let (client, url) = (net.client.clone(), format!("{}{path}", net.apis[0]));
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    let unknown = format!(
        "/v1/encryption/keys/{}",
        alloy_primitives::B256::repeat_byte(7)
    );
    assert_eq!(status_of(unknown).await, 404);
    let malformed = format!("/v1/encryption/keys/{}", &commitment[2..]);
    assert_eq!(status_of(malformed).await, 400);
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

/// `enc/js`, with its packages installed.
fn enc_js_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../enc/js");
    assert!(
        dir.join("node_modules/@noble/curves").is_dir()
            && dir.join("node_modules/@noble/hashes").is_dir(),
        "{} has no @noble packages: run `make deps`",
        dir.display()
    );
    dir
}

#[tokio::test]
async fn javascript_sends_encrypted_transactions_that_are_decided_with_their_payload_hidden() {
    let js = enc_js_dir();
    let net = Net::start_with(1, 0, &["--encryption".to_owned()], |_, _| {});
    net.wait_encryption(0, T).await;
    let sender = SecretKey::random();
    let plaintext = b"js dapp: swap 10 ETH for USDC, hidden until decided";
    let plaintext_hex = alloy_primitives::hex::encode(plaintext);

    // `sendEncrypted` twice with the node's nonces, then to a namespace no rollup has.
    let run = tokio::process::Command::new("node")
        .arg(js.join("send.mjs"))
        .arg(&net.apis[0])
        .arg("1")
        .arg(format!("0x{plaintext_hex}"))
        .env(
            "ORDO_PRIVATE_KEY",
            alloy_primitives::hex::encode_prefixed(sender.to_bytes()),
        )
        .current_dir(&js)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("send.mjs did not finish in 120 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "send.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    println!("{summary:#}");
    assert_eq!(
        summary["refused"]["code"], "UNKNOWN_NAMESPACE",
        "{summary:#}"
    );
    let sent = summary["sent"].as_array().expect("sent");
    assert_eq!(sent.len(), 2, "{summary:#}");

    // The node's answers to the submissions, and below what it shows of each transaction.
    let mut answers = vec![stdout];
    for (nonce, answer) in (0u64..).zip(sent) {
        assert_eq!(answer["nonce"], nonce, "{summary:#}");
        let from: Address = answer["from"].as_str().unwrap().parse().unwrap();
        assert_eq!(from, sender.address(), "{summary:#}");
        let hash = answer["hash"].as_str().unwrap();

        // Decided, under the hash the node answered.
        let path = format!("/v1/transactions/{hash}");
        let deadline = Instant::now() + T;
        let status = loop {
            let status = net.get(0, &path).await.unwrap();
            if status["status"] == "included" {
                break status;
            }
            assert!(Instant::now() < deadline, "never included: {status}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let height = status["height"].as_u64().unwrap();
        let slice = net
            .get(0, &format!("/v1/namespaces/1/blocks/{height}"))
            .await
            .unwrap();
        let landed = &slice["transactions"][status["index"].as_u64().unwrap() as usize];
        let Entry::Signed(tx) = serde_json::from_value(landed.clone()).unwrap() else {
            panic!("not a user transaction: {landed}");
        };

        // Sealed and signed as ordo-enc would: the sender's encrypted transaction, its hash,
        // and the identity the script named.
        assert!(matches!(tx.auth(), Auth::Encrypted(_)), "{landed}");
        assert_eq!(tx.hash().to_string(), hash);
        assert_eq!((tx.namespace(), tx.nonce()), (1, nonce));
        assert_eq!(tx.recover_sender(CHAIN_ID).unwrap(), sender.address());
        let to = Recipient {
            chain_id: CHAIN_ID,
            namespace: 1,
            sender: sender.address(),
            nonce,
        };
        let identity = identity_of(&tx.sealed().expect("a sealed payload"), &to);
        assert_eq!(answer["identity"], identity.to_string(), "{summary:#}");

        // What the API shows of it: its status, and the transaction as the block orders it
        // (once decided, the block's slice may also carry the opened payload, by design).
        answers.push(status.to_string());
        answers.push(landed.to_string());
    }
    let readable = String::from_utf8_lossy(plaintext).into_owned();
    for answer in &answers {
        assert!(
            !answer.contains(&plaintext_hex) && !answer.contains(&readable),
            "the plaintext shows: {answer}"
        );
    }
}
