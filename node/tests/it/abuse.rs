//! Hostile HTTP clients against a real node: idle connections past the caps, slowloris clients
//! (headers and bodies), rollup stream subscribers past `api.max_streams`, deeply nested JSON
//! and maximal batches. Through each, an honest client (its own address, 127.0.0.2) is
//! answered and its transaction lands in a block, the excess is refused, and the node's memory
//! and open files stay bounded.
//!
//! Every attacker has its own loopback address (127.0.0.0/8 is all local on Linux), so the
//! per-IP cap can tell them from the honest client.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ordo_types::{Bytes, SecretKey, Transaction};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

use crate::harness::{set, Net};

const CHAIN_ID: u64 = 1337;
const MAX_CONNECTIONS: usize = 64;
const PER_IP: usize = 16;
const MAX_STREAMS: usize = 4;
const MAX_BATCH: usize = 200;
const MAX_BATCH_BODY: usize = 256 * 1024;
/// Deadline of each wait: generous, since nothing here measures time.
const T: Duration = Duration::from_secs(60);

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

/// A TCP connection to `addr` from `from` (any port).
async fn connect_from(from: Ipv4Addr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket.connect(addr).await
}

/// Sends a status request on `stream`; true when the node answers it. A connection the node
/// closed on accept reads end-of-file or a reset instead.
async fn answered(stream: &mut TcpStream) -> bool {
    let request = b"GET /v1/status HTTP/1.1\r\nHost: ordo\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    match tokio::time::timeout(T, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => buf[..n].starts_with(b"HTTP/1.1 200"),
        Ok(_) => false,
        Err(_) => panic!("the node neither answered nor closed a connection in {T:?}"),
    }
}

/// The node's resident memory, KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The node's open file descriptors (sockets included).
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Waits until the node has closed the connections its clients dropped after `what` (its open
/// files are back to about `base_fds`), so that the next step starts with free slots.
async fn wait_closed(pid: u32, base_fds: usize, what: &str) {
    let deadline = Instant::now() + T;
    while open_fds(pid) > base_fds + 8 {
        assert!(
            Instant::now() < deadline,
            "{} open files long after {what} (from {base_fds})",
            open_fds(pid)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client of its own address, whose requests must keep being answered.
struct Honest {
    client: reqwest::Client,
    api: String,
    key: SecretKey,
    nonce: u64,
}

impl Honest {
    fn new(api: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .local_address(IpAddr::V4(ip(2)))
                // A new connection for every request: a newcomer each time, who must find room.
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            api: api.to_owned(),
            key: SecretKey::random(),
            nonce: 0,
        }
    }

    async fn get(&self, path: &str, during: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.api))
            .send()
            .await
            .unwrap_or_else(|e| panic!("honest GET {path} during {during} failed: {e:?}"));
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or_default(),
        )
    }

    /// A status read and a transaction that lands in a block, both answered.
    async fn is_served(&mut self, during: &str) {
        let (code, status) = self.get("/v1/status", during).await;
        assert_eq!(code, 200, "status during {during}: {status}");
        let tx = Transaction::sign(
            1,
            self.nonce,
            Bytes::from(format!("honest {}", self.nonce).into_bytes()),
            &self.key,
            CHAIN_ID,
        );
        self.nonce += 1;
        let resp = self
            .client
            .post(format!("{}/v1/transactions", self.api))
            .json(&tx)
            .send()
            .await
            .unwrap_or_else(|e| panic!("honest submission during {during} failed: {e}"));
        assert_eq!(resp.status().as_u16(), 202, "submission during {during}");
        self.wait_included(&tx.hash().to_string(), during).await;
    }

    async fn wait_included(&self, hash: &str, during: &str) {
        let deadline = Instant::now() + T;
        loop {
            let (_, status) = self.get(&format!("/v1/transactions/{hash}"), during).await;
            if status["status"] == "included" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{hash} not included during {during}: {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Opens `count` connections from each of `ips` (all before any request), then sends one
/// request on each: how many the node answered, per address.
async fn answered_per_ip(ips: &[Ipv4Addr], count: usize, addr: SocketAddr) -> Vec<usize> {
    let mut streams = Vec::new();
    for &from in ips {
        for _ in 0..count {
            streams.push((from, connect_from(from, addr).await.unwrap()));
        }
    }
    let mut per_ip = vec![0; ips.len()];
    for (from, stream) in &mut streams {
        if answered(stream).await {
            per_ip[ips.iter().position(|i| i == from).unwrap()] += 1;
        }
    }
    per_ip
}

/// A client that sends `head`, then dribbles `a`s, one byte every 100 ms, until the node closes
/// the connection or answers; what the node sent back (empty when it closed).
async fn dribble(from: Ipv4Addr, addr: SocketAddr, head: &'static [u8]) -> Vec<u8> {
    let mut stream = connect_from(from, addr).await.unwrap();
    stream.write_all(head).await.unwrap();
    let (mut reader, mut writer) = stream.split();
    let mut answer = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let deadline = Instant::now() + T;
    let mut sent = 0usize;
    let mut buf = [0u8; 1024];
    loop {
        assert!(
            Instant::now() < deadline,
            "the node kept a dribbling client ({sent} bytes after the head) for {T:?}"
        );
        tokio::select! {
            read = reader.read(&mut buf) => match read {
                Ok(0) | Err(_) => return answer,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        // The head of an answer is in; read its (short) body too.
                        let _ = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut buf))
                            .await
                            .map(|r| r.map(|n| answer.extend_from_slice(&buf[..n])));
                        return answer;
                    }
                }
            },
            _ = tick.tick() => {
                if writer.write_all(b"a").await.is_err() {
                    return answer;
                }
                sent += 1;
            }
        }
    }
}

