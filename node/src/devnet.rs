//! `ordo devnet`: the one command a newcomer runs. Initialises a local network (or resumes the
//! one in its home), starts every node as its own process, writes `devnet.json`, and stops them
//! all on Ctrl-C.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use tokio::process::{Child, Command};

use crate::init::{self, InitArgs, InitNode};
use ordo_l1::process::{terminate, wait_or_kill};
use ordo_rollup_adapters::RegisteredRollup;

/// Arguments of `ordo devnet`.
#[derive(Args, Clone, Debug)]
pub(crate) struct DevnetArgs {
    /// Number of validators (when initialising).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Number of full nodes besides the validators (when initialising).
    #[arg(long, default_value_t = 0)]
    full_nodes: usize,
    /// The devnet's directory; resumed if it already holds a network.
    #[arg(long, default_value = ".devnet")]
    home: PathBuf,
    /// Chain id (when initialising).
    #[arg(long, default_value_t = 1337)]
    chain_id: u64,
    /// First p2p port (when initialising).
    #[arg(long, default_value_t = 26650)]
    p2p_port: u16,
    /// First API port (when initialising).
    #[arg(long, default_value_t = 8650)]
    api_port: u16,
    /// First gossip port (when initialising).
    #[arg(long, default_value_t = 27650)]
    gossip_port: u16,
    /// Chain id of the EVM rollup the devnet runs (its namespace too; 0: none), when
    /// initialising.
    #[arg(long, default_value_t = 901)]
    evm_chain_id: u64,
    /// Port of the EVM rollup's execution node (a local Anvil), when initialising.
    #[arg(long, default_value_t = 9545)]
    l2_port: u16,
    /// Delete the devnet's directory first and start a new network.
    #[arg(long)]
    fresh: bool,
    /// The L1: a JSON-RPC URL (a development chain whose account pays with `--l1-key`), or
    /// `none` for a devnet without an L1. By default the devnet starts its own Anvil.
    #[arg(long)]
    l1: Option<String>,
    /// Port of the Anvil the devnet starts.
    #[arg(long, default_value_t = 8545)]
    l1_port: u16,
    /// Key file that deploys the contracts and funds the validators on `--l1 URL` (default:
    /// Anvil's first development account).
    #[arg(long)]
    l1_key: Option<PathBuf>,
    /// Elections: Ordo blocks per epoch (0: the genesis committee stays), when initialising
    /// with an L1.
    #[arg(long, default_value_t = 100)]
    epoch_length: u64,
    /// Measure: run this many seconds after the first block, print the block interval
    /// percentiles and the time to the first block, write `bench.json`, then stop.
    #[arg(long)]
    bench_seconds: Option<u64>,
    /// Do not run a batcher (by default one posts the chain to the L1's BatchInbox).
    #[arg(long)]
    no_batcher: bool,
}

#[derive(Serialize)]
struct DevnetFile {
    chain_id: u64,
    nodes: Vec<DevnetNode>,
    rollups: Vec<DevnetRollup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    l1: Option<crate::devnet_l1::DevnetL1Info>,
    /// The batcher's metrics (`http://ADDR/metrics`), when one runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    batcher_metrics: Option<String>,
}

#[derive(Serialize)]
struct DevnetRollup {
    #[serde(flatten)]
    registered: RegisteredRollup,
    /// Ethereum JSON-RPC through Ordo (EVM rollups).
    #[serde(skip_serializing_if = "Option::is_none")]
    rpc: Option<String>,
    /// The rollup's execution node (EVM rollups).
    #[serde(skip_serializing_if = "Option::is_none")]
    l2_rpc: Option<String>,
}

#[derive(Serialize)]
struct DevnetNode {
    name: String,
    api: String,
    pid: u32,
    home: PathBuf,
    address: Option<ordo_types::Address>,
    validator: bool,
}

