//! Force inclusion on a real Anvil L1 (a block every 0.5 s) with real `ordo` processes:
//! a censoring proposer is refused once an inbox item is due, and an inbox item lands even
//! when every proposer censors its sender's mempool transactions.

use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use ordo_l1::{deploy, spawn_anvil_mining, DeployParams, Deployment, Inbox};
use serde_json::{json, Value};

use crate::harness::{set, Net};

/// L1 blocks from submission to deadline in these tests.
const DELAY: u64 = 6;
const T: Duration = Duration::from_secs(90);

pub(crate) struct L1Net {
    pub(crate) anvil: AnvilInstance,
    pub(crate) deployment: Deployment,
    pub(crate) net: Net,
}

/// Four validators on a fresh Anvil with the contracts deployed and named in the genesis;
/// `edit` adjusts each node's config (after the L1 settings are written).
pub(crate) async fn l1_net(edit: impl Fn(usize, &mut String)) -> L1Net {
    l1_net_with(0, json!({}), &[0, 1, 2, 3], edit).await
}

/// Like [`l1_net`] with `full` full nodes besides the four validators, `genesis_l1` fields
/// added to the genesis `l1` section (elections), and only the nodes in `start` started. With
/// elections on, the genesis validators are registered and staked (2 ETH each) first.
pub(crate) async fn l1_net_with(
    full: usize,
    genesis_l1: Value,
    start: &[usize],
    edit: impl Fn(usize, &mut String),
) -> L1Net {
    l1_net_init(&[], full, genesis_l1, start, edit).await
}

/// Like [`l1_net_with`], with extra `ordo init` arguments.
pub(crate) async fn l1_net_init(
    init_args: &[String],
    full: usize,
    genesis_l1: Value,
    start: &[usize],
    edit: impl Fn(usize, &mut String),
) -> L1Net {
    let anvil = spawn_anvil_mining(0.5).expect("anvil (run `npm ci` in the repository root)");
    let endpoint = anvil.endpoint();
    let net = Net::init_with(4, full, init_args, |i, text| {
        set(text, "", "moniker", format!("node{i}"));
        let mut l1: toml::Table = toml::Table::new();
        let mut rpc = toml::Table::new();
        rpc.insert("urls".into(), vec![endpoint.clone()].into());
        rpc.insert("request_timeout_ms".into(), 1000.into());
        let mut watch = toml::Table::new();
        watch.insert("confirmations".into(), 2.into());
        watch.insert("poll_interval_ms".into(), 100.into());
        l1.insert("rpc".into(), rpc.into());
        l1.insert("watch".into(), watch.into());
        set(text, "", "l1", l1);
        edit(i, text);
    });
    let genesis: ordo_types_genesis::Genesis = serde_json::from_str(
        &std::fs::read_to_string(net.dir.path().join("genesis.json")).unwrap(),
    )
    .unwrap();
    let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let mut params =
        DeployParams::devnet(genesis.chain_id, &genesis.validators, deployer.address());
    params.inbox.inclusion_delay_blocks = DELAY;
    let deployment = deploy(&endpoint, deployer.clone(), &params).await.unwrap();
    if genesis_l1.get("epoch_length").is_some() {
        for i in 0..4 {
            let key: Value = serde_json::from_str(
                &std::fs::read_to_string(net.home(i).join("validator_key.json")).unwrap(),
            )
            .unwrap();
            let secret: alloy::primitives::B256 =
                key["secret_key"].as_str().unwrap().parse().unwrap();
            let key = ordo_types::SecretKey::from_bytes(&secret.0).unwrap();
            register(&endpoint, &deployer, &deployment, &key).await;
        }
    }
    net.edit_genesis(|g| {
        let mut l1 = json!({
            "chain_id": deployment.chain_id,
            "stake_table": deployment.stake_table,
            "inbox": deployment.inbox,
            "light_client": deployment.light_client,
            "batch_inbox": deployment.batch_inbox,
            "start_block": deployment.deployment_block,
            "inclusion_delay": DELAY,
        });
        for (k, v) in genesis_l1.as_object().unwrap() {
            l1[k] = v.clone();
        }
        g["l1"] = l1;
    });
    let mut net = net;
    for &i in start {
        net.restart(i);
    }
    L1Net {
        anvil,
        deployment,
        net,
    }
}