/// Idle connections beyond the caps, slowloris clients, stream subscribers beyond
/// `api.max_streams`, deeply nested JSON and maximal batches, one after the other against one
/// node: each is refused or cut off, and the honest client is served throughout.
#[tokio::test]
async fn abuse_http_clients_are_refused_or_cut_off_and_an_honest_client_is_served() {
    let net = Net::start_with(1, 0, &["--evm-rollup".into(), "901".into()], |_, text| {
        set(text, "api", "max_connections", MAX_CONNECTIONS as i64);
        set(text, "api", "max_connections_per_ip", PER_IP as i64);
        set(text, "api", "header_read_timeout_ms", 2_000);
        set(text, "api", "body_read_timeout_ms", 3_000);
        set(text, "api", "max_streams", MAX_STREAMS as i64);
        set(text, "api", "max_batch", MAX_BATCH as i64);
        set(text, "api", "max_batch_body_bytes", MAX_BATCH_BODY as i64);
    });
    net.wait_height(&[0], 1, T).await;
    let pid = net.pid(0);
    let addr: SocketAddr = net.apis[0].trim_start_matches("http://").parse().unwrap();
    let mut honest = Honest::new(&net.apis[0]);
    honest.is_served("the start").await;
    let (base_rss, base_fds) = (rss_kib(pid), open_fds(pid));
    let mut peak_rss = base_rss;

    // 1. Idle connections: 60 loops from each of two addresses keep reconnecting and holding
    //    what they get. Each address holds at most its share, so the honest client finds
    //    room, and the node's open files stay within the cap.
    let stop = Arc::new(AtomicBool::new(false));
    let closed = Arc::new(AtomicUsize::new(0));
    let mut attackers = JoinSet::new();
    for from in [ip(1), ip(3)] {
        for _ in 0..60 {
            let (stop, closed) = (stop.clone(), closed.clone());
            attackers.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(mut stream) = connect_from(from, addr).await {
                        let mut buf = [0u8; 16];
                        // Held until the node closes it.
                        let _ = stream.read(&mut buf).await;
                        closed.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
    }
    // Wait until the flood is on: many connections were closed by the node.
    let deadline = Instant::now() + T;
    while closed.load(Ordering::Relaxed) < 200 {
        assert!(Instant::now() < deadline, "the idle flood never got going");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..3 {
        honest.is_served("the idle flood").await;
        let fds = open_fds(pid);
        assert!(
            fds <= base_fds + MAX_CONNECTIONS,
            "{fds} open files under the idle flood (from {base_fds} before)"
        );
        peak_rss = peak_rss.max(rss_kib(pid));
    }
    stop.store(true, Ordering::Relaxed);
    attackers.abort_all();
    while attackers.join_next().await.is_some() {}
    wait_closed(pid, base_fds, "the idle flood").await;

    // 2. Caps, counted: 40 connections from one address get 16 answers; 16 from each of 8
    //    addresses (128) get at most 64.
    let answered_one = answered_per_ip(&[ip(10)], 40, addr).await;
    assert!(
        answered_one[0] <= PER_IP && answered_one[0] > 0,
        "{answered_one:?} of 40 connections from one address answered (cap {PER_IP})"
    );
    let ips: Vec<_> = (11..19).map(ip).collect();
    let answered_many = answered_per_ip(&ips, PER_IP, addr).await;
    let total: usize = answered_many.iter().sum();
    assert!(
        total <= MAX_CONNECTIONS && total > 0,
        "{total} of {} connections answered (cap {MAX_CONNECTIONS}): {answered_many:?}",
        PER_IP * ips.len()
    );
    wait_closed(pid, base_fds, "the counted caps").await;
    honest.is_served("after the counted caps").await;

    // 3. Slowloris: clients dribbling a request head, or a body, a byte at a time are cut off
    //    (the head: the connection is closed; the body: 400 MALFORMED), while the honest
    //    client is served.
    let mut slow = JoinSet::new();
    for _ in 0..10 {
        slow.spawn(async move {
            let head = b"GET /v1/status HTTP/1.1\r\nX-Slow: ";
            (false, dribble(ip(20), addr, head).await)
        });
    }
    for _ in 0..5 {
        slow.spawn(async move {
            let head = b"POST /v1/transactions HTTP/1.1\r\nHost: ordo\r\n\
                Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
            (true, dribble(ip(21), addr, head).await)
        });
    }
    honest.is_served("the slowloris clients").await;
    let mut cut_off = 0;
    while let Some(ended) = slow.join_next().await {
        let (body, answer) = ended.unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        if body {
            assert!(
                answer.starts_with("HTTP/1.1 400")
                    && answer.contains("MALFORMED")
                    && answer.contains("body_read_timeout_ms"),
                "a slow body was answered {answer:?}"
            );
        }
        cut_off += 1;
    }
    assert_eq!(cut_off, 15);
    peak_rss = peak_rss.max(rss_kib(pid));

    // 4. Streams: 30 subscribers from three addresses; 4 get their stream, the others a clear
    //    503 TOO_MANY_STREAMS. Once one stream ends, a new subscriber gets its slot.
    let mut streams = Vec::new();
    let mut refused = 0;
    for i in 0..30u8 {
        let client = reqwest::Client::builder()
            .local_address(IpAddr::V4(ip(30 + i % 3)))
            .build()
            .unwrap();
        let resp = client
            .get(format!("{}/v1/namespaces/1/stream", net.apis[0]))
            .send()
            .await
            .unwrap();
        match resp.status().as_u16() {
            200 => streams.push(resp),
            503 => {
                assert!(resp.headers().contains_key("retry-after"));
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["code"], "TOO_MANY_STREAMS", "{body}");
                refused += 1;
            }
            other => panic!("a stream subscriber was answered {other}"),
        }
    }
    assert_eq!((streams.len(), refused), (MAX_STREAMS, 30 - MAX_STREAMS));
    // The streams that were accepted deliver blocks.
    let first = tokio::time::timeout(T, streams[0].chunk())
        .await
        .expect("no event on an accepted stream")
        .unwrap()
        .unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&first).contains("event: block"),
        "{first:?}"
    );
    drop(streams.pop());
    let deadline = Instant::now() + T;
    loop {
        let resp = honest
            .client
            .get(format!("{}/v1/namespaces/1/stream", honest.api))
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a freed stream slot was never given again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    honest.is_served("the stream subscribers").await;
    drop(streams);

    // 5. Deeply nested JSON (200,000 levels, where JSON is read into a typed value or into
    //    free JSON) is MALFORMED, or a JSON-RPC parse error: serde_json stops at 128 levels.
    let deep = "[".repeat(200_000);
    let deep_object = format!("[{}1{}]", "{\"a\":".repeat(40_000), "}".repeat(40_000));
    for (path, body) in [
        ("/v1/transactions", deep.clone()),
        ("/v1/transactions/batch", deep.clone()),
        ("/v1/transactions/batch", deep_object),
    ] {
        let resp = honest
            .client
            .post(format!("{}{path}", honest.api))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "MALFORMED", "{path}: {body}");
    }
    let resp = honest
        .client
        .post(format!("{}/v1/rollups/901/rpc", honest.api))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32700, "{body}");
    honest.is_served("the nested JSON").await;

    // 6. Maximal batches: `max_batch` transactions are admitted and land; one more is
    //    BATCH_TOO_LARGE; a body past `max_batch_body_bytes` is PAYLOAD_TOO_LARGE.
    let batch: Vec<Transaction> = (0..=MAX_BATCH)
        .map(|_| {
            let key = SecretKey::random();
            Transaction::sign(2, 0, Bytes::from(vec![7u8; 64]), &key, CHAIN_ID)
        })
        .collect();
    let post_batch = |body: String| {
        honest
            .client
            .post(format!("{}/v1/transactions/batch", honest.api))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let resp = post_batch(serde_json::to_string(&batch).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "BATCH_TOO_LARGE", "{body}");
    let full = serde_json::to_string(&batch[..MAX_BATCH]).unwrap();
    assert!(full.len() < MAX_BATCH_BODY, "{} bytes", full.len());
    let resp = post_batch(full).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), MAX_BATCH);
    assert!(results.iter().all(|r| r["hash"].is_string()), "{body}");
    let padded = format!("[{}]", " ".repeat(MAX_BATCH_BODY));
    let resp = post_batch(padded).await.unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE", "{body}");
    let last = batch[MAX_BATCH - 1].hash().to_string();
    honest.wait_included(&last, "the maximal batch").await;
    honest.is_served("the maximal batch").await;

    // Memory stayed bounded through it all, and the node is the same process.
    peak_rss = peak_rss.max(rss_kib(pid));
    eprintln!("abuse: node RSS {base_rss} KiB at the start, peak {peak_rss} KiB");
    assert!(
        peak_rss < base_rss + 256 * 1024,
        "RSS grew from {base_rss} KiB to {peak_rss} KiB"
    );
    let (_, status) = honest.get("/v1/status", "the end").await;
    assert_eq!(status["pid"], json!(pid));
}

