//! Transaction gossip: a libp2p gossipsub transport for batches of transactions.
//!
//! [`Gossip::start`] spawns an actor that owns a libp2p swarm (TCP, noise, yamux, gossipsub on a
//! single topic) and returns a cloneable [`Gossip`] handle plus the receiving end of a channel of
//! [`GossipEvent`]s. The actor is the only owner of the swarm; the handle talks to it through a
//! bounded mailbox and reads the peer count from a `watch` channel the actor updates.
//!
//! Contract:
//! - **Opaque payloads.** A batch is a `Vec<u8>`; the mempool encodes and decodes it. Gossip never
//!   looks inside and checks nothing but the size: whoever consumes [`GossipEvent::Batch`] must
//!   treat the bytes as untrusted input.
//! - **Checked before forwarding.** A received batch goes to no other peer until the consumer
//!   judges it: [`Gossip::accept`] forwards it, [`Gossip::reject`] drops it and strikes the peer
//!   that delivered it. An honest node therefore never passes on a bad batch, and a strike always
//!   lands on the peer that sent the bad bytes itself.
//! - **Anonymous messages.** Batches carry no author, sequence number or signature: the connection's
//!   noise handshake already authenticates the peer that delivers each one, and the transactions
//!   inside are signed by their senders. This saves an ed25519 signature per publish and a check
//!   per delivery.
//! - **Best effort.** [`Gossip::publish`] hands the batch to the actor and returns. If no peer is
//!   subscribed to the topic yet (gossipsub's "insufficient peers"), the batch is logged at debug
//!   level and dropped: the caller keeps its transactions and gossips them again later.
//! - **Deduplication.** A batch's message id is the keccak256 of its bytes. The same bytes, from
//!   any node, are delivered at most once while gossipsub remembers the id (60 s); republishing
//!   identical bytes within that window is a no-op.
//! - **Never echo.** Batches this node published are not delivered back to it.
//! - **Persistent peers.** Every configured peer is dialed at start and redialed with exponential
//!   backoff (100 ms doubling up to 5 s) whenever its last connection closes or a dial fails, so a
//!   restarted peer gets gossip again without manual steps. Other nodes may connect too.
//! - **Size limit.** [`GossipConfig::max_message_bytes`] is the largest batch. The handle refuses
//!   larger ones with [`GossipError::TooLarge`]. A larger batch from a peer configured with a
//!   higher limit is read (up to twice the limit), rejected and not forwarded; later batches on
//!   the same connection arrive normally. A frame beyond twice the limit is dropped unread by
//!   gossipsub's codec, which leaves the sender's stream dead; the sender notices when its
//!   publishes time out, closes the connection and redials (see "Stuck peers").
//! - **Stuck peers.** When batches this node published could not be sent to a peer within
//!   gossipsub's publish timeout (5 s), the connection to that peer is closed; configured peers
//!   are then redialed, which gives fresh streams.
//!
//! Logs use the tracing target `ordo::gossip`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PublishError, TopicHash,
    ValidationMode,
};
use libp2p::identity::Keypair;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, DialError, SwarmEvent};
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm, SwarmBuilder};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

const TARGET: &str = "ordo::gossip";

/// Commands waiting in the actor's mailbox.
const MAILBOX_CAPACITY: usize = 64;
/// Received batches waiting for the consumer. When full, new batches are dropped (with a warning)
/// rather than stalling the network loop.
const EVENT_CAPACITY: usize = 256;

/// Frames up to this many times `max_message_bytes` are read, so that nodes whose limits differ
/// (a rolling upgrade raising it) reject each other's big batches one by one instead of losing
/// the stream they came on.
const FRAME_LIMIT_FACTOR: usize = 2;

/// Bytes a gossipsub frame adds around a batch, beyond the topic name: the RPC and message
/// framing come to a few bytes; the rest is margin.
const ENVELOPE_ALLOWANCE: usize = 1024;

/// Mesh sizes for networks of a handful of nodes: with `MESH_N_LOW` at 4, a node grafts every
/// subscribing peer until it has four, so a small network is one mesh. Publishing also floods to
/// every subscribed peer.
const MESH_N_LOW: usize = 4;
const MESH_N: usize = 6;
const MESH_N_HIGH: usize = 12;
const MESH_OUTBOUND_MIN: usize = 2;

/// First wait before redialing a peer; doubles after every failed dial up to `MAX_REDIAL_BACKOFF`.
const MIN_REDIAL_BACKOFF: Duration = Duration::from_millis(100);
const MAX_REDIAL_BACKOFF: Duration = Duration::from_secs(5);

