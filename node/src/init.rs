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
    let genesis = Genesis {
        chain_id: args.chain_id,
        genesis_time_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)?
            .as_millis()
            .try_into()?,
        validators,
        rollups: (1..=args.rollups)
            .map(|namespace| RegisteredRollup {
                namespace,
                name: format!("rollup-{namespace}"),
                adapter: "raw".into(),
                chain_id: None,
            })
            .chain(args.evm_rollups.iter().map(|&chain_id| RegisteredRollup {
                namespace: chain_id,
                name: format!("evm-{chain_id}"),
                adapter: "evm".into(),
                chain_id: Some(chain_id),
            }))
            .collect(),
        l1: None,
    };
    let total = args.validators + args.full_nodes;
    let p2p_addrs: Vec<String> = (0..total)
        .map(|i| Ok(format!("/ip4/127.0.0.1/tcp/{}", port(args.p2p_port, i)?)))
        .collect::<anyhow::Result<_>>()?;
    let gossip_addrs: Vec<String> = (0..total)
        .map(|i| Ok(format!("/ip4/127.0.0.1/tcp/{}", port(args.gossip_port, i)?)))
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
                listen: p2p_addrs[i].clone(),
                peers: p2p_addrs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, a)| a.clone())
                    .collect(),
            },
            gossip: ordo_mempool::GossipConfig {
                listen: gossip_addrs[i].clone(),
                peers: gossip_addrs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, a)| a.clone())
                    .collect(),
                ..Default::default()
            },
            api: ordo_api::ApiConfig {
                listen: ([127, 0, 0, 1], port(args.api_port, i)?).into(),
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