/// Runs the devnet until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.fresh && args.home.exists() {
        std::fs::remove_dir_all(&args.home)?;
    }
    let nodes: Vec<InitNode> = if args.home.join("genesis.json").exists() {
        println!("resuming the devnet in {}", args.home.display());
        init::load(&args.home)?
    } else {
        println!("initialising a devnet in {}", args.home.display());
        init::run(&InitArgs {
            validators: args.validators,
            full_nodes: args.full_nodes,
            home: args.home.clone(),
            chain_id: args.chain_id,
            p2p_port: args.p2p_port,
            api_port: args.api_port,
            gossip_port: args.gossip_port,
            rollups: 8,
            hosts: Vec::new(),
            evm_rollups: [args.evm_chain_id]
                .into_iter()
                .filter(|c| *c != 0)
                .collect(),
            execution_rpc: [args.evm_chain_id]
                .into_iter()
                .filter(|c| *c != 0)
                .map(|namespace| ordo_api::ExecutionRpc {
                    namespace,
                    url: format!("http://127.0.0.1:{}", args.l2_port),
                })
                .collect(),
        })?
    };
    let l1_options = crate::devnet_l1::L1Options {
        l1: args.l1.clone(),
        port: args.l1_port,
        key: args.l1_key.clone(),
        epoch_length: args.epoch_length,
    };
    let l1 = crate::devnet_l1::prepare(&args.home, &l1_options, &nodes).await?;
    // The L1 step may have rewritten the configs.
    let nodes = init::load(&args.home)?;
    let genesis = crate::config::Genesis::load(&args.home.join("genesis.json"))?;
    let exe = std::env::current_exe()?;
    let mut children: Vec<(String, Child)> = Vec::new();
    let mut listing = Vec::new();
    for node in &nodes {
        let log = std::fs::File::create(node.home.join("node.log"))?;
        let child = Command::new(&exe)
            .arg("node")
            .arg("--home")
            .arg(&node.home)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", node.name))?;
        let api = format!("http://{}", node.config.api.listen);
        println!(
            "  {:<8} {}  (log: {})",
            node.name,
            api,
            node.home.join("node.log").display()
        );
        listing.push(DevnetNode {
            name: node.name.clone(),
            api,
            pid: child.id().unwrap_or_default(),
            home: std::path::absolute(&node.home)?,
            address: node.address,
            validator: node
                .address
                .is_some_and(|a| genesis.validators.get(&a).is_some()),
        });
        children.push((node.name.clone(), child));
    }
    let first = listing.first().map(|n| n.api.clone()).unwrap_or_default();
    // Each EVM rollup: a fresh Anvil as its execution node, rebuilt from Ordo's blocks by
    // its executor (so a resumed devnet replays the rollup's history).
    let mut l2_nodes = Vec::new();
    let mut rollups = Vec::new();
    for registered in &genesis.rollups {
        let l2 = nodes
            .first()
            .and_then(|n| {
                n.config
                    .api
                    .execution_rpc
                    .iter()
                    .find(|e| e.namespace == registered.namespace)
            })
            .map(|e| e.url.clone());
        let (Some(l2), Some(chain_id)) = (&l2, registered.chain_id) else {
            rollups.push(DevnetRollup {
                registered: registered.clone(),
                rpc: None,
                l2_rpc: None,
            });
            continue;
        };
        let port: u16 = l2
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("no port in {l2}"))?;
        let genesis_s = genesis.genesis_time_ms / 1000;
        let anvil = ordo_l1::spawn_anvil_with(
            port,
            &[
                "--no-mining".into(),
                "--order".into(),
                "fifo".into(),
                "--chain-id".into(),
                chain_id.to_string(),
                "--timestamp".into(),
                genesis_s.to_string(),
            ],
        )
        .with_context(|| format!("starting the L2 node of rollup {}", registered.namespace))?;
        l2_nodes.push(anvil);
        let name = format!("evm-{}", registered.namespace);
        let log = std::fs::File::create(args.home.join(format!("{name}.log")))?;
        let executor = Command::new(&exe)
            .args(["rollup", "run", "--node", &first, "--engine", l2])
            .arg("--genesis")
            .arg(args.home.join("genesis.json"))
            .args(["--namespace", &registered.namespace.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the executor of rollup {}", registered.namespace))?;
        let rpc = format!("{first}/v1/rollups/{}/rpc", registered.namespace);
        println!(
            "  {name:<8} {rpc}  (chain id {chain_id}; L2 node {l2}; log: {})",
            args.home.join(format!("{name}.log")).display()
        );
        children.push((name, executor));
        rollups.push(DevnetRollup {
            registered: registered.clone(),
            rpc: Some(rpc),
            l2_rpc: Some(l2.clone()),
        });
    }
    // The batcher: posts the chain to the L1's BatchInbox, with its own account.
    let mut batcher_metrics = None;
    if let Some(l1) = l1
        .as_ref()
        .filter(|l| l.info.batch_inbox.is_some() && !args.no_batcher)
    {
        let key = crate::devnet_l1::batcher_key(&l1_options)?;
        let key_path = args.home.join("l1").join("batcher_key.json");
        std::fs::create_dir_all(args.home.join("l1"))?;
        crate::config::KeyFile::new(&key).save(&key_path)?;
        let metrics = format!("127.0.0.1:{}", args.api_port.saturating_sub(1));
        let log_path = args.home.join("batcher.log");
        let log = std::fs::File::create(&log_path)?;
        let batcher = Command::new(&exe)
            .args([
                "l1",
                "batch",
                "--node",
                &first,
                "--l1",
                &l1.info.rpc,
                "--key",
            ])
            .arg(&key_path)
            .arg("--genesis")
            .arg(args.home.join("genesis.json"))
            .args(["--confirmations", "1", "--metrics-listen", &metrics])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting the batcher")?;
        println!(
            "  batcher  http://{metrics}/metrics  (log: {})",
            log_path.display()
        );
        children.push(("batcher".into(), batcher));
        batcher_metrics = Some(format!("http://{metrics}/metrics"));
    }
    let file = DevnetFile {
        chain_id: genesis.chain_id,
        nodes: listing,
        rollups,
        l1: l1.as_ref().map(|l| l.info.clone()),
        batcher_metrics,
    };
    let listing_path = args.home.join("devnet.json");
    std::fs::write(&listing_path, serde_json::to_string_pretty(&file)?)?;
    println!("wrote {}", listing_path.display());

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut first_block_s = None;
    let mut stop_requested = false;
    tokio::select! {
        height = first_block(&first) => {
            let secs = started.elapsed().as_secs_f64();
            first_block_s = Some(secs);
            println!("height {height} decided {secs:.1}s after start; Ctrl-C stops the devnet");
        }
        _ = tokio::signal::ctrl_c() => stop_requested = true,
        _ = sigterm.recv() => stop_requested = true,
    }
    if let (Some(seconds), Some(first_block_s)) = (args.bench_seconds, first_block_s) {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let result = measure_intervals(&first, first_block_s).await;
        for (_, child) in &children {
            terminate(child);
        }
        if let Some(l1) = l1 {
            l1.stop().await;
        }
        let result = result?;
        println!("{}", serde_json::to_string_pretty(&result)?);
        std::fs::write(args.home.join("bench.json"), result.to_string())?;
        return Ok(());
    }
    // A Ctrl-C during start-up already asked to stop.
    if !stop_requested {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
            (status, name) = first_exit(&mut children) => {
                eprintln!("{name} exited ({status:?}); stopping the devnet");
            }
        }
    }
    println!("stopping {} processes", children.len());
    for (_, child) in &children {
        terminate(child);
    }
    for (_, child) in &mut children {
        let _ = wait_or_kill(child).await;
    }
    if let Some(l1) = l1 {
        l1.stop().await;
    }
    Ok(())
}

