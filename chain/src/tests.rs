//! Unit tests of the chain core, without tokio: every rule refuses its violation, building
//! then checking agrees, and replaying a chain reaches the same state whatever the arrival
//! order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ordo_rollup_adapters::{RegisteredRollup, Rollups};
use ordo_types::{
    Address, Batch, Block, Body, Bytes, Encode, Entry, Header, InboxItem, L1Block, L1View,
    NamespaceEntries, SecretKey, Transaction, B256,
};

use crate::block::{assemble, verify, Expectation, Facts, L1Expectation, Template};
use crate::{Admission, BlockError, BlockLimits, Candidate, NonceTable, Recover};
use std::collections::HashMap;

mod bundles;
mod chain;
mod fixtures;

use fixtures::eip1559;

/// Raw rollups in namespaces 0, 1 and 2 of chain 7, and an EVM rollup (chain 901) in 901.
pub(crate) fn admission() -> Admission {
    let raw = |namespace: u64| RegisteredRollup {
        namespace,
        name: format!("raw{namespace}"),
        adapter: "raw".into(),
        chain_id: None,
        encrypted: false,
    };
    let evm = RegisteredRollup {
        namespace: 901,
        name: "evm".into(),
        adapter: "evm".into(),
        chain_id: Some(901),
        encrypted: false,
    };
    Admission::new(7, Rollups::new(&[raw(0), raw(1), raw(2), evm]).unwrap())
}

/// What the pure rules read: admission, recovered senders, decided nonces, an L1 view.
struct World {
    admission: Admission,
    nonces: NonceTable,
    l1: Option<L1View>,
    /// The bundles this validator holds: transaction hash to bundle hash.
    known: HashMap<B256, B256>,
    releases: crate::Releases,
}

impl World {
    fn facts(&self) -> Facts<'_> {
        Facts {
            admission: &self.admission,
            senders: &Recover(7),
            nonces: &self.nonces,
            l1: self.l1.as_ref(),
            bundles: &self.known,
            releases: &self.releases,
        }
    }
}

fn world() -> World {
    World {
        admission: admission(),
        nonces: NonceTable::default(),
        l1: None,
        known: HashMap::new(),
        releases: crate::Releases::default(),
    }
}

/// Inbox items 0..5 at L1 blocks 10, 10, 12, 15, 19 for namespaces 1, 5 (unregistered), 1,
/// 2, 1.
fn inbox(index: u64) -> Option<InboxItem> {
    let (block, namespace) = *[(10, 1), (10, 5), (12, 1), (15, 2), (19, 1)].get(index as usize)?;
    Some(InboxItem {
        index,
        namespace,
        sender: Address::repeat_byte(0xee),
        payload: Bytes::from(vec![index as u8; 10]),
        l1_block: block,
    })
}

/// An L1 view: blocks 0..=20 with hash `repeat_byte(n)`, confirmed up to 18, and the five
/// inbox items of [`inbox`].
pub(crate) fn l1_view() -> L1View {
    let mut view = L1View::default();
    view.apply(Batch {
        confirmed: L1Block {
            number: 18,
            hash: B256::repeat_byte(18),
        },
        hashes: (0..=20u8)
            .map(|n| (u64::from(n), B256::repeat_byte(n)))
            .collect(),
        inbox: (0..5).filter_map(inbox).collect(),
        stake_events: Vec::new(),
    })
    .unwrap();
    view
}

fn l1_world() -> World {
    World {
        l1: Some(l1_view()),
        ..world()
    }
}

fn template() -> Template {
    Template {
        chain_id: 7,
        height: 5,
        epoch: 0,
        parent_hash: B256::repeat_byte(1),
        parent_timestamp_ms: 1_000,
        proposer: Address::repeat_byte(2),
        validators_hash: B256::repeat_byte(3),
        next_validators_hash: B256::repeat_byte(3),
        inbox_cursor: 0,
        l1_origin_number: 0,
        l1_origin_hash: B256::ZERO,
        encryption_key_hash: B256::ZERO,
    }
}

fn check() -> Expectation {
    Expectation {
        template: template(),
        now_ms: 2_000,
        max_clock_drift_ms: 500,
        limits: BlockLimits::default(),
        l1: None,
    }
}

/// The expectation after a parent with L1 origin 11, inclusion delay 4 and tolerance 2.
fn l1_check() -> Expectation {
    Expectation {
        template: l1_template(11),
        l1: Some(L1Expectation {
            inclusion_delay: 4,
            origin_tolerance: 2,
        }),
        ..check()
    }
}

