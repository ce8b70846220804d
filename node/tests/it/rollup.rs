//! The rollup read side on a real network: namespace ranges, the resumable block stream, the
//! verifying client library and `ordo rollup follow`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ordo_rollup_adapters::{
    Genesis, NamespaceBlock, NamespaceRange, RollupClient, VerifiedNamespaceBlock, Verifier,
};
use ordo_types::{Bytes, SecretKey, Transaction, Validator, ValidatorSet, B256};
use serde_json::{json, Value};

use crate::harness::{ordo, Net};

const CHAIN_ID: u64 = 1337;
const NS: u64 = 7;

fn genesis(net: &Net) -> Genesis {
    Genesis::load(&net.dir.path().join("genesis.json")).unwrap()
}

/// A sender with sequential nonces from 0.
struct Sender {
    key: SecretKey,
    nonce: u64,
    http: reqwest::Client,
}

impl Sender {
    fn new() -> Self {
        Self {
            key: SecretKey::random(),
            nonce: 0,
            http: reqwest::Client::new(),
        }
    }

    /// Submits one transaction to namespace 7 and returns its hash.
    async fn send(&mut self, api: &str) -> B256 {
        let payload = Bytes::from(format!("rollup tx {}", self.nonce).into_bytes());
        let tx = Transaction::sign(NS, self.nonce, payload, &self.key, CHAIN_ID);
        self.nonce += 1;
        let resp = self
            .http
            .post(format!("{api}/v1/transactions"))
            .json(&tx)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "{:?}", resp.text().await);
        tx.hash()
    }
}

/// A raw SSE connection, parsed by hand (independently of the client library).
struct RawStream {
    resp: reqwest::Response,
    buf: String,
}

/// One `block` event: its id and its data.
struct RawEvent {
    id: u64,
    data: String,
}

impl RawStream {
    async fn open(api: &str, query: &str, last_event_id: Option<u64>) -> RawStream {
        let mut req = reqwest::Client::new().get(format!("{api}/v1/namespaces/{NS}/stream{query}"));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        RawStream {
            resp,
            buf: String::new(),
        }
    }

    /// The next block event (skipping keep-alive comments), within 30 s.
    async fn next(&mut self) -> RawEvent {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, None, None);
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse::<u64>().unwrap());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = Some(v.strip_prefix(' ').unwrap_or(v).to_owned());
                    }
                }
                match (event.as_deref(), id, data) {
                    (Some("block"), Some(id), Some(data)) => return RawEvent { id, data },
                    (None, None, None) => continue,
                    other => panic!("unexpected event {other:?}"),
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.resp.chunk())
                .await
                .expect("no event within 30 s")
                .unwrap()
                .expect("stream ended");
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

#[tokio::test]
async fn a_stream_client_that_disconnects_and_resumes_gets_every_block_exactly_once() {
    let net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 1, Duration::from_secs(60)).await;
    let api = net.apis[0].clone();
    let verifier = Verifier::from_genesis(&genesis(&net));
    let mut sender = Sender::new();

    let mut sent: Vec<B256> = Vec::new();
    for _ in 0..5 {
        sent.push(sender.send(&api).await);
    }
    // id -> that height's namespace-7 transaction hashes, over both connections.
    let mut seen: BTreeMap<u64, Vec<B256>> = BTreeMap::new();
    let record = |event: RawEvent, seen: &mut BTreeMap<u64, Vec<B256>>| {
        let block = verifier
            .verify_json(NS, event.id, event.data.as_bytes())
            .unwrap();
        assert!(
            seen.insert(event.id, block.tx_hashes()).is_none(),
            "height {} delivered twice",
            event.id
        );
        event.id
    };

    // First connection: from height 1 until the first five transactions are in.
    let mut first = RawStream::open(&api, "?from=1", None).await;
    let mut last = 0;
    while !sent
        .iter()
        .all(|h| seen.values().any(|hashes| hashes.contains(h)))
    {
        let event = first.next().await;
        assert_eq!(event.id, last + 1, "gap or repeat");
        last = record(event, &mut seen);
    }
    drop(first);

    // While disconnected: more transactions, and a few more blocks.
    for _ in 0..5 {
        sent.push(sender.send(&api).await);
    }
    let tip = net.height(0).await.unwrap();
    net.wait_height(&[0], tip + 3, Duration::from_secs(30))
        .await;

    // Resume: Last-Event-ID wins over from=1 in the URL.
    let mut second = RawStream::open(&api, "?from=1", Some(last)).await;
    while !sent
        .iter()
        .all(|h| seen.values().any(|hashes| hashes.contains(h)))
    {
        let event = second.next().await;
        assert_eq!(event.id, last + 1, "gap or repeat after resuming");
        last = record(event, &mut seen);
    }
    drop(second);

    // Every height exactly once, every transaction exactly once.
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (1..=last).collect::<Vec<_>>()
    );
    let all: Vec<B256> = seen.values().flatten().copied().collect();
    let unique: HashSet<B256> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a transaction delivered twice");
    for h in &sent {
        assert!(unique.contains(h), "transaction {h} never delivered");
    }

    // The client library, from height 1: the same blocks, verified and linked.
    let client = RollupClient::from_genesis(&api, &genesis(&net));
    let blocks: Vec<VerifiedNamespaceBlock> = tokio::time::timeout(
        Duration::from_secs(60),
        client
            .stream(NS, 1)
            .take(last as usize)
            .map(Result::unwrap)
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    for (i, b) in blocks.iter().enumerate() {
        assert_eq!(b.height(), i as u64 + 1);
        assert_eq!(b.tx_hashes(), seen[&b.height()]);
    }
}