/// Block interval percentiles from the header timestamps of every block decided so far.
async fn measure_intervals(api: &str, first_block_s: f64) -> anyhow::Result<serde_json::Value> {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        async move {
            client
                .get(path)
                .send()
                .await?
                .error_for_status()?
                .json::<serde_json::Value>()
                .await
        }
    };
    let tip = get(format!("{api}/v1/status")).await?["height"]
        .as_u64()
        .context("status without height")?;
    let mut stamps = Vec::new();
    for h in 1..=tip {
        let block = get(format!("{api}/v1/blocks/{h}")).await?;
        stamps.push(
            block["timestamp_ms"]
                .as_u64()
                .context("block without timestamp")?,
        );
    }
    let mut intervals: Vec<u64> = stamps
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect();
    intervals.sort_unstable();
    let pct = |p: f64| -> u64 {
        let i = ((intervals.len() as f64 - 1.0) * p).round() as usize;
        intervals.get(i).copied().unwrap_or_default()
    };
    Ok(serde_json::json!({
        "blocks": tip,
        "time_to_first_block_s": (first_block_s * 10.0).round() / 10.0,
        "block_interval_ms": {
            "p50": pct(0.50),
            "p90": pct(0.90),
            "p99": pct(0.99),
            "max": intervals.last().copied().unwrap_or_default(),
        },
    }))
}

/// Waits until the node at `api` reports a decided height, and returns it.
async fn first_block(api: &str) -> u64 {
    let client = reqwest::Client::new();
    loop {
        if let Ok(resp) = client.get(format!("{api}/v1/status")).send().await {
            if let Ok(status) = resp.json::<serde_json::Value>().await {
                if let Some(height) = status["height"].as_u64().filter(|h| *h > 0) {
                    return height;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Resolves when the first child exits, with its status and name.
async fn first_exit(children: &mut [(String, Child)]) -> (std::process::ExitStatus, String) {
    loop {
        for (name, child) in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return (status, name.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
