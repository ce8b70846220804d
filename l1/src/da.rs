//! Data availability on the L1: frames of the decided chain (`ordo-batch`) in the blobs or
//! calldata of `BatchInbox` posts, and reading them back into the chain.
//!
//! - [`blob_sidecar`] and [`frame_from_blobs`] put a frame into blobs and take it out again
//!   (alloy's `SimpleCoder`: 31 bytes per field element, a length word first), with the
//!   EIP-7594 sidecar (cell proofs) that Anvil 1.7 and post-Fusaka Ethereum take.
//! - [`decode_posts`] reads `BatchPosted` logs; [`BlobSource`]s fetch a post's blobs (a
//!   beacon node's blobs route, the L1 node's `anvil_getBlobsByTransactionHash`, or an archive
//!   directory, local or over HTTP). Blobs from a beacon node or an archive are checked
//!   against the versioned hashes the contract recorded (a KZG commitment each); blobs from
//!   the L1 node are taken as its logs are.
//! - [`DaChain`] (pure) collects frames into batches and batches into the chain: a batch counts
//!   only when its frames join, decode, and its last block hashes to the end hash the light
//!   client certified (the contract refused the post otherwise); the chain then takes, for the
//!   next height, the first batch in L1 order whose block at that height extends the chain.
//!   Junk, duplicates and other posters' copies are ignored or wasted, never harmful.
//! - [`DaReader`] scans the L1 at a confirmation depth and feeds a [`DaChain`].

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use alloy::consensus::{Blob, BlobTransactionSidecarEip7594, SidecarBuilder, SimpleCoder};
use alloy::eips::eip4844::{kzg_to_versioned_hash, AsCkzg};
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use ordo_batch::{decode_frames, Frame};
use ordo_contracts::BatchInbox;
use ordo_types::Block;

use crate::error::L1Error;

/// Most blobs one transaction may carry (EIP-7594's per-transaction cap).
pub const MAX_BLOBS_PER_TX: usize = 6;

/// Bytes of one blob.
pub const BLOB_BYTES: usize = 131_072;

/// Bytes of frame one blob carries with `SimpleCoder` (31 per field element).
pub const BLOB_DATA_BYTES: usize = 4096 * 31;

/// Largest frame one blob transaction carries: six blobs, less the coder's length word.
pub const MAX_BLOB_FRAME_LEN: usize = MAX_BLOBS_PER_TX * BLOB_DATA_BYTES - 31;

/// Blobs needed for a frame of `len` bytes.
pub fn blobs_for(len: usize) -> usize {
    len.saturating_add(31).div_ceil(BLOB_DATA_BYTES)
}

/// The EIP-7594 sidecar carrying `frame`.
pub fn blob_sidecar(frame: &[u8]) -> Result<BlobTransactionSidecarEip7594, L1Error> {
    if frame.is_empty() || frame.len() > MAX_BLOB_FRAME_LEN {
        return Err(L1Error::Blob(format!(
            "a frame of {} bytes does not fit 1..={MAX_BLOB_FRAME_LEN}",
            frame.len()
        )));
    }
    SidecarBuilder::<SimpleCoder>::from_slice(frame)
        .build_7594()
        .map_err(|e| L1Error::Blob(e.to_string()))
}

/// The frame [`blob_sidecar`] put into `blobs` (each 131,072 bytes), if they hold one:
/// `SimpleCoder`'s layout read back, every field element's first byte zero, a `u64` length in
/// the first element, then 31 bytes of data per element.
pub fn frame_from_blobs<B: AsRef<[u8]>>(blobs: &[B]) -> Option<Vec<u8>> {
    let mut elements = blobs.iter().flat_map(|b| b.as_ref().chunks(32));
    let valid = |fe: &[u8]| fe.len() == 32 && fe.first() == Some(&0);
    let first = elements.next().filter(|fe| valid(fe))?;
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(first.get(1..9)?);
    let len = usize::try_from(u64::from_be_bytes(len_bytes)).ok()?;
    if len == 0 || len > MAX_BLOB_FRAME_LEN {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let fe = elements.next().filter(|fe| valid(fe))?;
        let take = (len - out.len()).min(31);
        out.extend_from_slice(fe.get(1..1 + take)?);
    }
    Some(out)
}

