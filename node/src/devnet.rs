//! `ordo devnet`: the one command a newcomer runs. Initialises a local network (or resumes the
//! one in its home), starts every node as its own process, writes `devnet.json`, and stops them
//! all on Ctrl-C.
//!
//! A devnet is for watching faults: a process that exits (a validator killed with `kill -9`,
//! say) is reported on stderr with its exit status and log, and the others keep running. It
//! stays down until `ordo devnet restart --home DIR NAME` asks the running devnet, through
//! the Unix socket `DIR/devnet.sock`, to start it again (or to restart one that runs). Down
//! until asked, rather than restarted at once, so that one can watch the network decide
//! without it and then watch it catch up.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::process::{Child, Command};

use crate::init::{self, InitArgs, InitNode};
use ordo_l1::process::{terminate, wait_or_kill};
use ordo_rollup_adapters::RegisteredRollup;

/// Arguments of `ordo devnet`.
#[derive(Args, Clone, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct DevnetArgs {
    #[command(subcommand)]
    action: Option<DevnetAction>,
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

/// What `ordo devnet` does besides running a devnet.
#[derive(Subcommand, Clone, Debug)]
enum DevnetAction {
    /// Start again a process of the running devnet in `--home` that exited (a node, an
    /// `evm-N` executor or the batcher), or restart one that runs.
    Restart {
        /// The running devnet's directory.
        #[arg(long, default_value = ".devnet")]
        home: PathBuf,
        /// The process, as the devnet lists it (`node2`).
        name: String,
    },
}

/// The running devnet's control socket, in its home.
const CONTROL_SOCKET: &str = "devnet.sock";

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
    if let Some(DevnetAction::Restart { home, name }) = &args.action {
        return request_restart(home, name).await;
    }
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
            // The encrypted lane; with elections each epoch's committee generates its key in
            // the epoch before, which needs epochs of at least nine key-generation windows
            // (docs/ENCRYPTION.md): a devnet with shorter ones runs without it.
            encryption: args.l1.as_deref() == Some("none")
                || args.epoch_length == 0
                || args.epoch_length >= 9 * init::KEYGEN_WINDOW,
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
    let mut procs: Vec<Proc> = Vec::new();
    let mut listing = Vec::new();
    for node in &nodes {
        let mut proc = Proc::new(
            &node.name,
            &exe,
            [
                OsString::from("node"),
                "--home".into(),
                node.home.clone().into(),
            ],
            node.home.join("node.log"),
        );
        proc.node = Some(listing.len());
        let pid = proc.start(false)?;
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
            pid,
            home: std::path::absolute(&node.home)?,
            address: node.address,
            validator: node
                .address
                .is_some_and(|a| genesis.validators.get(&a).is_some()),
        });
        procs.push(proc);
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
        let mut executor = Proc::new(
            &name,
            &exe,
            [
                OsString::from("rollup"),
                "run".into(),
                "--node".into(),
                first.clone().into(),
                "--engine".into(),
                l2.into(),
                "--genesis".into(),
                args.home.join("genesis.json").into(),
                "--namespace".into(),
                registered.namespace.to_string().into(),
            ],
            args.home.join(format!("{name}.log")),
        );
        executor.start(false)?;
        let rpc = format!("{first}/v1/rollups/{}/rpc", registered.namespace);
        println!(
            "  {name:<8} {rpc}  (chain id {chain_id}; L2 node {l2}; log: {})",
            args.home.join(format!("{name}.log")).display()
        );
        procs.push(executor);
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
        let mut batcher = Proc::new(
            "batcher",
            &exe,
            [
                OsString::from("l1"),
                "batch".into(),
                "--node".into(),
                first.clone().into(),
                "--l1".into(),
                l1.info.rpc.clone().into(),
                "--key".into(),
                key_path.into(),
                "--genesis".into(),
                args.home.join("genesis.json").into(),
                "--confirmations".into(),
                "1".into(),
                "--metrics-listen".into(),
                metrics.clone().into(),
            ],
            log_path.clone(),
        );
        batcher.start(false)?;
        println!(
            "  batcher  http://{metrics}/metrics  (log: {})",
            log_path.display()
        );
        procs.push(batcher);
        batcher_metrics = Some(format!("http://{metrics}/metrics"));
    }
    let mut file = DevnetFile {
        chain_id: genesis.chain_id,
        nodes: listing,
        rollups,
        l1: l1.as_ref().map(|l| l.info.clone()),
        batcher_metrics,
    };
    let listing_path = args.home.join("devnet.json");
    std::fs::write(&listing_path, serde_json::to_string_pretty(&file)?)?;
    println!("wrote {}", listing_path.display());

    let control = bind_control(&args.home);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut first_block_s = None;
    let mut stop_requested = false;
    tokio::select! {
        height = first_block(&first) => {
            let secs = started.elapsed().as_secs_f64();
            first_block_s = Some(secs);
            println!("height {height} decided {secs:.1}s after start; Ctrl-C stops the devnet");
            if control.is_some() {
                println!(
                    "a process that exits is reported here; `ordo devnet restart --home {} NAME` \
                     starts it again",
                    args.home.display()
                );
            }
        }
        _ = tokio::signal::ctrl_c() => stop_requested = true,
        _ = sigterm.recv() => stop_requested = true,
    }
    if let (Some(seconds), Some(first_block_s)) = (args.bench_seconds, first_block_s) {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let result = measure_intervals(&first, first_block_s).await;
        stop_all(&mut procs, &args.home).await;
        if let Some(l1) = l1 {
            l1.stop().await;
        }
        let result = result?;
        println!("{}", serde_json::to_string_pretty(&result)?);
        std::fs::write(args.home.join("bench.json"), result.to_string())?;
        return Ok(());
    }
    // A Ctrl-C during start-up already asked to stop. Until Ctrl-C, a process that exits is
    // reported and the others keep running; `ordo devnet restart` starts it again.
    while !stop_requested {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => stop_requested = true,
            _ = sigterm.recv() => stop_requested = true,
            (index, status) = next_exit(&mut procs) => {
                report_exit(&procs[index], status, &args.home, control.is_some());
            }
            Some(stream) = accept(control.as_ref()) => {
                let mut devnet = Running { procs: &mut procs, file: &mut file, listing: &listing_path };
                if let Err(e) = devnet.serve_request(stream).await {
                    eprintln!("a devnet control request failed: {e:#}");
                }
            }
        }
    }
    stop_all(&mut procs, &args.home).await;
    if let Some(l1) = l1 {
        l1.stop().await;
    }
    Ok(())
}

