//! Golden vectors for clients in other languages: a fixed master secret, payloads sealed with
//! a seeded generator, their identities, the keys that open them, and one encrypted transaction
//! signed by a fixed key (its EIP-712 signing hash, signature, hash and JSON). `vectors.json` is
//! committed; this test checks the code still produces exactly it (`ORDO_UPDATE_FIXTURES=1`
//! rewrites it).
//! `enc/js` opens these with an independent implementation and seals its own for this crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unused_crate_dependencies
)]

use alloy_primitives::{hex, Address, Bytes};
use commonware_codec::Encode as _;
use commonware_cryptography::bls12381::primitives::group::Private;
use commonware_cryptography::bls12381::primitives::ops;
use commonware_math::algebra::Random;
use ordo_enc::{
    encrypt_transaction, identity_of, open, seal, DecryptionKey, EncryptionKey, Recipient, Variant,
    KEY_NAMESPACE,
};
use ordo_types::{Decode, Encode, Sealed, SecretKey, Transaction};
use rand_010::rngs::StdRng;
use rand_010::SeedableRng;
use serde_json::{json, Value};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors.json");

fn master() -> (Private, EncryptionKey) {
    let private = Private::random(StdRng::seed_from_u64(0x0d0));
    let public = ops::compute_public::<Variant>(&private);
    (private, EncryptionKey { key_id: 3, public })
}

fn vectors() -> Value {
    let (private, key) = master();
    let mut rng = StdRng::seed_from_u64(1);
    let cases: Vec<Value> = [
        (7u64, 42u64, 0u64, Bytes::new()),
        (7, 42, 1, Bytes::from_static(b"swap 10 ETH for USDC")),
        (1337, 1, 9, Bytes::from(vec![0xab; 61])),
        (
            1337,
            1,
            10,
            Bytes::from((0..=255u8).cycle().take(3000).collect::<Vec<_>>()),
        ),
    ]
    .into_iter()
    .map(|(chain_id, namespace, nonce, payload)| {
        let to = Recipient {
            chain_id,
            namespace,
            sender: Address::repeat_byte(0x5e),
            nonce,
        };
        let sealed = seal(&mut rng, &key, &to, &payload).unwrap();
        let identity = identity_of(&sealed, &to);
        let dk = DecryptionKey(ops::sign_message::<Variant>(
            &private,
            KEY_NAMESPACE,
            identity.as_slice(),
        ));
        assert_eq!(open(&dk, &sealed).unwrap(), payload);
        json!({
            "chain_id": chain_id,
            "namespace": namespace,
            "sender": to.sender,
            "nonce": nonce,
            "payload": payload,
            "sealed": Bytes::from(sealed.encode()),
            "identity": identity,
            "decryption_key": Bytes::from(dk.to_bytes().to_vec()),
        })
    })
    .collect();
    json!({
        "about": "ordo-enc golden vectors: see docs/FORMATS.md (sealed payloads) and docs/ENCRYPTION.md",
        "master_secret": Bytes::from(private.encode().to_vec()),
        "key_id": key.key_id,
        "public_key": Bytes::from(key.public_bytes().to_vec()),
        "key_namespace": String::from_utf8(KEY_NAMESPACE.to_vec()).unwrap(),
        "cases": cases,
        "encrypted_transaction": encrypted_transaction(&mut rng, &key),
    })
}

/// An encrypted transaction as `ordo tx send --encrypt` makes it, signed by a fixed key: the
/// EIP-712 digest its sender signs, the signature, the transaction hash and the JSON the API
/// takes (`POST /v1/transactions`).
fn encrypted_transaction(rng: &mut StdRng, key: &EncryptionKey) -> Value {
    let (chain_id, namespace, nonce) = (1337u64, 1u64, 9u64);
    let secret = SecretKey::from_bytes(&[0x4b; 32]).unwrap();
    let payload = b"sealed by a dapp, signed for the sender";
    let tx = encrypt_transaction(rng, key, chain_id, namespace, nonce, payload, &secret).unwrap();
    assert_eq!(tx.recover_sender(chain_id).unwrap(), secret.address());
    let signing_hash =
        Transaction::encrypted_signing_hash(namespace, nonce, tx.payload(), chain_id);
    json!({
        "secret_key": Bytes::from(secret.to_bytes().to_vec()),
        "sender": secret.address(),
        "chain_id": chain_id,
        "payload": Bytes::from_static(payload),
        "signing_hash": signing_hash,
        "hash": tx.hash(),
        "transaction": tx,
    })
}

#[test]
fn golden_vectors() {
    let fresh = serde_json::to_string_pretty(&vectors()).unwrap() + "\n";
    if std::env::var_os("ORDO_UPDATE_FIXTURES").is_some() {
        std::fs::write(PATH, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(PATH).expect("enc/tests/vectors.json");
    assert_eq!(
        committed, fresh,
        "rerun with ORDO_UPDATE_FIXTURES=1 if the format changed on purpose"
    );
}

/// Payloads another implementation sealed (`enc/js`, whose test writes the file) open here with
/// the keys this crate computes, and both sides agree on their identities and keys.
#[test]
fn payloads_sealed_elsewhere_open() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sealed-by-js.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        panic!("{path} is missing: run the enc/js test (make test-js-enc) to write it");
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    let (private, key) = master();
    assert_eq!(
        doc["public_key"].as_str().unwrap(),
        hex::encode_prefixed(key.public_bytes())
    );
    let cases = doc["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let hexed = |k: &str| hex::decode(case[k].as_str().unwrap()).unwrap();
        let sealed = Sealed::decode(&hexed("sealed")).unwrap();
        assert_eq!(sealed.key_id, key.key_id);
        let to = Recipient {
            chain_id: case["chain_id"].as_u64().unwrap(),
            namespace: case["namespace"].as_u64().unwrap(),
            sender: case["sender"].as_str().unwrap().parse().unwrap(),
            nonce: case["nonce"].as_u64().unwrap(),
        };
        let identity = identity_of(&sealed, &to);
        assert_eq!(identity.as_slice(), hexed("identity"));
        let dk = DecryptionKey(ops::sign_message::<Variant>(
            &private,
            KEY_NAMESPACE,
            identity.as_slice(),
        ));
        assert_eq!(open(&dk, &sealed).unwrap().as_ref(), hexed("payload"));
        // The key the other implementation computed is the same point.
        assert_eq!(
            DecryptionKey::from_bytes(&hexed("decryption_key")).unwrap(),
            dk
        );
    }
}
