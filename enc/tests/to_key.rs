//! Sealing to a validator's secp256k1 key (`ordo_enc::seal_to_key`): golden vectors that
//! `enc/js` reproduces and opens with @noble's ECDH (`to-key.json`, committed; this test checks
//! the code still produces exactly it, `ORDO_UPDATE_FIXTURES=1` rewrites it), and the refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unused_crate_dependencies
)]

use alloy_primitives::{hex, keccak256};
use k256::SecretKey;
use ordo_enc::{open_with_key, seal_to_key, seal_with, EncError};
use serde_json::{json, Value};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/to-key.json");

fn secret(label: &str) -> SecretKey {
    SecretKey::from_slice(keccak256(label.as_bytes()).as_slice()).unwrap()
}

fn public(secret: &SecretKey) -> Vec<u8> {
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    secret
        .public_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec()
}

fn vectors() -> Value {
    let cases: Vec<Value> = [
        ("recipient 1", "ephemeral 1", &b""[..], &b""[..]),
        (
            "recipient 1",
            "ephemeral 2",
            b"round 7 dealer 3",
            &[0x5a; 32][..],
        ),
        ("recipient 2", "ephemeral 3", b"ctx", &[0x01; 100][..]),
    ]
    .into_iter()
    .map(|(r, e, context, plaintext)| {
        let (recipient, ephemeral) = (secret(r), secret(e));
        let sealed = seal_with(&ephemeral, &public(&recipient), context, plaintext).unwrap();
        json!({
            "recipient_secret": format!("0x{}", hex::encode(recipient.to_bytes())),
            "recipient": format!("0x{}", hex::encode(public(&recipient))),
            "ephemeral_secret": format!("0x{}", hex::encode(ephemeral.to_bytes())),
            "context": format!("0x{}", hex::encode(context)),
            "plaintext": format!("0x{}", hex::encode(plaintext)),
            "sealed": format!("0x{}", hex::encode(sealed)),
        })
    })
    .collect();
    json!({
        "about": "ordo_enc::seal_to_key golden vectors: E (33) || ChaCha20-Poly1305(keccak256(\"ordo/enc/to-key/v1\" || x(e*P) || E || P), nonce 0, aad = context) || tag",
        "cases": cases,
    })
}

#[test]
fn sealing_to_a_key_matches_the_committed_vectors_and_opens() {
    let expected = vectors();
    let text = serde_json::to_string_pretty(&expected).unwrap() + "\n";
    if std::env::var_os("ORDO_UPDATE_FIXTURES").is_some() {
        std::fs::write(PATH, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(PATH).unwrap(),
        text,
        "run with ORDO_UPDATE_FIXTURES=1"
    );
    for case in expected["cases"].as_array().unwrap() {
        let bytes = |k: &str| hex::decode(case[k].as_str().unwrap()).unwrap();
        let recipient = SecretKey::from_slice(&bytes("recipient_secret")).unwrap();
        let opened = open_with_key(&recipient, &bytes("context"), &bytes("sealed")).unwrap();
        assert_eq!(opened, bytes("plaintext"));
    }
}

#[test]
fn only_the_recipient_opens_and_only_under_its_context() {
    let recipient = secret("recipient");
    let sealed = seal_to_key(
        &mut rand_010::rng(),
        &public(&recipient),
        b"ctx",
        b"a share",
    )
    .unwrap();
    assert_eq!(
        open_with_key(&recipient, b"ctx", &sealed).unwrap(),
        b"a share"
    );
    // Fresh randomness each time: sealing twice gives two different byte strings.
    let again = seal_to_key(
        &mut rand_010::rng(),
        &public(&recipient),
        b"ctx",
        b"a share",
    )
    .unwrap();
    assert_ne!(sealed, again);
    assert_eq!(
        open_with_key(&secret("someone else"), b"ctx", &sealed),
        Err(EncError::NotOpened)
    );
    assert_eq!(
        open_with_key(&recipient, b"other", &sealed),
        Err(EncError::NotOpened)
    );
    for i in 0..sealed.len() {
        let mut tampered = sealed.clone();
        tampered[i] ^= 1;
        assert!(
            open_with_key(&recipient, b"ctx", &tampered).is_err(),
            "byte {i}"
        );
    }
    assert!(open_with_key(&recipient, b"ctx", &sealed[..sealed.len() - 1]).is_err());
    assert!(open_with_key(&recipient, b"ctx", &[]).is_err());
    assert_eq!(
        seal_to_key(&mut rand_010::rng(), &[5; 33], b"", b""),
        Err(EncError::InvalidKey)
    );
}
