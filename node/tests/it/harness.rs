//! A local network of real `ordo` processes on 127.0.0.1, for tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `ordo` binary under test.
pub(crate) fn ordo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
}

/// `ordo rollup follow` of `namespace` up to `until` from `source` (`--node URL` or `--l1
/// URL`, reading the L1 at depth 0), with the network's `genesis`: the lines it printed.
pub(crate) fn follow(genesis: &Path, source: [&str; 2], namespace: u64, until: u64) -> String {
    let out = ordo()
        .args(["rollup", "follow", source[0], source[1], "--genesis"])
        .arg(genesis)
        .args(["--namespace", &namespace.to_string()])
        .args(["--until", &until.to_string(), "--l1-confirmations", "0"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Sets `section.key = value` in a node's TOML config text (`section` empty for top level).
pub(crate) fn set(text: &mut String, section: &str, key: &str, value: impl Into<toml::Value>) {
    let mut table: toml::Table = text.parse().unwrap();
    let target = if section.is_empty() {
        &mut table
    } else {
        table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
            .unwrap()
    };
    target.insert(key.to_owned(), value.into());
    *text = toml::to_string(&table).unwrap();
}

/// A base port such that `count` consecutive ports are free now. They are taken below Linux's
/// ephemeral range (32768 and up), where Anvil, proxies and every outgoing connection of the
/// tests running alongside get their ports, so none of those can take a node's port before the
/// node starts.
pub(crate) fn free_ports(count: u16) -> u16 {
    loop {
        let base = 20_000 + rand::random::<u16>() % (12_000 - count);
        let free = (0..count).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return base;
        }
    }
}

pub(crate) struct Net {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) homes: Vec<PathBuf>,
    pub(crate) apis: Vec<String>,
    procs: Vec<Option<Child>>,
    pub(crate) client: reqwest::Client,
}

impl Net {
    /// Initialises `validators` validators and `full` full nodes, applies `edit` to each node's
    /// config text, and starts every node.
    pub(crate) fn start(validators: usize, full: usize, edit: impl Fn(usize, &mut String)) -> Net {
        Self::start_with(validators, full, &[], edit)
    }

    /// [`Net::start`] with extra `ordo init` arguments.
    pub(crate) fn start_with(
        validators: usize,
        full: usize,
        init_args: &[String],
        edit: impl Fn(usize, &mut String),
    ) -> Net {
        let mut net = Self::init_with(validators, full, init_args, edit);
        for i in 0..net.homes.len() {
            net.restart(i);
        }
        net
    }

    /// Applies `edit` to the genesis file and to every node's copy of it (before the start).
    pub(crate) fn edit_genesis(&self, edit: impl Fn(&mut Value)) {
        let paths = std::iter::once(self.dir.path().join("genesis.json"))
            .chain(self.homes.iter().map(|h| h.join("genesis.json")));
        for path in paths {
            let mut genesis: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            edit(&mut genesis);
            std::fs::write(&path, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
        }
    }

    /// Creates a network of `validators` and `full` nodes with `ordo init` (plus `init_args`)
    /// without starting it; `edit` adjusts each node's config.
    pub(crate) fn init_with(
        validators: usize,
        full: usize,
        init_args: &[String],
        edit: impl Fn(usize, &mut String),
    ) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let total = validators + full;
        let ports = free_ports(3 * total as u16);
        let status = ordo()
            .args(["init", "--home"])
            .arg(dir.path())
            .args(["--validators", &validators.to_string()])
            .args(["--full-nodes", &full.to_string()])
            .args(["--p2p-port", &ports.to_string()])
            .args(["--api-port", &(ports + total as u16).to_string()])
            .args(["--gossip-port", &(ports + 2 * total as u16).to_string()])
            .args(init_args)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "ordo init failed");
        let homes: Vec<PathBuf> = (0..total)
            .map(|i| dir.path().join(format!("node{i}")))
            .collect();
        for (i, home) in homes.iter().enumerate() {
            let path = home.join("config.toml");
            let mut text = std::fs::read_to_string(&path).unwrap();
            edit(i, &mut text);
            std::fs::write(&path, text).unwrap();
        }
        let apis = (0..total)
            .map(|i| format!("http://127.0.0.1:{}", ports + (total + i) as u16))
            .collect();
        Net {
            dir,
            homes,
            apis,
            procs: (0..total).map(|_| None).collect(),
            client: reqwest::Client::new(),
        }
    }

    /// Starts (or restarts) node `i`, appending to its log.
    pub(crate) fn restart(&mut self, i: usize) {
        assert!(self.procs[i].is_none(), "node {i} is running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.homes[i].join("node.log"))
            .unwrap();
        let child = ordo()
            .arg("node")
            .arg("--home")
            .arg(&self.homes[i])
            .env("RUST_LOG", "info,libp2p=warn,arc_malachitebft=warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.procs[i] = Some(child);
    }

    /// Waits up to `timeout` for node `i` to exit by itself; its exit status, if it did.
    pub(crate) async fn wait_exit(
        &mut self,
        i: usize,
        timeout: Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let child = self.procs[i].as_mut().expect("node is running");
            if let Some(status) = child.try_wait().unwrap() {
                self.procs[i] = None;
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// Kills node `i` with SIGKILL.
    pub(crate) fn kill(&mut self, i: usize) {
        let mut child = self.procs[i].take().expect("node is running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub(crate) async fn get(&self, i: usize, path: &str) -> Option<Value> {
        let resp = self
            .client
            .get(format!("{}{path}", self.apis[i]))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().await.ok()
    }

    /// The value of `series` (a metric's name with its labels) in node `i`'s `/metrics`.
    pub(crate) async fn metric(&self, i: usize, series: &str) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.apis[i]))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let prefix = format!("{series} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {series}: {text}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// Node `i`'s `GET /v1/encryption`, once the committee has generated the key.
    pub(crate) async fn wait_encryption(&self, i: usize, timeout: Duration) -> Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(info) = self.get(i, "/v1/encryption").await {
                return info;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "node {i}: no encryption key generated"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn height(&self, i: usize) -> Option<u64> {
        self.get(i, "/v1/status").await?["height"].as_u64()
    }

    pub(crate) async fn block(&self, i: usize, height: u64) -> Option<Value> {
        self.get(i, &format!("/v1/blocks/{height}")).await
    }

    pub(crate) async fn block_hash(&self, i: usize, height: u64) -> Option<String> {
        Some(self.block(i, height).await?["hash"].as_str()?.to_owned())
    }

    /// Waits until every node in `nodes` has decided `height`, or panics after `timeout`.
    pub(crate) async fn wait_height(&self, nodes: &[usize], height: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for &i in nodes {
            loop {
                if self.height(i).await.is_some_and(|h| h >= height) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {i} did not reach height {height} in {timeout:?} (at {:?}); log: {}",
                    self.height(i).await,
                    self.homes[i].join("node.log").display()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Asserts that `nodes` hold identical block hashes at every height in `1..=upto`.
    pub(crate) async fn assert_same_chain(&self, nodes: &[usize], upto: u64) {
        for h in 1..=upto {
            let reference = self.block_hash(nodes[0], h).await;
            assert!(reference.is_some(), "node {} lacks height {h}", nodes[0]);
            for &i in &nodes[1..] {
                assert_eq!(
                    self.block_hash(i, h).await,
                    reference,
                    "nodes {} and {i} differ at height {h}",
                    nodes[0]
                );
            }
        }
    }

    /// The process id of node `i`.
    pub(crate) fn pid(&self, i: usize) -> u32 {
        self.procs[i].as_ref().expect("node is running").id()
    }

    pub(crate) async fn post(
        &self,
        i: usize,
        path: &str,
        body: &impl serde::Serialize,
    ) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}{path}", self.apis[i]))
            .json(body)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Waits until transaction `hash` is included as seen by node `i`; returns its status.
    pub(crate) async fn wait_included(&self, i: usize, hash: &str, timeout: Duration) -> Value {
        self.wait_tx(i, hash, &["included"], timeout).await
    }

    /// Waits until node `i` reports transaction `hash` with one of `statuses`; returns its status.
    pub(crate) async fn wait_tx(
        &self,
        i: usize,
        hash: &str,
        statuses: &[&str],
        timeout: Duration,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.get(i, &format!("/v1/transactions/{hash}")).await;
            if let Some(status) = status
                .as_ref()
                .filter(|s| statuses.iter().any(|w| s["status"] == *w))
            {
                return status.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{hash} not {statuses:?} on node {i}: {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.homes[i].join("node.log")).unwrap_or_default()
    }

    /// The highest height node `i` logged as decided. Complete once the node is killed: a node
    /// logs a decision before it votes at the next height.
    pub(crate) fn logged_height(&self, i: usize) -> u64 {
        self.log(i)
            .lines()
            .filter(|l| l.contains("ordo::consensus: decided "))
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("height="))?
                    .parse()
                    .ok()
            })
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn home(&self, i: usize) -> &Path {
        &self.homes[i]
    }
}

impl Drop for Net {
    /// Stops every node; when a test failed, prints the end of each node's log first, since the
    /// logs go with the temporary directory.
    fn drop(&mut self) {
        for child in self.procs.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            for i in 0..self.homes.len() {
                let log = self.log(i);
                let lines: Vec<&str> = log.lines().collect();
                eprintln!("--- the last lines of node {i}'s log ---");
                for line in &lines[lines.len().saturating_sub(40)..] {
                    eprintln!("{line}");
                }
            }
        }
    }
}
