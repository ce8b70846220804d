//! The bundle rules: built whole or not at all, contiguous and in order, only within their
//! terms, never split by a proposer.

use std::sync::Arc;

use ordo_types::{Bundle, BundleTerms, Bytes, SecretKey, Transaction, B256};

use super::{check, template, world, World};
use crate::block::{assemble, verify};
use crate::{BlockError, BlockLimits, Candidate};

fn tx(key: &SecretKey, namespace: u64, nonce: u64) -> Transaction {
    Transaction::sign(namespace, nonce, Bytes::from(vec![nonce as u8; 40]), key, 7)
}

fn bundle(txs: Vec<Transaction>, max_height: u64) -> Arc<Bundle> {
    let terms = BundleTerms {
        max_height,
        ..BundleTerms::default()
    };
    Arc::new(Bundle::new(terms, txs).unwrap())
}

fn build(world: &World, candidates: Vec<Candidate>, limits: &BlockLimits) -> ordo_types::Block {
    assemble(&template(), 1_500, &[], candidates, limits, &world.facts())
}

/// The transactions of namespace `ns`'s group, by hash.
fn group(block: &ordo_types::Block, ns: u64) -> Vec<B256> {
    block
        .body
        .namespace(ns)
        .map(|g| g.entries.iter().map(|e| e.hash()).collect())
        .unwrap_or_default()
}

#[test]
fn a_bundle_lands_whole_each_part_contiguous_in_order_and_is_accepted() {
    let (alice, bob, carol) = (
        SecretKey::random(),
        SecretKey::random(),
        SecretKey::random(),
    );
    let single = tx(&carol, 1, 0);
    let b = bundle(vec![tx(&alice, 2, 0), tx(&bob, 1, 0), tx(&alice, 2, 1)], 5);
    let after = tx(&carol, 1, 1);
    let candidates = vec![
        Candidate::Tx(single.clone()),
        Candidate::Bundle(b.clone()),
        Candidate::Tx(after.clone()),
    ];
    let block = build(&world(), candidates, &BlockLimits::default());
    let hashes: Vec<B256> = b.txs().iter().map(Transaction::hash).collect();
    assert_eq!(
        group(&block, 1),
        vec![single.hash(), hashes[1], after.hash()]
    );
    assert_eq!(group(&block, 2), vec![hashes[0], hashes[2]]);
    let (placed, proof) = block.body.bundle(&b.hash()).unwrap();
    assert_eq!(placed.part(1).unwrap().start, 1);
    assert_eq!(placed.part(2).unwrap().start, 0);
    proof.verify(&block.header.bundle_root, placed).unwrap();
    // A validator holding the bundle accepts it placed whole.
    let mut validator = world();
    validator
        .known
        .extend(hashes.iter().map(|h| (*h, b.hash())));
    verify(&block, &check(), &validator.facts()).unwrap();
}

#[test]
fn a_bundle_that_does_not_fit_or_has_a_bad_part_is_left_out_whole() {
    let (alice, bob) = (SecretKey::random(), SecretKey::random());
    // Bob's second transaction skips a nonce: the whole bundle stays out, and Alice's nonce 0
    // is still free for her single transaction after it.
    let bad = bundle(vec![tx(&alice, 1, 0), tx(&bob, 2, 1)], 0);
    let single = tx(&alice, 1, 0);
    let block = build(
        &world(),
        vec![Candidate::Bundle(bad), Candidate::Tx(single.clone())],
        &BlockLimits::default(),
    );
    assert!(block.body.bundles.is_empty());
    assert_eq!(group(&block, 1), vec![single.hash()]);
    assert!(group(&block, 2).is_empty());

    // Three transactions do not fit a limit of two: none of them lands, a later single does.
    let big = bundle((0..3).map(|n| tx(&bob, 2, n)).collect(), 0);
    let limits = BlockLimits {
        max_transactions: 2,
        ..BlockLimits::default()
    };
    let block = build(
        &world(),
        vec![Candidate::Bundle(big), Candidate::Tx(tx(&alice, 1, 0))],
        &limits,
    );
    assert_eq!(block.header.tx_count, 1);
    assert!(block.body.bundles.is_empty());
    verify(&block, &check(), &world().facts()).unwrap();
}

#[test]
fn a_bundle_past_its_terms_is_not_built_and_a_block_placing_it_is_refused() {
    let key = SecretKey::random();
    // The template's height is 5.
    let late = bundle(vec![tx(&key, 1, 0)], 4);
    let block = build(
        &world(),
        vec![Candidate::Bundle(late.clone())],
        &BlockLimits::default(),
    );
    assert_eq!(block.header.tx_count, 0);

    let in_time = bundle(late.txs().to_vec(), 5);
    let mut block = build(
        &world(),
        vec![Candidate::Bundle(in_time)],
        &BlockLimits::default(),
    );
    block.body.bundles = vec![late.placed(|_| 0)];
    block.header.bundle_root = block.body.bundle_root();
    assert!(matches!(
        verify(&block, &check(), &world().facts()),
        Err(BlockError::BundleOutOfTerms { bundle, height: 5, .. }) if bundle == late.hash()
    ));
}

#[test]
fn a_proposer_that_splits_a_bundle_gets_no_vote() {
    let (alice, bob) = (SecretKey::random(), SecretKey::random());
    let b = bundle(vec![tx(&alice, 1, 0), tx(&bob, 2, 0)], 0);
    let mut validator = world();
    validator
        .known
        .extend(b.txs().iter().map(|t| (t.hash(), b.hash())));

    // The first part alone, as a single transaction.
    let first = b.txs()[0].clone();
    let alone = build(
        &world(),
        vec![Candidate::Tx(first.clone())],
        &BlockLimits::default(),
    );
    assert_eq!(alone.header.tx_count, 1);
    assert!(matches!(
        verify(&alone, &check(), &validator.facts()),
        Err(BlockError::BundleSplit { hash, bundle }) if hash == first.hash() && bundle == b.hash()
    ));
    // Nor does a node that holds the bundle build the part alone.
    let own = build(
        &validator,
        vec![Candidate::Tx(first.clone())],
        &BlockLimits::default(),
    );
    assert_eq!(own.header.tx_count, 0);

    // The first part inside another bundle (other terms): still split.
    let other = bundle(vec![first], 9);
    let regrouped = build(
        &world(),
        vec![Candidate::Bundle(other)],
        &BlockLimits::default(),
    );
    assert!(matches!(
        verify(&regrouped, &check(), &validator.facts()),
        Err(BlockError::BundleSplit { .. })
    ));
}

#[test]
fn a_foreign_transaction_between_the_parts_of_a_namespace_is_refused() {
    let (alice, carol) = (SecretKey::random(), SecretKey::random());
    let b = bundle(vec![tx(&alice, 1, 0), tx(&alice, 1, 1)], 0);
    let mut block = build(
        &world(),
        vec![Candidate::Bundle(b)],
        &BlockLimits::default(),
    );
    // Slip Carol's transaction between the two, keeping the placement.
    let group = &mut block.body.namespaces[0].entries;
    group.insert(1, tx(&carol, 1, 0).into());
    block.header.tx_count = 3;
    block.header.namespace_root = block.body.namespace_root();
    assert!(matches!(
        verify(&block, &check(), &world().facts()),
        Err(BlockError::Commitments(ordo_types::Error::InvalidBundle(_)))
    ));
}
