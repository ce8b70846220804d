//! `ordo testnet scenario NAME|all`: fault scenarios with verdicts.
//!
//! Each scenario starts a fresh local network of 4 validators whose node-to-node connections all
//! pass through the [`Links`](crate::proxy::Links) proxy, drives open-loop load with the bench
//! engine, applies its fault, heals it, and judges:
//! - **safety**: no two nodes hold different blocks at one height (checked over every height);
//! - **liveness**: after healing, every node decides a height above the highest one any node had
//!   at the heal, within the limit; the time it took is the recovery time;
//! - **durability**: every transaction the load saw included is, at the end, in the block of that
//!   height on every node, and no transaction is in the chain twice.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use ordo_types::B256;
use serde::Serialize;
use tokio::sync::watch;

use crate::client::http;
use crate::load::{self, LoadReport, LoadSpec};
use crate::localnet::{LocalNet, NetSpec};
use crate::proxy::{LinkState, Links, Loss, Spread};

/// Arguments of `ordo testnet scenario`.
#[derive(Args, Clone, Debug)]
pub struct ScenarioArgs {
    /// The scenario (see `--list`), or `all` to run every one in sequence.
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Where the scenario networks live (one directory per scenario, replaced on each run).
    #[arg(long, default_value = "target/testnet-scenarios")]
    pub home: PathBuf,
    /// Offered load during the scenario, transactions per second.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Most seconds the network may take to resume after healing.
    #[arg(long, default_value_t = 60)]
    pub resume_limit: u64,
    /// Where to write the verdicts as JSON (default: HOME/verdicts.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run the scenario over network latency, as `ordo bench --latency` does (`MS`,
    /// `continental` or `worldwide`): the links start so, and a heal restores them so.
    #[arg(long, value_parser = Spread::parse)]
    pub latency: Option<Spread>,
    /// Lose this share of the TCP segments on every link, in percent, as `ordo bench --loss`
    /// does.
    #[arg(long, value_parser = Loss::parse)]
    pub loss: Option<Loss>,
    /// Give every node its own network namespace, as `ordo bench --netns` does (needs root).
    #[arg(long)]
    pub netns: bool,
}

/// The scenarios, in the order `all` runs them: name, what it does, whether it is implemented.
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "kill-restart",
        "SIGKILL one validator, restart it after 5 s",
    ),
    (
        "rolling-restart",
        "restart every validator in turn (SIGTERM), each once the previous has caught up",
    ),
    (
        "restart-all",
        "SIGKILL all validators at once, restart them all",
    ),
    (
        "partition",
        "partition 2+2 (no quorum) for 10 s, heal; then 3+1 for 10 s, heal",
    ),
    (
        "slow-link",
        "add 150 ms one-way latency to every link for 15 s, then remove it",
    ),
    (
        "censoring-proposer",
        "node0 leaves namespace 1 out of every block it proposes; the others must include it",
    ),
    (
        "equivocation",
        "a twin of node3 (its key, test_fault = \"vote_nil\") joins; the honest nodes must log the evidence",
    ),
    (
        "l1-outage",
        "cut every node from the L1 (Anvil) for 20 s; Ordo keeps deciding, the L1 view resumes after",
    ),
];

/// A scenario's judgement.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Scenario name.
    pub name: String,
    /// All three checks passed.
    pub pass: bool,
    /// No conflicting blocks at any height.
    pub safety: bool,
    /// Heights compared across nodes.
    pub heights_compared: u64,
    /// Resumed within the limit after every heal.
    pub liveness: bool,
    /// Seconds from each heal to every node deciding past the heal-time tip.
    pub recovery_s: Vec<f64>,
    /// Every transaction seen included is still in the chain, once.
    pub durability: bool,
    /// Included transactions checked.
    pub transactions_checked: u64,
    /// What went wrong, or notable facts.
    pub notes: Vec<String>,
    /// The load's figures.
    pub load: Option<LoadSummary>,
}

/// The load figures a verdict carries.
#[derive(Clone, Debug, Serialize)]
pub struct LoadSummary {
    /// Sent.
    pub submitted: u64,
    /// Accepted by a node.
    pub admitted: u64,
    /// Seen included.
    pub included: u64,
    /// Refused by code.
    pub refused: std::collections::BTreeMap<String, u64>,
    /// Finalized transactions per second.
    pub finalized_tps: f64,
    /// Latency percentiles, ms.
    pub latency_ms: load::Percentiles,
}

