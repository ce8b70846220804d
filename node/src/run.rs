//! `ordo node`: wires the mempool, consensus and the API of one node, and runs until signalled.

use std::path::Path;

use anyhow::Context as _;
use ordo_api::ApiState;
use std::sync::Arc;

use ordo_chain::{Admission, ChainRules, L1Rules};
use ordo_consensus::{ConsensusSettings, Multiaddr, Store};
use ordo_mempool::{run_gossip, Gossip, Mempool};
use ordo_rollup_adapters::Rollups;
use ordo_types::L1View;
use tokio::sync::watch;

use crate::config::{load_or_create_p2p_secret, Genesis, GenesisL1, KeyFile, NodeConfig};

/// Submits each equivocation consensus reports to `StakeTable.slash`, trying the RPC URLs in
/// turn; a validator already slashed (by this node or another reporter) is not an error.
async fn run_slasher(
    urls: Vec<String>,
    key: ordo_types::SecretKey,
    stake_table: ordo_types::Address,
    mut evidence: tokio::sync::mpsc::UnboundedReceiver<ordo_consensus::Equivocation>,
) {
    let Ok(signer) = crate::config::l1_signer(&key) else {
        return;
    };
    while let Some(e) = evidence.recv().await {
        let vote = |v: &ordo_consensus::EvidenceVote| {
            ordo_l1::calldata::signed_vote(
                v.height,
                v.round,
                v.vote_type,
                v.block_hash,
                &v.signature,
            )
        };
        let mut done = false;
        for url in &urls {
            let Ok(staker) = ordo_l1::Staker::new(url, signer.clone(), stake_table) else {
                continue;
            };
            match staker.slash(vote(&e.a), vote(&e.b)).await {
                Ok(tx) => {
                    tracing::warn!(target: "ordo::l1", validator = %e.validator, %tx, "slashed an equivocating validator");
                    done = true;
                }
                Err(err) if err.is_revert() => {
                    tracing::info!(target: "ordo::l1", validator = %e.validator, error = %err, "slash refused (already slashed?)");
                    done = true;
                }
                Err(err) => {
                    tracing::warn!(target: "ordo::l1", validator = %e.validator, %url, error = %err, "slash not submitted");
                }
            }
            if done {
                break;
            }
        }
    }
}

/// What `data/l1-view.json` holds: the watcher's view and the contracts it is of.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedView {
    contracts: ordo_l1::WatchedContracts,
    view: L1View,
}

/// The saved view, if there is one for these contracts (anything else is ignored: the
/// watcher then reads from the start block).
fn load_view(path: &Path, contracts: &ordo_l1::WatchedContracts) -> Option<L1View> {
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str::<SavedView>(&text) {
        Ok(saved) if saved.contracts == *contracts => Some(saved.view),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(target: "ordo::l1", error = %e, "ignoring an unreadable saved L1 view");
            None
        }
    }
}

