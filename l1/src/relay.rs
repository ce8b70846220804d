//! Relaying Ordo's certified blocks and committee rotations to the `LightClient` contract.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use ordo_contracts::LightClient;
use ordo_types::{CommitCertificate, Encode, Header, ValidatorSet};

use crate::calldata::{commit_signatures, committee};
use crate::error::L1Error;

/// What the `LightClient` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LightClientState {
    /// Hash of the committee it trusts.
    pub committee_hash: B256,
    /// Rotations so far (plus the initial epoch).
    pub epoch: u64,
    /// Height of the header that installed the committee (0 initially).
    pub rotation_height: u64,
    /// Highest height stored.
    pub latest_height: u64,
}

/// Sends certified blocks and rotations to one `LightClient`.
#[derive(Clone, Debug)]
pub struct LightClientRelay {
    contract: LightClient::LightClientInstance<DynProvider>,
}

impl LightClientRelay {
    /// A relay paying with `account` through `rpc_url` to the `LightClient` at `address`.
    pub fn new(
        rpc_url: &str,
        account: PrivateKeySigner,
        address: Address,
    ) -> Result<Self, L1Error> {
        let url = crate::error::parse_rpc_url(rpc_url)?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(account))
            .connect_http(url)
            .erased();
        Ok(Self {
            contract: LightClient::new(address, provider),
        })
    }

    /// The contract's state.
    pub async fn state(&self) -> Result<LightClientState, L1Error> {
        let c = &self.contract;
        Ok(LightClientState {
            committee_hash: c.committeeHash().call().await?,
            epoch: c.epoch().call().await?,
            rotation_height: c.rotationHeight().call().await?,
            latest_height: c.latestHeight().call().await?,
        })
    }

    /// A relay sending through `provider` (which signs), so that one account's transactions
    /// share one nonce manager (the batcher's).
    pub fn with_provider(provider: DynProvider, address: Address) -> Self {
        Self {
            contract: LightClient::new(address, provider),
        }
    }

    /// The hash the light client holds at `height` (zero when it holds none).
    pub async fn block_hash_at(&self, height: u64) -> Result<B256, L1Error> {
        Ok(self.contract.blockHashAt(height).call().await?)
    }

    /// Stores `certificate`'s block hash, certified by `set` (the committee the contract
    /// holds). Returns the transaction hash.
    pub async fn submit_block(
        &self,
        certificate: &CommitCertificate,
        set: &ValidatorSet,
    ) -> Result<B256, L1Error> {
        let receipt = self
            .contract
            .submitBlock(
                certificate.height,
                certificate.round,
                certificate.block_hash,
                committee(set),
                commit_signatures(certificate, set)?,
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(crate::error::succeeded(receipt)?.transaction_hash)
    }

    /// Moves the contract to `next`, announced by `header` (its `next_validators_hash`) and
    /// certified by `set` (the committee the contract holds).
    pub async fn rotate(
        &self,
        header: &Header,
        certificate: &CommitCertificate,
        set: &ValidatorSet,
        next: &ValidatorSet,
    ) -> Result<B256, L1Error> {
        let receipt = self
            .contract
            .rotateCommittee(
                Bytes::from(header.encode()),
                certificate.round,
                committee(set),
                commit_signatures(certificate, set)?,
                committee(next),
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(crate::error::succeeded(receipt)?.transaction_hash)
    }
}
