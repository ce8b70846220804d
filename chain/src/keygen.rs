//! The committee generates the encrypted lane's key on the chain itself, with no dealer.
//!
//! Every message of a round ([`ordo_enc::dkg::Message`]) is the payload of a validator's
//! EIP-712 transaction in [`KEYGEN_NAMESPACE`]. Blocks order them; what every node counts is
//! a function of the decided blocks alone, so all agree on the outcome.
//!
//! A round runs over four windows of [`KeygenParams::window`] blocks each, from its first
//! height `s`:
//! 1. **announce** `[s, s+W)`: each validator posts its slots' signing keys. A slot whose
//!    validator announced none (or keys another validator announced first) takes the public
//!    [`ordo_enc::dkg::absent_signer`] key.
//! 2. **deal** `[s+W, s+2W)`: each slot posts its dealing, with each player's share sealed to
//!    that player's validator.
//! 3. **acknowledge** `[s+W, s+3W)`: players post acknowledgements (the chain keeps none;
//!    dealers read them from the blocks).
//! 4. **log** `[s+3W, s+4W)`: each dealer posts its signed log; the first valid log of each
//!    dealer counts.
//!
//! At the round's last height the counted logs give the key (or the round fails, and the next
//! round starts at the following height). The lane opens at the height after.
//!
//! A message is counted only from a member of the committee, for the current round, in its
//! window, for its own slots; anything else well formed is included and ignored, so a late
//! message never blocks its sender's nonces.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ordo_enc::dkg::{self, absent_slot, slot_ranges, Message, Round, SignedLog, SlotKey};
use ordo_enc::{EncryptionKey, PublicSharing};
use ordo_types::{Address, Block, Entry, PublicKey, ValidatorSet};
use serde::{Deserialize, Serialize};

use crate::nonces::Senders;

/// The namespace of the chain's own key-generation transactions (the last namespace id).
pub const KEYGEN_NAMESPACE: u64 = u64::MAX;

/// How the committee generates its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeygenParams {
    /// Blocks in each of a round's four windows.
    pub window: u64,
}

/// The window a height falls in, within its round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Slot keys are announced.
    Announce,
    /// Dealings (and acknowledgements) are posted.
    Deal,
    /// Acknowledgements are posted.
    Acknowledge,
    /// Signed logs are posted.
    Log,
}

/// The key the encrypted lane uses: the outcome of a successful round.
#[derive(Clone)]
pub struct EpochKey {
    /// Its id (the round that generated it), in every envelope sealed to it.
    pub key_id: u64,
    /// The public sharing: the key and each share's public key.
    pub sharing: PublicSharing,
    /// The share indices each committee member holds (its slots' places in the round).
    pub holders: BTreeMap<Address, Vec<u32>>,
    /// The first height whose encrypted transactions it opens.
    pub from_height: u64,
}

impl EpochKey {
    /// The key clients seal to.
    pub fn encryption_key(&self) -> EncryptionKey {
        EncryptionKey {
            key_id: self.key_id,
            public: *self.sharing.public(),
        }
    }
}

impl std::fmt::Debug for EpochKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochKey")
            .field("key_id", &self.key_id)
            .field("from_height", &self.from_height)
            .finish_non_exhaustive()
    }
}

/// What a block did to the key generation.
#[derive(Clone, Debug)]
pub enum KeygenEvent {
    /// The round ended with a key.
    Generated(Arc<EpochKey>),
    /// The round ended without one; the next round starts at the next height.
    Failed {
        /// The round that failed.
        round: u64,
        /// Why.
        why: String,
    },
}

/// A round's participants, fixed when its announce window closes.
#[derive(Clone)]
pub struct Participants {
    round: Round,
    /// Each member's slot keys, in slot order.
    slots: BTreeMap<Address, Vec<SlotKey>>,
    /// Each slot key's member.
    owners: BTreeMap<SlotKey, Address>,
    /// Each member's validator key (to seal its shares to).
    keys: BTreeMap<Address, PublicKey>,
}

impl Participants {
    /// The protocol round.
    pub fn round(&self) -> &Round {
        &self.round
    }

    /// `member`'s slot keys.
    pub fn slots_of(&self, member: &Address) -> &[SlotKey] {
        self.slots.get(member).map_or(&[], Vec::as_slice)
    }

