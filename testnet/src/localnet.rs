//! A local network of real `ordo node` processes, created with `ordo init`, that a benchmark or
//! a fault scenario can start, kill, restart and partition, optionally with a local Anvil L1
//! behind a proxy that can cut it. The nodes share 127.0.0.1, or each has its own network
//! namespace ([`Hosts`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use tokio::process::{Child, Command};

use crate::client::{self, http, BlockTxs};
use crate::load::Target;
use crate::netns::Hosts;
use crate::proxy::{LinkState, Links};
use ordo_l1::process::{start_anvil, ANVIL_DEV_ADDRESS, ANVIL_DEV_KEY};

/// How to build the network.
#[derive(Clone, Debug)]
pub(crate) struct NetSpec {
    /// The `ordo` executable.
    pub(crate) exe: PathBuf,
    /// Directory for the network (deleted first).
    pub(crate) dir: PathBuf,
    /// Validators (each its own process).
    pub(crate) validators: usize,
    /// Full nodes besides the validators (`node{validators}`, ...).
    pub(crate) full_nodes: usize,
    /// Route every node-to-node connection through a [`Links`] proxy.
    pub(crate) proxied: bool,
    /// Config settings: `(node or every node, dotted key such as "limits.max_block_bytes",
    /// value)`.
    pub(crate) settings: Vec<(Option<usize>, String, toml::Value)>,
    /// Give the network an L1: a local Anvil with the contracts deployed by `ordo l1 deploy`,
    /// named in the genesis, that every node reaches through a proxy that can cut it.
    pub(crate) l1: bool,
    /// Deal the network an encryption key (`ordo init --encryption`): the raw rollups take
    /// encrypted transactions.
    pub(crate) encryption: bool,
    /// Put every node in its own network namespace ([`Hosts`]) instead of all on 127.0.0.1.
    pub(crate) netns: bool,
}

/// The network's L1: an Anvil and the proxy every node reaches it through.
pub(crate) struct LocalL1 {
    anvil: Child,
    /// One link, `{0, 1}`: the nodes' side and Anvil.
    proxy: Links,
    /// The proxy's port.
    port: u16,
}

/// The Inbox's force-inclusion delay `ordo l1 deploy` sets, L1 blocks.
const DEPLOY_INCLUSION_DELAY: u64 = 10;

/// One node process.
pub(crate) struct LocalNode {
    pub(crate) name: String,
    pub(crate) home: PathBuf,
    pub(crate) api: String,
    child: Option<Child>,
}

/// A running local network.
pub(crate) struct LocalNet {
    exe: PathBuf,
    pub(crate) chain_id: u64,
    pub(crate) nodes: Vec<LocalNode>,
    /// The links between nodes, when proxied.
    pub(crate) links: Option<Links>,
    /// The L1, when the spec asked for one.
    l1: Option<LocalL1>,
    client: reqwest::Client,
    /// The nodes' namespaces, when they have their own; last, so that it is dropped after the
    /// processes in it.
    hosts: Option<Hosts>,
}

/// A base port such that `count` consecutive ports on 127.0.0.1 are free now, below Linux's
/// ephemeral range (32768 and up) so that no outgoing connection takes one before its node
/// starts.
fn free_ports(count: u16) -> anyhow::Result<u16> {
    for attempt in 0..1000u32 {
        let span = 12_000 - u32::from(count);
        let base = 20_000 + ((std::process::id().wrapping_mul(7919) + attempt * 977) % span) as u16;
        if (0..count).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return Ok(base);
        }
    }
    bail!("no {count} consecutive free ports")
}

/// Sets `a.b.c = value` in a TOML table, creating tables on the way.
pub(crate) fn set_dotted(
    table: &mut toml::Table,
    key: &str,
    value: toml::Value,
) -> anyhow::Result<()> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts
        .pop()
        .filter(|k| !k.is_empty())
        .context("empty config key")?;
    let mut t = table;
    for part in parts {
        t = t
            .entry(part)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .with_context(|| format!("{key}: {part} is not a table"))?;
    }
    t.insert(last.to_owned(), value);
    Ok(())
}

/// Parses `KEY=VALUE` (VALUE as a TOML value: number, boolean, or else a string).
pub(crate) fn parse_setting(s: &str) -> Result<(String, toml::Value), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    let value = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::from(value));
    Ok((key.trim().to_owned(), value))
}

