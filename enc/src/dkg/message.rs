//! A key generation's messages as the chain carries them: each is the payload of a validator's
//! transaction in the key-generation namespace, so blocks order, store and sync them.
//!
//! Every message names its round. A dealing's private shares are sealed each to its player's
//! validator key ([`crate::seal_to_key`]), bound to the round, the dealer and the player, so a
//! public block reveals none of them.
//!
//! Encoding: `tag (u8) || round (u64 BE) || body`, where the body is
//! - announce (1): `count (u8) || count × slot key (32)`;
//! - deal (2): `dealer (32) || commitment || count (u8) || count × (player (32) || len (u16 BE)
//!   || sealed share)`;
//! - ack (3): `count (u8) || count × (dealer (32) || player (32) || signature (64))`;
//! - log (4): the dealer's signed log.
//!
//! Commitments, signatures and logs are in commonware's encoding. Nothing may follow the body.

use super::{Ack, Dealing, DkgError, SignedLog, SlotKey, MAX_SLOTS};
use crate::scheme::Variant;
use crate::to_key::{open_with_key, seal_to_key};
use commonware_codec::{Copying, Encode, Read, ReadExt};
use commonware_cryptography::bls12381::dkg::feldman_desmedt as fd;
use rand_core_010::CryptoRng;
use std::num::NonZeroU32;

const ANNOUNCE: u8 = 1;
const DEAL: u8 = 2;
const ACK: u8 = 3;
const LOG: u8 = 4;
/// Domain of the context a private share is sealed under.
const SHARE_CONTEXT: &[u8] = b"ordo/enc/dkg/share/v1";

/// A dealing as posted: its commitment, and each player's share sealed to that player's
/// validator.
#[derive(Clone, Debug, PartialEq)]
pub struct SealedDealing {
    /// The dealing slot.
    pub dealer: SlotKey,
    /// The commitment to its polynomial.
    pub public: fd::DealerPubMsg<Variant>,
    /// Per player: its share, sealed to its validator's key.
    pub private: Vec<(SlotKey, Vec<u8>)>,
}

/// One message of a key generation.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A validator's slot signing keys for the round, in slot order.
    Announce {
        /// The round.
        round: u64,
        /// Its slots' keys.
        slots: Vec<SlotKey>,
    },
    /// One slot's dealing.
    Deal {
        /// The round.
        round: u64,
        /// The dealing.
        dealing: SealedDealing,
    },
    /// A validator's players' acknowledgements of dealings.
    Ack {
        /// The round.
        round: u64,
        /// The acknowledgements.
        acks: Vec<Ack>,
    },
    /// One dealer's signed log.
    Log {
        /// The round.
        round: u64,
        /// The log.
        log: SignedLog,
    },
}

fn context(round: u64, dealer: &SlotKey, player: &SlotKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(SHARE_CONTEXT.len() + 8 + 64);
    out.extend_from_slice(SHARE_CONTEXT);
    out.extend_from_slice(&round.to_be_bytes());
    out.extend_from_slice(dealer.as_ref());
    out.extend_from_slice(player.as_ref());
    out
}

impl Dealing {
    /// Seals each player's share to its validator's secp256k1 key (SEC1 bytes), which
    /// `recipient` gives; a player without one gets nothing (its share is revealed in the
    /// log instead).
    pub fn seal(
        &self,
        rng: &mut impl CryptoRng,
        round: u64,
        recipient: impl Fn(&SlotKey) -> Option<[u8; 33]>,
    ) -> SealedDealing {
        let private = self
            .private
            .iter()
            .filter_map(|(player, share)| {
                let key = recipient(player)?;
                let sealed = seal_to_key(
                    &mut *rng,
                    &key,
                    &context(round, &self.dealer, player),
                    &share.encode(),
                )
                .ok()?;
                Some((player.clone(), sealed))
            })
            .collect();
        SealedDealing {
            dealer: self.dealer.clone(),
            public: self.public.clone(),
            private,
        }
    }
}

impl SealedDealing {
    /// The share sealed to `player`, opened with its validator's secret key; `None` when
    /// there is none or it does not open.
    pub fn open(
        &self,
        round: u64,
        player: &SlotKey,
        secret: &k256::SecretKey,
    ) -> Option<fd::DealerPrivMsg> {
        let (_, sealed) = self.private.iter().find(|(p, _)| p == player)?;
        let bytes = open_with_key(secret, &context(round, &self.dealer, player), sealed).ok()?;
        let mut buf = Copying(bytes.as_slice());
        let share = fd::DealerPrivMsg::read(&mut buf).ok()?;
        buf.0.is_empty().then_some(share)
    }
}

