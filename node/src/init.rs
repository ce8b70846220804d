//! `ordo init`: keys, a genesis file and one node home per node.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use clap::Args;
use ordo_types::{SecretKey, Validator, ValidatorSet};

use crate::config::{Genesis, KeyFile, NodeConfig, P2pConfig};
use ordo_rollup_adapters::RegisteredRollup;

/// Arguments of `ordo init`.
#[derive(Args, Clone, Debug)]
pub(crate) struct InitArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    pub(crate) validators: usize,
    /// Number of full nodes (no validator key) besides the validators.
    #[arg(long, default_value_t = 0)]
    pub(crate) full_nodes: usize,
    /// Directory to create the node homes in (`DIR/node0`, `DIR/node1`, ...).
    #[arg(long)]
    pub(crate) home: PathBuf,
    /// Chain id.
    #[arg(long, default_value_t = 1337)]
    pub(crate) chain_id: u64,
    /// First p2p port; node `i` listens on `BASE + i`.
    #[arg(long, default_value_t = 26650)]
    pub p2p_port: u16,
    /// First API port; node `i` serves on `BASE + i`.
    #[arg(long, default_value_t = 8650)]
    pub(crate) api_port: u16,
    /// First gossip port; node `i` gossips on `BASE + i`.
    #[arg(long, default_value_t = 27650)]
    pub(crate) gossip_port: u16,
    /// Number of rollups to register, as namespaces 1..=N (`raw` adapter).
    #[arg(long, default_value_t = 8)]
    pub(crate) rollups: u64,
    /// Register an EVM rollup with this chain id (its namespace is the chain id too);
    /// repeatable.
    #[arg(long = "evm-rollup")]
    pub(crate) evm_rollups: Vec<u64>,
    /// An EVM rollup's execution node, `NAMESPACE=URL`, written into every node's config for
    /// JSON-RPC forwarding; repeatable.
    #[arg(long = "execution-rpc", value_parser = parse_execution_rpc)]
    pub(crate) execution_rpc: Vec<ordo_api::ExecutionRpc>,
    /// One IP address per node, comma-separated, for a network across machines: every node
    /// then listens on all interfaces at the base ports (p2p, gossip, API) and reaches node
    /// `i` at `hosts[i]`. Without it, every node is on 127.0.0.1 at `BASE + i`.
    #[arg(long, value_delimiter = ',')]
    pub(crate) hosts: Vec<std::net::IpAddr>,
    /// Give the network the encrypted lane and register its rollups as taking encrypted
    /// transactions (docs/ENCRYPTION.md): the validators generate the key among themselves
    /// once the network starts; nobody ever holds it whole.
    #[arg(long)]
    pub(crate) encryption: bool,
}

fn parse_execution_rpc(s: &str) -> Result<ordo_api::ExecutionRpc, String> {
    let (namespace, url) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not NAMESPACE=URL"))?;
    Ok(ordo_api::ExecutionRpc {
        namespace: namespace
            .parse()
            .map_err(|e| format!("namespace {namespace:?}: {e}"))?,
        url: url.into(),
    })
}

/// The multiaddr of TCP `port` at `ip`.
fn tcp_multiaddr(ip: std::net::IpAddr, port: u16) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => format!("/ip4/{v4}/tcp/{port}"),
        std::net::IpAddr::V6(v6) => format!("/ip6/{v6}/tcp/{port}"),
    }
}

/// One initialised node.
#[derive(Clone, Debug)]
pub(crate) struct InitNode {
    /// Node name.
    pub(crate) name: String,
    /// Its home.
    pub(crate) home: PathBuf,
    /// Its config.
    pub(crate) config: NodeConfig,
    /// Its validator address, if a validator.
    pub(crate) address: Option<ordo_types::Address>,
}

/// Blocks in each window of a key-generation round that `ordo init --encryption` sets: a
/// round takes four windows, about six seconds at the default block time.
pub(crate) const KEYGEN_WINDOW: u64 = 8;

fn port(base: u16, i: usize) -> anyhow::Result<u16> {
    u16::try_from(i)
        .ok()
        .and_then(|i| base.checked_add(i))
        .context("port out of range")
}

