//! `ordo l1 ...`: the L1 side (contracts) of a network.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::Subcommand;
use ordo_l1::DeployParams;
use ordo_types::{CommitCertificate, Header, ValidatorSet};

use crate::config::{l1_signer, Genesis, GenesisL1, KeyFile};

#[path = "batcher.rs"]
mod batcher;

/// `ordo l1 ...`
#[derive(Subcommand)]
pub(crate) enum L1Command {
    /// Deploy StakeTable, Inbox, LightClient and BatchInbox and write their addresses to a JSON file.
    Deploy {
        /// L1 JSON-RPC URL (Anvil locally, any Ethereum RPC elsewhere).
        #[arg(long)]
        rpc: String,
        /// Key file of the deployer (pays gas; receives the inbox fees).
        #[arg(long)]
        key: PathBuf,
        /// The network's genesis file: its chain id and first committee go into the contracts.
        #[arg(long)]
        genesis: PathBuf,
        /// Where to write the addresses.
        #[arg(long, default_value = "l1-deployment.json")]
        out: PathBuf,
    },
    /// Relay committee rotations and certified blocks from a node to the LightClient.
    Relay(RelayArgs),
    /// Post the decided chain to the BatchInbox (blobs or calldata), resuming from what the
    /// L1 holds.
    Batch(batcher::BatchArgs),
}

pub(crate) async fn run(command: L1Command) -> anyhow::Result<()> {
    match command {
        L1Command::Deploy {
            rpc,
            key,
            genesis,
            out,
        } => {
            let key = KeyFile::load(&key)?;
            let genesis = Genesis::load(&genesis)?;
            let signer = l1_signer(&key)?;
            let params = DeployParams::devnet(genesis.chain_id, &genesis.validators, key.address());
            let deployment = ordo_l1::deploy(&rpc, signer, &params).await?;
            deployment.write_json(&out)?;
            println!("{}", serde_json::to_string_pretty(&deployment)?);
            Ok(())
        }
        L1Command::Relay(args) => relay(args).await,
        L1Command::Batch(args) => batcher::run(args).await,
    }
}

/// Arguments of `ordo l1 relay`.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct RelayArgs {
    /// An Ordo node's API.
    #[arg(long)]
    node: String,
    /// L1 JSON-RPC URL.
    #[arg(long)]
    l1_rpc: String,
    /// Key file of the account that pays for the L1 transactions.
    #[arg(long)]
    key: PathBuf,
    /// The `LightClient` address (default: the one named in `--genesis`).
    #[arg(long)]
    light_client: Option<ordo_types::Address>,
    /// A genesis file naming the L1 contracts.
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// Pause between passes, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    interval_ms: u64,
    /// Stop once the light client holds this height (default: run until stopped).
    #[arg(long)]
    until: Option<u64>,
}

async fn get_json(http: &reqwest::Client, url: String) -> anyhow::Result<serde_json::Value> {
    Ok(http
        .get(&url)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()
        .with_context(|| format!("GET {url}"))?
        .json()
        .await?)
}

/// A decided block as the API serves it: header (rebuilt and checked against the block hash),
/// certificate, and the committee that decided it.
async fn certified(
    http: &reqwest::Client,
    node: &str,
    height: u64,
) -> anyhow::Result<(Header, CommitCertificate, ValidatorSet)> {
    let b = get_json(http, format!("{node}/v1/blocks/{height}")).await?;
    let field = |name: &str| -> anyhow::Result<serde_json::Value> {
        b.get(name)
            .cloned()
            .with_context(|| format!("block {height} lacks {name}"))
    };
    let header = Header {
        chain_id: serde_json::from_value(field("chain_id")?)?,
        height: serde_json::from_value(field("height")?)?,
        epoch: serde_json::from_value(field("epoch")?)?,
        timestamp_ms: serde_json::from_value(field("timestamp_ms")?)?,
        parent_hash: serde_json::from_value(field("parent_hash")?)?,
        proposer: serde_json::from_value(field("proposer")?)?,
        namespace_root: serde_json::from_value(field("namespace_root")?)?,
        tx_count: serde_json::from_value(field("tx_count")?)?,
        validators_hash: serde_json::from_value(field("validators_hash")?)?,
        next_validators_hash: serde_json::from_value(field("next_validators_hash")?)?,
        l1_origin_number: serde_json::from_value(field("l1_origin_number")?)?,
        l1_origin_hash: serde_json::from_value(field("l1_origin_hash")?)?,
        inbox_cursor: serde_json::from_value(field("inbox_cursor")?)?,
        bundle_root: serde_json::from_value(field("bundle_root")?)?,
        encryption_key_hash: serde_json::from_value(field("encryption_key_hash")?)?,
    };
    let hash: ordo_types::B256 = serde_json::from_value(field("hash")?)?;
    if header.hash() != hash {
        bail!("block {height}: the header fields do not hash to {hash}");
    }
    let certificate: CommitCertificate = serde_json::from_value(field("certificate")?)?;
    if certificate.block_hash != hash || certificate.height != height {
        bail!("block {height}: the certificate is for another block");
    }
    let committee = get_json(http, format!("{node}/v1/validators?height={height}")).await?;
    let set: ValidatorSet = serde_json::from_value(committee["current"]["validators"].clone())
        .with_context(|| format!("committee of height {height}"))?;
    if set.hash() != header.validators_hash {
        bail!("block {height}: the node's committee does not match the header");
    }
    certificate
        .verify(header.chain_id, &set)
        .with_context(|| format!("block {height}: certificate"))?;
    Ok((header, certificate, set))
}

/// `ordo l1 relay`: keeps the `LightClient` on the committee of the chain and its latest
/// block. Each pass walks the heights after the last one it checked; a header announcing a
/// different next committee is sent as a rotation; then the node's tip is submitted.
pub(crate) async fn relay(args: RelayArgs) -> anyhow::Result<()> {
    let key = KeyFile::load(&args.key)?;
    let address = match (args.light_client, &args.genesis) {
        (Some(a), _) => a,
        (None, Some(path)) => GenesisL1::load(path)?.light_client,
        (None, None) => bail!("give --light-client ADDRESS or --genesis FILE"),
    };
    let signer = l1_signer(&key)?;
    let lc = ordo_l1::LightClientRelay::new(&args.l1_rpc, signer, address)?;
    let http = reqwest::Client::new();
    let node = args.node.trim_end_matches('/').to_owned();
    let mut next = lc.state().await?.rotation_height + 1;
    loop {
        let tip = get_json(&http, format!("{node}/v1/status")).await?["height"]
            .as_u64()
            .context("status without height")?;
        while next <= tip {
            let (header, cert, set) = certified(&http, &node, next).await?;
            if header.next_validators_hash != header.validators_hash
                && header.validators_hash == lc.state().await?.committee_hash
            {
                let (_, _, new_set) = certified(&http, &node, next + 1).await?;
                let tx = lc.rotate(&header, &cert, &set, &new_set).await?;
                println!(
                    "{}",
                    serde_json::json!({ "rotated_at": next, "committee": new_set.hash(), "tx": tx })
                );
            }
            next += 1;
        }
        let state_now = lc.state().await?;
        if tip > state_now.latest_height && tip > state_now.rotation_height {
            let (header, cert, set) = certified(&http, &node, tip).await?;
            if header.validators_hash == state_now.committee_hash {
                let tx = lc.submit_block(&cert, &set).await?;
                println!("{}", serde_json::json!({ "submitted": tip, "tx": tx }));
            }
        }
        if let Some(until) = args.until {
            if lc.state().await?.latest_height >= until {
                return Ok(());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(args.interval_ms)).await;
    }
}
