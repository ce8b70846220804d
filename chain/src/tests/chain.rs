//! The chain's three operations together: build, check, apply, elections and resuming.

use std::sync::Arc;

use alloy_primitives::U256;
use ordo_types::{
    Address, Batch, Block, Bytes, Entry, InboxItem, L1Block, L1View, SecretKey, StakeEvent,
    Transaction, Validator, ValidatorSet, B256,
};
use proptest::prelude::*;

use super::{admission, eip1559};
use crate::{
    BlockError, BlockLimits, Candidate, Chain, ChainError, ChainRules, Context, ElectionParams,
    L1Rules, NoBundles, NonceReader, NonceTable, Recover, Tip,
};

fn committee(keys: &[SecretKey]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .map(|k| Validator::new(k.public_key(), 10))
            .collect(),
    )
    .unwrap()
}

fn rules(keys: &[SecretKey], l1: Option<L1Rules>, limits: BlockLimits) -> Arc<ChainRules> {
    Arc::new(ChainRules {
        admission: admission(),
        genesis_time_ms: 1_000,
        validators: committee(keys),
        limits,
        max_clock_drift_ms: 2_000,
        l1,
    })
}

/// A node's world: its decided nonces and L1 view.
struct Node {
    chain: Chain,
    nonces: NonceTable,
    l1: Option<L1View>,
}

impl Node {
    fn new(rules: Arc<ChainRules>, l1: Option<L1View>) -> Self {
        Self {
            chain: Chain::new(rules),
            nonces: NonceTable::default(),
            l1,
        }
    }

    fn cx(&self, now_ms: u64) -> Context<'_> {
        Context {
            now_ms,
            l1: self.l1.as_ref(),
            senders: &Recover(7),
            nonces: &self.nonces,
            bundles: &NoBundles,
        }
    }

    fn build(&self, candidates: Vec<Transaction>) -> Block {
        let proposer = self.chain.proposer(0).unwrap();
        let now = self.chain.tip().timestamp_ms + 100;
        self.chain
            .build(
                proposer,
                0,
                candidates.into_iter().map(Candidate::Tx).collect(),
                &self.cx(now),
            )
            .unwrap()
    }

    fn check(&self, block: &Block) -> Result<(), BlockError> {
        self.chain
            .check(block, 0, &self.cx(block.header.timestamp_ms))
    }

    fn apply(&mut self, block: &Block) {
        let cx = Context {
            now_ms: 0,
            l1: self.l1.as_ref(),
            senders: &Recover(7),
            nonces: &self.nonces,
            bundles: &NoBundles,
        };
        let applied = self.chain.apply(block, &cx).unwrap();
        self.nonces.apply(&applied.nonces);
        if let Some(l1) = &self.l1 {
            self.chain.elect(l1);
        }
    }
}

fn keys(n: usize) -> Vec<SecretKey> {
    (0..n).map(|_| SecretKey::random()).collect()
}

fn view(confirmed: u64, inbox: Vec<InboxItem>, stake_events: Vec<(u64, StakeEvent)>) -> L1View {
    let mut view = L1View::default();
    view.apply(Batch {
        confirmed: L1Block {
            number: confirmed,
            hash: B256::with_last_byte(confirmed as u8),
        },
        hashes: (0..=confirmed)
            .map(|n| (n, B256::with_last_byte(n as u8)))
            .collect(),
        inbox,
        stake_events,
    })
    .unwrap();
    view
}