/// Connections that gossipsub does not keep alive (peers outside the mesh) are closed after this
/// long without traffic. Long, because configured peers are meant to stay connected.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3600);

/// Gossip settings, usually a section of the node's TOML config.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GossipConfig {
    /// Address to listen on, as a multiaddr such as `/ip4/127.0.0.1/tcp/27650`.
    pub listen: String,
    /// Peers to dial at start and redial whenever the connection drops, as multiaddrs such as
    /// `/ip4/10.0.0.2/tcp/27650`. The node's own listen address is skipped.
    pub peers: Vec<String>,
    /// Largest batch, in bytes. Larger batches are refused locally and dropped when received.
    pub max_message_bytes: usize,
    /// Gossipsub topic; nodes only exchange batches with peers on the same topic.
    pub topic: String,
}

impl Default for GossipConfig {
    fn default() -> Self {
        Self {
            listen: "/ip4/127.0.0.1/tcp/27650".to_owned(),
            peers: Vec::new(),
            max_message_bytes: 4 * 1024 * 1024,
            topic: "ordo/txs/4".to_owned(),
        }
    }
}

/// What went wrong with gossip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GossipError {
    /// An address in the config is not a valid multiaddr.
    #[error("invalid multiaddr {addr:?}: {reason}")]
    InvalidAddress {
        /// The address as written.
        addr: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The config is inconsistent (zero size limit, empty topic, ...).
    #[error("invalid gossip config: {0}")]
    InvalidConfig(String),
    /// The 32 bytes are not an ed25519 secret key.
    #[error("invalid ed25519 secret key: {0}")]
    InvalidKey(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The listen address.
        addr: String,
        /// The transport's error.
        reason: String,
    },
    /// Building the libp2p transport or behaviour failed.
    #[error("libp2p setup failed: {0}")]
    Setup(String),
    /// The batch is larger than [`GossipConfig::max_message_bytes`].
    #[error("batch of {size} bytes exceeds the gossip limit of {max}")]
    TooLarge {
        /// Batch size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The gossip actor has stopped (shut down, or its task ended).
    #[error("gossip actor stopped")]
    Stopped,
    /// [`Gossip::start`] was called outside a tokio runtime.
    #[error("gossip must be started inside a tokio runtime")]
    NoRuntime,
}

impl GossipError {
    /// Whether the actor is gone: every later call on the handle fails the same way.
    pub fn is_stopped(&self) -> bool {
        matches!(self, GossipError::Stopped)
    }

    /// Whether the batch was refused for its size.
    pub fn is_too_large(&self) -> bool {
        matches!(self, GossipError::TooLarge { .. })
    }
}

/// Something the network delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipEvent {
    /// A batch from another node, held back from the other peers until the consumer passes the
    /// ticket to [`Gossip::accept`] or [`Gossip::reject`].
    Batch {
        /// The peer id (base58) of the node that delivered it, authenticated by the connection:
        /// the author or a node that forwarded it.
        from: String,
        /// The batch exactly as published.
        bytes: Vec<u8>,
        /// What names this delivery to [`Gossip::accept`] and [`Gossip::reject`].
        ticket: Ticket,
    },
}

/// One delivered batch awaiting its verdict. A ticket never judged is forgotten after a few
/// seconds, and the batch with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    id: MessageId,
    from: PeerId,
}

/// Handle to the gossip actor. Cheap to clone; the actor stops when every handle is dropped or
/// [`Gossip::shutdown`] is called.
#[derive(Clone, Debug)]
pub struct Gossip {
    mailbox: mpsc::Sender<Command>,
    peers: watch::Receiver<usize>,
    peer_id: String,
    max_message_bytes: usize,
}

enum Command {
    Publish(Vec<u8>),
    Judged(Ticket, bool),
    Shutdown(oneshot::Sender<()>),
}

/// Bad batches (malformed, or claiming false sender keys) a peer may deliver before this node
/// cuts it off: honest nodes forward only batches they checked, so a few allow for nothing but
/// bugs.
const MAX_STRIKES: u32 = 3;
/// How long a peer that delivered [`MAX_STRIKES`] bad batches stays cut off.
const BAN: Duration = Duration::from_secs(600);
/// Most peers with strikes or bans remembered: beyond it the record starts over, so that an
/// attacker connecting with ever new identities cannot grow it.
const MAX_TRACKED: usize = 4096;

