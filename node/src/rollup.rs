//! `ordo rollup`: tools for rollup operators. `ordo rollup follow` reads one namespace's
//! blocks from any node and prints only what verifies against the genesis committee;
//! `ordo rollup run` replays an EVM namespace into its execution node. With `--l1 URL`
//! instead of `--node URL`, both read the chain from the L1 alone: the `BatchInbox` posts and
//! their blobs or calldata, rebuilt into blocks that chain to the hashes the `LightClient`
//! certified (`ordo_l1::da`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use ordo_rollup_adapters::{adapter_for, EvmEngine, Genesis, RollupClient};
use serde_json::json;

/// `ordo rollup` subcommands.
#[derive(Subcommand, Clone, Debug)]
pub(crate) enum RollupArgs {
    /// Follow a namespace from a height on: print one JSON line per verified block (height,
    /// block_hash, tx_count, tx_hashes); exit non-zero, with the reason, on the first block
    /// that does not verify.
    Follow(FollowArgs),
    /// Run an EVM rollup's executor: follow the namespace (verified) and replay its
    /// transactions, in Ordo's order, into the execution node, one L2 block per Ordo block
    /// with transactions. Prints one JSON line per L2 block.
    Run(RunArgs),
}

/// Where a rollup's verified blocks come from.
#[derive(Args, Clone, Debug)]
pub(crate) struct Source {
    /// Base URL of any node's API (it is not trusted).
    #[arg(long, required_unless_present = "l1", conflicts_with = "l1")]
    node: Option<String>,
    /// Read the chain from the L1 alone instead (its JSON-RPC URL): the genesis' BatchInbox
    /// posts, rebuilt and chained to the LightClient's certified hashes.
    #[arg(long)]
    l1: Option<String>,
    /// With `--l1`: L1 blocks below the head a post must be before it is read.
    #[arg(long, default_value_t = 2)]
    l1_confirmations: u64,
    /// With `--l1`: archives of blobs (`<versioned hash>.blob`), a directory or an
    /// `http(s)://` URL serving one, tried in order after the L1 node for blobs it no longer
    /// serves; their blobs must match the versioned hashes on the L1. Repeatable.
    #[arg(long)]
    blob_source: Vec<String>,
    /// With `--l1`: a beacon node's API, the first place to read blobs from
    /// (`/eth/v1/beacon/blobs`; an L1 other than Anvil serves none over JSON-RPC).
    #[arg(long, requires = "l1")]
    l1_beacon: Option<String>,
    /// With `--node`: trust the committee the genesis' `LightClient` on this L1 (its JSON-RPC
    /// URL) holds, from the height after the header that installed it, instead of the
    /// genesis committee. The node serves the set; it must hash to what the contract holds.
    #[arg(long, conflicts_with = "l1")]
    trust_l1: Option<String>,
    /// The genesis file holding the trusted chain id, committee and rollup registrations.
    #[arg(long)]
    genesis: PathBuf,
    /// The namespace (rollup) id.
    #[arg(long)]
    namespace: u64,
}

impl Source {
    /// A client of `--node` trusting the genesis committee, or with `--trust-l1` the committee
    /// the L1 `LightClient` holds.
    async fn client(&self, genesis: &Genesis) -> anyhow::Result<RollupClient> {
        let node = self.node.clone().unwrap_or_default();
        let Some(url) = &self.trust_l1 else {
            let client = RollupClient::from_genesis(&node, genesis);
            if !genesis.rollup(self.namespace).is_some_and(|r| r.encrypted) {
                return Ok(client);
            }
            return Ok(client.with_openings());
        };
        let l1 = crate::config::GenesisL1::load(&self.genesis)?;
        let light_client = ordo_l1::LightClientRelay::new(
            url,
            ordo_l1::PrivateKeySigner::random(),
            l1.light_client,
        )?;
        let state = light_client
            .state()
            .await
            .context("reading the LightClient")?;
        let since = state.rotation_height.saturating_add(1);
        tracing::info!(target: "ordo::rollup", committee = %state.committee_hash, since, "trusting the L1 LightClient's committee");
        RollupClient::from_committee_hash(&node, genesis.chain_id, state.committee_hash, since)
            .await
            .map_err(|e| anyhow!("the committee the LightClient holds: {}: {e}", e.code()))
    }
}