#[test]
fn a_forced_ethereum_transaction_uses_its_senders_nonce() {
    let user = SecretKey::random();
    let item = |index: u64, namespace: u64, payload: Bytes| InboxItem {
        index,
        namespace,
        sender: Address::repeat_byte(0xaa),
        payload,
        l1_block: 1,
    };
    // Nonce 0 for the rollup's chain; nonce 1 signed for another chain; bytes for a raw rollup.
    let inbox = vec![
        item(0, 901, eip1559(&user, 0, 901)),
        item(1, 901, eip1559(&user, 1, 902)),
        item(2, 1, Bytes::from_static(b"not a transaction")),
    ];
    let l1 = L1Rules {
        inclusion_delay: 2,
        origin_tolerance: 2,
        election: None,
    };
    let rules = rules(&keys(4), Some(l1), BlockLimits::default());
    let l1_view = view(5, inbox, Vec::new());
    let mut node = Node::new(rules.clone(), Some(l1_view.clone()));
    // The same account's mempool transactions: nonce 0 (taken by the forced one) and 1.
    let reused = Transaction::ethereum(901, eip1559(&user, 0, 901)).unwrap();
    let next = Transaction::ethereum(901, eip1559(&user, 1, 901)).unwrap();
    let block = node.build(vec![reused.clone(), next.clone()]);
    assert_eq!(block.header.inbox_cursor, 3);
    let entries = &block.body.namespace(901).unwrap().entries;
    assert!(matches!(&entries[0], Entry::Forced(f) if f.inbox_index == 0));
    assert!(matches!(&entries[1], Entry::Forced(f) if f.inbox_index == 1));
    assert_eq!(entries[2], Entry::Signed(next));
    assert_eq!(entries.len(), 3, "nonce 0 is the forced transaction's");
    node.check(&block).unwrap();

    // A block putting the used nonce after the forced entry is refused.
    let mut reusing = block.clone();
    let group = reusing
        .body
        .namespaces
        .iter_mut()
        .find(|g| g.namespace == 901)
        .unwrap();
    group.entries[2] = Entry::Signed(reused);
    assert!(matches!(
        node.check(&super::recommit(reusing)),
        Err(BlockError::NonceOutOfOrder {
            nonce: 0,
            expected: 1,
            ..
        })
    ));

    // Applying moves the account past both, on any node that applies the block (the forced
    // entry for another chain moves nothing).
    node.apply(&block);
    assert_eq!(node.nonces.next_nonce(&user.address(), 901), 2);
    let mut syncing = Node::new(rules, Some(l1_view));
    syncing.apply(&block);
    assert_eq!(syncing.nonces, node.nonces);
}

const ETH: u64 = 1_000_000_000_000_000_000;

fn staked(block: u64, key: &SecretKey) -> [(u64, StakeEvent); 2] {
    [
        (
            block,
            StakeEvent::Registered {
                validator: key.address(),
                operator: key.address(),
                public_key: Some(key.public_key()),
            },
        ),
        (
            block,
            StakeEvent::StakeUpdated {
                validator: key.address(),
                active_stake: U256::from(ETH),
                self_stake: U256::from(ETH),
            },
        ),
    ]
}

/// Rules for 4 genesis validators with elections (epochs of 2 blocks, taking over 2 epochs
/// later); the stake events of 3 others registered at L1 block 3; the genesis committee; and the
/// committee those 3 form when elected as of L1 block 10.
fn elections() -> (
    Arc<ChainRules>,
    Vec<(u64, StakeEvent)>,
    ValidatorSet,
    ValidatorSet,
) {
    let genesis = keys(4);
    let elected = keys(3);
    let events: Vec<(u64, StakeEvent)> = elected.iter().flat_map(|k| staked(3, k)).collect();
    let election = ElectionParams {
        epoch_length: 2,
        activation_epochs: 2,
        max_committee: 4,
        min_stake: U256::from(ETH),
    };
    let l1 = L1Rules {
        inclusion_delay: 2,
        origin_tolerance: 2,
        election: Some(election),
    };
    let elected_set = crate::elect(&events, 10, &election).unwrap();
    let rules = rules(&genesis, Some(l1), BlockLimits::default());
    (rules, events, committee(&genesis), elected_set)
}

