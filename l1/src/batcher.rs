//! The batcher: posts Ordo's decided chain to `BatchInbox`, range after range, in blobs or in
//! calldata, so that any rollup can be rebuilt from the L1 alone.
//!
//! Contract:
//! - **The L1 is the state.** Each pass reads the posts on the L1 (a [`DaReader`] at the
//!   confirmation depth, plus the posts above it) and resumes after the last height the valid
//!   posts reach, whoever posted them. A restart, a second batcher or a crash between two
//!   frames of one batch therefore neither leaves a gap nor repeats a complete range; an L1
//!   reorg that drops a post lowers that height on the next pass, and the range is posted
//!   again.
//! - **Certified in the same transaction.** A range is posted only about a last block the
//!   `LightClient` holds. When it does not hold it yet, the frames go out through
//!   `certifyAndPost`, which hands the light client that block's certificate first (the first
//!   frame to land does), so a range still takes one L1 transaction per frame. A header of
//!   the range that announces a new committee first needs a rotation of its own, in a
//!   transaction before the post.
//! - **A previous run's transactions first.** While the account has transactions in the pool
//!   that this batcher did not send (a batcher killed before their receipts), a pass waits
//!   for them, up to `stuck_after`, rather than post their range again.
//! - **Pipelined.** A pass sends its frames and returns without awaiting their receipts: the
//!   next range goes out after the ones in flight (consecutive nonces), so a range waits for
//!   a pass and one L1 block, not for the receipts of the range before it. At most
//!   [`MAX_IN_FLIGHT`] posts are in flight. Each pass first reads their receipts: a reverted
//!   post, or one the L1 no longer knows (a reorg dropped it), forgets every post in flight,
//!   and the next pass resumes from what the L1 holds. A post without a receipt after
//!   `stuck_after` is replaced (same nonce, doubled fees), up to three times.
//! - **Cheaper of blobs and calldata**, with hysteresis: the mode changes only when the other
//!   one is cheaper by more than 20% at current L1 fees, and only when nothing is in flight, so
//!   that blob and calldata transactions of this account never share an L1 block (pools
//!   refuse that).
//! - **Backs off** (1 s doubling to 30 s) while the L1 or the node fails, and never stops for
//!   that alone.

use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder, TransactionBuilder4844};
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::fillers::BlobGasFiller;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use ordo_batch::{encode_batch, BatchError, Codec};
use ordo_contracts::BatchInbox;
use ordo_types::{Block, CommitCertificate, Header, ValidatorSet};

use crate::calldata::inbox_certificate;
use crate::da::{archive_blobs, blob_sidecar, blobs_for, BlobSource, DaReader, MAX_BLOB_FRAME_LEN};
use crate::error::L1Error;
use crate::relay::LightClientRelay;

/// Largest calldata frame: 120 KiB keeps a transaction well under the usual 128 KiB pool limit.
pub const MAX_CALLDATA_FRAME_LEN: usize = 120 * 1024;

/// Most posts in flight (sent, no receipt yet); geth's blob pool keeps 16 per account.
pub const MAX_IN_FLIGHT: usize = 4;

/// Where the batcher reads the decided chain (an Ordo node's API, in the `ordo` binary).
pub trait ChainSource: Send + Sync {
    /// The node's latest decided height.
    fn tip(&self) -> impl Future<Output = Result<u64, L1Error>> + Send;
    /// The decided block at `height`.
    fn block(&self, height: u64) -> impl Future<Output = Result<Block, L1Error>> + Send;
    /// The header at `height`, its commit certificate and the committee that signed it, each
    /// checked against the others.
    fn certified(
        &self,
        height: u64,
    ) -> impl Future<Output = Result<(Header, CommitCertificate, ValidatorSet), L1Error>> + Send;
}

/// How frames are posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostMode {
    /// In blobs (EIP-4844/7594).
    Blobs,
    /// In calldata (`postCalldata`).
    Calldata,
}

