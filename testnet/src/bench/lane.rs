//! The encrypted lane's figures in a bench run (docs/ENCRYPTION.md, "Costs and goals"): each
//! half against a plaintext control in the same run, the validators' extra CPU per encrypted
//! transaction, and how long the nodes took to open each decided block, read from their logs.
//!
//! The load generator sees inclusions in `GET /v1/blocks/{h}/transactions`, which serves a block
//! once it is decided; nodes open its encrypted transactions after that, off the consensus path
//! (only the namespace streams and ranges wait for the opening). So for an encrypted transaction
//! submit-to-finalized is submit-to-decision, and its plaintext comes the "plaintext after
//! decision" time later, which the nodes' logs give.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::{Network, Phase, VerifyRate};
use crate::client::http;
use crate::load::{LoadReport, Outcome, Percentiles};

/// What the latency of an encrypted transaction measures, printed and written with the figures.
const LATENCY_NOTE: &str = "for an encrypted transaction, submit-to-finalized is \
     submit-to-decision; its plaintext is stored the plaintext-after-decision time later";

/// The goals, printed beside what was reached.
const GOAL_RATIO: f64 = 0.8;
const GOAL_CPU_MS: f64 = 0.25;
const GOAL_OPEN_MS: f64 = 50.0;
const GOAL_BLOCK: f64 = 500.0;

/// The encrypted lane's figures.
#[derive(Debug, Serialize)]
pub(super) struct Lane {
    /// Share of the transactions sealed (of the second half's, with `--compare-encrypted`).
    fraction: f64,
    note: &'static str,
    /// With `--compare-encrypted`: the plaintext half, then the encrypted one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    phases: Vec<LanePhase>,
    /// Finalized tx/s of the encrypted half over the plaintext half.
    #[serde(skip_serializing_if = "Option::is_none")]
    finalized_ratio: Option<f64>,
    /// The validators' CPU in the encrypted half less the plaintext half's (scaled to the same
    /// number finalized), per encrypted transaction finalized and per validator, ms. Opening
    /// is part of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    validator_cpu_ms_per_encrypted_tx: Option<f64>,
    /// The same in secp256k1 sender recoveries on one core of this machine, measured in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    validator_cpu_recoveries_per_encrypted_tx: Option<f64>,
    /// This machine's secp256k1 recoveries per second on one core, in this run.
    recover_per_s_per_core: f64,
    /// Opening after decision, from the nodes' logs (a network `--spawn` started).
    #[serde(skip_serializing_if = "Option::is_none")]
    opening: Option<Opening>,
}

/// One half of a `--compare-encrypted` run.
#[derive(Debug, Serialize)]
struct LanePhase {
    #[serde(flatten)]
    phase: Phase,
    /// Transactions due in this half, and the encrypted among them.
    offered: u64,
    offered_encrypted: u64,
    /// Of those, seen in a decided block by the end of the run.
    finalized: u64,
    finalized_encrypted: u64,
    /// Transactions first seen included within this half's seconds, and the encrypted among
    /// them: what the half's CPU paid for.
    included_in_phase: u64,
    included_encrypted_in_phase: u64,
    /// Submit-to-finalized of the transactions due in this half: all, encrypted, plaintext.
    latency_ms: Percentiles,
    encrypted_latency_ms: Percentiles,
    plaintext_latency_ms: Percentiles,
    /// The validators' CPU time over this half, summed, seconds.
    validators_cpu_s: f64,
}

