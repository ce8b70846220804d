//! `ordo bench-mempool`: admission throughput of one node against this machine's signature
//! verification rate measured in the same run, memory with many pending transactions, and
//! signature verifications per included transaction on a 4-validator network.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use ordo_types::{Bytes, SecretKey, Transaction, B256};
use serde_json::{json, Value};

use crate::config::NodeConfig;
use crate::init::{self, InitArgs};

/// Arguments of `ordo bench-mempool`.
#[derive(Args, Clone, Debug)]
pub(crate) struct BenchArgs {
    /// Transactions to admit (they stay pending: the node's blocks include nothing).
    #[arg(long, default_value_t = 100_000)]
    txs: usize,
    /// Payload bytes per transaction.
    #[arg(long, default_value_t = 200)]
    payload: usize,
    /// Transactions per batch request.
    #[arg(long, default_value_t = 2_000)]
    batch: usize,
    /// Transactions for the 4-validator verification count (0 skips it).
    #[arg(long, default_value_t = 4_000)]
    network_txs: usize,
    /// Where to put the nodes' homes.
    #[arg(long, default_value = "target/bench-mempool")]
    home: PathBuf,
    /// Where to write the JSON result.
    #[arg(long, default_value = "target/bench-mempool.json")]
    out: PathBuf,
}

const CHAIN_ID: u64 = 1337;