#[test]
fn elections_fix_committees_two_epochs_ahead_and_survive_a_resume() {
    let (rules, events, genesis, elected_set) = elections();
    let seen = view(10, Vec::new(), events.clone());
    assert_eq!(elected_set.len(), 3);
    let mut node = Node::new(rules.clone(), Some(seen.clone()));
    // A node whose L1 is behind the election's block.
    let mut blind = Node::new(rules.clone(), Some(view(2, Vec::new(), Vec::new())));

    let mut blocks = Vec::new();
    for _ in 0..4 {
        let block = node.build(Vec::new());
        node.check(&block).unwrap();
        node.apply(&block);
        blind.apply(&block);
        blocks.push(block);
    }
    // Epoch 0 and 1: genesis; epoch 2 (heights 5, 6): elected at height 1's origin (10).
    assert_eq!(blocks[0].header.l1_origin_number, 10);
    assert_eq!(node.chain.committee_at(4).unwrap(), &genesis);
    assert_eq!(node.chain.committee_at(5).unwrap(), &elected_set);
    assert_eq!(
        blocks[3].header.next_validators_hash,
        elected_set.hash(),
        "the last block of epoch 1 announces the next committee"
    );
    // The blind node keeps deciding with the committees it knows and waits for the rest.
    assert_eq!(blind.chain.committee_at(4).unwrap(), &genesis);
    assert_eq!(
        blind.chain.committee_at(5),
        Err(ChainError::CommitteeUnknown {
            epoch: 2,
            l1_block: Some(10)
        })
    );
    blind.l1 = Some(seen.clone());
    let fixed = blind.chain.elect(&seen);
    assert_eq!(fixed.len(), 2, "epochs 2 and 3");
    assert_eq!(blind.chain.committee_at(5), node.chain.committee_at(5));

    // Resumed from what a store keeps (the fixed committees and the blocks' origins), a node
    // answers as the one that never stopped.
    let resumed = Chain::resume(rules.clone(), Tip::of(&blocks[3].header), fixed, |h| {
        blocks
            .get(h as usize - 1)
            .map(|b| b.header.l1_origin_number)
    });
    for h in 1..=8 {
        assert_eq!(
            resumed.committee_at(h),
            node.chain.committee_at(h),
            "height {h}"
        );
    }
    // And one that stopped before the elections were held holds them once its L1 catches up.
    let mut early = Chain::resume(rules, Tip::of(&blocks[3].header), Vec::new(), |h| {
        blocks
            .get(h as usize - 1)
            .map(|b| b.header.l1_origin_number)
    });
    assert_eq!(early.pending_election(), Some((2, 10)));
    early.elect(&seen);
    assert_eq!(early.committee_at(7), node.chain.committee_at(7));
}

#[test]
fn a_node_blind_to_the_l1_takes_the_committee_its_certified_headers_announce() {
    let (rules, events, _, elected_set) = elections();
    let mut node = Node::new(rules.clone(), Some(view(10, Vec::new(), events)));
    let mut blind = Node::new(rules, Some(view(2, Vec::new(), Vec::new())));
    let mut blocks = Vec::new();
    for _ in 0..6 {
        let block = node.build(Vec::new());
        node.apply(&block);
        blocks.push(block);
    }
    for block in &blocks[..3] {
        blind.apply(block);
        assert_eq!(blind.chain.take_announced(&block.header, None), Ok(None));
    }
    // Height 4 announces the elected committee: without it, or with another one, the blind
    // node cannot take it; with it, it can.
    blind.apply(&blocks[3]);
    let header = &blocks[3].header;
    let unknown = Err(ChainError::CommitteeUnknown {
        epoch: 2,
        l1_block: Some(10),
    });
    assert_eq!(blind.chain.take_announced(header, None), unknown);
    let other = committee(&keys(3));
    assert_eq!(blind.chain.take_announced(header, Some(&other)), unknown);
    assert_eq!(
        blind
            .chain
            .take_announced(&blocks[2].header, Some(&elected_set)),
        Err(ChainError::NotTip { height: 3, tip: 4 })
    );
    assert_eq!(
        blind.chain.take_announced(header, Some(&elected_set)),
        Ok(Some((2, elected_set.clone())))
    );
    assert_eq!(blind.chain.committee_at(5).unwrap(), &elected_set);
    assert_eq!(blind.chain.pending_election(), Some((3, 10)));
    // Epoch 3 keeps the committee: height 6's header names the tip's own, no peer needed.
    for block in &blocks[4..] {
        blind.apply(block);
    }
    assert_eq!(
        blind.chain.take_announced(&blocks[5].header, None),
        Ok(Some((3, elected_set.clone())))
    );
    assert_eq!(blind.chain.committee_at(7), node.chain.committee_at(7));
    // Only the election height 5 scheduled (for epoch 4) still waits for the L1.
    assert_eq!(blind.chain.pending_election(), Some((4, 10)));

    // A header announcing another committee than the one a node elected is a divergence.
    let mut forged = blocks[5].header.clone();
    forged.next_validators_hash = other.hash();
    assert_eq!(
        node.chain.take_announced(&forged, Some(&other)),
        Err(ChainError::CommitteeDiverges {
            epoch: 3,
            ours: elected_set.hash(),
            certified: other.hash(),
        })
    );
}