impl Gossip {
    /// Binds the listen address, subscribes to the topic, starts dialing the configured peers and
    /// spawns the actor on the current tokio runtime.
    ///
    /// `keypair_secret` is the node's ed25519 secret key; its public key is the node's peer id,
    /// which its connections authenticate.
    pub fn start(
        config: GossipConfig,
        keypair_secret: [u8; 32],
    ) -> Result<(Gossip, mpsc::Receiver<GossipEvent>), GossipError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| GossipError::NoRuntime)?;
        if config.max_message_bytes == 0 {
            return Err(GossipError::InvalidConfig(
                "max_message_bytes must be positive".to_owned(),
            ));
        }
        if config.topic.is_empty() {
            return Err(GossipError::InvalidConfig(
                "topic must not be empty".to_owned(),
            ));
        }
        let listen = parse_addr(&config.listen)?;
        let peers = config
            .peers
            .iter()
            .map(|p| parse_addr(p))
            .collect::<Result<Vec<_>, _>>()?;

        let mut secret = keypair_secret;
        let keypair = Keypair::ed25519_from_bytes(&mut secret)
            .map_err(|e| GossipError::InvalidKey(e.to_string()))?;
        let local_peer_id = keypair.public().to_peer_id();

        let behaviour = build_behaviour(&config)?;
        let topic = IdentTopic::new(config.topic.clone()).hash();
        let mut swarm = SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| GossipError::Setup(e.to_string()))?
            .with_behaviour(|_| behaviour)
            .map_err(|never: Infallible| match never {})?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
            .build();
        swarm
            .listen_on(listen.clone())
            .map_err(|e| GossipError::Listen {
                addr: listen.to_string(),
                reason: e.to_string(),
            })?;

        let (mailbox_tx, mailbox_rx) = mpsc::channel(MAILBOX_CAPACITY);
        let (events_tx, events_rx) = mpsc::channel(EVENT_CAPACITY);
        let (peers_tx, peers_rx) = watch::channel(0);
        let now = Instant::now();
        let actor = Actor {
            swarm,
            topic,
            local_peer_id,
            mailbox: mailbox_rx,
            events: events_tx,
            peers: peers_tx,
            redial: Redialer::new(peers.into_iter().filter(|p| *p != listen), now),
            max_message_bytes: config.max_message_bytes,
            dropped_batches: 0,
            strikes: HashMap::new(),
            banned: HashMap::new(),
        };
        tracing::info!(
            target: TARGET,
            peer_id = %local_peer_id,
            %listen,
            peers = config.peers.len(),
            topic = %config.topic,
            "gossip starting"
        );
        runtime.spawn(actor.run());

        let handle = Gossip {
            mailbox: mailbox_tx,
            peers: peers_rx,
            peer_id: local_peer_id.to_string(),
            max_message_bytes: config.max_message_bytes,
        };
        Ok((handle, events_rx))
    }

    /// Queues a batch for gossip to every peer. Waits only while the mailbox is full.
    ///
    /// Success means the actor took the batch, not that any peer received it: with no subscribed
    /// peer the batch is dropped (see the module docs), so callers re-gossip what is still pending.
    pub async fn publish(&self, batch: Vec<u8>) -> Result<(), GossipError> {
        if batch.len() > self.max_message_bytes {
            return Err(GossipError::TooLarge {
                size: batch.len(),
                max: self.max_message_bytes,
            });
        }
        self.mailbox
            .send(Command::Publish(batch))
            .await
            .map_err(|_| GossipError::Stopped)
    }

    /// Judges a delivered batch good: gossip forwards it to the other peers.
    pub fn accept(&self, ticket: Ticket) {
        self.judge(ticket, true);
    }

    /// Judges a delivered batch bad (malformed, or claiming false sender keys): it goes no
    /// further, and the peer that delivered it gets a strike. After [`MAX_STRIKES`] the node
    /// disconnects that peer and refuses its connections for [`BAN`].
    pub fn reject(&self, ticket: Ticket) {
        self.judge(ticket, false);
    }

    /// Never waits: a verdict that finds the mailbox full is dropped, and its batch with it.
    fn judge(&self, ticket: Ticket, good: bool) {
        let _ = self.mailbox.try_send(Command::Judged(ticket, good));
    }

    /// How many connected peers are subscribed to the topic, i.e. would receive a publish
    /// directly. Zero once the actor has stopped.
    pub fn peers(&self) -> usize {
        *self.peers.borrow()
    }

    /// This node's peer id (base58), as its peers see it in [`GossipEvent::Batch::from`].
    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// Stops the actor for every handle and returns once its swarm, listener included, is
    /// dropped. Returns at once if it has already stopped.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.mailbox.send(Command::Shutdown(tx)).await.is_ok() {
            // An error only means the actor ended on its own first.
            let _ = rx.await;
        }
    }
}

