//! The HTTP API of a real node: transactions land with proofs; bad input gets clear errors.

use std::io::Write;
use std::time::{Duration, Instant};

use ordo_types::{Bytes, Entry, NamespaceProof, SecretKey, Transaction, B256};
use serde_json::{json, Value};

use crate::harness::{set, Net};

const CHAIN_ID: u64 = 1337;

#[tokio::test]
async fn a_transaction_lands_in_its_namespace_with_a_valid_proof() {
    let net = Net::start(4, 0, |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(60))
        .await;
    let tx = Transaction::sign(
        5,
        0,
        Bytes::from_static(b"hello ordo"),
        &SecretKey::random(),
        CHAIN_ID,
    );
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/v1/transactions", net.apis[1]))
        .json(&tx)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["hash"].as_str().unwrap(), tx.hash().to_string());

    // Find the block that includes it, as seen by another node.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut height = 1;
    let landed = loop {
        assert!(Instant::now() < deadline, "transaction not included");
        let Some(block) = net.block(2, height).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let has_ns = block["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["namespace"] == 5);
        if has_ns {
            break block;
        }
        height += 1;
    };
    let root: B256 = landed["namespace_root"].as_str().unwrap().parse().unwrap();

    // Namespace 5's slice holds exactly our transaction, with a proof against the header (as
    // served by a third node, once it has the block too).
    net.wait_height(&[3], height, Duration::from_secs(60)).await;
    let slice = net
        .get(3, &format!("/v1/namespaces/5/blocks/{height}"))
        .await
        .unwrap();
    let entries: Vec<Entry> = serde_json::from_value(slice["transactions"].clone()).unwrap();
    assert_eq!(entries, vec![Entry::Signed(tx.clone())]);
    let proof: NamespaceProof = serde_json::from_value(slice["proof"].clone()).unwrap();
    proof.verify(&root, 5, &entries).unwrap();
    // The same proof does not vouch for a slice missing the transaction.
    assert!(proof.verify(&root, 5, &[]).is_err());

    // A namespace with nothing in this block gets an absence proof.
    let absent = net
        .get(3, &format!("/v1/namespaces/6/blocks/{height}"))
        .await
        .unwrap();
    let proof: NamespaceProof = serde_json::from_value(absent["proof"].clone()).unwrap();
    proof.verify(&root, 6, &[]).unwrap();
    assert!(proof.verify(&root, 5, &[]).is_err());
}

async fn post_raw(url: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_the_node_keeps_going() {
    // Blocks include nothing, so the accepted transaction stays pending for its duplicate.
    let net = Net::start(1, 0, |_, text| set(text, "limits", "max_transactions", 0));
    net.wait_height(&[0], 2, Duration::from_secs(60)).await;
    let api = &net.apis[0];
    let submit = format!("{api}/v1/transactions");
    let tx = Transaction::sign(
        1,
        0,
        Bytes::from_static(b"x"),
        &SecretKey::random(),
        CHAIN_ID,
    );
    let good = serde_json::to_value(&tx).unwrap();

    let mut cases: Vec<(&str, String, u16, &str)> = vec![
        ("not json", "{{{".into(), 400, "MALFORMED"),
        ("empty", String::new(), 400, "MALFORMED"),
        (
            "missing field",
            json!({"namespace": 1}).to_string(),
            400,
            "MALFORMED",
        ),
        (
            "negative nonce",
            {
                let mut v = good.clone();
                v["nonce"] = json!(-1);
                v.to_string()
            },
            400,
            "MALFORMED",
        ),
        (
            "bad hex payload",
            {
                let mut v = good.clone();
                v["payload"] = json!("0xzz");
                v.to_string()
            },
            400,
            "MALFORMED",
        ),
        (
            "short signature",
            {
                let mut v = good.clone();
                v["signature"] = json!("0x1234");
                v.to_string()
            },
            400,
            "MALFORMED",
        ),
    ];
    // A high-s signature is refused (`s` replaced by n - s, v flipped between 27 and 28): well-formed as
    // the OpenAPI document describes a signature, and not a valid one.
    let ordo_types::Auth::Eip712(signature) = tx.auth() else {
        unreachable!("signed as EIP-712")
    };
    let mut high_s = signature.0;
    let n = ruint_n();
    let s = alloy_primitives::U256::from_be_slice(&high_s[32..64]);
    high_s[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high_s[64] = 27 + 28 - high_s[64];
    let mut v = good.clone();
    v["signature"] = json!(format!("0x{}", hex::encode(high_s)));
    cases.push(("high-s signature", v.to_string(), 400, "BAD_SIGNATURE"));
    // Hex without its 0x, and a null for an optional field: not what the document describes.
    let mut v = good.clone();
    v["payload"] = json!("78");
    cases.push(("payload without 0x", v.to_string(), 400, "MALFORMED"));
    let mut v = good.clone();
    v["from"] = json!(null);
    cases.push(("null from", v.to_string(), 400, "MALFORMED"));
    // A well-formed signature that recovers to no key (r = 5 is not the x of a curve point).
    let mut v = good.clone();
    v["signature"] = json!(format!("0x{}05{}011b", "00".repeat(31), "00".repeat(31)));
    cases.push((
        "unrecoverable signature",
        v.to_string(),
        400,
        "BAD_SIGNATURE",
    ));

    for (name, body, status, code) in cases {
        let (got, err) = post_raw(&submit, body).await;
        assert_eq!(got, status, "{name}: {err}");
        assert_eq!(err["code"], code, "{name}: {err}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }

    // Oversized body.
    let (got, err) = post_raw(&submit, vec![b' '; 2 * 1024 * 1024]).await;
    assert_eq!(got, 413, "{err}");
    assert_eq!(err["code"], "PAYLOAD_TOO_LARGE");

    // Accepted once, then refused as a duplicate.
    let (got, _) = post_raw(&submit, good.to_string()).await;
    assert_eq!(got, 202);
    let (got, err) = post_raw(&submit, good.to_string()).await;
    assert_eq!((got, err["code"].as_str()), (409, Some("ALREADY_KNOWN")));

    // Bad paths.
    for (path, status) in [
        ("/v1/blocks/abc", 400),
        ("/v1/blocks/99999999", 404),
        ("/v1/blocks/-1", 400),
        ("/v1/namespaces/x/blocks/1", 400),
        ("/v1/nothing", 404),
    ] {
        let resp = reqwest::get(format!("{api}{path}")).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{path}");
        let err: Value = resp.json().await.unwrap();
        assert!(err["code"].is_string(), "{path}: {err}");
    }

    // Garbage on the raw sockets: the API port and the p2p port.
    let config = std::fs::read_to_string(net.home(0).join("config.toml")).unwrap();
    let p2p_port: u16 = config
        .split("/tcp/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    let api_port: u16 = api.rsplit(':').next().unwrap().parse().unwrap();
    for port in [p2p_port, api_port] {
        for _ in 0..20 {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let garbage: Vec<u8> = (0..4096).map(|_| rand::random()).collect();
                let _ = stream.write_all(&garbage);
            }
        }
    }

    // Still alive and deciding.
    let now = net.height(0).await.unwrap();
    net.wait_height(&[0], now + 3, Duration::from_secs(30))
        .await;
}

/// The order of the secp256k1 group.
fn ruint_n() -> alloy_primitives::U256 {
    "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
        .parse()
        .unwrap()
}
