//! `ordo-testnet hostile`: a peer outside the committee that attacks a network's two libp2p
//! networks for a while and reports what it sent and what the nodes did to it.
//!
//! It has its own ed25519 identity (its peer id) and its own secp256k1 key, neither of which the
//! genesis knows. It dials every node's consensus address (Malachite's network: gossipsub
//! topics `/consensus`, `/proposal_parts` and `/liveness`, the value-sync request-response
//! protocol and the validator-proof protocol, announcing Malachite's Identify protocol version
//! so the nodes take it for one of theirs) and every node's transaction gossip address
//! (gossipsub on the mempool's topic). Then, at `--rate` messages a second spread over the
//! kinds below, it sends:
//!
//! - random bytes on each consensus topic and on the transaction topic;
//! - messages above the nodes' limits (every `--oversized-every` seconds): a vote followed by
//!   64 KiB of trailing bytes, a consensus message above Malachite's 4 MiB pub-sub limit, a transaction batch above the gossip limit, a sync
//!   request above Malachite's 1 MiB request limit, a validator proof above its 1 KiB limit;
//! - replays of the consensus messages and transaction batches it received from honest nodes;
//! - votes and proposals (with their proposal-part streams) well formed and signed with its own
//!   key, at the current height and far ahead, and votes naming a committee member's address
//!   that its key signed;
//! - validator proofs: with its own key (valid, but not a committee key) and forged (a committee
//!   member's public key, its signature), one as the first proof of each connection;
//! - sync requests for heights far beyond the chain, for the widest range, and malformed ones;
//! - batches of transactions whose claimed sender keys are not the keys that signed them, and
//!   malformed batches.
//!
//! With `--provoke-after S`, it holds back for S seconds what proves it hostile and gets it
//! banned from the consensus network (forged validator proofs, proposal streams from outside
//! the committee), so the other kinds reach nodes that still take its connections.
//!
//! It counts every message sent per kind, the connections the nodes closed (and why, as
//! libp2p reports it), failed dials (a node that banned it would refuse them), and what the
//! sync requests brought back. Every closed connection is redialed after 200 ms.
//!
//! It uses the nodes' own encoders (`ordo-consensus`'s codec, `ordo-types`, the mempool's batch
//! encoding), so its well-formed messages are exactly what an honest node would send.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use async_trait::async_trait;
use bytes::Bytes;
use clap::Args;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, TopicHash, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder};
use malachitebft_app_channel::app::consensus::SignedConsensusMsg;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::Codec as _;
use malachitebft_app_channel::app::types::core::{
    NilOrVal, Round, SignedMessage, ValidatorProof, VoteType,
};
use malachitebft_app_channel::app::types::sync::{Request, Response, Status};
use malachitebft_app_channel::app::types::PeerId as MalachitePeerId;
use malachitebft_app_channel::Signer as _;
use malachitebft_sync::ValueRequest;
use ordo_consensus::context::{
    BlockHash, Height, OrdoContext, Proposal, ProposalInit, ProposalPart, ValidatorAddress, Vote,
};
use ordo_consensus::{OrdoCodec, OrdoSigner};
use ordo_types::{PublicKey, SecretKey, Transaction, B256};
use rand::{Rng as _, RngCore as _};
use serde::Serialize;

/// Malachite's Identify protocol version: a peer announcing another one is disconnected.
const CONSENSUS_PROTOCOL: &str = "/malachitebft-core-consensus/v1beta1";
const SYNC_PROTOCOL: &str = "/malachitebft-sync/v1beta1";
const PROOF_PROTOCOL: &str = "/malachitebft-validator-proof/v1";
const CONSENSUS_TOPIC: &str = "/consensus";
const PARTS_TOPIC: &str = "/proposal_parts";
const LIVENESS_TOPIC: &str = "/liveness";

/// Malachite's pub-sub limit (`p2p.pubsub_max_size`, left at its default by `ordo node`).
const PUBSUB_MAX: usize = 4 << 20;
/// Malachite's sync request limit (`value_sync.max_request_size`, its default).
const SYNC_MAX_REQUEST: usize = 1 << 20;
/// Malachite's validator-proof limit.
const PROOF_MAX: usize = 1024;
/// The largest frame this peer's own gossipsub sends: room for every oversized message.
const OWN_TRANSMIT_MAX: usize = 12 << 20;
/// Trailing bytes after the vote of a `consensus_large` message.
const LARGE_TRAILER: usize = 64 * 1024;
/// Heights beyond the chain's tip that "far ahead" means.
const FAR_AHEAD: u64 = 1_000_000;
/// How many received messages are kept for replay.
const REPLAY_KEEP: usize = 256;
/// How long after a connection closes it is dialed again.
const REDIAL_AFTER: Duration = Duration::from_millis(200);
/// Attack ticks: every tick sends its share of `--rate`.
const TICK: Duration = Duration::from_millis(10);