fn l1_template(origin: u64) -> Template {
    Template {
        l1_origin_number: origin,
        l1_origin_hash: B256::repeat_byte(origin as u8),
        ..template()
    }
}

fn assemble_plain(
    template: &Template,
    now_ms: u64,
    candidates: Vec<Transaction>,
    limits: &BlockLimits,
) -> Block {
    let candidates = candidates.into_iter().map(Candidate::Tx).collect();
    assemble(template, now_ms, &[], candidates, limits, &world().facts())
}

fn assemble_l1(
    template: &Template,
    now_ms: u64,
    forced: &[InboxItem],
    candidates: Vec<Transaction>,
    limits: &BlockLimits,
) -> Block {
    let candidates = candidates.into_iter().map(Candidate::Tx).collect();
    assemble(
        template,
        now_ms,
        forced,
        candidates,
        limits,
        &l1_world().facts(),
    )
}

/// `n` transactions over namespaces 0, 1 and 2, one sender per namespace, nonces from 0.
fn txs(n: u64) -> Vec<Transaction> {
    let keys = [
        SecretKey::random(),
        SecretKey::random(),
        SecretKey::random(),
    ];
    (0..n)
        .map(|i| {
            let ns = i % 3;
            Transaction::sign(
                ns,
                i / 3,
                Bytes::from(vec![i as u8; 100]),
                &keys[ns as usize],
                7,
            )
        })
        .collect()
}

fn valid_block() -> Block {
    assemble_plain(&template(), 1_500, txs(9), &BlockLimits::default())
}

/// Re-commits the header to a modified body.
fn recommit(mut block: Block) -> Block {
    block.header.namespace_root = block.body.namespace_root();
    block.header.tx_count = block.body.tx_count().unwrap();
    block
}

#[test]
fn a_built_block_is_valid_and_sorted() {
    let block = valid_block();
    assert_eq!(block.header.tx_count, 9);
    let namespaces: Vec<u64> = block.body.namespaces.iter().map(|g| g.namespace).collect();
    assert_eq!(namespaces, vec![0, 1, 2]);
    verify(&block, &check(), &world().facts()).unwrap();
}

#[test]
fn building_respects_limits_and_clock() {
    let limits = BlockLimits {
        max_block_bytes: 1_000,
        max_transactions: 100,
        ..BlockLimits::default()
    };
    let block = assemble_plain(&template(), 10, txs(20), &limits);
    assert!(block.encoded_len() <= 1_000);
    assert!(block.header.tx_count > 0);
    assert_eq!(
        block.header.timestamp_ms, 1_001,
        "one past the parent when the clock lags"
    );
    let capped = BlockLimits {
        max_transactions: 4,
        ..BlockLimits::default()
    };
    assert_eq!(
        assemble_plain(&template(), 1_500, txs(20), &capped)
            .header
            .tx_count,
        4
    );
}

