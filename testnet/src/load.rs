//! The open-loop load engine behind `ordo bench` and the fault scenarios.
//!
//! Transactions are signed before the clock starts. Transaction `i` is due at `i / rate`
//! seconds; every tick sends whatever is due, in batches, without waiting for earlier answers,
//! so a slow network shows up as latency and backlog instead of a lower offered rate. Latency is
//! measured from a transaction's due time (not from when it happened to be sent) to the moment
//! the follower first sees it in a decided block: the follower reads each new block's
//! transaction hashes (`GET /v1/blocks/{h}/transactions`), it never polls single transactions.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ordo_enc::EncryptionKey;
use ordo_types::{Bytes, SecretKey, Transaction, B256};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::client::{self, http};
use crate::procstat::{self, ProcSample};

/// A node the load is sent to.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// Display name.
    pub name: String,
    /// API base URL, such as `http://127.0.0.1:8650`.
    pub api: String,
    /// Its process id, when it runs on this machine (for CPU and memory).
    pub pid: Option<u32>,
}

/// What load to offer.
#[derive(Clone, Debug)]
pub(crate) struct LoadSpec {
    /// Chain id to sign for.
    pub(crate) chain_id: u64,
    /// Transactions per second.
    pub(crate) rate: f64,
    /// How long to offer load.
    pub(crate) duration: Duration,
    /// Distinct sender keys.
    pub(crate) senders: usize,
    /// Namespaces to spread senders over.
    pub(crate) namespaces: Vec<u64>,
    /// Payload bytes per transaction.
    pub(crate) payload_bytes: usize,
    /// How often due transactions are sent.
    pub(crate) tick: Duration,
    /// After the load, how long to wait for admitted transactions to be included.
    pub(crate) drain: Duration,
    /// Send bundles of this many transactions (one per namespace, from one sender) instead of
    /// single transactions: each unit of `rate` is then one bundle (`POST /v1/bundles`), and a
    /// bundle counts as included when its first transaction is (it lands whole or not at all).
    pub(crate) bundle_parts: usize,
    /// Seal some transactions to the network's key (single transactions only).
    pub(crate) encrypt: Option<Encrypt>,
    /// Send each single transaction with its sender's public key (`public_key`), so that
    /// the node checks a request's signatures in one batch instead of recovering each sender.
    pub(crate) declare_keys: bool,
}

/// Which transactions of a run are sealed to the network's key (docs/ENCRYPTION.md).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Encrypt {
    /// The key `GET /v1/encryption` names.
    pub(crate) key: EncryptionKey,
    /// The share of the transactions from `from` on that are sealed, spread evenly.
    pub(crate) fraction: f64,
    /// The first transaction that may be sealed; the earlier ones are plaintext.
    pub(crate) from: usize,
}

impl Encrypt {
    /// Whether transaction `i` is sealed: one in every `1 / fraction` from `from` on.
    pub(crate) fn seals(&self, i: usize) -> bool {
        let Some(k) = i.checked_sub(self.from) else {
            return false;
        };
        let k = k as f64;
        ((k + 1.0) * self.fraction).floor() > (k * self.fraction).floor()
    }
}

/// Transactions (or bundles) signed ahead of the run.
pub(crate) struct Presigned {
    /// Each transaction (or bundle) as its JSON submission body.
    bodies: Vec<Vec<u8>>,
    /// Whether the bodies are bundles.
    bundles: bool,
    /// Each transaction's hash.
    hashes: Vec<B256>,
    /// Which sender made it (senders are pinned to a node so their nonces arrive in order).
    sender: Vec<u32>,
    /// Whether it is sealed to the network's key.
    encrypted: Vec<bool>,
}

impl Presigned {
    /// Number of transactions.
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// How many are sealed.
    pub(crate) fn sealed(&self) -> usize {
        self.encrypted.iter().filter(|e| **e).count()
    }
}