fn parse_addr(addr: &str) -> Result<Multiaddr, GossipError> {
    addr.parse()
        .map_err(|e: libp2p::multiaddr::Error| GossipError::InvalidAddress {
            addr: addr.to_owned(),
            reason: e.to_string(),
        })
}

fn build_behaviour(config: &GossipConfig) -> Result<gossipsub::Behaviour, GossipError> {
    let max_transmit_size = config
        .max_message_bytes
        .checked_mul(FRAME_LIMIT_FACTOR)
        .and_then(|n| n.checked_add(ENVELOPE_ALLOWANCE))
        .and_then(|n| n.checked_add(config.topic.len()))
        .ok_or_else(|| GossipError::InvalidConfig("max_message_bytes is too large".to_owned()))?;
    let gossipsub_config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        // Forward a batch only once the consumer judged it.
        .validate_messages()
        .message_id_fn(|message: &gossipsub::Message| {
            MessageId::new(ordo_types::keccak256(&message.data).as_slice())
        })
        .max_transmit_size(max_transmit_size)
        .mesh_n_low(MESH_N_LOW)
        .mesh_n(MESH_N)
        .mesh_n_high(MESH_N_HIGH)
        .mesh_outbound_min(MESH_OUTBOUND_MIN)
        .flood_publish(true)
        .heartbeat_initial_delay(Duration::from_millis(500))
        .build()
        .map_err(|e| GossipError::InvalidConfig(e.to_string()))?;
    let mut behaviour = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossipsub_config)
        .map_err(|e| GossipError::Setup(e.to_owned()))?;
    behaviour
        .subscribe(&IdentTopic::new(config.topic.clone()))
        .map_err(|e| GossipError::Setup(e.to_string()))?;
    Ok(behaviour)
}

/// The task that owns the swarm.
struct Actor {
    swarm: Swarm<gossipsub::Behaviour>,
    topic: TopicHash,
    local_peer_id: PeerId,
    mailbox: mpsc::Receiver<Command>,
    events: mpsc::Sender<GossipEvent>,
    peers: watch::Sender<usize>,
    redial: Redialer,
    max_message_bytes: usize,
    dropped_batches: u64,
    /// Bad batches authored, per peer.
    strikes: HashMap<PeerId, u32>,
    /// Peers cut off, until when.
    banned: HashMap<PeerId, Instant>,
}

