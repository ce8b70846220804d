//! Key generation for an epoch, with no dealer: the committee's members deal a joint key
//! among themselves (commonware's Joint-Feldman `feldman_desmedt`), weighted by voting power.
//!
//! Voting power becomes **key slots** ([`key_slots`]); each slot is one participant of the
//! protocol, both dealer and player, with its own signing key. A validator runs all of its
//! slots ([`Member`]). The decryption threshold is the protocol's quorum of slots, the smallest
//! count above two thirds, so it is the consensus quorum when slots equal powers.
//!
//! This module is the protocol without its transport. The node carries [`Dealing`]s (whose
//! private parts must reach only their player), [`Ack`]s and signed logs. All members, and
//! any observer, must then agree on the set of logs (the node will agree on it through
//! blocks), and each computes the same public key from it ([`observe`], [`Member::finish`]).

use crate::scheme::Variant;
use crate::shares::PublicSharing;
use alloy_primitives::keccak256;
use commonware_codec::{Copying, DecodeExt};
use commonware_cryptography::bls12381::dkg::feldman_desmedt as fd;
use commonware_cryptography::bls12381::primitives::group::Share;
use commonware_cryptography::bls12381::primitives::sharing::Mode;
use commonware_cryptography::{ed25519, Signer as _};
use commonware_parallel::Sequential;
use commonware_utils::ordered::Set;
use commonware_utils::{N3f1, TryCollect};
use rand_core_010::CryptoRng;
use std::collections::BTreeMap;

mod message;
pub use message::{Message, SealedDealing};

/// Most key slots in a committee: when the total voting power is larger, powers are
/// apportioned to this many slots.
pub const MAX_SLOTS: u32 = 64;
/// Namespace of the key generation's transcript.
const DKG_NAMESPACE: &[u8] = b"ordo/enc/dkg/v1";

/// A slot's public signing key: how dealings, acknowledgements and logs name their author.
pub type SlotKey = ed25519::PublicKey;
/// A slot's signing key.
pub type SlotSigner = ed25519::PrivateKey;

/// The public key of a slot's signer.
pub fn slot_key(signer: &SlotSigner) -> SlotKey {
    signer.public_key()
}
/// A dealer's signed transcript: its commitment and, per player, an acknowledgement or the
/// revealed share.
pub type SignedLog = fd::SignedDealerLog<Variant, SlotKey>;

/// What can go wrong in a key generation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DkgError {
    /// The round's participants are not a valid set (none, or a key twice).
    #[error("invalid participants: {0}")]
    Participants(String),
    /// Too few usable logs: the round failed, and the epoch has no key.
    #[error("key generation failed: {0}")]
    Failed(String),
    /// A message's bytes do not decode.
    #[error("malformed key-generation message: {0}")]
    Malformed(String),
}

