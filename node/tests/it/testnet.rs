//! The testnet tooling through the `ordo` binary: `ordo bench` against a network it starts,
//! the fastest fault scenarios with their verdicts, `/v1/health`, and bad input.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{ordo, Net};

fn run_ordo(args: &[&str]) -> (bool, String) {
    let out = ordo().args(args).stdin(Stdio::null()).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn bench_drives_a_network_it_starts_and_reports_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("net");
    let out = dir.path().join("result.json");
    let (ok, text) = run_ordo(&[
        "bench",
        "--spawn",
        "4",
        "--home",
        home.to_str().unwrap(),
        "--rate",
        "100",
        "--duration",
        "4",
        "--senders",
        "40",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "ordo bench failed:\n{text}");
    let result: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(result["submitted"], 400, "{result}");
    // Every transaction sent at a rate far below capacity is admitted and seen in a block.
    assert_eq!(result["admitted"], 400);
    assert_eq!(result["included"], 400);
    assert!(result["finalized_tps"].as_f64().unwrap() > 0.0);
    let latency = &result["latency_ms"];
    let p = |k: &str| latency[k].as_f64().unwrap();
    assert!(p("p50") > 0.0 && p("p50") <= p("p90") && p("p90") <= p("p99") && p("p99") <= p("max"));
    let nodes = result["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    for n in nodes {
        assert!(n["rss_mib_max"].as_f64().unwrap() > 0.0, "{n}");
        assert!(n["cpu_percent"].as_f64().unwrap() > 0.0, "{n}");
    }
    let v = &result["verification"];
    assert!(v["verify_per_s_per_core"].as_f64().unwrap() > 0.0);
    assert!(v["ratio"].as_f64().unwrap() > 0.0);
    let timeline = result["timeline"].as_array().unwrap();
    let included: u64 = timeline
        .iter()
        .map(|s| s["included"].as_u64().unwrap())
        .sum();
    assert_eq!(included, 400, "the timeline accounts for every inclusion");
    assert!(
        result.get("encrypted_lane").is_none(),
        "no encrypted load asked"
    );
    let svg = std::fs::read_to_string(out.with_extension("svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
    // The network it started is stopped again.
    let pids: Vec<u64> = nodes.iter().map(|n| n["pid"].as_u64().unwrap()).collect();
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "node {pid} still running"
        );
    }
}

/// `--compare-encrypted`: a plaintext half, then a half with a fifth sealed, on a network it
/// starts with an encryption key; every figure of the encrypted lane is present and they agree
/// with each other (timings are not judged).
#[test]
fn bench_compares_the_encrypted_lane_with_plaintext_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("net");
    let out = dir.path().join("result.json");
    let (ok, text) = run_ordo(&[
        "bench",
        "--spawn",
        "4",
        "--home",
        home.to_str().unwrap(),
        "--rate",
        "50",
        "--duration",
        "4",
        "--senders",
        "20",
        "--compare-encrypted",
        "0.2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "ordo bench failed:\n{text}");
    assert!(text.contains("submit-to-decision"), "{text}");
    let result: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    // 200 transactions, the 20 sealed ones all in the second half, every one finalized.
    assert_eq!(result["included"], 200, "{result}");
    let sealed = &result["encrypted"];
    assert_eq!(
        (&sealed["submitted"], &sealed["included"]),
        (&20.into(), &20.into())
    );
    let lane = &result["encrypted_lane"];
    let phases = lane["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2, "{lane}");
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k}: {v}"));
    for (p, encrypted) in phases.iter().zip([0, 20]) {
        assert_eq!(n(p, "offered"), 100, "{p}");
        assert_eq!(n(p, "finalized"), 100, "{p}");
        assert_eq!(n(p, "offered_encrypted"), encrypted, "{p}");
        assert_eq!(n(p, "finalized_encrypted"), encrypted, "{p}");
        assert!(
            f(p, "finalized_tps") > 0.0 && f(p, "validators_cpu_s") > 0.0,
            "{p}"
        );
        let l = &p["latency_ms"];
        assert!(f(l, "p50") > 0.0 && f(l, "p50") <= f(l, "p99"), "{p}");
    }
    let enc = &phases[1]["encrypted_latency_ms"];
    assert!(
        f(enc, "p50") > 0.0 && f(enc, "p50") <= f(enc, "p99"),
        "{enc}"
    );
    assert!(f(lane, "finalized_ratio") > 0.0, "{lane}");
    assert!(f(lane, "recover_per_s_per_core") > 0.0, "{lane}");
    // A difference of two CPU readings: present, of any sign on a busy machine.
    f(lane, "validator_cpu_ms_per_encrypted_tx");
    f(lane, "validator_cpu_recoveries_per_encrypted_tx");
    // Every node opened each sealed transaction once, in the blocks holding them, and their
    // slices carry the plaintext.
    let opening = &lane["opening"];
    assert_eq!(
        opening["opened_per_node"],
        serde_json::json!([20, 20, 20, 20]),
        "{opening}"
    );
    assert!(n(opening, "blocks") > 0 && f(opening, "opened_per_block_mean") > 0.0);
    assert!(n(opening, "opened_per_block_max") <= 20, "{opening}");
    let open = &opening["open_ms"];
    assert!(
        f(open, "p50") > 0.0
            && f(open, "p50") <= f(open, "p99")
            && f(open, "p99") <= f(open, "max")
    );
    f(opening, "open_ms_per_tx");
    f(opening, "open_ms_at_500");
    let checked = &opening["checked"];
    assert!(
        n(checked, "plaintext") > 0 && n(checked, "failed") == 0,
        "{checked}"
    );
}

/// Runs scenario `name` with `extra` arguments and checks its verdict; returns its directory.
fn scenario(name: &str, extra: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("verdicts.json");
    let mut args = vec![
        "testnet",
        "scenario",
        name,
        "--home",
        dir.path().to_str().unwrap(),
        "--rate",
        "100",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let (ok, text) = run_ordo(&args);
    assert!(ok, "scenario {name} failed:\n{text}");
    let verdicts: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let v = &verdicts[0];
    assert_eq!(v["name"], name);
    for check in ["pass", "safety", "liveness", "durability"] {
        assert_eq!(v[check], true, "{check}: {v}");
    }
    assert!(v["transactions_checked"].as_u64().unwrap() > 0, "{v}");
    assert!(!v["recovery_s"].as_array().unwrap().is_empty(), "{v}");
    assert!(v["heights_compared"].as_u64().unwrap() > 5, "{v}");
    dir
}

#[test]
fn scenario_kill_and_restart_one_validator_passes() {
    scenario("kill-restart", &[]);
}

/// The partition scenario with every node in its own network namespace (`--netns`): each
/// listens at the same ports on its own address, which only separate network stacks allow, and
/// the namespaces and their bridge are gone afterwards.
#[test]
fn scenario_partition_two_two_then_three_one_passes_with_a_namespace_per_node() {
    let dir = scenario("partition", &["--netns"]);
    let config = |i: usize| -> toml::Table {
        let path = dir.path().join(format!("partition/node{i}/config.toml"));
        std::fs::read_to_string(path).unwrap().parse().unwrap()
    };
    let listens: Vec<String> = (0..4)
        .map(|i| config(i)["p2p"]["listen"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        listens
            .iter()
            .all(|l| l == &listens[0] && l.starts_with("/ip4/0.0.0.0/")),
        "{listens:?}"
    );
    // Every peer is reached through the proxy on the bridge's address, 10.a.b.254.
    let peers = config(0)["p2p"]["peers"].as_array().unwrap().clone();
    let bridge = peers[0]
        .as_str()
        .unwrap()
        .split('/')
        .nth(2)
        .unwrap()
        .to_owned();
    assert!(
        bridge.starts_with("10.") && bridge.ends_with(".254"),
        "{peers:?}"
    );
    let addrs = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()
        .unwrap();
    let addrs = String::from_utf8_lossy(&addrs.stdout);
    assert!(
        !addrs.contains(&format!("inet {bridge}/")),
        "bridge left: {addrs}"
    );
}

#[test]
fn testnet_tools_refuse_bad_input() {
    let (ok, text) = run_ordo(&["bench", "--rate", "10", "--duration", "1"]);
    assert!(!ok && text.contains("--devnet"), "{text}");
    let (ok, text) = run_ordo(&["bench", "--devnet", "/nonexistent/devnet.json"]);
    assert!(!ok && text.contains("/nonexistent/devnet.json"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let listing = dir.path().join("devnet.json");
    std::fs::write(&listing, "{\"chain_id\": 1, \"nodes\": []}").unwrap();
    let (ok, text) = run_ordo(&["bench", "--devnet", listing.to_str().unwrap()]);
    assert!(!ok && text.contains("no nodes"), "{text}");
    std::fs::write(&listing, "not json").unwrap();
    let (ok, text) = run_ordo(&["bench", "--devnet", listing.to_str().unwrap()]);
    assert!(!ok && text.contains("parsing"), "{text}");
    let (ok, text) = run_ordo(&["bench", "--node", "http://127.0.0.1:1", "--rate", "0"]);
    assert!(!ok && text.contains("--rate"), "{text}");
    let (ok, text) = run_ordo(&["bench", "--node", "http://127.0.0.1:1"]);
    assert!(!ok && text.contains("127.0.0.1:1"), "{text}");
    let (ok, text) = run_ordo(&["bench", "--node", "http://127.0.0.1:1", "--set", "a=1"]);
    assert!(!ok && text.contains("--spawn"), "{text}");
    let (ok, text) = run_ordo(&["bench", "--spawn", "4", "--set", "no-equals"]);
    assert!(!ok && text.contains("KEY=VALUE"), "{text}");
    let (ok, text) = run_ordo(&["bench", "--spawn", "4", "--encrypted", "1.5"]);
    assert!(!ok && text.contains("between 0 and 1"), "{text}");
    let (ok, text) = run_ordo(&[
        "bench",
        "--node",
        "http://127.0.0.1:1",
        "--compare-encrypted",
        "0.2",
    ]);
    assert!(!ok && text.contains("--spawn"), "{text}");
    let (ok, text) = run_ordo(&["testnet", "scenario", "no-such-thing"]);
    assert!(!ok && text.contains("kill-restart"), "{text}");
    let (ok, text) = run_ordo(&["testnet", "scenario", "--list"]);
    assert!(
        ok && ["partition", "slow-link", "equivocation", "l1-outage"]
            .iter()
            .all(|s| text.contains(s))
            && !text.contains("not implemented"),
        "{text}"
    );
}

async fn health(net: &Net, i: usize) -> Option<(u16, Value)> {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/health", net.apis[i]))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    let code = resp.status().as_u16();
    Some((code, resp.json().await.ok()?))
}

#[tokio::test]
async fn health_is_ready_while_deciding_and_unavailable_once_consensus_stalls() {
    let mut net = Net::start(4, 0, |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(60))
        .await;
    // Ready once it decides blocks with its peers connected (peers are counted once a second).
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        let (code, body) = health(&net, 0).await.unwrap();
        if code == 200 {
            break body;
        }
        assert!(Instant::now() < deadline, "never ready: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(body["ready"], true);
    assert!(body["peers"].as_u64().unwrap() > 0, "{body}");
    assert_eq!(body["reasons"].as_array().unwrap().len(), 0);

    // The block listing of a height names its transactions' hashes.
    let tip = net.height(0).await.unwrap();
    let txs = net
        .get(0, &format!("/v1/blocks/{tip}/transactions"))
        .await
        .unwrap();
    assert_eq!(txs["height"], tip);
    assert!(txs["transactions"].is_array());
    assert_eq!(
        Some(txs["hash"].as_str().unwrap().to_owned()),
        net.block_hash(0, tip).await
    );
    assert!(net.get(0, "/v1/blocks/999999/transactions").await.is_none());

    // With 3 of 4 validators gone there is no quorum: the survivor turns unavailable, first for
    // lack of peers, then because no block comes.
    for i in 1..4 {
        net.kill(i);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, body) = health(&net, 0).await.unwrap();
        let reasons = body["reasons"].to_string();
        if reasons.contains("stalled") {
            assert_eq!(code, 503, "{body}");
            assert_eq!(body["ready"], false);
            assert_eq!(body["live"], true);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no stall reported without a quorum: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Back with a quorum, it is ready again.
    for i in 1..4 {
        net.restart(i);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if health(&net, 0).await.is_some_and(|(code, _)| code == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again after the quorum returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
