//! Starting a node's consensus: the Malachite engine (network, WAL, sync, consensus actors) and
//! the application task that answers it.

use std::path::PathBuf;
use std::time::Duration;

use malachitebft_app_channel::app::config::{
    ConsensusConfig as EngineConsensus, DiscoveryConfig, GossipSubConfig, NodeConfig, P2pConfig,
    PubSubMaxSizePerTopic, PubSubProtocol, ValueSyncConfig,
};
use malachitebft_app_channel::app::metrics::SharedRegistry;
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::LinearTimeouts;
use malachitebft_app_channel::app::types::Keypair;
use malachitebft_app_channel::spawn::spawn_network_actor;
use malachitebft_app_channel::{
    ConsensusContext, EngineBuilder, EngineHandle, NetworkIdentity, NetworkRequest, RequestContext,
    Signer, SyncContext, WalContext,
};
use std::sync::Arc;

use ordo_chain::ChainRules;
use ordo_mempool::Mempool;
use ordo_types::{L1View, SecretKey, B256};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{App, AppParams};
use crate::codec::OrdoCodec;
use crate::context::{OrdoContext, ValidatorAddress};
use crate::signing::{OrdoSigner, OrdoVerifier};
use crate::store::{DecidedBlock, Store};

/// Consensus timing. Defaults suit a local network (a block every ~200 ms on loopback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimingConfig {
    /// Time from the start of a height to the next one while this node holds no transaction
    /// ready for a block, in milliseconds: an idle chain makes a block this often.
    pub block_time_ms: u64,
    /// The same while it holds transactions ready: shorter, so that a transaction waits for
    /// the next block little longer than consensus takes.
    pub min_block_time_ms: u64,
    /// How long to wait for a proposal in round 0.
    pub propose_timeout_ms: u64,
    /// How long to wait for prevotes after seeing 2/3 of them for different values.
    pub prevote_timeout_ms: u64,
    /// How long to wait for precommits after seeing 2/3 of them for different values.
    pub precommit_timeout_ms: u64,
    /// How much each timeout grows per round.
    pub timeout_delta_ms: u64,
    /// How far ahead of the local clock a proposal's timestamp may be.
    pub max_clock_drift_ms: u64,
}

impl Default for TimingConfig {
    fn default() -> Self {
        Self {
            block_time_ms: 200,
            min_block_time_ms: 50,
            propose_timeout_ms: 1_000,
            prevote_timeout_ms: 500,
            precommit_timeout_ms: 500,
            timeout_delta_ms: 250,
            max_clock_drift_ms: 2_000,
        }
    }
}

impl TimingConfig {
    fn timeouts(&self) -> LinearTimeouts {
        let ms = Duration::from_millis;
        let (propose, prevote, precommit) = (
            ms(self.propose_timeout_ms),
            ms(self.prevote_timeout_ms),
            ms(self.precommit_timeout_ms),
        );
        LinearTimeouts {
            propose,
            propose_delta: ms(self.timeout_delta_ms),
            prevote,
            prevote_delta: ms(self.timeout_delta_ms),
            precommit,
            precommit_delta: ms(self.timeout_delta_ms),
            rebroadcast: propose + prevote + precommit,
            max_timeout: Duration::from_secs(30),
        }
    }
}

/// Everything consensus needs to start.
#[derive(Clone, Debug)]
pub struct ConsensusSettings {
    /// Node name, for logs.
    pub moniker: String,
    /// The chain's rules (chain id, genesis committee, rollups, limits, L1 rules).
    pub rules: Arc<ChainRules>,
    /// This node's L1 view, when the genesis names an L1.
    pub l1: Option<watch::Receiver<L1View>>,
    /// This node's validator key; `None` for a full node.
    pub key: Option<SecretKey>,
    /// Secret of this node's libp2p (ed25519) identity.
    pub p2p_secret: [u8; 32],
    /// Where the consensus WAL lives.
    pub data_dir: PathBuf,
    /// libp2p listen address, e.g. `/ip4/127.0.0.1/tcp/26656`.
    pub listen_addr: Multiaddr,
    /// Peers to stay connected to.
    pub peers: Vec<Multiaddr>,
    /// Timing.
    pub timing: TimingConfig,
    /// Test-only: make this node misbehave in the given way.
    #[cfg(feature = "byzantine")]
    pub fault: Option<crate::ProposerFault>,
    /// Where to report equivocation evidence Malachite observes (one report per validator).
    pub evidence: Option<tokio::sync::mpsc::UnboundedSender<Equivocation>>,
}