/// The versioned hash of a blob's 131,072 bytes (KZG commitment, then `0x01 || sha256[1..]`),
/// computed without copying the blob onto the stack.
pub fn blob_versioned_hash(blob: &[u8]) -> Result<B256, L1Error> {
    let blob: &Blob = blob
        .try_into()
        .map_err(|_| L1Error::Blob(format!("a blob of {} bytes", blob.len())))?;
    let settings = alloy::consensus::EnvKzgSettings::Default.get();
    let commitment = settings
        .blob_to_kzg_commitment(blob.as_ckzg())
        .map_err(|e| L1Error::Blob(e.to_string()))?;
    Ok(kzg_to_versioned_hash(commitment.as_slice()))
}

/// One `BatchPosted` event: a frame of the batch `start..=end` in blobs or in `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// First height of the batch.
    pub start: u64,
    /// Last height of the batch.
    pub end: u64,
    /// The hash the light client held at `end` when the post was accepted.
    pub end_hash: B256,
    /// Who posted it.
    pub poster: Address,
    /// Versioned hashes of the transaction's blobs (empty for a calldata post).
    pub blob_hashes: Vec<B256>,
    /// The frame, for a calldata post.
    pub data: Bytes,
    /// The posting transaction.
    pub tx_hash: B256,
    /// L1 block of the post.
    pub l1_block: u64,
    /// Log index within that block.
    pub log_index: u64,
}

/// The `BatchPosted` events of `inbox` among `logs`, in L1 order. Logs of other contracts,
/// removed logs and logs that do not decode are skipped.
pub fn decode_posts(inbox: Address, logs: &[Log]) -> Vec<Post> {
    let mut posts: Vec<Post> = logs
        .iter()
        .filter(|log| log.address() == inbox && !log.removed)
        .filter_map(|log| {
            let event = log.log_decode::<BatchInbox::BatchPosted>().ok()?.inner.data;
            Some(Post {
                start: event.start,
                end: event.end,
                end_hash: event.endHash,
                poster: event.poster,
                blob_hashes: event.blobHashes,
                data: event.data,
                tx_hash: log.transaction_hash?,
                l1_block: log.block_number?,
                log_index: log.log_index?,
            })
        })
        .collect();
    posts.sort_by_key(|p| (p.l1_block, p.log_index));
    posts
}

/// Where the blobs of a post can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobSource {
    /// An L1 node that serves `anvil_getBlobsByTransactionHash` (Anvil).
    Rpc(String),
    /// A beacon node's API (`GET /eth/v1/beacon/blobs/{slot}?versioned_hashes=…`, which
    /// consensus clients serve for about 18 days), with the L1 node whose block timestamps
    /// give each post's slot (see [`beacon_slot`]).
    Beacon {
        /// The beacon API's base URL.
        url: String,
        /// The execution node's JSON-RPC URL.
        execution: String,
    },
    /// A directory of blobs named `<versioned hash>.blob` (131,072 raw bytes each), as
    /// [`archive_blobs`] writes them.
    Directory(PathBuf),
    /// Such a directory served over HTTP: `GET <url>/<versioned hash>.blob`.
    Url(String),
}

impl BlobSource {
    /// The L1's own sources, in the order to try them: the beacon node's blob route (when
    /// given; what a real L1 serves), then the L1 node's (Anvil's).
    pub fn l1(rpc_url: &str, beacon: Option<&str>) -> Vec<Self> {
        let beacon = beacon.map(|url| Self::Beacon {
            url: url.trim_end_matches('/').to_owned(),
            execution: rpc_url.to_owned(),
        });
        beacon
            .into_iter()
            .chain([Self::Rpc(rpc_url.to_owned())])
            .collect()
    }