/// Signed transactions of 4 senders in namespaces 0 and 1, nonces 0, 1, 2 each.
fn workload() -> Vec<Transaction> {
    let senders = keys(4);
    let mut txs = Vec::new();
    for key in &senders {
        for namespace in 0..2 {
            for nonce in 0..3 {
                let payload = Bytes::from(vec![nonce as u8; 40]);
                txs.push(Transaction::sign(namespace, nonce, payload, key, 7));
            }
        }
    }
    txs
}

/// Builds blocks from a mempool that received `txs` in this order until it is empty: each
/// block offers what is left, in arrival order.
fn sequence(node: &mut Node, mut pool: Vec<Transaction>) -> Vec<Block> {
    let mut blocks = Vec::new();
    while !pool.is_empty() && blocks.len() < 100 {
        let block = node.build(pool.clone());
        node.check(&block).unwrap();
        node.apply(&block);
        let included: Vec<&Entry> = block.body.entries().map(|(_, e)| e).collect();
        pool.retain(|tx| !included.contains(&&Entry::Signed(tx.clone())));
        blocks.push(block);
    }
    assert!(pool.is_empty(), "everything is included eventually");
    blocks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn replaying_a_chain_reaches_the_same_state_whatever_the_arrival_order(
        order_a in Just((0..24usize).collect::<Vec<_>>()).prop_shuffle(),
        order_b in Just((0..24usize).collect::<Vec<_>>()).prop_shuffle(),
        max_transactions in 2u32..9,
    ) {
        let txs = workload();
        let limits = BlockLimits { max_transactions, ..BlockLimits::default() };
        let rules = rules(&keys(4), None, limits);
        let arrived = |order: &[usize]| order.iter().map(|&i| txs[i].clone()).collect();

        let mut a = Node::new(rules.clone(), None);
        let blocks = sequence(&mut a, arrived(&order_a));
        // A fresh node that checks and applies the same blocks is in the same state at every
        // height.
        let mut replica = Node::new(rules.clone(), None);
        let mut builder = Node::new(rules.clone(), None);
        for block in &blocks {
            replica.check(block).unwrap();
            replica.apply(block);
            builder.apply(block);
            prop_assert_eq!(replica.chain.tip(), builder.chain.tip());
            prop_assert_eq!(&replica.nonces, &builder.nonces);
        }
        prop_assert_eq!(&replica.nonces, &a.nonces);

        // Another arrival order gives other blocks but the same accounts at the end.
        let mut b = Node::new(rules, None);
        sequence(&mut b, arrived(&order_b));
        prop_assert_eq!(&b.nonces, &a.nonces);
        for tx in &txs {
            let sender = tx.recover_sender(7).unwrap();
            prop_assert_eq!(a.nonces.next_nonce(&sender, tx.namespace()), 3);
        }
    }
}