/// Arguments of `ordo-testnet hostile`.
#[derive(Args, Clone, Debug)]
pub struct HostileArgs {
    /// A network directory written by `ordo init` (`genesis.json`, `node*/config.toml`): every
    /// node's consensus (`p2p.listen`) and transaction gossip (`gossip.listen`) address is
    /// attacked.
    #[arg(long)]
    pub home: PathBuf,
    /// Seconds of attack.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Messages per second, every kind together (oversized ones apart).
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Seconds between rounds of oversized messages (one of each kind to every node).
    #[arg(long, default_value_t = 5)]
    pub oversized_every: u64,
    /// Send only these kinds (by their names in the report, such as `outsider_vote`;
    /// repeatable); every kind when none is given. Oversized rounds are sent either way.
    #[arg(long = "only")]
    pub only: Vec<String>,
    /// Seconds before it sends what proves it hostile and gets it banned from the consensus
    /// network: forged validator proofs and proposal streams from outside the committee. Until
    /// then it sends every other kind.
    #[arg(long, default_value_t = 0)]
    pub provoke_after: u64,
    /// Where to write the JSON report (it is printed too).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What one libp2p network (consensus or gossip) did with the hostile peer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LinkReport {
    /// Addresses attacked.
    pub targets: usize,
    /// Dials started.
    pub dials: u64,
    /// Dials that failed (refused, handshake failed, ...).
    pub dial_failures: u64,
    /// Connections established.
    pub connections: u64,
    /// Connections the node closed, by the cause libp2p gave.
    pub closed_by_node: BTreeMap<String, u64>,
    /// Nodes connected when the attack ended.
    pub connected_at_end: usize,
}

/// What the hostile peer sent and saw.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HostileReport {
    /// The peer's libp2p identity.
    pub peer_id: String,
    /// The address of its secp256k1 key, outside the committee.
    pub address: String,
    /// Seconds of attack.
    pub duration_s: f64,
    /// Messages sent, by kind.
    pub sent: BTreeMap<String, u64>,
    /// Messages its own libp2p stack refused to send, by kind and reason (no subscribed peer
    /// while reconnecting, mostly).
    pub not_sent: BTreeMap<String, u64>,
    /// The consensus network.
    pub consensus: LinkReport,
    /// The transaction gossip network.
    pub gossip: LinkReport,
    /// Consensus messages received from honest nodes (replay material).
    pub observed_consensus: u64,
    /// Transaction batches received from honest nodes.
    pub observed_batches: u64,
    /// Highest height seen in honest votes.
    pub observed_height: u64,
    /// Sync responses received, and the decided values they held in all.
    pub sync_responses: u64,
    /// Decided values in those responses.
    pub sync_values: u64,
    /// Broadcast (scatter) messages received from nodes: their sync status.
    pub status_received: u64,
    /// Sync and proof requests that failed, by reason.
    pub request_failures: BTreeMap<String, u64>,
}

/// The nodes of a network directory: their consensus and gossip addresses.
struct Targets {
    chain_id: u64,
    consensus: Vec<Multiaddr>,
    gossip: Vec<Multiaddr>,
    topic: String,
    committee: Vec<(ordo_types::Address, Vec<u8>)>,
}

fn read_targets(home: &Path) -> anyhow::Result<Targets> {
    let genesis_path = home.join("genesis.json");
    let genesis: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&genesis_path)
            .with_context(|| format!("reading {}", genesis_path.display()))?,
    )
    .with_context(|| format!("parsing {}", genesis_path.display()))?;
    let chain_id = genesis["chain_id"]
        .as_u64()
        .context("genesis.json has no chain_id")?;
    let mut committee = Vec::new();
    for v in genesis["validators"].as_array().into_iter().flatten() {
        let address = v["address"].as_str().and_then(|a| a.parse().ok());
        let key = v["public_key"]
            .as_str()
            .and_then(|k| hex::decode(k.trim_start_matches("0x")).ok());
        if let (Some(address), Some(key)) = (address, key) {
            committee.push((address, key));
        }
    }
    let mut targets = Targets {
        chain_id,
        consensus: Vec::new(),
        gossip: Vec::new(),
        topic: String::new(),
        committee,
    };
    let mut homes: Vec<PathBuf> = std::fs::read_dir(home)
        .with_context(|| format!("listing {}", home.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.toml").is_file())
        .collect();
    homes.sort();
    for node in homes {
        let path = node.join("config.toml");
        let config: toml::Table = std::fs::read_to_string(&path)?
            .parse()
            .with_context(|| format!("parsing {}", path.display()))?;
        let field = |section: &str, key: &str| {
            config
                .get(section)
                .and_then(|s| s.get(key))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let p2p = field("p2p", "listen").context("no p2p.listen")?;
        let gossip = field("gossip", "listen").context("no gossip.listen")?;
        targets.consensus.push(p2p.parse()?);
        targets.gossip.push(gossip.parse()?);
        targets.topic = field("gossip", "topic").unwrap_or_else(|| "ordo/txs/4".to_owned());
    }
    if targets.consensus.is_empty() {
        bail!("no node*/config.toml in {}", home.display());
    }
    Ok(targets)
}

/// The request-response framings this peer speaks, all as a client except `Scatter`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Malachite's value sync: a request and a response, each behind a big-endian `u32`
    /// length.
    Sync,
    /// Malachite's validator proof: the proof behind an unsigned-varint length, an empty
    /// response.
    Proof,
    /// The one-message streams of Malachite's broadcast protocol (libp2p-scatter), which
    /// carries sync status: one varint-framed message per stream, no response. A peer that
    /// refuses these streams is disconnected, so this peer accepts them (and reads them).
    Scatter,
}

/// Largest scatter message read (Malachite's own limit is its pub-sub limit).
const SCATTER_MAX: usize = PUBSUB_MAX;

#[async_trait]
impl request_response::Codec for Framing {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        if *self != Framing::Scatter {
            return Err(io::Error::other("the hostile peer serves nothing"));
        }
        let len = read_uvarint(io).await?;
        if len > SCATTER_MAX as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "message too big",
            ));
        }
        let mut data = vec![0u8; len as usize];
        io.read_exact(&mut data).await?;
        Ok(data)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        if *self != Framing::Sync {
            let mut rest = Vec::new();
            io.take(64).read_to_end(&mut rest).await?;
            return Ok(rest);
        }
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > 64 << 20 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response too big",
            ));
        }
        let mut data = vec![0u8; len];
        io.read_exact(&mut data).await?;
        Ok(data)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let len = u32::try_from(request.len()).unwrap_or(u32::MAX);
        match self {
            Framing::Sync => io.write_all(&len.to_be_bytes()).await?,
            Framing::Proof | Framing::Scatter => io.write_all(&uvarint(u64::from(len))).await?,
        }
        io.write_all(&request).await?;
        io.flush().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        _io: &mut T,
        _response: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        // Only scatter streams are accepted, and they take no response.
        Ok(())
    }
}