/// Arguments of `ordo rollup run`.
#[derive(Args, Clone, Debug)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    source: Source,
    /// The execution node's JSON-RPC URL (e.g. `anvil --no-mining --order fifo`).
    #[arg(long)]
    engine: String,
    /// First Ordo height to read. The client trusts the genesis committee and, to start after
    /// a rotation, first walks the certified handovers up to that height.
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// A file holding the last Ordo height applied: after a restart, reading resumes after it
    /// (from the L1, blocks up to it are read again but not replayed).
    #[arg(long)]
    state: Option<PathBuf>,
}

/// Arguments of `ordo rollup follow`.
#[derive(Args, Clone, Debug)]
pub(crate) struct FollowArgs {
    #[command(flatten)]
    source: Source,
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
        RollupArgs::Run(args) => execute(args).await,
    }
}

async fn execute(args: RunArgs) -> anyhow::Result<()> {
    let genesis = Genesis::load(&args.source.genesis)?;
    let chain_id = genesis
        .rollup(args.source.namespace)
        .filter(|r| r.adapter == "evm")
        .and_then(|r| r.chain_id)
        .with_context(|| format!("namespace {} is not an EVM rollup", args.source.namespace))?;
    let engine = EvmEngine::new(&args.engine);
    let engine_chain = retry("reading the engine's chain id", || engine.chain_id()).await;
    if engine_chain != chain_id {
        bail!("the engine runs chain {engine_chain}; the rollup's chain id is {chain_id}");
    }
    let applied_height = match &args.state {
        Some(path) if path.exists() => Some(
            std::fs::read_to_string(path)?
                .trim()
                .parse::<u64>()
                .with_context(|| format!("reading {}", path.display()))?,
        ),
        _ => None,
    };
    let from = args.from.max(1);
    tracing::info!(target: "ordo::rollup", namespace = args.source.namespace, from, engine = %args.engine, "executing");
    if args.source.l1.is_some() {
        return execute_from_l1(&args, &genesis, &engine, applied_height).await;
    }
    let client = args.source.client(&genesis).await?;
    let from = applied_height.map_or(from, |h| from.max(h.saturating_add(1)));
    let mut blocks = std::pin::pin!(client.stream(args.source.namespace, from));
    let mut stdout = std::io::stdout().lock();
    while let Some(item) = blocks.next().await {
        let block = match item {
            Ok(block) => block,
            Err(e @ ordo_rollup_adapters::ClientError::Http(_)) => {
                tracing::warn!(target: "ordo::rollup", "{e}; retrying");
                continue;
            }
            Err(e) => return Err(anyhow!("{}: {e}", e.code())),
        };
        if !block.entries().is_empty() {
            let applied = retry("applying a block", || engine.apply(&block)).await;
            report(&mut stdout, block.height(), &applied)?;
        }
        if let Some(path) = &args.state {
            save_height(path, block.height())?;
        }
    }
    bail!("the stream ended")
}

/// Runs `f` until it succeeds, logging each failure and backing off up to 5 s.
async fn retry<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ordo_rollup_adapters::EngineError>>,
{
    let mut delay = std::time::Duration::from_millis(100);
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) => {
                tracing::warn!(target: "ordo::rollup", "{what}: {e}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
}

async fn follow(args: FollowArgs) -> anyhow::Result<()> {
    if args.from == 0 {
        bail!("heights start at 1");
    }
    let genesis = Genesis::load(&args.source.genesis)?;
    let adapter = if args.render {
        let registered = genesis.rollup(args.source.namespace);
        let kind = match (&args.adapter, registered) {
            (Some(kind), _) => kind.as_str(),
            (None, Some(registered)) => registered.adapter.as_str(),
            (None, None) => "raw",
        };
        let chain_id = registered.and_then(|r| r.chain_id);
        Some(adapter_for(kind, chain_id).with_context(|| format!("no adapter {kind:?}"))?)
    } else {
        None
    };
    if !genesis.rollups.is_empty() && genesis.rollup(args.source.namespace).is_none() {
        eprintln!(
            "warning: namespace {} is not registered in the genesis file",
            args.source.namespace
        );
    }
    if args.source.l1.is_some() {
        return follow_from_l1(&args, &genesis, adapter.as_deref()).await;
    }
    let client = args.source.client(&genesis).await?;
    // Stdout carries the JSON lines: log below the default level.
    tracing::debug!(
        target: "ordo::rollup", node = ?args.source.node, namespace = args.source.namespace, from = args.from,
        validators = genesis.validators.len(), "following"
    );
    let mut blocks = std::pin::pin!(client.stream(args.source.namespace, args.from));
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
        if let (false, Some(obj)) = (block.opened().is_empty(), line.as_object_mut()) {
            obj.insert("delivered".into(), delivered_json(block.delivered()));
        }
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
        if args.until.is_some_and(|until| block.height() >= until) {
            return Ok(());
        }
    }
    bail!("the stream ended")
}