/// Writes the view (atomically, at most every 2 s) whenever its confirmed block moves, until
/// the watcher stops.
async fn save_views(
    mut view: watch::Receiver<L1View>,
    path: std::path::PathBuf,
    contracts: ordo_l1::WatchedContracts,
    watcher: tokio::task::JoinHandle<()>,
) {
    let _guard = AbortOnDrop(watcher);
    let mut saved = None;
    while view.changed().await.is_ok() {
        let snapshot = view.borrow_and_update().clone();
        if snapshot.confirmed != saved {
            let text = match serde_json::to_string(&SavedView {
                contracts,
                view: snapshot.clone(),
            }) {
                Ok(text) => text,
                Err(_) => continue,
            };
            let tmp = path.with_extension("json.tmp");
            let written = tokio::fs::write(&tmp, text).await.is_ok()
                && tokio::fs::rename(&tmp, &path).await.is_ok();
            if written {
                saved = snapshot.confirmed;
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// Aborts a task when dropped (the saver owns the watcher task).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The L1 watcher of a node whose genesis names an L1: its view, the chain's L1 rules, and the
/// task that runs it.
struct L1Watch {
    view: watch::Receiver<L1View>,
    rules: L1Rules,
    task: tokio::task::JoinHandle<()>,
}

/// Starts the L1 watcher for a network whose genesis names an L1.
async fn start_l1(l1: &GenesisL1, config: &NodeConfig, data_dir: &Path) -> anyhow::Result<L1Watch> {
    if config.l1.rpc.urls.is_empty() {
        anyhow::bail!("the genesis names an L1: set [l1.rpc] urls in config.toml");
    }
    if config.l1.watch.lookahead_blocks > l1.inclusion_delay {
        anyhow::bail!(
            "[l1.watch] lookahead_blocks ({}) exceeds the inclusion delay ({}): a validator could \
             then accept an L1 origin at which an item it has not read is due",
            config.l1.watch.lookahead_blocks,
            l1.inclusion_delay
        );
    }
    let client = ordo_l1::L1Client::new(config.l1.rpc.clone())?;
    match client.chain_id().await {
        Ok(id) if id != l1.chain_id => {
            anyhow::bail!(
                "the L1 RPC serves chain {id}, the genesis names chain {}",
                l1.chain_id
            )
        }
        Ok(_) => {}
        // Not fatal: the node sequences without new L1 data until the L1 comes back.
        Err(e) => tracing::warn!(target: "ordo::l1", error = %e, "L1 unreachable at start"),
    }
    let contracts = ordo_l1::WatchedContracts {
        stake_table: l1.stake_table,
        inbox: l1.inbox,
        start_block: l1.start_block,
    };
    let saved_path = data_dir.join("l1-view.json");
    let saved = load_view(&saved_path, &contracts);
    let watcher = match &saved {
        Some(view) => {
            tracing::info!(target: "ordo::l1", from = view.confirmed_number() + 1, "resuming the L1 watcher");
            ordo_l1::Watcher::resume(client, contracts, config.l1.watch.clone(), view)
        }
        None => ordo_l1::Watcher::new(client, contracts, config.l1.watch.clone()),
    };
    let (view, watcher_task) = watcher.spawn_from(saved.unwrap_or_default());
    let task = tokio::spawn(save_views(
        view.clone(),
        saved_path,
        contracts,
        watcher_task,
    ));
    Ok(L1Watch {
        view,
        rules: L1Rules {
            inclusion_delay: l1.inclusion_delay,
            origin_tolerance: config.l1.watch.lookahead_blocks,
            election: l1.election()?,
        },
        task,
    })
}

fn multiaddr(s: &str) -> anyhow::Result<Multiaddr> {
    s.parse()
        .with_context(|| format!("{s:?} is not a multiaddr"))
}

/// Runs the node at `home` until SIGINT or SIGTERM.
pub(crate) async fn run_node(home: &Path) -> anyhow::Result<()> {
    let config = NodeConfig::load(home)?;
    let genesis = Genesis::load(&home.join(&config.genesis))?;
    let key = match &config.validator_key {
        Some(path) => Some(KeyFile::load(&home.join(path))?),
        None => None,
    };
    let address = key.as_ref().map(ordo_types::SecretKey::address);
    let is_validator = address.is_some_and(|a| genesis.validators.get(&a).is_some());
    let data_dir = home.join(&config.data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let l1 = match &genesis.l1 {
        Some(l1) => Some(start_l1(l1, &config, &data_dir).await?),
        None => None,
    };
    let rollups = Rollups::new(&genesis.rollups).map_err(anyhow::Error::msg)?;
    let admission = Admission::new(genesis.chain_id, rollups.clone());
    let rules = Arc::new(ChainRules {
        admission: admission.clone(),
        genesis_time_ms: genesis.genesis_time_ms,
        validators: genesis.validators.clone(),
        limits: config.limits,
        max_clock_drift_ms: config.timing.max_clock_drift_ms,
        l1: l1.as_ref().map(|l| l.rules),
    });
    let settings = ConsensusSettings {
        moniker: config.moniker.clone(),
        rules,
        l1: l1.as_ref().map(|l| l.view.clone()),
        // With elections, a key outside the genesis committee may be elected later.
        key: key
            .clone()
            .filter(|_| is_validator || genesis.l1.as_ref().is_some_and(|l| l.epoch_length > 0)),
        p2p_secret: load_or_create_p2p_secret(&home.join(&config.p2p_key))?,
        data_dir: home.join(&config.data_dir),
        listen_addr: multiaddr(&config.p2p.listen)?,
        peers: config
            .p2p
            .peers
            .iter()
            .map(|p| multiaddr(p))
            .collect::<anyhow::Result<_>>()?,
        timing: config.timing,
        #[cfg(feature = "byzantine")]
        fault: config.test_fault,
        evidence: None,
    };
    let mut settings = settings;
    let slasher = match (&genesis.l1, &key) {
        (Some(gl1), Some(key)) if config.l1.slash => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            settings.evidence = Some(tx);
            Some(tokio::spawn(run_slasher(
                config.l1.rpc.urls.clone(),
                key.clone(),
                gl1.stake_table,
                rx,
            )))
        }
        _ => None,
    };
    let store = Store::open(&data_dir.join("store.redb"))?;
    let mempool = Mempool::open(
        admission,
        config.mempool.clone(),
        &data_dir.join("mempool.journal"),
        Arc::new(store.clone()),
    )
    .context("opening the mempool journal")?;
    let gossip_secret = settings.p2p_secret;
    let mut consensus = ordo_consensus::start(settings, store, mempool.clone())
        .await
        .map_err(|e| anyhow::anyhow!("starting consensus: {e:#}"))?;
    let (gossip, events) = Gossip::start(config.gossip.clone(), gossip_secret)?;
    let relay = tokio::spawn(run_gossip(
        mempool.clone(),
        gossip.clone(),
        events,
        config.gossip.max_message_bytes,
    ));
    let state = ApiState {
        chain_id: genesis.chain_id,
        address,
        is_validator,
        store: consensus.store.clone(),
        status: consensus.status.clone(),
        mempool,
        max_batch: config.api.max_batch,
        rollups: Arc::new(rollups),
        execution_rpc: Arc::new(config.api.execution_rpc.clone()),
        l1: l1.as_ref().map(|l1| ordo_api::ApiL1 {
            view: l1.view.clone(),
            inclusion_delay: l1.rules.inclusion_delay,
        }),
    };
    let mut api = tokio::spawn(ordo_api::serve(state, config.api.clone()));
    tracing::info!(target: "ordo::node", moniker = %config.moniker, is_validator, "node started");

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = sigterm.recv() => Ok(()),
        result = consensus.wait() => Err(anyhow::anyhow!("consensus stopped: {:?}", result.err())),
        result = &mut api => Err(anyhow::anyhow!("API stopped: {result:?}")),
    };
    tracing::info!(target: "ordo::node", "shutting down");
    api.abort();
    relay.abort();
    if let Some(l1) = l1 {
        l1.task.abort();
    }
    if let Some(task) = slasher {
        task.abort();
    }
    gossip.shutdown().await;
    consensus.stop().await;
    outcome
}