/// LEB128, as libp2p's unsigned-varint framing writes lengths.
fn uvarint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

async fn read_uvarint<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let mut byte = [0u8; 1];
        io.read_exact(&mut byte).await?;
        value |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "varint too long",
    ))
}

/// A scatter message: a header byte (topic length and kind), the topic, the payload.
fn scatter_message(kind: u8, topic: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + topic.len() + payload.len());
    out.push(((topic.len() as u8) << 2) | kind);
    out.extend_from_slice(topic);
    out.extend_from_slice(payload);
    out
}
const SCATTER_SUBSCRIBE: u8 = 0b00;
const SCATTER_BROADCAST: u8 = 0b01;
/// Malachite's sync status channel, a broadcast (scatter) topic.
const SYNC_TOPIC: &[u8] = b"/sync";
const SCATTER_PROTOCOL: &str = "/ax/broadcast/1.0.0";

#[derive(NetworkBehaviour)]
struct ConsensusBehaviour {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<Framing>,
    proof: request_response::Behaviour<Framing>,
    scatter: request_response::Behaviour<Framing>,
}

/// Malachite's consensus topics take signed messages, the transaction gossip anonymous ones.
fn gossipsub_behaviour(
    authenticity: MessageAuthenticity,
    topics: &[&str],
) -> anyhow::Result<gossipsub::Behaviour> {
    let mut config = gossipsub::ConfigBuilder::default();
    config
        .max_transmit_size(OWN_TRANSMIT_MAX)
        .validation_mode(ValidationMode::Permissive)
        .flood_publish(true)
        .heartbeat_initial_delay(Duration::from_millis(200));
    if let MessageAuthenticity::Anonymous = authenticity {
        // Anonymous messages have no author and sequence number to tell them apart: a new id
        // for every message lets the peer publish the same bytes again (replays).
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        config.message_id_fn(|_: &gossipsub::Message| {
            gossipsub::MessageId::from(NEXT_ID.fetch_add(1, Ordering::Relaxed).to_be_bytes())
        });
    }
    let config = config
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub config: {e}"))?;
    let mut behaviour = gossipsub::Behaviour::new(authenticity, config)
        .map_err(|e| anyhow::anyhow!("gossipsub: {e}"))?;
    for topic in topics {
        behaviour.subscribe(&IdentTopic::new(*topic))?;
    }
    Ok(behaviour)
}

fn swarm_with<B: NetworkBehaviour>(keypair: &Keypair, behaviour: B) -> anyhow::Result<Swarm<B>> {
    Ok(SwarmBuilder::with_existing_identity(keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|_| behaviour)
        .map_err(|e| anyhow::anyhow!("behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build())
}

/// Connection bookkeeping for one network.
struct Links {
    targets: Vec<Multiaddr>,
    /// Target index by connected peer.
    peers: HashMap<PeerId, usize>,
    /// Target index by connection being dialed.
    dialing: HashMap<ConnectionId, usize>,
    /// Targets to dial, and when.
    redial: Vec<(usize, Instant)>,
    report: LinkReport,
}

impl Links {
    fn new(targets: Vec<Multiaddr>) -> Self {
        let now = Instant::now();
        Self {
            redial: (0..targets.len()).map(|i| (i, now)).collect(),
            report: LinkReport {
                targets: targets.len(),
                ..Default::default()
            },
            targets,
            peers: HashMap::new(),
            dialing: HashMap::new(),
        }
    }

    fn dial_due<B: NetworkBehaviour>(&mut self, swarm: &mut Swarm<B>) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.redial.drain(..).partition(|(_, at)| *at <= now);
        self.redial = later;
        for (i, _) in due {
            let Some(addr) = self.targets.get(i) else {
                continue;
            };
            self.report.dials += 1;
            let opts = DialOpts::unknown_peer_id().address(addr.clone()).build();
            let connection = opts.connection_id();
            if swarm.dial(opts).is_ok() {
                self.dialing.insert(connection, i);
            } else {
                self.report.dial_failures += 1;
                self.redial.push((i, now + REDIAL_AFTER));
            }
        }
    }

    fn on_event<E>(&mut self, event: &SwarmEvent<E>) -> Option<PeerId> {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.report.connections += 1;
                if let Some(i) = self.dialing.remove(connection_id) {
                    self.peers.insert(*peer_id, i);
                }
                (num_established.get() == 1).then_some(*peer_id)
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                cause,
                num_established,
                ..
            } => {
                // This peer never closes a connection itself.
                let cause = cause
                    .as_ref()
                    .map_or_else(|| "closed".to_owned(), |c| c.to_string());
                *self.report.closed_by_node.entry(cause).or_default() += 1;
                if *num_established == 0 {
                    if let Some(i) = self.peers.remove(peer_id) {
                        self.redial.push((i, Instant::now() + REDIAL_AFTER));
                    }
                }
                None
            }
            SwarmEvent::OutgoingConnectionError { connection_id, .. } => {
                self.report.dial_failures += 1;
                if let Some(i) = self.dialing.remove(connection_id) {
                    self.redial.push((i, Instant::now() + REDIAL_AFTER));
                }
                None
            }
            _ => None,
        }
    }
}