/// A block's entries in the order its rollup applies them, each opened encrypted one with its
/// plaintext or why it did not open (docs/ENCRYPTION.md, "Delivery").
fn delivered_json(delivered: Vec<ordo_rollup_adapters::Delivered<'_>>) -> serde_json::Value {
    use ordo_rollup_adapters::Delivered;
    delivered
        .into_iter()
        .map(|d| match d {
            Delivered::Opened(entry, opened) => {
                let mut item = serde_json::to_value(&opened.outcome).unwrap_or_default();
                if let Some(obj) = item.as_object_mut() {
                    obj.insert("hash".into(), json!(entry.hash()));
                }
                item
            }
            Delivered::Plain(entry) => json!({ "hash": entry.hash() }),
        })
        .collect()
}

/// The chain rebuilt from the L1 alone, block after block from height 1, each checked to be
/// of the genesis' chain (the hash chain to the certified hashes is `DaChain`'s).
struct L1Blocks {
    reader: ordo_l1::da::DaReader,
    chain_id: u64,
    queue: std::collections::VecDeque<ordo_types::Block>,
}

impl L1Blocks {
    fn new(source: &Source, genesis: &Genesis) -> anyhow::Result<Self> {
        let url = source.l1.clone().context("no --l1")?;
        let l1 = crate::config::GenesisL1::load(&source.genesis)?;
        let batch_inbox = l1
            .batch_inbox
            .context("the genesis names no BatchInbox: nothing to read from the L1")?;
        let mut sources = ordo_l1::da::BlobSource::l1(&url, source.l1_beacon.as_deref());
        sources.extend(
            source
                .blob_source
                .iter()
                .map(|s| ordo_l1::da::BlobSource::parse(s)),
        );
        let reader = ordo_l1::da::DaReader::new(
            &url,
            batch_inbox,
            l1.start_block,
            source.l1_confirmations,
            sources,
            true,
        )?;
        Ok(Self {
            reader,
            chain_id: genesis.chain_id,
            queue: Default::default(),
        })
    }

    /// The next block, waiting for the L1 to hold it (and retrying while the L1 fails).
    async fn next(&mut self) -> anyhow::Result<ordo_types::Block> {
        let mut delay = std::time::Duration::from_millis(500);
        loop {
            if let Some(block) = self.queue.pop_front() {
                if block.header.chain_id != self.chain_id {
                    bail!(
                        "the L1 holds block {} of chain {}, not {}",
                        block.header.height,
                        block.header.chain_id,
                        self.chain_id
                    );
                }
                return Ok(block);
            }
            match self.reader.poll().await {
                Ok(blocks) if !blocks.is_empty() => {
                    self.queue.extend(blocks);
                    delay = std::time::Duration::from_millis(500);
                }
                Ok(_) => tokio::time::sleep(delay).await,
                Err(e) => {
                    tracing::warn!(target: "ordo::rollup", "reading the L1: {e}; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(10));
                }
            }
        }
    }
}

/// A namespace's blocks from the L1 alone, each with the openings of its encrypted entries.
/// For a rollup taking encrypted transactions it follows the lane over the blocks
/// ([`ordo_chain::lane::Follower`]): the keys from the key-generation transactions, a block's
/// openings from the keys a later block commits. A block waits for them. With elections it
/// elects each epoch's committee from the L1's stake table as the nodes did ([`L1Elections`]).
struct L1Slices {
    blocks: L1Blocks,
    lane: Option<ordo_chain::lane::Follower>,
    elections: Option<L1Elections>,
    senders: ordo_chain::Recover,
    namespace: u64,
    held: std::collections::VecDeque<ordo_types::Block>,
    openings: std::collections::BTreeMap<u64, Vec<ordo_types::OpenedEntry>>,
}

impl L1Slices {
    fn new(source: &Source, genesis: &Genesis) -> anyhow::Result<Self> {
        let namespace = source.namespace;
        let full = crate::config::Genesis::load(&source.genesis)?;
        let encrypted = genesis.rollup(namespace).is_some_and(|r| r.encrypted);
        let election = full
            .l1
            .as_ref()
            .map(|l| l.election())
            .transpose()?
            .flatten();
        let lane = full.encryption.filter(|_| encrypted).map(|params| {
            let schedule = ordo_chain::Schedule::new(params, election.as_ref());
            ordo_chain::lane::Follower::new(schedule, genesis.validators.clone(), genesis.chain_id)
        });
        let elections = match (&lane, election, &full.l1) {
            (Some(_), Some(params), Some(l1)) => Some(L1Elections::start(source, l1, params)?),
            _ => None,
        };
        Ok(Self {
            blocks: L1Blocks::new(source, genesis)?,
            lane,
            elections,
            senders: ordo_chain::Recover(genesis.chain_id),
            namespace,
            held: Default::default(),
            openings: Default::default(),
        })
    }

