//! Data availability: `ordo devnet` runs a batcher that posts the decided chain to the L1's
//! `BatchInbox`; a reader of the L1 alone rebuilds exactly the blocks the nodes decided,
//! EVM transactions included.

use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use ordo_types::{Block, Decode};

use crate::harness::ordo;

/// A metric's value from a Prometheus text page.
fn metric(page: &str, name: &str) -> Option<u64> {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// An `ordo devnet` of 4 validators in `home`, on ports from a random base: with `l1` as its
/// L1 (or an Anvil of its own), with or without its batcher. Stopped with SIGINT when
/// dropped, if [`Devnet::stop`] did not stop it first.
struct Devnet {
    child: std::process::Child,
    /// Its first port; `base..base + 50` are taken.
    base: u16,
    /// Its `devnet.json`.
    listing: serde_json::Value,
}

impl Devnet {
    /// Starts it and waits (up to a minute) for its listing.
    async fn start(home: &std::path::Path, l1: Option<&str>, batcher: bool) -> Self {
        let base = crate::harness::free_ports(50);
        let mut command = ordo();
        command
            .args(["devnet", "--validators", "4", "--home"])
            .arg(home)
            .args(["--p2p-port", &base.to_string()])
            .args(["--api-port", &(base + 10).to_string()])
            .args(["--gossip-port", &(base + 20).to_string()])
            .args(["--l2-port", &(base + 30).to_string()]);
        match l1 {
            Some(url) => command.args(["--l1", url]),
            None => command.args(["--l1-port", &(base + 40).to_string()]),
        };
        if !batcher {
            command.arg("--no-batcher");
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut devnet = Devnet {
            child,
            base,
            listing: serde_json::Value::Null,
        };
        let path = home.join("devnet.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !path.exists() {
            assert!(Instant::now() < deadline, "devnet.json not written");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        devnet.listing = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        devnet
    }

    /// Stops it with SIGINT and waits (up to 30 s) for it to exit.
    async fn stop(&mut self) -> std::process::ExitStatus {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "devnet did not stop");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            unsafe {
                libc::kill(self.child.id() as i32, libc::SIGINT);
            }
            let _ = self.child.wait();
        }
    }
}

#[tokio::test]
async fn the_devnet_batcher_posts_the_chain_and_the_l1_alone_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("devnet");
    // The L1 is the test's own, so that it outlives every Ordo process.
    let l1_node = ordo_l1::spawn_anvil_with(0, &["--block-time".into(), "1".into()]).unwrap();
    let mut devnet = Devnet::start(&home, Some(&l1_node.endpoint()), true).await;
    let listing = devnet.listing.clone();
    let l1 = &listing["l1"];
    let l1_rpc = l1["rpc"].as_str().unwrap().to_owned();
    let batch_inbox: Address = l1["BatchInbox"].as_str().unwrap().parse().unwrap();
    let metrics_url = listing["batcher_metrics"].as_str().unwrap().to_owned();
    let api = listing["nodes"][0]["api"].as_str().unwrap().to_owned();
    let genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("genesis.json")).unwrap()).unwrap();
    let start_block = genesis["l1"]["start_block"].as_u64().unwrap();

    // An EVM transfer through Ordo, confirmed on the L2.
    let evm = listing["rollups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["adapter"] == "evm")
        .unwrap()
        .clone();
    let rpc: reqwest::Url = evm["rpc"].as_str().unwrap().parse().unwrap();
    let wallet: PrivateKeySigner =
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
            .parse()
            .unwrap();
    let provider = ProviderBuilder::new().wallet(wallet).connect_http(rpc);
    let send = TransactionRequest::default()
        .with_to(Address::repeat_byte(0x42))
        .with_value(U256::from(777));
    let receipt = tokio::time::timeout(Duration::from_secs(60), async {
        provider
            .send_transaction(send)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap()
    })
    .await
    .expect("no receipt within 60 s");
    let tx_hash = receipt.transaction_hash;
    let included: serde_json::Value = reqwest::get(format!("{api}/v1/transactions/{tx_hash}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tx_height = included["height"].as_u64().unwrap();

    // A raw rollup's transaction (namespace 3), signed with a fresh key, included.
    let chain_id = genesis["chain_id"].as_u64().unwrap();
    let raw = ordo_types::Transaction::sign(
        3,
        0,
        ordo_types::Bytes::from_static(b"raw payload"),
        &ordo_types::SecretKey::random(),
        chain_id,
    );
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{api}/v1/transactions"))
        .json(&raw)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        202,
        "{}",
        resp.text().await.unwrap()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let raw_height = loop {
        let status: serde_json::Value = http
            .get(format!("{api}/v1/transactions/{}", raw.hash()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(h) = status["height"].as_u64() {
            break h;
        }
        assert!(
            Instant::now() < deadline,
            "the raw transaction was not included"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The batcher posts past those heights within a minute.
    let tip = || async {
        reqwest::get(format!("{api}/v1/status"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["height"]
            .as_u64()
            .unwrap()
    };
    let posted_past = |target: u64| {
        let (metrics_url, home) = (&metrics_url, &home);
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let page = reqwest::get(metrics_url).await.ok();
                let page = match page {
                    Some(r) => r.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                if metric(&page, "ordo_batcher_posted_height").unwrap_or(0) >= target {
                    break page;
                }
                assert!(
                    Instant::now() < deadline,
                    "the batcher did not reach height {target}: {page}\n{}",
                    std::fs::read_to_string(home.join("batcher.log")).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    let target = tip().await;
    assert!(target >= tx_height && target >= raw_height);
    posted_past(target).await;

    // An L1 reorg drops the devnet batcher's latest posts: it posts their ranges again, and
    // the devnet goes on (the reorg is shallow, as on Ethereum, where finality bounds it).
    let l1_provider = ProviderBuilder::new().connect_http(l1_rpc.parse().unwrap());
    let posts_reader =
        ordo_l1::da::DaReader::new(&l1_rpc, batch_inbox, start_block, 0, vec![], false).unwrap();
    let snapshot: U256 = l1_provider
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    let forked_at = l1_provider.get_block_number().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let dropped = loop {
        let head = l1_provider.get_block_number().await.unwrap();
        let posts = posts_reader.posts(forked_at + 1, head).await.unwrap();
        if !posts.is_empty() {
            break posts;
        }
        assert!(Instant::now() < deadline, "no post after the snapshot");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reverted: bool = l1_provider
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    for post in &dropped {
        assert!(
            l1_provider
                .get_transaction_receipt(post.tx_hash)
                .await
                .unwrap()
                .is_none(),
            "the reorg dropped the post of {}..={}",
            post.start,
            post.end
        );
    }
    let target = tip().await;
    assert!(target > dropped.iter().map(|p| p.end).max().unwrap());
    let page = posted_past(target).await;
    assert!(tip().await > target, "the nodes go on after the L1 reorg");
    assert!(metric(&page, "ordo_batcher_posted_bytes_total").unwrap() > 0);
    assert!(metric(&page, "ordo_batcher_l1_transactions_total").unwrap() > 0);
    assert!(metric(&page, "ordo_batcher_fees_wei_total").unwrap() > 0);

    // From the L1 alone (its logs and blobs), the chain up to the target, block for block as
    // the node decided it, the EVM transfer in it.
    let mut reader = ordo_l1::da::DaReader::new(
        &l1_rpc,
        batch_inbox,
        start_block,
        0,
        vec![ordo_l1::da::BlobSource::Rpc(l1_rpc.clone())],
        true,
    )
    .unwrap();
    let mut rebuilt: Vec<Block> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (rebuilt.len() as u64) < target {
        rebuilt.extend(reader.poll().await.unwrap());
        assert!(Instant::now() < deadline, "rebuilt only {}", rebuilt.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for block in rebuilt.iter().take(target as usize) {
        let h = block.header.height;
        let bytes = reqwest::get(format!("{api}/v1/blocks/{h}/raw"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(block, &Block::decode(&bytes).unwrap(), "block {h}");
    }
    let with_tx = &rebuilt[tx_height as usize - 1];
    assert!(with_tx
        .body
        .entries()
        .any(|(_, e)| e.hash() == ordo_types::B256::from(tx_hash.0)));
    let with_raw = &rebuilt[raw_height as usize - 1];
    assert!(with_raw
        .body
        .entries()
        .any(|(ns, e)| ns == 3 && e.hash() == raw.hash()));

    // `ordo rollup follow --l1`: the same lines as from a node, with no node given.
    let genesis_path = home.join("genesis.json");
    let from_l1 = crate::harness::follow(&genesis_path, ["--l1", &l1_rpc], 901, target);
    assert_eq!(from_l1.lines().count() as u64, target);
    assert!(from_l1.contains(&tx_hash.to_string()));
    let from_node = crate::harness::follow(&genesis_path, ["--node", &api], 901, target);
    assert_eq!(from_l1, from_node);

    // The L2 block the devnet's executor built from the nodes; then every Ordo process stops.
    let devnet_l2 =
        ProviderBuilder::new().connect_http(evm["l2_rpc"].as_str().unwrap().parse().unwrap());
    let expected = devnet_l2
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    assert!(expected.header.number > 0, "the devnet's L2 has no block");
    let status = devnet.stop().await;
    assert!(status.success(), "devnet exited with {status}");
    assert!(
        reqwest::get(format!("{api}/v1/status")).await.is_err(),
        "a node still answers"
    );

    // `ordo rollup run --l1` into a fresh execution node: the same L2, rebuilt from the L1
    // alone (same blocks, same state root).
    let genesis_s = genesis["genesis_time_ms"].as_u64().unwrap() / 1000;
    let fresh = ordo_l1::spawn_anvil_with(
        0,
        &[
            "--no-mining".into(),
            "--order".into(),
            "fifo".into(),
            "--chain-id".into(),
            "901".into(),
            "--timestamp".into(),
            genesis_s.to_string(),
        ],
    )
    .unwrap();
    let mut executor = ordo()
        .args([
            "rollup",
            "run",
            "--l1",
            &l1_rpc,
            "--l1-confirmations",
            "0",
            "--engine",
        ])
        .arg(fresh.endpoint())
        .arg("--genesis")
        .arg(&genesis_path)
        .args(["--namespace", "901"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let fresh_l2 = ProviderBuilder::new().connect_http(fresh.endpoint().parse().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let latest = fresh_l2.get_block_number().await.unwrap();
        if latest >= expected.header.number {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rebuilt L2 is at block {latest}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rebuilt_l2 = fresh_l2
        .get_block_by_number(expected.header.number.into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rebuilt_l2.header.state_root, expected.header.state_root);
    assert_eq!(
        rebuilt_l2.header.hash, expected.header.hash,
        "the same L2 block"
    );
    let found = fresh_l2
        .get_transaction_receipt(tx_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(found.status());
    executor.kill().unwrap();
    let _ = executor.wait();
}

/// Figures for docs/DA.md: time from an Ordo block's timestamp to the L1 block that first
/// carries it, over a devnet's first minute (L1 blocks every second, the batcher polling every
/// second). `cargo test --release -p ordo-node --test it da::bench_finality_to_l1 -- --ignored --nocapture`
#[tokio::test]
#[ignore = "benchmark: run explicitly"]
async fn bench_finality_to_l1() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("devnet");
    let devnet = Devnet::start(&home, None, true).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let listing = devnet.listing.clone();
    let l1_rpc = listing["l1"]["rpc"].as_str().unwrap().to_owned();
    let batch_inbox: Address = listing["l1"]["BatchInbox"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("genesis.json")).unwrap()).unwrap();
    let start_block = genesis["l1"]["start_block"].as_u64().unwrap();
    let reader =
        ordo_l1::da::DaReader::new(&l1_rpc, batch_inbox, start_block, 0, vec![], true).unwrap();
    let l1 = ProviderBuilder::new().connect_http(l1_rpc.parse().unwrap());
    let head = l1.get_block_number().await.unwrap();
    let posts = reader.posts(start_block, head).await.unwrap();
    // The first post holding each height, and its L1 block's timestamp.
    let mut first_l1: std::collections::BTreeMap<u64, u64> = Default::default();
    let mut stamps: std::collections::HashMap<u64, u64> = Default::default();
    for post in &posts {
        let ts = match stamps.get(&post.l1_block) {
            Some(ts) => *ts,
            None => {
                let block = l1
                    .get_block_by_number(post.l1_block.into())
                    .await
                    .unwrap()
                    .unwrap();
                stamps.insert(post.l1_block, block.header.timestamp);
                block.header.timestamp
            }
        };
        for h in post.start..=post.end {
            first_l1.entry(h).or_insert(ts);
        }
    }
    let api = listing["nodes"][0]["api"].as_str().unwrap().to_owned();
    // (Ordo timestamp, delay to the L1 block's timestamp) for each height, in height order.
    let mut delays: Vec<(i64, i64)> = Vec::new();
    for (h, l1_ts) in &first_l1 {
        let block: serde_json::Value = reqwest::get(format!("{api}/v1/blocks/{h}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ordo_ms = block["timestamp_ms"].as_u64().unwrap() as i64;
        delays.push((ordo_ms, *l1_ts as i64 * 1000 - ordo_ms));
    }
    // All heights, and the steady state: heights decided 10 s or more after the first (the
    // batcher starts after the nodes, so the first heights wait for it).
    let first = delays[0].0;
    let report = |name: &str, mut ds: Vec<i64>| {
        ds.sort_unstable();
        let pct = |p: f64| ds[((ds.len() - 1) as f64 * p).round() as usize];
        eprintln!(
            "{name}: {} heights, Ordo timestamp to L1 block timestamp p50 {} ms, p99 {} ms, max {} ms",
            ds.len(),
            pct(0.5),
            pct(0.99),
            ds[ds.len() - 1]
        );
    };
    eprintln!(
        "{} posts; L1 timestamps are whole seconds, rounded down: each inclusion is up to 1 s later",
        posts.len()
    );
    report("all", delays.iter().map(|d| d.1).collect());
    report(
        "steady",
        delays
            .iter()
            .filter(|d| d.0 >= first + 10_000)
            .map(|d| d.1)
            .collect(),
    );
}

#[tokio::test]
async fn a_batcher_killed_and_restarted_leaves_no_gap_and_repeats_no_range() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("devnet");
    let devnet = Devnet::start(&home, None, false).await;
    let listing = devnet.listing.clone();
    assert!(
        listing["batcher_metrics"].is_null(),
        "--no-batcher runs none"
    );
    let l1_rpc = listing["l1"]["rpc"].as_str().unwrap().to_owned();
    let batch_inbox: Address = listing["l1"]["BatchInbox"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let api = listing["nodes"][0]["api"].as_str().unwrap().to_owned();
    let genesis_path = home.join("genesis.json");
    let genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&genesis_path).unwrap()).unwrap();
    let start_block = genesis["l1"]["start_block"].as_u64().unwrap();
    // Anvil's ninth development account posts.
    let secret = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97";
    let key =
        ordo_types::SecretKey::from_bytes(&secret.parse::<ordo_types::B256>().unwrap().0).unwrap();
    let key_path = dir.path().join("batcher.json");
    std::fs::write(
        &key_path,
        serde_json::json!({ "address": key.address(), "secret_key": secret }).to_string(),
    )
    .unwrap();
    let metrics_addr = format!("127.0.0.1:{}", devnet.base + 50);
    let start_batcher = || {
        ordo()
            .args(["l1", "batch", "--node", &api, "--l1", &l1_rpc, "--key"])
            .arg(&key_path)
            .arg("--genesis")
            .arg(&genesis_path)
            .args([
                "--confirmations",
                "0",
                "--max-blocks",
                "20",
                "--mode",
                "blobs",
            ])
            .args(["--metrics-listen", &metrics_addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let posted = || async {
        let page = reqwest::get(format!("http://{metrics_addr}/metrics"))
            .await
            .ok()?;
        metric(&page.text().await.ok()?, "ordo_batcher_posted_height")
    };
    let tip = || async {
        reqwest::get(format!("{api}/v1/status"))
            .await
            .ok()?
            .json::<serde_json::Value>()
            .await
            .ok()?["height"]
            .as_u64()
    };

    // Run, kill it with SIGKILL as soon as it has posted a few ranges, and restart it at once.
    let mut batcher = start_batcher();
    let deadline = Instant::now() + Duration::from_secs(60);
    while posted().await.unwrap_or(0) < 30 {
        assert!(Instant::now() < deadline, "the batcher posted nothing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    batcher.kill().unwrap();
    batcher.wait().unwrap();
    let mut batcher = start_batcher();
    let target = tip().await.unwrap() + 40;
    let deadline = Instant::now() + Duration::from_secs(90);
    while posted().await.unwrap_or(0) < target {
        assert!(
            Instant::now() < deadline,
            "the restarted batcher did not reach {target}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    batcher.kill().unwrap();
    batcher.wait().unwrap();

    // Its posts, in L1 order, are ranges that follow each other exactly: no gap, no repeat.
    let reader =
        ordo_l1::da::DaReader::new(&l1_rpc, batch_inbox, start_block, 0, vec![], false).unwrap();
    let l1 = ProviderBuilder::new().connect_http(l1_rpc.parse().unwrap());
    let head = l1.get_block_number().await.unwrap();
    let posts = reader.posts(start_block, head).await.unwrap();
    assert!(posts.len() >= 3, "{} posts", posts.len());
    let mut next = 1;
    for post in &posts {
        assert_eq!(post.poster, key.address());
        assert_eq!(
            (post.start, post.blob_hashes.is_empty()),
            (next, false),
            "posts: {:?}",
            posts.iter().map(|p| (p.start, p.end)).collect::<Vec<_>>()
        );
        next = post.end + 1;
    }
    assert!(next > target);
}