    /// `http://...` or `https://...` as [`BlobSource::Url`], anything else as a directory.
    pub fn parse(spec: &str) -> Self {
        if spec.starts_with("http://") || spec.starts_with("https://") {
            Self::Url(spec.trim_end_matches('/').to_owned())
        } else {
            Self::Directory(PathBuf::from(spec))
        }
    }
}

/// Writes the blobs of `sidecar` into `dir` as `<versioned hash>.blob`.
pub fn archive_blobs(
    dir: &std::path::Path,
    sidecar: &BlobTransactionSidecarEip7594,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (blob, hash) in sidecar.blobs.iter().zip(sidecar.versioned_hashes()) {
        std::fs::write(dir.join(format!("{hash}.blob")), blob.as_slice())?;
    }
    Ok(())
}

/// The beacon slot of an L1 block with `timestamp`: `(timestamp − genesis_time) /
/// seconds_per_slot`, from the beacon node's `/eth/v1/beacon/genesis` and `/eth/v1/config/spec`.
/// A server without the spec route (Anvil, whose beacon routes number blocks, not slots) is
/// addressed by `block_number`. `None` for a timestamp before genesis.
pub fn beacon_slot(
    block_number: u64,
    timestamp: u64,
    genesis_time: u64,
    seconds_per_slot: Option<u64>,
) -> Option<u64> {
    match seconds_per_slot {
        Some(seconds) => timestamp.checked_sub(genesis_time)?.checked_div(seconds),
        None => Some(block_number),
    }
}

/// The blobs of `post` from the beacon node at `url` (slot from the block's timestamp through
/// `execution`), in the post's order and each matching its versioned hash; `None` when the
/// node does not have them all.
async fn beacon_blobs(
    url: &str,
    execution: &str,
    post: &Post,
) -> Result<Option<Vec<Bytes>>, L1Error> {
    #[derive(serde::Deserialize)]
    struct Data<T> {
        data: T,
    }
    #[derive(serde::Deserialize)]
    struct Genesis {
        #[serde(with = "alloy::serde::displayfromstr")]
        genesis_time: u64,
    }
    #[derive(serde::Deserialize)]
    struct Spec {
        #[serde(rename = "SECONDS_PER_SLOT", with = "alloy::serde::displayfromstr")]
        seconds_per_slot: u64,
    }
    let http = alloy::transports::http::reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("{url}{path}"))
            .timeout(std::time::Duration::from_secs(30))
            .send()
    };
    let failed = |e: alloy::transports::http::reqwest::Error| {
        L1Error::Blob(format!("beacon node {url}: {e}"))
    };
    let genesis: Data<Genesis> = get("/eth/v1/beacon/genesis".into())
        .await
        .and_then(|r| r.error_for_status())
        .map_err(failed)?
        .json()
        .await
        .map_err(failed)?;
    let spec = get("/eth/v1/config/spec".into()).await.map_err(failed)?;
    let seconds_per_slot =
        if spec.status() == alloy::transports::http::reqwest::StatusCode::NOT_FOUND {
            None
        } else {
            let spec: Data<Spec> = spec
                .error_for_status()
                .map_err(failed)?
                .json()
                .await
                .map_err(failed)?;
            Some(spec.data.seconds_per_slot)
        };
    let provider = ProviderBuilder::new()
        .connect_http(crate::error::parse_rpc_url(execution)?)
        .erased();
    let Some(block) = provider.get_block_by_number(post.l1_block.into()).await? else {
        return Ok(None);
    };
    let Some(slot) = beacon_slot(
        post.l1_block,
        block.header.timestamp,
        genesis.data.genesis_time,
        seconds_per_slot,
    ) else {
        return Ok(None);
    };
    let filter: Vec<String> = post
        .blob_hashes
        .iter()
        .map(|h| format!("versioned_hashes={h}"))
        .collect();
    let response = get(format!("/eth/v1/beacon/blobs/{slot}?{}", filter.join("&")))
        .await
        .map_err(failed)?;
    if !response.status().is_success() {
        return Ok(None);
    }
    let found: Data<Vec<Bytes>> = response.json().await.map_err(failed)?;
    // In the post's order, whatever order the node answers in; each must be one of the post's.
    let mut by_hash = HashMap::new();
    for blob in found.data {
        by_hash.insert(blob_versioned_hash(&blob).ok(), blob);
    }
    Ok(post
        .blob_hashes
        .iter()
        .map(|h| by_hash.remove(&Some(*h)))
        .collect())
}