/// What the batcher is given.
#[derive(Debug, Clone)]
pub struct BatcherConfig {
    /// L1 JSON-RPC URL.
    pub rpc_url: String,
    /// The `BatchInbox` address.
    pub batch_inbox: Address,
    /// The `LightClient` address.
    pub light_client: Address,
    /// L1 block to read posts from (the deployment block).
    pub from_block: u64,
    /// L1 blocks below the head a post must be to count as final.
    pub confirmations: u64,
    /// Most Ordo blocks in one batch.
    pub max_blocks: u64,
    /// Pause between passes.
    pub poll: Duration,
    /// A transaction without a receipt after this long is replaced with higher fees.
    pub stuck_after: Duration,
    /// A fixed mode, or `None` to pick the cheaper one.
    pub mode: Option<PostMode>,
    /// A beacon node's API URL, the first place to read posted blobs back from.
    pub beacon: Option<String>,
    /// Where else to read posted blobs back from (after the beacon node, the L1 node and the
    /// archive).
    pub blob_sources: Vec<BlobSource>,
    /// A directory to archive every posted blob into (`<versioned hash>.blob`).
    pub blob_archive: Option<PathBuf>,
}

impl BatcherConfig {
    /// Defaults for `rpc_url` and the two contracts: two confirmations, batches of at most
    /// 1,000 blocks, a pass a second, replacement after 30 s, the cheaper mode.
    pub fn new(
        rpc_url: &str,
        batch_inbox: Address,
        light_client: Address,
        from_block: u64,
    ) -> Self {
        Self {
            rpc_url: rpc_url.to_owned(),
            batch_inbox,
            light_client,
            from_block,
            confirmations: 2,
            max_blocks: 1000,
            poll: Duration::from_secs(1),
            stuck_after: Duration::from_secs(30),
            mode: None,
            beacon: None,
            blob_sources: Vec::new(),
            blob_archive: None,
        }
    }
}

/// The batcher's counters (shared, read by a metrics endpoint).
#[derive(Debug, Default)]
pub struct BatcherMetrics {
    /// Highest Ordo height the L1 holds, by this batcher's reading.
    pub posted_height: AtomicU64,
    /// Frame bytes this batcher posted.
    pub posted_bytes: AtomicU64,
    /// Blobs this batcher posted.
    pub posted_blobs: AtomicU64,
    /// L1 transactions this batcher posted and saw succeed (frames and rotations).
    pub transactions: AtomicU64,
    /// Wei this batcher paid for them (execution and blob gas).
    pub fees_wei: AtomicU64,
    /// Transactions replaced with higher fees after `stuck_after` without a receipt.
    pub replacements: AtomicU64,
    /// Passes that failed (L1 or node errors).
    pub errors: AtomicU64,
}

impl BatcherMetrics {
    /// The counters in Prometheus' text format (names in docs/METRICS.md).
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# TYPE ordo_batcher_posted_height gauge\nordo_batcher_posted_height {}\n\
             # TYPE ordo_batcher_posted_bytes_total counter\nordo_batcher_posted_bytes_total {}\n\
             # TYPE ordo_batcher_posted_blobs_total counter\nordo_batcher_posted_blobs_total {}\n\
             # TYPE ordo_batcher_l1_transactions_total counter\nordo_batcher_l1_transactions_total {}\n\
             # TYPE ordo_batcher_fees_wei_total counter\nordo_batcher_fees_wei_total {}\n\
             # TYPE ordo_batcher_replacements_total counter\nordo_batcher_replacements_total {}\n\
             # TYPE ordo_batcher_errors_total counter\nordo_batcher_errors_total {}\n",
            g(&self.posted_height),
            g(&self.posted_bytes),
            g(&self.posted_blobs),
            g(&self.transactions),
            g(&self.fees_wei),
            g(&self.replacements),
            g(&self.errors),
        )
    }
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pass {
    /// Nothing to post: the L1 holds everything the node decided.
    UpToDate {
        /// The height the L1 holds.
        height: u64,
    },
    /// The account has transactions in the pool that this batcher did not send (a previous
    /// run's, killed before their receipts), so that posting now could repeat a range they
    /// hold, or [`MAX_IN_FLIGHT`] of its own: the pass waits for them.
    Pending {
        /// Transactions of the account still pending.
        transactions: u64,
    },
    /// Posted the batch `start..=end`.
    Posted {
        /// First height.
        start: u64,
        /// Last height.
        end: u64,
        /// Frames (L1 transactions) it took.
        frames: usize,
        /// How.
        mode: PostMode,
    },
}

