//! Staker operations on the `StakeTable`: register a validator, add stake, request an unstake,
//! withdraw, read a validator's standing. Each sends one transaction and waits for its
//! receipt; a revert comes back as an [`L1Error`] whose custom error
//! [`L1Error::decode_revert`] names.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use ordo_contracts::StakeTable;
use ordo_types::SecretKey;
use serde::Serialize;

use crate::calldata::possession_proof;
use crate::error::L1Error;

/// A `StakeTable` reached through one RPC URL, sending as one account.
#[derive(Clone, Debug)]
pub struct Staker {
    provider: DynProvider,
    account: Address,
    stake_table: Address,
}

/// A validator's standing in the `StakeTable`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidatorStanding {
    /// Consensus address.
    pub validator: Address,
    /// Registered.
    pub registered: bool,
    /// Jailed (slashed): out of elections for good.
    pub jailed: bool,
    /// Eligible for election (`isEligible`).
    pub eligible: bool,
    /// Stake not in exit requests, wei.
    pub active_stake: U256,
    /// This account's active stake in the validator, wei.
    pub own_stake: U256,
}

impl Staker {
    /// A staker sending as `account` through `rpc_url` to the `StakeTable` at `stake_table`.
    pub fn new(
        rpc_url: &str,
        account: PrivateKeySigner,
        stake_table: Address,
    ) -> Result<Self, L1Error> {
        let url = crate::error::parse_rpc_url(rpc_url)?;
        let address = account.address();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(account))
            .connect_http(url)
            .erased();
        Ok(Self {
            provider,
            account: address,
            stake_table,
        })
    }

    fn table(&self) -> StakeTable::StakeTableInstance<DynProvider> {
        StakeTable::new(self.stake_table, self.provider.clone())
    }

    /// Registers `key`'s address as a validator operated by this account, with `amount` wei of
    /// self-stake and its discovery addresses. Returns the transaction hash.
    pub async fn register(
        &self,
        key: &SecretKey,
        p2p_address: &str,
        api_address: &str,
        amount: U256,
    ) -> Result<B256, L1Error> {
        let chain_id = self.provider.get_chain_id().await?;
        let proof = possession_proof(key, chain_id, self.stake_table, self.account);
        let receipt = self
            .table()
            .register(
                key.address(),
                proof,
                p2p_address.to_owned(),
                api_address.to_owned(),
            )
            .value(amount)
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(crate::error::succeeded(receipt)?.transaction_hash)
    }

    /// Adds `amount` wei of stake to `validator` (self-stake for its operator, a delegation
    /// otherwise).
    pub async fn stake(&self, validator: Address, amount: U256) -> Result<B256, L1Error> {
        let receipt = self
            .table()
            .stake(validator)
            .value(amount)
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(crate::error::succeeded(receipt)?.transaction_hash)
    }

    /// Moves all of this account's shares in `validator` into an exit request; returns the
    /// request id.
    pub async fn unstake_all(&self, validator: Address) -> Result<U256, L1Error> {
        let shares = self
            .table()
            .sharesOf(validator, self.account)
            .call()
            .await?;
        let receipt = crate::error::succeeded(
            self.table()
                .requestUnstake(validator, shares)
                .send()
                .await?
                .get_receipt()
                .await?,
        )?;
        receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<StakeTable::UnstakeRequested>().ok())
            .map(|l| l.inner.data.id)
            .ok_or(L1Error::Reverted(receipt.transaction_hash))
    }

    /// Withdraws exit request `id` (after its exit delay).
    pub async fn withdraw(&self, id: U256) -> Result<B256, L1Error> {
        let receipt = self
            .table()
            .withdraw(id)
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(crate::error::succeeded(receipt)?.transaction_hash)
    }

    /// Submits two conflicting votes of one validator (see
    /// [`calldata::signed_vote`](crate::calldata::signed_vote)); the contract cuts its stake,
    /// pays this account the reward and jails it. A validator already slashed reverts
    /// (`AlreadySlashed`).
    pub async fn slash(
        &self,
        a: StakeTable::SignedVote,
        b: StakeTable::SignedVote,
    ) -> Result<B256, L1Error> {
        let receipt = self.table().slash(a, b).send().await?.get_receipt().await?;
        Ok(crate::error::succeeded(receipt)?.transaction_hash)
    }

    /// `validator`'s standing, and this account's stake in it.
    pub async fn standing(&self, validator: Address) -> Result<ValidatorStanding, L1Error> {
        let t = self.table();
        let info = t.getValidator(validator).call().await?;
        Ok(ValidatorStanding {
            validator,
            registered: info.operator != Address::ZERO,
            jailed: info.jailed,
            eligible: t.isEligible(validator).call().await?,
            active_stake: t.activeStake(validator).call().await?,
            own_stake: t.stakeOf(validator, self.account).call().await?,
        })
    }
}

/// Sends `amount` wei from `from` to `to` through `rpc_url` (funding an operator account on a
/// development chain) and waits for the receipt.
pub async fn transfer(
    rpc_url: &str,
    from: PrivateKeySigner,
    to: Address,
    amount: U256,
) -> Result<B256, L1Error> {
    let url = crate::error::parse_rpc_url(rpc_url)?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(from))
        .connect_http(url);
    let tx = alloy::rpc::types::TransactionRequest::default()
        .to(to)
        .value(amount);
    let receipt = provider.send_transaction(tx).await?.get_receipt().await?;
    Ok(crate::error::succeeded(receipt)?.transaction_hash)
}
