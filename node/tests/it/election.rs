//! Elections from a real Anvil stake table with real `ordo` processes: a validator that stakes
//! joins the committee exactly at the expected height and signs certificates; after unstaking
//! it leaves at the expected height; a node started from scratch later syncs to the same
//! blocks; `ordo l1 relay` takes the LightClient through every rotation. An equivocating
//! validator is slashed on L1 and voted out. A validator cut off from the L1 follows the
//! committees its peers certify.

use std::time::{Duration, Instant};

use alloy::signers::local::PrivateKeySigner;
use ordo_types::SecretKey;
use serde_json::{json, Value};

use crate::force::{l1_net_init, l1_net_with, receipt_block, L1Net};
use crate::harness::set;
use crate::opening::{check_key, epoch_key, opened};

/// Ordo blocks per epoch in this test.
const EPOCH: u64 = 8;
const T: Duration = Duration::from_secs(120);

async fn block(l1: &L1Net, h: u64) -> Value {
    l1.net.wait_height(&[0], h, T).await;
    l1.net.block(0, h).await.unwrap()
}

/// The first election height (first block of an epoch) whose L1 origin is at or past
/// `l1_block`, and the height its committee takes over (two epochs later).
async fn takes_effect(l1: &L1Net, l1_block: u64) -> (u64, u64) {
    takes_effect_in(l1, l1_block, EPOCH).await
}

/// [`takes_effect`] with epochs of `length` blocks.
async fn takes_effect_in(l1: &L1Net, l1_block: u64, length: u64) -> (u64, u64) {
    let deadline = Instant::now() + T;
    for epoch in 0.. {
        let b = epoch * length + 1;
        let origin = block(l1, b).await["l1_origin_number"].as_u64().unwrap();
        if origin >= l1_block {
            return (b, (epoch + 2) * length + 1);
        }
        assert!(
            Instant::now() < deadline,
            "no election saw L1 block {l1_block}"
        );
    }
    unreachable!()
}

fn signed_by(block: &Value, address: &str) -> bool {
    block["certificate"]
        .to_string()
        .to_lowercase()
        .contains(address)
}

/// A network of 4 genesis validators (nodes 0-3) and `full` full nodes, none started, where
/// node 4 holds `newcomer`'s validator key, made with `ordo init` and `init_args`.
async fn with_newcomer(
    init_args: &[String],
    full: usize,
    genesis_l1: Value,
    newcomer: &SecretKey,
) -> L1Net {
    let l1 = l1_net_init(init_args, full, genesis_l1, &[], |i, text| {
        if i == 4 {
            set(text, "", "validator_key", "validator_key.json");
        }
    })
    .await;
    let key = json!({ "address": newcomer.address(), "secret_key": alloy::primitives::B256::from(newcomer.to_bytes()) });
    std::fs::write(l1.net.home(4).join("validator_key.json"), key.to_string()).unwrap();
    l1
}

/// Registers `newcomer` with `eth` ETH of stake (each genesis validator has 2), operated by
/// Anvil's fifth account: its staker and the L1 block of the registration.
async fn stake(l1: &L1Net, newcomer: &SecretKey, eth: u64) -> (ordo_l1::Staker, u64) {
    let operator = PrivateKeySigner::from(l1.anvil.keys()[4].clone());
    let staker =
        ordo_l1::Staker::new(&l1.anvil.endpoint(), operator, l1.deployment.stake_table).unwrap();
    let wei_per_eth = alloy::primitives::U256::from(1_000_000_000_000_000_000u64);
    let amount = alloy::primitives::U256::from(eth) * wei_per_eth;
    let tx = staker
        .register(
            newcomer,
            "/ip4/127.0.0.1/tcp/1",
            "http://127.0.0.1:1",
            amount,
        )
        .await
        .unwrap();
    let staked_at = receipt_block(&l1.anvil.endpoint(), tx).await;
    (staker, staked_at)
}