/// Signs `ceil(rate * duration)` transactions on every core, sealing those `spec.encrypt`
/// picks (about 0.8 ms each in a release build, so this is done before the clock starts).
pub(crate) fn presign(spec: &LoadSpec) -> anyhow::Result<Presigned> {
    let count = (spec.rate * spec.duration.as_secs_f64()).ceil() as usize;
    let senders = spec.senders.clamp(1, count.max(1));
    if spec.namespaces.is_empty() {
        anyhow::bail!("no namespaces to send to");
    }
    if spec.bundle_parts > spec.namespaces.len().min(ordo_types::MAX_BUNDLE_TXS) {
        anyhow::bail!(
            "bundles of {} parts need as many namespaces (at most {})",
            spec.bundle_parts,
            ordo_types::MAX_BUNDLE_TXS
        );
    }
    if spec.encrypt.is_some() && spec.bundle_parts > 0 {
        anyhow::bail!("bundles are not sealed: encrypted load is single transactions");
    }
    let keys: Vec<SecretKey> = (0..senders).map(|_| SecretKey::random()).collect();
    let public_keys: Vec<String> = keys
        .iter()
        .map(|k| format!("0x04{}", hex::encode(k.public_key().to_xy())))
        .collect();
    // A single transaction's submission body.
    let body = |tx: &Transaction, sender: usize| -> anyhow::Result<Vec<u8>> {
        if !spec.declare_keys {
            return Ok(serde_json::to_vec(tx)?);
        }
        let mut item = serde_json::to_value(tx)?;
        item["public_key"] = public_keys[sender].clone().into();
        Ok(serde_json::to_vec(&item)?)
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = count.div_ceil(threads).max(1);
    type Signed = anyhow::Result<Vec<(Vec<u8>, B256, bool)>>;
    let sign_range = |range: std::ops::Range<usize>| -> Signed {
        let mut rng = rand_010::rng();
        range
            .map(|i| {
                let sender = i % senders;
                let nonce = (i / senders) as u64;
                let mut payload = vec![0u8; spec.payload_bytes];
                let tag = (i as u64).to_be_bytes();
                let n = tag.len().min(payload.len());
                payload[..n].copy_from_slice(&tag[..n]);
                let sign = |part: usize| {
                    let namespace = spec.namespaces[(sender + part) % spec.namespaces.len()];
                    let payload = Bytes::from(payload.clone());
                    Transaction::sign(namespace, nonce, payload, &keys[sender], spec.chain_id)
                };
                if let Some(encrypt) = spec.encrypt.filter(|e| e.seals(i)) {
                    let namespace = spec.namespaces[sender % spec.namespaces.len()];
                    let tx = ordo_enc::encrypt_transaction(
                        &mut rng,
                        &encrypt.key,
                        spec.chain_id,
                        namespace,
                        nonce,
                        &payload,
                        &keys[sender],
                    )?;
                    return Ok((body(&tx, sender)?, tx.hash(), true));
                }
                if spec.bundle_parts == 0 {
                    let tx = sign(0);
                    return Ok((body(&tx, sender)?, tx.hash(), false));
                }
                let txs: Vec<Transaction> = (0..spec.bundle_parts).map(sign).collect();
                let body = serde_json::json!({ "txs": txs, "maxHeight": u64::MAX });
                Ok((serde_json::to_vec(&body)?, txs[0].hash(), false))
            })
            .collect()
    };
    let parts: Vec<Signed> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * per).min(count)..((t + 1) * per).min(count);
                s.spawn(move || sign_range(range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("signing thread panicked")))
            })
            .collect()
    });
    let mut out = Presigned {
        bundles: spec.bundle_parts > 0,
        bodies: Vec::with_capacity(count),
        hashes: Vec::with_capacity(count),
        sender: Vec::with_capacity(count),
        encrypted: Vec::with_capacity(count),
    };
    for part in parts {
        for (body, hash, encrypted) in part? {
            out.sender.push((out.hashes.len() % senders) as u32);
            out.bodies.push(body);
            out.hashes.push(hash);
            out.encrypted.push(encrypted);
        }
    }
    Ok(out)
}

/// What happened to one transaction.
#[derive(Clone, Copy, Debug, PartialEq)]
enum TxState {
    NotSent,
    InFlight,
    Admitted,
    Refused,
}

/// Shared bookkeeping of a run.
struct Book {
    state: Vec<TxState>,
    included_ms: Vec<Option<f64>>,
    included_height: Vec<u64>,
    refused: BTreeMap<String, u64>,
    busy_retries: u64,
    blocks: Vec<BlockSeen>,
}

/// A block the follower saw.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct BlockSeen {
    /// Height.
    pub(crate) height: u64,
    /// Milliseconds after the load started.
    pub(crate) seen_ms: f64,
    /// The proposer's timestamp.
    pub(crate) timestamp_ms: u64,
    /// All transactions in it.
    pub(crate) transactions: usize,
    /// Transactions of this run in it.
    pub(crate) ours: usize,
}

