//! `ordo bench`: open-loop load against a running network (or one it starts), with the figures
//! that matter to a rollup: finalized throughput, submission-to-inclusion latency, refusals,
//! per-node CPU and memory, and this machine's signature verification rate as the yardstick.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use ordo_types::{verify_batch, Claim, SecretKey, B256};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::client::{self, http};
use crate::load::{self, LoadReport, LoadSpec, Target};
use crate::localnet::{LocalNet, NetSpec};

/// Arguments of `ordo bench`.
#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// A devnet listing (`devnet.json` written by `ordo devnet`): its nodes are the targets.
    #[arg(long, conflicts_with_all = ["node", "spawn"])]
    pub devnet: Option<PathBuf>,
    /// A node API URL to send to (repeatable).
    #[arg(long, conflicts_with = "spawn")]
    pub node: Vec<String>,
    /// Start a fresh local network of this many validators in `--home` for the run.
    #[arg(long)]
    pub spawn: Option<usize>,
    /// A config setting for every node `--spawn` starts, `KEY=VALUE` with a dotted key
    /// (`--set limits.max_block_bytes=524288`); repeatable.
    #[arg(long = "set", value_parser = crate::localnet::parse_setting)]
    pub set: Vec<(String, toml::Value)>,
    /// Where `--spawn` puts its network.
    #[arg(long, default_value = "target/bench-load")]
    pub home: PathBuf,
    /// Offered load, transactions per second (the first probe with `--search`).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Seconds of load (per probe with `--search`).
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Distinct sender keys.
    #[arg(long, default_value_t = 1024)]
    pub senders: usize,
    /// Namespaces `1..=N` to spread the senders over (they must be registered rollups).
    #[arg(long, default_value_t = 4)]
    pub namespaces: u64,
    /// Payload bytes per transaction.
    #[arg(long, default_value_t = 200)]
    pub payload_bytes: usize,
    /// Offer bundles of this many transactions (each part in its own namespace, at most
    /// `--namespaces`) instead of single transactions; rates and counts are then of bundles.
    #[arg(long, default_value_t = 0)]
    pub bundle_parts: usize,
    /// Seconds to wait after the load for admitted transactions to be included.
    #[arg(long, default_value_t = 30)]
    pub drain: u64,
    /// Milliseconds between sends (every send carries what came due since the last).
    #[arg(long, default_value_t = 20)]
    pub tick_ms: u64,
    /// Search for the highest sustainable rate: raise the rate by half until a probe fails,
    /// then bisect.
    #[arg(long)]
    pub search: bool,
    /// A probe is sustained when at least 99% of its transactions are finalized, at least 95%
    /// of the offered rate, with p99 latency at most this.
    #[arg(long, default_value_t = 2000.0)]
    pub max_p99_ms: f64,
    /// Halfway through the load, start a hostile peer (`ordo-testnet hostile`) against the
    /// network for the rest of it, and report throughput and memory for each half apart.
    /// Needs `--spawn`.
    #[arg(long, requires = "spawn", conflicts_with = "search")]
    pub hostile: bool,
    /// The hostile peer's messages per second; 0 runs the same two halves without an attack,
    /// as a control.
    #[arg(long, default_value_t = 300)]
    pub hostile_rate: u32,
    /// Only these kinds of hostile message (`ordo-testnet hostile --only`); repeatable.
    #[arg(long = "hostile-only")]
    pub hostile_only: Vec<String>,
    /// Where to write the JSON result (the plot goes next to it, as `.svg`).
    #[arg(long, default_value = "target/bench-load.json")]
    pub out: PathBuf,
}

#[derive(Deserialize)]
struct DevnetFile {
    chain_id: u64,
    nodes: Vec<DevnetNode>,
    #[serde(default)]
    rollups: Vec<DevnetRollup>,
}

#[derive(Deserialize)]
struct DevnetNode {
    name: String,
    api: String,
    #[serde(default)]
    pid: Option<u32>,
}

#[derive(Deserialize)]
struct DevnetRollup {
    namespace: u64,
}

