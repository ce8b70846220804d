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

    // Every node serves its API and they agree on the chain.
    let api = nodes[3]["api"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = reqwest::get(format!("{api}/v1/status")).await;
        if let Ok(status) = status {
            let status: serde_json::Value = status.json().await.unwrap();
            if status["height"].as_u64().unwrap() >= 3 {
                assert_eq!(status["is_validator"], true);
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
    for pid in pids {
        // Signal 0 probes for existence: every node process is gone.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        assert!(!alive, "node process {pid} still running");
    }
}
