//! `ordo bench`: open-loop load against a running network (or one it starts), with the figures
//! that matter to a rollup: finalized throughput, submission-to-inclusion latency, refusals,
//! per-node CPU and memory, and this machine's signature verification rate as the yardstick.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use ordo_enc::EncryptionKey;
use ordo_types::{verify_batch, Claim, SecretKey, B256};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::client::{self, http};
use crate::load::{self, Encrypt, LoadReport, LoadSpec, Target};
use crate::localnet::{LocalNet, NetSpec};
use crate::proxy::{Loss, Spread};

mod lane;

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
    /// Send transactions without their senders' public keys (`public_key`), so that the
    /// entry node recovers every sender, as for a client that does not declare them.
    #[arg(long)]
    pub without_keys: bool,
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
    /// Seconds into the attack before the hostile peer does what gets it banned from the
    /// consensus network (`ordo-testnet hostile --provoke-after`); at least the attack's length
    /// measures what the nodes pay for the attacks they cannot attribute.
    #[arg(long, default_value_t = 0)]
    pub hostile_provoke_after: u64,
    /// Seal this share (0 to 1) of the offered transactions to the network's key (named by
    /// `GET /v1/encryption` of the first node) and send them as encrypted transactions. A
    /// network `--spawn` starts is then initialised with `ordo init --encryption`.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub encrypted: f64,
    /// Measure the encrypted lane against a plaintext control in one run on one network: the
    /// first half of the load all plaintext, the second half with this share (0 to 1) sealed,
    /// same rate. Reports each half's throughput, latency and validator CPU, their ratio, and
    /// how long the nodes took to open each block (from their logs). Needs `--spawn`.
    #[arg(
        long,
        requires = "spawn",
        conflicts_with_all = ["search", "hostile", "encrypted"],
        value_parser = fraction
    )]
    pub compare_encrypted: Option<f64>,
    /// Network latency between the validators `--spawn` starts, through a user-space proxy on
    /// every link: `MS` (one-way, on every link; the round trip is twice that), `continental`
    /// (Frankfurt, London, Paris, Stockholm) or `worldwide` (Virginia, Frankfurt, Tokyo, São
    /// Paulo), each with a tenth of its delay as jitter. Needs `--spawn`.
    #[arg(long, requires = "spawn", value_parser = Spread::parse)]
    pub latency: Option<Spread>,
    /// Lose this share of the TCP segments (1,448 bytes) on every validator link, in percent:
    /// a lost one arrives a retransmission timeout late (the round trip plus 200 ms, Linux's
    /// minimum) and holds back what follows it. Needs `--spawn`.
    #[arg(long, requires = "spawn", value_parser = Loss::parse)]
    pub loss: Option<Loss>,
    /// Give every validator `--spawn` starts its own network namespace, address and kernel
    /// network stack, linked to this process through a bridge, as on separate hosts (needs
    /// root). Latency and loss, if asked, are added between the namespaces.
    #[arg(long, requires = "spawn")]
    pub netns: bool,
    /// Where to write the JSON result (the plot goes next to it, as `.svg`).
    #[arg(long, default_value = "target/bench-load.json")]
    pub out: PathBuf,
}

/// A share between 0 and 1.
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("{s:?} is not a fraction between 0 and 1")),
    }
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
    /// The key to seal to, when the run sends encrypted transactions.
    encryption: Option<EncryptionKey>,
}

/// Whether the run sends encrypted transactions.
fn sends_encrypted(args: &BenchArgs) -> bool {
    args.encrypted > 0.0 || args.compare_encrypted.is_some()
}

/// The key `GET /v1/encryption` of `api` names; every namespace `1..=namespaces` must take
/// encrypted transactions.
/// The network's encryption key, waiting up to a minute for its validators to generate it.
async fn encryption_key(api: &str, namespaces: u64) -> anyhow::Result<EncryptionKey> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let info = loop {
        match client::encryption(&http(), api).await {
            Ok(info) => break info,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e).with_context(|| {
                format!("asking {api} for its encryption key (a network started with `ordo init --encryption` has one)")
            }),
        }
    };
    let public = hex::decode(info.public_key.trim_start_matches("0x"))
        .context("the encryption key is not hex")?;
    let key = EncryptionKey::from_bytes(info.key_id, &public)?;
    if let Some(ns) = (1..=namespaces).find(|n| !info.namespaces.contains(n)) {
        bail!(
            "namespace {ns} does not take encrypted transactions (these do: {:?})",
            info.namespaces
        );
    }
    Ok(key)
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
            encryption: None,
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
            encryption: sends_encrypted(args),
            proxied: args.latency.is_some() || args.loss.is_some(),
            netns: args.netns,
            settings: args
                .set
                .iter()
                .map(|(k, v)| (None, k.clone(), v.clone()))
                .collect(),
        })
        .await?;
        if let Some(links) = &net.links {
            let spread = args.latency.clone().unwrap_or_default();
            let loss = args.loss.unwrap_or_default();
            links.spread(&spread, loss);
            println!("links: {spread:?}, {loss:?}");
        }
        net.wait_all_reach(1, Duration::from_secs(60)).await?;
        return Ok(Network {
            targets: net.targets(),
            chain_id: net.chain_id,
            registered: None,
            spawned: Some(net),
            encryption: None,
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
        encryption: None,
    })
}

