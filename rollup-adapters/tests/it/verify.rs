//! The verifier accepts every honest slice and refuses every tampered one, saying why.

use ordo_rollup_adapters::{ClientError, NamespaceBlock, Verifier};
use ordo_types::{Auth, Entry, Error, NamespaceEntries, NamespaceProof, Transaction, B256};
use proptest::prelude::*;

use crate::fixture::{forced, key, signed, Chain, CHAIN_ID};

/// Namespaces 3, 7 (three entries), 9, 12.
fn chain() -> Chain {
    let mut chain = Chain::new(4);
    chain.push(vec![
        NamespaceEntries {
            namespace: 7,
            entries: vec![
                signed(7, 0, b"one"),
                signed(7, 1, b"two"),
                forced(0, b"three"),
            ],
        },
        NamespaceEntries {
            namespace: 3,
            entries: vec![signed(3, 0, b"x")],
        },
        NamespaceEntries {
            namespace: 9,
            entries: vec![signed(9, 0, b"y"), signed(9, 1, b"z")],
        },
        NamespaceEntries {
            namespace: 12,
            entries: vec![forced(1, b"w")],
        },
    ]);
    chain.extend(2);
    chain
}

fn verifier(chain: &Chain) -> Verifier {
    Verifier::new(CHAIN_ID, chain.set.clone())
}

fn bad_proof(r: Result<impl std::fmt::Debug, ClientError>) {
    match r {
        Err(ClientError::BadProof(Error::InvalidProof(_))) => {}
        other => panic!("expected BadProof, got {other:?}"),
    }
}

#[test]
fn honest_slices_verify_for_present_and_absent_namespaces() {
    let chain = chain();
    let v = verifier(&chain);
    for height in 1..=3 {
        for ns in [0, 2, 3, 5, 7, 8, 9, 10, 12, 13, u64::MAX] {
            let slice = chain.slice(ns, height);
            let expected = slice.transactions.clone();
            let verified = v.verify(ns, height, slice.clone()).unwrap();
            assert_eq!(verified.entries(), expected.as_slice());
            assert_eq!(verified.height(), height);
            assert_eq!(verified.namespace(), ns);
            assert_eq!(
                verified.block_hash(),
                chain.blocks[height as usize - 1].0.hash()
            );
            // The same through JSON, as the API serves it.
            let json = serde_json::to_vec(&slice).unwrap();
            assert_eq!(v.verify_json(ns, height, &json).unwrap(), verified);
        }
    }
    let one = v.verify(7, 1, chain.slice(7, 1)).unwrap();
    let two = v.verify(7, 2, chain.slice(7, 2)).unwrap();
    two.check_follows(&one).unwrap();
    assert!(matches!(
        one.check_follows(&two),
        Err(ClientError::HeightMismatch { .. })
    ));
}

#[test]
fn tampered_transactions_fail_the_proof() {
    let chain = chain();
    let v = verifier(&chain);
    let honest = chain.slice(7, 1);
    assert_eq!(honest.transactions.len(), 3);

    let mut removed = honest.clone();
    removed.transactions.remove(1);
    bad_proof(v.verify(7, 1, removed));

    let mut added = honest.clone();
    added.transactions.push(signed(7, 2, b"sneaked in"));
    bad_proof(v.verify(7, 1, added));

    let mut reordered = honest.clone();
    reordered.transactions.swap(0, 1);
    bad_proof(v.verify(7, 1, reordered));

    // A transaction moved over from namespace 9's group.
    let mut moved = honest.clone();
    moved
        .transactions
        .push(chain.slice(9, 1).transactions[0].clone());
    bad_proof(v.verify(7, 1, moved));

    // Namespace 9's entries and proof passed off as namespace 7's.
    let mut other = chain.slice(9, 1);
    other.namespace = 7;
    bad_proof(v.verify(7, 1, other));

    // A replaced payload.
    let mut replaced = honest.clone();
    if let Entry::Signed(tx) = &mut replaced.transactions[0] {
        if let Auth::Eip712(signature) = *tx.auth() {
            *tx = Transaction::eip712(tx.namespace(), tx.nonce(), b"changed".into(), signature);
        }
    }
    bad_proof(v.verify(7, 1, replaced));

    // Everything hidden under an inclusion proof.
    let mut emptied = honest.clone();
    emptied.transactions.clear();
    bad_proof(v.verify(7, 1, emptied));
}