impl LanePhase {
    fn of(phase: Phase, outcomes: &[Outcome]) -> Self {
        let (from, to) = (phase.from_s as f64 * 1e3, phase.to_s as f64 * 1e3);
        let offered: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.due_ms >= from && o.due_ms < to)
            .collect();
        let latency = |keep: &dyn Fn(&Outcome) -> bool| {
            let mut v: Vec<f64> = offered
                .iter()
                .filter(|o| keep(o))
                .filter_map(|o| o.latency_ms())
                .collect();
            Percentiles::of(&mut v)
        };
        let count = |keep: &dyn Fn(&Outcome) -> bool| offered.iter().filter(|o| keep(o)).count();
        let in_phase = |o: &Outcome| o.included_ms.is_some_and(|ms| ms >= from && ms < to);
        let included = |encrypted: bool| {
            outcomes
                .iter()
                .filter(|o| in_phase(o) && (o.encrypted || !encrypted))
                .count() as u64
        };
        Self {
            offered: offered.len() as u64,
            offered_encrypted: count(&|o| o.encrypted) as u64,
            finalized: count(&|o| o.included_ms.is_some()) as u64,
            finalized_encrypted: count(&|o| o.encrypted && o.included_ms.is_some()) as u64,
            included_in_phase: included(false),
            included_encrypted_in_phase: included(true),
            latency_ms: latency(&|_| true),
            encrypted_latency_ms: latency(&|o| o.encrypted),
            plaintext_latency_ms: latency(&|o| !o.encrypted),
            validators_cpu_s: (phase.cpu_s.iter().sum::<f64>() * 100.0).round() / 100.0,
            phase,
        }
    }
}

/// The validators' extra CPU per encrypted transaction, ms: the encrypted half's CPU less the
/// plaintext half's scaled to the same number included, per encrypted transaction included and
/// per validator.
fn extra_cpu_ms(plain: &LanePhase, encrypted: &LanePhase, validators: usize) -> Option<f64> {
    let (n_plain, n_enc) = (
        plain.included_in_phase as f64,
        encrypted.included_in_phase as f64,
    );
    let sealed = encrypted.included_encrypted_in_phase as f64;
    if n_plain == 0.0 || sealed == 0.0 || validators == 0 {
        return None;
    }
    let extra = encrypted.validators_cpu_s - plain.validators_cpu_s * n_enc / n_plain;
    Some(round3(extra / sealed / validators as f64 * 1e3))
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

/// One node's `opened` line: a block with encrypted transactions, opened.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Decided {
    node: usize,
    height: u64,
    opened: u64,
    open_us: u64,
}

/// The `opened` lines of node `node`'s log (`opened=N open_us=M`: encrypted transactions
/// opened, and the time from the node learning of the decision until their plaintexts are
/// stored, queueing behind earlier blocks included).
fn decided_lines(node: usize, log: &str) -> Vec<Decided> {
    log.lines()
        .filter_map(|line| {
            let (_, fields) = line.split_once(": opened ")?;
            let field = |name: &str| {
                fields
                    .split_whitespace()
                    .find_map(|f| f.strip_prefix(name)?.strip_prefix('=')?.parse::<u64>().ok())
            };
            Some(Decided {
                node,
                height: field("height")?,
                opened: field("opened")?,
                open_us: field("open_us")?,
            })
        })
        .collect()
}

/// Opening after decision, over every node's blocks with encrypted transactions.
#[derive(Debug, Serialize)]
struct Opening {
    /// Blocks with encrypted transactions, as the first node logged them.
    blocks: u64,
    /// The `decided` lines of every node for such blocks: one node opening one block each.
    samples: u64,
    /// Encrypted transactions per block, mean and largest.
    opened_per_block_mean: f64,
    opened_per_block_max: u64,
    /// Encrypted transactions each node opened in all.
    opened_per_node: Vec<u64>,
    /// From the decision until the plaintexts are stored, per node and block, ms.
    open_ms: Percentiles,
    /// That time summed over the blocks, over the transactions they opened, ms.
    open_ms_per_tx: f64,
    /// `open_ms_per_tx` times the goal's 500 encrypted transactions: the time a block of 500
    /// would take at this rate, ms.
    open_ms_at_500: f64,
    /// The first node's slices of the last such blocks: entries that opened to a plaintext, and
    /// that failed to open (the generator seals correctly, so none should).
    checked: Checked,
}