/// Creates the network in `args.home`.
pub(crate) fn run(args: &InitArgs) -> anyhow::Result<Vec<InitNode>> {
    if args.validators == 0 {
        bail!("a network needs at least one validator");
    }
    if args.home.join("genesis.json").exists() {
        bail!("{} is already initialised", args.home.display());
    }
    let keys: Vec<SecretKey> = (0..args.validators).map(|_| SecretKey::random()).collect();
    let validators = ValidatorSet::new(
        keys.iter()
            .map(|k| Validator::new(k.public_key(), 100))
            .collect(),
    )?;
    let encryption = args.encryption.then_some(ordo_chain::KeygenParams {
        window: KEYGEN_WINDOW,
    });
    let genesis = Genesis {
        chain_id: args.chain_id,
        genesis_time_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)?
            .as_millis()
            .try_into()?,
        validators: validators.clone(),
        rollups: (1..=args.rollups)
            .map(|namespace| RegisteredRollup {
                namespace,
                name: format!("rollup-{namespace}"),
                adapter: "raw".into(),
                chain_id: None,
                encrypted: args.encryption,
            })
            .chain(args.evm_rollups.iter().map(|&chain_id| RegisteredRollup {
                namespace: chain_id,
                name: format!("evm-{chain_id}"),
                adapter: "evm".into(),
                chain_id: Some(chain_id),
                encrypted: args.encryption,
            }))
            .collect(),
        l1: None,
        encryption,
    };
    let total = args.validators + args.full_nodes;
    if !args.hosts.is_empty() && args.hosts.len() != total {
        bail!(
            "--hosts names {} addresses for {total} nodes",
            args.hosts.len()
        );
    }
    let spread = !args.hosts.is_empty();
    // Where node `i` is reached, and where it listens.
    let addr = |base: u16, i: usize| -> anyhow::Result<String> {
        Ok(match args.hosts.get(i) {
            Some(ip) => tcp_multiaddr(*ip, base),
            None => format!("/ip4/127.0.0.1/tcp/{}", port(base, i)?),
        })
    };
    let listen = |base: u16, i: usize| -> anyhow::Result<String> {
        match args.hosts.get(i) {
            Some(ip) if ip.is_ipv6() => Ok(format!("/ip6/::/tcp/{base}")),
            Some(_) => Ok(format!("/ip4/0.0.0.0/tcp/{base}")),
            None => addr(base, i),
        }
    };
    let p2p_addrs: Vec<String> = (0..total)
        .map(|i| addr(args.p2p_port, i))
        .collect::<anyhow::Result<_>>()?;
    let gossip_addrs: Vec<String> = (0..total)
        .map(|i| addr(args.gossip_port, i))
        .collect::<anyhow::Result<_>>()?;
    let genesis_json = serde_json::to_string_pretty(&genesis)?;
    std::fs::create_dir_all(&args.home)?;
    std::fs::write(args.home.join("genesis.json"), &genesis_json)?;

    let mut nodes = Vec::with_capacity(total);
    for i in 0..total {
        let name = format!("node{i}");
        let home = args.home.join(&name);
        std::fs::create_dir_all(&home)?;
        std::fs::write(home.join("genesis.json"), &genesis_json)?;
        let key = keys.get(i);
        if let Some(key) = key {
            KeyFile::new(key).save(&home.join("validator_key.json"))?;
        }
        let config = NodeConfig {
            moniker: name.clone(),
            validator_key: key.map(|_| "validator_key.json".into()),
            p2p: P2pConfig {
                listen: listen(args.p2p_port, i)?,
                peers: p2p_addrs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, a)| a.clone())
                    .collect(),
            },
            gossip: ordo_mempool::GossipConfig {
                listen: listen(args.gossip_port, i)?,
                peers: gossip_addrs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, a)| a.clone())
                    .collect(),
                ..Default::default()
            },
            api: ordo_api::ApiConfig {
                listen: if spread {
                    (std::net::Ipv4Addr::UNSPECIFIED, args.api_port).into()
                } else {
                    ([127, 0, 0, 1], port(args.api_port, i)?).into()
                },
                execution_rpc: args.execution_rpc.clone(),
                ..Default::default()
            },
            ..NodeConfig::default()
        };
        config.save(&home)?;
        nodes.push(InitNode {
            name,
            home,
            config,
            address: key.map(SecretKey::address),
        });
    }
    Ok(nodes)
}

