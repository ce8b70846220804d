//! `ordo devnet`: the newcomer's command starts a network, lists it, and stops it on Ctrl-C.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::ordo;

#[tokio::test]
async fn devnet_starts_lists_its_nodes_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("devnet");
    let base = 20_000 + rand::random::<u16>() % 40_000;
    let mut devnet = ordo()
        .args(["devnet", "--validators", "4", "--home"])
        .arg(&home)
        .args(["--p2p-port", &base.to_string()])
        .args(["--api-port", &(base + 10).to_string()])
        .args(["--gossip-port", &(base + 20).to_string()])
        .args(["--l1-port", &(base + 30).to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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
    assert_eq!(l1["rpc"], format!("http://127.0.0.1:{}", base + 30));
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