/// One vote of an equivocation, in the form `StakeTable.slash` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvidenceVote {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// Prevote or precommit.
    pub vote_type: ordo_types::VoteType,
    /// The block voted for (`None` for nil).
    pub block_hash: Option<B256>,
    /// The voter's signature over the FORMATS.md vote digest.
    pub signature: ordo_types::Signature,
}

/// Two conflicting votes by one validator at the same height, round and vote type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The validator.
    pub validator: ordo_types::Address,
    /// One vote.
    pub a: EvidenceVote,
    /// The other.
    pub b: EvidenceVote,
}

/// What a node's consensus reports about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// Latest decided height (0 before the first block).
    pub height: u64,
    /// Hash of the latest decided block.
    pub latest_block_hash: B256,
    /// Round consensus is in at the next height.
    pub round: i64,
    /// Connected peers.
    pub peers: usize,
    /// Whether the latest block came from sync rather than live consensus.
    pub syncing: bool,
    /// The committee deciding the next height.
    pub validators: Option<ordo_types::ValidatorSet>,
    /// The committee deciding the height after it.
    pub next_validators: Option<ordo_types::ValidatorSet>,
}

/// A running consensus node.
pub struct ConsensusNode {
    /// The decided-block store (read it; consensus writes it).
    pub store: Store,
    /// Live status.
    pub status: watch::Receiver<NodeStatus>,
    /// The latest decided block, decoded; it changes once per decided height.
    pub decided: watch::Receiver<Option<Arc<DecidedBlock>>>,
    /// The highest height whose encrypted transactions were opened (and stored), with the
    /// encrypted lane: blocks are opened in decision order.
    pub opened: watch::Receiver<u64>,
    engine: EngineHandle,
    app: JoinHandle<eyre::Result<()>>,
}

impl ConsensusNode {
    /// Waits until the application task ends (it only ends on a fatal error).
    pub async fn wait(&mut self) -> eyre::Result<()> {
        (&mut self.app).await?
    }

    /// Stops the engine and the application.
    pub async fn stop(self) {
        let _ = self.engine.actor.kill_and_wait(None).await;
        self.app.abort();
        self.engine.handle.abort();
    }
}