async fn get(url: String) -> (u16, Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn ranges_single_blocks_and_follow_verify_and_errors_are_clear() {
    let net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 1, Duration::from_secs(60)).await;
    let api = net.apis[0].clone();
    let genesis = genesis(&net);
    let mut client = RollupClient::from_genesis(&api, &genesis);
    let mut sender = Sender::new();
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.push(sender.send(&api).await);
    }
    for h in &sent {
        net.wait_included(0, &h.to_string(), Duration::from_secs(60))
            .await;
    }
    net.wait_height(&[0], 12, Duration::from_secs(60)).await;

    // A range returns exactly the heights asked for, each verifying and extending the last.
    let (status, body) = get(format!("{api}/v1/namespaces/{NS}/blocks?from=2&to=11")).await;
    assert_eq!(status, 200, "{body}");
    let range: NamespaceRange = serde_json::from_value(body).unwrap();
    assert_eq!((range.namespace, range.from, range.to), (NS, 2, Some(11)));
    assert!(range.tip >= 12);
    assert_eq!(
        range.blocks.iter().map(|b| b.height).collect::<Vec<_>>(),
        (2..=11).collect::<Vec<_>>()
    );
    let verified = client.range(NS, 2, 11).await.unwrap();
    assert_eq!(
        verified.iter().map(|b| b.height()).collect::<Vec<_>>(),
        (2..=11).collect::<Vec<_>>()
    );
    // Where did our transactions land? (Each exactly once in 1..=tip.)
    let (_, body) = get(format!("{api}/v1/namespaces/{NS}/blocks?from=1&to=100")).await;
    let full: NamespaceRange = serde_json::from_value(body).unwrap();
    let tip = full.to.unwrap();
    assert_eq!(
        full.blocks.len() as u64,
        tip,
        "to past the tip returns up to the tip"
    );
    assert_eq!(full.tip, tip);
    let mut landed: HashMap<B256, u64> = HashMap::new();
    for b in &full.blocks {
        let v = client.verifier().verify(NS, b.height, b.clone()).unwrap();
        for h in v.tx_hashes() {
            assert!(landed.insert(h, b.height).is_none());
        }
    }
    for h in &sent {
        assert!(landed.contains_key(h), "transaction {h} not in 1..={tip}");
    }
    let until = *landed.values().max().unwrap();

    // One block, with its header and certificate, verifies on its own.
    let (status, body) = get(format!("{api}/v1/namespaces/{NS}/blocks/{until}")).await;
    assert_eq!(status, 200);
    assert!(body["header"]["namespace_root"].is_string());
    assert!(body["certificate"]["signatures"].is_array());
    let one: NamespaceBlock = serde_json::from_value(body).unwrap();
    assert_eq!(one.header.hash(), one.certificate.block_hash);
    assert!(!client.block(NS, until).await.unwrap().entries().is_empty());

    // Clear errors.
    for (query, status, code) in [
        ("?from=1&to=101", 400, "RANGE_TOO_LARGE"),
        ("?from=5&to=500", 400, "RANGE_TOO_LARGE"),
        ("?from=5&to=4", 400, "BAD_RANGE"),
        ("?from=0&to=4", 400, "BAD_RANGE"),
        ("?from=abc", 400, "MALFORMED"),
        ("?to=4", 400, "MALFORMED"),
        ("?from=1&bogus=2", 400, "MALFORMED"),
    ] {
        let (got, body) = get(format!("{api}/v1/namespaces/{NS}/blocks{query}")).await;
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{query}: {body}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Past the tip: an empty answer, not an error.
    let (got, body) = get(format!("{api}/v1/namespaces/{NS}/blocks?from=1000000")).await;
    assert_eq!(got, 200);
    assert_eq!(body["blocks"], json!([]));
    assert_eq!(body["to"], Value::Null);
    let (got, _) = get(format!("{api}/v1/namespaces/{NS}/blocks/1000000")).await;
    assert_eq!(got, 404);
    let resp = reqwest::Client::new()
        .get(format!("{api}/v1/namespaces/{NS}/stream"))
        .header("Last-Event-ID", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (got, body) = get(format!("{api}/v1/namespaces/{NS}/stream?from=0")).await;
    assert_eq!((got, body["code"].as_str()), (400, Some("BAD_RANGE")));

    // `ordo rollup follow` prints every height once, with our transactions, and stops.
    let genesis_path = net.dir.path().join("genesis.json");
    let out = ordo()
        .args(["rollup", "follow", "--node", &api, "--genesis"])
        .arg(&genesis_path)
        .args([
            "--namespace",
            "7",
            "--from",
            "1",
            "--until",
            &until.to_string(),
        ])
        .arg("--render")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["height"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        (1..=until).collect::<Vec<_>>()
    );
    let printed: Vec<B256> = lines
        .iter()
        .flat_map(|l| l["tx_hashes"].as_array().unwrap().clone())
        .map(|h| h.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(printed.len(), sent.len());
    for h in &sent {
        assert!(printed.contains(h));
    }
    for l in &lines {
        assert_eq!(
            l["tx_count"].as_u64().unwrap() as usize,
            l["tx_hashes"].as_array().unwrap().len()
        );
        // The raw adapter's rendering: the same hashes, payloads as 0x-hex.
        assert_eq!(l["rendered"]["kind"], "raw");
        let rendered = l["rendered"]["transactions"].as_array().unwrap();
        assert_eq!(rendered.len(), l["tx_hashes"].as_array().unwrap().len());
        for (r, h) in rendered.iter().zip(l["tx_hashes"].as_array().unwrap()) {
            assert_eq!(&r["hash"], h);
            assert!(r["payload"].as_str().unwrap().starts_with("0x"));
        }
    }

    // Against a trust root the node's chain does not match, it refuses and says why.
    let stranger =
        ValidatorSet::new(vec![Validator::new(SecretKey::random().public_key(), 100)]).unwrap();
    for (name, chain_id, validators, reason) in [
        (
            "other committee",
            CHAIN_ID,
            stranger,
            "UNKNOWN_VALIDATOR_SET",
        ),
        (
            "other chain",
            CHAIN_ID + 1,
            genesis.validators.clone(),
            "CHAIN_ID_MISMATCH",
        ),
    ] {
        let path = net.dir.path().join(format!("{name}.json"));
        let text = json!({"chain_id": chain_id, "genesis_time_ms": 0, "validators": validators});
        std::fs::write(&path, text.to_string()).unwrap();
        let out = ordo()
            .args(["rollup", "follow", "--node", &api, "--genesis"])
            .arg(&path)
            .args(["--namespace", "7"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: printed an unverified block");
    }
}

/// Unix microseconds of an RFC 3339 UTC timestamp as tracing prints it
/// (`2025-01-02T03:04:05.123456Z`).
fn unix_micros(ts: &str) -> Option<i64> {
    let ts = ts.strip_suffix('Z')?;
    let (date, time) = ts.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>());
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let micros: i64 = format!("{frac:0<6}").get(..6)?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000) + micros)
}

fn now_micros() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(d.as_micros()).unwrap()
}