impl BlobSource {
    /// The blobs of `post` in order (from a beacon node or an archive, each checked against its
    /// versioned hash); `None` when this source does not have them all, or not the right ones.
    pub async fn blobs(&self, post: &Post) -> Result<Option<Vec<Bytes>>, L1Error> {
        let blobs: Vec<Bytes> = match self {
            Self::Beacon { url, execution } => return beacon_blobs(url, execution, post).await,
            Self::Rpc(url) => {
                let provider = ProviderBuilder::new()
                    .connect_http(crate::error::parse_rpc_url(url)?)
                    .erased();
                // As hex strings into heap buffers: a blob is 128 KiB, too big for the stack.
                let found: Option<Vec<Bytes>> = provider
                    .raw_request("anvil_getBlobsByTransactionHash".into(), (post.tx_hash,))
                    .await?;
                match found {
                    Some(blobs) => blobs,
                    None => return Ok(None),
                }
            }
            Self::Directory(dir) => {
                let mut blobs = Vec::with_capacity(post.blob_hashes.len());
                for hash in &post.blob_hashes {
                    match std::fs::read(dir.join(format!("{hash}.blob"))) {
                        Ok(bytes) => blobs.push(Bytes::from(bytes)),
                        Err(_) => return Ok(None),
                    }
                }
                blobs
            }
            Self::Url(base) => {
                let http = alloy::transports::http::reqwest::Client::new();
                let mut blobs = Vec::with_capacity(post.blob_hashes.len());
                for hash in &post.blob_hashes {
                    let response = http
                        .get(format!("{base}/{hash}.blob"))
                        .timeout(std::time::Duration::from_secs(30))
                        .send()
                        .await;
                    let bytes = match response {
                        Ok(r) if r.status().is_success() => r.bytes().await.ok(),
                        _ => None,
                    };
                    match bytes {
                        Some(bytes) if bytes.len() == BLOB_BYTES => blobs.push(Bytes::from(bytes)),
                        _ => return Ok(None),
                    }
                }
                blobs
            }
        };
        if blobs.len() != post.blob_hashes.len() {
            return Ok(None);
        }
        // Blobs from the L1 node are as trusted as its logs, which named them; blobs from an
        // archive must match the versioned hashes the contract recorded (a KZG commitment each,
        // about 20 ms).
        if !matches!(self, Self::Rpc(_)) {
            for (blob, hash) in blobs.iter().zip(&post.blob_hashes) {
                if blob_versioned_hash(blob).ok() != Some(*hash) {
                    return Ok(None);
                }
            }
        }
        Ok(Some(blobs))
    }
}

/// The frame bytes of `post`: its calldata, or its blobs from the first source that has them.
pub async fn frame_of(post: &Post, sources: &[BlobSource]) -> Result<Vec<u8>, L1Error> {
    if post.blob_hashes.is_empty() {
        return Ok(post.data.to_vec());
    }
    for source in sources {
        match source.blobs(post).await {
            Ok(Some(blobs)) => return Ok(frame_from_blobs(&blobs).unwrap_or_default()),
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(target: "ordo::da", tx = %post.tx_hash, error = %e, "blob source failed")
            }
        }
    }
    Err(L1Error::BlobsUnavailable(post.tx_hash))
}