impl Actor {
    async fn run(mut self) {
        let shutdown_reply = loop {
            let next_dial = self.redial.next_deadline();
            tokio::select! {
                command = self.mailbox.recv() => match command {
                    Some(Command::Publish(batch)) => self.publish(batch),
                    Some(Command::Judged(ticket, good)) => self.judged(ticket, good),
                    Some(Command::Shutdown(reply)) => break Some(reply),
                    None => break None,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                () = tokio::time::sleep_until(next_dial.unwrap_or_else(Instant::now)),
                    if next_dial.is_some() => self.dial_due(),
            }
        };
        tracing::info!(target: TARGET, peer_id = %self.local_peer_id, "gossip stopping");
        self.peers.send_replace(0);
        // Dropping the swarm closes the listener and every connection.
        drop(self.swarm);
        if let Some(reply) = shutdown_reply {
            let _ = reply.send(());
        }
    }

    fn publish(&mut self, batch: Vec<u8>) {
        let bytes = batch.len();
        match self
            .swarm
            .behaviour_mut()
            .publish(self.topic.clone(), batch)
        {
            Ok(id) => tracing::debug!(target: TARGET, %id, bytes, "published batch"),
            Err(PublishError::NoPeersSubscribedToTopic) => tracing::debug!(
                target: TARGET,
                bytes,
                "no peer subscribed yet; batch dropped, the caller gossips it again later"
            ),
            Err(PublishError::Duplicate) => {
                tracing::debug!(target: TARGET, bytes, "batch already gossiped recently")
            }
            Err(e) => tracing::warn!(target: TARGET, bytes, error = %e, "batch not published"),
        }
    }

    fn dial_due(&mut self) {
        let now = Instant::now();
        for (addr, peer) in self.redial.take_due(now) {
            let opts = match peer {
                // Skip the dial if the peer already connected to us.
                Some(peer) => DialOpts::peer_id(peer)
                    .addresses(vec![addr.clone()])
                    .condition(PeerCondition::Disconnected)
                    .allocate_new_port()
                    .build(),
                None => DialOpts::unknown_peer_id()
                    .address(addr.clone())
                    .allocate_new_port()
                    .build(),
            };
            let connection = opts.connection_id();
            self.redial.dialing(&addr, connection);
            match self.swarm.dial(opts) {
                Ok(()) => tracing::debug!(target: TARGET, %addr, "dialing peer"),
                Err(error) => {
                    let outcome = DialOutcome::from(&error);
                    if outcome == DialOutcome::Failed {
                        tracing::debug!(target: TARGET, %addr, %error, "dial failed");
                    }
                    self.redial.dial_failed(connection, outcome, now);
                }
            }
        }
    }

    fn judged(&mut self, Ticket { id, from }: Ticket, good: bool) {
        let verdict = if good {
            MessageAcceptance::Accept
        } else {
            MessageAcceptance::Reject
        };
        self.swarm
            .behaviour_mut()
            .report_message_validation_result(&id, &from, verdict);
        if !good {
            self.strike(from);
        }
    }

    /// Counts a bad batch `peer` delivered, and cuts the peer off at [`MAX_STRIKES`].
    fn strike(&mut self, peer: PeerId) {
        if self.strikes.len() >= MAX_TRACKED {
            self.strikes.clear();
        }
        let strikes = self.strikes.entry(peer).or_default();
        *strikes = strikes.saturating_add(1);
        if *strikes < MAX_STRIKES {
            return;
        }
        self.strikes.remove(&peer);
        let now = Instant::now();
        self.banned.retain(|_, until| *until > now);
        if self.banned.len() >= MAX_TRACKED {
            self.banned.clear();
        }
        self.banned.insert(peer, now + BAN);
        tracing::warn!(target: TARGET, %peer, ban = ?BAN, "peer delivered bad batches; disconnected");
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn is_banned(&self, peer: &PeerId) -> bool {
        self.banned
            .get(peer)
            .is_some_and(|until| *until > Instant::now())
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<gossipsub::Event>) {
        match event {
            SwarmEvent::Behaviour(event) => self.on_gossipsub_event(event),
            SwarmEvent::ConnectionEstablished { peer_id, .. } if self.is_banned(&peer_id) => {
                tracing::debug!(target: TARGET, peer = %peer_id, "banned peer refused");
                let _ = self.swarm.disconnect_peer_id(peer_id);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                tracing::debug!(
                    target: TARGET,
                    peer = %peer_id,
                    addr = %endpoint.get_remote_address(),
                    "connected"
                );
                self.redial.connected(peer_id, connection_id);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                tracing::debug!(
                    target: TARGET,
                    peer = %peer_id,
                    remaining = num_established,
                    cause = ?cause,
                    "connection closed"
                );
                if num_established == 0 {
                    self.redial.disconnected(peer_id, Instant::now());
                }
                self.refresh_peer_count();
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                let outcome = DialOutcome::from(&error);
                match outcome {
                    DialOutcome::OwnAddress => tracing::warn!(
                        target: TARGET,
                        %error,
                        "a configured peer address is this node; not dialing it again"
                    ),
                    _ => tracing::debug!(target: TARGET, %error, "dial failed"),
                }
                self.redial
                    .dial_failed(connection_id, outcome, Instant::now());
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                tracing::debug!(target: TARGET, from = %send_back_addr, %error, "incoming connection failed")
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(target: TARGET, %address, "listening")
            }
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => tracing::error!(
                target: TARGET,
                ?addresses,
                ?reason,
                "listener closed; peers can no longer connect to this node"
            ),
            SwarmEvent::ListenerError { error, .. } => {
                tracing::warn!(target: TARGET, %error, "listener error")
            }
            _ => {}
        }
    }

    fn on_gossipsub_event(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source: from,
                message_id: id,
                message,
            } => {
                let report = |actor: &mut Self, verdict| {
                    actor
                        .swarm
                        .behaviour_mut()
                        .report_message_validation_result(&id, &from, verdict);
                };
                if message.data.len() > self.max_message_bytes {
                    // Not a strike: a peer configured with a higher limit sends these honestly.
                    tracing::warn!(
                        target: TARGET,
                        %from,
                        bytes = message.data.len(),
                        max = self.max_message_bytes,
                        "oversized batch rejected"
                    );
                    return report(self, MessageAcceptance::Reject);
                }
                if message.topic != self.topic {
                    return report(self, MessageAcceptance::Ignore);
                }
                tracing::debug!(
                    target: TARGET,
                    %id,
                    %from,
                    bytes = message.data.len(),
                    "received batch"
                );
                let event = GossipEvent::Batch {
                    from: from.to_string(),
                    bytes: message.data,
                    ticket: Ticket {
                        id: id.clone(),
                        from,
                    },
                };
                match self.events.try_send(event) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        self.dropped_batches = self.dropped_batches.saturating_add(1);
                        tracing::warn!(
                            target: TARGET,
                            dropped = self.dropped_batches,
                            "event receiver is full; batch dropped"
                        );
                        report(self, MessageAcceptance::Ignore);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        tracing::trace!(target: TARGET, "event receiver gone; batch ignored");
                        report(self, MessageAcceptance::Ignore);
                    }
                }
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                tracing::debug!(target: TARGET, peer = %peer_id, %topic, "peer subscribed");
                self.refresh_peer_count();
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                tracing::debug!(target: TARGET, peer = %peer_id, %topic, "peer unsubscribed");
                self.refresh_peer_count();
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                tracing::warn!(target: TARGET, peer = %peer_id, "peer does not speak gossipsub")
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                if failed_messages.publish > 0 {
                    // Our own batches are stuck: the stream to the peer is dead or the peer
                    // stopped reading. A new connection gives new streams.
                    tracing::warn!(
                        target: TARGET,
                        peer = %peer_id,
                        ?failed_messages,
                        "batches to peer timed out; reconnecting"
                    );
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                } else {
                    tracing::warn!(
                        target: TARGET,
                        peer = %peer_id,
                        ?failed_messages,
                        "peer is slow; messages to it were dropped"
                    );
                }
            }
        }
    }

    fn refresh_peer_count(&mut self) {
        let topic = &self.topic;
        let count = self
            .swarm
            .behaviour()
            .all_peers()
            .filter(|(_, topics)| topics.contains(&topic))
            .count();
        self.peers.send_if_modified(|current| {
            let changed = *current != count;
            *current = count;
            changed
        });
    }
}

