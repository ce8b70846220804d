//! The few node API calls the testnet tools make.

use std::time::Duration;

use anyhow::{bail, Context as _};
use ordo_types::B256;
use serde::Deserialize;

/// A decided block as `GET /v1/blocks/{h}/transactions` returns it.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct BlockTxs {
    /// Height.
    pub(crate) height: u64,
    /// Block hash.
    pub(crate) hash: B256,
    /// The proposer's timestamp.
    pub(crate) timestamp_ms: u64,
    /// Transaction hashes, in block order.
    pub(crate) transactions: Vec<B256>,
}

/// The parts of `GET /v1/status` the tools use.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Status {
    /// Chain id.
    pub(crate) chain_id: u64,
    /// Latest decided height.
    pub(crate) height: u64,
    /// The node's process id (present on nodes that report it).
    #[serde(default)]
    pub(crate) pid: Option<u32>,
    /// Its validator address, if it has a key.
    #[serde(default)]
    pub(crate) address: Option<ordo_types::Address>,
}

/// An HTTP client with short timeouts: a node that does not answer is a fact to record, not
/// something to wait for.
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap_or_default()
}

async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: String,
) -> anyhow::Result<T> {
    let resp = client.get(&url).send().await.with_context(|| url.clone())?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        bail!("{url}: {status}: {body}");
    }
    resp.json().await.with_context(|| url.clone())
}

/// `GET /v1/status`.
pub(crate) async fn status(client: &reqwest::Client, api: &str) -> anyhow::Result<Status> {
    get_json(client, format!("{api}/v1/status")).await
}

/// `GET /v1/blocks/{height}/transactions`.
pub(crate) async fn block_txs(
    client: &reqwest::Client,
    api: &str,
    height: u64,
) -> anyhow::Result<BlockTxs> {
    get_json(client, format!("{api}/v1/blocks/{height}/transactions")).await
}

/// Who proposed a block and how many transactions each namespace has in it.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct BlockSummary {
    /// The proposer's address.
    pub(crate) proposer: ordo_types::Address,
    /// Per-namespace transaction counts.
    pub(crate) namespaces: Vec<NamespaceCount>,
}

/// One namespace's share of a block.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct NamespaceCount {
    /// Namespace id.
    pub(crate) namespace: u64,
    /// Its transactions in the block.
    pub(crate) transactions: usize,
}

/// `GET /v1/blocks/{height}`, the parts the scenarios check.
pub(crate) async fn block_summary(
    client: &reqwest::Client,
    api: &str,
    height: u64,
) -> anyhow::Result<BlockSummary> {
    get_json(client, format!("{api}/v1/blocks/{height}")).await
}

/// `GET /v1/mempool`: transactions held.
pub(crate) async fn mempool_len(client: &reqwest::Client, api: &str) -> anyhow::Result<u64> {
    let v: serde_json::Value = get_json(client, format!("{api}/v1/mempool")).await?;
    v["transactions"]
        .as_u64()
        .context("mempool summary without transactions")
}

/// `GET /v1/encryption`: the key encrypted transactions are sealed to.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct EncryptionInfo {
    /// Which key it is.
    pub(crate) key_id: u64,
    /// The 96-byte public key, `0x` hex.
    pub(crate) public_key: String,
    /// The namespaces that take encrypted transactions.
    pub(crate) namespaces: Vec<u64>,
}

/// `GET /v1/encryption`.
pub(crate) async fn encryption(
    client: &reqwest::Client,
    api: &str,
) -> anyhow::Result<EncryptionInfo> {
    get_json(client, format!("{api}/v1/encryption")).await
}
