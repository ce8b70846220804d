//! Feeding an EVM execution node: each verified namespace block with transactions becomes one
//! L2 block, its transactions in Ordo's order.
//!
//! The node must take transactions without mining them and mine on request, in arrival order
//! (Anvil: `anvil --no-mining --order fifo`); [`EvmEngine::apply`] sends each transaction, in the
//! block's delivery order (an encrypted one's plaintext is a signed Ethereum transaction), with
//! `eth_sendRawTransaction` and then mines one block with `evm_mine` at the Ordo block's
//! timestamp (seconds; equal timestamps are allowed, a later Ordo block is never earlier).
//! Applying a block twice is harmless: transactions the node already executed are skipped.

use std::time::Duration;

use ordo_types::{keccak256, BundlePart, Entry, Opened, PlacedBundle, B256};
use serde_json::{json, Value};

use crate::verify::{Delivered, VerifiedNamespaceBlock};

/// One Ethereum transaction to send: the hash of the Ordo entry that carries it (what bundle
/// parts name), its own hash, and its bytes.
#[derive(Clone, Copy)]
struct Item<'a> {
    entry: B256,
    hash: B256,
    raw: &'a [u8],
}

impl<'a> Item<'a> {
    /// A plaintext entry of `namespace`, as it is; an encrypted one carries an envelope, not a
    /// transaction.
    fn plain(entry: &'a Entry, namespace: u64) -> Option<Self> {
        entry.encrypted(namespace).is_none().then(|| Self {
            entry: entry.hash(),
            hash: entry.hash(),
            raw: entry.payload(),
        })
    }
}

/// What an execution node call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The node could not be reached or did not answer JSON.
    #[error("execution node unreachable: {0}")]
    Http(#[from] reqwest::Error),
    /// The node answered a JSON-RPC error.
    #[error("{method}: error {code}: {message}")]
    Rpc {
        /// The method called.
        method: String,
        /// JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The node's answer is not what the method returns.
    #[error("{method}: unexpected answer {answer}")]
    Malformed {
        /// The method called.
        method: String,
        /// What came back.
        answer: String,
    },
}

/// One applied block: what the execution node took and what it refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Transactions sent and accepted, in order.
    pub accepted: Vec<B256>,
    /// Transactions it had already executed (a block applied again).
    pub already_executed: Vec<B256>,
    /// Transactions it refused, with its reason (they are not executed; Ordo still ordered
    /// them, so every follower refuses the same ones).
    pub refused: Vec<(B256, String)>,
    /// The L2 block mined, if any transaction was sent.
    pub l2_block: Option<u64>,
    /// Entries of bundle parts dropped by the revert rule (see [`EvmEngine::apply_delivered`]):
    /// not executed, by any follower.
    pub dropped: Vec<B256>,
}

/// An EVM execution node reached over JSON-RPC.
#[derive(Debug, Clone)]
pub struct EvmEngine {
    url: String,
    http: reqwest::Client,
}

