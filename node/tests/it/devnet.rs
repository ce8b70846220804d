//! `ordo devnet`: the newcomer's command starts a network with an EVM rollup, lists it, keeps
//! running when a validator is killed, restarts it on request, and stops on Ctrl-C.

use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;

use crate::harness::ordo;

/// The devnet's listing, `devnet.json`.
fn read_listing(home: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(home.join("devnet.json")).unwrap()).unwrap()
}

async fn height(api: &str) -> Option<u64> {
    let status: serde_json::Value = reqwest::get(format!("{api}/v1/status"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    status["height"].as_u64()
}

/// Waits until the node at `api` has decided `target`.
async fn wait_height(api: &str, target: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while height(api).await.is_none_or(|h| h < target) {
        assert!(
            Instant::now() < deadline,
            "{what}: {api} did not reach {target}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn devnet_starts_lists_its_nodes_runs_an_evm_rollup_survives_a_killed_validator_and_stops_on_ctrl_c(
) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("devnet");
    let stderr_path = dir.path().join("devnet.stderr");
    let base = crate::harness::free_ports(50);
    let mut devnet = ordo()
        .args(["devnet", "--validators", "4", "--home"])
        .arg(&home)
        .args(["--p2p-port", &base.to_string()])
        .args(["--api-port", &(base + 10).to_string()])
        .args(["--gossip-port", &(base + 20).to_string()])
        .args(["--l2-port", &(base + 30).to_string()])
        .args(["--l1-port", &(base + 40).to_string()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();

    let listing_path = home.join("devnet.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !listing_path.exists() {
        assert!(Instant::now() < deadline, "devnet.json not written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&listing_path).unwrap()).unwrap();
    let nodes = listing["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    let mut pids = Vec::new();
    for node in nodes {
        for field in ["name", "api", "pid", "home", "address"] {
            assert!(!node[field].is_null(), "{field} missing in {node}");
        }
        pids.push(node["pid"].as_u64().unwrap() as i32);
    }

    // Its own Anvil runs with the contracts deployed and every genesis validator staked.
    let l1 = &listing["l1"];
    assert_eq!(l1["rpc"], format!("http://127.0.0.1:{}", base + 40));
    let rpc = l1["rpc"].as_str().unwrap();
    let l1_rpc = rpc.to_owned();
    let stake_table: ordo_types::Address = l1["StakeTable"].as_str().unwrap().parse().unwrap();
    for name in ["Inbox", "LightClient"] {
        assert_eq!(l1[name].as_str().unwrap().len(), 42, "{name}");
    }
    let reader =
        ordo_l1::Staker::new(rpc, ordo_l1::PrivateKeySigner::random(), stake_table).unwrap();
    for node in nodes {
        let address: ordo_types::Address = node["address"].as_str().unwrap().parse().unwrap();
        let standing = reader.standing(address).await.unwrap();
        assert!(standing.registered && standing.eligible, "{standing:?}");
    }

    // Every node serves its API and they agree on the chain.
    let api = nodes[3]["api"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = reqwest::get(format!("{api}/v1/status")).await;
        if let Ok(status) = status {
            let status: serde_json::Value = status.json().await.unwrap();
            if status["height"].as_u64().unwrap() >= 3 {
                assert_eq!(status["is_validator"], true);
                // The force-inclusion watcher is live.
                let forced: serde_json::Value =
                    reqwest::get(format!("{api}/v1/forced?namespace=1"))
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                assert_eq!(forced["l1"], true, "{forced}");
                assert_eq!(forced["inclusion_delay"], 5);
                break;
            }
        }
        assert!(Instant::now() < deadline, "devnet made no progress");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Its validators generate the encrypted lane's key (epoch 0's, under elections).
    let deadline = Instant::now() + Duration::from_secs(60);
    let key = loop {
        let answer = reqwest::get(format!("{api}/v1/encryption")).await.unwrap();
        if answer.status().is_success() {
            break answer.json::<serde_json::Value>().await.unwrap();
        }
        assert!(Instant::now() < deadline, "the devnet generated no key");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(key["epoch"], 0, "{key}");
    assert!(
        key["namespaces"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(901)),
        "the EVM rollup takes encrypted transactions: {key}"
    );

    // A validator killed: the devnet reports it (name, status, log, how to restart it) and
    // keeps running; the other three keep deciding.
    let killed = pids[2];
    unsafe {
        libc::kill(killed, libc::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let err = std::fs::read_to_string(&stderr_path).unwrap();
        if let Some(line) = err.lines().position(|l| l.starts_with("node2 exited")) {
            break err
                .lines()
                .skip(line)
                .take(2)
                .collect::<Vec<_>>()
                .join("\n");
        }
        assert!(
            Instant::now() < deadline,
            "the death of node2 was not reported: {err}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(report.contains("signal: 9"), "{report}");
    assert!(report.contains("node2/node.log"), "{report}");
    assert!(report.contains("ordo devnet restart --home"), "{report}");
    let at_kill = height(&api).await.unwrap();
    wait_height(&api, at_kill + 5, "three validators of four").await;
    assert!(devnet.try_wait().unwrap().is_none(), "the devnet stopped");
    let node2_api = nodes[2]["api"].as_str().unwrap().to_owned();
    assert!(height(&node2_api).await.is_none(), "node2 still answers");

    // Restarted on request: a new process, listed, that catches up with the others.
    let restart = ordo()
        .args(["devnet", "restart", "--home"])
        .arg(&home)
        .arg("node2")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&restart.stdout).into_owned();
    assert!(
        restart.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&restart.stderr)
    );
    assert!(said.starts_with("started node2 (pid "), "{said}");
    let unknown = ordo()
        .args(["devnet", "restart", "--home"])
        .arg(&home)
        .arg("node9")
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no process named \"node9\""),
        "{unknown:?}"
    );
    let restarted = read_listing(&home)["nodes"][2]["pid"].as_u64().unwrap() as i32;
    assert_ne!(restarted, killed);
    assert!(said.contains(&format!("pid {restarted};")), "{said}");
    pids[2] = restarted;
    let tip = height(&api).await.unwrap();
    wait_height(&node2_api, tip, "the restarted node2").await;

    // The EVM rollup: listed with its chain id and URLs; ETH sent on the L2 through Ordo
    // by a standard wallet gets a receipt.
    let evm = listing["rollups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["adapter"] == "evm")
        .expect("an EVM rollup is listed")
        .clone();
    assert_eq!(evm["chain_id"], 901);
    assert_eq!(evm["l2_rpc"], format!("http://127.0.0.1:{}", base + 30));
    let rpc: reqwest::Url = evm["rpc"].as_str().unwrap().parse().unwrap();
    // Anvil's first development account, funded on the L2.
    let wallet: PrivateKeySigner =
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
            .parse()
            .unwrap();
    let provider = ProviderBuilder::new().wallet(wallet).connect_http(rpc);
    let to = Address::repeat_byte(0x42);
    let send = TransactionRequest::default()
        .with_to(to)
        .with_value(U256::from(12_345));
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
    assert!(receipt.status());
    assert_eq!(provider.get_balance(to).await.unwrap(), U256::from(12_345));

    // Ctrl-C: the devnet stops every node and exits.
    unsafe {
        libc::kill(devnet.id() as i32, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = devnet.try_wait().unwrap() {
            assert!(status.success(), "devnet exited with {status}");
            break;
        }
        assert!(Instant::now() < deadline, "devnet did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Its Anvil is stopped too.
    let l1_client = ordo_l1::L1Client::single(&l1_rpc).unwrap();
    assert!(
        l1_client.chain_id().await.is_err(),
        "the devnet's Anvil still answers"
    );
    for pid in pids {
        // Signal 0 probes for existence: every node process is gone.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        assert!(!alive, "node process {pid} still running");
    }
}

/// A devnet without an L1 has the encrypted lane: its key is named, and a transaction sealed
/// with `ordo tx send --encrypt` is opened once decided.
#[tokio::test]
async fn a_devnet_without_an_l1_has_the_encrypted_lane() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("devnet");
    let base = crate::harness::free_ports(30);
    let mut devnet = ordo()
        .args([
            "devnet",
            "--validators",
            "4",
            "--l1",
            "none",
            "--evm-chain-id",
            "0",
        ])
        .arg("--home")
        .arg(&home)
        .args(["--p2p-port", &base.to_string()])
        .args(["--api-port", &(base + 10).to_string()])
        .args(["--gossip-port", &(base + 20).to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !home.join("devnet.json").exists() {
        assert!(Instant::now() < deadline, "devnet.json not written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let api = read_listing(&home)["nodes"][0]["api"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_height(&api, 1, "the lane's devnet").await;
    // The validators generate the key once the network runs.
    let key = loop {
        let resp = reqwest::get(format!("{api}/v1/encryption")).await.unwrap();
        if resp.status().is_success() {
            break resp.json::<serde_json::Value>().await.unwrap();
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(60),
            "no key generated"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(key["namespaces"][0], 1, "{key}");

    let key_file = dir.path().join("alice.json");
    let made = ordo()
        .args(["keys", "new", "--out"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(made.status.success());
    let sent = ordo()
        .args(["tx", "send", "--encrypt", "--wait", "--node", &api, "--key"])
        .arg(&key_file)
        .args(["--namespace", "1", "--data", "0x68656c6c6f"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&sent.stdout);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let hash = stdout.lines().next().unwrap();
    let status: serde_json::Value = reqwest::get(format!("{api}/v1/transactions/{hash}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!(
        "{api}/v1/namespaces/1/blocks/{}",
        status["height"].as_u64().unwrap()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let slice: serde_json::Value = reqwest::get(&path).await.unwrap().json().await.unwrap();
        if slice["opened"][0]["plaintext"] == "0x68656c6c6f" {
            break;
        }
        assert!(Instant::now() < deadline, "never opened: {slice}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // `ordo rollup follow` checks the opening against the genesis's key and prints it in
    // delivery order.
    let height = status["height"].as_u64().unwrap().to_string();
    let out = ordo()
        .args(["rollup", "follow", "--node", &api, "--genesis"])
        .arg(home.join("genesis.json"))
        .args(["--namespace", "1", "--from", &height, "--until", &height])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["delivered"][0]["hash"], hash, "{line}");
    assert_eq!(line["delivered"][0]["plaintext"], "0x68656c6c6f", "{line}");

    unsafe {
        libc::kill(devnet.id() as i32, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while devnet.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "devnet did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