/// The kinds of message, in the order the attack cycles through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    ConsensusGarbage,
    PartsGarbage,
    LivenessGarbage,
    ConsensusReplay,
    OutsiderVote,
    OutsiderFutureVote,
    ForgedVote,
    OutsiderProposal,
    SyncFarAhead,
    SyncWholeRange,
    SyncMalformed,
    LyingStatus,
    TxGarbage,
    TxMalformedBatch,
    TxReplay,
    TxBadSignatures,
}

const CYCLE: [Kind; 16] = [
    Kind::ConsensusGarbage,
    Kind::TxGarbage,
    Kind::PartsGarbage,
    Kind::TxBadSignatures,
    Kind::LivenessGarbage,
    Kind::TxMalformedBatch,
    Kind::ConsensusReplay,
    Kind::TxReplay,
    Kind::OutsiderVote,
    Kind::OutsiderFutureVote,
    Kind::ForgedVote,
    Kind::OutsiderProposal,
    Kind::SyncFarAhead,
    Kind::SyncWholeRange,
    Kind::SyncMalformed,
    Kind::LyingStatus,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ConsensusGarbage => "consensus_garbage",
            Kind::PartsGarbage => "proposal_parts_garbage",
            Kind::LivenessGarbage => "liveness_garbage",
            Kind::ConsensusReplay => "consensus_replay",
            Kind::OutsiderVote => "outsider_vote",
            Kind::OutsiderFutureVote => "outsider_vote_far_ahead",
            Kind::ForgedVote => "forged_committee_vote",
            Kind::OutsiderProposal => "outsider_proposal",
            Kind::SyncFarAhead => "sync_far_ahead",
            Kind::SyncWholeRange => "sync_whole_range",
            Kind::SyncMalformed => "sync_malformed",
            Kind::LyingStatus => "sync_status_far_ahead",
            Kind::TxGarbage => "tx_garbage",
            Kind::TxMalformedBatch => "tx_malformed_batch",
            Kind::TxReplay => "tx_replay",
            Kind::TxBadSignatures => "tx_bad_signatures",
        }
    }
}

/// The attacker's state.
struct Attacker {
    key: SecretKey,
    signer: OrdoSigner,
    committee: Vec<(ordo_types::Address, Vec<u8>)>,
    consensus: Swarm<ConsensusBehaviour>,
    gossip: Swarm<gossipsub::Behaviour>,
    consensus_links: Links,
    gossip_links: Links,
    tx_topic: TopicHash,
    /// Received honest consensus messages: (topic, bytes).
    replay: VecDeque<(TopicHash, Vec<u8>)>,
    /// Received honest transaction batches.
    batches: VecDeque<Vec<u8>>,
    /// Pre-signed batches with false sender claims.
    bad_batches: Vec<Vec<(Transaction, PublicKey)>>,
    report: HostileReport,
    proofs_sent: u64,
    salt: u64,
    /// From when it sends what gets it banned (`--provoke-after`).
    provoke_from: Instant,
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut out);
    out
}

/// A random number in `range`, from a generator not held across an await.
fn range<T: rand::distributions::uniform::SampleUniform + PartialOrd>(
    range: std::ops::Range<T>,
) -> T {
    rand::thread_rng().gen_range(range)
}

fn topic(name: &str) -> TopicHash {
    IdentTopic::new(name).hash()
}

impl Attacker {
    fn count(&mut self, kind: &str, result: Result<(), String>) {
        match result {
            Ok(()) => *self.report.sent.entry(kind.to_owned()).or_default() += 1,
            Err(reason) => {
                *self
                    .report
                    .not_sent
                    .entry(format!("{kind}: {reason}"))
                    .or_default() += 1
            }
        }
    }

    fn publish_consensus(&mut self, kind: &str, topic_name: &str, data: Vec<u8>) {
        let result = self
            .consensus
            .behaviour_mut()
            .gossipsub
            .publish(topic(topic_name), data)
            .map(drop)
            .map_err(|e| e.to_string());
        self.count(kind, result);
    }

    fn publish_tx(&mut self, kind: &str, data: Vec<u8>) {
        let topic = self.tx_topic.clone();
        let result = self
            .gossip
            .behaviour_mut()
            .publish(topic, data)
            .map(drop)
            .map_err(|e| e.to_string());
        self.count(kind, result);
    }

    fn sync_request(&mut self, kind: &str, body: Vec<u8>) {
        let peers: Vec<PeerId> = self.consensus_links.peers.keys().copied().collect();
        if peers.is_empty() {
            self.count(kind, Err("no node connected".to_owned()));
        }
        for peer in peers {
            self.consensus
                .behaviour_mut()
                .sync
                .send_request(&peer, body.clone());
            self.count(kind, Ok(()));
        }
    }

