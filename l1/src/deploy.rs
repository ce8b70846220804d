//! Deploying the four contracts and recording where they are.

use crate::error::L1Error;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use ordo_contracts::{BatchInbox, Inbox, LightClient, StakeTable};
use ordo_types::ValidatorSet;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Constructor parameters of the `StakeTable` (all immutable once deployed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StakeTableParams {
    /// Ordo chain id signed into votes (slashing evidence must be for it).
    pub ordo_chain_id: u64,
    /// Minimum operator self-stake, wei.
    pub min_stake: U256,
    /// Minimum delegation position, wei.
    pub min_delegation: U256,
    /// Seconds between an unstake request and its withdrawal.
    pub exit_delay_secs: u64,
    /// Slashed fraction of a validator's stake, basis points (1..=10000).
    pub slash_bps: u16,
    /// Reporter's share of the slashed amount, basis points (0..=10000).
    pub reward_bps: u16,
}

/// Constructor parameters of the `Inbox` (all immutable once deployed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxParams {
    /// Blocks from submission to the inclusion deadline (also the fee window).
    pub inclusion_delay_blocks: u64,
    /// Fee with an empty fee window, wei.
    pub base_fee: U256,
    /// The fee grows by `base_fee` for every `fee_step` items in the current window.
    pub fee_step: u64,
    /// Largest accepted payload, bytes.
    pub max_payload_bytes: u32,
    /// Receiver of swept fees.
    pub fee_recipient: Address,
}

/// One member of the light client's initial committee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitteeMember {
    /// Consensus address.
    pub address: Address,
    /// Voting power.
    pub power: u64,
}

/// Constructor parameters of the `LightClient`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightClientParams {
    /// Ordo chain id (headers and votes carry it).
    pub ordo_chain_id: u64,
    /// Epoch number of the initial committee.
    pub initial_epoch: u64,
    /// The initial committee, ascending addresses (as [`ValidatorSet`] sorts them).
    pub committee: Vec<CommitteeMember>,
    /// L1 blocks without a new Ordo block after which `isLagging()` turns true.
    pub max_lag_blocks: u64,
}

impl LightClientParams {
    /// Parameters whose initial committee is `set`.
    pub fn from_validator_set(
        ordo_chain_id: u64,
        initial_epoch: u64,
        set: &ValidatorSet,
        max_lag_blocks: u64,
    ) -> Self {
        Self {
            ordo_chain_id,
            initial_epoch,
            committee: set
                .validators()
                .iter()
                .map(|v| CommitteeMember {
                    address: v.address,
                    power: v.voting_power,
                })
                .collect(),
            max_lag_blocks,
        }
    }
}

/// Everything [`deploy`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployParams {
    /// `StakeTable` parameters.
    pub stake_table: StakeTableParams,
    /// `Inbox` parameters.
    pub inbox: InboxParams,
    /// `LightClient` parameters.
    pub light_client: LightClientParams,
}

impl DeployParams {
    /// Parameters for a local development network: 1 ETH minimum stake, 0.1 ETH minimum
    /// delegation, one-hour exit delay, 10% slash with half to the reporter; a 0.001 ETH
    /// inclusion fee that grows every 16 items, a 10-block inclusion delay and 64 KiB payloads;
    /// the light client counts as lagging after 300 L1 blocks.
    pub fn devnet(ordo_chain_id: u64, committee: &ValidatorSet, fee_recipient: Address) -> Self {
        const ETH: u64 = 1_000_000_000_000_000_000;
        Self {
            stake_table: StakeTableParams {
                ordo_chain_id,
                min_stake: U256::from(ETH),
                min_delegation: U256::from(ETH / 10),
                exit_delay_secs: 3600,
                slash_bps: 1000,
                reward_bps: 5000,
            },
            inbox: InboxParams {
                inclusion_delay_blocks: 10,
                base_fee: U256::from(ETH / 1000),
                fee_step: 16,
                max_payload_bytes: 64 * 1024,
                fee_recipient,
            },
            light_client: LightClientParams::from_validator_set(ordo_chain_id, 0, committee, 300),
        }
    }
}

