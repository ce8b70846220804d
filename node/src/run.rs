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
use crate::supervisor::Supervisor;

/// Submits each equivocation consensus reports to `StakeTable.slash`, trying the RPC URLs in
/// turn; a validator already slashed (by this node or another reporter) is not an error.
async fn run_slasher(
    urls: Vec<String>,
    key: ordo_types::SecretKey,
    stake_table: ordo_types::Address,
    evidence: Arc<
        tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<ordo_consensus::Equivocation>>,
    >,
) {
    let Ok(signer) = crate::config::l1_signer(&key) else {
        return;
    };
    while let Some(e) = evidence.lock().await.recv().await {
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
/// the watcher's channel closes.
async fn save_views(
    mut view: watch::Receiver<L1View>,
    path: std::path::PathBuf,
    contracts: ordo_l1::WatchedContracts,
) -> anyhow::Result<()> {
    let mut saved = None;
    while view.changed().await.is_ok() {
        let snapshot = view.borrow_and_update().clone();
        if snapshot.confirmed != saved {
            let text = serde_json::to_string(&SavedView {
                contracts,
                view: snapshot.clone(),
            })?;
            let tmp = path.with_extension("json.tmp");
            tokio::fs::write(&tmp, text).await?;
            tokio::fs::rename(&tmp, &path).await?;
            saved = snapshot.confirmed;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    anyhow::bail!("the L1 view's channel closed")
}

/// The L1 of a node whose genesis names one: the watcher's view and the chain's L1 rules.
struct L1Watch {
    view: watch::Receiver<L1View>,
    rules: L1Rules,
}

/// Starts the L1 watcher (and the saver of its view) for a network whose genesis names an L1,
/// both restartable: a restarted watcher goes on from the view's confirmed block.
async fn start_l1(
    l1: &GenesisL1,
    config: &NodeConfig,
    data_dir: &Path,
    supervisor: &mut Supervisor,
) -> anyhow::Result<L1Watch> {
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
    if let Some(view) = &saved {
        tracing::info!(target: "ordo::l1", from = view.confirmed_number() + 1, "resuming the L1 watcher");
    }
    let (publish, view) = watch::channel(saved.unwrap_or_default());
    let watch_config = config.l1.watch.clone();
    supervisor.restartable("l1-watcher", move || {
        let from = publish.borrow().clone();
        let watcher =
            ordo_l1::Watcher::resume(client.clone(), contracts, watch_config.clone(), &from);
        let publish = publish.clone();
        async move {
            watcher.run(publish).await;
            anyhow::bail!("every reader of the L1 view is gone")
        }
    });
    let saver_view = view.clone();
    supervisor.restartable("l1-view-saver", move || {
        save_views(saver_view.clone(), saved_path.clone(), contracts)
    });
    Ok(L1Watch {
        view,
        rules: L1Rules {
            inclusion_delay: l1.inclusion_delay,
            origin_tolerance: config.l1.watch.lookahead_blocks,
            election: l1.election()?,
        },
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
    let mut supervisor = Supervisor::new();
    let l1 = match &genesis.l1 {
        Some(l1) => Some(start_l1(l1, &config, &data_dir, &mut supervisor).await?),
        None => None,
    };
    let rollups = Rollups::new(&genesis.rollups).map_err(anyhow::Error::msg)?;
    let mut admission = Admission::new(genesis.chain_id, rollups);
    if let Some(keygen) = genesis.encryption {
        let election = genesis
            .l1
            .as_ref()
            .map(|l| l.election())
            .transpose()?
            .flatten();
        let schedule = ordo_chain::Schedule::new(keygen, election.as_ref());
        schedule.check().map_err(anyhow::Error::msg)?;
        admission = admission.with_keygen(schedule);
    }
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
    if let (Some(gl1), Some(key), true) = (&genesis.l1, &key, config.l1.slash) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        settings.evidence = Some(tx);
        // The evidence queue outlives a restart of the slasher.
        let evidence = Arc::new(tokio::sync::Mutex::new(rx));
        let (urls, key, stake_table) = (config.l1.rpc.urls.clone(), key.clone(), gl1.stake_table);
        supervisor.restartable("slasher", move || {
            let run = run_slasher(
                urls.clone(),
                key.clone(),
                stake_table,
                Arc::clone(&evidence),
            );
            async move {
                run.await;
                anyhow::bail!("the evidence channel closed")
            }
        });
    }
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
    // The first start's errors (a port in use) stop the node; a relay that dies later is
    // restarted with a fresh gossip actor.
    let mut first = Some(Gossip::start(config.gossip.clone(), gossip_secret)?);
    let (relay_pool, gossip_config) = (mempool.clone(), config.gossip.clone());
    supervisor.restartable("gossip", move || {
        let started = match first.take() {
            Some(started) => Ok(started),
            None => Gossip::start(gossip_config.clone(), gossip_secret),
        };
        let (pool, max) = (relay_pool.clone(), gossip_config.max_message_bytes);
        async move {
            let (gossip, events) = started?;
            run_gossip(pool, gossip, events, max).await;
            anyhow::bail!("the gossip actor stopped")
        }
    });
    let state = ApiState {
        chain_id: genesis.chain_id,
        address,
        is_validator,
        store: consensus.store.clone(),
        status: consensus.status.clone(),
        decided: consensus.decided.clone(),
        opened: consensus.opened.clone(),
        mempool,
        max_batch: config.api.max_batch,
        execution_rpc: Arc::new(config.api.execution_rpc.clone()),
        l1: l1.as_ref().map(|l1| ordo_api::ApiL1 {
            view: l1.view.clone(),
            inclusion_delay: l1.rules.inclusion_delay,
        }),
        tasks: supervisor.status(),
    };
    let api_config = config.api.clone();
    supervisor.critical("api", async move {
        ordo_api::serve(state, api_config).await?;
        Ok(())
    });
    tracing::info!(target: "ordo::node", moniker = %config.moniker, is_validator, "node started");

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = sigterm.recv() => Ok(()),
        result = consensus.wait() => Err(anyhow::anyhow!("consensus stopped: {:?}", result.err())),
        (task, why) = supervisor.failed() => Err(anyhow::anyhow!("critical task {task} stopped: {why}")),
    };
    tracing::info!(target: "ordo::node", "shutting down");
    supervisor.shutdown();
    consensus.stop().await;
    outcome
}