#[test]
fn every_rule_refuses_its_violation() {
    let mismatch = |f: fn(&mut Header), field: &str| {
        let mut block = valid_block();
        f(&mut block.header);
        match verify(&block, &check(), &world().facts()) {
            Err(BlockError::Mismatch { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    };
    mismatch(|h| h.chain_id = 8, "chain_id");
    mismatch(|h| h.height = 6, "height");
    mismatch(|h| h.epoch = 1, "epoch");
    mismatch(|h| h.parent_hash = B256::ZERO, "parent_hash");
    mismatch(|h| h.proposer = Address::ZERO, "proposer");
    mismatch(|h| h.validators_hash = B256::ZERO, "validators_hash");
    mismatch(
        |h| h.next_validators_hash = B256::ZERO,
        "next_validators_hash",
    );
    // A header naming another encrypted-lane key than the height's (here: none).
    mismatch(
        |h| h.encryption_key_hash = B256::repeat_byte(9),
        "encryption_key_hash",
    );

    let mut block = valid_block();
    block.header.timestamp_ms = 1_000;
    assert!(matches!(
        verify(&block, &check(), &world().facts()),
        Err(BlockError::TimestampNotIncreasing { .. })
    ));
    block.header.timestamp_ms = 2_501;
    assert!(matches!(
        verify(&block, &check(), &world().facts()),
        Err(BlockError::TimestampInFuture { .. })
    ));

    let mut block = valid_block();
    block.body.namespaces[0].entries.pop();
    assert!(matches!(
        verify(&block, &check(), &world().facts()),
        Err(BlockError::Commitments(_))
    ));

    let mut small = check();
    small.limits.max_block_bytes = 500;
    assert!(matches!(
        verify(&valid_block(), &small, &world().facts()),
        Err(BlockError::TooLarge { .. })
    ));
    small.limits = BlockLimits {
        max_transactions: 3,
        ..BlockLimits::default()
    };
    assert!(matches!(
        verify(&valid_block(), &small, &world().facts()),
        Err(BlockError::TooManyTransactions { count: 9, max: 3 })
    ));

    let mut block = valid_block();
    let dup = block.body.namespaces[0].entries[0].clone();
    block.body.namespaces[0].entries.push(dup);
    assert!(matches!(
        verify(&recommit(block), &check(), &world().facts()),
        Err(BlockError::Duplicate { .. })
    ));

    let mut block = valid_block();
    if let Entry::Signed(tx) = &mut block.body.namespaces[0].entries[0] {
        if let ordo_types::Auth::Eip712(mut signature) = *tx.auth() {
            signature.0[..32].copy_from_slice(&B256::with_last_byte(5).0);
            *tx = Transaction::eip712(tx.namespace(), tx.nonce(), tx.payload().clone(), signature);
        }
    }
    assert!(matches!(
        verify(&recommit(block), &check(), &world().facts()),
        Err(BlockError::BadSignature { .. })
    ));

    // Nonces out of order, or a gap.
    let mut block = valid_block();
    block.body.namespaces[1].entries.swap(0, 1);
    assert!(matches!(
        verify(&recommit(block), &check(), &world().facts()),
        Err(BlockError::NonceOutOfOrder {
            nonce: 1,
            expected: 0,
            ..
        })
    ));
    let mut block = valid_block();
    block.body.namespaces[1].entries.remove(0);
    assert!(matches!(
        verify(&recommit(block), &check(), &world().facts()),
        Err(BlockError::NonceOutOfOrder {
            nonce: 1,
            expected: 0,
            ..
        })
    ));

    // A namespace nobody registered (the builder leaves such candidates out).
    let key = SecretKey::random();
    let stray = Transaction::sign(9, 0, Bytes::from_static(b"x"), &key, 7);
    assert_eq!(
        assemble_plain(
            &template(),
            1_500,
            vec![stray.clone()],
            &BlockLimits::default()
        )
        .header
        .tx_count,
        0
    );
    assert_eq!(
        verify(
            &with_entry(valid_block(), stray.into()),
            &check(),
            &world().facts()
        ),
        Err(BlockError::UnknownNamespace(9))
    );

    // A transaction its rollup refuses: an Ethereum transaction for a raw rollup, one signed
    // for another chain for the EVM rollup, and an encrypted one (no rollup takes those until
    // the encrypted lane opens them).
    let wrong_kind = Transaction::ethereum(2, eip1559(&key, 0, 901)).unwrap();
    let wrong_chain = Transaction::ethereum(901, eip1559(&key, 0, 902)).unwrap();
    let sealed = ordo_types::Sealed {
        key_id: 1,
        bucket: 6,
        kem: [1; ordo_types::KEM_LEN],
        dem: Bytes::from(vec![2; 80]),
    };
    let encrypted = Transaction::sign_encrypted(2, 0, &sealed, &key, 7);
    for tx in [wrong_kind, wrong_chain, encrypted] {
        assert_eq!(
            assemble_plain(
                &template(),
                1_500,
                vec![tx.clone()],
                &BlockLimits::default()
            )
            .header
            .tx_count,
            0
        );
        assert!(matches!(
            verify(
                &with_entry(valid_block(), tx.into()),
                &check(),
                &world().facts()
            ),
            Err(BlockError::Refused { .. })
        ));
    }
}

#[test]
fn encrypted_transactions_need_a_rollup_taking_them_the_chains_key_and_an_envelope_that_opens() {
    use ordo_enc::{encrypt_transaction, EncryptionKey};
    use ordo_types::ErrorCode;
    use rand_010::SeedableRng;

    let mut rng = rand_010::rngs::StdRng::seed_from_u64(7);
    let (sharing, _) = ordo_enc::deal(&mut rng, 4);
    let key = EncryptionKey {
        key_id: 3,
        public: *sharing.public(),
    };
    let rollup = |namespace: u64, encrypted: bool| RegisteredRollup {
        namespace,
        name: format!("raw{namespace}"),
        adapter: "raw".into(),
        chain_id: None,
        encrypted,
    };
    let rollups = Rollups::new(&[rollup(0, false), rollup(1, true), rollup(2, false)]).unwrap();
    let lane = Admission::new(7, rollups.clone()).with_keygen(crate::Schedule::new(
        crate::KeygenParams { window: 1 },
        None,
    ));
    lane.add_key(std::sync::Arc::new(crate::EpochKey {
        key_id: 3,
        epoch: 0,
        sharing,
        holders: Default::default(),
        from_height: 1,
    }));
    let sender = SecretKey::random();
    let mut seal = |key: &EncryptionKey, namespace: u64, nonce: u64| {
        encrypt_transaction(&mut rng, key, 7, namespace, nonce, b"hidden", &sender).unwrap()
    };
    let good = seal(&key, 1, 0);
    let refused = |admission: &Admission, tx: &Transaction| admission.check(tx).unwrap_err().code();

    assert_eq!(lane.check(&good), Ok(()));
    // A rollup not registered as taking them.
    assert_eq!(refused(&lane, &seal(&key, 2, 0)), ErrorCode::WrongTxKind);
    // Sealed to another key than the chain's.
    let stale = seal(&EncryptionKey { key_id: 2, ..key }, 1, 1);
    assert_eq!(
        lane.check(&stale),
        Err(crate::TxError::EncryptionKey {
            sealed: 2,
            current: Some(3)
        })
    );
    assert_eq!(refused(&lane, &stale), ErrorCode::WrongEncryptionKey);
    // The chain has no key.
    assert_eq!(
        refused(&Admission::new(7, rollups), &good),
        ErrorCode::EncKeyUnavailable
    );
    // A key encapsulation that is not a point of the group can never open.
    let sealed = ordo_types::Sealed {
        key_id: 3,
        bucket: 6,
        kem: [1; ordo_types::KEM_LEN],
        dem: Bytes::from(vec![2; 80]),
    };
    let unopenable = Transaction::sign_encrypted(1, 2, &sealed, &sender, 7);
    assert_eq!(refused(&lane, &unopenable), ErrorCode::InvalidPayload);

    // Blocks: a proposer leaves the refused ones out, a validator refuses a block with one.
    let world = World {
        admission: lane,
        ..world()
    };
    let candidates = vec![good.clone(), stale.clone(), unopenable.clone()];
    let block = assemble(
        &template(),
        1_500,
        &[],
        candidates.into_iter().map(Candidate::Tx).collect(),
        &BlockLimits::default(),
        &world.facts(),
    );
    assert_eq!(
        block.body.namespaces[0].entries,
        vec![Entry::from(good.clone())]
    );
    assert_eq!(verify(&block, &check(), &world.facts()), Ok(()));

    // At most `max_encrypted_transactions` of them per block: the proposer stops there (a
    // plaintext transaction still fits), a validator refuses a block past it.
    let limits = BlockLimits {
        max_encrypted_transactions: 1,
        ..BlockLimits::default()
    };
    let second = seal(&key, 1, 1);
    let plain = Transaction::sign(1, 0, Bytes::from_static(b"plain"), &SecretKey::random(), 7);
    let candidates = [good.clone(), second.clone(), plain.clone()];
    let capped = assemble(
        &template(),
        1_500,
        &[],
        candidates.into_iter().map(Candidate::Tx).collect(),
        &limits,
        &world.facts(),
    );
    assert_eq!(
        capped.body.namespaces[0].entries,
        vec![Entry::from(good), Entry::from(plain)]
    );
    let over = with_entry(block, second.into());
    assert_eq!(verify(&over, &check(), &world.facts()), Ok(()));
    let strict = Expectation { limits, ..check() };
    assert_eq!(
        verify(&over, &strict, &world.facts()),
        Err(BlockError::TooManyEncrypted { count: 2, max: 1 })
    );
    for tx in [stale, unopenable] {
        let got = verify(
            &with_entry(valid_block(), tx.into()),
            &check(),
            &world.facts(),
        );
        assert!(matches!(got, Err(BlockError::Refused { .. })), "{got:?}");
    }
}

/// `block` with `entry` appended to its namespace's group (created if needed), recommitted.
fn with_entry(mut block: Block, entry: Entry) -> Block {
    let namespace = match &entry {
        Entry::Signed(tx) => tx.namespace(),
        Entry::Forced(_) => 1,
    };
    let mut groups = std::mem::take(&mut block.body.namespaces);
    match groups.iter_mut().find(|g| g.namespace == namespace) {
        Some(g) => g.entries.push(entry),
        None => groups.push(NamespaceEntries {
            namespace,
            entries: vec![entry],
        }),
    }
    groups.sort_by_key(|g| g.namespace);
    block.body = Body::from_entries(groups).unwrap();
    recommit(block)
}

fn due(origin: u64) -> Vec<InboxItem> {
    (0..5)
        .filter_map(inbox)
        .filter(|i| i.is_due(4, origin))
        .collect()
}

#[test]
fn due_inbox_items_are_built_first_in_order_and_accepted() {
    // At origin 16, items 0..=2 are due (blocks 10, 10, 12); 3 is due at 19.
    let block = assemble_l1(
        &l1_template(16),
        1_500,
        &due(16),
        txs(6),
        &BlockLimits::default(),
    );
    assert_eq!(block.header.inbox_cursor, 3);
    assert_eq!(block.header.tx_count, 9);
    let ns1 = &block.body.namespace(1).unwrap().entries;
    assert!(matches!(&ns1[0], Entry::Forced(f) if f.inbox_index == 0));
    assert!(matches!(&ns1[1], Entry::Forced(f) if f.inbox_index == 2));
    assert!(matches!(&ns1[2], Entry::Signed(_)));
    // The unregistered namespace 5 gets its forced item anyway.
    assert!(block.body.namespace(5).is_some());
    verify(&block, &l1_check(), &l1_world().facts()).unwrap();

    // Earlier inclusion is allowed: item 3 before its deadline.
    let early = assemble_l1(
        &l1_template(16),
        1_500,
        &due(19)[..4],
        vec![],
        &BlockLimits::default(),
    );
    assert_eq!(early.header.inbox_cursor, 4);
    verify(&early, &l1_check(), &l1_world().facts()).unwrap();

    // Nothing due: an empty block with the same origin as the parent is fine.
    let idle = assemble_l1(
        &l1_template(11),
        1_500,
        &[],
        vec![],
        &BlockLimits::default(),
    );
    verify(&idle, &l1_check(), &l1_world().facts()).unwrap();
}

#[test]
fn a_block_omitting_a_due_item_is_refused_unless_full() {
    // Censoring item 1 (stopping before it) while item 1 is due.
    let censored = assemble_l1(
        &l1_template(16),
        1_500,
        &due(16)[..1],
        txs(3),
        &BlockLimits::default(),
    );
    assert!(matches!(
        verify(&censored, &l1_check(), &l1_world().facts()),
        Err(BlockError::DueItemOmitted {
            index: 1,
            deadline: 14,
            origin: 16
        })
    ));
    // Skipping an item and including the next one.
    let mut skipping = due(16);
    skipping.remove(1);
    let mut block = assemble_l1(
        &l1_template(16),
        1_500,
        &skipping[..1],
        vec![],
        &BlockLimits::default(),
    );
    block.body = Body::from_entries(vec![NamespaceEntries {
        namespace: 1,
        entries: vec![
            Entry::Forced(skipping[0].to_forced()),
            Entry::Forced(skipping[1].to_forced()),
        ],
    }])
    .unwrap();
    block.header.inbox_cursor = 2;
    let block = recommit(block);
    assert!(matches!(
        verify(&block, &l1_check(), &l1_world().facts()),
        Err(BlockError::ForcedOutOfOrder {
            found: 2,
            expected: 1
        })
    ));
    // A block too full for the due item is not at fault.
    let limits = BlockLimits {
        max_transactions: 1,
        ..BlockLimits::default()
    };
    let full = assemble_l1(&l1_template(16), 1_500, &due(16), vec![], &limits);
    assert_eq!(full.header.inbox_cursor, 1);
    let check = Expectation {
        limits,
        ..l1_check()
    };
    verify(&full, &check, &l1_world().facts()).unwrap();
}

#[test]
fn forged_or_misplaced_forced_entries_are_refused() {
    let good = assemble_l1(
        &l1_template(16),
        1_500,
        &due(16),
        vec![],
        &BlockLimits::default(),
    );
    // A different payload under a real index.
    let mut forged = good.clone();
    if let Entry::Forced(f) = &mut forged.body.namespaces[0].entries[0] {
        f.payload = ordo_types::Bytes::from_static(b"forged");
    }
    assert!(matches!(
        verify(&recommit(forged), &l1_check(), &l1_world().facts()),
        Err(BlockError::ForcedMismatch { inbox_index: 0 })
    ));
    // An index the validator has not read.
    let mut unknown = inbox(4).unwrap();
    unknown.index = 3;
    let block = assemble_l1(
        &l1_template(16),
        1_500,
        &[due(16), vec![unknown]].concat(),
        vec![],
        &BlockLimits::default(),
    );
    assert!(matches!(
        verify(&block, &l1_check(), &l1_world().facts()),
        Err(BlockError::ForcedMismatch { inbox_index: 3 })
    ));
    // A forced entry after a signed transaction.
    let mut late = assemble_l1(
        &l1_template(16),
        1_500,
        &due(16),
        txs(3),
        &BlockLimits::default(),
    );
    let ns1 = &mut late
        .body
        .namespaces
        .iter_mut()
        .find(|g| g.namespace == 1)
        .unwrap()
        .entries;
    ns1.rotate_left(1);
    assert!(matches!(
        verify(&recommit(late), &l1_check(), &l1_world().facts()),
        Err(BlockError::ForcedAfterSigned { .. })
    ));
    // A cursor that does not count the items.
    let mut cursor = good.clone();
    cursor.header.inbox_cursor = 2;
    assert!(matches!(
        verify(&cursor, &l1_check(), &l1_world().facts()),
        Err(BlockError::Mismatch {
            field: "inbox_cursor",
            ..
        })
    ));
    // Forced entries on a chain without an L1.
    assert!(matches!(
        verify(
            &good,
            &Expectation {
                template: l1_template(16),
                ..check()
            },
            &l1_world().facts()
        ),
        Err(BlockError::UnexpectedForced { .. })
    ));
}

#[test]
fn the_l1_origin_must_move_forward_to_a_block_the_validator_sees() {
    let at = |origin: u64, hash: B256| {
        let mut t = l1_template(origin);
        t.l1_origin_hash = hash;
        assemble_l1(&t, 1_500, &due(origin), vec![], &BlockLimits::default())
    };
    let verdict = |b: &Block| verify(b, &l1_check(), &l1_world().facts());
    assert!(matches!(
        verdict(&at(10, B256::repeat_byte(10))),
        Err(BlockError::L1OriginBackwards {
            number: 10,
            parent: 11
        })
    ));
    // Same number as the parent with another hash.
    assert!(matches!(
        verdict(&at(11, B256::repeat_byte(1))),
        Err(BlockError::Mismatch {
            field: "l1_origin_hash",
            ..
        })
    ));
    // Within the tolerance (18 + 2) and seen: fine; beyond it: refused.
    verdict(&at(20, B256::repeat_byte(20))).unwrap();
    assert!(matches!(
        verdict(&at(21, B256::repeat_byte(21))),
        Err(BlockError::L1OriginTooFarAhead { .. })
    ));
    // A hash this validator does not hold for the number.
    assert!(matches!(
        verdict(&at(15, B256::repeat_byte(99))),
        Err(BlockError::L1OriginUnknown { .. })
    ));
    // Without an L1 the origin must be zero.
    let mut t = template();
    t.l1_origin_number = 3;
    let block = assemble_plain(&t, 1_500, vec![], &BlockLimits::default());
    assert!(matches!(
        verify(&block, &check(), &world().facts()),
        Err(BlockError::Mismatch {
            field: "l1_origin_number",
            ..
        })
    ));
}

#[test]
fn the_key_generation_namespace_takes_only_well_formed_messages_and_only_with_the_lane() {
    use crate::{KeygenParams, Schedule, TxError, KEYGEN_NAMESPACE};
    use ordo_enc::dkg::Message;

    let rollups = Rollups::raw([1]);
    let plain = Admission::new(7, rollups.clone());
    let lane =
        Admission::new(7, rollups).with_keygen(Schedule::new(KeygenParams { window: 4 }, None));
    let key = SecretKey::random();
    let message = Message::Ack {
        round: 0,
        acks: Vec::new(),
    };
    let tx = |payload: Vec<u8>| Transaction::sign(KEYGEN_NAMESPACE, 0, payload.into(), &key, 7);
    let good = tx(message.encode());
    assert_eq!(lane.check(&good), Ok(()));
    assert!(lane.is_registered(KEYGEN_NAMESPACE));
    // Without the lane the namespace is no one's.
    assert!(!plain.is_registered(KEYGEN_NAMESPACE));
    assert_eq!(
        plain.check(&good),
        Err(TxError::UnknownNamespace(KEYGEN_NAMESPACE))
    );
    // Bytes that are no message: refused, as an invalid payload.
    let mut trailing = message.encode();
    trailing.push(0);
    for bad in [Vec::new(), vec![9; 9], trailing] {
        let refused = lane.check(&tx(bad)).unwrap_err();
        assert!(matches!(refused, TxError::System(_)), "{refused:?}");
        assert_eq!(refused.code(), ordo_types::ErrorCode::InvalidPayload);
    }
}

#[test]
fn released_keys_are_committed_only_by_the_proposer_for_pending_heights_and_must_check() {
    use crate::lane::{identities, release, Releases, KEYS_NAMESPACE};
    use ordo_enc::{combine, encrypt_transaction, sign_shares, EncryptionKey, Identities};
    use rand_010::SeedableRng;

    let mut rng = rand_010::rngs::StdRng::seed_from_u64(9);
    let (sharing, shares) = ordo_enc::deal(&mut rng, 1);
    let key = EncryptionKey {
        key_id: 0,
        public: *sharing.public(),
    };
    let proposer = SecretKey::random();
    let lane = Admission::new(7, Rollups::raw([1])).with_keygen(crate::Schedule::new(
        crate::KeygenParams { window: 1 },
        None,
    ));
    lane.add_key(std::sync::Arc::new(crate::EpochKey {
        key_id: 0,
        epoch: 0,
        sharing: sharing.clone(),
        holders: Default::default(),
        from_height: 1,
    }));
    // Height 3 held two encrypted transactions: their keys, as the shares release them.
    let sender = SecretKey::random();
    let sealed: Vec<Transaction> = (0..2)
        .map(|n| encrypt_transaction(&mut rng, &key, 7, 1, n, b"x", &sender).unwrap())
        .collect();
    let header_at = |height: u64| Header {
        chain_id: 7,
        height,
        epoch: 0,
        timestamp_ms: 1,
        parent_hash: B256::ZERO,
        proposer: Address::ZERO,
        namespace_root: B256::ZERO,
        tx_count: 0,
        validators_hash: B256::ZERO,
        next_validators_hash: B256::ZERO,
        l1_origin_number: 0,
        l1_origin_hash: B256::ZERO,
        inbox_cursor: 0,
        bundle_root: B256::ZERO,
        encryption_key_hash: B256::ZERO,
    };
    let held = Block {
        header: header_at(3),
        body: Body::from_entries(vec![NamespaceEntries {
            namespace: 1,
            entries: sealed.iter().cloned().map(Entry::Signed).collect(),
        }])
        .unwrap(),
    };
    let ids = identities(&held, 7, &Recover(7));
    let signed = [sign_shares(&shares[0], &Identities::hash(&ids))];
    let keys = combine(&sharing, &signed.iter().collect::<Vec<_>>()).unwrap();
    let mut releases = Releases::default();
    releases.apply(&held, ids.clone(), Some(key));
    assert_eq!(releases.pending().collect::<Vec<_>>(), [3]);

    let world = World {
        admission: lane,
        releases,
        ..world()
    };
    let t = Template {
        proposer: proposer.address(),
        ..template()
    };
    let expectation = Expectation {
        template: t.clone(),
        ..check()
    };
    let propose = |tx: Transaction| {
        let block = assemble(
            &t,
            1_500,
            &[],
            vec![Candidate::Release(tx)],
            &BlockLimits::default(),
            &world.facts(),
        );
        verify(&block, &expectation, &world.facts()).map(|()| block)
    };
    let bad = |r: Result<Block, BlockError>| matches!(r, Err(BlockError::BadRelease { .. }));
    // The proposer's commitment of height 3: accepted, and it ends the height's wait.
    let good = propose(release(3, &keys, &proposer, 7)).unwrap();
    let mut after = world.releases.clone();
    after.apply(&good, Vec::new(), None);
    assert_eq!(after.pending().count(), 0);
    // Signed by someone else, for a height not pending, one key short, keys swapped, or
    // another height's keys: refused.
    assert!(bad(propose(release(3, &keys, &SecretKey::random(), 7))));
    assert!(bad(propose(release(4, &keys, &proposer, 7))));
    assert!(bad(propose(release(3, &keys[..1], &proposer, 7))));
    let swapped = [keys[1], keys[0]];
    assert!(bad(propose(release(3, &swapped, &proposer, 7))));
    let other = combine(
        &sharing,
        &[sign_shares(
            &shares[0],
            &Identities::hash(&[B256::ZERO, B256::ZERO]),
        )]
        .iter()
        .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(bad(propose(release(3, &other, &proposer, 7))));
    // Bytes that are no keys.
    let garbage = Transaction::sign(KEYS_NAMESPACE, 3, Bytes::from(vec![1; 47]), &proposer, 7);
    assert!(bad(propose(garbage.clone())));
    // And nobody submits one: the mempool's rules refuse it.
    assert!(world
        .admission
        .check(&release(3, &keys, &proposer, 7))
        .is_err());
    // Past the window, a height is no longer pending.
    let mut late = world.releases.clone();
    let far = Block {
        header: header_at(3 + crate::lane::RELEASE_WINDOW),
        body: Body::default(),
    };
    late.apply(&far, Vec::new(), None);
    assert_eq!(late.pending().count(), 0);
}

#[test]
fn with_elections_clients_seal_to_the_next_epochs_key_a_window_early_and_blocks_take_each_epochs_own(
) {
    use crate::{ElectionParams, EpochKey, KeygenParams, Schedule, TxError};
    use ordo_enc::encrypt_transaction;
    use rand_010::SeedableRng;
    use std::sync::Arc;

    let mut rng = rand_010::rngs::StdRng::seed_from_u64(3);
    let (window, length) = (2, 18);
    let election = ElectionParams {
        epoch_length: length,
        activation_epochs: 2,
        max_committee: 4,
        min_stake: Default::default(),
    };
    let schedule = Schedule::new(KeygenParams { window }, Some(&election));
    let rollups = Rollups::new(&[RegisteredRollup {
        namespace: 1,
        name: "raw".into(),
        adapter: "raw".into(),
        chain_id: None,
        encrypted: true,
    }])
    .unwrap();
    let lane = Admission::new(7, rollups).with_keygen(schedule);
    let key = |epoch: u64, from_height: u64, rng: &mut rand_010::rngs::StdRng| {
        Arc::new(EpochKey {
            key_id: epoch,
            epoch,
            sharing: ordo_enc::deal(rng, 1).0,
            holders: Default::default(),
            from_height,
        })
    };
    let (k0, k1) = (
        key(0, 4 * window + 1, &mut rng),
        key(1, length + 1, &mut rng),
    );
    let sender = SecretKey::random();
    let sealed_to = |k: &EpochKey, nonce: u64, rng: &mut rand_010::rngs::StdRng| {
        encrypt_transaction(rng, &k.encryption_key(), 7, 1, nonce, b"x", &sender).unwrap()
    };
    let (old, new) = (sealed_to(&k0, 0, &mut rng), sealed_to(&k1, 1, &mut rng));
    let wrong = |current| Err(TxError::EncryptionKey { sealed: 1, current });

    // Before epoch 0's key: nothing is taken.
    assert!(lane.check(&old).is_err());
    lane.add_key(Arc::clone(&k0));
    lane.advance(4 * window + 1);
    assert_eq!(lane.check(&old), Ok(()));
    assert_eq!(lane.check(&new), wrong(Some(0)));
    // Epoch 1's key, generated a window before its epoch: clients seal to it from then on,
    // while blocks up to the epoch's end still take epoch 0's and not yet epoch 1's.
    lane.add_key(Arc::clone(&k1));
    lane.advance(length - window + 1);
    assert_eq!(lane.sealing_key().map(|k| k.key_id), Some(1));
    assert_eq!(lane.check(&new), Ok(()));
    assert!(lane.check(&old).is_err());
    assert_eq!(lane.check_at(&old, length), Ok(()));
    assert_eq!(lane.check_at(&new, length), wrong(Some(0)));
    // From epoch 1's first height, only its own key.
    assert_eq!(lane.check_at(&new, length + 1), Ok(()));
    assert!(lane.check_at(&old, length + 1).is_err());
    // Epoch 2's round failed: its blocks take no envelope, and clients are told there is no
    // key.
    lane.advance(2 * length + 1);
    assert_eq!(lane.check_at(&new, 2 * length + 1), wrong(None));
    assert_eq!(
        lane.check(&new).unwrap_err().code(),
        ordo_types::ErrorCode::EncKeyUnavailable
    );
}