#[test]
fn an_absence_proof_cannot_hide_a_present_namespace() {
    let chain = chain();
    let v = verifier(&chain);
    // The absence proofs of namespaces 6 and 8 (neighbours of 7), and one built from 7's
    // own neighbours 3 and 9, each claimed for namespace 7 with no entries.
    let mut candidates = vec![chain.slice(6, 1).proof, chain.slice(8, 1).proof];
    if let (
        NamespaceProof::Absent {
            leaf_count,
            left: Some(left),
            ..
        },
        NamespaceProof::Absent {
            right: Some(right), ..
        },
    ) = (chain.slice(5, 1).proof, chain.slice(8, 1).proof)
    {
        candidates.push(NamespaceProof::Absent {
            leaf_count,
            left: Some(left),
            right: Some(right),
        });
    } else {
        panic!("expected absence proofs");
    }
    for proof in candidates {
        let mut hidden = chain.slice(7, 1);
        hidden.transactions.clear();
        hidden.proof = proof;
        bad_proof(v.verify(7, 1, hidden));
    }
}

#[test]
fn a_proof_from_another_block_does_not_match_the_header() {
    let chain = chain();
    let v = verifier(&chain);
    let mut mixed = chain.slice(7, 1);
    let other = chain.slice(7, 2);
    mixed.transactions = other.transactions;
    mixed.proof = other.proof;
    bad_proof(v.verify(7, 1, mixed));
}

#[test]
fn a_certificate_without_two_thirds_is_refused() {
    let chain = chain();
    let v = verifier(&chain);
    let header = &chain.blocks[0].0.header;
    // 2 of 4 equal validators: exactly half. 3 of 4 passes.
    let mut weak = chain.slice(7, 1);
    weak.certificate = chain.certify(header, 0, &[0, 1]);
    match v.verify(7, 1, weak) {
        Err(ClientError::CertificateInvalid(Error::InsufficientPower { signed, total })) => {
            assert_eq!((signed, total), (200, 400));
        }
        other => panic!("expected InsufficientPower, got {other:?}"),
    }
    let mut enough = chain.slice(7, 1);
    enough.certificate = chain.certify(header, 0, &[0, 1, 3]);
    v.verify(7, 1, enough).unwrap();
    // No signatures at all.
    let mut none = chain.slice(7, 1);
    none.certificate.signatures.clear();
    assert!(matches!(
        v.verify(7, 1, none),
        Err(ClientError::CertificateInvalid(
            Error::InsufficientPower { .. }
        ))
    ));
}

#[test]
fn forged_or_foreign_signatures_are_refused() {
    let chain = chain();
    let v = verifier(&chain);
    let honest = chain.slice(7, 1);
    let digest = honest.certificate.digest(CHAIN_ID);

    // Validator 2's slot signed by an outsider's key.
    let mut forged = honest.clone();
    let slot = forged
        .certificate
        .signatures
        .iter()
        .position(|s| s.signer == chain.keys[2].address())
        .unwrap();
    forged.certificate.signatures[slot].signature = key(50).sign_digest(&digest);
    assert!(matches!(
        v.verify(7, 1, forged),
        Err(ClientError::CertificateInvalid(Error::BadSignature))
    ));

    // A signer outside the trusted set.
    let mut outsider = honest.clone();
    outsider.certificate.signatures[0].signer = key(50).address();
    outsider.certificate.signatures[0].signature = key(50).sign_digest(&digest);
    outsider.certificate.signatures.sort_by_key(|s| s.signer);
    assert!(matches!(
        v.verify(7, 1, outsider),
        Err(ClientError::CertificateInvalid(Error::UnknownSigner(_)))
    ));

    // A certificate signed for another round than it says.
    let mut wrong_round = honest.clone();
    wrong_round.certificate.round = 1;
    assert!(matches!(
        v.verify(7, 1, wrong_round),
        Err(ClientError::CertificateInvalid(Error::BadSignature))
    ));
}