/// Funds `key`'s address from `payer` and registers it as a validator operated by itself
/// with 2 ETH of self-stake; returns the L1 block of the registration.
pub(crate) async fn register(
    endpoint: &str,
    payer: &PrivateKeySigner,
    deployment: &Deployment,
    key: &ordo_types::SecretKey,
) -> u64 {
    let eth = U256::from(1_000_000_000_000_000_000u64);
    ordo_l1::transfer(endpoint, payer.clone(), key.address(), eth * U256::from(3))
        .await
        .unwrap();
    let signer = PrivateKeySigner::from_bytes(&key.to_bytes().into()).unwrap();
    let staker = ordo_l1::Staker::new(endpoint, signer, deployment.stake_table).unwrap();
    let tx = staker
        .register(
            key,
            "/ip4/127.0.0.1/tcp/1",
            "http://127.0.0.1:1",
            eth * U256::from(2),
        )
        .await
        .unwrap();
    receipt_block(endpoint, tx).await
}

/// The L1 block of transaction `tx`.
pub(crate) async fn receipt_block(endpoint: &str, tx: alloy::primitives::B256) -> u64 {
    let provider = ProviderBuilder::new().connect_http(endpoint.parse().unwrap());
    provider
        .get_transaction_receipt(tx)
        .await
        .unwrap()
        .unwrap()
        .block_number
        .unwrap()
}

mod ordo_types_genesis {
    /// The genesis fields these tests read.
    #[derive(serde::Deserialize)]
    pub(crate) struct Genesis {
        pub(crate) chain_id: u64,
        pub(crate) validators: ordo_types::ValidatorSet,
    }
}