/// height -> unix microseconds at which the node logged the decision (after the store commit).
fn decision_times(log: &str) -> HashMap<u64, i64> {
    log.lines()
        .filter(|l| l.contains("ordo::consensus") && l.contains(" decided"))
        .filter_map(|l| {
            let ts = unix_micros(l.split_whitespace().next()?)?;
            let height = l
                .split_whitespace()
                .find_map(|w| w.strip_prefix("height="))?
                .parse()
                .ok()?;
            Some((height, ts))
        })
        .collect()
}

fn percentiles(mut v: Vec<f64>) -> (usize, f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (v.len(), at(0.5), at(0.99), at(1.0))
}

#[test]
fn timestamps_parse() {
    assert_eq!(unix_micros("1970-01-01T00:00:00.000001Z"), Some(1));
    assert_eq!(
        unix_micros("2024-02-29T12:34:56.5Z"),
        Some(1_709_210_096_500_000)
    );
    assert_eq!(unix_micros("garbage"), None);
}

/// Time from a block's decision (the node's `decided` log line) to its arrival at stream
/// clients on the same machine, and from submission to verified delivery.
///
/// `cargo test --release -p ordo-node --test it rollup::bench_stream_latency -- --ignored --nocapture`
/// (`ORDO_BENCH_VALIDATORS`, `ORDO_BENCH_TXS`, `ORDO_BENCH_STREAMS` override 4, 300, 10.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly, prints a table"]
async fn bench_stream_latency() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (validators, txs, streams) = (
        env("ORDO_BENCH_VALIDATORS", 4),
        env("ORDO_BENCH_TXS", 300),
        env("ORDO_BENCH_STREAMS", 10).max(1),
    );
    let net = Net::start(validators, 0, |_, _| {});
    let all: Vec<usize> = (0..validators).collect();
    net.wait_height(&all, 2, Duration::from_secs(90)).await;
    let api = net.apis[0].clone();
    let from = net.height(0).await.unwrap() + 1;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(u64::MAX);

    // One verifying client (the library) and `streams - 1` raw SSE readers, all on node 0.
    let client = RollupClient::from_genesis(&api, &genesis(&net));
    let mut stop = stop_rx.clone();
    let verifying = tokio::spawn(async move {
        let mut arrivals: HashMap<u64, (i64, Vec<B256>)> = HashMap::new();
        let mut blocks = std::pin::pin!(client.stream(NS, from));
        while let Some(block) = blocks.next().await {
            let block = block.unwrap();
            arrivals.insert(block.height(), (now_micros(), block.tx_hashes()));
            if block.height() >= *stop.borrow_and_update() {
                break;
            }
        }
        arrivals
    });
    let mut raw = Vec::new();
    for _ in 1..streams {
        let api = api.clone();
        let stop = stop_rx.clone();
        raw.push(tokio::spawn(async move {
            let mut s = RawStream::open(&api, &format!("?from={from}"), None).await;
            let mut arrivals: HashMap<u64, i64> = HashMap::new();
            loop {
                let e = s.next().await;
                arrivals.insert(e.id, now_micros());
                if e.id >= *stop.borrow() {
                    break arrivals;
                }
            }
        }));
    }

    // Submit at about 40 transactions per second, spread over the validators.
    let mut senders: Vec<Sender> = (0..4).map(|_| Sender::new()).collect();
    let mut submitted: HashMap<B256, i64> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    for i in 0..txs {
        tick.tick().await;
        let hash = senders[i % 4].send(&net.apis[i % validators]).await;
        submitted.insert(hash, now_micros());
    }
    // Wait until every transaction is in a decided block, then stop the clients there.
    let deadline = Instant::now() + Duration::from_secs(120);
    let last = loop {
        let tip = net.height(0).await.unwrap();
        let mut found = 0;
        let mut upto = 0;
        for start in (from..=tip).step_by(100) {
            let (_, body) = get(format!(
                "{api}/v1/namespaces/{NS}/blocks?from={start}&to={}",
                (start + 99).min(tip)
            ))
            .await;
            let range: NamespaceRange = serde_json::from_value(body).unwrap();
            for b in &range.blocks {
                if !b.transactions.is_empty() {
                    found += b.transactions.len();
                    upto = b.height;
                }
            }
        }
        if found >= txs {
            break upto;
        }
        assert!(Instant::now() < deadline, "only {found} of {txs} included");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop_tx.send(last).unwrap();
    let verified = verifying.await.unwrap();
    let mut raw_arrivals = Vec::new();
    for r in raw {
        raw_arrivals.push(r.await.unwrap());
    }
    let decided = decision_times(&net.log(0));

    let ms = |us: i64| us as f64 / 1000.0;
    let mut tx_decision_to_verified = Vec::new();
    let mut tx_submit_to_verified = Vec::new();
    let mut block_decision_to_raw = Vec::new();
    for (height, (arrival, hashes)) in &verified {
        let Some(decision) = decided.get(height) else {
            continue;
        };
        for h in hashes {
            tx_decision_to_verified.push(ms(arrival - decision));
            if let Some(sent) = submitted.get(h) {
                tx_submit_to_verified.push(ms(arrival - sent));
            }
        }
        if !hashes.is_empty() {
            for r in &raw_arrivals {
                if let Some(at) = r.get(height) {
                    block_decision_to_raw.push(ms(at - decision));
                }
            }
        }
    }
    println!(
        "\nstream latency: {validators} validators, {txs} txs at ~40 tx/s to namespace {NS}, \
         {streams} stream clients on node 0, heights {from}..={last}"
    );
    println!(
        "{:<46} {:>8} {:>9} {:>9} {:>9}",
        "measure", "samples", "p50 ms", "p99 ms", "max ms"
    );
    for (name, v) in [
        (
            "tx decision -> verifying client (per tx)",
            tx_decision_to_verified,
        ),
        (
            "block decision -> raw SSE clients (per block)",
            block_decision_to_raw,
        ),
        (
            "tx submit -> verifying client (per tx)",
            tx_submit_to_verified,
        ),
    ] {
        assert!(!v.is_empty(), "{name}: no samples");
        let (n, p50, p99, max) = percentiles(v);
        println!("{name:<46} {n:>8} {p50:>9.2} {p99:>9.2} {max:>9.2}");
    }
}
