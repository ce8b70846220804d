//! `ordo rollup`: tools for rollup operators. `ordo rollup follow` reads one namespace's
//! blocks from any node and prints only what verifies against the genesis committee.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use ordo_rollup_adapters::{adapter_for, Genesis, RollupClient};
use serde_json::json;

/// `ordo rollup` subcommands.
#[derive(Subcommand, Clone, Debug)]
pub(crate) enum RollupArgs {
    /// Follow a namespace from a height on: print one JSON line per verified block (height,
    /// block_hash, tx_count, tx_hashes); exit non-zero, with the reason, on the first block
    /// that does not verify.
    Follow(FollowArgs),
}

/// Arguments of `ordo rollup follow`.
#[derive(Args, Clone, Debug)]
pub(crate) struct FollowArgs {
    /// Base URL of any node's API (it is not trusted).
    #[arg(long)]
    node: String,
    /// The genesis file holding the trusted chain id and committee.
    #[arg(long)]
    genesis: PathBuf,
    /// The namespace (rollup) id.
    #[arg(long)]
    namespace: u64,
    /// First height to read.
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Stop (successfully) after this height.
    #[arg(long)]
    until: Option<u64>,
    /// Also print each block's entries as the rollup's adapter renders them (`rendered`).
    #[arg(long)]
    render: bool,
    /// The adapter kind for `--render` (default: the namespace's adapter in the genesis file,
    /// else `raw`).
    #[arg(long)]
    adapter: Option<String>,
}

/// Runs an `ordo rollup` subcommand.
pub(crate) async fn run(args: RollupArgs) -> anyhow::Result<()> {
    match args {
        RollupArgs::Follow(args) => follow(args).await,
    }
}

async fn follow(args: FollowArgs) -> anyhow::Result<()> {
    if args.from == 0 {
        bail!("heights start at 1");
    }
    let genesis = Genesis::load(&args.genesis)?;
    let adapter = if args.render {
        let kind = match (&args.adapter, genesis.rollup(args.namespace)) {
            (Some(kind), _) => kind.as_str(),
            (None, Some(registered)) => registered.adapter.as_str(),
            (None, None) => "raw",
        };
        Some(adapter_for(kind).with_context(|| format!("no adapter {kind:?}"))?)
    } else {
        None
    };
    if !genesis.rollups.is_empty() && genesis.rollup(args.namespace).is_none() {
        eprintln!(
            "warning: namespace {} is not registered in the genesis file",
            args.namespace
        );
    }
    let client = RollupClient::from_genesis(&args.node, &genesis);
    // Stdout carries the JSON lines: log below the default level.
    tracing::debug!(
        target: "ordo::rollup", node = %args.node, namespace = args.namespace, from = args.from,
        validators = genesis.validators.len(), "following"
    );
    let mut blocks = std::pin::pin!(client.stream(args.namespace, args.from));
    let mut stdout = std::io::stdout().lock();
    while let Some(item) = blocks.next().await {
        let block = match item {
            Ok(block) => block,
            Err(e) if e.is_verification_failure() => {
                return Err(anyhow!(
                    "refused a block that does not verify: {}: {e}",
                    e.code()
                ));
            }
            Err(e @ ordo_rollup_adapters::ClientError::Http(_)) => {
                eprintln!("warning: {e}; retrying");
                continue;
            }
            Err(e) => return Err(anyhow!("{}: {e}", e.code())),
        };
        let mut line = json!({
            "namespace": block.namespace(),
            "height": block.height(),
            "block_hash": block.block_hash(),
            "tx_count": block.entries().len(),
            "tx_hashes": block.tx_hashes(),
        });
        if let (Some(adapter), Some(obj)) = (&adapter, line.as_object_mut()) {
            obj.insert("rendered".into(), adapter.render(block.entries()));
        }
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
        if args.until.is_some_and(|until| block.height() >= until) {
            return Ok(());
        }
    }
    bail!("the stream ended")
}