    /// The next block, in height order, with its namespace's openings (none without the
    /// lane, or for a block whose keys no later block committed).
    async fn next(&mut self) -> anyhow::Result<(ordo_types::Block, Vec<ordo_types::OpenedEntry>)> {
        loop {
            if let Some(front) = self.held.front() {
                let height = front.header.height;
                if !self.lane.as_ref().is_some_and(|l| l.is_waiting(height)) {
                    let block = self.held.pop_front().context("a held block")?;
                    return Ok((block, self.openings.remove(&height).unwrap_or_default()));
                }
            }
            let block = self.blocks.next().await?;
            if let (Some(lane), Some(elections)) = (&mut self.lane, &mut self.elections) {
                elections.take(lane, &block.header).await?;
            }
            if let Some(lane) = &mut self.lane {
                for (height, opened) in lane.apply(&block, &self.senders) {
                    let mine = opened
                        .into_iter()
                        .filter(|o| o.namespace == self.namespace)
                        .collect();
                    self.openings.insert(height, mine);
                }
            }
            self.held.push_back(block);
        }
    }
}

/// Elections over the L1's stake table, read by a watcher of its own, for a follower of the
/// encrypted lane: each epoch's committee runs that epoch's key generation.
struct L1Elections {
    params: ordo_chain::ElectionParams,
    view: tokio::sync::watch::Receiver<ordo_types::L1View>,
    _watcher: tokio::task::JoinHandle<()>,
}

impl L1Elections {
    fn start(
        source: &Source,
        l1: &crate::config::GenesisL1,
        params: ordo_chain::ElectionParams,
    ) -> anyhow::Result<Self> {
        let url = source.l1.clone().context("no --l1")?;
        let client = ordo_l1::L1Client::new(ordo_l1::RpcConfig {
            urls: vec![url],
            ..Default::default()
        })?;
        let contracts = ordo_l1::WatchedContracts {
            stake_table: l1.stake_table,
            inbox: l1.inbox,
            start_block: l1.start_block,
        };
        let config = ordo_l1::WatchConfig {
            confirmations: source.l1_confirmations,
            ..Default::default()
        };
        let (view, watcher) = ordo_l1::Watcher::new(client, contracts, config).spawn();
        Ok(Self {
            params,
            view,
            _watcher: watcher,
        })
    }

