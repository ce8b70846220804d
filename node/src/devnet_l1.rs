//! The devnet's L1: a local Anvil (unless `--l1 URL` or `--l1 none`), the four contracts,
//! and the genesis validators registered and staked, named in the genesis and every node's
//! config.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use ordo_l1::{DeployParams, L1Client, Staker};
use ordo_types::SecretKey;
use serde::Serialize;
use tokio::process::Child;

use crate::config::{l1_signer, Genesis, GenesisL1, KeyFile, NodeConfig};
use crate::init::InitNode;
use ordo_l1::process::ANVIL_DEV_KEY;

/// The devnet's force-inclusion delay, in L1 blocks (one block per second on its Anvil).
pub(crate) const DEVNET_INCLUSION_DELAY: u64 = 5;

/// Wei each genesis validator stakes on the devnet (2 ETH).
const DEVNET_STAKE_WEI: u64 = 2_000_000_000_000_000_000;

/// Anvil's tenth development account: the devnet's batcher posts with it, apart from the
/// account that deploys and funds, so that nothing else races its nonces.
const ANVIL_BATCHER_KEY: &str =
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

/// The key the devnet's batcher posts with: `--l1-key`'s, or Anvil's tenth account.
pub(crate) fn batcher_key(options: &L1Options) -> anyhow::Result<SecretKey> {
    match &options.key {
        Some(path) => KeyFile::load(path),
        None => Ok(SecretKey::from_bytes(
            &ANVIL_BATCHER_KEY.parse::<ordo_types::B256>()?.0,
        )?),
    }
}

/// The `l1` object of `devnet.json`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DevnetL1Info {
    /// L1 JSON-RPC URL.
    pub(crate) rpc: String,
    /// Contract addresses by name.
    #[serde(rename = "StakeTable")]
    pub(crate) stake_table: ordo_types::Address,
    #[serde(rename = "Inbox")]
    pub(crate) inbox: ordo_types::Address,
    #[serde(rename = "LightClient")]
    pub(crate) light_client: ordo_types::Address,
    #[serde(rename = "BatchInbox", skip_serializing_if = "Option::is_none")]
    pub(crate) batch_inbox: Option<ordo_types::Address>,
}

/// The devnet's running L1.
pub(crate) struct DevnetL1 {
    /// The Anvil the devnet started, if it started one.
    anvil: Option<Child>,
    /// What `devnet.json` lists.
    pub(crate) info: DevnetL1Info,
}

impl DevnetL1 {
    /// Stops the devnet's Anvil (SIGTERM, so it writes its state file).
    pub(crate) async fn stop(mut self) {
        if let Some(child) = &mut self.anvil {
            let _ = ordo_l1::process::stop(child).await;
        }
    }
}

/// How the devnet gets its L1.
#[derive(Clone, Debug)]
pub(crate) struct L1Options {
    /// `--l1`: a URL, `none`, or unset (start Anvil).
    pub(crate) l1: Option<String>,
    /// Port of the Anvil the devnet starts.
    pub(crate) port: u16,
    /// Key file paying for deployment and funding validators (default: Anvil's first account).
    pub(crate) key: Option<PathBuf>,
    /// Ordo blocks per epoch; 0 keeps the genesis committee (no elections).
    pub(crate) epoch_length: u64,
}