#[test]
fn a_header_that_does_not_hash_to_the_certified_hash_is_refused() {
    let chain = chain();
    let v = verifier(&chain);
    // One header field changed: the certificate no longer signs this header.
    let mut changed = chain.slice(7, 1);
    changed.header.timestamp_ms += 1;
    changed.block_hash = changed.header.hash();
    assert!(matches!(
        v.verify(7, 1, changed),
        Err(ClientError::HeaderHashMismatch {
            what: "certificate",
            ..
        })
    ));
    // A header whose namespace root was replaced to fit tampered entries.
    let mut rerooted = chain.slice(7, 1);
    rerooted.transactions.pop();
    rerooted.header.namespace_root = B256::repeat_byte(1);
    assert!(matches!(
        v.verify(7, 1, rerooted),
        Err(ClientError::HeaderHashMismatch { .. })
    ));
    // Block 2's (valid) certificate attached to block 1.
    let mut swapped = chain.slice(7, 1);
    swapped.certificate = chain.slice(7, 2).certificate;
    assert!(matches!(
        v.verify(7, 1, swapped),
        Err(ClientError::HeightMismatch {
            what: "certificate",
            ..
        })
    ));
    // The answer's own block_hash field disagreeing with its header.
    let mut claimed = chain.slice(7, 1);
    claimed.block_hash = B256::repeat_byte(2);
    assert!(matches!(
        v.verify(7, 1, claimed),
        Err(ClientError::HeaderHashMismatch {
            what: "block_hash field",
            ..
        })
    ));
}

#[test]
fn wrong_namespace_height_chain_or_committee_is_refused() {
    let chain = chain();
    let v = verifier(&chain);
    assert!(matches!(
        v.verify(8, 1, chain.slice(7, 1)),
        Err(ClientError::NamespaceMismatch {
            expected: 8,
            got: 7
        })
    ));
    assert!(matches!(
        v.verify(7, 2, chain.slice(7, 1)),
        Err(ClientError::HeightMismatch {
            expected: 2,
            got: 1,
            ..
        })
    ));
    let other_chain = Verifier::new(CHAIN_ID + 1, chain.set.clone());
    assert!(matches!(
        other_chain.verify(7, 1, chain.slice(7, 1)),
        Err(ClientError::ChainIdMismatch { .. })
    ));
    // A node run by another committee (say, a fork with keys the rollup never trusted).
    let fork = Chain::new(3);
    let untrusted = Verifier::new(CHAIN_ID, fork.set.clone());
    let err = untrusted.verify(7, 1, chain.slice(7, 1)).unwrap_err();
    assert!(matches!(err, ClientError::UnknownValidatorSet { .. }));
    assert!(err.is_verification_failure());
    assert_eq!(err.code(), "UNKNOWN_VALIDATOR_SET");
}

#[test]
fn tampered_json_is_refused() {
    let chain = chain();
    let v = verifier(&chain);
    let json = serde_json::to_string(&chain.slice(7, 1)).unwrap();
    // One payload byte changed in the JSON text.
    let tampered = json.replacen("0x6f6e65", "0x6f6e66", 1); // "one" -> "onf"
    assert_ne!(tampered, json);
    bad_proof(v.verify_json(7, 1, tampered.as_bytes()));
    // Not JSON, or the wrong shape.
    for garbage in [&b"{"[..], b"[]", b"{\"height\": 1}", b""] {
        assert!(matches!(
            v.verify_json(7, 1, garbage),
            Err(ClientError::Malformed(_))
        ));
    }
}

