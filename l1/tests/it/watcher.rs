//! The L1 client and the event watcher against a real Anvil: confirmation depth, an L1
//! outage (a proxy that cuts every connection), a reorg below the depth (`evm_revert`), a
//! reorg above it, and failover from an unreachable URL.

use std::time::Duration;

use crate::common::{keys, set_of, wallet_provider};
use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use ordo_l1::outage::L1Proxy;
use ordo_l1::{
    deploy, spawn_anvil, DeployParams, Deployment, Inbox, L1Client, L1Error, RpcConfig,
    WatchConfig, WatchedContracts, Watcher,
};

struct Chain {
    anvil: AnvilInstance,
    deployment: Deployment,
    user: DynProvider,
}

async fn chain() -> Chain {
    let anvil = spawn_anvil().expect("anvil (run `npm ci` in the repository root)");
    let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let set = set_of(&keys(1, 4), 10);
    let params = DeployParams::devnet(777, &set, deployer.address());
    let deployment = deploy(&anvil.endpoint(), deployer, &params).await.unwrap();
    let user = wallet_provider(
        &anvil.endpoint(),
        PrivateKeySigner::from(anvil.keys()[3].clone()),
    );
    Chain {
        anvil,
        deployment,
        user,
    }
}

impl Chain {
    fn contracts(&self) -> WatchedContracts {
        WatchedContracts {
            stake_table: self.deployment.stake_table,
            inbox: self.deployment.inbox,
            start_block: self.deployment.deployment_block,
        }
    }