/// The batcher. [`Batcher::run`] loops forever; [`Batcher::pass`] is one step.
#[derive(Debug)]
pub struct Batcher<S> {
    config: BatcherConfig,
    source: S,
    provider: DynProvider,
    account: Address,
    relay: LightClientRelay,
    reader: DaReader,
    mode: PostMode,
    metrics: Arc<BatcherMetrics>,
    /// When a pass first found the account with pending transactions it did not send.
    pending_since: Option<Instant>,
    /// Posts sent whose receipts have not been seen, oldest (lowest nonce) first.
    in_flight: VecDeque<InFlight>,
}

/// A post sent, its receipt not seen yet.
#[derive(Debug)]
struct InFlight {
    /// The transaction as sent (nonce and fees filled in), to send again with higher fees.
    tx: TransactionRequest,
    /// Its hash and the hashes of the versions it replaced, any of which may land.
    hashes: Vec<B256>,
    /// The last height the post's range covers, and that block's hash.
    end: (u64, B256),
    sent_at: Instant,
    replacements: u32,
}

/// What the light client needs before a range can be posted.
#[derive(Debug)]
enum Certification {
    /// Nothing: it holds the range's last hash.
    Held,
    /// The last block's certificate, which the post carries (`certifyAndPost`).
    Carry(BatchInbox::Certificate),
    /// A committee rotation first, which waits until nothing is in flight.
    AfterInFlight,
}

impl<S: ChainSource> Batcher<S> {
    /// A batcher posting with `signer` what `source` decided.
    pub fn new(
        config: BatcherConfig,
        signer: PrivateKeySigner,
        source: S,
    ) -> Result<Self, L1Error> {
        let account = signer.address();
        // One provider for every transaction of the account, asking the L1 for the nonce each
        // time: a cached nonce would run ahead of an L1 that a reorg took back.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .filler(BlobGasFiller::default())
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(EthereumWallet::from(signer))
            .connect_http(crate::error::parse_rpc_url(&config.rpc_url)?)
            .erased();
        let relay = LightClientRelay::with_provider(provider.clone(), config.light_client);
        let mut sources = BlobSource::l1(&config.rpc_url, config.beacon.as_deref());
        if let Some(dir) = &config.blob_archive {
            sources.push(BlobSource::Directory(dir.clone()));
        }
        sources.extend(config.blob_sources.iter().cloned());
        let reader = DaReader::new(
            &config.rpc_url,
            config.batch_inbox,
            config.from_block,
            config.confirmations,
            sources,
            false,
        )?;
        Ok(Self {
            mode: config.mode.unwrap_or(PostMode::Blobs),
            config,
            source,
            provider,
            account,
            relay,
            reader,
            metrics: Arc::new(BatcherMetrics::default()),
            pending_since: None,
            in_flight: VecDeque::new(),
        })
    }

    /// The batcher's counters.
    pub fn metrics(&self) -> Arc<BatcherMetrics> {
        self.metrics.clone()
    }