/// `ordo testnet ...`
#[derive(clap::Subcommand, Clone, Debug)]
pub enum TestnetCommand {
    /// Run a fault scenario (or `all`) on a fresh local network under load, and judge safety,
    /// liveness and durability.
    Scenario(ScenarioArgs),
}

/// Runs an `ordo testnet` command; `exe` is the `ordo` binary the networks run.
pub async fn testnet(command: TestnetCommand, exe: &Path) -> anyhow::Result<()> {
    match command {
        TestnetCommand::Scenario(args) => run(args, exe).await,
    }
}

/// Runs `ordo testnet scenario`; returns an error (non-zero exit) if any verdict fails.
pub(crate) async fn run(args: ScenarioArgs, exe: &Path) -> anyhow::Result<()> {
    if args.list {
        for (name, what) in SCENARIOS {
            println!("{name:<18} {what}");
        }
        return Ok(());
    }
    let name = args.name.clone().unwrap_or_default();
    let names: Vec<&str> = if name == "all" {
        SCENARIOS.iter().map(|(n, _)| *n).collect()
    } else if SCENARIOS.iter().any(|(n, _)| *n == name) {
        vec![name.as_str()]
    } else {
        let known: Vec<&str> = SCENARIOS.iter().map(|(n, _)| *n).collect();
        bail!("no scenario {name:?}; known: {}, or all", known.join(", "));
    };
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a positive number");
    }
    let mut verdicts = Vec::new();
    for name in names {
        println!("== scenario {name}");
        let verdict = match run_one(name, &args, exe).await {
            Ok(v) => v,
            Err(e) => Verdict {
                name: name.to_owned(),
                pass: false,
                safety: false,
                heights_compared: 0,
                liveness: false,
                recovery_s: Vec::new(),
                durability: false,
                transactions_checked: 0,
                notes: vec![format!("scenario error: {e:#}")],
                load: None,
            },
        };
        print_verdict(&verdict);
        verdicts.push(verdict);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.home.join("verdicts.json"));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&verdicts)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    let failed: Vec<&str> = verdicts
        .iter()
        .filter(|v| !v.pass)
        .map(|v| v.name.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("failed: {}", failed.join(", "))
    }
}

fn print_verdict(v: &Verdict) {
    let word = |ok: bool| if ok { "PASS" } else { "FAIL" };
    let recovery: Vec<String> = v.recovery_s.iter().map(|s| format!("{s:.1}s")).collect();
    println!(
        "   {}: safety {} ({} heights), liveness {} (recovery {}), durability {} ({} transactions)",
        word(v.pass),
        word(v.safety),
        v.heights_compared,
        word(v.liveness),
        if recovery.is_empty() {
            "-".to_owned()
        } else {
            recovery.join(", ")
        },
        word(v.durability),
        v.transactions_checked
    );
    if let Some(l) = &v.load {
        println!(
            "   load: {} sent, {} admitted, {} included, refused {:?}, {:.0} tx/s, p50 {:.0} ms, p99 {:.0} ms",
            l.submitted, l.admitted, l.included, l.refused, l.finalized_tps, l.latency_ms.p50, l.latency_ms.p99
        );
    }
    for note in &v.notes {
        println!("   note: {note}");
    }
}

/// The running pieces of one scenario.
struct Run {
    net: LocalNet,
    limit: Duration,
    recovery: Vec<f64>,
    liveness: bool,
    notes: Vec<String>,
    /// The highest height seen so far (so a heal after stopping every node still has a bar).
    seen_tip: u64,
    /// A scenario-specific check failed (see the notes).
    fault_check_failed: bool,
    /// The links' latency when healthy.
    spread: Spread,
    /// The links' loss when healthy.
    loss: Loss,
}

impl Run {
    /// The proxied links between the nodes.
    fn links(&self) -> anyhow::Result<&Links> {
        self.net.links.as_ref().context("network not proxied")
    }