impl L1Net {
    fn provider(&self, account: usize) -> DynProvider {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(PrivateKeySigner::from(
                self.anvil.keys()[account].clone(),
            )))
            .connect_http(self.anvil.endpoint().parse().unwrap())
            .erased()
    }

    /// `ordo l1 batch` posting node 0's chain to the L1 in calldata (Anvil's ninth account
    /// pays).
    pub(crate) fn batcher(&self) -> std::process::Child {
        let key_path = self.net.dir.path().join("batcher.json");
        let secret = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97";
        let key = ordo_types::SecretKey::from_bytes(&secret.parse::<ordo_types::B256>().unwrap().0)
            .unwrap();
        std::fs::write(
            &key_path,
            json!({ "address": key.address(), "secret_key": secret }).to_string(),
        )
        .unwrap();
        crate::harness::ordo()
            .args([
                "l1",
                "batch",
                "--node",
                &self.net.apis[0],
                "--l1",
                &self.anvil.endpoint(),
            ])
            .arg("--key")
            .arg(&key_path)
            .arg("--genesis")
            .arg(self.net.dir.path().join("genesis.json"))
            .args([
                "--confirmations",
                "0",
                "--max-blocks",
                "20",
                "--mode",
                "calldata",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `namespace` up to `until` as the L1 alone rebuilds it, with a batcher posting the chain
    /// meanwhile: the lines `ordo rollup follow --l1` printed.
    pub(crate) async fn follow_from_l1(&self, namespace: u64, until: u64) -> String {
        let mut batcher = self.batcher();
        let genesis = self.net.dir.path().join("genesis.json");
        let endpoint = self.anvil.endpoint();
        let rebuild = tokio::task::spawn_blocking(move || {
            crate::harness::follow(&genesis, ["--l1", &endpoint], namespace, until)
        });
        let lines = tokio::time::timeout(T, rebuild)
            .await
            .expect("the L1 rebuild finished")
            .unwrap();
        let _ = batcher.kill();
        let _ = batcher.wait();
        lines
    }

    /// `namespace` up to `until` as node `i` serves it: the lines `ordo rollup follow
    /// --node` printed.
    pub(crate) fn follow_node(&self, i: usize, namespace: u64, until: u64) -> String {
        let genesis = self.net.dir.path().join("genesis.json");
        crate::harness::follow(&genesis, ["--node", &self.net.apis[i]], namespace, until)
    }

    /// The L1's head block number.
    pub(crate) async fn l1_head(&self) -> u64 {
        self.provider(0).get_block_number().await.unwrap()
    }

    /// Queues `payload` for `namespace` from Anvil account `account`; returns (index, L1 block).
    pub(crate) async fn force_include(
        &self,
        account: usize,
        namespace: u64,
        payload: Vec<u8>,
    ) -> (u64, u64) {
        let inbox = Inbox::new(self.deployment.inbox, self.provider(account));
        let fee = inbox.currentFee().call().await.unwrap();
        let receipt = inbox
            .forceInclude(namespace, Bytes::from(payload))
            .value(fee + U256::from(1))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        let event = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<Inbox::ForcedInclusion>().ok())
            .unwrap()
            .inner
            .data;
        (event.index, event.l1Block)
    }

    /// Waits until node `i` reports inbox item `index` of `namespace` included; returns the
    /// item's JSON from `/v1/forced`.
    pub(crate) async fn wait_forced(&self, i: usize, namespace: u64, index: u64) -> Value {
        let deadline = Instant::now() + T;
        loop {
            if let Some(list) = self
                .net
                .get(i, &format!("/v1/forced?namespace={namespace}"))
                .await
            {
                if let Some(item) = list["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|it| it["index"] == index && it["status"] == "included")
                {
                    return item.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "inbox item {index} not included; log: {}",
                self.net.home(i).join("node.log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Checks the force-inclusion invariant on node 0's chain up to its tip: every block whose
    /// L1 origin is at or past `deadline` has included item `index` (its cursor is past it),
    /// the origin never goes backwards, and the item sits in block `height`, marked forced.
    async fn check_chain(&self, index: u64, deadline: u64, height: u64) {
        let tip = self.net.height(0).await.unwrap();
        let mut origin = 0;
        for h in 1..=tip {
            let b = self.net.block(0, h).await.unwrap();
            let o = b["l1_origin_number"].as_u64().unwrap();
            assert!(o >= origin, "L1 origin went back at height {h}");
            origin = o;
            let cursor = b["inbox_cursor"].as_u64().unwrap();
            if o >= deadline {
                assert!(
                    cursor > index,
                    "height {h} (origin {o}) omits item {index} due at {deadline}"
                );
            }
            assert_eq!(cursor > index, h >= height, "cursor at height {h}");
        }
    }
}

#[tokio::test]
async fn a_censoring_proposer_is_refused_once_an_inbox_item_is_due() {
    const CENSORED: u64 = 5;
    // Validator 3 never includes namespace 5 and reads the L1 with one confirmation, so it
    // is the first to propose an origin at which an item is due; the others (two
    // confirmations) accept its origin (within their lookahead) and refuse its blocks.
    let l1 = l1_net(|i, text| {
        if i == 3 {
            text.insert_str(
                0,
                &format!("test_fault = {{ censor_namespace = {CENSORED} }}\n"),
            );
            let mut table: toml::Table = text.parse().unwrap();
            table["l1"]["watch"]
                .as_table_mut()
                .unwrap()
                .insert("confirmations".into(), 1.into());
            *text = toml::to_string(&table).unwrap();
        }
    })
    .await;
    l1.net.wait_height(&[0, 1, 2, 3], 3, T).await;
    let refused = |net: &Net| {
        (0..3).any(|i| {
            net.log(i)
                .lines()
                .any(|l| l.contains("invalid proposal") && l.contains("was due at L1 block"))
        })
    };
    // Each item gives the censor a chance to propose past the deadline first; a few items
    // make that all but certain.
    let mut sent = 0;
    while !refused(&l1.net) {
        assert!(
            sent < 6,
            "the censor never proposed past a deadline in {sent} items"
        );
        let (index, block) = l1
            .force_include(1, CENSORED, format!("item {sent}").into_bytes())
            .await;
        let item = l1.wait_forced(0, CENSORED, index).await;
        let height = item["height"].as_u64().unwrap();
        let including = l1.net.block(0, height).await.unwrap();
        assert_eq!(item["deadline"], block + DELAY);
        // It lands at its deadline: the including block's origin is at the deadline, give or
        // take the views' spread (an honest proposer includes it as soon as it is due).
        let origin = including["l1_origin_number"].as_u64().unwrap();
        assert!(
            origin >= block + DELAY && origin <= block + DELAY + 3,
            "origin {origin}"
        );
        l1.net.wait_height(&[0], height + 1, T).await;
        l1.check_chain(index, block + DELAY, height).await;
        // The block shows it in namespace 5, marked forced with its index.
        let slice = l1
            .net
            .get(0, &format!("/v1/namespaces/{CENSORED}/blocks/{height}"))
            .await
            .unwrap();
        let text = slice.to_string();
        assert!(text.contains("forced"), "{text}");
        sent += 1;
    }
    // The censor kept proposing blocks that were decided (it is a live validator), none of
    // them past a deadline without the item (checked above).
    let censor = l1.net.get(3, "/v1/status").await.unwrap()["address"]
        .as_str()
        .unwrap()
        .to_lowercase();
    let tip = l1.net.height(0).await.unwrap();
    let mut by_censor = 0;
    for h in 1..=tip {
        let b = l1.net.block(0, h).await.unwrap();
        if b["proposer"].as_str().unwrap().to_lowercase() == censor {
            by_censor += 1;
        }
    }
    assert!(by_censor > 0, "the censor proposed no decided block");
}

#[tokio::test]
async fn every_proposer_censoring_a_sender_cannot_stop_its_inbox_item() {
    // Every validator drops the mempool transactions of Anvil's third default account (the
    // same address on every Anvil).
    let sender: alloy::primitives::Address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
        .parse()
        .unwrap();
    let l1 = l1_net(|_, text| {
        text.insert_str(
            0,
            &format!("test_fault = {{ censor_sender = \"{sender}\" }}\n"),
        );
    })
    .await;
    l1.net.wait_height(&[0, 1, 2, 3], 3, T).await;
    // Its Ordo transaction (same key) waits in the mempool.
    let key = ordo_types::SecretKey::from_bytes(&l1.anvil.keys()[2].to_bytes().into()).unwrap();
    assert_eq!(key.address(), sender);
    let tx = ordo_types::Transaction::sign(1, 0, Bytes::from_static(b"via mempool"), &key, 1337);
    let (status, body) = l1.net.post(0, "/v1/transactions", &tx).await;
    assert_eq!(status, 202, "{body}");
    // Its inbox item lands at the deadline.
    let (index, block) = l1.force_include(2, 1, b"via the inbox".to_vec()).await;
    let item = l1.wait_forced(0, 1, index).await;
    let height = item["height"].as_u64().unwrap();
    assert_eq!(
        item["sender"].as_str().unwrap().to_lowercase(),
        sender.to_string().to_lowercase()
    );
    l1.net.wait_height(&[0, 1, 2, 3], height + 3, T).await;
    l1.check_chain(index, block + DELAY, height).await;
    // Every node agrees, and the mempool transaction is still not included.
    l1.net.assert_same_chain(&[0, 1, 2, 3], height).await;
    let hash = body["hash"].as_str().unwrap();
    let tx_status = l1
        .net
        .get(0, &format!("/v1/transactions/{hash}"))
        .await
        .unwrap();
    assert_ne!(tx_status["status"], "included", "{tx_status}");

    // A restarted node resumes its L1 watcher from the view it saved, and still knows the item.
    let mut l1 = l1;
    let saved = l1.net.home(0).join("data/l1-view.json");
    let deadline = Instant::now() + T;
    while !saved.exists() {
        assert!(Instant::now() < deadline, "no saved L1 view");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    l1.net.kill(0);
    l1.net.restart(0);
    let tip = l1.net.height(1).await.unwrap();
    l1.net.wait_height(&[0], tip + 3, T).await;
    assert!(l1.net.log(0).contains("resuming the L1 watcher"));
    let again = l1.wait_forced(0, 1, index).await;
    assert_eq!(again["height"], height);
}

#[tokio::test]
async fn ordo_keeps_sequencing_while_the_l1_is_down() {
    let mut l1 = l1_net(|_, _| {}).await;
    // Wait until blocks carry an L1 origin.
    let deadline = Instant::now() + T;
    let origin = loop {
        let tip = l1.net.height(0).await.unwrap_or(0);
        if tip > 0 {
            let b = l1.net.block(0, tip).await.unwrap();
            let o = b["l1_origin_number"].as_u64().unwrap();
            if o > 0 {
                break o;
            }
        }
        assert!(Instant::now() < deadline, "no L1 origin");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The L1 goes away for good: Ordo goes on, its origin stays where it was.
    let anvil = std::mem::replace(&mut l1.anvil, spawn_anvil_mining(60.0).unwrap());
    drop(anvil);
    let tip = l1.net.height(0).await.unwrap();
    l1.net.wait_height(&[0, 1, 2, 3], tip + 30, T).await;
    let origin_at = |b: Value| b["l1_origin_number"].as_u64().unwrap();
    let stuck = origin_at(l1.net.block(0, tip + 15).await.unwrap());
    assert!(stuck >= origin);
    for h in tip + 16..=tip + 30 {
        assert_eq!(
            origin_at(l1.net.block(0, h).await.unwrap()),
            stuck,
            "height {h}"
        );
    }
    l1.net.assert_same_chain(&[0, 1, 2, 3], tip + 30).await;
    // The outage is reported, not hidden.
    let forced = l1.net.get(0, "/v1/forced?namespace=1").await.unwrap();
    assert!(forced["l1_error"].is_string(), "{forced}");
    let metrics = reqwest::get(format!("{}/metrics", l1.net.apis[0]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("ordo_l1_read_failing 1"), "{metrics}");
    assert!(metrics.contains("ordo_committee_size 4"));

    // Bad queries get clear refusals.
    let http = reqwest::Client::new();
    for (path, status, code) in [
        ("/v1/forced", 400, "MALFORMED"),
        ("/v1/forced?namespace=x", 400, "MALFORMED"),
        ("/v1/forced?namespace=1&extra=2", 400, "MALFORMED"),
        ("/v1/validators?height=-1", 400, "MALFORMED"),
        ("/v1/validators?height=99999999", 404, "NOT_FOUND"),
    ] {
        let resp = http
            .get(format!("{}{path}", l1.net.apis[0]))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], code, "{path}: {body}");
    }
    let committee = l1.net.get(0, "/v1/validators?height=1").await.unwrap();
    assert_eq!(
        committee["current"]["validators"].as_array().unwrap().len(),
        4
    );
}

#[tokio::test]
async fn validators_blind_to_the_l1_slow_the_chain_but_do_not_stop_it() {
    // Two of four validators cannot reach the L1: they refuse every new L1 origin, so the
    // others' new origins never get a quorum. Blocks that keep the parent's origin (proposed
    // by the blind ones, or by anyone from round 2 on) carry the chain.
    let l1 = l1_net(|i, text| {
        if i >= 2 {
            let mut table: toml::Table = text.parse().unwrap();
            table["l1"]["rpc"]
                .as_table_mut()
                .unwrap()
                .insert("urls".into(), vec!["http://127.0.0.1:1".to_string()].into());
            *text = toml::to_string(&table).unwrap();
        }
    })
    .await;
    l1.net.wait_height(&[0, 1, 2, 3], 10, T).await;
    l1.net.assert_same_chain(&[0, 1, 2, 3], 10).await;
    for h in 1..=10 {
        let b = l1.net.block(0, h).await.unwrap();
        assert_eq!(
            b["l1_origin_number"], 0,
            "height {h}: no origin the blind half can see"
        );
    }
}

/// Four validators with the encrypted lane on an L1 without elections, once they have
/// generated the key; and a sealer of a sender's payload for a namespace (nonce 0).
async fn lane_on_l1(
    extra: &[String],
) -> (
    L1Net,
    impl Fn(u64, &[u8], &ordo_types::SecretKey) -> ordo_types::Transaction,
) {
    let mut args = vec!["--encryption".to_owned()];
    args.extend_from_slice(extra);
    let l1 = l1_net_init(&args, 0, json!({}), &[0, 1, 2, 3], |_, _| {}).await;
    let info = l1.net.wait_encryption(0, T).await;
    let public = alloy::hex::decode(info["public_key"].as_str().unwrap()).unwrap();
    let key =
        ordo_enc::EncryptionKey::from_bytes(info["key_id"].as_u64().unwrap(), &public).unwrap();
    let chain_id = l1.net.get(0, "/v1/status").await.unwrap()["chain_id"]
        .as_u64()
        .unwrap();
    let seal = move |namespace: u64, payload: &[u8], sender: &ordo_types::SecretKey| {
        ordo_enc::encrypt_transaction(
            &mut rand_010::rng(),
            &key,
            chain_id,
            namespace,
            0,
            payload,
            sender,
        )
        .unwrap()
    };
    (l1, seal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_envelope_sent_through_the_l1_inbox_is_opened_like_a_submitted_one() {
    let (l1, seal) = lane_on_l1(&[]).await;
    // A sealed transaction, signed by its sender as for the API, but queued in the L1 inbox.
    let sender = ordo_types::SecretKey::random();
    let tx = seal(1, b"escape hatch, still hidden", &sender);
    let (index, _) = l1
        .force_include(1, 1, ordo_types::Encode::encode(&tx))
        .await;
    let item = l1.wait_forced(0, 1, index).await;
    let height = item["height"].as_u64().unwrap();
    // The verifying client checks its opening and delivers it opened.
    let genesis =
        ordo_rollup_adapters::Genesis::load(&l1.net.dir.path().join("genesis.json")).unwrap();
    let mut client =
        ordo_rollup_adapters::RollupClient::from_genesis(&l1.net.apis[2], &genesis).with_openings();
    let deadline = Instant::now() + T;
    let block = loop {
        match client.block(1, height).await {
            Ok(block) => break block,
            // Node 2 may not have the height node 0 reported yet, or its opening.
            Err(e) if (e.is_not_found() || e.code() == "UNOPENED") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    let opened = block.opened();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(block.entries()[opened[0].index as usize].is_forced());
    assert_eq!(
        opened[0].outcome,
        ordo_types::Opened::Plaintext(ordo_types::Bytes::from_static(
            b"escape hatch, still hidden"
        ))
    );
    assert!(matches!(
        block.delivered().first(),
        Some(ordo_rollup_adapters::Delivered::Opened(..))
    ));
    // It used its sender's nonce: the same envelope submitted now is refused.
    let next = l1
        .net
        .get(
            0,
            &format!("/v1/accounts/{}/nonce?namespace=1", sender.address()),
        )
        .await
        .unwrap();
    assert_eq!(next["next_nonce"], 1, "{next}");
    let (status, body) = l1.net.post(0, "/v1/transactions", &tx).await;
    assert_ne!(status, 202, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_l1_alone_rebuilds_the_lane_key_and_plaintext_as_the_nodes_serve_them() {
    let (l1, seal) = lane_on_l1(&[]).await;
    let tx = seal(1, b"rebuilt from the L1", &ordo_types::SecretKey::random());
    let (status, body) = l1.net.post(0, "/v1/transactions", &tx).await;
    assert_eq!(status, 202, "{body}");
    let at = l1.net.wait_included(0, &tx.hash().to_string(), T).await;
    let height = at["height"].as_u64().unwrap();
    // A few heights past it, so the keys a later block commits are in.
    let until = height + 5;
    l1.net.wait_height(&[0], until, T).await;
    let from_l1 = l1.follow_from_l1(1, until).await;
    let line: Value = from_l1
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["height"] == height)
        .expect("the line of the block");
    let plaintext = format!("0x{}", alloy::hex::encode(b"rebuilt from the L1"));
    assert_eq!(line["delivered"][0]["plaintext"], plaintext, "{line}");
    // The same lines as the nodes serve.
    assert_eq!(from_l1, l1.follow_node(1, 1, until));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_executor_replays_a_sealed_ethereum_transaction_from_the_l1_alone() {
    use crate::evm::{sign, spawn_l2, transfer, CHAIN_ID};
    use alloy::primitives::{keccak256, Address};

    let (l1, seal) = lane_on_l1(&[format!("--evm-rollup={CHAIN_ID}")]).await;
    // An L2 fed only from the L1, and a wallet's transfer sealed to the network's key.
    let l2 = spawn_l2();
    let wallet = PrivateKeySigner::from(l2.keys()[1].clone());
    let to = Address::repeat_byte(0x1e);
    let raw = sign(transfer(CHAIN_ID, 0, to, 9), &wallet);
    let sender = ordo_types::SecretKey::from_bytes(&wallet.credential().to_bytes().into()).unwrap();
    let tx = seal(CHAIN_ID, &raw, &sender);
    let (status, body) = l1.net.post(0, "/v1/transactions", &tx).await;
    assert_eq!(status, 202, "{body}");
    l1.net.wait_included(0, &tx.hash().to_string(), T).await;
    let mut batcher = l1.batcher();
    let mut executor = crate::harness::ordo()
        .args(["rollup", "run", "--l1", &l1.anvil.endpoint(), "--engine"])
        .arg(l2.endpoint())
        .arg("--genesis")
        .arg(l1.net.dir.path().join("genesis.json"))
        .args([
            "--namespace",
            &CHAIN_ID.to_string(),
            "--l1-confirmations",
            "0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let provider = ProviderBuilder::new().connect_http(l2.endpoint_url());
    let deadline = Instant::now() + T;
    let receipt = loop {
        if let Some(r) = provider
            .get_transaction_receipt(keccak256(&raw))
            .await
            .unwrap()
        {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "the L1 replay never executed the sealed transfer"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for child in [&mut executor, &mut batcher] {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(receipt.status());
    assert_eq!(provider.get_balance(to).await.unwrap(), U256::from(9));
}