fn spec(args: &BenchArgs, network: &Network, rate: f64) -> LoadSpec {
    // With `--compare-encrypted`, sealing starts with the first transaction due in the second half.
    let encrypt = network.encryption.map(|key| match args.compare_encrypted {
        Some(fraction) => Encrypt {
            key,
            fraction,
            from: ((args.duration / 2) as f64 * rate).ceil() as usize,
        },
        None => Encrypt {
            key,
            fraction: args.encrypted,
            from: 0,
        },
    });
    LoadSpec {
        chain_id: network.chain_id,
        rate,
        duration: Duration::from_secs(args.duration),
        senders: args.senders,
        namespaces: (1..=args.namespaces).collect(),
        payload_bytes: args.payload_bytes,
        tick: Duration::from_millis(args.tick_ms.max(1)),
        drain: Duration::from_secs(args.drain),
        bundle_parts: args.bundle_parts,
        encrypt,
        declare_keys: !args.without_keys,
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
    let spec = spec(args, network, rate);
    print!(
        "signing {} transactions ({} senders, {} B payloads)... ",
        (rate * args.duration as f64).ceil(),
        args.senders,
        args.payload_bytes
    );
    let started = Instant::now();
    let presigned = tokio::task::spawn_blocking(move || load::presign(&spec)).await??;
    let sealed = presigned.sealed();
    if sealed > 0 {
        print!("({sealed} of them sealed to the network's key) ");
    }
    println!("{:.1} s", started.elapsed().as_secs_f64());
    println!("offering {rate:.0} tx/s for {} s...", args.duration);
    let (_stop_tx, stop) = watch::channel(false);
    let spec = self::spec(args, network, rate);
    let started = at_start();
    let report = load::run(&network.targets, &spec, presigned, stop).await?;
    print_row(&report);
    Ok((report, started))
}

/// Throughput, latency, memory and CPU over one part of a run.
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
    /// Each node's CPU time over the phase, seconds.
    cpu_s: Vec<f64>,
}

/// Each node's largest memory and CPU time over one half of a run.
#[derive(Clone, Debug, Default)]
struct HalfUsage {
    rss_mib_max: Vec<f64>,
    cpu_s: Vec<f64>,
}

/// Node memory sampled every 500 ms and CPU time read at the start, at `half` and at `end`,
/// per half.
async fn sample_halves(pids: Vec<Option<u32>>, half: Duration, end: Duration) -> [HalfUsage; 2] {
    let started = Instant::now();
    let read = || -> Vec<Option<crate::procstat::ProcSample>> {
        pids.iter()
            .map(|p| p.and_then(crate::procstat::sample))
            .collect()
    };
    let mut halves = [HalfUsage::default(), HalfUsage::default()];
    for h in &mut halves {
        h.rss_mib_max = vec![0.0; pids.len()];
    }
    // CPU seconds at the start, at `half` and at `end`.
    let mut marks: Vec<Vec<Option<f64>>> = Vec::with_capacity(3);
    loop {
        let elapsed = started.elapsed();
        let row = read();
        let reached = if elapsed >= end {
            3
        } else if elapsed >= half {
            2
        } else {
            1
        };
        while marks.len() < reached {
            marks.push(row.iter().map(|s| s.map(|s| s.cpu_s)).collect());
        }
        if elapsed >= end {
            break;
        }
        let phase = usize::from(elapsed >= half);
        for (i, sample) in row.iter().enumerate() {
            let rss = sample.map_or(0.0, |s| s.rss_kib as f64 / 1024.0);
            if let Some(m) = halves[phase].rss_mib_max.get_mut(i) {
                *m = f64::max(*m, rss);
            }
        }
        // Wake at the next half boundary rather than past it.
        let next = if elapsed < half { half } else { end };
        tokio::time::sleep((next - elapsed).min(Duration::from_millis(500))).await;
    }
    for (p, h) in halves.iter_mut().enumerate() {
        h.cpu_s = marks[p]
            .iter()
            .zip(&marks[p + 1])
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => ((b - a) * 100.0).round() / 100.0,
                _ => 0.0,
            })
            .collect();
    }
    halves
}

fn phase(report: &LoadReport, name: &'static str, from: u64, to: u64, usage: HalfUsage) -> Phase {
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
        rss_mib_max: usage.rss_mib_max.iter().map(|r| r.round()).collect(),
        cpu_s: usage.cpu_s,
    }
}