/// Latency percentiles, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// Percentiles of `values` (sorted in place).
    pub(crate) fn of(values: &mut [f64]) -> Self {
        values.sort_by(f64::total_cmp);
        let pick = |p: f64| -> f64 {
            if values.is_empty() {
                return 0.0;
            }
            let i = ((values.len() as f64) * p).ceil() as usize;
            round1(values[i.clamp(1, values.len()) - 1])
        };
        Self {
            p50: pick(0.50),
            p90: pick(0.90),
            p99: pick(0.99),
            max: values.last().copied().map(round1).unwrap_or_default(),
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// One node's resource use over the run.
#[derive(Clone, Debug, Serialize)]
pub struct NodeUsage {
    /// Node name.
    pub name: String,
    /// Its pid.
    pub pid: u32,
    /// Average CPU over the load, percent of one core.
    pub cpu_percent: f64,
    /// Resident memory when the load started, MiB.
    pub rss_mib_start: f64,
    /// Resident memory when it ended, MiB.
    pub rss_mib_end: f64,
    /// Largest resident memory seen, MiB.
    pub rss_mib_max: f64,
}

/// One second of the run.
#[derive(Clone, Debug, Serialize)]
pub struct Second {
    /// Seconds after the start.
    pub t: u64,
    /// Transactions due in this second.
    pub submitted: u64,
    /// Transactions of this run first seen included in this second.
    pub included: u64,
    /// Latency of those, ms.
    pub latency_p50_ms: f64,
    /// Latency of those, ms.
    pub latency_p99_ms: f64,
    /// Sum of the nodes' CPU, percent of one core.
    pub nodes_cpu_percent: f64,
    /// Sum of the nodes' resident memory, MiB.
    pub nodes_rss_mib: f64,
}

/// The outcome of one load run.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// Offered rate, tx/s.
    pub rate: f64,
    /// Seconds of load.
    pub duration_s: f64,
    /// Sender keys.
    pub senders: usize,
    /// Namespaces used.
    pub namespaces: Vec<u64>,
    /// Payload bytes per transaction.
    pub payload_bytes: usize,
    /// Transactions per bundle when the load was bundles (its rates, counts and latencies are
    /// then of bundles), 0 for single transactions.
    pub bundle_parts: usize,
    /// Transactions sent.
    pub submitted: u64,
    /// Accepted by a node.
    pub admitted: u64,
    /// Refused, by error code (`TRANSPORT` and `TIMEOUT` are the client's own).
    pub refused: BTreeMap<String, u64>,
    /// Times a transaction was offered again after a `BUSY` refusal.
    pub busy_retries: u64,
    /// Seen in a decided block.
    pub included: u64,
    /// Admitted but not seen included by the end of the drain.
    pub admitted_not_included: u64,
    /// Included transactions per second, from the first due time to the last inclusion.
    pub finalized_tps: f64,
    /// Due time to first sight in a decided block.
    pub latency_ms: Percentiles,
    /// Blocks decided while the load ran (and drained).
    pub blocks: u64,
    /// Largest block seen, in transactions.
    pub max_block_transactions: usize,
    /// Time between consecutive decided blocks, by their timestamps.
    pub block_interval_ms: Percentiles,
    /// Per-node CPU and memory.
    pub nodes: Vec<NodeUsage>,
    /// The load generator's own CPU, percent of one core.
    pub client_cpu_percent: f64,
    /// Per-second figures.
    pub timeline: Vec<Second>,
    /// The sealed transactions apart, when the run had some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<EncryptedLoad>,
    /// Included transactions with their heights (for durability checks; not serialized).
    #[serde(skip)]
    pub included_txs: Vec<(B256, u64)>,
    /// What happened to each transaction offered, in due order (for figures over part of the
    /// run; not serialized).
    #[serde(skip)]
    pub(crate) outcomes: Vec<Outcome>,
}

/// The encrypted transactions of a run, beside the plaintext ones. Inclusion is seen at decision;
/// the nodes open an encrypted transaction after that, off the consensus path.
#[derive(Clone, Debug, Serialize)]
pub struct EncryptedLoad {
    /// Encrypted transactions sent.
    pub submitted: u64,
    /// Of those, admitted by a node.
    pub admitted: u64,
    /// Of those, seen in a decided block.
    pub included: u64,
    /// Due time to first sight in a decided block, encrypted transactions.
    pub latency_ms: Percentiles,
    /// The same for the run's plaintext transactions.
    pub plaintext_latency_ms: Percentiles,
}

/// One offered transaction's fate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outcome {
    /// When it was due, ms after the load started.
    pub(crate) due_ms: f64,
    /// When it was first seen in a decided block, ms after the load started.
    pub(crate) included_ms: Option<f64>,
    /// Whether it was sealed.
    pub(crate) encrypted: bool,
}

impl Outcome {
    /// Its submit-to-finalized latency, if it was included.
    pub(crate) fn latency_ms(&self) -> Option<f64> {
        self.included_ms.map(|ms| (ms - self.due_ms).max(0.0))
    }
}