    fn height(&self) -> u64 {
        self.report.observed_height.max(1)
    }

    async fn signed_vote(
        signer: &OrdoSigner,
        height: u64,
        address: ValidatorAddress,
    ) -> Option<Vec<u8>> {
        let value = if rand::random::<bool>() {
            NilOrVal::Nil
        } else {
            NilOrVal::Val(BlockHash(B256::from(rand::random::<[u8; 32]>())))
        };
        let vote = Vote {
            height: Height(height),
            round: Round::new(range(0u32..3)),
            value,
            vote_type: if rand::random::<bool>() {
                VoteType::Prevote
            } else {
                VoteType::Precommit
            },
            validator_address: address,
            extension: None,
        };
        let signed = signer.sign_vote(vote).await.ok()?;
        let msg = SignedConsensusMsg::<OrdoContext>::Vote(signed);
        OrdoCodec.encode(&msg).ok().map(|b| b.to_vec())
    }

    async fn send(&mut self, kind: Kind) {
        let name = kind.name();
        if kind == Kind::OutsiderProposal && Instant::now() < self.provoke_from {
            self.count(name, Err("held back (--provoke-after)".into()));
            return;
        }
        match kind {
            Kind::ConsensusGarbage => {
                let data = random_bytes(range(1..2048));
                self.publish_consensus(name, CONSENSUS_TOPIC, data);
            }
            Kind::PartsGarbage => {
                let data = random_bytes(range(1..2048));
                self.publish_consensus(name, PARTS_TOPIC, data);
            }
            Kind::LivenessGarbage => {
                let data = random_bytes(range(1..2048));
                self.publish_consensus(name, LIVENESS_TOPIC, data);
            }
            Kind::ConsensusReplay => {
                if self.replay.is_empty() {
                    return self.count(name, Err("nothing received yet".to_owned()));
                }
                let i = range(0..self.replay.len());
                if let Some((topic, data)) = self.replay.get(i).cloned() {
                    let result = self
                        .consensus
                        .behaviour_mut()
                        .gossipsub
                        .publish(topic, data)
                        .map(drop)
                        .map_err(|e| e.to_string());
                    self.count(name, result);
                }
            }
            Kind::OutsiderVote | Kind::OutsiderFutureVote | Kind::ForgedVote => {
                let (height, address) = match kind {
                    Kind::OutsiderVote => (
                        self.height() + range(0..2),
                        ValidatorAddress(self.key.address()),
                    ),
                    Kind::OutsiderFutureVote => (
                        self.height() + FAR_AHEAD + range(0..1000),
                        ValidatorAddress(self.key.address()),
                    ),
                    _ => {
                        let member = self
                            .committee
                            .get(range(0..self.committee.len().max(1)))
                            .map_or(self.key.address(), |(a, _)| *a);
                        (self.height() + range(0..2), ValidatorAddress(member))
                    }
                };
                match Self::signed_vote(&self.signer, height, address).await {
                    Some(data) => self.publish_consensus(name, CONSENSUS_TOPIC, data),
                    None => self.count(name, Err("signing failed".to_owned())),
                }
            }
            Kind::OutsiderProposal => {
                let height = Height(self.height() + range(0..2));
                let round = Round::new(0);
                let value = BlockHash(B256::from(rand::random::<[u8; 32]>()));
                let address = ValidatorAddress(self.key.address());
                let data = random_bytes(range(64..4096));
                let stream_id = StreamId::new(Bytes::from(random_bytes(16)));
                let proposal = Proposal {
                    height,
                    round,
                    value,
                    pol_round: Round::Nil,
                    validator_address: address,
                };
                let Ok(signed) = self.signer.sign_proposal(proposal).await else {
                    return self.count(name, Err("signing failed".to_owned()));
                };
                let signature = signed.signature;
                let msg = SignedConsensusMsg::<OrdoContext>::Proposal(signed);
                if let Ok(bytes) = OrdoCodec.encode(&msg) {
                    self.publish_consensus(name, CONSENSUS_TOPIC, bytes.to_vec());
                }
                let parts = [
                    StreamContent::Data(ProposalPart::Init(ProposalInit {
                        height,
                        round,
                        pol_round: Round::Nil,
                        proposer: address,
                    })),
                    StreamContent::Data(ProposalPart::Data(Bytes::from(data))),
                    StreamContent::Data(ProposalPart::Fin(signature)),
                    StreamContent::Fin,
                ];
                for (sequence, content) in (0u64..).zip(parts) {
                    let part = StreamMessage::new(stream_id.clone(), sequence, content);
                    if let Ok(bytes) = OrdoCodec.encode(&part) {
                        self.publish_consensus(
                            "outsider_proposal_part",
                            PARTS_TOPIC,
                            bytes.to_vec(),
                        );
                    }
                }
            }
            Kind::SyncFarAhead => {
                let start = self.height() + FAR_AHEAD + range(0..1000);
                let request = Request::<OrdoContext>::ValueRequest(ValueRequest::new(
                    Height(start)..=Height(start + 63),
                ));
                if let Ok(body) = OrdoCodec.encode(&request) {
                    self.sync_request(name, body.to_vec());
                }
            }
            Kind::SyncWholeRange => {
                let request = Request::<OrdoContext>::ValueRequest(ValueRequest::new(
                    Height(1)..=Height(u64::MAX),
                ));
                if let Ok(body) = OrdoCodec.encode(&request) {
                    self.sync_request(name, body.to_vec());
                }
            }
            Kind::SyncMalformed => {
                let body = random_bytes(range(0..64));
                self.sync_request(name, body);
            }
            Kind::LyingStatus => self.lying_status(name),
            Kind::TxGarbage => {
                let data = random_bytes(range(1..4096));
                self.publish_tx(name, data);
            }
            Kind::TxMalformedBatch => {
                // A batch header announcing more transactions than follow.
                let mut data = vec![0u8];
                data.extend_from_slice(&rand::random::<u64>().to_be_bytes());
                data.extend_from_slice(&1000u32.to_be_bytes());
                data.extend_from_slice(&random_bytes(range(0..2048)));
                self.publish_tx(name, data);
            }
            Kind::TxReplay => {
                if self.batches.is_empty() {
                    return self.count(name, Err("nothing received yet".to_owned()));
                }
                let i = range(0..self.batches.len());
                if let Some(data) = self.batches.get(i).cloned() {
                    self.publish_tx(name, data);
                }
            }
            Kind::TxBadSignatures => {
                if self.bad_batches.is_empty() {
                    return;
                }
                let i = range(0..self.bad_batches.len());
                self.salt += 1;
                let data = self
                    .bad_batches
                    .get(i)
                    .map(|b| ordo_mempool::encode_batch(b, self.salt))
                    .unwrap_or_default();
                self.publish_tx(name, data);
            }
        }
    }