#[tokio::test]
async fn a_staker_joins_and_leaves_the_committee_at_the_expected_heights() {
    let newcomer = SecretKey::random();
    let address = newcomer.address().to_string().to_lowercase();
    // Nodes 0-3: genesis validators; node 4: a full node holding the newcomer's key; node 5:
    // started from scratch at the end.
    let mut l1 = with_newcomer(&[], 2, json!({ "epoch_length": EPOCH }), &newcomer).await;
    for i in 0..5 {
        l1.net.restart(i);
    }
    l1.net.wait_height(&[0, 1, 2, 3], 2, T).await;

    // 6 of 14 ETH: the four genesis validators hold 8, not more than two thirds, so no
    // certificate can close without the newcomer while it is in the committee.
    let (staker, staked_at) = stake(&l1, &newcomer, 6).await;
    let (election, join) = takes_effect(&l1, staked_at).await;

    // It joins exactly at `join`: the committee hash changes there, as announced by the block
    // before, and its signature is in certificates from then on, never before.
    let before = block(&l1, join - 1).await;
    let at = block(&l1, join).await;
    assert_ne!(
        before["validators_hash"], at["validators_hash"],
        "election at {election}"
    );
    assert_eq!(before["next_validators_hash"], at["validators_hash"]);
    for h in 1..join {
        assert!(
            !signed_by(&block(&l1, h).await, &address),
            "signed height {h} < {join}"
        );
    }
    // From `join` on its precommits count: every certificate of its first epoch holds them.
    for h in join..join + EPOCH {
        assert!(
            signed_by(&block(&l1, h).await, &address),
            "unsigned height {h} >= {join}"
        );
    }
    let committee = l1.net.get(0, "/v1/validators").await.unwrap();
    assert!(
        committee["current"]
            .to_string()
            .to_lowercase()
            .contains(&address),
        "{committee}"
    );

    // Unstake: it leaves at the height the next election after that takes effect.
    staker.unstake_all(newcomer.address()).await.unwrap();
    // The unstake is in the head block now (Anvil mines a transaction at once).
    let head = l1.l1_head().await;
    let (_, leave) = takes_effect(&l1, head).await;
    let before = block(&l1, leave - 1).await;
    let at = block(&l1, leave).await;
    assert_eq!(before["next_validators_hash"], at["validators_hash"]);
    assert!(leave > join);
    for h in leave..leave + EPOCH {
        assert!(
            !signed_by(&block(&l1, h).await, &address),
            "signed height {h} >= {leave}"
        );
    }
    let committee = l1.net.get(0, "/v1/validators").await.unwrap();
    assert!(!committee["current"]
        .to_string()
        .to_lowercase()
        .contains(&address));

    // A node started from scratch after all this syncs to the same blocks.
    let tip = l1.net.height(0).await.unwrap();
    l1.net.restart(5);
    l1.net.wait_height(&[5], tip, T).await;
    l1.net.assert_same_chain(&[0, 5], tip).await;

    // `ordo l1 relay` brings the LightClient through every rotation to the latest block.
    let relayer = l1.net.home(0).join("relayer.json");
    let secret = alloy::primitives::B256::from_slice(&l1.anvil.keys()[6].to_bytes());
    let relayer_address = SecretKey::from_bytes(&secret.0).unwrap().address();
    std::fs::write(
        &relayer,
        json!({ "address": relayer_address, "secret_key": secret }).to_string(),
    )
    .unwrap();
    let out = crate::harness::ordo()
        .args([
            "l1",
            "relay",
            "--node",
            &l1.net.apis[0],
            "--l1-rpc",
            &l1.anvil.endpoint(),
        ])
        .arg("--key")
        .arg(&relayer)
        .args(["--light-client", &l1.deployment.light_client.to_string()])
        .args(["--interval-ms", "200", "--until", &tip.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let relay = ordo_l1::LightClientRelay::new(
        &l1.anvil.endpoint(),
        PrivateKeySigner::random(),
        l1.deployment.light_client,
    )
    .unwrap();
    let state = relay.state().await.unwrap();
    // Rotations: the join and the leave, plus genesis to the first elected committee when the
    // first election saw the genesis validators' stake before the newcomer's (it may not: their
    // registrations can still be unconfirmed at height 1, and then the committee stays).
    let mut rotations = Vec::new();
    for h in 1..=state.latest_height {
        let b = block(&l1, h).await;
        if b["next_validators_hash"] != b["validators_hash"] {
            rotations.push(h + 1);
        }
    }
    assert!(
        rotations.contains(&join) && rotations.contains(&leave),
        "join at {join}, leave at {leave}, rotations at {rotations:?}"
    );
    assert_eq!(state.epoch, rotations.len() as u64, "{stdout}");
    let latest = block(&l1, state.latest_height).await;
    assert_eq!(
        latest["validators_hash"]
            .as_str()
            .unwrap()
            .parse::<alloy::primitives::B256>()
            .unwrap(),
        state.committee_hash
    );
    assert!(state.latest_height >= tip);

    // A rollup follower trusting only the genesis committee follows every rotation the
    // certified headers announce.
    let out = crate::harness::ordo()
        .args([
            "rollup",
            "follow",
            "--node",
            &l1.net.apis[0],
            "--namespace",
            "1",
        ])
        .arg("--genesis")
        .arg(l1.net.home(0).join("genesis.json"))
        .args(["--until", &tip.to_string()])
        .output()
        .unwrap();
    let followed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        followed.lines().count() as u64,
        tip,
        "one verified line per height"
    );

    // A client trusting only the genesis committee starts reading after both rotations: it
    // walks the certified handovers the node serves, and trusts the committee deciding there.
    let genesis =
        ordo_rollup_adapters::Genesis::load(&l1.net.home(0).join("genesis.json")).unwrap();
    let mut client = ordo_rollup_adapters::RollupClient::from_genesis(&l1.net.apis[0], &genesis);
    assert_eq!(client.block(1, leave).await.unwrap().height(), leave);
    assert_eq!(client.verifier().trusted_since(), leave);
    assert_eq!(
        client.verifier().validators_hash().to_string(),
        at["validators_hash"].as_str().unwrap()
    );
    // `ordo rollup follow` from `from` to the tip, with `trust` arguments: the lines it printed,
    // or its error.
    let follow = |trust: &[&str], from: u64| {
        let out = crate::harness::ordo()
            .args(["rollup", "follow", "--node", &l1.net.apis[0]])
            .args(trust)
            .args(["--namespace", "1", "--genesis"])
            .arg(l1.net.home(0).join("genesis.json"))
            .args(["--from", &from.to_string(), "--until", &tip.to_string()])
            .output()
            .unwrap();
        let lines = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        out.status.success().then_some(lines).ok_or(stderr)
    };
    assert_eq!(follow(&[], join), Ok(tip - join + 1));

    // Trusting the committee the relayed LightClient holds instead (it took over at `leave`):
    // reading from there verifies; a block of the committee before it does not.
    let endpoint = l1.anvil.endpoint();
    let trust_l1 = ["--trust-l1", endpoint.as_str()];
    assert_eq!(follow(&trust_l1, leave), Ok(tip - leave + 1));
    let refused = follow(&trust_l1, leave - 1).unwrap_err();
    assert!(refused.contains("UNKNOWN_VALIDATOR_SET"), "{refused}");
}

#[tokio::test]
async fn an_equivocating_validator_is_slashed_on_l1_and_voted_out() {
    // Node 4 holds validator 3's key and votes nil on everything while validator 3 votes
    // normally: the key's prevotes conflict. Nodes 0-2 report evidence to the StakeTable.
    let l1 = l1_net_with(
        1,
        json!({ "epoch_length": EPOCH }),
        &[0, 1, 2, 3],
        |i, text| {
            if i < 3 {
                let mut table: toml::Table = text.parse().unwrap();
                table["l1"]
                    .as_table_mut()
                    .unwrap()
                    .insert("slash".into(), true.into());
                *text = toml::to_string(&table).unwrap();
            }
            if i == 4 {
                text.insert_str(0, "test_fault = \"vote_nil\"\n");
                set(text, "", "validator_key", "validator_key.json");
            }
        },
    )
    .await;
    std::fs::copy(
        l1.net.home(3).join("validator_key.json"),
        l1.net.home(4).join("validator_key.json"),
    )
    .unwrap();
    let mut l1 = l1;
    l1.net.restart(4);
    let key: Value = serde_json::from_str(
        &std::fs::read_to_string(l1.net.home(3).join("validator_key.json")).unwrap(),
    )
    .unwrap();
    let address = key["address"].as_str().unwrap().to_lowercase();
    let culprit: ordo_types::Address = address.parse().unwrap();

    // Slashed and jailed on L1.
    let reader = ordo_l1::Staker::new(
        &l1.anvil.endpoint(),
        PrivateKeySigner::random(),
        l1.deployment.stake_table,
    )
    .unwrap();
    let deadline = Instant::now() + T;
    while !reader.standing(culprit).await.unwrap().jailed {
        assert!(Instant::now() < deadline, "validator 3 was not slashed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let head = l1.l1_head().await;
    // The reporting node logs it once its receipt is in.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(0..3).any(|i| l1.net.log(i).contains("slashed an equivocating validator")) {
        assert!(Instant::now() < deadline, "no node logged the slash");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Out of the committee from the election that saw the jailing on.
    let (_, out) = takes_effect(&l1, head).await;
    l1.net.wait_height(&[0, 1, 2], out + EPOCH, T).await;
    for h in out..out + EPOCH {
        let committee = l1
            .net
            .get(0, &format!("/v1/validators?height={h}"))
            .await
            .unwrap();
        assert!(
            !committee["current"]
                .to_string()
                .to_lowercase()
                .contains(&address),
            "height {h}: {committee}"
        );
        assert!(
            !signed_by(&block(&l1, h).await, &address),
            "signed height {h}"
        );
    }
    // It was in the genesis committee.
    let genesis = l1.net.get(0, "/v1/validators?height=1").await.unwrap();
    assert!(genesis["current"]
        .to_string()
        .to_lowercase()
        .contains(&address));
}

/// Validator 3's L1 is cut while a stake change moves the committee, then every node's: no node
/// stops, every node follows the same committees (the blind one takes them from the certified
/// headers its peers serve), and the blind one's L1 view catches up once the L1 returns.
#[tokio::test]
async fn a_validator_blind_to_the_l1_follows_the_committees_its_peers_certify() {
    let mut l1 = l1_net_with(0, json!({ "epoch_length": EPOCH }), &[], |_, _| {}).await;
    // Every node reaches the L1 through a proxy of its own.
    let mut proxies = Vec::new();
    for i in 0..4 {
        let proxy = ordo_l1::outage::L1Proxy::start(l1.anvil.port())
            .await
            .unwrap();
        let path = l1.net.home(i).join("config.toml");
        let mut config: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        config["l1"]["rpc"]
            .as_table_mut()
            .unwrap()
            .insert("urls".into(), vec![proxy.url()].into());
        std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
        proxies.push(proxy);
        l1.net.restart(i);
    }
    l1.net.wait_height(&[0, 1, 2, 3], 2, T).await;
    proxies[3].set_down(true);
    let blind_at = l1.l1_head().await;

    // A delegation to validator 0 changes its voting power, so the committee changes.
    let validator: Value = serde_json::from_str(
        &std::fs::read_to_string(l1.net.home(0).join("validator_key.json")).unwrap(),
    )
    .unwrap();
    let delegator = PrivateKeySigner::from(l1.anvil.keys()[4].clone());
    let staker =
        ordo_l1::Staker::new(&l1.anvil.endpoint(), delegator, l1.deployment.stake_table).unwrap();
    let two_eth = alloy::primitives::U256::from(2_000_000_000_000_000_000u64);
    let tx = staker
        .stake(
            validator["address"].as_str().unwrap().parse().unwrap(),
            two_eth,
        )
        .await
        .unwrap();
    let staked_at = receipt_block(&l1.anvil.endpoint(), tx).await;
    let (_, change) = takes_effect(&l1, staked_at).await;
    let before = block(&l1, change - 1).await;
    assert_ne!(before["validators_hash"], before["next_validators_hash"]);

    // The blind validator crosses the change and the next epoch boundary with the others, on
    // the same chain and committees, without having seen the stake change.
    l1.net.wait_height(&[0, 1, 2, 3], change + EPOCH, T).await;
    l1.net
        .assert_same_chain(&[0, 1, 2, 3], change + EPOCH)
        .await;
    for h in [change - 1, change, change + EPOCH] {
        let path = format!("/v1/validators?height={h}");
        let expected = l1.net.get(0, &path).await.unwrap();
        for i in 1..4 {
            assert_eq!(
                l1.net.get(i, &path).await.unwrap(),
                expected,
                "node {i}, height {h}"
            );
        }
    }
    let confirmed = |i| {
        let net = &l1.net;
        async move {
            net.get(i, "/v1/forced?namespace=1").await.unwrap()["confirmed_l1_block"]
                .as_u64()
                .unwrap_or(0)
        }
    };
    assert!(confirmed(3).await <= blind_at, "node 3 saw the L1");
    assert!(l1
        .net
        .log(3)
        .contains("committee taken from a certified header"));

    // Every node's L1 is cut: the chain goes on across two more epoch boundaries.
    for proxy in &proxies {
        proxy.set_down(true);
    }
    let tip = l1.net.height(0).await.unwrap();
    l1.net.wait_height(&[0, 1, 2, 3], tip + 2 * EPOCH, T).await;
    l1.net
        .assert_same_chain(&[0, 1, 2, 3], tip + 2 * EPOCH)
        .await;

    // The L1 returns, and the blind node's view catches up with it.
    for proxy in &proxies {
        proxy.set_down(false);
    }
    let head = l1.l1_head().await;
    let deadline = Instant::now() + T;
    while confirmed(3).await < head - 2 {
        assert!(Instant::now() < deadline, "node 3's L1 view stayed behind");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// With the encrypted lane on: each epoch's committee generates its own key in the epoch
/// before, a newcomer included; clients seal to it from a window before the epoch; what was
/// sealed to the old key before that still opens under it, what the old epoch could not
/// include is dropped with the reason, and the new key opens what is sealed to it.
#[tokio::test]
async fn each_committee_generates_its_own_key_and_what_was_sealed_to_the_old_one_still_opens() {
    const WINDOW: u64 = 4;
    const LENGTH: u64 = 9 * WINDOW;
    const CHAIN_ID: u64 = 1337;
    let newcomer = SecretKey::random();
    // Nodes 0-3: genesis validators; node 4: a full node holding the newcomer's key.
    let mut l1 = with_newcomer(
        &["--encryption".to_owned()],
        1,
        json!({ "epoch_length": LENGTH }),
        &newcomer,
    )
    .await;
    l1.net
        .edit_genesis(|g| g["encryption"] = json!({ "window": WINDOW }));
    for i in 0..5 {
        l1.net.restart(i);
    }
    let (_, staked_at) = stake(&l1, &newcomer, 2).await;
    let (_, join) = takes_effect_in(&l1, staked_at, LENGTH).await;
    let new_epoch = (join - 1) / LENGTH;
    let switch = join - WINDOW;

    // Well before the switch, clients seal to the old epoch's key.
    l1.net.wait_height(&[0], switch - 3 * WINDOW, T).await;
    let old = epoch_key(&l1.net).await;
    let info = l1.net.get(0, "/v1/encryption").await.unwrap();
    assert_eq!(info["epoch"], new_epoch - 1, "{info}");
    let seal = |key: &ordo_enc::EncryptionKey, sender: &SecretKey, nonce: u64, text: &[u8]| {
        ordo_enc::encrypt_transaction(&mut rand_010::rng(), key, CHAIN_ID, 1, nonce, text, sender)
            .unwrap()
    };
    let (a, b) = (SecretKey::random(), SecretKey::random());
    let early = seal(&old, &a, 0, b"sealed to the old key");
    // Nonce 1 with no nonce 0: it waits in the pool until the old epoch has ended.
    let stranded = seal(&old, &b, 1, b"never included");
    for tx in [&early, &stranded] {
        let (status, body) = l1.net.post(0, "/v1/transactions", tx).await;
        assert_eq!(status, 202, "{body}");
    }
    let at = l1.net.wait_included(0, &early.hash().to_string(), T).await;
    let early_height = at["height"].as_u64().unwrap();
    let height = early_height;
    assert!(
        height < join,
        "included at {height}, the new key serves from {join}"
    );
    let entry = opened(&l1.net, 0, height).await;
    check_key(&entry[0], &early, &a, &old);
    assert_eq!(
        entry[0].outcome,
        ordo_types::Opened::Plaintext(b"sealed to the old key".to_vec().into())
    );

    // From the switch on, clients get the new committee's key, which serves from `join`.
    // Until the new committee has generated it, the node may answer that it has no key.
    let deadline = Instant::now() + T;
    let info = loop {
        let info = l1.net.get(0, "/v1/encryption").await;
        if let Some(info) = info.as_ref().filter(|i| i["epoch"] == new_epoch) {
            break info.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no key for epoch {new_epoch}: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(info["from_height"], join, "{info}");
    let new = epoch_key(&l1.net).await;
    assert_ne!(new.key_id, old.key_id);
    assert_ne!(new.public, old.public);
    // Certified headers name each epoch's key: the old one up to the switch, the new one
    // from `join` on.
    let commitment = |b: &Value| b["encryption_key_hash"].as_str().unwrap().parse().unwrap();
    let named: alloy::primitives::B256 = commitment(&block(&l1, join - 1).await);
    assert_eq!(named, old.commitment());
    let named: alloy::primitives::B256 = commitment(&block(&l1, join).await);
    assert_eq!(named, new.commitment());
    let (status, body) = l1
        .net
        .post(
            0,
            "/v1/transactions",
            &seal(&old, &SecretKey::random(), 0, b"late"),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("WRONG_ENCRYPTION_KEY")),
        "{body}"
    );
    // The one the old epoch could not include is dropped as it ends, saying why.
    let dropped = l1
        .net
        .wait_tx(0, &stranded.hash().to_string(), &["dropped"], T)
        .await;
    assert!(dropped.to_string().contains("previous epoch"), "{dropped}");

    // The new key opens what is sealed to it, in the new committee's epoch.
    let late = seal(&new, &a, 1, b"sealed to the new key");
    let (status, body) = l1.net.post(0, "/v1/transactions", &late).await;
    assert_eq!(status, 202, "{body}");
    let at = l1.net.wait_included(0, &late.hash().to_string(), T).await;
    let height = at["height"].as_u64().unwrap();
    assert!(height >= join);
    let entry = opened(&l1.net, 0, height).await;
    check_key(&entry[0], &late, &a, &new);
    // A verifying client trusting only the genesis committee checks both openings, each
    // against the key its block's certified header names (it fetches each key by that
    // commitment).
    let genesis =
        ordo_rollup_adapters::Genesis::load(&l1.net.home(0).join("genesis.json")).unwrap();
    let mut client =
        ordo_rollup_adapters::RollupClient::from_genesis(&l1.net.apis[0], &genesis).with_openings();
    for (at, text) in [
        (early_height, &b"sealed to the old key"[..]),
        (height, &b"sealed to the new key"[..]),
    ] {
        let verified = client.block(1, at).await.unwrap();
        assert_eq!(
            verified.opened()[0].outcome,
            ordo_types::Opened::Plaintext(text.to_vec().into())
        );
    }
    // The newcomer took part in its committee's round and holds shares of the key.
    let holds = format!("key_id={} ", new.key_id);
    let held = |l1: &L1Net| {
        l1.net
            .log(4)
            .lines()
            .filter(|l| l.contains("holding shares of the generated key") && l.contains(&holds))
            .count()
    };
    assert_eq!(held(&l1), 1, "node 4 holds no share of key {}", new.key_id);

    // Killed and restarted, the newcomer replays the blocks from the round before its tip's
    // epoch: it holds its shares of the new key again, and takes and opens what is sealed
    // to it.
    l1.net.kill(4);
    l1.net.restart(4);
    let info = l1.net.wait_encryption(4, T).await;
    assert_eq!(info["key_id"], new.key_id, "{info}");
    let deadline = Instant::now() + T;
    while held(&l1) < 2 {
        assert!(
            Instant::now() < deadline,
            "node 4 did not rebuild its shares"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = seal(&new, &a, 2, b"after the restart");
    let (status, body) = l1.net.post(4, "/v1/transactions", &again).await;
    assert_eq!(status, 202, "{body}");
    let at = l1.net.wait_included(4, &again.hash().to_string(), T).await;
    let entry = opened(&l1.net, 4, at["height"].as_u64().unwrap()).await;
    check_key(&entry[0], &again, &a, &new);

    // The L1 alone rebuilds both openings: the batcher posts the chain, and the rebuild
    // elects each epoch's committee from the stake table, follows its key generation, and
    // checks each committed key against its epoch's key. Its lines are the nodes'.
    let until = height + 5;
    l1.net.wait_height(&[0], until, T).await;
    let from_l1 = l1.follow_from_l1(1, until).await;
    for (at, text) in [
        (early_height, &b"sealed to the old key"[..]),
        (height, &b"sealed to the new key"[..]),
    ] {
        let line: Value = from_l1
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|l| l["height"] == at)
            .expect("the line of the block");
        let plaintext = format!("0x{}", alloy::hex::encode(text));
        assert_eq!(line["delivered"][0]["plaintext"], plaintext, "{line}");
    }
    assert_eq!(from_l1, l1.follow_node(0, 1, until));
}