    /// Before the follower takes the block with `header`: at an election height, elects the
    /// committee it schedules as the chain does (the stake table as of the block's L1 origin,
    /// waiting for the L1 to confirm it; nobody elected keeps the committee before). Checks
    /// that the committee the follower holds for the block's epoch is the one it names.
    async fn take(
        &mut self,
        lane: &mut ordo_chain::lane::Follower,
        header: &ordo_types::Header,
    ) -> anyhow::Result<()> {
        let epoch = self.params.epoch(header.height);
        if self.params.first_height(epoch) == header.height {
            let target = epoch.saturating_add(self.params.activation_epochs);
            let origin = header.l1_origin_number;
            let view = self
                .view
                .wait_for(|v| v.confirmed_number() >= origin)
                .await
                .context("the L1 watcher stopped")?
                .clone();
            let set = ordo_chain::elect(view.stake_events(), origin, &self.params)
                .unwrap_or_else(|| lane.committee(target).clone());
            lane.set_committee(target, set);
        }
        let held = lane.committee(epoch).hash();
        if held != header.validators_hash {
            anyhow::bail!(
                "block {}: the stake table elects committee {held} for epoch {epoch}, the block names {}",
                header.height,
                header.validators_hash
            );
        }
        Ok(())
    }
}

/// `ordo rollup follow --l1`: the same JSON lines as from a node, from the L1 alone (the
/// encrypted lane's openings too, see [`L1Slices`]).
async fn follow_from_l1(
    args: &FollowArgs,
    genesis: &Genesis,
    adapter: Option<&dyn ordo_rollup_adapters::RollupAdapter>,
) -> anyhow::Result<()> {
    let namespace = args.source.namespace;
    let mut slices = L1Slices::new(&args.source, genesis)?;
    let mut stdout = std::io::stdout().lock();
    loop {
        let (block, opened) = slices.next().await?;
        let height = block.header.height;
        if height < args.from {
            continue;
        }
        let entries = block
            .body
            .namespace(namespace)
            .map(|g| g.entries.as_slice())
            .unwrap_or_default();
        let mut line = json!({
            "namespace": namespace,
            "height": height,
            "block_hash": block.hash(),
            "tx_count": entries.len(),
            "tx_hashes": entries.iter().map(ordo_types::Entry::hash).collect::<Vec<_>>(),
        });
        if let Some(obj) = line.as_object_mut() {
            if let Some(adapter) = adapter {
                obj.insert("rendered".into(), adapter.render(entries));
            }
            if !opened.is_empty() {
                let order = ordo_rollup_adapters::delivery_order(block.hash(), entries, &opened);
                obj.insert("delivered".into(), delivered_json(order));
            }
        }
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
        if args.until.is_some_and(|until| height >= until) {
            return Ok(());
        }
    }
}

/// `ordo rollup run --l1`: replays the namespace into the engine from the L1 alone, in each
/// block's delivery order (the encrypted lane's openings too, see [`L1Slices`]).
async fn execute_from_l1(
    args: &RunArgs,
    genesis: &Genesis,
    engine: &EvmEngine,
    applied_height: Option<u64>,
) -> anyhow::Result<()> {
    let mut slices = L1Slices::new(&args.source, genesis)?;
    let mut stdout = std::io::stdout().lock();
    loop {
        let (block, opened) = slices.next().await?;
        let height = block.header.height;
        if height < args.from.max(1) {
            continue;
        }
        let entries = block
            .body
            .namespace(args.source.namespace)
            .map(|g| g.entries.as_slice())
            .unwrap_or_default();
        let replayed = applied_height.is_some_and(|h| height <= h);
        if !entries.is_empty() && !replayed {
            let applied = retry("applying a block", || {
                engine.apply_delivered(
                    &block.header,
                    args.source.namespace,
                    ordo_rollup_adapters::delivery_order(block.hash(), entries, &opened),
                    &block.body.bundles,
                )
            })
            .await;
            report(&mut stdout, height, &applied)?;
        }
        if let (Some(path), false) = (&args.state, replayed) {
            save_height(path, height)?;
        }
    }
}

/// Logs what the engine refused and prints the executor's JSON line for one applied block.
fn report(
    out: &mut impl std::io::Write,
    height: u64,
    applied: &ordo_rollup_adapters::Applied,
) -> anyhow::Result<()> {
    for (hash, reason) in &applied.refused {
        tracing::warn!(target: "ordo::rollup", height, %hash, %reason, "the engine refused a sequenced transaction");
    }
    let line = json!({
        "height": height,
        "l2_block": applied.l2_block,
        "executed": applied.accepted,
        "already_executed": applied.already_executed,
        "refused": applied.refused.iter().map(|(h, _)| h).collect::<Vec<_>>(),
        "dropped": applied.dropped,
    });
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// Records the last applied height in the executor's state file, atomically.
fn save_height(path: &std::path::Path, height: u64) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, height.to_string())?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