/// How a dial ended, as far as redialing cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DialOutcome {
    /// The address is this node: never dial it again.
    OwnAddress,
    /// The peer is already connected (it dialed us): wait for that connection to close.
    AlreadyConnected,
    /// Another peer answers at the address: forget the peer id and retry.
    WrongPeer,
    /// Unreachable, refused, handshake failed...: retry after the backoff.
    Failed,
}

impl From<&DialError> for DialOutcome {
    fn from(error: &DialError) -> Self {
        match error {
            DialError::LocalPeerId { .. } => DialOutcome::OwnAddress,
            DialError::DialPeerConditionFalse(_) => DialOutcome::AlreadyConnected,
            DialError::WrongPeerId { .. } => DialOutcome::WrongPeer,
            _ => DialOutcome::Failed,
        }
    }
}

/// Which configured peers to dial, and when. Pure bookkeeping: the actor feeds it swarm events
/// and performs the dials it asks for.
#[derive(Debug)]
struct Redialer {
    targets: Vec<Target>,
}

#[derive(Debug)]
struct Target {
    addr: Multiaddr,
    /// Learnt from the first successful dial.
    peer: Option<PeerId>,
    state: TargetState,
    /// Wait before the next dial after a failure.
    backoff: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TargetState {
    /// Dial at this instant.
    Due(Instant),
    Dialing(ConnectionId),
    /// At least one connection to the peer is open.
    Connected,
    /// The address is this node.
    Abandoned,
}

impl Redialer {
    /// Every address is due at `now`; duplicates are dialed once.
    fn new(addrs: impl IntoIterator<Item = Multiaddr>, now: Instant) -> Self {
        let mut targets: Vec<Target> = Vec::new();
        for addr in addrs {
            if targets.iter().all(|t| t.addr != addr) {
                targets.push(Target {
                    addr,
                    peer: None,
                    state: TargetState::Due(now),
                    backoff: MIN_REDIAL_BACKOFF,
                });
            }
        }
        Redialer { targets }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.targets
            .iter()
            .filter_map(|t| match t.state {
                TargetState::Due(at) => Some(at),
                _ => None,
            })
            .min()
    }