    /// One of each oversized message to every node.
    async fn send_oversized(&mut self) {
        // A well-formed outsider vote with trailing bytes: far above what an honest consensus
        // message takes, far below Malachite's pub-sub limit.
        let address = ValidatorAddress(self.key.address());
        if let Some(mut data) = Self::signed_vote(&self.signer, self.height(), address).await {
            data.resize(data.len() + LARGE_TRAILER, 0);
            self.publish_consensus("consensus_large", CONSENSUS_TOPIC, data);
        }
        self.publish_consensus(
            "consensus_oversized",
            CONSENSUS_TOPIC,
            random_bytes(PUBSUB_MAX + 4096),
        );
        self.salt += 1;
        let mut batch = vec![0u8];
        batch.extend_from_slice(&self.salt.to_be_bytes());
        batch.extend_from_slice(&random_bytes((4 << 20) + 4096));
        self.publish_tx("tx_oversized", batch);
        self.sync_request("sync_oversized", random_bytes(SYNC_MAX_REQUEST + 4096));
        let peers: Vec<PeerId> = self.consensus_links.peers.keys().copied().collect();
        for peer in peers {
            self.consensus
                .behaviour_mut()
                .proof
                .send_request(&peer, random_bytes(PROOF_MAX + 512));
            self.count("proof_oversized", Ok(()));
        }
    }

    /// The first validator proof of a connection: alternately this peer's own (a valid proof
    /// of a key outside the committee) and a forged one (a committee member's public key).
    async fn send_proof(&mut self, peer: PeerId) {
        self.proofs_sent += 1;
        let forged = self.proofs_sent.is_multiple_of(2)
            && !self.committee.is_empty()
            && Instant::now() >= self.provoke_from;
        let public_key = if forged {
            let i = (self.proofs_sent as usize / 2) % self.committee.len();
            self.committee
                .get(i)
                .map(|(_, k)| k.clone())
                .unwrap_or_default()
        } else {
            self.key.public_key().to_sec1().to_vec()
        };
        let Ok(proof) = self
            .signer
            .sign_validator_proof(
                self.key.public_key().to_sec1().to_vec(),
                peer_id_bytes(&self.consensus),
            )
            .await
        else {
            return;
        };
        let proof = ValidatorProof::<OrdoContext>::new(public_key, proof.peer_id, proof.signature);
        if let Ok(bytes) = OrdoCodec.encode(&proof) {
            self.consensus
                .behaviour_mut()
                .proof
                .send_request(&peer, bytes.to_vec());
            let kind = if forged {
                "proof_forged"
            } else {
                "proof_outsider"
            };
            self.count(kind, Ok(()));
        }
    }

    fn on_gossipsub(&mut self, event: gossipsub::Event, consensus: bool) {
        let gossipsub::Event::Message { message, .. } = event else {
            return;
        };
        if consensus {
            self.report.observed_consensus += 1;
            if message.topic == topic(CONSENSUS_TOPIC) {
                let decoded: Result<SignedConsensusMsg<OrdoContext>, _> =
                    OrdoCodec.decode(Bytes::from(message.data.clone()));
                if let Ok(SignedConsensusMsg::Vote(SignedMessage { message: vote, .. })) = decoded {
                    self.report.observed_height = self.report.observed_height.max(vote.height.0);
                }
            }
            if self.replay.len() == REPLAY_KEEP {
                self.replay.pop_front();
            }
            self.replay.push_back((message.topic, message.data));
        } else {
            self.report.observed_batches += 1;
            if self.batches.len() == REPLAY_KEEP / 4 {
                self.batches.pop_front();
            }
            self.batches.push_back(message.data);
        }
    }