/// Reads back the nodes of an initialised network directory.
pub(crate) fn load(dir: &Path) -> anyhow::Result<Vec<InitNode>> {
    let mut nodes = Vec::new();
    for i in 0.. {
        let name = format!("node{i}");
        let home = dir.join(&name);
        if !home.join("config.toml").exists() {
            break;
        }
        let config = NodeConfig::load(&home)?;
        let address = match &config.validator_key {
            Some(path) => Some(KeyFile::load(&home.join(path))?.address()),
            None => None,
        };
        nodes.push(InitNode {
            name,
            home,
            config,
            address,
        });
    }
    if nodes.is_empty() {
        bail!("no nodes in {}", dir.display());
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(home: &Path, hosts: &str) -> InitArgs {
        InitArgs {
            validators: 3,
            full_nodes: 1,
            home: home.to_owned(),
            chain_id: 7,
            p2p_port: 26650,
            api_port: 8650,
            gossip_port: 27650,
            rollups: 2,
            evm_rollups: Vec::new(),
            execution_rpc: Vec::new(),
            hosts: hosts.split(',').map(|h| h.parse().unwrap()).collect(),
            encryption: false,
        }
    }

    #[test]
    fn encryption_has_the_committee_generate_its_key_and_opens_the_raw_rollups() {
        let dir = tempfile::tempdir().unwrap();
        let args = InitArgs {
            encryption: true,
            hosts: Vec::new(),
            ..args(dir.path(), "10.0.0.1")
        };
        run(&args).unwrap();
        let genesis = Genesis::load(&dir.path().join("genesis.json")).unwrap();
        assert_eq!(
            genesis.encryption,
            Some(ordo_chain::KeygenParams {
                window: KEYGEN_WINDOW
            })
        );
        assert!(genesis.rollups.iter().all(|r| r.encrypted));
        // No key anywhere: every node's home holds its config, genesis and at most its
        // validator key.
        for i in 0..4 {
            let home = dir.path().join(format!("node{i}"));
            let mut files: Vec<String> = std::fs::read_dir(&home)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.ends_with(".json") || f.ends_with(".toml"))
                .collect();
            files.sort();
            let mut expected = vec!["config.toml", "genesis.json"];
            if i < 3 {
                expected.push("validator_key.json");
            }
            assert_eq!(files, expected, "node{i}");
        }
    }

    #[test]
    fn hosts_spread_the_nodes_over_machines() {
        let dir = tempfile::tempdir().unwrap();
        let nodes = run(&args(dir.path(), "10.0.0.1,10.0.0.2,10.0.0.3,fd00::4")).unwrap();
        assert_eq!(nodes.len(), 4);
        let c1 = NodeConfig::load(&dir.path().join("node1")).unwrap();
        assert_eq!(c1.p2p.listen, "/ip4/0.0.0.0/tcp/26650");
        assert_eq!(
            c1.p2p.peers,
            vec![
                "/ip4/10.0.0.1/tcp/26650",
                "/ip4/10.0.0.3/tcp/26650",
                "/ip6/fd00::4/tcp/26650"
            ]
        );
        assert_eq!(c1.gossip.listen, "/ip4/0.0.0.0/tcp/27650");
        assert!(c1
            .gossip
            .peers
            .contains(&"/ip4/10.0.0.1/tcp/27650".to_owned()));
        assert_eq!(c1.api.listen.to_string(), "0.0.0.0:8650");
        let c3 = NodeConfig::load(&dir.path().join("node3")).unwrap();
        assert_eq!(c3.p2p.listen, "/ip6/::/tcp/26650");
        assert!(c3.validator_key.is_none(), "the fourth node is a full node");
    }

    #[test]
    fn a_wrong_number_of_hosts_is_refused_before_writing_anything() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("net");
        let err = run(&args(&home, "10.0.0.1,10.0.0.2")).unwrap_err();
        assert!(err.to_string().contains("2 addresses for 4 nodes"), "{err}");
        assert!(!home.exists());
    }

    #[test]
    fn without_hosts_every_node_is_on_loopback_at_base_plus_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path(), "10.0.0.1");
        a.hosts.clear();
        run(&a).unwrap();
        let c2 = NodeConfig::load(&dir.path().join("node2")).unwrap();
        assert_eq!(c2.p2p.listen, "/ip4/127.0.0.1/tcp/26652");
        assert_eq!(c2.api.listen.to_string(), "127.0.0.1:8652");
    }
}