/// The frames of one batch seen so far.
#[derive(Debug, Clone)]
struct Group {
    count: u16,
    frames: BTreeMap<u16, Frame>,
    /// L1 position of the post that completed it (or the latest one so far).
    position: (u64, u64),
}

/// A batch whose frames joined and decoded to blocks ending at its certified hash.
#[derive(Debug, Clone)]
struct ValidBatch {
    start: u64,
    /// Hashes of its blocks, `start..=end`.
    hashes: Vec<B256>,
    /// Parent hash of its first block.
    first_parent: B256,
    /// The blocks, when the chain keeps them (a rebuilder; the batcher needs only hashes).
    blocks: Option<Vec<Block>>,
    position: (u64, u64),
}

impl ValidBatch {
    fn end(&self) -> u64 {
        self.start
            .saturating_add(u64::try_from(self.hashes.len()).unwrap_or(u64::MAX))
            .saturating_sub(1)
    }

    /// Parent hash of the block at `height` (which must be in the batch).
    fn parent_of(&self, height: u64) -> Option<B256> {
        let i = usize::try_from(height.checked_sub(self.start)?).ok()?;
        if i == 0 {
            Some(self.first_parent)
        } else {
            self.hashes.get(i - 1).copied()
        }
    }
}

/// What [`DaChain::add`] made of a post's frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// A frame of a batch still missing frames.
    Partial,
    /// The last frame of a batch that decoded and ends at its certified hash.
    Batch {
        /// First height.
        start: u64,
        /// Last height.
        end: u64,
    },
    /// Ignored: not a frame, a frame for another range than the post, a repeated frame, or
    /// the last frame of a batch that does not decode or does not end at its certified hash.
    Ignored(String),
}

/// The chain as the L1 holds it: frames collected into batches, batches into blocks from
/// height 1 on. Pure: the caller feeds it posts in L1 order with their frame bytes.
#[derive(Debug, Clone)]
pub struct DaChain {
    keep_blocks: bool,
    groups: HashMap<(u64, u64, B256, B256, u16), Group>,
    batches: Vec<ValidBatch>,
    tip: u64,
    tip_hash: B256,
}

impl DaChain {
    /// An empty chain (nothing before height 1). With `keep_blocks`, [`DaChain::advance`]
    /// returns the blocks; without, only the tip moves.
    pub fn new(keep_blocks: bool) -> Self {
        Self {
            keep_blocks,
            groups: HashMap::new(),
            batches: Vec::new(),
            tip: 0,
            tip_hash: B256::ZERO,
        }
    }

    /// The last height the chain holds, and its hash (0 and zero before height 1).
    pub fn tip(&self) -> (u64, B256) {
        (self.tip, self.tip_hash)
    }

    /// Adds `post`'s frame (`bytes`).
    pub fn add(&mut self, post: &Post, bytes: &[u8]) -> Added {
        let frame = match Frame::decode(bytes) {
            Ok(frame) => frame,
            Err(e) => return Added::Ignored(format!("not a frame: {e}")),
        };
        if (frame.start, frame.end) != (post.start, post.end) {
            return Added::Ignored("the frame names another range than its post".into());
        }
        if post.end <= self.tip {
            return Added::Ignored("the chain is already past this range".into());
        }
        // The same data may be cut differently by two posters (or one, again): each cut is a group.
        let key = (
            post.start,
            post.end,
            post.end_hash,
            frame.data_hash,
            frame.count,
        );
        let group = self.groups.entry(key).or_insert_with(|| Group {
            count: frame.count,
            frames: BTreeMap::new(),
            position: (post.l1_block, post.log_index),
        });
        if group.frames.contains_key(&frame.index) {
            return Added::Ignored("a repeated frame".into());
        }
        group.position = (post.l1_block, post.log_index);
        group.frames.insert(frame.index, frame);
        if group.frames.len() < usize::from(group.count) {
            return Added::Partial;
        }
        let Some(group) = self.groups.remove(&key) else {
            return Added::Partial;
        };
        let frames: Vec<Frame> = group.frames.into_values().collect();
        let blocks = match decode_frames(&frames) {
            Ok(blocks) => blocks,
            Err(e) => return Added::Ignored(format!("batch {}..={}: {e}", post.start, post.end)),
        };
        let hashes: Vec<B256> = blocks.iter().map(Block::hash).collect();
        if hashes.last() != Some(&post.end_hash) {
            return Added::Ignored(format!(
                "batch {}..={} does not end at the certified hash",
                post.start, post.end
            ));
        }
        let first_parent = blocks.first().map_or(B256::ZERO, |b| b.header.parent_hash);
        self.batches.push(ValidBatch {
            start: post.start,
            hashes,
            first_parent,
            blocks: self.keep_blocks.then_some(blocks),
            position: group.position,
        });
        self.batches.sort_by_key(|b| b.position);
        Added::Batch {
            start: post.start,
            end: post.end,
        }
    }