    /// A node's broadcast (its sync status, or its subscription): taken and answered, as an
    /// honest peer would.
    fn on_scatter(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message {
                message: request_response::Message::Request { channel, .. },
                ..
            } => {
                self.report.status_received += 1;
                let _ = self
                    .consensus
                    .behaviour_mut()
                    .scatter
                    .send_response(channel, Vec::new());
            }
            other => self.on_response(other, "scatter"),
        }
    }

    /// Subscribes to the sync status channel of a newly connected node, as honest peers do.
    fn subscribe_sync(&mut self, peer: PeerId) {
        let message = scatter_message(SCATTER_SUBSCRIBE, SYNC_TOPIC, &[]);
        self.consensus
            .behaviour_mut()
            .scatter
            .send_request(&peer, message);
    }

    /// Tells every node that this peer holds the chain up to far beyond its tip.
    fn lying_status(&mut self, kind: &str) {
        let local = *self.consensus.local_peer_id();
        let Ok(peer_id) = MalachitePeerId::from_bytes(&local.to_bytes()) else {
            return;
        };
        let status = Status::<OrdoContext> {
            peer_id,
            tip_height: Height(self.height() + FAR_AHEAD),
            history_min_height: Height(1),
        };
        let Ok(payload) = OrdoCodec.encode(&status) else {
            return;
        };
        let message = scatter_message(SCATTER_BROADCAST, SYNC_TOPIC, &payload);
        let peers: Vec<PeerId> = self.consensus_links.peers.keys().copied().collect();
        if peers.is_empty() {
            self.count(kind, Err("no node connected".to_owned()));
        }
        for peer in peers {
            self.consensus
                .behaviour_mut()
                .scatter
                .send_request(&peer, message.clone());
            self.count(kind, Ok(()));
        }
    }

    fn on_response(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>, what: &str) {
        match event {
            request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            } if what == "sync" => {
                self.report.sync_responses += 1;
                let decoded: Result<Response<OrdoContext>, _> =
                    OrdoCodec.decode(Bytes::from(response));
                if let Ok(Response::ValueResponse(r)) = decoded {
                    self.report.sync_values += r.values.len() as u64;
                }
            }
            request_response::Event::OutboundFailure { error, .. } => {
                let reason = match error {
                    request_response::OutboundFailure::DialFailure => "dial failure".to_owned(),
                    request_response::OutboundFailure::Timeout => "timeout".to_owned(),
                    request_response::OutboundFailure::ConnectionClosed => {
                        "connection closed".to_owned()
                    }
                    request_response::OutboundFailure::UnsupportedProtocols => {
                        "unsupported protocol".to_owned()
                    }
                    request_response::OutboundFailure::Io(e) => format!("stream {}", e.kind()),
                };
                *self
                    .report
                    .request_failures
                    .entry(format!("{what}: {reason}"))
                    .or_default() += 1;
            }
            _ => {}
        }
    }
}

fn peer_id_bytes(swarm: &Swarm<ConsensusBehaviour>) -> Vec<u8> {
    swarm.local_peer_id().to_bytes()
}

/// Pre-signs `count` batches of `size` transactions whose claimed sender keys are wrong: each
/// transaction is signed by one random key and claims another's public key.
fn bad_batches(chain_id: u64, count: usize, size: usize) -> Vec<Vec<(Transaction, PublicKey)>> {
    (0..count)
        .map(|b| {
            (0..size)
                .map(|i| {
                    let signer = SecretKey::random();
                    let claimed = SecretKey::random().public_key();
                    let payload = ordo_types::Bytes::from(format!("hostile {b} {i}").into_bytes());
                    (Transaction::sign(1, 0, payload, &signer, chain_id), claimed)
                })
                .collect()
        })
        .collect()
}