/// One load run measured in two halves, the first `duration / 2` seconds and the rest: each
/// half's throughput, latency, node memory and CPU. `at_start(half)` runs as the transactions
/// start going out, to start what makes the second half differ when that is not in the
/// transactions themselves (the hostile peer).
async fn probe_halves<T>(
    args: &BenchArgs,
    network: &Network,
    names: [&'static str; 2],
    at_start: impl FnOnce(Duration) -> T,
) -> anyhow::Result<(LoadReport, [Phase; 2], T)> {
    let h = args.duration / 2;
    let (half, end) = (Duration::from_secs(h), Duration::from_secs(args.duration));
    let pids: Vec<Option<u32>> = network.targets.iter().map(|t| t.pid).collect();
    let (report, (started, usage)) = probe_with(args, network, args.rate, || {
        (at_start(half), tokio::spawn(sample_halves(pids, half, end)))
    })
    .await?;
    let [first, second] = usage.await?;
    let phases = [
        phase(&report, names[0], 0, h, first),
        phase(&report, names[1], h, args.duration, second),
    ];
    Ok((report, phases, started))
}

/// One load run with a hostile peer over its second half: the two halves side by side.
async fn probe_hostile(
    args: &BenchArgs,
    network: &Network,
) -> anyhow::Result<(LoadReport, [Phase; 2], Value)> {
    let hostile_args = crate::hostile::HostileArgs {
        home: args.home.clone(),
        duration: args.duration - args.duration / 2,
        rate: args.hostile_rate,
        oversized_every: 5,
        only: args.hostile_only.clone(),
        provoke_after: args.hostile_provoke_after,
        out: None,
    };
    let (report, phases, hostile) =
        probe_halves(args, network, ["honest only", "under attack"], |half| {
            tokio::spawn(async move {
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
            })
        })
        .await?;
    let hostile = hostile.await??;
    Ok((report, phases, serde_json::to_value(&hostile)?))
}

fn print_phases(phases: &[Phase]) {
    println!(
        "{:<14} {:>10} {:>8} {:>12} {:>14}  per-node RSS max (MiB)",
        "phase", "final tx/s", "p50 ms", "max p99 ms", "nodes CPU s"
    );
    for p in phases {
        println!(
            "{:<14} {:>10.1} {:>8.0} {:>12.0} {:>14.1}  {:?}",
            p.name,
            p.finalized_tps,
            p.latency_p50_ms,
            p.latency_p99_ms_max,
            p.cpu_s.iter().sum::<f64>(),
            p.rss_mib_max
        );
    }
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
    // The halves read the nodes' processes and logs (clap's `requires` does not catch this).
    if (args.hostile || args.compare_encrypted.is_some()) && args.spawn.is_none() {
        bail!("--hostile and --compare-encrypted need a network of their own: --spawn N");
    }
    if (args.hostile || args.compare_encrypted.is_some()) && args.duration < 2 {
        bail!("--duration must be at least 2 seconds to measure two halves");
    }
    if args.compare_encrypted == Some(0.0) {
        bail!("--compare-encrypted needs a share above 0 to compare with");
    }
    if sends_encrypted(&args) && args.bundle_parts > 0 {
        bail!("encrypted load is single transactions: drop --bundle-parts");
    }
    let mut network = resolve(&args, exe).await?;
    if let Some(registered) = &network.registered {
        if let Some(ns) = (1..=args.namespaces).find(|n| !registered.contains(n)) {
            bail!("namespace {ns} is not a registered rollup of this network");
        }
    }
    let result = async {
        if sends_encrypted(&args) {
            let api = &network.targets[0].api;
            network.encryption = Some(encryption_key(api, args.namespaces).await?);
        }
        bench(&args, &network).await
    }
    .await;
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
    let mut lane = None;
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
        print_phases(&phases);
        hostile_result = Some(json!({ "phases": phases, "attack": attack }));
        report
    } else if let Some(fraction) = args.compare_encrypted {
        print_header();
        let (report, phases, ()) =
            probe_halves(args, network, ["plaintext", "encrypted"], |_| ()).await?;
        print_phases(&phases);
        lane = Some(lane::figures(network, &report, Some(phases), fraction, &verify).await);
        report
    } else {
        print_header();
        let report = probe(args, network, args.rate).await?;
        if args.encrypted > 0.0 {
            lane = Some(lane::figures(network, &report, None, args.encrypted, &verify).await);
        }
        report
    };
    if let Some(lane) = &lane {
        lane::print(lane);
    }

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
    if let Some(e) = &best.encrypted {
        println!(
            "  encrypted: {} sent, {} admitted, {} finalized; latency p50 {:.0} ms, p99 {:.0} ms \
             (plaintext {:.0} / {:.0} ms)",
            e.submitted,
            e.admitted,
            e.included,
            e.latency_ms.p50,
            e.latency_ms.p99,
            e.plaintext_latency_ms.p50,
            e.plaintext_latency_ms.p99
        );
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
    if let Some(lane) = lane {
        result["encrypted_lane"] = serde_json::to_value(&lane)?;
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
