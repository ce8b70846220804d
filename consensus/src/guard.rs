//! The consensus network's peer guard: a peer proven to misbehave there is banned.
//!
//! Malachite's network relays consensus gossip before the application sees it, drops what it
//! cannot decode inside its own actor, and gives the application no command to score or drop a
//! peer. The guard sits between the engine and Malachite's network actor (Malachite's
//! `with_custom_network`): it passes every command and event through, and
//!
//! - **bans** a peer for [`BAN`] once it is proven to misbehave, where the proof names the
//!   peer itself and never an honest relay:
//!   - it presented a forged validator proof (the engine found the signature invalid; proofs
//!     travel on a direct connection, never relayed);
//!   - it published a proposal stream the application refused: from outside the committee,
//!     undecodable, with a bad proposer signature, malformed, or larger than a block
//!     ([`Bans::offence`]). Gossipsub signs every message with its publisher's key, so the
//!     publisher is known even when an honest node relayed the stream. An honest node never
//!     does either.
//! - while banned, a peer's connections are closed as soon as they open, and nothing it
//!   delivers or publishes reaches consensus or sync.
//!
//! The guard closes a connection the only way Malachite's network offers: by answering the
//! peer's validator proof as invalid (Malachite then logs `Invalid validator proof,
//! disconnecting peer`).
//!
//! What it cannot attribute stays as before: a vote reaches the engine without its publisher
//! (an honest node may have relayed it), and undecodable messages never leave Malachite's
//! network actor. Both cost a decode or a committee lookup, and a bad signature one check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use malachitebft_app_channel::app::engine::network::{
    NetworkEvent, NetworkMsg, NetworkRef, Subscriber,
};
use malachitebft_app_channel::app::types::PeerId;
use malachitebft_network::validator_proof::ProofVerificationResult;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::warn;

use crate::context::OrdoContext;

/// How long a banned peer stays cut off.
pub(crate) const BAN: Duration = Duration::from_secs(600);
/// Most bans remembered at once: beyond it the record starts over, so a flood of identities
/// cannot grow it without bound.
const MAX_BANNED: usize = 4096;

/// The banned peers of one node, shared by the guard, its event filter and the application.
#[derive(Clone, Debug)]
pub(crate) struct Bans {
    until: Arc<Mutex<HashMap<PeerId, Instant>>>,
    network: NetworkRef<OrdoContext>,
}

impl Bans {
    fn new(network: NetworkRef<OrdoContext>) -> Self {
        Self {
            until: Arc::default(),
            network,
        }
    }

    /// Bans `peer` for what it did (`reason`), and closes its connection.
    pub(crate) fn offence(&self, peer: PeerId, reason: &str) {
        let now = Instant::now();
        let fresh = {
            let mut until = self.until.lock().unwrap_or_else(PoisonError::into_inner);
            until.retain(|_, end| *end > now);
            if until.len() >= MAX_BANNED {
                until.clear();
            }
            until.insert(peer, now + BAN).is_none()
        };
        if fresh {
            warn!(target: "ordo::consensus", %peer, reason, ban = ?BAN, "consensus peer banned");
        }
        self.disconnect(peer);
    }

    fn is_banned(&self, peer: &PeerId) -> bool {
        let until = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        until.get(peer).is_some_and(|end| *end > Instant::now())
    }

    fn disconnect(&self, peer_id: PeerId) {
        let _ = self.network.cast(NetworkMsg::ValidatorProofVerified {
            peer_id,
            result: ProofVerificationResult::Invalid,
            public_key: None,
        });
    }

    /// Whether `event` may reach consensus and sync. A banned peer's new connection is closed.
    fn admit(&self, event: &NetworkEvent<OrdoContext>) -> bool {
        use NetworkEvent as E;
        let peer = match event {
            // Bookkeeping that frees state held for the peer: always passed on.
            E::Listening(_)
            | E::PeerDisconnected(_)
            | E::SyncRequestFailed(..)
            | E::SyncInboundRequestFailed(..) => return true,
            E::PeerConnected(peer) => {
                if self.is_banned(peer) {
                    self.disconnect(*peer);
                    return false;
                }
                return true;
            }
            E::ProposalPart(from, published_by, _) => {
                return !self.is_banned(from) && !published_by.is_some_and(|p| self.is_banned(&p));
            }
            E::PeerSubscribed(peer, _)
            | E::Vote(peer, _)
            | E::Proposal(peer, _)
            | E::PolkaCertificate(peer, _)
            | E::RoundCertificate(peer, _)
            | E::ValidatorProofReceived { peer_id: peer, .. }
            | E::Status(peer, _)
            | E::SyncRequest(_, peer, _)
            | E::SyncResponse(_, peer, _) => peer,
        };
        !self.is_banned(peer)
    }
}

