//! Generates `contracts/test/fixtures/*.json` from `ordo-types` (keys, vote digests, headers,
//! validator-set hashes) and compares them with the committed files. The Forge tests
//! (`contracts/test/Fixtures.t.sol`) verify the same data on chain, so a change to a signed
//! format on either side fails a test. Regenerate on purpose with
//! `ORDO_UPDATE_FIXTURES=1 cargo test -p ordo-l1 --test it fixtures`.

use crate::common::{by_address, certificate, header, key, keys, set_of, set_with_powers};
use alloy::primitives::{hex, Address, B256};
use ordo_l1::calldata;
use ordo_types::{vote_digest, Encode, Header, SecretKey, VoteType};
use serde_json::{json, Value};
use std::path::PathBuf;

const CHAIN_ID: u64 = 4242;

fn hex_of(bytes: impl AsRef<[u8]>) -> String {
    hex::encode_prefixed(bytes)
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/test/fixtures"
    ))
    .join(name)
}

/// Compares (or, with `ORDO_UPDATE_FIXTURES=1`, writes) a fixture file.
fn check(name: &str, value: &Value) {
    let path = fixture_path(name);
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("ORDO_UPDATE_FIXTURES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} differs from what ordo-types produces now. If the format change is intended, run \
         `ORDO_UPDATE_FIXTURES=1 cargo test -p ordo-l1 --test it fixtures`, then \
         `contracts/test.sh`, and commit both.",
        path.display()
    );
}

fn vote_json(key: &SecretKey, height: u64, round: u32, vote_type: VoteType, hash: B256) -> Value {
    let digest = vote_digest(CHAIN_ID, height, round, vote_type, Some(hash));
    json!({
        "height": height,
        "round": round,
        "voteType": vote_type.as_u8(),
        "blockHash": hex_of(hash),
        "digest": hex_of(digest),
        "signature": hex_of(key.sign_digest(&digest).0),
    })
}

#[test]
fn equivocation_fixture() {
    let validator = key(101);
    let forger = key(102);
    let (a, b) = (B256::repeat_byte(0xa1), B256::repeat_byte(0xb2));
    let value = json!({
        "chainId": CHAIN_ID,
        // A test key: the Forge test signs the proof of possession with it to register.
        "secretKey": hex_of(validator.to_bytes()),
        "validator": validator.address().to_string(),
        "voteA": vote_json(&validator, 10, 1, VoteType::Precommit, a),
        "voteB": vote_json(&validator, 10, 1, VoteType::Precommit, b),
        // Not conflicting: another height.
        "voteOtherHeight": vote_json(&validator, 11, 1, VoteType::Precommit, b),
        // Not conflicting: the other vote type.
        "votePrevote": vote_json(&validator, 10, 1, VoteType::Prevote, b),
        // Forged: the same vote as B, signed by another key.
        "voteForged": vote_json(&forger, 10, 1, VoteType::Precommit, b),
    });
    check("equivocation.json", &value);
}

#[test]
fn certificate_fixture() {
    let ks = keys(1, 4);
    let set = set_of(&ks, 10);
    let h = header(CHAIN_ID, 5, &set, &set);
    let block_hash = h.hash();
    let sorted = by_address(&ks);
    // Three of four equal members: 30 of 40 > 2/3.
    let cert = certificate(CHAIN_ID, 5, 0, block_hash, &sorted[..3]);
    cert.verify(CHAIN_ID, &set).unwrap();
    let sigs = calldata::commit_signatures(&cert, &set).unwrap();
    let outsider = key(99);
    let digest = cert.digest(CHAIN_ID);
    let committee = calldata::committee(&set);
    let value = json!({
        "chainId": CHAIN_ID,
        "height": cert.height,
        "round": cert.round,
        "blockHash": hex_of(block_hash),
        "digest": hex_of(digest),
        "members": committee.members.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "powers": committee.powers,
        "validatorsHash": hex_of(set.hash()),
        "signerIndices": sigs.iter().map(|s| s.index).collect::<Vec<_>>(),
        "signatures": cert.signatures.iter().map(|s| hex_of(s.signature.0)).collect::<Vec<_>>(),
        "outsider": outsider.address().to_string(),
        "outsiderSignature": hex_of(outsider.sign_digest(&digest).0),
    });
    check("certificate.json", &value);
}

#[test]
fn rotation_fixture() {
    let current_keys = keys(1, 4);
    let current = set_of(&current_keys, 10);
    let next_keys = keys(11, 5);
    // Distinct powers, so the on-chain hash checks each power lands with its member.
    let next = set_with_powers(&next_keys, &[5, 7, 11, 13, 17]);
    let h = header(CHAIN_ID, 20, &current, &next);
    let encoded = h.encode();
    assert_eq!(encoded.len(), Header::ENCODED_LEN);
    let sorted = by_address(&current_keys);
    let cert = certificate(CHAIN_ID, 20, 1, h.hash(), &sorted[1..]);
    cert.verify(CHAIN_ID, &current).unwrap();
    let sigs = calldata::commit_signatures(&cert, &current).unwrap();
    let committee = calldata::committee(&current);
    let next_committee = calldata::committee(&next);
    let addresses = |v: &[Address]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let value = json!({
        "chainId": CHAIN_ID,
        "header": hex_of(&encoded),
        "height": h.height,
        "round": cert.round,
        "blockHash": hex_of(h.hash()),
        "members": addresses(&committee.members),
        "powers": committee.powers,
        "validatorsHash": hex_of(current.hash()),
        "signerIndices": sigs.iter().map(|s| s.index).collect::<Vec<_>>(),
        "signatures": cert.signatures.iter().map(|s| hex_of(s.signature.0)).collect::<Vec<_>>(),
        "nextMembers": addresses(&next_committee.members),
        "nextPowers": next_committee.powers,
        "nextValidatorsHash": hex_of(next.hash()),
        "nextTotalPower": next.total_power(),
    });
    check("rotation.json", &value);
}