#[derive(Debug, Default, Serialize)]
struct Checked {
    blocks: u64,
    plaintext: u64,
    failed: u64,
}

/// Opening figures over every node's `opened` lines (`lines`).
fn opening(lines: &[Decided], nodes: usize) -> Opening {
    let decided: Vec<&Decided> = lines.iter().filter(|d| d.opened > 0).collect();
    let mut per_node = vec![0u64; nodes];
    for d in &decided {
        if let Some(n) = per_node.get_mut(d.node) {
            *n += d.opened;
        }
    }
    let opened: u64 = decided.iter().map(|d| d.opened).sum();
    let open_ms: f64 = decided.iter().map(|d| d.open_us as f64 / 1e3).sum();
    let per_tx = if opened > 0 {
        open_ms / opened as f64
    } else {
        0.0
    };
    Opening {
        blocks: decided.iter().filter(|d| d.node == 0).count() as u64,
        samples: decided.len() as u64,
        opened_per_block_mean: if decided.is_empty() {
            0.0
        } else {
            (opened as f64 / decided.len() as f64 * 10.0).round() / 10.0
        },
        opened_per_block_max: decided.iter().map(|d| d.opened).max().unwrap_or(0),
        opened_per_node: per_node,
        open_ms: Percentiles::of(
            &mut decided
                .iter()
                .map(|d| d.open_us as f64 / 1e3)
                .collect::<Vec<_>>(),
        ),
        open_ms_per_tx: round3(per_tx),
        open_ms_at_500: (per_tx * GOAL_BLOCK).round(),
        checked: Checked::default(),
    }
}

/// Reads the `opened` entries of `namespaces`' slices at `heights` from `api`.
async fn check_slices(api: &str, heights: &[u64], namespaces: &[u64]) -> Checked {
    let client = http();
    let mut checked = Checked::default();
    for h in heights {
        checked.blocks += 1;
        for ns in namespaces {
            let url = format!("{api}/v1/namespaces/{ns}/blocks/{h}");
            let Ok(resp) = client.get(&url).send().await else {
                continue;
            };
            let Ok(slice) = resp.json::<Value>().await else {
                continue;
            };
            for entry in slice["opened"].as_array().into_iter().flatten() {
                if entry.get("plaintext").is_some() {
                    checked.plaintext += 1;
                } else if entry.get("failure").is_some() {
                    checked.failed += 1;
                }
            }
        }
    }
    checked
}

/// How long the nodes' logs are read again until each has logged every opening.
const OPENED_WITHIN: Duration = Duration::from_secs(10);