impl Message {
    /// The round the message belongs to.
    pub fn round(&self) -> u64 {
        match self {
            Self::Announce { round, .. }
            | Self::Deal { round, .. }
            | Self::Ack { round, .. }
            | Self::Log { round, .. } => *round,
        }
    }

    /// The message's bytes (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let (tag, round) = match self {
            Self::Announce { round, .. } => (ANNOUNCE, round),
            Self::Deal { round, .. } => (DEAL, round),
            Self::Ack { round, .. } => (ACK, round),
            Self::Log { round, .. } => (LOG, round),
        };
        out.push(tag);
        out.extend_from_slice(&round.to_be_bytes());
        match self {
            Self::Announce { slots, .. } => {
                out.push(slots.len() as u8);
                for key in slots {
                    out.extend_from_slice(key.as_ref());
                }
            }
            Self::Deal { dealing, .. } => {
                out.extend_from_slice(dealing.dealer.as_ref());
                out.extend_from_slice(&dealing.public.encode());
                out.push(dealing.private.len() as u8);
                for (player, sealed) in &dealing.private {
                    out.extend_from_slice(player.as_ref());
                    out.extend_from_slice(&(sealed.len() as u16).to_be_bytes());
                    out.extend_from_slice(sealed);
                }
            }
            Self::Ack { acks, .. } => {
                out.push(acks.len() as u8);
                for ack in acks {
                    out.extend_from_slice(ack.dealer.as_ref());
                    out.extend_from_slice(ack.player.as_ref());
                    out.extend_from_slice(&ack.ack.encode());
                }
            }
            Self::Log { log, .. } => out.extend_from_slice(&log.encode()),
        }
        out
    }

    /// Decodes a message; refuses a count above [`MAX_SLOTS`], a malformed part and trailing
    /// bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DkgError> {
        let bad = |what: &str| DkgError::Malformed(what.to_owned());
        let mut buf = Copying(bytes);
        let tag = u8::read(&mut buf).map_err(|_| bad("tag"))?;
        let round = u64::read(&mut buf).map_err(|_| bad("round"))?;
        let max = NonZeroU32::new(MAX_SLOTS).ok_or_else(|| bad("slots"))?;
        let count = |buf: &mut Copying<'_>| -> Result<usize, DkgError> {
            let n = u8::read(buf).map_err(|_| bad("count"))?;
            if u32::from(n) > MAX_SLOTS {
                return Err(bad("count"));
            }
            Ok(usize::from(n))
        };
        let key = |buf: &mut Copying<'_>| SlotKey::read(buf).map_err(|_| bad("slot key"));
        let message = match tag {
            ANNOUNCE => {
                let n = count(&mut buf)?;
                let slots = (0..n).map(|_| key(&mut buf)).collect::<Result<_, _>>()?;
                Self::Announce { round, slots }
            }
            DEAL => {
                let dealer = key(&mut buf)?;
                let public = fd::DealerPubMsg::<Variant>::read_cfg(&mut buf, &max)
                    .map_err(|_| bad("commitment"))?;
                let n = count(&mut buf)?;
                let mut private = Vec::with_capacity(n);
                for _ in 0..n {
                    let player = key(&mut buf)?;
                    let len = usize::from(u16::read(&mut buf).map_err(|_| bad("length"))?);
                    let sealed = buf.0.get(..len).ok_or_else(|| bad("sealed share"))?;
                    private.push((player, sealed.to_vec()));
                    buf.0 = &buf.0[len..];
                }
                Self::Deal {
                    round,
                    dealing: SealedDealing {
                        dealer,
                        public,
                        private,
                    },
                }
            }
            ACK => {
                let n = count(&mut buf)?;
                let mut acks = Vec::with_capacity(n);
                for _ in 0..n {
                    let dealer = key(&mut buf)?;
                    let player = key(&mut buf)?;
                    let ack = fd::PlayerAck::read(&mut buf).map_err(|_| bad("ack"))?;
                    acks.push(Ack {
                        dealer,
                        player,
                        ack,
                    });
                }
                Self::Ack { round, acks }
            }
            LOG => {
                let log = SignedLog::read_cfg(&mut buf, &max).map_err(|_| bad("log"))?;
                Self::Log { round, log }
            }
            _ => return Err(bad("tag")),
        };
        if !buf.0.is_empty() {
            return Err(bad("trailing bytes"));
        }
        Ok(message)
    }
}