impl LocalNet {
    /// Initialises the network with `ordo init`, rewrites its peers through the proxy if asked,
    /// and starts every node.
    pub(crate) async fn start(spec: &NetSpec) -> anyhow::Result<Self> {
        if spec.dir.exists() {
            std::fs::remove_dir_all(&spec.dir)
                .with_context(|| format!("removing {}", spec.dir.display()))?;
        }
        std::fs::create_dir_all(&spec.dir)?;
        let n = spec.validators + spec.full_nodes;
        let n16 = u16::try_from(n).context("too many validators")?;
        // Three ports per node, and one for Anvil.
        let base = free_ports(3 * n16 + 1)?;
        let hosts = spec.netns.then(|| Hosts::create(n)).transpose()?;
        // Where the nodes reach this process's listeners (the proxies).
        let local = hosts.as_ref().map_or(Ipv4Addr::LOCALHOST, Hosts::gateway);
        // With namespaces, `ordo init --hosts` has every node listen at the base ports on its
        // own address.
        let host_list = hosts.as_ref().map(|h| {
            (0..n)
                .map(|i| h.ip(i).to_string())
                .collect::<Vec<_>>()
                .join(",")
        });
        let node_addr = |i: usize, base: u16| match &hosts {
            Some(h) => SocketAddr::from((h.ip(i), base)),
            None => SocketAddr::from((Ipv4Addr::LOCALHOST, base + i as u16)),
        };
        let out = Command::new(&spec.exe)
            .arg("init")
            .arg("--home")
            .arg(&spec.dir)
            .args(["--validators", &spec.validators.to_string()])
            .args(["--full-nodes", &spec.full_nodes.to_string()])
            .args(["--p2p-port", &base.to_string()])
            .args(["--api-port", &(base + n16).to_string()])
            .args(["--gossip-port", &(base + 2 * n16).to_string()])
            .args(spec.encryption.then_some("--encryption"))
            .args(host_list.iter().flat_map(|h| ["--hosts", h]))
            .stdin(Stdio::null())
            .output()
            .await
            .context("running ordo init")?;
        if !out.status.success() {
            bail!("ordo init failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let genesis: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(spec.dir.join("genesis.json"))?)?;
        let chain_id = genesis["chain_id"]
            .as_u64()
            .context("genesis without chain_id")?;
        let l1 = if spec.l1 {
            Some(start_l1(spec, base + 3 * n16, local).await?)
        } else {
            None
        };
        let l1_url = l1.as_ref().map(|l1| format!("http://{local}:{}", l1.port));
        let mut links = spec.proxied.then(|| Links::new(n).on(local.into()));
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let home = spec.dir.join(format!("node{i}"));
            let path = home.join("config.toml");
            let mut config: toml::Table = std::fs::read_to_string(&path)?.parse()?;
            let api: SocketAddr = config
                .get("api")
                .and_then(|a| a.get("listen"))
                .and_then(|l| l.as_str())
                .context("config without api.listen")?
                .parse()
                .context("api.listen")?;
            let api = match &hosts {
                Some(h) => SocketAddr::from((h.ip(i), api.port())),
                None => api,
            };
            let mut edited = false;
            if let Some(url) = &l1_url {
                set_dotted(
                    &mut config,
                    "l1.rpc.urls",
                    toml::Value::Array(vec![url.clone().into()]),
                )?;
                edited = true;
            }
            for (_, key, value) in spec
                .settings
                .iter()
                .filter(|(n, _, _)| n.is_none_or(|n| n == i))
            {
                set_dotted(&mut config, key, value.clone())?;
                edited = true;
            }
            if let Some(links) = links.as_mut() {
                for section in ["p2p", "gossip"] {
                    let offset = if section == "p2p" { 0 } else { 2 * n16 };
                    let mut peers = Vec::new();
                    for j in (0..n).filter(|j| *j != i) {
                        let port = links.listen(i, j, node_addr(j, base + offset)).await?;
                        peers.push(toml::Value::from(format!("/ip4/{local}/tcp/{port}")));
                    }
                    if let Some(t) = config.get_mut(section).and_then(|s| s.as_table_mut()) {
                        t.insert("peers".into(), toml::Value::Array(peers));
                    }
                }
                edited = true;
            }
            if edited {
                std::fs::write(&path, toml::to_string(&config)?)?;
            }
            nodes.push(LocalNode {
                name: format!("node{i}"),
                home,
                api: format!("http://{api}"),
                child: None,
            });
        }
        let mut net = Self {
            exe: spec.exe.clone(),
            chain_id,
            nodes,
            links,
            l1,
            client: http(),
            hosts,
        };
        for i in 0..n {
            net.start_node(i)?;
        }
        Ok(net)
    }

    /// Sets `key = value` in node `i`'s config (taking effect at its next start).
    pub(crate) fn configure(&self, i: usize, key: &str, value: toml::Value) -> anyhow::Result<()> {
        let path = self.nodes[i].home.join("config.toml");
        let mut config: toml::Table = std::fs::read_to_string(&path)?.parse()?;
        set_dotted(&mut config, key, value)?;
        std::fs::write(&path, toml::to_string(&config)?)?;
        Ok(())
    }

    /// Node `i`'s log so far.
    pub(crate) fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.nodes[i].home.join("node.log")).unwrap_or_default()
    }

    /// The value of an unlabelled metric on node `i`'s `/metrics`, if it answers and has it.
    pub(crate) async fn metric(&self, i: usize, name: &str) -> Option<f64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.nodes[i].api))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        metric_value(&text, name)
    }

    /// Cuts (`true`) or restores (`false`) every node's connection to the L1.
    pub(crate) fn cut_l1(&self, cut: bool) -> anyhow::Result<()> {
        let l1 = self.l1.as_ref().context("the network has no L1")?;
        l1.proxy.set(
            0,
            1,
            LinkState {
                cut,
                ..LinkState::default()
            },
        );
        Ok(())
    }

    /// Starts node `i` (appending to its `node.log`).
    pub(crate) fn start_node(&mut self, i: usize) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        if node.child.is_some() {
            bail!("{} is already running", node.name);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.home.join("node.log"))?;
        let mut command = match &self.hosts {
            Some(hosts) => hosts.command(i, &self.exe),
            None => Command::new(&self.exe),
        };
        let child = command
            .arg("node")
            .arg("--home")
            .arg(&node.home)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG")
                    .unwrap_or_else(|_| "info,libp2p=warn,arc_malachitebft=warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", node.name))?;
        node.child = Some(child);
        Ok(())
    }

    /// Kills node `i` with SIGKILL and reaps it.
    pub(crate) async fn kill_node(&mut self, i: usize) -> anyhow::Result<()> {
        let mut child = self.nodes[i]
            .child
            .take()
            .with_context(|| format!("node{i} is not running"))?;
        child.start_kill()?;
        child.wait().await?;
        Ok(())
    }

    /// Stops node `i` with SIGTERM (SIGKILL after 10 s).
    pub(crate) async fn stop_node(&mut self, i: usize) -> anyhow::Result<()> {
        let mut child = self.nodes[i]
            .child
            .take()
            .with_context(|| format!("node{i} is not running"))?;
        ordo_l1::process::stop(&mut child).await?;
        Ok(())
    }

    /// Whether node `i` is running.
    pub(crate) fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// The nodes as load targets (with their pids).
    pub(crate) fn targets(&self) -> Vec<Target> {
        self.nodes
            .iter()
            .map(|n| Target {
                name: n.name.clone(),
                api: n.api.clone(),
                pid: n.child.as_ref().and_then(Child::id),
            })
            .collect()
    }

    /// Node `i`'s decided height, if it answers.
    pub(crate) async fn height(&self, i: usize) -> Option<u64> {
        client::status(&self.client, &self.nodes[i].api)
            .await
            .ok()
            .map(|s| s.height)
    }

    /// Waits until every running node has decided at least `height`; the time it took.
    pub(crate) async fn wait_all_reach(
        &self,
        height: u64,
        timeout: Duration,
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let mut all = true;
            for i in (0..self.nodes.len()).filter(|i| self.is_running(*i)) {
                if self.height(i).await.unwrap_or(0) < height {
                    all = false;
                    break;
                }
            }
            if all {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                let mut heights = Vec::new();
                for i in 0..self.nodes.len() {
                    heights.push(self.height(i).await);
                }
                bail!("not every node reached height {height} in {timeout:?}: {heights:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The highest height any node reports.
    pub(crate) async fn max_height(&self) -> u64 {
        let mut max = 0;
        for i in 0..self.nodes.len() {
            max = max.max(self.height(i).await.unwrap_or(0));
        }
        max
    }

    /// Every decided block of node `i`, with its transaction hashes.
    pub(crate) async fn chain(&self, i: usize) -> anyhow::Result<Vec<BlockTxs>> {
        let api = &self.nodes[i].api;
        let tip = client::status(&self.client, api).await?.height;
        let mut out = Vec::with_capacity(tip as usize);
        for h in 1..=tip {
            out.push(client::block_txs(&self.client, api, h).await?);
        }
        Ok(out)
    }

    /// Stops every node, then the L1.
    pub(crate) async fn shutdown(&mut self) {
        for i in 0..self.nodes.len() {
            if self.is_running(i) {
                let _ = self.stop_node(i).await;
            }
        }
        if let Some(mut l1) = self.l1.take() {
            let _ = l1.anvil.start_kill();
            let _ = l1.anvil.wait().await;
        }
    }
}

/// Starts Anvil on `port` (a block a second) behind a proxy on `local` (where the nodes reach
/// it), deploys the contracts through `ordo l1 deploy` and writes the genesis `l1` section (no
/// elections: the genesis committee stays) into the network's genesis and every node's copy.
async fn start_l1(spec: &NetSpec, port: u16, local: Ipv4Addr) -> anyhow::Result<LocalL1> {
    let dir = spec.dir.join("l1");
    let anvil = start_anvil(&dir, port, &[])?;
    let rpc = format!("http://127.0.0.1:{port}");
    let key = dir.join("deployer.json");
    std::fs::write(
        &key,
        serde_json::json!({ "address": ANVIL_DEV_ADDRESS, "secret_key": ANVIL_DEV_KEY })
            .to_string(),
    )?;
    let deployment = dir.join("l1-deployment.json");
    // Anvil takes a moment to listen; `ordo l1 deploy` fails until it does.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = Command::new(&spec.exe)
            .args(["l1", "deploy", "--rpc", &rpc])
            .arg("--key")
            .arg(&key)
            .arg("--genesis")
            .arg(spec.dir.join("genesis.json"))
            .arg("--out")
            .arg(&deployment)
            .stdin(Stdio::null())
            .output()
            .await
            .context("running ordo l1 deploy")?;
        if out.status.success() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "ordo l1 deploy failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let d: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&deployment)?)?;
    let l1 = serde_json::json!({
        "chain_id": d["chain_id"],
        "stake_table": d["StakeTable"],
        "inbox": d["Inbox"],
        "light_client": d["LightClient"],
        "start_block": d["deployment_block"],
        "inclusion_delay": DEPLOY_INCLUSION_DELAY,
        "epoch_length": 0,
    });
    let genesis_path = spec.dir.join("genesis.json");
    let mut genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&genesis_path)?)?;
    genesis
        .as_object_mut()
        .context("genesis is not an object")?
        .insert("l1".into(), l1);
    let text = serde_json::to_string_pretty(&genesis)?;
    std::fs::write(&genesis_path, &text)?;
    for i in 0..spec.validators + spec.full_nodes {
        std::fs::write(
            spec.dir.join(format!("node{i}")).join("genesis.json"),
            &text,
        )?;
    }
    let mut proxy = Links::new(2).on(IpAddr::V4(local));
    let proxy_port = proxy
        .listen(0, 1, SocketAddr::from(([127, 0, 0, 1], port)))
        .await?;
    Ok(LocalL1 {
        anvil,
        proxy,
        port: proxy_port,
    })
}