/// This machine's single-core signature rates, measured now.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct VerifyRate {
    /// k256 ECDSA verifications per second on one core.
    pub verify_per_s: f64,
    /// Sender recoveries (what an entry node does per transaction) per second on one core.
    pub recover_per_s: f64,
    /// Signatures per second on one core checked in batches of 256 against claimed keys (what
    /// the other nodes do with gossiped transactions, `ordo_types::verify_batch`).
    pub batch_per_s: f64,
    /// Cores available.
    pub cores: usize,
}

/// Measures [`VerifyRate`] for about two seconds.
pub fn measure_verify_rate() -> VerifyRate {
    let key = SecretKey::random();
    let public = key.public_key();
    let digests: Vec<B256> = (0..256u32)
        .map(|i| ordo_types::keccak256(i.to_be_bytes()))
        .collect();
    let sigs: Vec<_> = digests.iter().map(|d| key.sign_digest(d)).collect();
    let claims: Vec<Claim<'_>> = digests
        .iter()
        .zip(&sigs)
        .map(|(digest, signature)| Claim {
            digest,
            signature,
            key: &public,
        })
        .collect();
    let rate = |f: &dyn Fn(&B256, &ordo_types::Signature) -> bool| {
        let started = Instant::now();
        let mut n = 0u64;
        let mut ok = 0u64;
        while started.elapsed() < Duration::from_secs(1) {
            for (d, s) in digests.iter().zip(&sigs) {
                ok += u64::from(f(d, s));
            }
            n += digests.len() as u64;
        }
        debug_assert_eq!(ok, n);
        n as f64 / started.elapsed().as_secs_f64()
    };
    VerifyRate {
        verify_per_s: rate(&|d, s| public.verify(d, s).is_ok()).round(),
        recover_per_s: rate(&|d, s| s.recover(d).is_ok()).round(),
        batch_per_s: {
            let started = Instant::now();
            let mut n = 0;
            while started.elapsed() < Duration::from_secs(1) {
                assert!(verify_batch(&claims), "a true batch failed");
                n += claims.len();
            }
            (n as f64 / started.elapsed().as_secs_f64()).round()
        },
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// Where the load goes and what it signs for.
struct Network {
    targets: Vec<Target>,
    chain_id: u64,
    registered: Option<Vec<u64>>,
    spawned: Option<LocalNet>,
}

async fn resolve(args: &BenchArgs, exe: &Path) -> anyhow::Result<Network> {
    if let Some(path) = &args.devnet {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: DevnetFile =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if file.nodes.is_empty() {
            bail!("{} lists no nodes", path.display());
        }
        return Ok(Network {
            targets: file
                .nodes
                .into_iter()
                .map(|n| Target {
                    name: n.name,
                    api: n.api.trim_end_matches('/').to_owned(),
                    pid: n.pid,
                })
                .collect(),
            chain_id: file.chain_id,
            registered: Some(file.rollups.iter().map(|r| r.namespace).collect()),
            spawned: None,
        });
    }
    if let Some(validators) = args.spawn {
        if validators == 0 {
            bail!("--spawn needs at least one validator");
        }
        println!(
            "starting {validators} validators in {}...",
            args.home.display()
        );
        let net = LocalNet::start(&NetSpec {
            exe: exe.to_owned(),
            dir: args.home.clone(),
            validators,
            full_nodes: 0,
            l1: false,
            proxied: false,
            settings: args
                .set
                .iter()
                .map(|(k, v)| (None, k.clone(), v.clone()))
                .collect(),
        })
        .await?;
        net.wait_all_reach(1, Duration::from_secs(60)).await?;
        return Ok(Network {
            targets: net.targets(),
            chain_id: net.chain_id,
            registered: None,
            spawned: Some(net),
        });
    }
    if args.node.is_empty() {
        bail!("say where to send: --devnet PATH, --node URL (repeatable) or --spawn N");
    }
    let client = http();
    let mut targets = Vec::new();
    let mut chain_id = None;
    for (i, url) in args.node.iter().enumerate() {
        let api = url.trim_end_matches('/').to_owned();
        let status = client::status(&client, &api)
            .await
            .with_context(|| format!("asking {api} for its status"))?;
        if chain_id.is_some_and(|c| c != status.chain_id) {
            bail!("{api} is on chain {}, not {chain_id:?}", status.chain_id);
        }
        chain_id = Some(status.chain_id);
        targets.push(Target {
            name: format!("node{i}"),
            api,
            // A pid is only meaningful if the node runs on this machine.
            pid: status
                .pid
                .filter(|p| Path::new(&format!("/proc/{p}")).exists()),
        });
    }
    Ok(Network {
        targets,
        chain_id: chain_id.context("no node answered")?,
        registered: None,
        spawned: None,
    })
}

fn spec(args: &BenchArgs, chain_id: u64, rate: f64) -> LoadSpec {
    LoadSpec {
        chain_id,
        rate,
        duration: Duration::from_secs(args.duration),
        senders: args.senders,
        namespaces: (1..=args.namespaces).collect(),
        payload_bytes: args.payload_bytes,
        tick: Duration::from_millis(args.tick_ms.max(1)),
        drain: Duration::from_secs(args.drain),
        bundle_parts: args.bundle_parts,
    }
}

/// Whether a probe kept up: nearly everything finalized, near the offered rate, bounded p99.
fn sustained(report: &LoadReport, max_p99_ms: f64) -> bool {
    let submitted = report.submitted.max(1) as f64;
    report.included as f64 >= 0.99 * submitted
        && report.finalized_tps >= 0.95 * report.rate
        && report.latency_ms.p99 <= max_p99_ms
}

/// Waits until every target's mempool is empty (or 60 s pass), so probes do not overlap.
async fn settle(targets: &[Target]) {
    let client = http();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut held = 0;
        for t in targets {
            held += client::mempool_len(&client, &t.api).await.unwrap_or(0);
        }
        if held == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn probe(args: &BenchArgs, network: &Network, rate: f64) -> anyhow::Result<LoadReport> {
    Ok(probe_with(args, network, rate, || ()).await?.0)
}

/// [`probe`], calling `at_start` when the signed transactions start going out.
async fn probe_with<T>(
    args: &BenchArgs,
    network: &Network,
    rate: f64,
    at_start: impl FnOnce() -> T,
) -> anyhow::Result<(LoadReport, T)> {
    let spec = spec(args, network.chain_id, rate);
    print!(
        "signing {} transactions ({} senders, {} B payloads)... ",
        (rate * args.duration as f64).ceil(),
        args.senders,
        args.payload_bytes
    );
    let started = Instant::now();
    let presigned = tokio::task::spawn_blocking(move || load::presign(&spec)).await??;
    println!("{:.1} s", started.elapsed().as_secs_f64());
    println!("offering {rate:.0} tx/s for {} s...", args.duration);
    let (_stop_tx, stop) = watch::channel(false);
    let spec = self::spec(args, network.chain_id, rate);
    let started = at_start();
    let report = load::run(&network.targets, &spec, presigned, stop).await?;
    print_row(&report);
    Ok((report, started))
}

/// Throughput, latency and memory over one part of a run.
#[derive(Clone, Debug, serde::Serialize)]
struct Phase {
    name: &'static str,
    /// Seconds of the run, `[from, to)`.
    from_s: u64,
    to_s: u64,
    /// Transactions first seen included in those seconds, per second.
    finalized_tps: f64,
    /// Mean of the per-second median latencies, weighted by inclusions.
    latency_p50_ms: f64,
    /// The highest per-second 99th-percentile latency.
    latency_p99_ms_max: f64,
    /// Each node's largest resident memory over the phase, MiB.
    rss_mib_max: Vec<f64>,
}

/// Node memory sampled every 500 ms, tagged with the phase it falls in.
async fn sample_rss(pids: Vec<Option<u32>>, half: Duration, end: Duration) -> [Vec<f64>; 2] {
    let started = Instant::now();
    let mut max = [vec![0.0; pids.len()], vec![0.0; pids.len()]];
    while started.elapsed() < end {
        let phase = usize::from(started.elapsed() >= half);
        for (i, pid) in pids.iter().enumerate() {
            let rss = pid
                .and_then(crate::procstat::sample)
                .map_or(0.0, |s| s.rss_kib as f64 / 1024.0);
            if let Some(m) = max.get_mut(phase).and_then(|p| p.get_mut(i)) {
                *m = f64::max(*m, rss);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    max
}

fn phase(report: &LoadReport, name: &'static str, from: u64, to: u64, rss: Vec<f64>) -> Phase {
    let seconds: Vec<_> = report
        .timeline
        .iter()
        .filter(|s| s.t >= from && s.t < to)
        .collect();
    let included: u64 = seconds.iter().map(|s| s.included).sum();
    let weighted: f64 = seconds
        .iter()
        .map(|s| s.latency_p50_ms * s.included as f64)
        .sum();
    Phase {
        name,
        from_s: from,
        to_s: to,
        finalized_tps: included as f64 / (to - from).max(1) as f64,
        latency_p50_ms: if included > 0 {
            (weighted / included as f64).round()
        } else {
            0.0
        },
        latency_p99_ms_max: seconds
            .iter()
            .map(|s| s.latency_p99_ms)
            .fold(0.0, f64::max)
            .round(),
        rss_mib_max: rss.iter().map(|r| r.round()).collect(),
    }
}

/// One load run with a hostile peer over its second half: the two halves side by side.
async fn probe_hostile(
    args: &BenchArgs,
    network: &Network,
) -> anyhow::Result<(LoadReport, Vec<Phase>, Value)> {
    let duration = Duration::from_secs(args.duration);
    let half = duration / 2;
    let hostile_args = crate::hostile::HostileArgs {
        home: args.home.clone(),
        duration: args.duration - half.as_secs(),
        rate: args.hostile_rate,
        oversized_every: 5,
        only: args.hostile_only.clone(),
        out: None,
    };
    let pids: Vec<Option<u32>> = network.targets.iter().map(|t| t.pid).collect();
    let (report, (hostile, rss)) = probe_with(args, network, args.rate, || {
        let hostile = tokio::spawn(async move {
            tokio::time::sleep(half).await;
            if hostile_args.rate == 0 {
                println!("hostile peer: --hostile-rate 0, no attack (a control run)");
                return Ok(crate::HostileReport::default());
            }
            println!(
                "hostile peer: attacking for {} s at {} messages/s",
                hostile_args.duration, hostile_args.rate
            );
            crate::hostile::attack(&hostile_args).await
        });
        (hostile, tokio::spawn(sample_rss(pids, half, duration)))
    })
    .await?;
    let hostile = hostile.await??;
    let [calm, attacked] = rss.await?;
    let h = half.as_secs();
    let phases = vec![
        phase(&report, "honest only", 0, h, calm),
        phase(&report, "under attack", h, args.duration, attacked),
    ];
    Ok((report, phases, serde_json::to_value(&hostile)?))
}

fn print_header() {
    println!(
        "{:>8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10} {:>9} {:>12}",
        "rate",
        "final tx/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "included",
        "refused",
        "CPU %",
        "interval p99"
    );
}

fn print_row(r: &LoadReport) {
    let refused: u64 = r.refused.values().sum();
    let cpu: f64 = r.nodes.iter().map(|n| n.cpu_percent).sum();
    println!(
        "{:>8.0} {:>10.1} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>10} {:>10} {:>9.0} {:>12.0}",
        r.rate,
        r.finalized_tps,
        r.latency_ms.p50,
        r.latency_ms.p90,
        r.latency_ms.p99,
        r.latency_ms.max,
        format!("{}/{}", r.included, r.submitted),
        refused,
        cpu,
        r.block_interval_ms.p99
    );
}

/// Runs `ordo bench`; `exe` is the `ordo` binary (for `--spawn`).
pub async fn run(args: BenchArgs, exe: &Path) -> anyhow::Result<()> {
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a positive number");
    }
    if args.duration == 0 {
        bail!("--duration must be at least 1 second");
    }
    if args.namespaces == 0 {
        bail!("--namespaces must be at least 1");
    }
    if !args.set.is_empty() && args.spawn.is_none() {
        bail!("--set only changes the nodes of a network started with --spawn");
    }
    let mut network = resolve(&args, exe).await?;
    if let Some(registered) = &network.registered {
        if let Some(ns) = (1..=args.namespaces).find(|n| !registered.contains(n)) {
            bail!("namespace {ns} is not a registered rollup of this network");
        }
    }
    let result = bench(&args, &network).await;
    if let Some(net) = network.spawned.as_mut() {
        net.shutdown().await;
    }
    result
}

async fn bench(args: &BenchArgs, network: &Network) -> anyhow::Result<()> {
    println!("measuring this machine's signature rate (one core)...");
    let verify = tokio::task::spawn_blocking(measure_verify_rate).await?;
    let validators = network.targets.len();
    let bound = verify.verify_per_s * verify.cores as f64 / validators as f64;
    println!(
        "  {:.0} verifications/s, {:.0} recoveries/s, {:.0} batch-checked signatures/s per core; \
         {} cores / {validators} nodes verifying every transaction once: bound {bound:.0} tx/s",
        verify.verify_per_s, verify.recover_per_s, verify.batch_per_s, verify.cores
    );

    let mut probes = Vec::new();
    let mut hostile_result = None;
    let best = if args.search {
        print_header();
        let mut rate = args.rate;
        let mut good: Option<LoadReport> = None;
        let mut bad: Option<f64> = None;
        for _ in 0..12 {
            let report = probe(args, network, rate).await?;
            let ok = sustained(&report, args.max_p99_ms);
            probes.push(json!({ "rate": rate, "sustained": ok, "result": &report }));
            settle(&network.targets).await;
            if ok {
                good = Some(report);
            } else {
                bad = Some(rate);
            }
            let low = good.as_ref().map_or(0.0, |g| g.rate);
            rate = match bad {
                None => rate * 1.5,
                Some(high) if high - low > (0.05 * high).max(50.0) => (low + high) / 2.0,
                Some(_) => break,
            };
            rate = rate.round();
        }
        match good {
            Some(g) => g,
            None => bail!("no probe was sustained, down to {:.0} tx/s", args.rate),
        }
    } else if args.hostile {
        print_header();
        let (report, phases, attack) = probe_hostile(args, network).await?;
        println!(
            "{:<14} {:>10} {:>8} {:>12}  per-node RSS max (MiB)",
            "phase", "final tx/s", "p50 ms", "max p99 ms"
        );
        for p in &phases {
            println!(
                "{:<14} {:>10.1} {:>8.0} {:>12.0}  {:?}",
                p.name, p.finalized_tps, p.latency_p50_ms, p.latency_p99_ms_max, p.rss_mib_max
            );
        }
        hostile_result = Some(json!({ "phases": phases, "attack": attack }));
        report
    } else {
        print_header();
        probe(args, network, args.rate).await?
    };

    let ratio = best.finalized_tps / bound;
    println!(
        "finalized {:.0} tx/s = {:.2} of the verification bound ({bound:.0} tx/s)",
        best.finalized_tps, ratio
    );
    for n in &best.nodes {
        println!(
            "  {:<8} CPU {:>5.1}%  RSS {:.0} -> {:.0} MiB (max {:.0})",
            n.name, n.cpu_percent, n.rss_mib_start, n.rss_mib_end, n.rss_mib_max
        );
    }
    println!("  load generator CPU {:.1}%", best.client_cpu_percent);
    if !best.refused.is_empty() {
        println!("  refused: {:?}", best.refused);
    }
    if best.busy_retries > 0 {
        println!("  offered again after BUSY: {}", best.busy_retries);
    }

    let plot_path = args.out.with_extension("svg");
    let title = format!(
        "ordo bench: {:.0} tx/s offered, {:.0} finalized, {} nodes, {} B payloads",
        best.rate, best.finalized_tps, validators, best.payload_bytes
    );
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&plot_path, crate::plot::svg(&title, &best.timeline))
        .with_context(|| format!("writing {}", plot_path.display()))?;
    let mut result = serde_json::to_value(&best)?;
    result["verification"] = json!({
        "verify_per_s_per_core": verify.verify_per_s,
        "recover_per_s_per_core": verify.recover_per_s,
        "batch_per_s_per_core": verify.batch_per_s,
        "cores": verify.cores,
        "nodes": validators,
        "bound_tps": bound.round(),
        "ratio": (ratio * 1000.0).round() / 1000.0,
    });
    result["targets"] = serde_json::to_value(&network.targets)?;
    result["plot"] = Value::from(plot_path.display().to_string());
    if let Some(hostile) = hostile_result {
        result["hostile"] = hostile;
    }
    if args.search {
        result["search"] = Value::Array(probes);
        result["max_sustained_rate"] = Value::from(best.rate);
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&result)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {} and {}", args.out.display(), plot_path.display());
    Ok(())
}