    /// Moves the tip as far as the valid batches reach: for the next height, the first batch
    /// in L1 order that holds it and whose block there extends the tip. Returns the blocks
    /// added (none without `keep_blocks`).
    pub fn advance(&mut self) -> Vec<Block> {
        let mut out = Vec::new();
        loop {
            let next = self.tip.saturating_add(1);
            let found = self.batches.iter().position(|b| {
                b.start <= next && next <= b.end() && b.parent_of(next) == Some(self.tip_hash)
            });
            let Some(i) = found else { break };
            let batch = self.batches.remove(i);
            let end = batch.end();
            let skip = usize::try_from(next.saturating_sub(batch.start)).unwrap_or(usize::MAX);
            if let Some(blocks) = batch.blocks {
                out.extend(blocks.into_iter().skip(skip));
            }
            self.tip = end;
            self.tip_hash = batch.hashes.last().copied().unwrap_or(self.tip_hash);
            let tip = self.tip;
            self.batches.retain(|b| b.end() > tip);
            self.groups.retain(|k, _| k.1 > tip);
        }
        out
    }
}

/// Reads `BatchInbox` posts from the L1 at a confirmation depth and feeds a [`DaChain`].
#[derive(Debug)]
pub struct DaReader {
    provider: DynProvider,
    inbox: Address,
    confirmations: u64,
    next_block: u64,
    max_log_range: u64,
    sources: Vec<BlobSource>,
    chain: DaChain,
    /// Posts read whose blobs no source had, tried again on each poll.
    unavailable: Vec<Post>,
}

impl DaReader {
    /// A reader of `inbox` through `rpc_url` from L1 block `from_block`, `confirmations`
    /// blocks below the head, fetching blobs from `sources` in order.
    pub fn new(
        rpc_url: &str,
        inbox: Address,
        from_block: u64,
        confirmations: u64,
        sources: Vec<BlobSource>,
        keep_blocks: bool,
    ) -> Result<Self, L1Error> {
        let provider = ProviderBuilder::new()
            .connect_http(crate::error::parse_rpc_url(rpc_url)?)
            .erased();
        Ok(Self {
            provider,
            inbox,
            confirmations,
            next_block: from_block,
            max_log_range: 1000,
            sources,
            chain: DaChain::new(keep_blocks),
            unavailable: Vec::new(),
        })
    }

    /// The chain read so far.
    pub fn chain(&self) -> &DaChain {
        &self.chain
    }

    /// The next L1 block to read.
    pub fn next_block(&self) -> u64 {
        self.next_block
    }

    /// The posts in L1 blocks `from..=to`.
    pub async fn posts(&self, from: u64, to: u64) -> Result<Vec<Post>, L1Error> {
        let mut posts = Vec::new();
        let mut at = from;
        while at <= to {
            let upto = to.min(at.saturating_add(self.max_log_range - 1));
            let filter = Filter::new()
                .address(self.inbox)
                .event_signature(BatchInbox::BatchPosted::SIGNATURE_HASH)
                .from_block(at)
                .to_block(upto);
            let logs = self.provider.get_logs(&filter).await?;
            posts.extend(decode_posts(self.inbox, &logs));
            at = upto.saturating_add(1);
        }
        Ok(posts)
    }