/// One process the devnet runs: how to start it, where it logs, and its child while it runs.
struct Proc {
    name: String,
    program: PathBuf,
    args: Vec<OsString>,
    log: PathBuf,
    /// Its index in `devnet.json`'s `nodes`, for a node.
    node: Option<usize>,
    child: Option<Child>,
}

impl Proc {
    fn new(
        name: &str,
        program: &Path,
        args: impl IntoIterator<Item = OsString>,
        log: PathBuf,
    ) -> Self {
        Self {
            name: name.to_owned(),
            program: program.to_owned(),
            args: args.into_iter().collect(),
            log,
            node: None,
            child: None,
        }
    }

    /// Starts the process, its output going to its log (appended to on a restart); its pid.
    fn start(&mut self, append: bool) -> anyhow::Result<u32> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.name))?;
        let pid = child.id().unwrap_or_default();
        self.child = Some(child);
        Ok(pid)
    }

    /// Stops the process if it runs (SIGTERM, then SIGKILL after a grace period).
    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&child);
            let _ = wait_or_kill(&mut child).await;
        }
    }
}

/// Stops every process that runs and removes the control socket.
async fn stop_all(procs: &mut [Proc], home: &Path) {
    let running = procs.iter().filter(|p| p.child.is_some()).count();
    println!("stopping {running} processes");
    for child in procs.iter().filter_map(|p| p.child.as_ref()) {
        terminate(child);
    }
    for proc in procs.iter_mut() {
        proc.stop().await;
    }
    let _ = std::fs::remove_file(home.join(CONTROL_SOCKET));
}