/// Spawns the guard in front of `network` (Malachite's network actor, already running): the
/// engine talks to the returned reference. The application reports offences to the [`Bans`].
pub(crate) async fn spawn(
    network: NetworkRef<OrdoContext>,
) -> eyre::Result<(NetworkRef<OrdoContext>, Bans)> {
    let bans = Bans::new(network.clone());
    let (filter, _) = Actor::spawn(None, Filter, (bans.clone(), network.clone())).await?;
    let (guard, _) = Actor::spawn(
        None,
        Guard,
        GuardState {
            network: network.clone(),
            filter: filter.clone(),
            bans: bans.clone(),
        },
    )
    .await?;
    // The guard stops when either actor stops, and stops both when it stops.
    network.link(guard.get_cell());
    filter.link(guard.get_cell());
    Ok((guard, bans))
}

/// The engine's side: commands to the network, and the engine's verdicts on validator proofs.
struct Guard;

struct GuardState {
    network: NetworkRef<OrdoContext>,
    filter: ActorRef<FilterMsg>,
    bans: Bans,
}

#[ractor::async_trait]
impl Actor for Guard {
    type Msg = NetworkMsg<OrdoContext>;
    type State = GuardState;
    type Arguments = GuardState;

    async fn pre_start(
        &self,
        _: ActorRef<Self::Msg>,
        state: GuardState,
    ) -> Result<GuardState, ActorProcessingErr> {
        Ok(state)
    }

    async fn handle(
        &self,
        _: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut GuardState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            NetworkMsg::Subscribe(subscriber) => {
                state.filter.cast(FilterMsg::Subscribe(subscriber))?;
            }
            NetworkMsg::ValidatorProofVerified {
                peer_id,
                result: ProofVerificationResult::Invalid,
                ..
            } => state.bans.offence(peer_id, "forged validator proof"),
            other => state.network.cast(other)?,
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _: ActorRef<Self::Msg>,
        state: &mut GuardState,
    ) -> Result<(), ActorProcessingErr> {
        state.filter.stop(None);
        state.network.stop(None);
        Ok(())
    }
}

/// The network's side: its events, passed to the engine's subscribers unless a banned peer
/// sent them.
struct Filter;

enum FilterMsg {
    Event(Box<NetworkEvent<OrdoContext>>),
    Subscribe(Box<dyn Subscriber<NetworkEvent<OrdoContext>>>),
}

impl From<NetworkEvent<OrdoContext>> for FilterMsg {
    fn from(event: NetworkEvent<OrdoContext>) -> Self {
        Self::Event(Box::new(event))
    }
}

struct FilterState {
    bans: Bans,
    subscribers: Vec<Box<dyn Subscriber<NetworkEvent<OrdoContext>>>>,
    /// What a new subscriber is told first, as Malachite's network does: where it listens and
    /// who is connected.
    listening: Vec<NetworkEvent<OrdoContext>>,
    connected: Vec<PeerId>,
}

#[ractor::async_trait]
impl Actor for Filter {
    type Msg = FilterMsg;
    type State = FilterState;
    type Arguments = (Bans, NetworkRef<OrdoContext>);

    async fn pre_start(
        &self,
        myself: ActorRef<FilterMsg>,
        (bans, network): Self::Arguments,
    ) -> Result<FilterState, ActorProcessingErr> {
        network.cast(NetworkMsg::Subscribe(Box::new(myself)))?;
        Ok(FilterState {
            bans,
            subscribers: Vec::new(),
            listening: Vec::new(),
            connected: Vec::new(),
        })
    }