/// Starts Anvil on 127.0.0.1:`port` with a block a second, keeping its state in `dir`.
async fn start_anvil(dir: &Path, port: u16) -> anyhow::Result<(Child, String)> {
    let state = dir.join("anvil-state.json");
    let child = ordo_l1::process::start_anvil(dir, port, &["--state".as_ref(), state.as_os_str()])
        .context("starting the devnet's L1 (or pass --l1 URL or --l1 none)")?;
    let rpc = format!("http://127.0.0.1:{port}");
    let client = L1Client::single(&rpc)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.chain_id().await.is_err() {
        if Instant::now() > deadline {
            bail!(
                "anvil did not answer on {rpc}; see {}",
                dir.join("anvil.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok((child, rpc))
}

/// Brings up the devnet's L1: on a fresh devnet, deploys, registers and stakes the validators
/// and writes the genesis `l1` section and each node's `[l1.rpc]`; on a resumed one, restarts
/// its Anvil. `None` for `--l1 none` (or a devnet created without an L1).
pub(crate) async fn prepare(
    home: &Path,
    options: &L1Options,
    nodes: &[InitNode],
) -> anyhow::Result<Option<DevnetL1>> {
    let genesis_path = home.join("genesis.json");
    let mut genesis = Genesis::load(&genesis_path)?;
    let wants_none = options.l1.as_deref() == Some("none");
    if let Some(l1) = &genesis.l1 {
        if wants_none {
            bail!(
                "this devnet was created with an L1; start it without --l1 none, or with --fresh"
            );
        }
        // Resuming: the nodes' configs already name the RPC.
        let rpc = match &options.l1 {
            Some(url) => url.clone(),
            None => {
                let port = nodes
                    .first()
                    .and_then(|n| n.config.l1.rpc.urls.first())
                    .and_then(|u| u.rsplit(':').next())
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(options.port);
                let (child, rpc) = start_anvil(&home.join("l1"), port).await?;
                return Ok(Some(DevnetL1 {
                    anvil: Some(child),
                    info: info(&rpc, l1),
                }));
            }
        };
        return Ok(Some(DevnetL1 {
            anvil: None,
            info: info(&rpc, l1),
        }));
    }
    if wants_none {
        return Ok(None);
    }
    let (anvil, rpc) = match &options.l1 {
        Some(url) => (None, url.clone()),
        None => {
            let (child, rpc) = start_anvil(&home.join("l1"), options.port).await?;
            (Some(child), rpc)
        }
    };
    let payer = match &options.key {
        Some(path) => KeyFile::load(path)?,
        None => SecretKey::from_bytes(&ANVIL_DEV_KEY.parse::<ordo_types::B256>()?.0)?,
    };
    let payer_signer = l1_signer(&payer)?;
    let mut params = DeployParams::devnet(genesis.chain_id, &genesis.validators, payer.address());
    params.inbox.inclusion_delay_blocks = DEVNET_INCLUSION_DELAY;
    let deployment = ordo_l1::deploy(&rpc, payer_signer.clone(), &params)
        .await
        .with_context(|| format!("deploying the contracts through {rpc}"))?;
    println!(
        "L1 {rpc}: StakeTable {}, Inbox {}, LightClient {}, BatchInbox {}",
        deployment.stake_table, deployment.inbox, deployment.light_client, deployment.batch_inbox
    );
    let stake = alloy_primitives::U256::from(DEVNET_STAKE_WEI);
    for node in nodes {
        let Some(key_path) = &node.config.validator_key else {
            continue;
        };
        let key = KeyFile::load(&node.home.join(key_path))?;
        // The consensus key is also the operator account: it stakes, and can be slashed.
        ordo_l1::transfer(
            &rpc,
            payer_signer.clone(),
            key.address(),
            stake * alloy_primitives::U256::from(2),
        )
        .await
        .context("funding a validator")?;
        Staker::new(&rpc, l1_signer(&key)?, deployment.stake_table)?
            .register(
                &key,
                &node.config.p2p.listen,
                &format!("http://{}", node.config.api.listen),
                stake,
            )
            .await
            .with_context(|| format!("registering {}", node.name))?;
    }
    let l1 = GenesisL1 {
        chain_id: deployment.chain_id,
        stake_table: deployment.stake_table,
        inbox: deployment.inbox,
        light_client: deployment.light_client,
        batch_inbox: Some(deployment.batch_inbox),
        start_block: deployment.deployment_block,
        inclusion_delay: DEVNET_INCLUSION_DELAY,
        epoch_length: options.epoch_length,
        activation_epochs: 2,
        max_committee: 100,
        min_stake_wei: params.stake_table.min_stake.to_string(),
    };
    genesis.l1 = Some(l1.clone());
    let text = serde_json::to_string_pretty(&genesis)?;
    std::fs::write(&genesis_path, &text)?;
    for node in nodes {
        std::fs::write(node.home.join(&node.config.genesis), &text)?;
        let mut config = NodeConfig::load(&node.home)?;
        config.l1.rpc.urls = vec![rpc.clone()];
        std::fs::write(
            node.home.join("config.toml"),
            toml::to_string_pretty(&config)?,
        )?;
    }
    Ok(Some(DevnetL1 {
        anvil,
        info: info(&rpc, &l1),
    }))
}

fn info(rpc: &str, l1: &GenesisL1) -> DevnetL1Info {
    DevnetL1Info {
        rpc: rpc.to_owned(),
        stake_table: l1.stake_table,
        inbox: l1.inbox,
        light_client: l1.light_client,
        batch_inbox: l1.batch_inbox,
    }
}