/// Signature verifications per second on one core.
fn verify_rate() -> f64 {
    let key = SecretKey::random();
    let public = key.public_key();
    let digests: Vec<B256> = (0..256u32)
        .map(|i| ordo_types::keccak256(i.to_be_bytes()))
        .collect();
    let sigs: Vec<_> = digests.iter().map(|d| key.sign_digest(d)).collect();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(2) {
        for (d, s) in digests.iter().zip(&sigs) {
            let _ = public.verify(d, s);
        }
        n += digests.len() as u64;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// `count` signed transactions from `count / per_sender` senders, nonces from 0.
fn sign_all(count: usize, payload: usize, namespace: u64, per_sender: usize) -> Vec<Transaction> {
    let senders = count.div_ceil(per_sender);
    let keys: Vec<SecretKey> = (0..senders).map(|_| SecretKey::random()).collect();
    let jobs: Vec<(usize, u64)> = (0..count)
        .map(|i| (i / per_sender, (i % per_sender) as u64))
        .collect();
    let half = jobs.len() / 2;
    let sign = |part: &[(usize, u64)]| -> Vec<Transaction> {
        part.iter()
            .map(|&(k, nonce)| {
                let mut body = vec![0u8; payload];
                body[..8.min(payload)].copy_from_slice(&nonce.to_be_bytes()[..8.min(payload)]);
                Transaction::sign(namespace, nonce, Bytes::from(body), &keys[k], CHAIN_ID)
            })
            .collect()
    };
    std::thread::scope(|s| {
        let a = s.spawn(|| sign(&jobs[..half]));
        let b = sign(&jobs[half..]);
        let mut a = a.join().unwrap_or_default();
        a.extend(b);
        a
    })
}

struct Nodes {
    procs: Vec<Child>,
    apis: Vec<String>,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

fn start_nodes(
    home: &Path,
    validators: usize,
    base_port: u16,
    edit: impl Fn(&mut NodeConfig),
) -> anyhow::Result<Nodes> {
    if home.exists() {
        std::fs::remove_dir_all(home)?;
    }
    let nodes = init::run(&InitArgs {
        validators,
        full_nodes: 0,
        home: home.to_owned(),
        chain_id: CHAIN_ID,
        p2p_port: base_port,
        api_port: base_port + 100,
        gossip_port: base_port + 200,
        rollups: 8,
        hosts: Vec::new(),
        encryption: false,
        evm_rollups: Vec::new(),
        execution_rpc: Vec::new(),
    })?;
    let exe = std::env::current_exe()?;
    let mut out = Nodes {
        procs: Vec::new(),
        apis: Vec::new(),
    };
    for node in nodes {
        let mut config = node.config.clone();
        edit(&mut config);
        std::fs::write(
            node.home.join("config.toml"),
            toml::to_string_pretty(&config)?,
        )?;
        let log = std::fs::File::create(node.home.join("node.log"))?;
        out.procs.push(
            Command::new(&exe)
                .arg("node")
                .arg("--home")
                .arg(&node.home)
                .stdout(log.try_clone()?)
                .stderr(log)
                .stdin(Stdio::null())
                .spawn()?,
        );
        out.apis.push(format!("http://{}", config.api.listen));
    }
    Ok(out)
}

async fn wait_ready(client: &reqwest::Client, api: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{api}/v1/status")).send().await {
            if let Ok(v) = r.json::<Value>().await {
                if v["height"].as_u64().unwrap_or(0) > 0 {
                    return Ok(());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{api} did not start")
}

async fn submit_all(
    client: &reqwest::Client,
    api: &str,
    txs: &[Transaction],
    batch: usize,
) -> anyhow::Result<usize> {
    let chunks: Vec<&[Transaction]> = txs.chunks(batch.max(1)).collect();
    let mut admitted = 0;
    // Two requests in flight: one per core on this machine.
    for pair in chunks.chunks(2) {
        let requests = pair.iter().map(|chunk| {
            let url = format!("{api}/v1/transactions/batch");
            let body = serde_json::to_vec(chunk);
            async move {
                let resp = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body?)
                    .send()
                    .await?;
                let v: Value = resp.json().await?;
                anyhow::Ok(
                    v["results"]
                        .as_array()
                        .map_or(0, |r| r.iter().filter(|x| x["hash"].is_string()).count()),
                )
            }
        });
        for n in futures_join(requests).await {
            admitted += n?;
        }
    }
    Ok(admitted)
}

async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::with_capacity(handles.len());
    // Poll all concurrently by joining pairwise (at most two here).
    let mut it = handles.into_iter();
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => {
            let (a, b) = tokio::join!(a, b);
            out.push(a);
            out.push(b);
        }
        (Some(a), None) => out.push(a.await),
        _ => {}
    }
    out
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn metric(client: &reqwest::Client, api: &str, name: &str) -> anyhow::Result<f64> {
    let text = client
        .get(format!("{api}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .with_context(|| format!("{name} not in {api}/metrics"))
}

/// Runs the benchmark and prints its figures.
pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    println!("measuring single-core k256 verification rate...");
    let verify_per_s = verify_rate();
    println!("  {verify_per_s:.0} verifications/s");

    println!(
        "signing {} transactions of {} bytes...",
        args.txs, args.payload
    );
    let txs = sign_all(args.txs, args.payload, 1, 1000);

    let one = start_nodes(&args.home.join("one"), 1, 41_000, |c| {
        c.limits.max_transactions = 0;
        c.mempool.max_transactions = args.txs.max(1) + 1000;
        c.mempool.max_total_bytes = usize::MAX / 2;
        c.api.rate_limit_per_second = 0;
        c.api.max_batch = args.batch;
    })?;
    wait_ready(&client, &one.apis[0]).await?;
    let rss_before = rss_kib(one.procs[0].id());
    let started = Instant::now();
    let admitted = submit_all(&client, &one.apis[0], &txs, args.batch).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let admit_per_s = admitted as f64 / elapsed;
    let rss_after = rss_kib(one.procs[0].id());
    let verifications = metric(
        &client,
        &one.apis[0],
        "ordo_mempool_signature_verifications_total",
    )
    .await?;
    drop(one);

    let mut result = json!({
        "verify_per_s": verify_per_s.round(),
        "admitted": admitted,
        "admission_seconds": (elapsed * 100.0).round() / 100.0,
        "admission_per_s": admit_per_s.round(),
        "admission_to_verify_ratio": (admit_per_s / verify_per_s * 100.0).round() / 100.0,
        "verifications_per_admitted": (verifications / admitted.max(1) as f64 * 100.0).round() / 100.0,
        "rss_mib_idle": rss_before / 1024,
        "rss_mib_with_pending": rss_after / 1024,
    });

    if args.network_txs > 0 {
        println!(
            "4 validators: {} transactions to node 0, counting verifications...",
            args.network_txs
        );
        let net = start_nodes(&args.home.join("four"), 4, 42_000, |c| {
            c.api.rate_limit_per_second = 0;
        })?;
        for api in &net.apis {
            wait_ready(&client, api).await?;
        }
        let txs = sign_all(args.network_txs, args.payload, 2, 1000);
        submit_all(&client, &net.apis[0], &txs, args.batch).await?;
        let last = txs
            .last()
            .map(Transaction::hash)
            .context("no transactions")?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let s: Value = client
                .get(format!("{}/v1/transactions/{last}", net.apis[3]))
                .send()
                .await?
                .json()
                .await?;
            if s["status"] == "included" {
                break;
            }
            if Instant::now() > deadline {
                bail!("transactions not included in time: {s}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut per_node = Vec::new();
        for api in &net.apis {
            let v = metric(&client, api, "ordo_mempool_signature_verifications_total").await?;
            per_node.push((v / args.network_txs as f64 * 100.0).round() / 100.0);
        }
        result["network_transactions"] = json!(args.network_txs);
        result["verifications_per_included_tx_per_node"] = json!(per_node);
    }

    println!("{}", serde_json::to_string_pretty(&result)?);
    std::fs::write(&args.out, result.to_string())?;
    println!("wrote {}", args.out.display());
    Ok(())
}