    /// Runs passes until the task is dropped, a pass every `poll` (at once after a pass that
    /// posted a full range: a backlog), backing off after failures.
    pub async fn run(mut self) {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.pass().await {
                Ok(Pass::Posted {
                    start,
                    end,
                    frames,
                    mode,
                }) => {
                    tracing::info!(target: "ordo::batcher", start, end, frames, ?mode, "posted");
                    backoff = Duration::from_secs(1);
                    // A full range means a backlog: the next pass goes at once. Otherwise
                    // waiting a poll gathers the next range, rather than a post (and a
                    // blob) for every block or two.
                    let full =
                        end.saturating_sub(start).saturating_add(1) >= self.config.max_blocks;
                    if !full {
                        tokio::time::sleep(self.config.poll).await;
                    }
                }
                Ok(Pass::UpToDate { .. } | Pass::Pending { .. }) => {
                    backoff = Duration::from_secs(1);
                    tokio::time::sleep(self.config.poll).await;
                }
                Err(e) => {
                    self.metrics.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target: "ordo::batcher", error = %e, retry_in = ?backoff, "pass failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// One pass: read what the L1 holds, post the next range if the node has decided more.
    pub async fn pass(&mut self) -> Result<Pass, L1Error> {
        self.settle().await?;
        // Transactions this account sent that are not in a block yet and not this batcher's
        // (a previous run's): wait for them, up to `stuck_after` since first seen, so as not
        // to post their range again; past that, go on (a repeated range wastes gas, never
        // corrupts the history).
        let latest = self
            .provider
            .get_transaction_count(self.account)
            .latest()
            .await?;
        let pending = self
            .provider
            .get_transaction_count(self.account)
            .pending()
            .await?;
        let ours = self.in_flight.len() as u64;
        if pending.saturating_sub(latest) > ours {
            let since = *self.pending_since.get_or_insert_with(Instant::now);
            if since.elapsed() < self.config.stuck_after {
                return Ok(Pass::Pending {
                    transactions: pending - latest,
                });
            }
        } else {
            self.pending_since = None;
        }
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            return Ok(Pass::Pending { transactions: ours });
        }
        self.reader.poll().await?;
        let (held, held_hash) = self.reader.optimistic_tip().await?;
        self.metrics.posted_height.store(held, Ordering::Relaxed);
        // The next range follows the L1's, or the last one in flight.
        let (after, after_hash) = match self.in_flight.back() {
            Some(last) if last.end.0 > held => last.end,
            _ => (held, held_hash),
        };
        let tip = self.source.tip().await?;
        if tip <= after {
            return Ok(Pass::UpToDate { height: held });
        }
        let start = after.saturating_add(1);
        let mut end = tip.min(start.saturating_add(self.config.max_blocks.saturating_sub(1)));
        // At or below its rotation height the light client takes no more certificates (a
        // relay moved it on before this batcher got there): such a range must end at a height
        // it holds, the rotation height itself at the latest.
        let rotation_height = self.relay.state().await?.rotation_height;
        if end <= rotation_height {
            end = rotation_height.min(tip);
        }
        let mut blocks = Vec::new();
        for height in start..=end {
            blocks.push(self.source.block(height).await?);
        }
        if end <= rotation_height {
            let mut held = None;
            for block in blocks.iter().rev() {
                let height = block.header.height;
                let in_window = height < start.saturating_add(self.config.max_blocks);
                if (in_window || height == end)
                    && self.relay.block_hash_at(height).await? == block.hash()
                {
                    held = Some(height);
                    break;
                }
            }
            let held = held.ok_or_else(|| {
                L1Error::Node(format!(
                    "the light client holds no height of {start}..={end}, at or below its rotation height"
                ))
            })?;
            blocks.truncate(usize::try_from(held - start + 1).unwrap_or(usize::MAX));
            end = held;
        }
        if blocks.first().map(|b| b.header.parent_hash) != Some(after_hash) {
            return Err(L1Error::Node(format!(
                "block {start} does not extend the chain posted (hash {after_hash} at {after})"
            )));
        }
        // Halve the range until its payload fits the format's cap.
        let batch = loop {
            match encode_batch(&blocks, Codec::Brotli) {
                Ok(batch) => break batch,
                Err(BatchError::TooLarge { .. }) if blocks.len() > 1 => {
                    blocks.truncate(blocks.len() / 2);
                    end = start.saturating_add(blocks.len() as u64).saturating_sub(1);
                }
                Err(e) => return Err(e.into()),
            }
        };
        let certificate = match self.certify(&blocks, end, batch.end_hash).await? {
            Certification::Held => None,
            Certification::Carry(certificate) => Some(certificate),
            Certification::AfterInFlight => {
                return Ok(Pass::Pending {
                    transactions: self.in_flight.len() as u64,
                })
            }
        };
        let mode = self.choose_mode(batch.data.len()).await?;
        let frame_len = match mode {
            PostMode::Blobs => MAX_BLOB_FRAME_LEN,
            PostMode::Calldata => MAX_CALLDATA_FRAME_LEN,
        };
        let frames = batch.frames(frame_len)?;
        for frame in &frames {
            let bytes = frame.encode();
            // Every frame carries the certificate the light client lacks, if any: the first
            // to land hands it over, the others find it held (their gas is estimated before
            // the first lands, so they need it too).
            let certificate = certificate.clone();
            let call = match &certificate {
                None => BatchInbox::postCall {
                    start,
                    end,
                    endHash: batch.end_hash,
                }
                .abi_encode(),
                Some(certificate) => BatchInbox::certifyAndPostCall {
                    start,
                    end,
                    endHash: batch.end_hash,
                    certificate: certificate.clone(),
                }
                .abi_encode(),
            };
            let tx = match mode {
                PostMode::Blobs => {
                    let sidecar = blob_sidecar(&bytes)?;
                    if let Some(dir) = &self.config.blob_archive {
                        archive_blobs(dir, &sidecar).map_err(|e| L1Error::Blob(e.to_string()))?;
                    }
                    self.metrics
                        .posted_blobs
                        .fetch_add(blobs_for(bytes.len()) as u64, Ordering::Relaxed);
                    TransactionRequest::default()
                        .with_to(self.config.batch_inbox)
                        .with_input(call)
                        .with_blob_sidecar_7594(sidecar)
                }
                PostMode::Calldata => {
                    let data = Bytes::from(bytes.clone());
                    let call = match certificate {
                        None => BatchInbox::postCalldataCall {
                            start,
                            end,
                            endHash: batch.end_hash,
                            data,
                        }
                        .abi_encode(),
                        Some(certificate) => BatchInbox::certifyAndPostCalldataCall {
                            start,
                            end,
                            endHash: batch.end_hash,
                            certificate,
                            data,
                        }
                        .abi_encode(),
                    };
                    TransactionRequest::default()
                        .with_to(self.config.batch_inbox)
                        .with_input(call)
                }
            };
            self.submit(tx, (end, batch.end_hash)).await?;
            self.metrics
                .posted_bytes
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        Ok(Pass::Posted {
            start,
            end,
            frames: frames.len(),
            mode,
        })
    }

    /// Readies the light client to hold `end_hash` at `end`: rotates its committee at the
    /// headers of `blocks` (or before them) that announce a new one, until its committee is the
    /// one that decided `end` (only with nothing in flight, since a rotation is awaited).
    async fn certify(
        &self,
        blocks: &[Block],
        end: u64,
        end_hash: B256,
    ) -> Result<Certification, L1Error> {
        for _ in 0..64 {
            if self.relay.block_hash_at(end).await? == end_hash {
                return Ok(Certification::Held);
            }
            let state = self.relay.state().await?;
            let (header, cert, set) = self.source.certified(end).await?;
            if header.hash() != end_hash {
                return Err(L1Error::Node(format!("the node's block {end} changed")));
            }
            if header.validators_hash == state.committee_hash && end > state.rotation_height {
                return Ok(Certification::Carry(inbox_certificate(&cert, &set)?));
            }
            if !self.in_flight.is_empty() {
                return Ok(Certification::AfterInFlight);
            }
            // The light client's committee is an earlier one: rotate at the first header (of
            // this range, else of the heights before it) that the light client's committee
            // decided and that announces the next.
            let candidates: Vec<u64> = blocks
                .iter()
                .filter(|b| {
                    b.header.validators_hash == state.committee_hash
                        && b.header.next_validators_hash != b.header.validators_hash
                        && b.header.height > state.rotation_height
                })
                .map(|b| b.header.height)
                .collect();
            let first = blocks.first().map_or(end, |b| b.header.height);
            let earlier = state.rotation_height.saturating_add(1)..first;
            let mut rotated = false;
            for height in candidates.into_iter().chain(earlier) {
                let (header, cert, set) = self.source.certified(height).await?;
                if header.validators_hash == state.committee_hash
                    && header.next_validators_hash != header.validators_hash
                {
                    let (_, _, next) = self.source.certified(height.saturating_add(1)).await?;
                    self.relay.rotate(&header, &cert, &set, &next).await?;
                    self.metrics.transactions.fetch_add(1, Ordering::Relaxed);
                    rotated = true;
                    break;
                }
            }
            if !rotated {
                return Err(L1Error::Node(format!(
                    "no committee rotation leads the light client to height {end}"
                )));
            }
        }
        Err(L1Error::Node(format!("could not certify height {end}")))
    }

    /// The cheaper mode for `len` bytes at current L1 fees, keeping the current one unless
    /// the other is cheaper by more than 20% (or the configured one).
    async fn choose_mode(&mut self, len: usize) -> Result<PostMode, L1Error> {
        if let Some(mode) = self.config.mode {
            return Ok(mode);
        }
        if !self.in_flight.is_empty() {
            return Ok(self.mode);
        }
        let base_fee = self.provider.get_gas_price().await?;
        let blob_fee = self.provider.get_blob_base_fee().await?;
        self.mode = pick_mode(self.mode, len, base_fee, blob_fee);
        Ok(self.mode)
    }

    /// Counts a landed transaction's fee, or refuses a reverted one.
    fn landed(&self, receipt: TransactionReceipt) -> Result<TransactionReceipt, L1Error> {
        let receipt = crate::error::succeeded(receipt)?;
        let fee = receipt
            .effective_gas_price
            .saturating_mul(u128::from(receipt.gas_used))
            .saturating_add(
                receipt
                    .blob_gas_price
                    .unwrap_or_default()
                    .saturating_mul(u128::from(receipt.blob_gas_used.unwrap_or_default())),
            );
        self.metrics
            .fees_wei
            .fetch_add(u64::try_from(fee).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.metrics.transactions.fetch_add(1, Ordering::Relaxed);
        Ok(receipt)
    }

    /// Sends `tx` and records it as in flight.
    async fn submit(&mut self, tx: TransactionRequest, end: (u64, B256)) -> Result<(), L1Error> {
        let tx = tx.with_from(self.account);
        let hash = *self.provider.send_transaction(tx.clone()).await?.tx_hash();
        self.in_flight.push_back(InFlight {
            tx: self.as_sent(tx, hash).await?,
            hashes: vec![hash],
            end,
            sent_at: Instant::now(),
            replacements: 0,
        });
        Ok(())
    }

    /// `tx` with the nonce and fees the fillers gave the transaction `hash`, so that it can be
    /// sent again with higher fees.
    async fn as_sent(
        &self,
        tx: TransactionRequest,
        hash: B256,
    ) -> Result<TransactionRequest, L1Error> {
        use alloy::consensus::Transaction as _;
        let Some(sent) = self.provider.get_transaction_by_hash(hash).await? else {
            return Ok(tx);
        };
        let mut tx = tx
            .with_nonce(sent.nonce())
            .with_max_fee_per_gas(sent.max_fee_per_gas())
            .with_max_priority_fee_per_gas(sent.max_priority_fee_per_gas().unwrap_or_default())
            .with_gas_limit(sent.gas_limit());
        if let Some(fee) = sent.max_fee_per_blob_gas() {
            tx = tx.with_max_fee_per_blob_gas(fee);
        }
        Ok(tx)
    }

    /// Reads the receipts of the posts in flight, oldest first, and replaces the oldest one
    /// when it is stuck. A reverted post or one the L1 no longer knows forgets every post in
    /// flight: the next pass goes on from what the L1 holds.
    async fn settle(&mut self) -> Result<(), L1Error> {
        while let Some(oldest) = self.in_flight.front() {
            let mut receipt = None;
            for hash in &oldest.hashes {
                if let Some(found) = self.provider.get_transaction_receipt(*hash).await? {
                    receipt = Some(found);
                    break;
                }
            }
            if let Some(receipt) = receipt {
                self.in_flight.pop_front();
                if let Err(e) = self.landed(receipt) {
                    self.in_flight.clear();
                    return Err(e);
                }
                continue;
            }
            let hash = oldest.hashes[oldest.hashes.len() - 1];
            if self.provider.get_transaction_by_hash(hash).await?.is_none() {
                tracing::warn!(target: "ordo::batcher", %hash, "a post in flight is gone from the L1 (a reorg?); resuming from what the L1 holds");
                self.in_flight.clear();
                return Ok(());
            }
            if oldest.sent_at.elapsed() < self.config.stuck_after {
                return Ok(());
            }
            if oldest.replacements >= 3 {
                self.in_flight.clear();
                return Err(L1Error::Node(
                    "a post stayed stuck after three replacements".into(),
                ));
            }
            self.replace().await?;
            return Ok(());
        }
        Ok(())
    }

    /// Sends the oldest post in flight again with its nonce and at least doubled fees, as
    /// pools require of a replacement.
    async fn replace(&mut self) -> Result<(), L1Error> {
        use alloy::network::TransactionBuilder as _;
        let fees = self.provider.estimate_eip1559_fees().await?;
        let blob_fee = self.provider.get_blob_base_fee().await?.max(1);
        let Some(oldest) = self.in_flight.front_mut() else {
            return Ok(());
        };
        let doubled =
            |fee: Option<u128>, floor: u128| fee.unwrap_or_default().saturating_mul(2).max(floor);
        let mut tx = oldest.tx.clone();
        tx.set_max_fee_per_gas(doubled(tx.max_fee_per_gas, fees.max_fee_per_gas));
        tx.set_max_priority_fee_per_gas(doubled(
            tx.max_priority_fee_per_gas,
            fees.max_priority_fee_per_gas.max(1),
        ));
        if tx.sidecar.is_some() {
            tx.set_max_fee_per_blob_gas(doubled(tx.max_fee_per_blob_gas, blob_fee));
        }
        let previous = oldest.hashes[oldest.hashes.len() - 1];
        tracing::warn!(target: "ordo::batcher", hash = %previous, "no receipt; replacing with higher fees");
        match self.provider.send_transaction(tx.clone()).await {
            Ok(pending) => {
                oldest.hashes.push(*pending.tx_hash());
                oldest.tx = tx;
                oldest.sent_at = Instant::now();
                oldest.replacements += 1;
                self.metrics.replacements.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            // The post may have landed meanwhile (the pool then refuses its nonce): the next
            // pass reads its receipt.
            Err(e) => {
                tracing::warn!(target: "ordo::batcher", error = %e, "replacement refused");
                Ok(())
            }
        }
    }
}

/// Estimated wei to post `len` bytes of frames in blobs and in calldata, at an execution base
/// fee of `base_fee` and a blob base fee of `blob_fee` wei.
pub fn post_costs(len: usize, base_fee: u128, blob_fee: u128) -> (u128, u128) {
    let bytes = len as u128;
    // Calldata: 40 gas a byte (EIP-7623's floor, which data-heavy transactions pay) plus 8 for
    // the event's copy of the data, and about 60,000 gas for the call.
    let calldata = base_fee.saturating_mul(bytes.saturating_mul(48).saturating_add(60_000));
    // Blobs: 131,072 blob gas each, and the call.
    let blobs = len
        .saturating_add(31)
        .div_ceil(crate::da::BLOB_DATA_BYTES)
        .max(1) as u128;
    let blob = blob_fee
        .max(1)
        .saturating_mul(blobs.saturating_mul(131_072))
        .saturating_add(base_fee.saturating_mul(60_000));
    (blob, calldata)
}

/// The mode to post `len` bytes in, from `current`: the other one only when it is cheaper by
/// more than 20% (hysteresis, so that fees near the break-even point do not flip it at every
/// batch).
pub fn pick_mode(current: PostMode, len: usize, base_fee: u128, blob_fee: u128) -> PostMode {
    let (blob, calldata) = post_costs(len, base_fee, blob_fee);
    let (current_cost, other_cost, other) = match current {
        PostMode::Blobs => (blob, calldata, PostMode::Calldata),
        PostMode::Calldata => (calldata, blob, PostMode::Blobs),
    };
    if other_cost.saturating_mul(5) < current_cost.saturating_mul(4) {
        other
    } else {
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u128 = 1_000_000_000;

    #[test]
    fn blobs_win_at_cheap_blob_gas_and_calldata_for_small_posts_when_blobs_are_dear() {
        // A 100 KB frame at 10 gwei and a 1 wei blob fee: blobs.
        assert_eq!(
            pick_mode(PostMode::Calldata, 100_000, 10 * GWEI, 1),
            PostMode::Blobs
        );
        // 1 KB when blob gas costs as much as execution gas: calldata (one blob is 131,072
        // blob gas, the calldata 48,000 gas; each with the call's 60,000).
        assert_eq!(
            pick_mode(PostMode::Blobs, 1_000, 10 * GWEI, 10 * GWEI),
            PostMode::Calldata
        );
        // 2 KB there: calldata is cheaper, but by less than 20% (156,000 against 191,072), so
        // the current mode stays.
        assert_eq!(
            pick_mode(PostMode::Blobs, 2_000, 10 * GWEI, 10 * GWEI),
            PostMode::Blobs
        );
        // The same 100 KB at that blob fee: still blobs (calldata would be 4.8M gas).
        assert_eq!(
            pick_mode(PostMode::Blobs, 100_000, 10 * GWEI, 10 * GWEI),
            PostMode::Blobs
        );
    }

    #[test]
    fn the_mode_changes_only_past_twenty_percent() {
        let base = 10 * GWEI;
        let len = 2_000;
        // Find the blob fee where the two cost the same, then stay within 20% of it.
        let (_, calldata) = post_costs(len, base, 1);
        let even = (calldata - base * 60_000) / 131_072;
        let (blob, calldata) = post_costs(len, base, even);
        assert!(
            blob.abs_diff(calldata) * 100 < calldata,
            "{blob} vs {calldata}"
        );
        for fee in [even * 9 / 10, even, even * 11 / 10] {
            assert_eq!(
                pick_mode(PostMode::Blobs, len, base, fee),
                PostMode::Blobs,
                "{fee}"
            );
            assert_eq!(
                pick_mode(PostMode::Calldata, len, base, fee),
                PostMode::Calldata,
                "{fee}"
            );
        }
        // Well past it, each side gives way.
        assert_eq!(
            pick_mode(PostMode::Blobs, len, base, even * 2),
            PostMode::Calldata
        );
        assert_eq!(
            pick_mode(PostMode::Calldata, len, base, even / 2),
            PostMode::Blobs
        );
    }
}