fn arb_groups() -> impl Strategy<Value = Vec<NamespaceEntries>> {
    proptest::collection::btree_map(
        0u64..40,
        proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..24)),
            1..5,
        ),
        0..10,
    )
    .prop_map(|groups| {
        groups
            .into_iter()
            .map(|(namespace, entries)| NamespaceEntries {
                namespace,
                entries: entries
                    .into_iter()
                    .enumerate()
                    .map(|(i, (is_signed, payload))| {
                        if is_signed {
                            signed(namespace, i as u64, &payload)
                        } else {
                            forced(i as u64, &payload)
                        }
                    })
                    .collect(),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_namespace_of_random_blocks_verifies_and_tampering_fails(groups in arb_groups(), pick in any::<usize>()) {
        let mut chain = Chain::new(4);
        chain.push(groups.clone());
        let v = verifier(&chain);
        let present: Vec<u64> = groups.iter().map(|g| g.namespace).collect();
        for ns in 0..41u64 {
            let slice = chain.slice(ns, 1);
            prop_assert_eq!(slice.transactions.is_empty(), !present.contains(&ns));
            prop_assert!(v.verify(ns, 1, slice).is_ok(), "namespace {}", ns);
        }
        for (i, g) in groups.iter().enumerate() {
            let honest: NamespaceBlock = chain.slice(g.namespace, 1);
            let n = honest.transactions.len();
            let mut removed = honest.clone();
            removed.transactions.remove(pick % n);
            prop_assert!(matches!(v.verify(g.namespace, 1, removed), Err(ClientError::BadProof(_))));
            let mut added = honest.clone();
            added.transactions.insert(pick % (n + 1), forced(999, b"extra"));
            prop_assert!(matches!(v.verify(g.namespace, 1, added), Err(ClientError::BadProof(_))));
            if n > 1 && honest.transactions[0] != honest.transactions[1] {
                let mut reordered = honest.clone();
                reordered.transactions.swap(0, 1);
                prop_assert!(matches!(v.verify(g.namespace, 1, reordered), Err(ClientError::BadProof(_))));
            }
            if let Some(other) = groups.get((i + 1) % groups.len()).filter(|o| o.namespace != g.namespace) {
                let mut moved = honest.clone();
                moved.transactions.push(other.entries[0].clone());
                prop_assert!(matches!(v.verify(g.namespace, 1, moved), Err(ClientError::BadProof(_))));
            }
            let mut hidden = honest.clone();
            hidden.transactions.clear();
            hidden.proof = chain.slice(g.namespace.wrapping_add(1000), 1).proof;
            prop_assert!(matches!(v.verify(g.namespace, 1, hidden), Err(ClientError::BadProof(_))));
        }
    }
}

#[test]
fn genesis_files_are_the_trust_root() {
    use ordo_rollup_adapters::{Genesis, GenesisError};
    let chain = Chain::new(4);
    let validators = serde_json::to_value(&chain.set).unwrap();
    let text = serde_json::json!({
        "chain_id": CHAIN_ID,
        "genesis_time_ms": 5,
        "validators": validators,
        "rollups": [{"namespace": 7, "name": "seven", "adapter": "raw"}],
        "something_new": true,
    })
    .to_string();
    let genesis = Genesis::from_json(&text).unwrap();
    assert_eq!(genesis.chain_id, CHAIN_ID);
    assert_eq!(genesis.validators, chain.set);
    assert_eq!(genesis.rollup(7).unwrap().adapter, "raw");
    assert!(genesis.rollup(8).is_none());
    let v = Verifier::from_genesis(&genesis);
    let mut one = Chain::new(4);
    one.extend(1);
    v.verify(7, 1, one.slice(7, 1)).unwrap();

    // Without rollups; with a broken committee; not a file.
    let bare = serde_json::json!({"chain_id": 1, "genesis_time_ms": 0, "validators": validators});
    assert!(Genesis::from_json(&bare.to_string())
        .unwrap()
        .rollups
        .is_empty());
    let mut broken = bare.clone();
    broken["validators"][0]["voting_power"] = serde_json::json!(0);
    assert!(matches!(
        Genesis::from_json(&broken.to_string()),
        Err(GenesisError::Json(_))
    ));
    assert!(matches!(
        Genesis::load("/nonexistent/genesis.json".as_ref()),
        Err(GenesisError::Io { .. })
    ));
}