/// The value of `name` (without labels) in a Prometheus text exposition.
fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (n, v) = l.split_once(' ')?;
        (n == name).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn settings_parse_and_apply_dotted_keys() {
        let mut t: toml::Table = "[limits]\nmax_block_bytes = 1\n".parse().unwrap();
        let (k, v) = parse_setting("limits.max_block_bytes=524288").unwrap();
        set_dotted(&mut t, &k, v).unwrap();
        let (k, v) = parse_setting("moniker=abc").unwrap();
        set_dotted(&mut t, &k, v).unwrap();
        let (k, v) = parse_setting("mempool.fsync=true").unwrap();
        set_dotted(&mut t, &k, v).unwrap();
        assert_eq!(t["limits"]["max_block_bytes"].as_integer(), Some(524_288));
        assert_eq!(t["moniker"].as_str(), Some("abc"));
        assert_eq!(t["mempool"]["fsync"].as_bool(), Some(true));
        assert!(parse_setting("no-equals").is_err());
        assert!(set_dotted(&mut t, "moniker.x", toml::Value::from(1)).is_err());
        assert!(set_dotted(&mut t, "", toml::Value::from(1)).is_err());
    }

    #[test]
    fn metric_values_are_read_by_exact_name() {
        let text = "# HELP ordo_l1_confirmed_block x\n# TYPE ordo_l1_confirmed_block gauge\nordo_l1_confirmed_block 42\nordo_l1_confirmed_block_x 7\nordo_height{a=\"b\"} 3\n";
        assert_eq!(metric_value(text, "ordo_l1_confirmed_block"), Some(42.0));
        assert_eq!(metric_value(text, "ordo_l1_confirmed_block_x"), Some(7.0));
        assert_eq!(metric_value(text, "ordo_height"), None);
        assert_eq!(metric_value(text, "missing"), None);
    }
}