/// Where the contracts live. Serializes to the deployment JSON file, for example
/// `{"chain_id":31337,"rpc":"http://127.0.0.1:8545","deployment_block":1,
/// "StakeTable":"0x…","Inbox":"0x…","LightClient":"0x…","BatchInbox":"0x…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The L1's chain id.
    pub chain_id: u64,
    /// The RPC URL the contracts were deployed through.
    pub rpc: String,
    /// L1 block of the first deployment transaction: log scans can start here.
    pub deployment_block: u64,
    /// `StakeTable` address.
    #[serde(rename = "StakeTable")]
    pub stake_table: Address,
    /// `Inbox` address.
    #[serde(rename = "Inbox")]
    pub inbox: Address,
    /// `LightClient` address.
    #[serde(rename = "LightClient")]
    pub light_client: Address,
    /// `BatchInbox` address (posts of the decided chain, gated by the `LightClient`).
    #[serde(rename = "BatchInbox")]
    pub batch_inbox: Address,
}

impl Deployment {
    /// Writes the deployment as pretty JSON.
    pub fn write_json(&self, path: &Path) -> Result<(), L1Error> {
        let json =
            serde_json::to_string_pretty(self).map_err(|source| L1Error::DeploymentJson {
                path: path.to_owned(),
                source,
            })?;
        std::fs::write(path, json + "\n").map_err(|source| L1Error::DeploymentIo {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads a deployment written by [`Deployment::write_json`].
    pub fn read_json(path: &Path) -> Result<Self, L1Error> {
        let text = std::fs::read_to_string(path).map_err(|source| L1Error::DeploymentIo {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| L1Error::DeploymentJson {
            path: path.to_owned(),
            source,
        })
    }
}

/// Deploys `StakeTable`, `Inbox`, `LightClient` and `BatchInbox` (reading that light client)
/// through `rpc_url`, paying with `signer`,
/// one transaction after the other, each awaited to its receipt.
pub async fn deploy(
    rpc_url: &str,
    signer: PrivateKeySigner,
    params: &DeployParams,
) -> Result<Deployment, L1Error> {
    let url = crate::error::parse_rpc_url(rpc_url)?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url);
    let chain_id = provider.get_chain_id().await?;

    let st = &params.stake_table;
    let receipt = StakeTable::deploy_builder(
        &provider,
        st.ordo_chain_id,
        st.min_stake,
        st.min_delegation,
        st.exit_delay_secs,
        st.slash_bps,
        st.reward_bps,
    )
    .send()
    .await?
    .get_receipt()
    .await?;
    let deployment_block = receipt.block_number.unwrap_or_default();
    let stake_table = created(receipt)?;

    let ib = &params.inbox;
    let receipt = Inbox::deploy_builder(
        &provider,
        ib.inclusion_delay_blocks,
        ib.base_fee,
        ib.fee_step,
        ib.max_payload_bytes,
        ib.fee_recipient,
    )
    .send()
    .await?
    .get_receipt()
    .await?;
    let inbox = created(receipt)?;

    let lc = &params.light_client;
    let receipt = LightClient::deploy_builder(
        &provider,
        lc.ordo_chain_id,
        lc.initial_epoch,
        lc.committee.iter().map(|m| m.address).collect(),
        lc.committee.iter().map(|m| m.power).collect(),
        lc.max_lag_blocks,
    )
    .send()
    .await?
    .get_receipt()
    .await?;
    let light_client = created(receipt)?;

    let receipt = BatchInbox::deploy_builder(&provider, light_client)
        .send()
        .await?
        .get_receipt()
        .await?;
    let batch_inbox = created(receipt)?;

    Ok(Deployment {
        chain_id,
        rpc: rpc_url.to_owned(),
        deployment_block,
        stake_table,
        inbox,
        light_client,
        batch_inbox,
    })
}

/// The contract a successful deployment receipt created.
fn created(receipt: TransactionReceipt) -> Result<Address, L1Error> {
    let receipt = crate::error::succeeded(receipt)?;
    receipt
        .contract_address
        .ok_or(L1Error::NoContractAddress(receipt.transaction_hash))
}