    /// Restores every link (no cut; the run's latency, if any) and marks the heal.
    async fn heal_links(&mut self, what: &str) -> anyhow::Result<()> {
        self.links()?.spread(&self.spread, self.loss);
        println!("   {what}");
        self.healed(what).await;
        Ok(())
    }

    /// Marks the heal: waits until every running node passes the highest height any node had,
    /// and is ready by `/v1/health`; records the time or a liveness failure.
    async fn healed(&mut self, what: &str) {
        let started = Instant::now();
        let tip = self.net.max_height().await.max(self.seen_tip);
        match self.net.wait_all_reach(tip + 1, self.limit).await {
            Ok(_) => {
                let took = started.elapsed().as_secs_f64();
                self.recovery.push((took * 10.0).round() / 10.0);
                println!("   {what}: every node past height {tip} after {took:.1} s");
                if let Err(e) = self.wait_ready().await {
                    self.liveness = false;
                    self.notes.push(format!("{what}: {e:#}"));
                }
            }
            Err(e) => {
                self.liveness = false;
                self.notes.push(format!("{what}: {e:#}"));
            }
        }
    }

    /// Waits until every running node answers `/v1/health` with 200.
    async fn wait_ready(&self) -> anyhow::Result<()> {
        let client = http();
        let deadline = Instant::now() + self.limit;
        for (i, node) in self.net.nodes.iter().enumerate() {
            if !self.net.is_running(i) {
                continue;
            }
            loop {
                let ok = client
                    .get(format!("{}/v1/health", node.api))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("{} not ready by /v1/health in {:?}", node.name, self.limit);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Waits until the majority side (nodes `among`) decides `blocks` more blocks.
    async fn progresses(&mut self, among: &[usize], blocks: u64, what: &str) -> bool {
        let mut start = 0;
        for &i in among {
            start = start.max(self.net.height(i).await.unwrap_or(0));
        }
        let deadline = Instant::now() + self.limit;
        loop {
            let mut min = u64::MAX;
            for &i in among {
                min = min.min(self.net.height(i).await.unwrap_or(0));
            }
            if min >= start + blocks {
                self.seen_tip = self.seen_tip.max(min);
                return true;
            }
            if Instant::now() > deadline {
                self.liveness = false;
                self.notes.push(format!(
                    "{what}: nodes {among:?} did not decide {blocks} blocks past {start} in {:?}",
                    self.limit
                ));
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn run_one(name: &str, args: &ScenarioArgs, exe: &Path) -> anyhow::Result<Verdict> {
    let net = LocalNet::start(&NetSpec {
        exe: exe.to_owned(),
        dir: args.home.join(name),
        validators: 4,
        // The equivocation scenario's twin: a full node until it is given node3's key.
        full_nodes: usize::from(name == "equivocation"),
        l1: name == "l1-outage",
        encryption: false,
        proxied: true,
        netns: args.netns,
        settings: if name == "censoring-proposer" {
            // `test_fault = { censor_namespace = 1 }`: valid blocks without namespace 1.
            let mut censor = toml::Table::new();
            censor.insert("censor_namespace".into(), toml::Value::from(1));
            vec![(Some(0), "test_fault".to_owned(), toml::Value::Table(censor))]
        } else {
            Vec::new()
        },
    })
    .await?;
    let limit = Duration::from_secs(args.resume_limit);
    let mut run = Run {
        net,
        limit,
        recovery: Vec::new(),
        liveness: true,
        notes: Vec::new(),
        seen_tip: 0,
        fault_check_failed: false,
        spread: args.latency.clone().unwrap_or_default(),
        loss: args.loss.unwrap_or_default(),
    };
    run.links()?.spread(&run.spread, run.loss);
    let result = drive(name, args, &mut run).await;
    run.net.shutdown().await;
    result
}

async fn drive(name: &str, args: &ScenarioArgs, run: &mut Run) -> anyhow::Result<Verdict> {
    run.net.wait_all_reach(2, run.limit).await?;

    // Load for as long as the scenario lasts (it is stopped after the last heal).
    let spec = LoadSpec {
        chain_id: run.net.chain_id,
        rate: args.rate,
        duration: Duration::from_secs(240),
        senders: 256,
        namespaces: vec![1, 2, 3, 4],
        payload_bytes: 200,
        tick: Duration::from_millis(20),
        drain: Duration::from_secs(30),
        bundle_parts: 0,
        encrypt: None,
        declare_keys: true,
    };
    let presign_spec = spec.clone();
    let presigned = tokio::task::spawn_blocking(move || load::presign(&presign_spec)).await??;
    let (stop_tx, stop) = watch::channel(false);
    let targets = run.net.targets();
    let load_task = tokio::spawn(async move { load::run(&targets, &spec, presigned, stop).await });
    // Some load in the chain before the fault.
    run.progresses(&[0, 1, 2, 3], 5, "before the fault").await;

    match name {
        "kill-restart" => {
            run.net.kill_node(1).await?;
            println!("   node1 killed (SIGKILL)");
            run.progresses(&[0, 2, 3], 3, "3 of 4 while node1 is down")
                .await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            run.net.start_node(1)?;
            println!("   node1 restarted");
            run.healed("node1 restarted").await;
        }
        "rolling-restart" => {
            for i in 0..4 {
                run.net.stop_node(i).await?;
                run.net.start_node(i)?;
                println!("   node{i} restarted");
                run.healed(&format!("node{i} restarted")).await;
            }
        }
        "restart-all" => {
            run.seen_tip = run.net.max_height().await;
            for i in 0..4 {
                run.net.kill_node(i).await?;
            }
            println!("   all nodes killed (SIGKILL)");
            tokio::time::sleep(Duration::from_secs(2)).await;
            for i in 0..4 {
                run.net.start_node(i)?;
            }
            println!("   all nodes restarted");
            run.healed("all restarted").await;
        }
        "partition" => {
            let links = run.links()?;
            let before = run.net.max_height().await;
            links.partition(&[&[0, 1], &[2, 3]]);
            println!("   partitioned 2+2 at height {before}");
            tokio::time::sleep(Duration::from_secs(10)).await;
            let during = run.net.max_height().await;
            // A block whose precommits were already out may still land; nothing more can.
            if during > before + 1 {
                run.notes.push(format!(
                    "2+2: heights went from {before} to {during} without a quorum on either side"
                ));
                run.liveness = false;
            }
            run.heal_links("2+2 healed").await?;

            let links = run.links()?;
            links.partition(&[&[0, 1, 2], &[3]]);
            println!("   partitioned 3+1");
            run.progresses(&[0, 1, 2], 5, "majority of 3 while node3 is cut off")
                .await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            run.heal_links("3+1 healed").await?;
        }
        "slow-link" => {
            let links = run.links()?;
            let slow = LinkState {
                delay: Duration::from_millis(150),
                ..LinkState::default()
            };
            for a in 0..4 {
                for b in a + 1..4 {
                    links.set(a, b, slow);
                }
            }
            println!("   150 ms added to every link");
            run.progresses(&[0, 1, 2, 3], 5, "with 150 ms links").await;
            tokio::time::sleep(Duration::from_secs(10)).await;
            run.heal_links("latency removed").await?;
        }
        "censoring-proposer" => {
            // The fault is on from the start; let node0 propose a few times under load.
            run.progresses(&[0, 1, 2, 3], 20, "with a censoring proposer")
                .await;
            check_censorship(run).await?;
        }
        "equivocation" => {
            // node4 (a full node so far) restarts holding node3's validator key and voting nil
            // where node3 votes for the block: the key signs conflicting votes.
            run.net.stop_node(4).await?;
            std::fs::copy(
                run.net.nodes[3].home.join("validator_key.json"),
                run.net.nodes[4].home.join("validator_key.json"),
            )
            .context("copying node3's key to its twin")?;
            run.net
                .configure(4, "validator_key", "validator_key.json".into())?;
            run.net.configure(4, "test_fault", "vote_nil".into())?;
            run.net.start_node(4)?;
            println!("   node4 restarted as node3's twin (vote_nil)");
            run.progresses(&[0, 1, 2, 3], 20, "with node3's key equivocating")
                .await;
            check_equivocation(run).await?;
        }
        "l1-outage" => l1_outage(run).await?,
        other => bail!("no scenario {other:?}"),
    }

    // Some load after the last heal, then stop it and let it drain.
    run.progresses(&[0, 1, 2, 3], 5, "after healing").await;
    let _ = stop_tx.send(true);
    let report = load_task.await??;
    // A node that was down may still be a block or two behind the follower's node: wait until
    // every node holds every height a transaction was seen at, then judge.
    let needed = report
        .included_txs
        .iter()
        .map(|(_, h)| *h)
        .max()
        .unwrap_or(0);
    if let Err(e) = run.net.wait_all_reach(needed, run.limit).await {
        run.liveness = false;
        run.notes.push(format!("before judging: {e:#}"));
    }
    if name == "censoring-proposer" && report.admitted_not_included > 0 {
        run.fault_check_failed = true;
        run.notes.push(format!(
            "{} admitted transactions were never included",
            report.admitted_not_included
        ));
    }
    judge(name, run, &report).await
}

/// The honest nodes (0-2) must have logged node3's key's equivocation.
async fn check_equivocation(run: &mut Run) -> anyhow::Result<()> {
    let culprit = crate::client::status(&http(), &run.net.nodes[3].api)
        .await?
        .address
        .context("node3 has no validator address")?
        .to_string()
        .to_lowercase();
    let reported: Vec<usize> = (0..3)
        .filter(|&i| {
            run.net
                .log(i)
                .lines()
                .any(|l| l.contains("equivocation evidence") && l.to_lowercase().contains(&culprit))
        })
        .collect();
    println!("   equivocation evidence against {culprit} logged by nodes {reported:?}");
    if reported.is_empty() {
        run.fault_check_failed = true;
        run.notes.push(format!(
            "fault not exercised: no honest node logged equivocation evidence against {culprit}"
        ));
    } else {
        run.notes.push(format!(
            "equivocation evidence against node3's key logged by nodes {reported:?}"
        ));
    }
    Ok(())
}

/// The latest L1 block each node's watcher has read (`ordo_l1_confirmed_block`; 0 if unknown).
async fn l1_views(net: &crate::localnet::LocalNet) -> Vec<u64> {
    let mut views = Vec::new();
    for i in 0..net.nodes.len() {
        let v = net.metric(i, "ordo_l1_confirmed_block").await;
        views.push(v.unwrap_or(0.0) as u64);
    }
    views
}

/// Cuts every node from the L1 for 20 s: Ordo must keep deciding, every node must notice
/// (`ordo_l1_read_failing`), and after the restore every node's L1 view must advance again.
async fn l1_outage(run: &mut Run) -> anyhow::Result<()> {
    // The L1 view works before the outage.
    let deadline = Instant::now() + run.limit;
    let mut views = l1_views(&run.net).await;
    while views.contains(&0) {
        if Instant::now() > deadline {
            bail!("the nodes' L1 view never started: {views:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        views = l1_views(&run.net).await;
    }
    let height = run.net.max_height().await;
    run.net.cut_l1(true)?;
    let cut_at = Instant::now();
    println!("   L1 cut at Ordo height {height}, L1 views {views:?}");
    run.progresses(&[0, 1, 2, 3], 10, "with the L1 cut").await;
    if let Some(rest) = Duration::from_secs(20).checked_sub(cut_at.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let mut failing = Vec::new();
    for i in 0..run.net.nodes.len() {
        failing.push(run.net.metric(i, "ordo_l1_read_failing").await == Some(1.0));
    }
    let during = run.net.max_height().await;
    let frozen = l1_views(&run.net).await;
    println!(
        "   after {:.0} s without L1: Ordo height {during}, L1 views {frozen:?}, read failing {failing:?}",
        cut_at.elapsed().as_secs_f64()
    );
    run.notes.push(format!(
        "Ordo decided {} blocks during the {:.0} s outage",
        during.saturating_sub(height),
        cut_at.elapsed().as_secs_f64()
    ));
    if !failing.iter().all(|f| *f) {
        run.fault_check_failed = true;
        run.notes.push(format!(
            "fault not exercised: ordo_l1_read_failing per node {failing:?}"
        ));
    }
    run.net.cut_l1(false)?;
    let restored = Instant::now();
    println!("   L1 restored");
    loop {
        let now = l1_views(&run.net).await;
        if now.iter().zip(&frozen).all(|(n, f)| n > f) {
            let took = restored.elapsed().as_secs_f64();
            println!("   every node's L1 view advanced {took:.1} s after the restore: {now:?}");
            run.notes.push(format!(
                "L1 view advanced on every node {took:.1} s after the restore"
            ));
            break;
        }
        if restored.elapsed() > run.limit {
            run.liveness = false;
            run.notes.push(format!(
                "L1 views {now:?} did not pass {frozen:?} within {:?} of the restore",
                run.limit
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    run.healed("L1 restored").await;
    Ok(())
}

/// Node0 censors namespace 1: its blocks must hold none of it, and other proposers' blocks
/// must (so the censored transactions still land).
async fn check_censorship(run: &mut Run) -> anyhow::Result<()> {
    let client = http();
    let api = &run.net.nodes[1].api;
    let censor = crate::client::status(&client, &run.net.nodes[0].api)
        .await?
        .address
        .context("node0 has no validator address")?;
    let tip = crate::client::status(&client, api).await?.height;
    let (mut by_censor, mut ns1_elsewhere) = (0u64, 0u64);
    for h in 1..=tip {
        let block = crate::client::block_summary(&client, api, h).await?;
        let ns1 = block
            .namespaces
            .iter()
            .filter(|n| n.namespace == 1)
            .map(|n| n.transactions)
            .sum::<usize>();
        if block.proposer == censor {
            by_censor += 1;
            if ns1 > 0 {
                run.fault_check_failed = true;
                run.notes.push(format!(
                    "height {h}: the censoring proposer included namespace 1"
                ));
            }
        } else {
            ns1_elsewhere += ns1 as u64;
        }
    }
    println!(
        "   node0 proposed {by_censor} of {tip} blocks without namespace 1; others included {ns1_elsewhere} namespace-1 transactions"
    );
    if by_censor == 0 || ns1_elsewhere == 0 {
        run.fault_check_failed = true;
        run.notes.push(format!(
            "fault not exercised: {by_censor} blocks by the censor, {ns1_elsewhere} namespace-1 transactions by others"
        ));
    }
    Ok(())
}

/// Compares every node's chain and checks the load's included transactions against it.
async fn judge(name: &str, run: &mut Run, report: &LoadReport) -> anyhow::Result<Verdict> {
    let mut chains = Vec::new();
    for i in 0..run.net.nodes.len() {
        chains.push(
            run.net
                .chain(i)
                .await
                .with_context(|| format!("reading node{i}'s chain"))?,
        );
    }
    let heights = chains.iter().map(Vec::len).max().unwrap_or(0);
    let mut safety = true;
    for h in 0..heights {
        let hashes: HashSet<B256> = chains
            .iter()
            .filter_map(|c| c.get(h))
            .map(|b| b.hash)
            .collect();
        if hashes.len() > 1 {
            safety = false;
            run.notes.push(format!(
                "height {}: {} different blocks",
                h + 1,
                hashes.len()
            ));
        }
    }

    let mut durability = true;
    let mut missing = 0u64;
    for chain in &chains {
        let mut at: HashMap<B256, u64> = HashMap::new();
        for block in chain {
            for tx in &block.transactions {
                if at.insert(*tx, block.height).is_some() {
                    durability = false;
                    run.notes
                        .push(format!("transaction {tx} is in the chain twice"));
                }
            }
        }
        for (tx, height) in &report.included_txs {
            if at.get(tx) != Some(height) {
                missing += 1;
            }
        }
    }
    if missing > 0 {
        durability = false;
        run.notes.push(format!(
            "{missing} (node, transaction) pairs seen included are not at their height at the end"
        ));
    }
    if report.included == 0 {
        durability = false;
        run.notes
            .push("no transaction of the load was included".into());
    }
    let pass = safety && run.liveness && durability && !run.fault_check_failed;
    Ok(Verdict {
        name: name.to_owned(),
        pass,
        safety,
        heights_compared: heights as u64,
        liveness: run.liveness,
        recovery_s: run.recovery.clone(),
        durability,
        transactions_checked: report.included_txs.len() as u64,
        notes: run.notes.clone(),
        load: Some(LoadSummary {
            submitted: report.submitted,
            admitted: report.admitted,
            included: report.included,
            refused: report.refused.clone(),
            finalized_tps: report.finalized_tps,
            latency_ms: report.latency_ms.clone(),
        }),
    })
}