/// Runs `spec` against `targets` with transactions from `presigned` until the duration ends or
/// `stop` turns true, then drains.
pub(crate) async fn run(
    targets: &[Target],
    spec: &LoadSpec,
    presigned: Presigned,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<LoadReport> {
    if targets.is_empty() {
        anyhow::bail!("no nodes to send to");
    }
    let client = http();
    let apis: Vec<String> = targets.iter().map(|t| t.api.clone()).collect();
    let mut start_height = 0;
    for api in &apis {
        if let Ok(s) = client::status(&client, api).await {
            start_height = s.height;
            break;
        }
    }
    let count = presigned.len();
    let index: HashMap<B256, u32> = presigned
        .hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i as u32))
        .collect();
    let book = Arc::new(Mutex::new(Book {
        state: vec![TxState::NotSent; count],
        included_ms: vec![None; count],
        included_height: vec![0; count],
        refused: BTreeMap::new(),
        busy_retries: 0,
        blocks: Vec::new(),
    }));
    let presigned = Arc::new(presigned);
    let t0 = Instant::now();
    let (done_tx, done_rx) = watch::channel(false);

    let follower = tokio::spawn(follow(
        client.clone(),
        apis.clone(),
        start_height,
        t0,
        index,
        book.clone(),
        done_rx.clone(),
    ));
    let sampler = tokio::spawn(sample_usage(targets.to_vec(), done_rx.clone()));
    let client_cpu_before = procstat::sample(std::process::id());

    // Open loop: everything due by now goes out, whatever earlier requests are doing.
    let mut in_flight = JoinSet::new();
    let mut sent = 0usize;
    let mut ticker = tokio::time::interval(spec.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let rate = spec.rate.max(0.001);
    let deadline = spec.duration.as_secs_f64();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => {}
        }
        let stopped = *stop.borrow();
        let elapsed = t0.elapsed().as_secs_f64();
        let due = ((elapsed.min(deadline) * rate).floor() as usize).min(count);
        if due > sent && !stopped {
            let mut per_node: Vec<Vec<usize>> = vec![Vec::new(); apis.len()];
            for i in sent..due {
                per_node[presigned.sender[i] as usize % apis.len()].push(i);
            }
            for (node, idx) in per_node.into_iter().enumerate() {
                for chunk in idx.chunks(MAX_BATCH) {
                    in_flight.spawn(send_batch(
                        client.clone(),
                        apis.clone(),
                        node,
                        chunk.to_vec(),
                        presigned.clone(),
                        book.clone(),
                    ));
                }
            }
            sent = due;
        }
        while in_flight.try_join_next().is_some() {}
        if stopped || elapsed >= deadline || sent >= count {
            break;
        }
    }
    let load_end = t0.elapsed();
    while in_flight.join_next().await.is_some() {}

    // Drain: wait for every admitted transaction to be seen included, up to `spec.drain`.
    let drain_deadline = Instant::now() + spec.drain;
    loop {
        let waiting = {
            let b = lock(&book);
            b.state
                .iter()
                .zip(&b.included_ms)
                .any(|(s, inc)| *s == TxState::Admitted && inc.is_none())
        };
        if !waiting || Instant::now() >= drain_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client_cpu_after = procstat::sample(std::process::id());
    let _ = done_tx.send(true);
    let _ = follower.await;
    let usage = sampler.await.unwrap_or_default();

    let book = lock(&book);
    let mut report = summarize(spec, &book, &presigned, sent, load_end, &usage);
    report.nodes = node_usage(targets, &usage);
    report.client_cpu_percent = match (client_cpu_before, client_cpu_after) {
        (Some(a), Some(b)) => round1(procstat::cpu_percent(&a, &b)),
        _ => 0.0,
    };
    Ok(report)
}

/// How long a batch is retried while no node can be reached or the node is busy.
const RETRY_FOR: Duration = Duration::from_secs(30);

/// How long a client first waits before offering a `BUSY` transaction again, and at most.
const BUSY_BACKOFF: Duration = Duration::from_millis(500);
const BUSY_BACKOFF_MAX: Duration = Duration::from_secs(8);

/// Most transactions per request (the API's default `max_batch`).
const MAX_BATCH: usize = 2_000;

fn lock(book: &Mutex<Book>) -> std::sync::MutexGuard<'_, Book> {
    book.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(serde::Deserialize)]
struct BatchAnswer {
    results: Vec<BatchItem>,
}

#[derive(serde::Deserialize)]
struct BatchItem {
    #[serde(default)]
    hash: Option<B256>,
    #[serde(default)]
    code: Option<String>,
}

/// Posts transactions `idx` to node `node` as a client with retries would: a node that cannot
/// be reached is skipped for the next one, and transactions refused with `BUSY` (the node has
/// more waiting than the network is finishing) are offered again after [`BUSY_BACKOFF`], for up
/// to [`RETRY_FOR`] in all, the wait doubling each time up to [`BUSY_BACKOFF_MAX`], and never
/// sooner than the node's `Retry-After` asked. Their latency still counts from their first due
/// time.
async fn send_batch(
    client: reqwest::Client,
    apis: Vec<String>,
    node: usize,
    idx: Vec<usize>,
    presigned: Arc<Presigned>,
    book: Arc<Mutex<Book>>,
) {
    {
        let mut b = lock(&book);
        for &i in &idx {
            b.state[i] = TxState::InFlight;
        }
    }
    let give_up = Instant::now() + RETRY_FOR;
    let mut idx = idx;
    let mut wait = None;
    let mut backoff = BUSY_BACKOFF;
    while !idx.is_empty() {
        if let Some(wait) = wait.take() {
            tokio::time::sleep(wait).await;
        }
        let outcome = post_batch(&client, &apis, node, &idx, &presigned, give_up).await;
        let retry = Instant::now() < give_up;
        let mut busy = Vec::new();
        let mut b = lock(&book);
        match outcome {
            Ok(items) => {
                for (&i, code) in idx.iter().zip(items) {
                    match code {
                        None => b.state[i] = TxState::Admitted,
                        Some(code) if retry && code == "BUSY" => busy.push(i),
                        Some(code) => {
                            b.state[i] = TxState::Refused;
                            *b.refused.entry(code).or_default() += 1;
                        }
                    }
                }
            }
            // The node refused the whole request before reading it.
            Err(Refusal { code, retry_after }) if retry && code == "BUSY" => {
                busy = idx.clone();
                wait = retry_after;
            }
            Err(Refusal { code, .. }) => {
                for &i in &idx {
                    b.state[i] = TxState::Refused;
                }
                *b.refused.entry(code).or_default() += idx.len() as u64;
            }
        }
        b.busy_retries += busy.len() as u64;
        if !busy.is_empty() {
            wait = Some(wait.unwrap_or_default().max(backoff));
            backoff = (backoff * 2).min(BUSY_BACKOFF_MAX);
        }
        idx = busy;
    }
}