    /// Reads the confirmed L1 blocks not read yet; returns the blocks the chain gained (none
    /// without `keep_blocks`). A post whose blobs no source has is set aside and tried again on
    /// the next polls; the posts after it are read meanwhile.
    pub async fn poll(&mut self) -> Result<Vec<Block>, L1Error> {
        let head = self.provider.get_block_number().await?;
        let Some(to) = head.checked_sub(self.confirmations) else {
            return Ok(Vec::new());
        };
        if to < self.next_block {
            return Ok(Vec::new());
        }
        let mut posts = std::mem::take(&mut self.unavailable);
        match self.posts(self.next_block, to).await {
            Ok(new) => posts.extend(new),
            Err(e) => {
                self.unavailable = posts;
                return Err(e);
            }
        }
        self.unavailable = feed(&mut self.chain, posts, &self.sources).await?;
        self.next_block = to.saturating_add(1);
        Ok(self.chain.advance())
    }

    /// The tip the chain would have with the posts above the confirmation depth too (they
    /// may still be dropped by a reorg): what a batcher resumes from.
    pub async fn optimistic_tip(&self) -> Result<(u64, B256), L1Error> {
        let head = self.provider.get_block_number().await?;
        let mut chain = self.chain.clone();
        chain.keep_blocks = false;
        if head >= self.next_block {
            let posts = self.posts(self.next_block, head).await?;
            feed(&mut chain, posts, &self.sources).await?;
        }
        chain.advance();
        Ok(chain.tip())
    }
}

/// Adds `posts` to `chain`; returns those whose blobs no source has (to try again later), so
/// that one post without blobs (junk whose blobs nobody archived, or a source that is down)
/// does not hold up the posts after it.
async fn feed(
    chain: &mut DaChain,
    posts: Vec<Post>,
    sources: &[BlobSource],
) -> Result<Vec<Post>, L1Error> {
    let mut unavailable = Vec::new();
    for post in posts {
        if post.end <= chain.tip().0 {
            continue;
        }
        let bytes = match frame_of(&post, sources).await {
            Ok(bytes) => bytes,
            Err(L1Error::BlobsUnavailable(tx)) => {
                tracing::warn!(target: "ordo::da", %tx, start = post.start, end = post.end, "blobs unavailable from every source; will try again");
                unavailable.push(post);
                continue;
            }
            Err(e) => return Err(e),
        };
        let added = chain.add(&post, &bytes);
        if let Added::Ignored(why) = &added {
            tracing::info!(target: "ordo::da", tx = %post.tx_hash, start = post.start, end = post.end, reason = %why, "post ignored");
        }
    }
    Ok(unavailable)
}

#[cfg(test)]
mod tests {
    use super::beacon_slot;

    #[test]
    fn a_beacon_slot_counts_slots_since_genesis_or_blocks_on_anvil() {
        // Mainnet: beacon genesis at 1606824023, 12-second slots.
        let genesis = 1_606_824_023;
        let slot = 9_000_000;
        let timestamp = genesis + 12 * slot;
        assert_eq!(
            beacon_slot(21_000_000, timestamp, genesis, Some(12)),
            Some(slot)
        );
        // Within its slot, a timestamp still names it.
        assert_eq!(
            beacon_slot(21_000_000, timestamp + 11, genesis, Some(12)),
            Some(slot)
        );
        assert_eq!(beacon_slot(1, genesis - 1, genesis, Some(12)), None);
        assert_eq!(beacon_slot(1, genesis, genesis, Some(0)), None);
        // No spec route (Anvil): the block number.
        assert_eq!(beacon_slot(42, timestamp, genesis, None), Some(42));
    }
}
