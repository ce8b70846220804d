//! `ordo stake ...`: a staker's commands against the L1 `StakeTable`.

use std::path::PathBuf;

use alloy_primitives::utils::parse_ether;
use alloy_primitives::U256;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use ordo_l1::Staker;
use ordo_types::Address;

use crate::config::{l1_signer, GenesisL1, KeyFile};

/// Where the `StakeTable` is and who sends.
#[derive(Args, Clone, Debug)]
pub(crate) struct StakeCommon {
    /// L1 JSON-RPC URL.
    #[arg(long)]
    l1_rpc: String,
    /// Key file of the sending account (the operator for `register`).
    #[arg(long)]
    key: PathBuf,
    /// `StakeTable` address (default: the one named in `--genesis`).
    #[arg(long)]
    stake_table: Option<Address>,
    /// A genesis file naming the L1 contracts.
    #[arg(long)]
    genesis: Option<PathBuf>,
}

/// `ordo stake ...`
#[derive(Subcommand)]
pub(crate) enum StakeCommand {
    /// Register a validator (its consensus key proves possession) with a self-stake.
    Register {
        #[command(flatten)]
        common: StakeCommon,
        /// The validator's consensus key file (default: `--key`, one key for both).
        #[arg(long)]
        validator_key: Option<PathBuf>,
        /// Self-stake, in ETH (at least the table's minimum).
        #[arg(long)]
        amount: String,
        /// The validator's libp2p address, published for discovery.
        #[arg(long, default_value = "/ip4/127.0.0.1/tcp/26650")]
        p2p: String,
        /// The validator's API URL, published for discovery.
        #[arg(long, default_value = "http://127.0.0.1:8650")]
        api: String,
    },
    /// Add stake to a validator (self-stake for its operator, a delegation otherwise).
    Add {
        #[command(flatten)]
        common: StakeCommon,
        /// The validator (default: the address of `--key`).
        #[arg(long)]
        validator: Option<Address>,
        /// Amount, in ETH.
        #[arg(long)]
        amount: String,
    },
    /// Move all of this account's stake in a validator into an exit request (prints its id).
    Unstake {
        #[command(flatten)]
        common: StakeCommon,
        /// The validator (default: the address of `--key`).
        #[arg(long)]
        validator: Option<Address>,
    },
    /// Withdraw an exit request after its exit delay.
    Withdraw {
        #[command(flatten)]
        common: StakeCommon,
        /// The exit request id `unstake` printed.
        #[arg(long)]
        id: u64,
    },
    /// A validator's standing (JSON): registered, jailed, eligible, stakes in wei.
    Status {
        #[command(flatten)]
        common: StakeCommon,
        /// The validator (default: the address of `--key`).
        #[arg(long)]
        validator: Option<Address>,
    },
}

fn eth(amount: &str) -> anyhow::Result<U256> {
    let wei = parse_ether(amount).with_context(|| format!("{amount:?} is not an ETH amount"))?;
    if wei.is_zero() {
        bail!("the amount must be above zero");
    }
    Ok(wei)
}

fn open(common: &StakeCommon) -> anyhow::Result<(Staker, Address)> {
    let key = KeyFile::load(&common.key)?;
    let stake_table = match (common.stake_table, &common.genesis) {
        (Some(address), _) => address,
        (None, Some(path)) => GenesisL1::load(path)?.stake_table,
        (None, None) => bail!("give --stake-table ADDRESS or --genesis FILE"),
    };
    let signer = l1_signer(&key)?;
    Ok((
        Staker::new(&common.l1_rpc, signer, stake_table)?,
        key.address(),
    ))
}

pub(crate) async fn run(command: StakeCommand) -> anyhow::Result<()> {
    match command {
        StakeCommand::Register {
            common,
            validator_key,
            amount,
            p2p,
            api,
        } => {
            let (staker, _) = open(&common)?;
            let key = KeyFile::load(validator_key.as_ref().unwrap_or(&common.key))?;
            let tx = staker.register(&key, &p2p, &api, eth(&amount)?).await?;
            println!(
                "{}",
                serde_json::json!({ "validator": key.address(), "tx": tx })
            );
        }
        StakeCommand::Add {
            common,
            validator,
            amount,
        } => {
            let (staker, me) = open(&common)?;
            let tx = staker.stake(validator.unwrap_or(me), eth(&amount)?).await?;
            println!("{}", serde_json::json!({ "tx": tx }));
        }
        StakeCommand::Unstake { common, validator } => {
            let (staker, me) = open(&common)?;
            let id = staker.unstake_all(validator.unwrap_or(me)).await?;
            println!("{}", serde_json::json!({ "id": id }));
        }
        StakeCommand::Withdraw { common, id } => {
            let (staker, _) = open(&common)?;
            let tx = staker.withdraw(U256::from(id)).await?;
            println!("{}", serde_json::json!({ "tx": tx }));
        }
        StakeCommand::Status { common, validator } => {
            let (staker, me) = open(&common)?;
            let standing = staker.standing(validator.unwrap_or(me)).await?;
            println!("{}", serde_json::to_string_pretty(&standing)?);
        }
    }
    Ok(())
}