/// Key slots per validator from voting powers: the powers divided by their greatest common
/// divisor when those total at most [`MAX_SLOTS`], so the decryption threshold is exactly the
/// consensus quorum (four validators of equal power hold one slot each); otherwise
/// [`MAX_SLOTS`] apportioned by largest remainder (ties to the earlier validator), so each
/// validator's share of the slots is within one slot of its share of the power.
pub fn key_slots(powers: &[u64]) -> Vec<u32> {
    let divisor = powers.iter().fold(0, |a, &b| gcd(a, b)).max(1);
    let powers: Vec<u64> = powers.iter().map(|p| p / divisor).collect();
    let total: u128 = powers.iter().map(|p| u128::from(*p)).sum();
    if total <= u128::from(MAX_SLOTS) {
        return powers.iter().map(|p| *p as u32).collect();
    }
    let max = u128::from(MAX_SLOTS);
    let mut slots: Vec<u32> = powers
        .iter()
        .map(|p| (u128::from(*p) * max / total) as u32)
        .collect();
    let given: u32 = slots.iter().sum();
    let mut by_remainder: Vec<usize> = (0..powers.len()).collect();
    by_remainder.sort_by_key(|i| std::cmp::Reverse(u128::from(powers[*i]) * max % total));
    for i in by_remainder.into_iter().take((MAX_SLOTS - given) as usize) {
        slots[i] += 1;
    }
    slots
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The share indices each validator holds, in committee order: consecutive runs of
/// [`key_slots`], starting at 0.
pub fn slot_ranges(powers: &[u64]) -> Vec<std::ops::Range<u32>> {
    let mut start = 0;
    key_slots(powers)
        .into_iter()
        .map(|n| {
            let range = start..start + n;
            start += n;
            range
        })
        .collect()
}

/// A validator's slot signing keys for `round`, derived from a 32-byte secret only it holds
/// (its consensus key), so a restarted node signs as the same slots.
pub fn slot_signers(secret: &[u8; 32], round: u64, count: u32) -> Vec<ed25519::PrivateKey> {
    (0..count)
        .filter_map(|slot| {
            let mut seed = Vec::with_capacity(DKG_NAMESPACE.len() + 32 + 12);
            seed.extend_from_slice(DKG_NAMESPACE);
            seed.extend_from_slice(secret);
            seed.extend_from_slice(&round.to_be_bytes());
            seed.extend_from_slice(&slot.to_be_bytes());
            ed25519::PrivateKey::decode(Copying(keccak256(seed).as_slice())).ok()
        })
        .collect()
}

/// The signing key of a slot whose validator announced none for `round`: derived from public
/// values, so anyone can compute it. The chain takes a slot's messages only from its
/// validator, so nobody else can deal or acknowledge as it; the validator itself, back
/// later, can still take its shares (revealed in the logs) as this player.
pub fn absent_signer(round: u64, slot: u32) -> Option<ed25519::PrivateKey> {
    let mut seed = Vec::with_capacity(DKG_NAMESPACE.len() + 7 + 12);
    seed.extend_from_slice(DKG_NAMESPACE);
    seed.extend_from_slice(b"/absent");
    seed.extend_from_slice(&round.to_be_bytes());
    seed.extend_from_slice(&slot.to_be_bytes());
    ed25519::PrivateKey::decode(Copying(keccak256(seed).as_slice())).ok()
}

/// The public key of [`absent_signer`].
pub fn absent_slot(round: u64, slot: u32) -> Option<SlotKey> {
    absent_signer(round, slot).map(|s| s.public_key())
}

/// The randomness a validator deals with in `round`, drawn from its secret: a restarted
/// validator deals the same polynomials again, so acknowledgements of its first dealing
/// still hold.
pub fn dealing_rng(secret: &[u8; 32], round: u64) -> rand_chacha_010::ChaCha20Rng {
    use rand_core_010::SeedableRng as _;
    let mut seed = Vec::with_capacity(DKG_NAMESPACE.len() + 5 + 40);
    seed.extend_from_slice(DKG_NAMESPACE);
    seed.extend_from_slice(b"/deal");
    seed.extend_from_slice(secret);
    seed.extend_from_slice(&round.to_be_bytes());
    rand_chacha_010::ChaCha20Rng::from_seed(keccak256(seed).0)
}

/// One round of key generation: who deals and who receives.
#[derive(Clone)]
pub struct Round {
    info: fd::Info<Variant, SlotKey>,
    slots: Set<SlotKey>,
}

impl Round {
    /// A round numbered `round` (never reused: the epoch) among these slots, every slot both
    /// a dealer and a player.
    pub fn new(round: u64, slots: impl IntoIterator<Item = SlotKey>) -> Result<Self, DkgError> {
        let set: Set<SlotKey> = slots
            .into_iter()
            .try_collect()
            .map_err(|e| DkgError::Participants(format!("{e:?}")))?;
        let info = fd::Info::new::<N3f1>(
            DKG_NAMESPACE,
            round,
            None,
            Mode::NonZeroCounter,
            fd::Reveal::V1,
            set.clone(),
            set.clone(),
        )
        .map_err(|e| DkgError::Participants(e.to_string()))?;
        Ok(Self { info, slots: set })
    }

    /// The share index a slot's player gets (its position among the round's slot keys).
    pub fn index_of(&self, slot: &SlotKey) -> Option<u32> {
        self.slots
            .position(slot)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// The dealer of a signed log, when its signature and contents check for this round.
    pub fn check_log(&self, log: &SignedLog) -> Option<SlotKey> {
        log.clone().check(&self.info).map(|(dealer, _)| dealer)
    }

    /// Whether `slot` takes part.
    pub fn contains(&self, slot: &SlotKey) -> bool {
        self.slots.position(slot).is_some()
    }

    fn logs(&self, signed: &[SignedLog]) -> fd::Logs<Variant, SlotKey, N3f1> {
        let mut logs = fd::Logs::new(self.info.clone());
        for log in signed {
            if let Some((dealer, log)) = log.clone().check(&self.info) {
                logs.record(dealer, log);
            }
        }
        logs
    }
}

/// A dealer's messages: the public commitment for everyone, and one private share per
/// player, which the transport must deliver to that player alone.
#[derive(Clone)]
pub struct Dealing {
    /// The dealing slot.
    pub dealer: SlotKey,
    /// The commitment to its polynomial.
    pub public: fd::DealerPubMsg<Variant>,
    /// Each player's share of it.
    pub private: Vec<(SlotKey, fd::DealerPrivMsg)>,
}

/// A player's acknowledgement that its share of `dealer`'s dealing checks out.
#[derive(Clone, Debug, PartialEq)]
pub struct Ack {
    /// The dealing slot acknowledged.
    pub dealer: SlotKey,
    /// The acknowledging slot.
    pub player: SlotKey,
    /// Its signature over the dealing.
    pub ack: fd::PlayerAck<SlotKey>,
}

/// A validator's part in a round: the dealers and players of its slots.
pub struct Member {
    round: Round,
    dealers: BTreeMap<SlotKey, fd::Dealer<Variant, ed25519::PrivateKey>>,
    players: BTreeMap<SlotKey, fd::Player<Variant, ed25519::PrivateKey>>,
}

impl Member {
    /// Starts the validator's slots (`signers`, from [`slot_signers`]): their dealings to send.
    pub fn start(
        rng: &mut impl CryptoRng,
        round: &Round,
        signers: &[ed25519::PrivateKey],
    ) -> Result<(Self, Vec<Dealing>), DkgError> {
        let mut member = Self {
            round: round.clone(),
            dealers: BTreeMap::new(),
            players: BTreeMap::new(),
        };
        let mut dealings = Vec::with_capacity(signers.len());
        for signer in signers {
            let key = signer.public_key();
            let (dealer, public, private) =
                fd::Dealer::start::<N3f1>(&mut *rng, round.info.clone(), signer.clone(), None)
                    .map_err(|e| DkgError::Participants(e.to_string()))?;
            let player = fd::Player::new(round.info.clone(), signer.clone())
                .map_err(|e| DkgError::Participants(e.to_string()))?;
            member.dealers.insert(key.clone(), dealer);
            member.players.insert(key.clone(), player);
            dealings.push(Dealing {
                dealer: key,
                public,
                private,
            });
        }
        Ok((member, dealings))
    }

    /// Takes `player`'s share of a dealing, if `player` is one of this validator's slots and
    /// the share matches the dealer's commitment: the acknowledgement to send back.
    pub fn receive_dealing(
        &mut self,
        dealer: &SlotKey,
        public: &fd::DealerPubMsg<Variant>,
        player: &SlotKey,
        private: &fd::DealerPrivMsg,
    ) -> Option<Ack> {
        let slot = self.players.get_mut(player)?;
        let ack = slot
            .dealer_message::<N3f1>(dealer.clone(), public.clone(), private.clone())
            .ok()??;
        Some(Ack {
            dealer: dealer.clone(),
            player: player.clone(),
            ack,
        })
    }

    /// Takes the shares a posted dealing holds for this validator's players, opened with its
    /// validator secret: the acknowledgements to post.
    pub fn receive_sealed(
        &mut self,
        round: u64,
        dealing: &SealedDealing,
        secret: &k256::SecretKey,
    ) -> Vec<Ack> {
        let players: Vec<SlotKey> = self.players.keys().cloned().collect();
        players
            .iter()
            .filter_map(|player| {
                let share = dealing.open(round, player, secret)?;
                self.receive_dealing(&dealing.dealer, &dealing.public, player, &share)
            })
            .collect()
    }

    /// Records an acknowledgement of one of this validator's dealings (a bad or unexpected
    /// one is ignored: that player's share is then revealed in the log).
    pub fn receive_ack(&mut self, ack: &Ack) {
        if let Some(dealer) = self.dealers.get_mut(&ack.dealer) {
            let _ = dealer.receive_player_ack(ack.player.clone(), ack.ack.clone());
        }
    }

    /// Ends dealing (no more acknowledgements): the signed logs of this validator's dealers.
    pub fn logs(&mut self) -> Vec<SignedLog> {
        std::mem::take(&mut self.dealers)
            .into_values()
            .map(|d| d.finalize::<N3f1>())
            .collect()
    }

    /// From the agreed logs: the epoch's public sharing and this validator's shares, one per
    /// slot.
    pub fn finish(
        self,
        rng: &mut impl CryptoRng,
        logs: &[SignedLog],
    ) -> Result<(PublicSharing, Vec<Share>), DkgError> {
        let mut public = None;
        let mut shares = Vec::with_capacity(self.players.len());
        for player in self.players.into_values() {
            let (output, share) = player
                .finalize::<N3f1>(&mut *rng, self.round.logs(logs), &Sequential)
                .map_err(|e| DkgError::Failed(format!("{e:?}")))?;
            public = Some(output.public().clone());
            shares.push(share);
        }
        let public = public.ok_or_else(|| DkgError::Participants("no slots".into()))?;
        Ok((public, shares))
    }
}

/// The epoch's public sharing from the agreed logs, as any node computes it, with no share.
pub fn observe(
    rng: &mut impl CryptoRng,
    round: &Round,
    logs: &[SignedLog],
) -> Result<PublicSharing, DkgError> {
    fd::observe::<Variant, SlotKey, N3f1>(rng, round.logs(logs), &Sequential)
        .map(|output| output.public().clone())
        .map_err(|e| DkgError::Failed(e.to_string()))
}
