//! `ordo l1 batch`: runs the batcher (`ordo_l1::Batcher`) against an Ordo node's API, posting
//! the decided chain to the genesis' `BatchInbox`, and serves its metrics.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use ordo_l1::{BatcherConfig, ChainSource, L1Error, PostMode};
use ordo_types::{Block, CommitCertificate, Decode, Header, ValidatorSet};

use crate::config::{l1_signer, GenesisL1, KeyFile};

/// Arguments of `ordo l1 batch`.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct BatchArgs {
    /// An Ordo node's API (the chain to post).
    #[arg(long)]
    node: String,
    /// L1 JSON-RPC URL.
    #[arg(long)]
    l1: String,
    /// Key file of the account that pays for the posts.
    #[arg(long)]
    key: PathBuf,
    /// The genesis file, whose `l1` section names `BatchInbox` and `LightClient`.
    #[arg(long)]
    genesis: PathBuf,
    /// L1 blocks below the head a post must be to count as final.
    #[arg(long, default_value_t = 2)]
    confirmations: u64,
    /// Most Ordo blocks in one batch.
    #[arg(long, default_value_t = 1000)]
    max_blocks: u64,
    /// `blobs`, `calldata`, or `auto` (the cheaper, with hysteresis).
    #[arg(long, default_value = "auto")]
    mode: String,
    /// Pause between passes when up to date, milliseconds.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Archive every posted blob into this directory (`<versioned hash>.blob`).
    #[arg(long)]
    blob_archive: Option<PathBuf>,
    /// A beacon node's API, to read posted blobs back from (an L1 other than Anvil serves
    /// none over JSON-RPC).
    #[arg(long)]
    l1_beacon: Option<String>,
    /// Serve the batcher's metrics at `http://ADDR/metrics`.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
}

/// The decided chain as an Ordo node's API serves it.
struct NodeSource {
    http: reqwest::Client,
    node: String,
}

fn node_error(e: impl std::fmt::Display) -> L1Error {
    L1Error::Node(e.to_string())
}

impl ChainSource for NodeSource {
    async fn tip(&self) -> Result<u64, L1Error> {
        let status: serde_json::Value = self
            .http
            .get(format!("{}/v1/status", self.node))
            .send()
            .await
            .map_err(node_error)?
            .error_for_status()
            .map_err(node_error)?
            .json()
            .await
            .map_err(node_error)?;
        status["height"]
            .as_u64()
            .ok_or_else(|| node_error("status without height"))
    }

    async fn block(&self, height: u64) -> Result<Block, L1Error> {
        let bytes = self
            .http
            .get(format!("{}/v1/blocks/{height}/raw", self.node))
            .send()
            .await
            .map_err(node_error)?
            .error_for_status()
            .map_err(node_error)?
            .bytes()
            .await
            .map_err(node_error)?;
        let block = Block::decode(&bytes).map_err(node_error)?;
        if block.header.height != height {
            return Err(node_error(format!(
                "asked for block {height}, got {}",
                block.header.height
            )));
        }
        Ok(block)
    }

    async fn certified(
        &self,
        height: u64,
    ) -> Result<(Header, CommitCertificate, ValidatorSet), L1Error> {
        super::certified(&self.http, &self.node, height)
            .await
            .map_err(node_error)
    }
}

/// `ordo l1 batch`.
pub(crate) async fn run(args: BatchArgs) -> anyhow::Result<()> {
    let key = KeyFile::load(&args.key)?;
    let l1 = GenesisL1::load(&args.genesis)?;
    let Some(batch_inbox) = l1.batch_inbox else {
        bail!("the genesis names no BatchInbox (deploy one with `ordo l1 deploy`)");
    };
    let mut config = BatcherConfig::new(&args.l1, batch_inbox, l1.light_client, l1.start_block);
    config.confirmations = args.confirmations;
    config.max_blocks = args.max_blocks.max(1);
    config.poll = Duration::from_millis(args.poll_ms);
    config.blob_archive = args.blob_archive.clone();
    config.beacon = args.l1_beacon.clone();
    config.mode = match args.mode.as_str() {
        "auto" => None,
        "blobs" => Some(PostMode::Blobs),
        "calldata" => Some(PostMode::Calldata),
        other => bail!("--mode {other}: give auto, blobs or calldata"),
    };
    let source = NodeSource {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        node: args.node.trim_end_matches('/').to_owned(),
    };
    let batcher =
        ordo_l1::Batcher::new(config, l1_signer(&key)?, source).context("starting the batcher")?;
    if let Some(addr) = args.metrics_listen {
        let metrics = batcher.metrics();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let metrics = metrics.clone();
                async move { metrics.render() }
            }),
        );
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the metrics address {addr}"))?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(target: "ordo::batcher", error = %e, "metrics server stopped");
            }
        });
    }
    tracing::info!(target: "ordo::batcher", %batch_inbox, node = %args.node, "batcher started");
    tokio::select! {
        () = batcher.run() => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