/// A whole request refused: the refusal's code, and how long the node asked the client to
/// wait before it retries (`Retry-After` in seconds), if it did.
struct Refusal {
    code: String,
    retry_after: Option<Duration>,
}

impl Refusal {
    /// A refusal with no answer from the node to read (`TIMEOUT`, `TRANSPORT`, …).
    fn local(code: &str) -> Self {
        Self {
            code: code.into(),
            retry_after: None,
        }
    }

    /// The refusal a node answered with: the `code` of its JSON error and its `Retry-After`.
    async fn read(response: reqwest::Response) -> Self {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .map(Duration::from_secs);
        let code = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "HTTP_ERROR".into());
        Self { code, retry_after }
    }
}

/// One batch request, retried on the other nodes while none can be reached (until `give_up`):
/// per transaction, `None` if admitted or else the refusal's code; `Err` if the whole request
/// failed. A retried transaction that the node already holds counts as admitted.
async fn post_batch(
    client: &reqwest::Client,
    apis: &[String],
    node: usize,
    idx: &[usize],
    presigned: &Presigned,
    give_up: Instant,
) -> Result<Vec<Option<String>>, Refusal> {
    if presigned.bundles {
        let posts = idx
            .iter()
            .map(|&i| post_bundle(client, apis, node, &presigned.bodies[i], give_up));
        return Ok(futures_util::future::join_all(posts).await);
    }
    let mut body = Vec::with_capacity(idx.len() * 640 + 2);
    body.push(b'[');
    for (k, &i) in idx.iter().enumerate() {
        if k > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&presigned.bodies[i]);
    }
    body.push(b']');
    let mut attempt = 0usize;
    loop {
        let api = &apis[(node + attempt) % apis.len()];
        attempt += 1;
        let resp = client
            .post(format!("{api}/v1/transactions/batch"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        match resp {
            Err(e) => {
                if Instant::now() >= give_up {
                    let code = if e.is_timeout() {
                        "TIMEOUT"
                    } else {
                        "TRANSPORT"
                    };
                    return Err(Refusal::local(code));
                }
                if attempt.is_multiple_of(apis.len()) {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            Ok(r) if r.status().is_success() => {
                let retried = attempt > 1;
                return match r.json::<BatchAnswer>().await {
                    Ok(a) if a.results.len() == idx.len() => Ok(a
                        .results
                        .into_iter()
                        .map(|item| match (item.hash, item.code) {
                            (Some(_), _) => None,
                            (None, Some(code)) if retried && code == "ALREADY_KNOWN" => None,
                            (None, code) => Some(code.unwrap_or_else(|| "UNKNOWN".into())),
                        })
                        .collect()),
                    _ => Err(Refusal::local("BAD_ANSWER")),
                };
            }
            Ok(r) => return Err(Refusal::read(r).await),
        }
    }
}

/// One bundle request, retried on the other nodes while none can be reached (until
/// `give_up`): `None` if admitted (or already held, when retried), else the refusal's code.
async fn post_bundle(
    client: &reqwest::Client,
    apis: &[String],
    node: usize,
    body: &[u8],
    give_up: Instant,
) -> Option<String> {
    let mut attempt = 0usize;
    loop {
        let api = &apis[(node + attempt) % apis.len()];
        attempt += 1;
        let resp = client
            .post(format!("{api}/v1/bundles"))
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await;
        match resp {
            Err(e) if Instant::now() >= give_up => {
                return Some(
                    if e.is_timeout() {
                        "TIMEOUT"
                    } else {
                        "TRANSPORT"
                    }
                    .into(),
                )
            }
            Err(_) => {
                if attempt.is_multiple_of(apis.len()) {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            Ok(r) if r.status().is_success() => return None,
            Ok(r) => {
                let code = Refusal::read(r).await.code;
                return (attempt == 1 || code != "ALREADY_KNOWN").then_some(code);
            }
        }
    }
}

/// Follows decided blocks from `from + 1` on the first node that answers, recording when each
/// transaction of this run is first seen.
async fn follow(
    client: reqwest::Client,
    apis: Vec<String>,
    from: u64,
    t0: Instant,
    index: HashMap<B256, u32>,
    book: Arc<Mutex<Book>>,
    done: watch::Receiver<bool>,
) {
    let mut next = from + 1;
    let mut preferred = 0usize;
    loop {
        if *done.borrow() {
            return;
        }
        let api = &apis[preferred % apis.len()];
        let tip = match client::status(&client, api).await {
            Ok(s) => s.height,
            Err(_) => {
                preferred += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while next <= tip {
            let Ok(block) = client::block_txs(&client, api, next).await else {
                preferred += 1;
                break;
            };
            let seen_ms = t0.elapsed().as_secs_f64() * 1000.0;
            let mut b = lock(&book);
            let mut ours = 0;
            for hash in &block.transactions {
                if let Some(&i) = index.get(hash) {
                    let i = i as usize;
                    if b.included_ms[i].is_none() {
                        b.included_ms[i] = Some(seen_ms);
                        b.included_height[i] = block.height;
                        ours += 1;
                    }
                }
            }
            b.blocks.push(BlockSeen {
                height: block.height,
                seen_ms,
                timestamp_ms: block.timestamp_ms,
                transactions: block.transactions.len(),
                ours,
            });
            next += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

type Usage = Vec<(Duration, Vec<Option<ProcSample>>)>;

/// Samples every target's CPU and memory once a second until `done`.
async fn sample_usage(targets: Vec<Target>, mut done: watch::Receiver<bool>) -> Usage {
    let t0 = Instant::now();
    let mut out = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        let row = targets
            .iter()
            .map(|t| t.pid.and_then(procstat::sample))
            .collect();
        out.push((t0.elapsed(), row));
        tokio::select! {
            _ = ticker.tick() => {}
            _ = done.changed() => {
                let row = targets.iter().map(|t| t.pid.and_then(procstat::sample)).collect();
                out.push((t0.elapsed(), row));
                return out;
            }
        }
    }
}

fn node_usage(targets: &[Target], usage: &Usage) -> Vec<NodeUsage> {
    let mib = |kib: u64| round1(kib as f64 / 1024.0);
    targets
        .iter()
        .enumerate()
        .filter_map(|(n, t)| {
            let samples: Vec<&ProcSample> = usage
                .iter()
                .filter_map(|(_, row)| row[n].as_ref())
                .collect();
            let (first, last) = (samples.first()?, samples.last()?);
            Some(NodeUsage {
                name: t.name.clone(),
                pid: t.pid?,
                cpu_percent: round1(procstat::cpu_percent(first, last)),
                rss_mib_start: mib(first.rss_kib),
                rss_mib_end: mib(last.rss_kib),
                rss_mib_max: mib(samples.iter().map(|s| s.rss_kib).max().unwrap_or(0)),
            })
        })
        .collect()
}

fn summarize(
    spec: &LoadSpec,
    book: &Book,
    presigned: &Presigned,
    sent: usize,
    load_end: Duration,
    usage: &Usage,
) -> LoadReport {
    let hashes = &presigned.hashes;
    let rate = spec.rate.max(0.001);
    let due_ms = |i: usize| i as f64 / rate * 1000.0;
    let mut latencies = Vec::new();
    let mut last_inclusion_ms: f64 = 0.0;
    let mut included_txs = Vec::new();
    for (i, inc) in book.included_ms.iter().enumerate() {
        if let Some(ms) = inc {
            latencies.push((ms - due_ms(i)).max(0.0));
            last_inclusion_ms = last_inclusion_ms.max(*ms);
            included_txs.push((hashes[i], book.included_height[i]));
        }
    }
    let included = latencies.len() as u64;
    let admitted = book
        .state
        .iter()
        .filter(|s| **s == TxState::Admitted)
        .count() as u64;
    let admitted_not_included = book
        .state
        .iter()
        .zip(&book.included_ms)
        .filter(|(s, inc)| **s == TxState::Admitted && inc.is_none())
        .count() as u64;
    let finalized_tps = if last_inclusion_ms > 0.0 {
        included as f64 / (last_inclusion_ms / 1000.0)
    } else {
        0.0
    };

    // Per-second timeline.
    let seconds = (last_inclusion_ms / 1000.0)
        .max(load_end.as_secs_f64())
        .ceil() as usize
        + 1;
    let mut submitted = vec![0u64; seconds];
    let mut per_second_latency: Vec<Vec<f64>> = vec![Vec::new(); seconds];
    for i in 0..sent {
        if let Some(slot) = submitted.get_mut((due_ms(i) / 1000.0) as usize) {
            *slot += 1;
        }
        if let Some(ms) = book.included_ms[i] {
            if let Some(slot) = per_second_latency.get_mut((ms / 1000.0) as usize) {
                slot.push((ms - due_ms(i)).max(0.0));
            }
        }
    }
    let mut timeline = Vec::with_capacity(seconds);
    for (t, lat) in per_second_latency.iter_mut().enumerate() {
        let p = Percentiles::of(lat);
        let (cpu, rss) = usage_at(usage, t);
        timeline.push(Second {
            t: t as u64,
            submitted: submitted[t],
            included: lat.len() as u64,
            latency_p50_ms: p.p50,
            latency_p99_ms: p.p99,
            nodes_cpu_percent: cpu,
            nodes_rss_mib: rss,
        });
    }

    let outcomes: Vec<Outcome> = (0..sent)
        .map(|i| Outcome {
            due_ms: due_ms(i),
            included_ms: book.included_ms[i],
            encrypted: presigned.encrypted[i],
        })
        .collect();
    let encrypted = (presigned.sealed() > 0).then(|| {
        let latencies = |encrypted: bool| {
            let mut v: Vec<f64> = outcomes
                .iter()
                .filter(|o| o.encrypted == encrypted)
                .filter_map(Outcome::latency_ms)
                .collect();
            Percentiles::of(&mut v)
        };
        let sealed = || (0..sent).filter(|&i| presigned.encrypted[i]);
        EncryptedLoad {
            submitted: sealed().count() as u64,
            admitted: sealed()
                .filter(|&i| book.state[i] == TxState::Admitted)
                .count() as u64,
            included: sealed().filter(|&i| book.included_ms[i].is_some()).count() as u64,
            latency_ms: latencies(true),
            plaintext_latency_ms: latencies(false),
        }
    });

    LoadReport {
        rate: spec.rate,
        duration_s: round1(load_end.as_secs_f64()),
        senders: spec.senders,
        namespaces: spec.namespaces.clone(),
        payload_bytes: spec.payload_bytes,
        bundle_parts: spec.bundle_parts,
        submitted: sent as u64,
        admitted,
        refused: book.refused.clone(),
        busy_retries: book.busy_retries,
        included,
        admitted_not_included,
        finalized_tps: round1(finalized_tps),
        latency_ms: Percentiles::of(&mut latencies),
        blocks: book.blocks.len() as u64,
        max_block_transactions: book
            .blocks
            .iter()
            .map(|b| b.transactions)
            .max()
            .unwrap_or(0),
        block_interval_ms: Percentiles::of(
            &mut book
                .blocks
                .windows(2)
                .map(|w| w[1].timestamp_ms.saturating_sub(w[0].timestamp_ms) as f64)
                .collect::<Vec<_>>(),
        ),
        nodes: Vec::new(),
        client_cpu_percent: 0.0,
        timeline,
        encrypted,
        included_txs,
        outcomes,
    }
}

/// Sum of the nodes' CPU (percent of a core) over second `t` and their memory at its end.
fn usage_at(usage: &Usage, t: usize) -> (f64, f64) {
    let at = |secs: usize| {
        usage.iter().min_by(|(x, _), (y, _)| {
            let dx = (x.as_secs_f64() - secs as f64).abs();
            let dy = (y.as_secs_f64() - secs as f64).abs();
            dx.total_cmp(&dy)
        })
    };
    let (Some((_, a)), Some((_, b))) = (at(t), at(t + 1)) else {
        return (0.0, 0.0);
    };
    let mut cpu = 0.0;
    let mut rss = 0u64;
    for (x, y) in a.iter().zip(b) {
        if let (Some(x), Some(y)) = (x, y) {
            cpu += procstat::cpu_percent(x, y);
            rss += y.rss_kib;
        }
    }
    (round1(cpu), round1(rss as f64 / 1024.0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A refusal's code is read from its JSON and its wait from `Retry-After`, and a refusal
    /// without either still reads: answers served over a real socket, one per connection.
    #[tokio::test]
    async fn a_refusal_carries_the_code_and_the_wait_the_node_asked_for() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let answers = [
            "HTTP/1.1 503 Service Unavailable\r\nretry-after: 3\r\ncontent-type: application/json\r\ncontent-length: 15\r\nconnection: close\r\n\r\n{\"code\":\"BUSY\"}",
            "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 4\r\nconnection: close\r\n\r\noops",
        ];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            for answer in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await.unwrap();
                socket.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let client = reqwest::Client::new();
        let busy = Refusal::read(client.post(&url).send().await.unwrap()).await;
        assert_eq!(busy.code, "BUSY");
        assert_eq!(busy.retry_after, Some(Duration::from_secs(3)));
        let bare = Refusal::read(client.post(&url).send().await.unwrap()).await;
        assert_eq!(bare.code, "HTTP_ERROR");
        assert_eq!(bare.retry_after, None);
    }

    #[test]
    fn percentiles_pick_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        let p = Percentiles::of(&mut []);
        assert_eq!(p.max, 0.0);
        let p = Percentiles::of(&mut [7.0]);
        assert_eq!((p.p50, p.p99), (7.0, 7.0));
    }

    #[test]
    fn presigned_bundles_hold_one_part_per_namespace_from_one_sender() {
        let spec = LoadSpec {
            chain_id: 9,
            rate: 6.0,
            duration: Duration::from_secs(1),
            senders: 2,
            namespaces: vec![1, 2, 3, 4],
            payload_bytes: 8,
            tick: Duration::from_millis(20),
            drain: Duration::from_secs(1),
            bundle_parts: 4,
            encrypt: None,
            declare_keys: true,
        };
        let p = presign(&spec).unwrap();
        assert!(p.bundles);
        for (i, body) in p.bodies.iter().enumerate() {
            let body: serde_json::Value = serde_json::from_slice(body).unwrap();
            let txs: Vec<Transaction> = serde_json::from_value(body["txs"].clone()).unwrap();
            assert_eq!(txs[0].hash(), p.hashes[i]);
            let mut namespaces: Vec<u64> = txs.iter().map(Transaction::namespace).collect();
            namespaces.sort_unstable();
            assert_eq!(namespaces, vec![1, 2, 3, 4]);
            let sender = txs[0].recover_sender(9).unwrap();
            for tx in &txs {
                assert_eq!(tx.recover_sender(9).unwrap(), sender);
                assert_eq!(tx.nonce(), (i / 2) as u64);
            }
        }
        let too_many = LoadSpec {
            bundle_parts: 5,
            encrypt: None,
            ..spec
        };
        assert!(presign(&too_many).is_err());
    }

    #[test]
    fn presign_seals_an_even_share_from_the_first_sealed_index() {
        let (sharing, _) = ordo_enc::deal(&mut rand_010::rng(), 4);
        let key = EncryptionKey {
            key_id: 3,
            public: *sharing.public(),
        };
        let spec = LoadSpec {
            chain_id: 9,
            rate: 12.0,
            duration: Duration::from_secs(1),
            senders: 3,
            namespaces: vec![1, 2],
            payload_bytes: 16,
            tick: Duration::from_millis(20),
            drain: Duration::from_secs(1),
            bundle_parts: 0,
            encrypt: Some(Encrypt {
                key,
                fraction: 0.25,
                from: 4,
            }),
            declare_keys: false,
        };
        let p = presign(&spec).unwrap();
        let sealed: Vec<usize> = (0..p.len()).filter(|&i| p.encrypted[i]).collect();
        assert_eq!(sealed, vec![7, 11]);
        assert_eq!(p.sealed(), 2);
        for (i, body) in p.bodies.iter().enumerate() {
            let tx: Transaction = serde_json::from_slice(body).unwrap();
            assert_eq!(tx.hash(), p.hashes[i]);
            assert_eq!(tx.nonce(), (i / 3) as u64);
            assert_eq!(tx.namespace(), spec.namespaces[i % 3 % 2]);
            match tx.sealed() {
                Some(envelope) => {
                    assert!(p.encrypted[i], "{i} sealed");
                    assert_eq!(envelope.key_id, 3);
                }
                None => assert!(!p.encrypted[i], "{i} not sealed"),
            }
        }
        let every = Encrypt {
            key,
            fraction: 1.0,
            from: 0,
        };
        assert!((0..10).all(|i| every.seals(i)));
        let none = Encrypt {
            fraction: 0.0,
            ..every
        };
        assert!((0..10).all(|i| !none.seals(i)));
        assert!(presign(&LoadSpec {
            bundle_parts: 2,
            ..spec
        })
        .is_err());
    }

    fn item_key(item: &serde_json::Value) -> ordo_types::PublicKey {
        let hex = item["public_key"].as_str().unwrap();
        assert!(hex.starts_with("0x04") && hex.len() == 132, "{hex}");
        serde_json::from_value(item["public_key"].clone()).unwrap()
    }

    #[test]
    fn presign_spreads_senders_and_nonces() {
        let spec = LoadSpec {
            chain_id: 9,
            rate: 10.0,
            duration: Duration::from_secs(2),
            senders: 3,
            namespaces: vec![4, 5],
            payload_bytes: 16,
            tick: Duration::from_millis(20),
            drain: Duration::from_secs(1),
            bundle_parts: 0,
            encrypt: None,
            declare_keys: true,
        };
        let p = presign(&spec).unwrap();
        assert_eq!(p.len(), 20);
        let items: Vec<serde_json::Value> = p
            .bodies
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect();
        let txs: Vec<Transaction> = items
            .iter()
            .map(|item| {
                let mut tx = item.clone();
                tx.as_object_mut().unwrap().remove("public_key");
                serde_json::from_value(tx).unwrap()
            })
            .collect();
        for (i, tx) in txs.iter().enumerate() {
            // Each declares its sender's key, uncompressed.
            let key = item_key(&items[i]);
            assert_eq!(key.address(), tx.recover_sender(9).unwrap());
            assert_eq!(tx.hash(), p.hashes[i]);
            assert_eq!(tx.nonce(), (i / 3) as u64);
            assert_eq!(tx.payload().len(), 16);
            assert_eq!(p.sender[i] as usize, i % 3);
        }
        // Sender 0 signs every third transaction with consecutive nonces, in one namespace.
        let s0 = txs[0].recover_sender(9).unwrap();
        assert_eq!(txs[3].recover_sender(9).unwrap(), s0);
        assert_eq!(txs[3].namespace(), txs[0].namespace());
        assert_ne!(txs[1].namespace(), txs[0].namespace());
        assert!(presign(&LoadSpec {
            namespaces: vec![],
            ..spec
        })
        .is_err());
    }
}