/// Resolves when a running process exits: its index and exit status. It is then no longer
/// running (`child` is `None`).
async fn next_exit(procs: &mut [Proc]) -> (usize, std::process::ExitStatus) {
    loop {
        for (index, proc) in procs.iter_mut().enumerate() {
            let exited = proc
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                proc.child = None;
                return (index, status);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Tells the user that `proc` exited, where its log is, and how to start it again.
fn report_exit(proc: &Proc, status: std::process::ExitStatus, home: &Path, control: bool) {
    eprintln!(
        "{} exited ({status}); the other processes keep running. Its log: {}",
        proc.name,
        proc.log.display()
    );
    if control {
        eprintln!(
            "  start it again: ordo devnet restart --home {} {}",
            home.display(),
            proc.name
        );
    } else {
        eprintln!(
            "  the devnet has no control socket, so it cannot restart it; Ctrl-C and run it again"
        );
    }
}

/// Listens on `HOME/devnet.sock` for `ordo devnet restart`; `None` (with a warning) if it
/// cannot, as when the path is too long for a Unix socket: the devnet then runs without it.
fn bind_control(home: &Path) -> Option<UnixListener> {
    let path = home.join(CONTROL_SOCKET);
    // A socket left by a devnet that did not stop cleanly.
    let _ = std::fs::remove_file(&path);
    match UnixListener::bind(&path) {
        Ok(listener) => Some(listener),
        Err(e) => {
            eprintln!(
                "cannot listen on {} ({e}): `ordo devnet restart` will not reach this devnet",
                path.display()
            );
            None
        }
    }
}

/// The next control connection; never resolves without a socket.
async fn accept(control: Option<&UnixListener>) -> Option<UnixStream> {
    match control {
        Some(listener) => listener.accept().await.ok().map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}

/// The running devnet as a control request sees it.
struct Running<'a> {
    procs: &'a mut [Proc],
    file: &'a mut DevnetFile,
    listing: &'a Path,
}

impl Running<'_> {
    /// Reads one request line (`restart NAME`) and answers one line: `ok: ...` or `error: ...`.
    async fn serve_request(&mut self, stream: UnixStream) -> anyhow::Result<()> {
        let (reader, mut writer) = stream.into_split();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(5),
            BufReader::new(reader.take(1024)).read_line(&mut line),
        )
        .await
        .context("no request within 5 s")??;
        let answer = match line.trim().split_once(' ') {
            Some(("restart", name)) => match self.restart(name.trim()).await {
                Ok(done) => {
                    println!("{done}");
                    format!("ok: {done}\n")
                }
                Err(e) => format!("error: {e:#}\n"),
            },
            _ => format!("error: unknown request {:?}\n", line.trim()),
        };
        writer.write_all(answer.as_bytes()).await?;
        Ok(())
    }

    /// Starts process `name` again (stopping it first if it runs), and lists its new pid.
    async fn restart(&mut self, name: &str) -> anyhow::Result<String> {
        let Some(proc) = self.procs.iter_mut().find(|p| p.name == name) else {
            let names: Vec<&str> = self.procs.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "no process named {name:?}; the devnet runs {}",
                names.join(", ")
            );
        };
        let was_running = proc.child.is_some();
        proc.stop().await;
        let pid = proc.start(true)?;
        if let Some(node) = proc.node.and_then(|i| self.file.nodes.get_mut(i)) {
            node.pid = pid;
            std::fs::write(self.listing, serde_json::to_string_pretty(&*self.file)?)?;
        }
        let verb = if was_running { "restarted" } else { "started" };
        Ok(format!(
            "{verb} {name} (pid {pid}; log: {})",
            proc.log.display()
        ))
    }
}

/// `ordo devnet restart`: asks the devnet running in `home` to start `name` again.
async fn request_restart(home: &Path, name: &str) -> anyhow::Result<()> {
    let path = home.join(CONTROL_SOCKET);
    let mut stream = UnixStream::connect(&path).await.with_context(|| {
        format!(
            "no devnet is running in {} (cannot connect to {})",
            home.display(),
            path.display()
        )
    })?;
    stream
        .write_all(format!("restart {name}\n").as_bytes())
        .await?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).await?;
    match answer.trim().split_once(": ") {
        Some(("ok", done)) => {
            println!("{done}");
            Ok(())
        }
        Some(("error", why)) => bail!("{why}"),
        _ => bail!("the devnet answered {:?}", answer.trim()),
    }
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