    async fn handle(
        &self,
        _: ActorRef<FilterMsg>,
        msg: FilterMsg,
        state: &mut FilterState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            FilterMsg::Subscribe(subscriber) => {
                for event in &state.listening {
                    subscriber.send(event.clone());
                }
                for peer in &state.connected {
                    subscriber.send(NetworkEvent::PeerConnected(*peer));
                }
                state.subscribers.push(subscriber);
            }
            FilterMsg::Event(event) => {
                let event = *event;
                if !state.bans.admit(&event) {
                    return Ok(());
                }
                match &event {
                    NetworkEvent::Listening(_) => state.listening.push(event.clone()),
                    NetworkEvent::PeerConnected(peer) => state.connected.push(*peer),
                    NetworkEvent::PeerDisconnected(peer) => state.connected.retain(|p| p != peer),
                    _ => {}
                }
                for subscriber in &state.subscribers {
                    subscriber.send(event.clone());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::Bytes;
    use malachitebft_app_channel::app::engine::network::Status;
    use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
    use tokio::sync::mpsc;

    use super::*;
    use crate::context::Height;

    /// Stands in for Malachite's network actor: reports every peer it is told to disconnect.
    struct Recorder;

    #[ractor::async_trait]
    impl Actor for Recorder {
        type Msg = NetworkMsg<OrdoContext>;
        type State = mpsc::UnboundedSender<PeerId>;
        type Arguments = mpsc::UnboundedSender<PeerId>;

        async fn pre_start(
            &self,
            _: ActorRef<Self::Msg>,
            tx: Self::Arguments,
        ) -> Result<Self::State, ActorProcessingErr> {
            Ok(tx)
        }

        async fn handle(
            &self,
            _: ActorRef<Self::Msg>,
            msg: Self::Msg,
            tx: &mut Self::State,
        ) -> Result<(), ActorProcessingErr> {
            if let NetworkMsg::ValidatorProofVerified {
                peer_id,
                result: ProofVerificationResult::Invalid,
                ..
            } = msg
            {
                tx.send(peer_id)?;
            }
            Ok(())
        }
    }

    fn peer() -> PeerId {
        let id = malachitebft_app_channel::app::types::Keypair::generate_ed25519()
            .public()
            .to_peer_id();
        PeerId::from_bytes(&id.to_bytes()).unwrap()
    }

    fn status(peer: PeerId) -> NetworkEvent<OrdoContext> {
        NetworkEvent::Status(peer, Status::new(Height(1), Height(1)))
    }

    fn part(from: PeerId, publisher: PeerId) -> NetworkEvent<OrdoContext> {
        let stream = StreamId::new(Bytes::from_static(b"s"));
        NetworkEvent::ProposalPart(
            from,
            Some(publisher),
            StreamMessage::new(stream, 0, StreamContent::Fin),
        )
    }

    #[tokio::test]
    async fn a_banned_peer_is_disconnected_and_nothing_it_sends_or_publishes_gets_through() {
        let (tx, mut disconnected) = mpsc::unbounded_channel();
        let (network, _) = Actor::spawn(None, Recorder, tx).await.unwrap();
        let bans = Bans::new(network.clone());
        let (hostile, honest) = (peer(), peer());

        for event in [status(hostile), part(honest, hostile), status(honest)] {
            assert!(bans.admit(&event), "nothing is banned yet");
        }

        bans.offence(hostile, "proposal from a non-validator");
        assert_eq!(
            disconnected.recv().await,
            Some(hostile),
            "banned: disconnected"
        );
        assert!(!bans.admit(&status(hostile)));
        // What it published stops even when an honest node relays it.
        assert!(!bans.admit(&part(honest, hostile)));
        assert!(bans.admit(&part(honest, honest)));
        assert!(bans.admit(&status(honest)));
        // A connection it opens again is closed at once and never reported to consensus.
        assert!(!bans.admit(&NetworkEvent::PeerConnected(hostile)));
        assert_eq!(disconnected.recv().await, Some(hostile));
        assert!(bans.admit(&NetworkEvent::PeerConnected(honest)));
        // Disconnections free what consensus and sync hold for the peer: they pass.
        assert!(bans.admit(&NetworkEvent::PeerDisconnected(hostile)));
        assert!(
            disconnected.try_recv().is_err(),
            "honest peers stay connected"
        );
        network.stop(None);
    }
}