    /// The targets to dial now, with their peer id if known.
    fn take_due(&self, now: Instant) -> Vec<(Multiaddr, Option<PeerId>)> {
        self.targets
            .iter()
            .filter(|t| matches!(t.state, TargetState::Due(at) if at <= now))
            .map(|t| (t.addr.clone(), t.peer))
            .collect()
    }

    fn dialing(&mut self, addr: &Multiaddr, connection: ConnectionId) {
        if let Some(target) = self.targets.iter_mut().find(|t| t.addr == *addr) {
            target.state = TargetState::Dialing(connection);
        }
    }

    fn connected(&mut self, peer: PeerId, connection: ConnectionId) {
        for target in &mut self.targets {
            if target.state == TargetState::Dialing(connection) {
                target.peer = Some(peer);
                target.state = TargetState::Connected;
                target.backoff = MIN_REDIAL_BACKOFF;
            } else if target.peer == Some(peer) && matches!(target.state, TargetState::Due(_)) {
                // The peer dialed us first.
                target.state = TargetState::Connected;
                target.backoff = MIN_REDIAL_BACKOFF;
            }
        }
    }

    /// The last connection to `peer` closed.
    fn disconnected(&mut self, peer: PeerId, now: Instant) {
        for target in &mut self.targets {
            if target.peer == Some(peer) && target.state == TargetState::Connected {
                target.state = TargetState::Due(now + target.backoff);
            }
        }
    }