#[derive(Clone, Debug)]
struct EngineConfig {
    moniker: String,
    consensus: EngineConsensus,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &EngineConsensus {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut EngineConsensus {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// Largest message on the consensus topic, in bytes, without the encrypted lane. Ordo's votes
/// and proposals are about 150 bytes, so a peer's larger message there is garbage: gossipsub
/// drops it on receipt and does not relay it, where Malachite's default (its 4 MiB pub-sub
/// limit) would have every node read, relay and fail to decode up to 4 MiB per message.
const CONSENSUS_MESSAGE_MAX: u64 = 1024;

/// Largest message on the consensus topic: [`CONSENSUS_MESSAGE_MAX`], plus, with the
/// encrypted lane, the largest precommit extension a member can send (its key slots' shares
/// for a block's most encrypted transactions; any member may hold up to
/// [`ordo_enc::dkg::MAX_SLOTS`] slots once elections can change the committee).
fn consensus_message_max(rules: &ChainRules, encrypted: bool) -> u64 {
    if !encrypted {
        return CONSENSUS_MESSAGE_MAX;
    }
    let slots = if rules.election().is_some() {
        ordo_enc::dkg::MAX_SLOTS
    } else {
        let powers: Vec<u64> = rules
            .validators
            .validators()
            .iter()
            .map(|v| v.voting_power)
            .collect();
        ordo_enc::dkg::key_slots(&powers)
            .into_iter()
            .max()
            .unwrap_or(0)
    };
    let per_slot = 4 + u64::from(rules.limits.max_encrypted_transactions)
        * ordo_enc::DECRYPTION_KEY_LEN as u64;
    CONSENSUS_MESSAGE_MAX + u64::from(slots) * per_slot
}
/// Largest value-sync request, in bytes: a request is a range of two heights (17 bytes), where
/// Malachite's default lets a peer send 1 MiB per request stream.
const SYNC_REQUEST_MAX: u64 = 1024;

/// Gossipsub's mesh for the consensus topics, `(D, D_high, D_low, D_out)`: two peers where
/// Malachite's default is six. Every node dials every other (`ordo init` lists them all) and
/// Malachite publishes by flooding, so a message reaches each connected peer straight from its
/// author; the mesh relays it on to peers the author is not connected to. Each mesh peer
/// forwards its own copy, and gossipsub checks every copy's ed25519 signature before it sees the
/// duplicate, so the mesh's size multiplies those checks on every node (docs/PERFORMANCE.md,
/// "Committee size": at 16 validators, latency p99 2.8 s instead of 6 to 8 s).
const GOSSIP_MESH: (usize, usize, usize, usize) = (2, 3, 2, 1);

/// Malachite's network settings for a node: its listen address and peers, no discovery, a
/// small gossip mesh ([`GOSSIP_MESH`]) and size limits fitted to Ordo's messages
/// ([`CONSENSUS_MESSAGE_MAX`]).
fn p2p_config(
    listen_addr: Multiaddr,
    persistent_peers: Vec<Multiaddr>,
    consensus_max: u64,
) -> P2pConfig {
    let mut p2p = P2pConfig {
        listen_addr,
        persistent_peers,
        discovery: DiscoveryConfig {
            enabled: false,
            ..Default::default()
        },
        ..Default::default()
    };
    // `ByteSize` is not re-exported by Malachite; reuse the field's type.
    let mut consensus = p2p.pubsub_max_size;
    consensus.0 = consensus_max;
    p2p.pubsub_max_size_per_topic = PubSubMaxSizePerTopic {
        consensus: Some(consensus),
        ..Default::default()
    };
    let (mesh_n, mesh_n_high, mesh_n_low, mesh_outbound_min) = GOSSIP_MESH;
    p2p.protocol = PubSubProtocol::GossipSub(GossipSubConfig::new(
        mesh_n,
        mesh_n_high,
        mesh_n_low,
        mesh_outbound_min,
        false,
        false,
        true,
    ));
    p2p
}

/// Malachite's value-sync settings: status every second, a 5 s request timeout, requests
/// capped at [`SYNC_REQUEST_MAX`].
fn value_sync_config() -> ValueSyncConfig {
    let mut sync = ValueSyncConfig {
        status_update_interval: Duration::from_secs(1),
        request_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    sync.max_request_size.0 = SYNC_REQUEST_MAX;
    sync
}

/// Fails if nothing can listen on `addr` (a TCP multiaddr), typically because another program
/// holds the port. Malachite's network only logs a failed listen and leaves the node running
/// cut off from its peers; a node should stop and say why instead.
fn check_listen(addr: &Multiaddr) -> eyre::Result<()> {
    let text = addr.to_string();
    let parts: Vec<&str> = text.split('/').collect();
    let value = |name: &str| parts.windows(2).find(|w| w[0] == name).map(|w| w[1]);
    let ip = value("ip4")
        .or(value("ip6"))
        .and_then(|s| s.parse::<std::net::IpAddr>().ok());
    let port = value("tcp").and_then(|s| s.parse::<u16>().ok());
    let (Some(ip), Some(port)) = (ip, port) else {
        return Ok(());
    };
    std::net::TcpListener::bind((ip, port))
        .map(drop)
        .map_err(|e| eyre::eyre!("cannot listen for peers on {addr}: {e}"))
}

/// Starts consensus for one node, over its opened `store` (see [`Store::open`]).
pub async fn start(
    settings: ConsensusSettings,
    store: Store,
    mempool: Mempool,
) -> eyre::Result<ConsensusNode> {
    std::fs::create_dir_all(&settings.data_dir)?;
    check_listen(&settings.listen_addr)?;
    let chain_id = settings.rules.chain_id();
    let ctx = OrdoContext::new(chain_id);
    let mut secret = settings.p2p_secret;
    let keypair = Keypair::ed25519_from_bytes(&mut secret)?;

    let engine_config = EngineConfig {
        moniker: settings.moniker.clone(),
        consensus: EngineConsensus {
            p2p: p2p_config(
                settings.listen_addr.clone(),
                settings.peers.clone(),
                consensus_message_max(&settings.rules, settings.rules.admission.keygen().is_some()),
            ),
            ..Default::default()
        },
        value_sync: value_sync_config(),
    };

    let verifier = Box::new(OrdoVerifier::new(chain_id));
    let (identity, consensus_ctx) = match &settings.key {
        Some(key) => {
            let address = ValidatorAddress(key.address());
            let signer = OrdoSigner::new(key.clone(), chain_id);
            let peer_id = keypair.public().to_peer_id().to_bytes();
            let proof = signer
                .sign_validator_proof(key.public_key().to_sec1().to_vec(), peer_id)
                .await
                .map_err(|e| eyre::eyre!("signing the validator proof: {e}"))?;
            let proof_bytes = OrdoCodec.encode(&proof)?;
            (
                NetworkIdentity::new_validator(
                    settings.moniker.clone(),
                    keypair,
                    address.to_string(),
                    proof_bytes,
                ),
                ConsensusContext::new_validator(address, verifier, Box::new(signer)),
            )
        }
        None => (
            NetworkIdentity::new(settings.moniker.clone(), keypair, None),
            ConsensusContext::new_full_node(ValidatorAddress::default(), verifier),
        ),
    };

    // Malachite's network actor, fronted by the guard that bans misbehaving peers.
    let (network, tx_network) = spawn_network_actor(
        identity,
        &engine_config.consensus,
        &engine_config.value_sync,
        &SharedRegistry::global().with_moniker(&settings.moniker),
        OrdoCodec,
    )
    .await?;
    let (network, bans) = crate::guard::spawn(network).await?;
    let (channels, engine) = EngineBuilder::new(ctx, engine_config)
        .with_default_wal(WalContext::new(
            settings.data_dir.join("wal").join("consensus.wal"),
            OrdoCodec,
        ))
        .with_custom_network(network, tx_network)
        .with_default_consensus(consensus_ctx)
        .with_default_sync(SyncContext::new(OrdoCodec))
        .with_default_request(RequestContext::new(100))
        .build()
        .await?;

    let (status_tx, status) = watch::channel(NodeStatus::default());
    let (decided_tx, decided) = watch::channel(None);
    watch_peers(channels.net_requests.clone(), status_tx.clone());
    let mut params = AppParams {
        timeouts: settings.timing.timeouts(),
        block_time: Duration::from_millis(settings.timing.block_time_ms),
        min_block_time: Duration::from_millis(settings.timing.min_block_time_ms),
        l1: settings.l1.clone(),
        evidence: settings.evidence.clone(),
        opener: None,
        bans,
        #[cfg(feature = "byzantine")]
        fault: settings.fault,
    };
    let (opened_tx, opened) = watch::channel(0);
    if settings.rules.admission.keygen().is_some() {
        let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(crate::opening::run_opener(store.clone(), queue, opened_tx));
        params.opener = Some(jobs);
    }
    let app = App::new(
        params,
        settings.rules.clone(),
        store.clone(),
        mempool,
        settings.key,
        status_tx,
        decided_tx,
    )?;
    let app = tokio::spawn(app.run(channels));
    Ok(ConsensusNode {
        store,
        status,
        decided,
        opened,
        engine,
        app,
    })
}

/// Polls the network actor once a second for the number of connected peers.
fn watch_peers(
    requests: tokio::sync::mpsc::Sender<NetworkRequest>,
    status: watch::Sender<NodeStatus>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            match NetworkRequest::dump_state(&requests).await {
                Ok(Some(dump)) => status.send_modify(|s| s.peers = dump.peers.len()),
                Ok(None) => {}
                Err(_) if status.is_closed() => break,
                Err(_) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use malachitebft_app_channel::app::consensus::SignedConsensusMsg;
    use malachitebft_app_channel::app::types::core::{NilOrVal, Round, SignedMessage, VoteType};
    use malachitebft_app_channel::app::types::sync::Request;
    use malachitebft_sync::ValueRequest;
    use ordo_types::{Signature, B256};

    use super::*;
    use crate::context::{BlockHash, Height, Proposal, Vote};

    fn signature() -> Signature {
        SecretKey::random().sign_digest(&B256::repeat_byte(7))
    }

    /// The largest vote and proposal Ordo signs fit the consensus topic's limit, which is far
    /// below Malachite's pub-sub limit; the largest sync request fits its limit.
    #[test]
    fn size_limits_fit_the_largest_honest_messages_and_no_more() {
        let address = ValidatorAddress(SecretKey::random().address());
        let vote = Vote {
            height: Height(u64::MAX),
            round: Round::new(u32::MAX - 1),
            value: NilOrVal::Val(BlockHash(B256::repeat_byte(1))),
            vote_type: VoteType::Precommit,
            validator_address: address,
            extension: None,
        };
        let proposal = Proposal {
            height: Height(u64::MAX),
            round: Round::new(u32::MAX - 1),
            value: BlockHash(B256::repeat_byte(1)),
            pol_round: Round::new(u32::MAX - 2),
            validator_address: address,
        };
        let messages = [
            SignedConsensusMsg::<OrdoContext>::Vote(SignedMessage::new(vote, signature())),
            SignedConsensusMsg::Proposal(SignedMessage::new(proposal, signature())),
        ];
        let p2p = p2p_config(Multiaddr::empty(), Vec::new(), CONSENSUS_MESSAGE_MAX);
        let limit = p2p.pubsub_max_size_per_topic.consensus.unwrap().0;
        assert_eq!(limit, CONSENSUS_MESSAGE_MAX);
        assert!(limit * 1000 < p2p.pubsub_max_size.0);
        for message in &messages {
            let len = OrdoCodec.encode(message).unwrap().len() as u64;
            assert!(len * 4 < limit, "{len} bytes against a limit of {limit}");
        }
        assert!(!p2p.discovery.enabled);
        // Malachite silently replaces a mesh it finds inconsistent; this one it keeps.
        let PubSubProtocol::GossipSub(mesh) = p2p.protocol else {
            panic!("gossipsub expected");
        };
        let (n, high, low, out) = GOSSIP_MESH;
        assert_eq!(
            (mesh.mesh_n(), mesh.mesh_n_high(), mesh.mesh_n_low()),
            (n, high, low)
        );
        assert_eq!(mesh.mesh_outbound_min(), out);
        assert!(mesh.enable_flood_publish());

        let request = Request::<OrdoContext>::ValueRequest(ValueRequest::new(
            Height(u64::MAX - 1)..=Height(u64::MAX),
        ));
        let sync = value_sync_config();
        let len = OrdoCodec.encode(&request).unwrap().len() as u64;
        assert_eq!(sync.max_request_size.0, SYNC_REQUEST_MAX);
        assert!(len * 4 < SYNC_REQUEST_MAX);
    }
}