/// Runs the attack against the network in `args.home` and returns what happened.
pub async fn attack(args: &HostileArgs) -> anyhow::Result<HostileReport> {
    if args.duration == 0 {
        bail!("--duration must be at least 1 second");
    }
    let targets = read_targets(&args.home)?;
    let keypair = Keypair::generate_ed25519();
    let key = SecretKey::random();
    let chain_id = targets.chain_id;
    let bad = tokio::task::spawn_blocking(move || bad_batches(chain_id, 16, 100)).await?;

    let consensus_behaviour = ConsensusBehaviour {
        identify: identify::Behaviour::new(identify::Config::new(
            CONSENSUS_PROTOCOL.to_owned(),
            keypair.public(),
        )),
        gossipsub: gossipsub_behaviour(
            MessageAuthenticity::Signed(keypair.clone()),
            &[CONSENSUS_TOPIC, PARTS_TOPIC, LIVENESS_TOPIC],
        )?,
        sync: request_response::Behaviour::with_codec(
            Framing::Sync,
            [(
                StreamProtocol::new(SYNC_PROTOCOL),
                ProtocolSupport::Outbound,
            )],
            request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
        ),
        proof: request_response::Behaviour::with_codec(
            Framing::Proof,
            [(
                StreamProtocol::new(PROOF_PROTOCOL),
                ProtocolSupport::Outbound,
            )],
            request_response::Config::default(),
        ),
        scatter: request_response::Behaviour::with_codec(
            Framing::Scatter,
            [(StreamProtocol::new(SCATTER_PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default(),
        ),
    };
    let consensus = swarm_with(&keypair, consensus_behaviour)?;
    let gossip = swarm_with(
        &keypair,
        gossipsub_behaviour(MessageAuthenticity::Anonymous, &[&targets.topic])?,
    )?;

    let mut attacker = Attacker {
        signer: OrdoSigner::new(key.clone(), chain_id),
        report: HostileReport {
            peer_id: keypair.public().to_peer_id().to_string(),
            address: key.address().to_string(),
            ..Default::default()
        },
        key,
        committee: targets.committee,
        consensus,
        gossip,
        consensus_links: Links::new(targets.consensus),
        gossip_links: Links::new(targets.gossip),
        tx_topic: IdentTopic::new(targets.topic).hash(),
        replay: VecDeque::new(),
        batches: VecDeque::new(),
        bad_batches: bad,
        proofs_sent: 0,
        salt: rand::thread_rng().gen(),
        provoke_from: Instant::now() + Duration::from_secs(args.provoke_after),
    };

    let started = Instant::now();
    let end = started + Duration::from_secs(args.duration);
    let mut tick = tokio::time::interval(TICK);
    let mut oversized = tokio::time::interval(Duration::from_secs(args.oversized_every.max(1)));
    // The first oversized round waits a period, after the connections are up.
    oversized.tick().await;
    let cycle: Vec<Kind> = CYCLE
        .iter()
        .copied()
        .filter(|k| args.only.is_empty() || args.only.iter().any(|o| o == k.name()))
        .collect();
    if cycle.is_empty() {
        bail!("--only names no kind; kinds: {:?}", CYCLE.map(Kind::name));
    }
    let per_tick = f64::from(args.rate) * TICK.as_secs_f64();
    let mut owed = 0.0;
    let mut next = 0usize;
    loop {
        tokio::select! {
            event = attacker.consensus.select_next_some() => {
                if let Some(peer) = attacker.consensus_links.on_event(&event) {
                    attacker.subscribe_sync(peer);
                    attacker.send_proof(peer).await;
                }
                match event {
                    SwarmEvent::Behaviour(ConsensusBehaviourEvent::Gossipsub(e)) => attacker.on_gossipsub(e, true),
                    SwarmEvent::Behaviour(ConsensusBehaviourEvent::Sync(e)) => attacker.on_response(e, "sync"),
                    SwarmEvent::Behaviour(ConsensusBehaviourEvent::Proof(e)) => attacker.on_response(e, "proof"),
                    SwarmEvent::Behaviour(ConsensusBehaviourEvent::Scatter(e)) => attacker.on_scatter(e),
                    _ => {}
                }
            }
            event = attacker.gossip.select_next_some() => {
                attacker.gossip_links.on_event(&event);
                if let SwarmEvent::Behaviour(e) = event {
                    attacker.on_gossipsub(e, false);
                }
            }
            _ = tick.tick() => {
                if Instant::now() >= end {
                    break;
                }
                attacker.consensus_links.dial_due(&mut attacker.consensus);
                attacker.gossip_links.dial_due(&mut attacker.gossip);
                owed += per_tick;
                while owed >= 1.0 {
                    owed -= 1.0;
                    let kind = cycle.get(next % cycle.len()).copied().unwrap_or(Kind::ConsensusGarbage);
                    next += 1;
                    attacker.send(kind).await;
                }
            }
            _ = oversized.tick() => attacker.send_oversized().await,
        }
    }
    attacker.report.duration_s = started.elapsed().as_secs_f64();
    attacker.report.consensus = attacker.consensus_links.report.clone();
    attacker.report.consensus.connected_at_end = attacker.consensus_links.peers.len();
    attacker.report.gossip = attacker.gossip_links.report.clone();
    attacker.report.gossip.connected_at_end = attacker.gossip_links.peers.len();
    Ok(attacker.report)
}

/// Runs `ordo-testnet hostile`: the attack, then its report as JSON (printed, and written to
/// `--out`).
pub async fn run(args: HostileArgs) -> anyhow::Result<()> {
    println!(
        "attacking the network in {} for {} s at {} messages/s...",
        args.home.display(),
        args.duration,
        args.rate
    );
    let report = attack(&args).await?;
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(out) = &args.out {
        std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn varints_are_leb128_and_read_back() {
        assert_eq!(uvarint(0), [0]);
        assert_eq!(uvarint(127), [127]);
        assert_eq!(uvarint(300), [0xac, 0x02]);
        for n in [0, 1, 127, 128, 300, 1 << 20, u64::from(u32::MAX)] {
            let bytes = uvarint(n);
            let mut io = libp2p::futures::io::Cursor::new(bytes);
            assert_eq!(read_uvarint(&mut io).await.unwrap(), n);
        }
        let mut endless = libp2p::futures::io::Cursor::new(vec![0x80; 11]);
        assert!(read_uvarint(&mut endless).await.is_err());
    }

    /// Malachite's broadcast messages: the topic length in the header's top six bits, the kind
    /// in its low two, then the topic and the payload.
    #[test]
    fn scatter_messages_carry_topic_and_kind_in_the_header() {
        let subscribe = scatter_message(SCATTER_SUBSCRIBE, SYNC_TOPIC, &[]);
        assert_eq!(subscribe, [5 << 2, b'/', b's', b'y', b'n', b'c']);
        let broadcast = scatter_message(SCATTER_BROADCAST, SYNC_TOPIC, b"xy");
        assert_eq!(broadcast[0], (5 << 2) | 1);
        assert_eq!(&broadcast[6..], b"xy");
    }

    #[test]
    fn every_kind_has_its_own_name() {
        let mut names: Vec<&str> = CYCLE.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CYCLE.len());
    }
}