    fn dial_failed(&mut self, connection: ConnectionId, outcome: DialOutcome, now: Instant) {
        let Some(target) = self
            .targets
            .iter_mut()
            .find(|t| t.state == TargetState::Dialing(connection))
        else {
            return;
        };
        match outcome {
            DialOutcome::OwnAddress => target.state = TargetState::Abandoned,
            DialOutcome::AlreadyConnected => target.state = TargetState::Connected,
            DialOutcome::WrongPeer | DialOutcome::Failed => {
                if outcome == DialOutcome::WrongPeer {
                    target.peer = None;
                }
                target.state = TargetState::Due(now + target.backoff);
                target.backoff = target.backoff.saturating_mul(2).min(MAX_REDIAL_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()
    }

    fn peer() -> PeerId {
        Keypair::generate_ed25519().public().to_peer_id()
    }

    #[test]
    fn default_config_matches_documented_values() {
        let config = GossipConfig::default();
        assert_eq!(config.listen, "/ip4/127.0.0.1/tcp/27650");
        assert!(config.peers.is_empty());
        assert_eq!(config.max_message_bytes, 4 * 1024 * 1024);
        assert_eq!(config.topic, "ordo/txs/4");
    }

    #[test]
    fn config_parses_with_defaults_and_rejects_unknown_fields() {
        let config: GossipConfig = toml::from_str(
            r#"
            listen = "/ip4/0.0.0.0/tcp/9000"
            peers = ["/ip4/10.0.0.2/tcp/9000"]
            "#,
        )
        .unwrap();
        assert_eq!(config.listen, "/ip4/0.0.0.0/tcp/9000");
        assert_eq!(config.peers, vec!["/ip4/10.0.0.2/tcp/9000".to_owned()]);
        assert_eq!(
            config.max_message_bytes,
            GossipConfig::default().max_message_bytes
        );
        assert_eq!(config.topic, GossipConfig::default().topic);

        let unknown = toml::from_str::<GossipConfig>("listen_addr = \"/ip4/0.0.0.0/tcp/1\"");
        assert!(unknown.is_err());
    }

    #[tokio::test]
    async fn start_rejects_bad_config() {
        let bad_listen = GossipConfig {
            listen: "127.0.0.1:9000".to_owned(),
            ..GossipConfig::default()
        };
        let err = Gossip::start(bad_listen, [1; 32]).unwrap_err();
        assert!(
            matches!(err, GossipError::InvalidAddress { ref addr, .. } if addr == "127.0.0.1:9000")
        );

        let bad_peer = GossipConfig {
            listen: "/ip4/127.0.0.1/tcp/0".to_owned(),
            peers: vec!["/ip4/127.0.0.1/tcp/notaport".to_owned()],
            ..GossipConfig::default()
        };
        assert!(matches!(
            Gossip::start(bad_peer, [1; 32]),
            Err(GossipError::InvalidAddress { .. })
        ));

        let zero_limit = GossipConfig {
            listen: "/ip4/127.0.0.1/tcp/0".to_owned(),
            max_message_bytes: 0,
            ..GossipConfig::default()
        };
        assert!(matches!(
            Gossip::start(zero_limit, [1; 32]),
            Err(GossipError::InvalidConfig(_))
        ));
    }

    #[test]
    fn start_outside_a_runtime_is_an_error() {
        let config = GossipConfig {
            listen: "/ip4/127.0.0.1/tcp/0".to_owned(),
            ..GossipConfig::default()
        };
        assert_eq!(
            Gossip::start(config, [1; 32]).unwrap_err(),
            GossipError::NoRuntime
        );
    }

    #[test]
    fn every_peer_is_due_at_start_once() {
        let now = Instant::now();
        let redial = Redialer::new([addr(1), addr(2), addr(1)], now);
        assert_eq!(redial.next_deadline(), Some(now));
        let due = redial.take_due(now);
        assert_eq!(due, vec![(addr(1), None), (addr(2), None)]);
    }

    #[test]
    fn failed_dials_back_off_exponentially_up_to_the_cap() {
        let now = Instant::now();
        let mut redial = Redialer::new([addr(1)], now);
        let mut waits = Vec::new();
        for i in 0..10 {
            let connection = ConnectionId::new_unchecked(i);
            redial.dialing(&addr(1), connection);
            assert_eq!(redial.next_deadline(), None, "nothing is due while dialing");
            redial.dial_failed(connection, DialOutcome::Failed, now);
            let at = redial.next_deadline().unwrap();
            waits.push(at - now);
            assert!(redial.take_due(now).is_empty());
            assert_eq!(redial.take_due(at).len(), 1);
        }
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(
            ms,
            vec![100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]
        );
    }

    #[test]
    fn a_dropped_connection_is_redialed_quickly_and_with_the_learnt_peer_id() {
        let now = Instant::now();
        let mut redial = Redialer::new([addr(1)], now);
        let p = peer();
        // Two failures grow the backoff, then a success resets it.
        for i in 0..2 {
            let c = ConnectionId::new_unchecked(i);
            redial.dialing(&addr(1), c);
            redial.dial_failed(c, DialOutcome::Failed, now);
        }
        let c = ConnectionId::new_unchecked(7);
        redial.dialing(&addr(1), c);
        redial.connected(p, c);
        assert_eq!(redial.next_deadline(), None);

        // A closed connection to another peer changes nothing.
        redial.disconnected(peer(), now);
        assert_eq!(redial.next_deadline(), None);

        redial.disconnected(p, now);
        assert_eq!(redial.next_deadline(), Some(now + MIN_REDIAL_BACKOFF));
        assert_eq!(
            redial.take_due(now + MIN_REDIAL_BACKOFF),
            vec![(addr(1), Some(p))]
        );
    }

    #[test]
    fn a_peer_that_dials_us_first_is_not_redialed_until_it_leaves() {
        let now = Instant::now();
        let mut redial = Redialer::new([addr(1)], now);
        let p = peer();
        let c = ConnectionId::new_unchecked(1);
        redial.dialing(&addr(1), c);
        redial.connected(p, c);
        redial.disconnected(p, now);

        // The peer reconnects on its own before our redial is due.
        redial.connected(p, ConnectionId::new_unchecked(2));
        assert_eq!(redial.next_deadline(), None);

        // Or our dial finds it already connected.
        redial.disconnected(p, now);
        let c = ConnectionId::new_unchecked(3);
        redial.dialing(&addr(1), c);
        redial.dial_failed(c, DialOutcome::AlreadyConnected, now);
        assert_eq!(redial.next_deadline(), None);
        redial.disconnected(p, now);
        assert!(redial.next_deadline().is_some());
    }

    #[test]
    fn own_address_is_abandoned_and_a_new_identity_is_relearnt() {
        let now = Instant::now();
        let mut redial = Redialer::new([addr(1), addr(2)], now);
        let own = ConnectionId::new_unchecked(1);
        redial.dialing(&addr(1), own);
        redial.dial_failed(own, DialOutcome::OwnAddress, now);

        let c = ConnectionId::new_unchecked(2);
        redial.dialing(&addr(2), c);
        redial.connected(peer(), c);
        redial.disconnected(redial.targets[1].peer.unwrap(), now);
        let c = ConnectionId::new_unchecked(3);
        redial.dialing(&addr(2), c);
        redial.dial_failed(c, DialOutcome::WrongPeer, now);

        let later = now + MAX_REDIAL_BACKOFF;
        assert_eq!(redial.take_due(later), vec![(addr(2), None)]);
    }
}
