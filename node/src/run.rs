//! `ordo node`: wires the mempool, consensus and the API of one node, and runs until signalled.

use std::path::Path;

use anyhow::Context as _;
use ordo_api::ApiState;
use std::sync::Arc;

use ordo_consensus::{ConsensusSettings, Multiaddr, Store};
use ordo_mempool::{run_gossip, Gossip, Mempool, MempoolError, RollupRules};
use ordo_rollup_adapters::Rollups;
use ordo_types::Transaction;

use crate::config::{load_or_create_p2p_secret, Genesis, KeyFile, NodeConfig};

fn multiaddr(s: &str) -> anyhow::Result<Multiaddr> {
    s.parse()
        .with_context(|| format!("{s:?} is not a multiaddr"))
}

/// The registered rollups' adapters, as the mempool's admission rules.
struct AdapterRules(Arc<Rollups>);

impl RollupRules for AdapterRules {
    fn check(&self, tx: &Transaction) -> Result<(), MempoolError> {
        let adapter = self
            .0
            .get(tx.namespace)
            .ok_or(MempoolError::UnknownNamespace(tx.namespace))?;
        adapter.check(tx).map_err(|e| MempoolError::Rollup {
            code: e.code(),
            reason: e.to_string(),
        })
    }
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
    let settings = ConsensusSettings {
        moniker: config.moniker.clone(),
        chain_id: genesis.chain_id,
        genesis_time_ms: genesis.genesis_time_ms,
        validators: genesis.validators.clone(),
        key: key.filter(|_| is_validator),
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
        limits: config.limits,
        fault: config.test_fault,
    };
    let data_dir = home.join(&config.data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let store = Store::open(&data_dir.join("store.redb"))?;
    let mempool = Mempool::open(
        genesis.chain_id,
        genesis.rollups.iter().map(|r| r.namespace),
        config.mempool.clone(),
        &data_dir.join("mempool.journal"),
        Arc::new(store.clone()),
    )
    .context("opening the mempool journal")?;
    let rollups = Arc::new(Rollups::new(&genesis.rollups).map_err(anyhow::Error::msg)?);
    mempool.set_rollup_rules(Arc::new(AdapterRules(Arc::clone(&rollups))));
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
        rollups,
        execution_rpc: Arc::new(config.api.execution_rpc.clone()),
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
    gossip.shutdown().await;
    consensus.stop().await;
    outcome
}