impl EvmEngine {
    /// An engine at `url` (its JSON-RPC endpoint).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    /// Calls `method` and returns its result.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, EngineError> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let mut answer: Value = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        if let Some(error) = answer.get("error") {
            return Err(EngineError::Rpc {
                method: method.into(),
                code: error["code"].as_i64().unwrap_or_default(),
                message: error["message"].as_str().unwrap_or_default().into(),
            });
        }
        match answer.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(EngineError::Malformed {
                method: method.into(),
                answer: answer.to_string(),
            }),
        }
    }

    /// The node's chain id.
    pub async fn chain_id(&self) -> Result<u64, EngineError> {
        self.quantity("eth_chainId").await
    }

    /// The node's latest block number.
    pub async fn block_number(&self) -> Result<u64, EngineError> {
        self.quantity("eth_blockNumber").await
    }

    /// Calls a parameterless `method` that returns a quantity (`"0x…"`).
    async fn quantity(&self, method: &str) -> Result<u64, EngineError> {
        let answer = self.call(method, json!([])).await?;
        answer
            .as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .ok_or_else(|| EngineError::Malformed {
                method: method.into(),
                answer: answer.to_string(),
            })
    }

    /// Replays one verified namespace block in its delivery order
    /// ([`VerifiedNamespaceBlock::delivered`]): its opened encrypted transactions first (each
    /// plaintext a signed Ethereum transaction; one that did not open is skipped), then the
    /// others in block order; then one mined block. A block without transactions mines nothing.
    pub async fn apply(&self, block: &VerifiedNamespaceBlock) -> Result<Applied, EngineError> {
        self.apply_delivered(
            block.header(),
            block.namespace(),
            block.delivered(),
            block.bundles(),
        )
        .await
    }

    /// Replays a namespace's entries of the block with `header`, which the caller verified
    /// (from a node with [`Verifier`](crate::Verifier), or from the L1 by the hash chain to a
    /// certified hash), in their delivery order ([`crate::delivery_order`]): each opened
    /// plaintext as a raw Ethereum transaction, one that did not open skipped, then the
    /// plaintext entries (an encrypted one without its opening skipped too).
    ///
    /// **The revert rule.** A bundle's part in `namespace` (from `bundles`, the block's placed
    /// bundles) executes whole or not at all: if one of its transactions that is not in the
    /// bundle's `revertingTxHashes` fails (reverts, or the node refuses it), the L2 block is
    /// undone (`evm_snapshot` / `evm_revert`) and built again without that part, until every
    /// remaining part holds. Every follower applies the same rule to the same verified block,
    /// so every follower drops the same parts. Atomicity across rollups is of inclusion only:
    /// another rollup's part of the same bundle is judged by that rollup's own execution.
    pub async fn apply_delivered(
        &self,
        header: &ordo_types::Header,
        namespace: u64,
        delivered: Vec<Delivered<'_>>,
        bundles: &[PlacedBundle],
    ) -> Result<Applied, EngineError> {
        let items = delivered
            .into_iter()
            .filter_map(|d| match d {
                Delivered::Opened(entry, opened) => match &opened.outcome {
                    Opened::Plaintext(raw) => Some(Item {
                        entry: entry.hash(),
                        hash: keccak256(raw),
                        raw,
                    }),
                    Opened::Failure(_) => None,
                },
                Delivered::Plain(entry) => Item::plain(entry, namespace),
            })
            .collect();
        self.apply_items(header, namespace, items, bundles).await
    }

    /// Sends `items` in order under the revert rule ([`Self::apply_delivered`]), then mines one
    /// block at the header's timestamp. No items mine nothing.
    async fn apply_items(
        &self,
        header: &ordo_types::Header,
        namespace: u64,
        items: Vec<Item<'_>>,
        bundles: &[PlacedBundle],
    ) -> Result<Applied, EngineError> {
        let parts: Vec<(&PlacedBundle, &BundlePart)> = bundles
            .iter()
            .filter_map(|b| Some((b, b.part(namespace)?)))
            .collect();
        if parts.is_empty() {
            return self.execute(header, &items).await;
        }
        // What each entry executes as (an encrypted one as its plaintext).
        let executes_as = |entry: &B256| items.iter().find(|i| i.entry == *entry).map(|i| i.hash);
        let mut dropped = vec![false; parts.len()];
        loop {
            let snapshot = self.call("evm_snapshot", json!([])).await?;
            let gone: Vec<&B256> = parts
                .iter()
                .zip(&dropped)
                .filter(|(_, gone)| **gone)
                .flat_map(|((_, part), _)| &part.hashes)
                .collect();
            let kept: Vec<Item<'_>> = items
                .iter()
                .filter(|i| !gone.contains(&&i.entry))
                .cloned()
                .collect();
            let mut applied = self.execute(header, &kept).await?;
            let mut failed = false;
            for (i, (bundle, part)) in parts.iter().enumerate() {
                if dropped[i] {
                    continue;
                }
                for entry in part.hashes.iter().filter(|h| !bundle.may_revert(h)) {
                    let holds = match executes_as(entry) {
                        Some(hash) => self.succeeded(&hash, &applied).await?,
                        None => false,
                    };
                    if !holds {
                        dropped[i] = true;
                        failed = true;
                        break;
                    }
                }
            }
            if !failed {
                applied.dropped = parts
                    .iter()
                    .zip(&dropped)
                    .filter(|(_, gone)| **gone)
                    .flat_map(|((_, part), _)| part.hashes.iter().copied())
                    .collect();
                return Ok(applied);
            }
            self.call("evm_revert", json!([snapshot])).await?;
        }
    }

    /// Whether transaction `hash` executed successfully in the block just applied (or before).
    async fn succeeded(&self, hash: &B256, applied: &Applied) -> Result<bool, EngineError> {
        if applied.refused.iter().any(|(h, _)| h == hash) {
            return Ok(false);
        }
        let receipt = self
            .call("eth_getTransactionReceipt", json!([hash]))
            .await?;
        Ok(receipt.get("status").and_then(Value::as_str) == Some("0x1"))
    }

    /// Sends `items` in order and mines one block at the header's timestamp.
    async fn execute(
        &self,
        header: &ordo_types::Header,
        items: &[Item<'_>],
    ) -> Result<Applied, EngineError> {
        let mut applied = Applied::default();
        for item in items {
            let hash = item.hash;
            let known = self.call("eth_getTransactionByHash", json!([hash])).await?;
            if known.get("blockNumber").is_some_and(|n| !n.is_null()) {
                applied.already_executed.push(hash);
                continue;
            }
            let raw = format!("0x{}", hex::encode(item.raw));
            match self.call("eth_sendRawTransaction", json!([raw])).await {
                Ok(_) => applied.accepted.push(hash),
                Err(EngineError::Rpc { message, .. }) => applied.refused.push((hash, message)),
                Err(e) => return Err(e),
            }
        }
        if !applied.accepted.is_empty() {
            let seconds = header.timestamp_ms / 1000;
            self.call("evm_mine", json!([seconds])).await?;
            applied.l2_block = Some(self.block_number().await?);
        }
        Ok(applied)
    }
}