/// What the honest clients saw in one phase of [`bench_honest_clients_under_http_abuse`].
struct Phase {
    requests: usize,
    failed: usize,
    seconds: f64,
    latencies_ms: Vec<f64>,
    peak_rss_kib: u64,
    node_cpu_percent: f64,
    peak_fds: usize,
}

impl Phase {
    fn row(&mut self, name: &str) -> String {
        self.latencies_ms.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            let i = ((self.latencies_ms.len() as f64 - 1.0) * p).round() as usize;
            self.latencies_ms.get(i).copied().unwrap_or_default()
        };
        format!(
            "| {name} | {:.0} | {:.1} | {:.1} | {} | {:.0}% | {} | {} |",
            self.requests as f64 / self.seconds,
            pct(0.5),
            pct(0.99),
            self.failed,
            self.node_cpu_percent,
            self.peak_fds,
            self.peak_rss_kib / 1024
        )
    }
}

/// CPU time the process has used, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Four honest clients (each request on a new connection, from 127.0.0.2) alternate a status
/// read and a submission for `seconds`, while the node's RSS and open files are sampled.
async fn honest_load(api: &str, pid: u32, seconds: u64, namespace: u64) -> Phase {
    let end = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = cpu_ticks(pid);
    let mut clients = JoinSet::new();
    for _ in 0..4 {
        let api = api.to_owned();
        clients.spawn(async move {
            let client = reqwest::Client::builder()
                .local_address(IpAddr::V4(ip(2)))
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let key = SecretKey::random();
            let (mut latencies, mut failed, mut nonce) = (Vec::new(), 0, 0);
            while Instant::now() < end {
                let start = Instant::now();
                let ok = if latencies.len() % 2 == 0 {
                    let sent = client.get(format!("{api}/v1/status")).send().await;
                    sent.is_ok_and(|r| r.status() == 200)
                } else {
                    let payload = Bytes::from_static(b"honest");
                    let tx = Transaction::sign(namespace, nonce, payload, &key, CHAIN_ID);
                    nonce += 1;
                    let sent = client
                        .post(format!("{api}/v1/transactions"))
                        .json(&tx)
                        .send()
                        .await;
                    sent.is_ok_and(|r| r.status() == 202)
                };
                latencies.push(start.elapsed().as_secs_f64() * 1000.0);
                failed += usize::from(!ok);
            }
            (latencies, failed)
        });
    }
    let (mut peak_rss_kib, mut peak_fds) = (0, 0);
    while Instant::now() < end {
        peak_rss_kib = peak_rss_kib.max(rss_kib(pid));
        peak_fds = peak_fds.max(open_fds(pid));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut phase = Phase {
        requests: 0,
        failed: 0,
        seconds: seconds as f64,
        latencies_ms: Vec::new(),
        peak_rss_kib,
        node_cpu_percent: (cpu_ticks(pid) - cpu_before) as f64 / seconds as f64,
        peak_fds,
    };
    while let Some(done) = clients.join_next().await {
        let (latencies, failed) = done.unwrap();
        phase.requests += latencies.len();
        phase.failed += failed;
        phase.latencies_ms.extend(latencies);
    }
    phase
}

/// The attacks of the benchmark, each from its own addresses.
#[derive(Clone, Copy, Debug)]
enum Attack {
    /// 2,000 connection loops from one address, holding what they get and reconnecting after
    /// 50 ms when the node closes one.
    Idle,
    /// 200 clients dribbling a request head and 50 dribbling a body, a byte per 100 ms.
    Slowloris,
    /// 600 stream subscribers from two addresses, each reading from height 1.
    Streams,
    /// 600 stream subscribers from two addresses, each from the next block on.
    TipStreams,
    /// Two loops posting 1 MiB of nested brackets and two posting a 2,000-transaction batch.
    Bodies,
}

fn start_attack(attack: Attack, api: &str, addr: SocketAddr, tasks: &mut JoinSet<()>) {
    let stop_after = Duration::from_secs(60);
    match attack {
        Attack::Idle => {
            for _ in 0..2_000 {
                tasks.spawn(async move {
                    loop {
                        if let Ok(mut stream) = connect_from(ip(1), addr).await {
                            let _ = stream.read(&mut [0u8; 16]).await;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                });
            }
        }
        Attack::Slowloris => {
            for i in 0..250 {
                tasks.spawn(async move {
                    let head: &'static [u8] = if i < 200 {
                        b"GET /v1/status HTTP/1.1\r\nX-Slow: "
                    } else {
                        b"POST /v1/transactions HTTP/1.1\r\nHost: ordo\r\n\
                          Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                    };
                    loop {
                        let from = ip(if i < 200 { 3 } else { 4 });
                        let _ = tokio::time::timeout(stop_after, dribble(from, addr, head)).await;
                    }
                });
            }
        }
        Attack::Streams | Attack::TipStreams => {
            let from = if matches!(attack, Attack::Streams) {
                "?from=1"
            } else {
                ""
            };
            for i in 0..600usize {
                let api = api.to_owned();
                tasks.spawn(async move {
                    let client = reqwest::Client::builder()
                        .local_address(IpAddr::V4(ip(5 + (i % 2) as u8)))
                        .build()
                        .unwrap();
                    let url = format!("{api}/v1/namespaces/1/stream{from}");
                    if let Ok(mut resp) = client.get(url).send().await {
                        while let Ok(Some(_)) = resp.chunk().await {}
                    }
                });
            }
        }
        Attack::Bodies => {
            let deep = "[".repeat(1_000_000);
            let batch: Vec<Transaction> = (0..2_000)
                .map(|_| {
                    let key = SecretKey::random();
                    Transaction::sign(3, 0, Bytes::from(vec![1u8; 64]), &key, CHAIN_ID)
                })
                .collect();
            let batch = serde_json::to_string(&batch).unwrap();
            for task in 0..4u8 {
                let api = api.to_owned();
                let (path, body) = if task % 2 == 0 {
                    ("/v1/transactions", deep.clone())
                } else {
                    ("/v1/transactions/batch", batch.clone())
                };
                tasks.spawn(async move {
                    let client = reqwest::Client::builder()
                        .local_address(IpAddr::V4(ip(7 + task)))
                        .build()
                        .unwrap();
                    loop {
                        let _ = client
                            .post(format!("{api}{path}"))
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await;
                    }
                });
            }
        }
    }
}

/// Figures for docs/PERFORMANCE.md ("Under HTTP abuse"): honest request rate, latency and
/// failures, and the node's CPU, open files and peak RSS, without attack, under each attack
/// and under all of them at once, in one run against one node with the default limits:
/// `cargo nextest run -p ordo-node --features byzantine --run-ignored only -E 'test(bench_honest_clients_under_http_abuse)' --no-capture`
#[tokio::test]
#[ignore = "a benchmark: prints figures, asserts nothing about them"]
async fn bench_honest_clients_under_http_abuse() {
    const SECONDS: u64 = 10;
    let net = Net::start(1, 0, |_, _| {});
    net.wait_height(&[0], 1, T).await;
    let pid = net.pid(0);
    let api = net.apis[0].clone();
    let addr: SocketAddr = api.trim_start_matches("http://").parse().unwrap();
    let base_fds = open_fds(pid);
    let mut rows = vec![honest_load(&api, pid, SECONDS, 1).await.row("no attack")];
    let phases: [(&str, &[Attack]); 6] = [
        ("2,000 idle connections, one address", &[Attack::Idle]),
        ("200 slowloris heads + 50 slow bodies", &[Attack::Slowloris]),
        ("600 stream subscribers at the tip", &[Attack::TipStreams]),
        ("600 stream subscribers from height 1", &[Attack::Streams]),
        ("1 MiB nested JSON + 2,000-tx batches", &[Attack::Bodies]),
        (
            "all of them at once",
            &[
                Attack::Idle,
                Attack::Slowloris,
                Attack::Streams,
                Attack::Bodies,
            ],
        ),
    ];
    for (namespace, (name, attacks)) in (2..).zip(phases) {
        let mut tasks = JoinSet::new();
        for &attack in attacks {
            start_attack(attack, &api, addr, &mut tasks);
        }
        // Let the attack build up, then measure.
        tokio::time::sleep(Duration::from_secs(3)).await;
        rows.push(honest_load(&api, pid, SECONDS, namespace).await.row(name));
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        wait_closed(pid, base_fds, name).await;
    }
    println!("| attack | honest req/s | p50 ms | p99 ms | failed | node CPU | node open files | node peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