    async fn force_include(&self, namespace: u64, payload: &'static [u8]) {
        let inbox = Inbox::new(self.deployment.inbox, self.user.clone());
        let fee = inbox.currentFee().call().await.unwrap();
        // The nonce is read from the chain each time: a cached one is wrong after `evm_revert`.
        let from = self.anvil.addresses()[3];
        let nonce = self.user.get_transaction_count(from).await.unwrap();
        let pending = inbox
            .forceInclude(namespace, Bytes::from_static(payload))
            .value(fee)
            .nonce(nonce)
            .send()
            .await
            .unwrap();
        // Polled by hash: the provider's block heartbeat does not follow `evm_revert`.
        let hash = *pending.tx_hash();
        for _ in 0..100 {
            if let Some(receipt) = self.user.get_transaction_receipt(hash).await.unwrap() {
                assert!(receipt.status());
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("forceInclude {hash} not mined");
    }

    async fn mine(&self, blocks: u64) {
        let _: serde_json::Value = self
            .user
            .raw_request("anvil_mine".into(), (U256::from(blocks),))
            .await
            .unwrap();
    }

    async fn head(&self) -> u64 {
        self.user.get_block_number().await.unwrap()
    }
}

fn config(confirmations: u64) -> WatchConfig {
    WatchConfig {
        confirmations,
        poll_interval_ms: 50,
        max_log_range: 3,
        ..WatchConfig::default()
    }
}

/// Polls until the watcher has read up to `head - confirmations`; returns the payloads read.
async fn drain(watcher: &mut Watcher, view: &mut ordo_types::L1View) {
    while let Some(batch) = watcher.poll().await.unwrap() {
        view.apply(batch).unwrap();
    }
}

#[tokio::test]
async fn watcher_reads_only_confirmed_blocks_in_order_exactly_once() {
    let c = chain().await;
    let client = L1Client::single(&c.anvil.endpoint()).unwrap();
    let mut watcher = Watcher::new(client, c.contracts(), config(3));
    let mut view = ordo_types::L1View::default();
    c.force_include(5, b"a").await;
    c.force_include(6, b"b").await;
    drain(&mut watcher, &mut view).await;
    // The items are one and zero blocks below the head: not confirmed at a depth of 3.
    assert!(view.inbox().is_empty(), "{:?}", view.inbox());
    c.mine(2).await;
    drain(&mut watcher, &mut view).await;
    assert_eq!(view.inbox().len(), 1);
    c.mine(1).await;
    c.force_include(5, b"c").await;
    c.mine(3).await;
    drain(&mut watcher, &mut view).await;
    let items: Vec<(u64, u64, &[u8])> = view
        .inbox()
        .iter()
        .map(|i| (i.index, i.namespace, i.payload.as_ref()))
        .collect();
    assert_eq!(items, vec![(0, 5, &b"a"[..]), (1, 6, b"b"), (2, 5, b"c")]);
    assert_eq!(view.confirmed_number(), c.head().await - 3);
    // Each item's block is the one the contract recorded.
    let inbox = Inbox::new(c.deployment.inbox, c.user.clone());
    for item in view.inbox() {
        assert_eq!(
            inbox.item(item.index).call().await.unwrap().l1Block,
            item.l1_block
        );
        assert_eq!(item.sender, c.anvil.addresses()[3]);
    }
    // The confirmed block's hash is the chain's.
    let confirmed = view.confirmed.unwrap();
    let block = c
        .user
        .get_block_by_number(confirmed.number.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block.header.hash, confirmed.hash);
    // `deploy` stakes nobody: no stake events.
    assert!(view.stake_events().is_empty());

    // A restarted node resumes from its saved view: nothing read twice, nothing missed.
    let saved: ordo_types::L1View =
        serde_json::from_str(&serde_json::to_string(&view).unwrap()).unwrap();
    assert_eq!(saved, view);
    c.force_include(6, b"d").await;
    c.mine(3).await;
    let client = L1Client::single(&c.anvil.endpoint()).unwrap();
    let mut resumed = Watcher::resume(client, c.contracts(), config(3), &saved);
    assert_eq!(resumed.next_block(), saved.confirmed_number() + 1);
    let mut view = saved;
    drain(&mut resumed, &mut view).await;
    let indexes: Vec<u64> = view.inbox().iter().map(|i| i.index).collect();
    assert_eq!(indexes, vec![0, 1, 2, 3]);
}

#[tokio::test]
async fn reorg_below_the_depth_changes_nothing_read_and_a_deeper_one_is_refused() {
    let c = chain().await;
    let client = L1Client::single(&c.anvil.endpoint()).unwrap();
    let mut watcher = Watcher::new(client, c.contracts(), config(3));
    let mut view = ordo_types::L1View::default();
    c.mine(4).await;
    drain(&mut watcher, &mut view).await;
    let before = view.confirmed.unwrap();

    // A fork of two blocks holding an item, then reverted and replaced: shallower than 3.
    let snapshot: U256 = c.user.raw_request("evm_snapshot".into(), ()).await.unwrap();
    c.force_include(5, b"orphaned").await;
    c.mine(1).await;
    drain(&mut watcher, &mut view).await;
    assert!(view.inbox().is_empty());
    let reverted: bool = c
        .user
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    c.force_include(5, b"canonical").await;
    c.mine(4).await;
    drain(&mut watcher, &mut view).await;
    let payloads: Vec<&[u8]> = view.inbox().iter().map(|i| i.payload.as_ref()).collect();
    assert_eq!(payloads, vec![&b"canonical"[..]]);
    // The blocks read before the fork are still those of the chain.
    assert_eq!(view.block_hash(before.number), Some(before.hash));

    // Now revert below what the watcher has confirmed: it refuses to go on.
    let snapshot: U256 = c.user.raw_request("evm_snapshot".into(), ()).await.unwrap();
    c.mine(6).await;
    drain(&mut watcher, &mut view).await;
    let _: bool = c
        .user
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    c.force_include(5, b"rewritten").await;
    c.mine(10).await;
    let err = watcher.poll().await.unwrap_err();
    assert!(matches!(err, L1Error::DeepReorg { .. }), "{err}");
    // The cursor did not move: it keeps refusing, nothing was read from the new branch.
    assert!(matches!(
        watcher.poll().await.unwrap_err(),
        L1Error::DeepReorg { .. }
    ));
    assert_eq!(view.inbox().len(), 1);
}

#[tokio::test]
async fn an_outage_delays_events_without_losing_or_repeating_any() {
    let c = chain().await;
    let proxy = L1Proxy::start(c.anvil.port()).await.unwrap();
    let client = L1Client::new(RpcConfig {
        urls: vec![proxy.url()],
        request_timeout_ms: 500,
        attempts: 1,
        backoff_ms: 10,
        max_backoff_ms: 10,
    })
    .unwrap();
    let (view, task) = Watcher::new(client, c.contracts(), config(2)).spawn();
    c.force_include(1, b"before").await;
    c.mine(2).await;
    let wait = |n: usize| {
        let mut view = view.clone();
        async move {
            tokio::time::timeout(
                Duration::from_secs(20),
                view.wait_for(|v| v.inbox().len() >= n),
            )
            .await
            .expect("watcher did not catch up in time")
            .map(|_| ())
            .unwrap();
        }
    };
    wait(1).await;

    proxy.set_down(true);
    // Items queued during the outage, spread over more blocks than one log range.
    for payload in [&b"during-1"[..], b"during-2", b"during-3"] {
        c.force_include(1, payload).await;
        c.mine(2).await;
    }
    let mut errors = view.clone();
    tokio::time::timeout(
        Duration::from_secs(20),
        errors.wait_for(|v| v.last_error.is_some()),
    )
    .await
    .expect("the outage was not reported")
    .unwrap();
    assert_eq!(view.borrow().inbox().len(), 1);

    proxy.set_down(false);
    c.force_include(1, b"after").await;
    c.mine(2).await;
    wait(5).await;
    let v = view.borrow().clone();
    let payloads: Vec<&[u8]> = v.inbox().iter().map(|i| i.payload.as_ref()).collect();
    assert_eq!(
        payloads,
        vec![
            &b"before"[..],
            b"during-1",
            b"during-2",
            b"during-3",
            b"after"
        ]
    );
    assert!(v
        .inbox()
        .iter()
        .enumerate()
        .all(|(i, item)| item.index == i as u64));
    assert_eq!(v.last_error, None);
    task.abort();
}

#[tokio::test]
async fn the_client_fails_over_from_an_unreachable_url_and_times_out_a_silent_one() {
    let anvil = spawn_anvil().unwrap();
    // A listener that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let client = L1Client::new(RpcConfig {
        urls: vec![
            "http://127.0.0.1:1".into(),
            silent_url.clone(),
            anvil.endpoint(),
        ],
        request_timeout_ms: 300,
        attempts: 2,
        backoff_ms: 10,
        max_backoff_ms: 50,
    })
    .unwrap();
    let head = client
        .request(
            "eth_blockNumber",
            |p| async move { p.get_block_number().await },
        )
        .await
        .unwrap();
    assert_eq!(head, 0);
    // It stays on the endpoint that answered.
    assert_eq!(client.current_url(), anvil.endpoint());