    /// The validator key of the member holding `slot`.
    pub fn key_of(&self, slot: &SlotKey) -> Option<&PublicKey> {
        self.keys.get(self.owners.get(slot)?)
    }
}

/// The chain's key generation: the round under way and what its blocks posted, or the key.
#[derive(Clone)]
pub struct Keygen {
    params: KeygenParams,
    committee: ValidatorSet,
    round: u64,
    /// The round's first height.
    start: u64,
    announced: BTreeMap<Address, Vec<SlotKey>>,
    participants: Option<Participants>,
    dealt: BTreeSet<SlotKey>,
    logs: BTreeMap<SlotKey, SignedLog>,
    key: Option<Arc<EpochKey>>,
}

impl std::fmt::Debug for Keygen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keygen")
            .field("round", &self.round)
            .field("start", &self.start)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Keygen {
    /// Round 0 of `committee`, from height 1.
    pub fn new(params: KeygenParams, committee: ValidatorSet) -> Self {
        Self {
            params: KeygenParams {
                window: params.window.max(1),
            },
            committee,
            round: 0,
            start: 1,
            announced: BTreeMap::new(),
            participants: None,
            dealt: BTreeSet::new(),
            logs: BTreeMap::new(),
            key: None,
        }
    }

    /// The round under way (or the one that generated the key).
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The committee that runs it.
    pub fn committee(&self) -> &ValidatorSet {
        &self.committee
    }

    /// The key, once a round has generated it.
    pub fn key(&self) -> Option<&Arc<EpochKey>> {
        self.key.as_ref()
    }

    /// The round's participants, once its announce window has closed.
    pub fn participants(&self) -> Option<&Participants> {
        self.participants.as_ref()
    }

    /// The window `height` falls in, while the round is under way.
    pub fn phase(&self, height: u64) -> Option<Phase> {
        if self.key.is_some() || height < self.start {
            return None;
        }
        match (height - self.start) / self.params.window {
            0 => Some(Phase::Announce),
            1 => Some(Phase::Deal),
            2 => Some(Phase::Acknowledge),
            3 => Some(Phase::Log),
            _ => None,
        }
    }

    /// The round's last height.
    pub fn end(&self) -> u64 {
        self.start + 4 * self.params.window - 1
    }

    /// Whether `member` has an announcement counted this round.
    pub fn has_announced(&self, member: &Address) -> bool {
        self.announced.contains_key(member)
    }

    /// Whether `dealer`'s dealing is counted this round.
    pub fn has_dealt(&self, dealer: &SlotKey) -> bool {
        self.dealt.contains(dealer)
    }

    /// Whether `dealer`'s log is counted this round.
    pub fn has_logged(&self, dealer: &SlotKey) -> bool {
        self.logs.contains_key(dealer)
    }

    /// The logs counted this round.
    pub fn logs(&self) -> Vec<SignedLog> {
        self.logs.values().cloned().collect()
    }

    /// Counts the messages of the block at `height` (from its key-generation transactions,
    /// by sender) and, at the round's last height, ends it.
    pub fn apply(&mut self, height: u64, messages: &[(Address, Message)]) -> Option<KeygenEvent> {
        let phase = self.phase(height)?;
        for (sender, message) in messages {
            if message.round() != self.round || self.committee.get(sender).is_none() {
                continue;
            }
            self.count(phase, sender, message);
        }
        if phase == Phase::Announce && height == self.start + self.params.window - 1 {
            self.participants = self.fix_participants();
        }
        (height == self.end()).then(|| self.finish(height))
    }

    fn count(&mut self, phase: Phase, sender: &Address, message: &Message) {
        match (phase, message) {
            (Phase::Announce, Message::Announce { slots, .. }) => {
                let expected = self.slot_count(sender);
                let taken = |k: &SlotKey| self.announced.values().flatten().any(|a| a == k);
                let distinct: BTreeSet<&SlotKey> = slots.iter().collect();
                if !self.announced.contains_key(sender)
                    && slots.len() == expected
                    && distinct.len() == expected
                    && !slots.iter().any(taken)
                {
                    self.announced.insert(*sender, slots.clone());
                }
            }
            (Phase::Deal, Message::Deal { dealing, .. }) if self.owns(sender, &dealing.dealer) => {
                self.dealt.insert(dealing.dealer.clone());
            }
            (Phase::Log, Message::Log { log, .. }) => {
                let Some(p) = &self.participants else { return };
                if let Some(dealer) = p.round.check_log(log) {
                    if p.owners.get(&dealer) == Some(sender) && !self.logs.contains_key(&dealer) {
                        self.logs.insert(dealer, log.clone());
                    }
                }
            }
            _ => {}
        }
    }

    fn owns(&self, sender: &Address, slot: &SlotKey) -> bool {
        self.participants
            .as_ref()
            .is_some_and(|p| p.owners.get(slot) == Some(sender))
    }

    /// The committee's slot indices, per member in committee order ([`slot_ranges`]).
    fn slot_ranges(&self) -> Vec<std::ops::Range<u32>> {
        let powers: Vec<u64> = self
            .committee
            .validators()
            .iter()
            .map(|v| v.voting_power)
            .collect();
        slot_ranges(&powers)
    }

    /// The slot indices `member` holds (none for a non-member); announced or absent, its
    /// slots' keys take these places in committee order.
    pub fn slot_range(&self, member: &Address) -> std::ops::Range<u32> {
        self.committee
            .validators()
            .iter()
            .position(|v| v.address == *member)
            .and_then(|i| self.slot_ranges().into_iter().nth(i))
            .unwrap_or(0..0)
    }

    fn slot_count(&self, member: &Address) -> usize {
        self.slot_range(member).len()
    }

    /// Every committee slot: the announced keys, or the absent ones.
    fn fix_participants(&self) -> Option<Participants> {
        let mut slots = BTreeMap::new();
        let mut owners = BTreeMap::new();
        let mut keys = BTreeMap::new();
        for (v, range) in self.committee.validators().iter().zip(self.slot_ranges()) {
            let mine: Vec<SlotKey> = match self.announced.get(&v.address) {
                Some(announced) => announced.clone(),
                None => range
                    .map(|i| absent_slot(self.round, i))
                    .collect::<Option<_>>()?,
            };
            for k in &mine {
                owners.insert(k.clone(), v.address);
            }
            slots.insert(v.address, mine);
            keys.insert(v.address, v.public_key);
        }
        let round = Round::new(self.round, owners.keys().cloned()).ok()?;
        Some(Participants {
            round,
            slots,
            owners,
            keys,
        })
    }

    fn finish(&mut self, height: u64) -> KeygenEvent {
        let outcome = match &self.participants {
            None => Err("its participants are not a valid set".to_owned()),
            Some(p) => {
                // The randomness only drives batch verification (unpredictable, so no forged
                // log passes it); the outcome does not depend on it.
                dkg::observe(&mut rand_010::rng(), &p.round, &self.logs())
                    .map_err(|e| e.to_string())
                    .map(|sharing| EpochKey {
                        key_id: self.round,
                        sharing,
                        holders: p
                            .slots
                            .iter()
                            .map(|(a, keys)| {
                                let mut held: Vec<u32> =
                                    keys.iter().filter_map(|k| p.round.index_of(k)).collect();
                                held.sort_unstable();
                                (*a, held)
                            })
                            .collect(),
                        from_height: height + 1,
                    })
            }
        };
        match outcome {
            Ok(key) => {
                let key = Arc::new(key);
                self.key = Some(Arc::clone(&key));
                KeygenEvent::Generated(key)
            }
            Err(why) => {
                let round = self.round;
                *self = Self {
                    round: round + 1,
                    start: height + 1,
                    ..Self::new(self.params, self.committee.clone())
                };
                KeygenEvent::Failed { round, why }
            }
        }
    }
}

/// The key-generation messages of `block`, with their senders (in block order). A
/// transaction whose payload does not decode is not in a valid block; one whose sender does
/// not recover is skipped.
pub fn messages(block: &Block, senders: &dyn Senders) -> Vec<(Address, Message)> {
    block
        .body
        .namespaces
        .iter()
        .filter(|g| g.namespace == KEYGEN_NAMESPACE)
        .flat_map(|g| &g.entries)
        .filter_map(|e| match e {
            Entry::Signed(tx) => Some((senders.sender(tx)?, Message::decode(tx.payload()).ok()?)),
            Entry::Forced(_) => None,
        })
        .collect()
}
