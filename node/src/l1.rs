//! `ordo l1 ...`: the L1 side (contracts) of a network.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use ordo_l1::{DeployParams, PrivateKeySigner};

use crate::config::{Genesis, KeyFile};

/// `ordo l1 ...`
#[derive(Subcommand)]
pub(crate) enum L1Command {
    /// Deploy StakeTable, Inbox and LightClient and write their addresses to a JSON file.
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
            let signer = PrivateKeySigner::from_bytes(&key.to_bytes().into())
                .context("the deployer key is not a valid secp256k1 key")?;
            let params = DeployParams::devnet(genesis.chain_id, &genesis.validators, key.address());
            let deployment = ordo_l1::deploy(&rpc, signer, &params).await?;
            deployment.write_json(&out)?;
            println!("{}", serde_json::to_string_pretty(&deployment)?);
            Ok(())
        }
    }
}