    let dead = L1Client::new(RpcConfig {
        urls: vec!["http://127.0.0.1:1".into(), silent_url],
        request_timeout_ms: 200,
        attempts: 2,
        backoff_ms: 10,
        max_backoff_ms: 10,
    })
    .unwrap();
    let err = dead
        .request(
            "eth_blockNumber",
            |p| async move { p.get_block_number().await },
        )
        .await
        .unwrap_err();
    match err {
        L1Error::Unavailable { attempts, last, .. } => {
            assert_eq!(attempts, 2);
            assert!(last.contains("timed out"), "{last}");
        }
        other => panic!("unexpected {other}"),
    }

    for bad in [vec![], vec!["not a url".to_string()]] {
        assert!(matches!(
            L1Client::new(RpcConfig {
                urls: bad,
                ..RpcConfig::default()
            }),
            Err(L1Error::InvalidRpcUrl { .. })
        ));
    }
}

#[tokio::test]
async fn registrations_carry_the_consensus_key_and_stake_updates_follow() {
    let c = chain().await;
    let operator = PrivateKeySigner::from(c.anvil.keys()[5].clone());
    let consensus = &keys(90, 1)[0];
    let staker =
        ordo_l1::Staker::new(&c.anvil.endpoint(), operator, c.deployment.stake_table).unwrap();
    let eth = U256::from(1_000_000_000_000_000_000u64);
    staker
        .register(consensus, "/ip4/127.0.0.1/tcp/1", "http://127.0.0.1:2", eth)
        .await
        .unwrap();
    staker.stake(consensus.address(), eth).await.unwrap();
    c.mine(2).await;
    let mut watcher = Watcher::new(
        L1Client::single(&c.anvil.endpoint()).unwrap(),
        c.contracts(),
        config(2),
    );
    let mut view = ordo_types::L1View::default();
    drain(&mut watcher, &mut view).await;
    let events: Vec<&ordo_types::StakeEvent> = view.stake_events().iter().map(|(_, e)| e).collect();
    assert!(
        matches!(
            events[0],
            ordo_types::StakeEvent::Registered { validator, public_key: Some(key), .. }
                if *validator == consensus.address() && *key == consensus.public_key()
        ),
        "{events:?}"
    );
    let stakes: Vec<U256> = events
        .iter()
        .filter_map(|e| match e {
            ordo_types::StakeEvent::StakeUpdated { active_stake, .. } => Some(*active_stake),
            _ => None,
        })
        .collect();
    assert_eq!(stakes, vec![eth, eth * U256::from(2)]);

    // Two conflicting precommits of that key, as consensus reports them: slashed and jailed,
    // and the watcher reads the jailing (which takes it out of elections).
    let vote = |hash: u8| {
        let h = alloy::primitives::B256::repeat_byte(hash);
        let digest = ordo_types::vote_digest(777, 9, 0, ordo_types::VoteType::Precommit, Some(h));
        ordo_l1::calldata::signed_vote(
            9,
            0,
            ordo_types::VoteType::Precommit,
            Some(h),
            &consensus.sign_digest(&digest),
        )
    };
    let reporter = ordo_l1::Staker::new(
        &c.anvil.endpoint(),
        PrivateKeySigner::from(c.anvil.keys()[6].clone()),
        c.deployment.stake_table,
    )
    .unwrap();
    reporter.slash(vote(1), vote(2)).await.unwrap();
    // The same evidence again is refused by the contract, recognisably.
    assert!(reporter
        .slash(vote(1), vote(2))
        .await
        .unwrap_err()
        .is_revert());
    c.mine(2).await;
    drain(&mut watcher, &mut view).await;
    assert!(view.stake_events().iter().any(|(_, e)| matches!(
        e,
        ordo_types::StakeEvent::Jailed { validator } if *validator == consensus.address()
    )));
    assert!(reporter.standing(consensus.address()).await.unwrap().jailed);
}