/// The lane's figures for a run: `phases` are the plaintext and encrypted halves of a
/// `--compare-encrypted` run.
pub(super) async fn figures(
    network: &Network,
    report: &LoadReport,
    phases: Option<[Phase; 2]>,
    fraction: f64,
    verify: &VerifyRate,
) -> Lane {
    let validators = network.targets.iter().filter(|t| t.pid.is_some()).count();
    let phases: Vec<LanePhase> = phases
        .into_iter()
        .flatten()
        .map(|p| LanePhase::of(p, &report.outcomes))
        .collect();
    let (finalized_ratio, cpu_ms) = match phases.as_slice() {
        [plain, encrypted] => (
            (plain.phase.finalized_tps > 0.0)
                .then(|| round3(encrypted.phase.finalized_tps / plain.phase.finalized_tps)),
            extra_cpu_ms(plain, encrypted, validators),
        ),
        _ => (None, None),
    };
    let opening = match &network.spawned {
        Some(net) => {
            // Nodes open decided blocks off the consensus path, so one may log its last
            // opening a moment after the load generator saw the block: wait a little for each
            // to have logged every sealed transaction included.
            let sealed = report.encrypted.as_ref().map_or(0, |e| e.included);
            let deadline = Instant::now() + OPENED_WITHIN;
            let (decided, mut opening) = loop {
                let decided: Vec<Decided> = (0..net.nodes.len())
                    .flat_map(|i| decided_lines(i, &net.log(i)))
                    .collect();
                let opening = opening(&decided, net.nodes.len());
                if opening.opened_per_node.iter().all(|&n| n >= sealed)
                    || Instant::now() >= deadline
                {
                    break (decided, opening);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            let mut heights: Vec<u64> = decided
                .iter()
                .filter(|d| d.node == 0 && d.opened > 0)
                .map(|d| d.height)
                .collect();
            heights.sort_unstable();
            let last = &heights[heights.len().saturating_sub(3)..];
            if let Some(api) = net.nodes.first().map(|n| n.api.as_str()) {
                opening.checked = check_slices(api, last, &report.namespaces).await;
            }
            Some(opening)
        }
        None => None,
    };
    Lane {
        fraction,
        note: LATENCY_NOTE,
        phases,
        finalized_ratio,
        validator_cpu_ms_per_encrypted_tx: cpu_ms,
        validator_cpu_recoveries_per_encrypted_tx: cpu_ms
            .map(|ms| (ms * verify.recover_per_s / 1e3 * 100.0).round() / 100.0),
        recover_per_s_per_core: verify.recover_per_s,
        opening,
    }
}

/// Prints the lane's figures against the goals.
pub(super) fn print(lane: &Lane) {
    println!(
        "encrypted lane ({:.0}% sealed{}); {LATENCY_NOTE}",
        lane.fraction * 100.0,
        if lane.phases.is_empty() {
            ""
        } else {
            " in the second half"
        }
    );
    if !lane.phases.is_empty() {
        println!(
            "{:<10} {:>10} {:>16} {:>16} {:>16} {:>14} {:>14} {:>8}",
            "half",
            "final tx/s",
            "p50/p99 ms",
            "enc p50/p99 ms",
            "plain p50/p99",
            "offered (enc)",
            "final (enc)",
            "CPU s"
        );
    }
    for p in &lane.phases {
        let pair = |q: &Percentiles| format!("{:.0}/{:.0}", q.p50, q.p99);
        println!(
            "{:<10} {:>10.1} {:>16} {:>16} {:>16} {:>14} {:>14} {:>8.1}",
            p.phase.name,
            p.phase.finalized_tps,
            pair(&p.latency_ms),
            pair(&p.encrypted_latency_ms),
            pair(&p.plaintext_latency_ms),
            format!("{} ({})", p.offered, p.offered_encrypted),
            format!("{} ({})", p.finalized, p.finalized_encrypted),
            p.validators_cpu_s
        );
    }
    if let Some(r) = lane.finalized_ratio {
        println!(
            "  finalized tx/s, encrypted half / plaintext half: {r:.3} (goal >= {GOAL_RATIO} with \
             20% encrypted)"
        );
    }
    if let (Some(ms), Some(rec)) = (
        lane.validator_cpu_ms_per_encrypted_tx,
        lane.validator_cpu_recoveries_per_encrypted_tx,
    ) {
        println!(
            "  validator CPU per encrypted transaction, opening included: {ms:.3} ms = {rec:.2} \
             secp256k1 recoveries ({:.0}/s on one core here) (goal <= {GOAL_CPU_MS} ms)",
            lane.recover_per_s_per_core
        );
    }
    if let Some(o) = &lane.opening {
        println!(
            "  plaintext after decision: {} blocks ({} node-blocks), {:.1} encrypted per block \
             (max {}): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {:.3} ms per transaction, so \
             about {:.0} ms at {GOAL_BLOCK:.0} per block (goal {GOAL_OPEN_MS:.0} ms)",
            o.blocks,
            o.samples,
            o.opened_per_block_mean,
            o.opened_per_block_max,
            o.open_ms.p50,
            o.open_ms.p99,
            o.open_ms.max,
            o.open_ms_per_tx,
            o.open_ms_at_500
        );
        println!(
            "  slices of the last {} such blocks: {} entries opened to their plaintext, {} failed",
            o.checked.blocks, o.checked.plaintext, o.checked.failed
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decided_lines_are_read_for_their_openings() {
        let log = "\
2026-12-04T03:38:04.1Z  INFO ordo::consensus: decided height=7 hash=0xab txs=10 signers=4
2026-12-04T03:38:04.2Z  INFO ordo::consensus: opened height=8 opened=3 open_us=2400
2026-12-04T03:38:04.3Z  INFO ordo::consensus: proposal height=9 opened=4 open_us=1
2026-12-04T03:38:04.4Z  INFO ordo::consensus: opened height=9 opened=5 open_us=3600
";
        let d = decided_lines(2, log);
        assert_eq!(
            d,
            vec![
                Decided {
                    node: 2,
                    height: 8,
                    opened: 3,
                    open_us: 2400
                },
                Decided {
                    node: 2,
                    height: 9,
                    opened: 5,
                    open_us: 3600
                },
            ]
        );
        let o = opening(&d, 3);
        assert_eq!(o.blocks, 0, "blocks are counted as node 0 logged them");
        assert_eq!((o.samples, o.opened_per_block_max), (2, 5));
        assert_eq!(o.opened_per_node, vec![0, 0, 8]);
        assert_eq!(o.opened_per_block_mean, 4.0);
        assert_eq!((o.open_ms.p50, o.open_ms.max), (2.4, 3.6));
        // 6 ms for 8 transactions.
        assert_eq!(o.open_ms_per_tx, 0.75);
        assert_eq!(o.open_ms_at_500, 375.0);
    }

    #[test]
    fn halves_split_offers_by_due_time_and_inclusions_by_when_seen() {
        let o = |due_ms: f64, included_ms: Option<f64>, encrypted: bool| Outcome {
            due_ms,
            included_ms,
            encrypted,
        };
        let outcomes = [
            o(0.0, Some(200.0), false),
            o(900.0, Some(1_100.0), false),
            o(1_000.0, Some(1_300.0), true),
            o(1_500.0, Some(1_600.0), false),
            o(1_900.0, None, true),
        ];
        let phase = |from_s, to_s, cpu: f64| Phase {
            name: "x",
            from_s,
            to_s,
            finalized_tps: 0.0,
            latency_p50_ms: 0.0,
            latency_p99_ms_max: 0.0,
            rss_mib_max: vec![],
            cpu_s: vec![cpu / 2.0, cpu / 2.0],
        };
        let plain = LanePhase::of(phase(0, 1, 2.0), &outcomes);
        assert_eq!((plain.offered, plain.offered_encrypted), (2, 0));
        assert_eq!((plain.finalized, plain.included_in_phase), (2, 1));
        assert_eq!(plain.latency_ms.max, 200.0);
        let enc = LanePhase::of(phase(1, 2, 3.0), &outcomes);
        assert_eq!((enc.offered, enc.offered_encrypted), (3, 2));
        assert_eq!((enc.finalized, enc.finalized_encrypted), (2, 1));
        assert_eq!(
            (enc.included_in_phase, enc.included_encrypted_in_phase),
            (3, 1)
        );
        assert_eq!(enc.encrypted_latency_ms.p50, 300.0);
        assert_eq!(enc.plaintext_latency_ms.p50, 100.0);
        // The plaintext half's 2 s scaled to 3 included is 6 s: 3 s is 3 s less, 9 s is 3 s more,
        // for 1 encrypted transaction on 2 nodes.
        assert_eq!(extra_cpu_ms(&plain, &enc, 2), Some(-1_500.0));
        let enc = LanePhase::of(phase(1, 2, 9.0), &outcomes);
        assert_eq!(extra_cpu_ms(&plain, &enc, 2), Some(1_500.0));
        assert_eq!(
            extra_cpu_ms(&enc, &plain, 2),
            None,
            "no encrypted in the second"
        );
    }
}
