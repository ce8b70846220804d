//! This validator's part in the chain's key generation ([`ordo_chain::keygen`]): what it posts
//! (as transactions to its own mempool, which gossips them) and, when a round generates the
//! key, its shares of it.
//!
//! Everything here follows from the validator's secret and the decided blocks: its slot keys
//! and its dealings are drawn from the secret, and what it received is in the blocks. So a
//! restarted validator replays the blocks of the round and is where it was.

use ordo_chain::keygen::{Keygen, KeygenEvent, Participants, Phase};
use ordo_enc::dkg::{self, dealing_rng, slot_signers, Member, Message, SlotKey};
use ordo_enc::Share;
use ordo_types::{Address, SecretKey};
use rand_chacha_010::ChaCha20Rng;
use tracing::{info, warn};

/// A committee member's state in the round under way.
pub(crate) struct KeygenMember {
    secret: SecretKey,
    address: Address,
    /// The round `member` belongs to.
    round: u64,
    member: Option<Member>,
    /// Draws this round's dealings (from the secret, so a restart deals the same), then seals
    /// their shares.
    rng: ChaCha20Rng,
    /// Dealings of this round, to post in its deal window.
    dealings: Vec<dkg::Dealing>,
    /// Acknowledgements to post.
    acks: Vec<dkg::Ack>,
    /// The signed logs, once dealing has ended.
    logs: Vec<dkg::SignedLog>,
    /// The windows of this round this validator has posted in (acknowledgements aside):
    /// once per window is enough, the blocks are its record.
    posted: Vec<Phase>,
}

impl KeygenMember {
    /// The part of the validator with `secret`.
    pub(crate) fn new(secret: SecretKey) -> Self {
        Self {
            address: secret.address(),
            rng: dealing_rng(&secret.to_bytes(), 0),
            secret,
            round: 0,
            member: None,
            dealings: Vec::new(),
            acks: Vec::new(),
            logs: Vec::new(),
            posted: Vec::new(),
        }
    }

    /// This validator's slot keys for `round`, as it announces them.
    fn signers(&self, keygen: &Keygen) -> Vec<dkg::SlotSigner> {
        slot_signers(
            &self.secret.to_bytes(),
            keygen.round(),
            keygen.slot_range(&self.address).len() as u32,
        )
    }

    /// The signers of this validator's slots among the round's participants: the keys it
    /// announced, or the absent ones if its announcement was not counted.
    fn participating_signers(&self, keygen: &Keygen, p: &Participants) -> Vec<dkg::SlotSigner> {
        let announced = self.signers(keygen);
        let keys: Vec<SlotKey> = announced.iter().map(dkg::slot_key).collect();
        if p.slots_of(&self.address) == keys.as_slice() {
            return announced;
        }
        keygen
            .slot_range(&self.address)
            .filter_map(|i| dkg::absent_signer(keygen.round(), i))
            .collect()
    }

    /// Takes the block at `height`, just applied to the chain (`keygen` is the chain's state
    /// after it), with its key-generation `messages` and what it did to the round. Returns
    /// this validator's shares when the round generated the key.
    pub(crate) fn on_block(
        &mut self,
        keygen: &Keygen,
        height: u64,
        messages: &[(Address, Message)],
        event: Option<&KeygenEvent>,
    ) -> Option<Vec<Share>> {
        // A failed round, or a new epoch's, has moved the chain to the next one.
        if self.round != keygen.round() {
            self.restart(keygen.round());
        }
        if keygen.slot_range(&self.address).is_empty() {
            return None;
        }
        if self.member.is_none() {
            if let Some(p) = keygen.participants() {
                let signers = self.participating_signers(keygen, p);
                match Member::start(&mut self.rng, p.round(), &signers) {
                    Ok((member, dealings)) => {
                        self.member = Some(member);
                        self.dealings = dealings;
                    }
                    Err(e) => {
                        warn!(target: "ordo::keygen", error = %e, "cannot take part in the round")
                    }
                }
            }
        }
        let secret = k256::SecretKey::from_slice(&self.secret.to_bytes()).ok()?;
        if let Some(member) = &mut self.member {
            for (sender, message) in messages {
                match message {
                    Message::Deal { round, dealing } if *round == self.round => {
                        let counted = keygen.phase(height) == Some(Phase::Deal)
                            && keygen
                                .participants()
                                .is_some_and(|p| p.slots_of(sender).contains(&dealing.dealer));
                        if counted {
                            self.acks
                                .extend(member.receive_sealed(*round, dealing, &secret));
                        }
                    }
                    Message::Ack { round, acks } if *round == self.round => {
                        let from_owner = |a: &&dkg::Ack| {
                            keygen
                                .participants()
                                .is_some_and(|p| p.slots_of(sender).contains(&a.player))
                        };
                        for ack in acks.iter().filter(from_owner) {
                            member.receive_ack(ack);
                        }
                    }
                    _ => {}
                }
            }
        }
        let Some(KeygenEvent::Generated(key)) = event else {
            return None;
        };
        let member = self.member.take()?;
        // Unpredictable randomness for the batch checks of the logs, as the chain's.
        match member.finish(&mut rand_010::rng(), &keygen.logs()) {
            Ok((_, shares)) => {
                info!(target: "ordo::keygen", key_id = key.key_id, shares = shares.len(), "holding shares of the generated key");
                Some(shares)
            }
            Err(e) => {
                warn!(target: "ordo::keygen", error = %e, "the key was generated but this validator holds no share of it");
                None
            }
        }
    }

    fn restart(&mut self, round: u64) {
        *self = Self {
            rng: dealing_rng(&self.secret.to_bytes(), round),
            round,
            ..Self::new(self.secret.clone())
        };
    }

    /// What this validator posts before `next`, the height about to be decided: whatever of
    /// its part in that height's window the chain has not counted yet, once per window.
    pub(crate) fn due(&mut self, keygen: &Keygen, next: u64) -> Vec<Message> {
        let Some(phase) = keygen.phase(next) else {
            return Vec::new();
        };
        if keygen.slot_range(&self.address).is_empty() {
            return Vec::new();
        }
        let first = !self.posted.contains(&phase);
        let round = keygen.round();
        let mut out = Vec::new();
        match phase {
            Phase::Announce if first && !keygen.has_announced(&self.address) => {
                out.push(Message::Announce {
                    round,
                    slots: self.signers(keygen).iter().map(dkg::slot_key).collect(),
                });
            }
            Phase::Deal | Phase::Acknowledge => {
                if let (Phase::Deal, true, Some(p)) = (phase, first, keygen.participants()) {
                    for dealing in &self.dealings {
                        if !keygen.has_dealt(&dealing.dealer) {
                            let sealed = dealing.seal(&mut self.rng, round, |player| {
                                p.key_of(player).map(|k| k.to_sec1())
                            });
                            out.push(Message::Deal {
                                round,
                                dealing: sealed,
                            });
                        }
                    }
                }
                if !self.acks.is_empty() {
                    out.push(Message::Ack {
                        round,
                        acks: std::mem::take(&mut self.acks),
                    });
                }
            }
            Phase::Log if first => {
                if let Some(member) = &mut self.member {
                    if self.logs.is_empty() {
                        self.logs = member.logs();
                    }
                }
                out.extend(
                    self.logs
                        .iter()
                        .filter(|log| {
                            keygen
                                .participants()
                                .and_then(|p| p.round().check_log(log))
                                .is_some_and(|dealer| !keygen.has_logged(&dealer))
                        })
                        .map(|log| Message::Log {
                            round,
                            log: log.clone(),
                        }),
                );
            }
            Phase::Announce | Phase::Log => {}
        }
        if first {
            self.posted.push(phase);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ordo_chain::keygen::{KeygenParams, Schedule};
    use ordo_enc::{combine, seal, sign_shares, verify_keys, Identities, Recipient};
    use ordo_types::{Validator, ValidatorSet};
    use rand_010::SeedableRng;

    const WINDOW: u64 = 2;

    fn committee(keys: &[SecretKey], powers: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            keys.iter()
                .zip(powers)
                .map(|(k, p)| Validator::new(k.public_key(), *p))
                .collect(),
        )
        .unwrap()
    }

    /// Runs blocks `heights` of a key generation: before each, the members not `absent` post
    /// what is due, and the block holds exactly that; then every member takes the block.
    /// Returns the events and the members' shares, by member.
    fn run(
        keygen: &mut Keygen,
        members: &mut [KeygenMember],
        absent: &[usize],
        heights: std::ops::RangeInclusive<u64>,
    ) -> (Vec<KeygenEvent>, Vec<Option<Vec<Share>>>) {
        run_epochs(keygen, &[], members, absent, heights)
    }

    /// [`run`], starting each epoch's round, as the chain does, with its committee in
    /// `committees` (by epoch; `None` past its end).
    fn run_epochs(
        keygen: &mut Keygen,
        committees: &[Option<ValidatorSet>],
        members: &mut [KeygenMember],
        absent: &[usize],
        heights: std::ops::RangeInclusive<u64>,
    ) -> (Vec<KeygenEvent>, Vec<Option<Vec<Share>>>) {
        let mut events = Vec::new();
        let mut shares = vec![None; members.len()];
        for height in heights {
            if let Some(epoch) = keygen.starts_at(height) {
                let committee = committees.get(epoch as usize).cloned().flatten();
                keygen.begin(epoch, committee);
            }
            let mut block = Vec::new();
            for (i, m) in members.iter_mut().enumerate() {
                if !absent.contains(&i) {
                    block.extend(
                        m.due(keygen, height)
                            .into_iter()
                            .map(|msg| (m.address, msg)),
                    );
                }
            }
            // Through the bytes a transaction carries.
            let block: Vec<(Address, Message)> = block
                .into_iter()
                .map(|(a, m)| (a, Message::decode(&m.encode()).unwrap()))
                .collect();
            let event = keygen.apply(height, &block);
            for (i, m) in members.iter_mut().enumerate() {
                if !absent.contains(&i) {
                    if let Some(s) = m.on_block(keygen, height, &block, event.as_ref()) {
                        shares[i] = Some(s);
                    }
                }
            }
            events.extend(event);
        }
        (events, shares)
    }

    /// Whether the shares of `holders` open a payload sealed to `key`, and the released key
    /// checks against it.
    fn opens(key: &ordo_chain::EpochKey, shares: &[Option<Vec<Share>>], holders: &[usize]) -> bool {
        let mut rng = rand_010::rngs::StdRng::seed_from_u64(1);
        let to = Recipient {
            chain_id: 1,
            namespace: 1,
            sender: Address::repeat_byte(1),
            nonce: 0,
        };
        let sealed = seal(&mut rng, &key.encryption_key(), &to, b"hidden").unwrap();
        let ids = Identities::hash(&[ordo_enc::identity_of(&sealed, &to)]);
        let signed: Vec<_> = holders
            .iter()
            .flat_map(|h| shares[*h].as_ref().unwrap())
            .map(|s| sign_shares(s, &ids))
            .collect();
        let Some(keys) = combine(&key.sharing, &signed.iter().collect::<Vec<_>>()) else {
            return false;
        };
        verify_keys(&mut rng, key.sharing.public(), &ids, &keys)
            && ordo_enc::open(&keys[0], &sealed).is_ok_and(|p| p.as_ref() == b"hidden")
    }

    fn setup(powers: &[u64]) -> (Keygen, Vec<KeygenMember>, ValidatorSet) {
        let keys: Vec<SecretKey> = powers.iter().map(|_| SecretKey::random()).collect();
        let set = committee(&keys, powers);
        // Members in committee order.
        let members = set
            .validators()
            .iter()
            .map(|v| {
                let key = keys.iter().find(|k| k.address() == v.address).unwrap();
                KeygenMember::new(key.clone())
            })
            .collect();
        let keygen = Keygen::new(
            Schedule::new(KeygenParams { window: WINDOW }, None),
            set.clone(),
        );
        (keygen, members, set)
    }

    #[test]
    fn the_committee_generates_a_key_each_member_holds_its_slots_of_and_a_quorum_opens() {
        let (mut keygen, mut members, set) = setup(&[2, 1, 1]);
        let end = keygen.end();
        let (events, shares) = run(&mut keygen, &mut members, &[], 1..=end);
        let [KeygenEvent::Generated(key)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(key.from_height, end + 1);
        assert_eq!(keygen.key().map(|k| k.key_id), Some(0));
        // Each member holds shares at exactly the indices the key names for it.
        for (v, held) in set.validators().iter().zip(&shares) {
            let mut indices: Vec<u32> = held
                .as_ref()
                .unwrap()
                .iter()
                .map(|s| s.index.get())
                .collect();
            indices.sort_unstable();
            assert_eq!(key.holders[&v.address], indices);
        }
        // Power 2 + 1 of 4 is 3/4 > 2/3: opens; 2 of 4 (either way) does not.
        let big = set
            .validators()
            .iter()
            .position(|v| v.voting_power == 2)
            .unwrap();
        let [a, b] = [(big + 1) % 3, (big + 2) % 3];
        assert!(opens(key, &shares, &[big, a]));
        assert!(opens(key, &shares, &[a, b, big]));
        assert!(!opens(key, &shares, &[big]));
        assert!(!opens(key, &shares, &[a, b]));
    }

    #[test]
    fn one_absent_member_of_four_does_not_stop_it_two_fail_the_round_and_the_next_one_succeeds() {
        let (mut keygen, mut members, _) = setup(&[1, 1, 1, 1]);
        let end = keygen.end();
        // Two absent: the round fails and the next starts at the following height.
        let (events, _) = run(&mut keygen, &mut members, &[2, 3], 1..=end);
        assert!(
            matches!(events.as_slice(), [KeygenEvent::Failed { round: 0, .. }]),
            "{events:?}"
        );
        assert_eq!(keygen.round(), 1);
        assert_eq!(keygen.phase(end + 1), Some(Phase::Announce));
        // One absent in round 1: a key, which the three present open.
        let next_end = keygen.end();
        let (events, shares) = run(&mut keygen, &mut members, &[3], end + 1..=next_end);
        let [KeygenEvent::Generated(key)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(key.key_id, 1);
        assert!(opens(key, &shares, &[0, 1, 2]));
        assert!(shares[3].is_none());
    }

    #[test]
    fn a_restarted_member_replays_the_blocks_and_ends_with_its_shares() {
        let (mut keygen, mut members, _) = setup(&[1, 1, 1, 1]);
        let end = keygen.end();
        // Blocks up to the middle of the acknowledgements, recorded.
        let mid = 2 * WINDOW + 1;
        let mut blocks = Vec::new();
        for height in 1..=mid {
            let mut block = Vec::new();
            for m in members.iter_mut() {
                block.extend(
                    m.due(&keygen, height)
                        .into_iter()
                        .map(|msg| (m.address, msg)),
                );
            }
            let event = keygen.apply(height, &block);
            for m in members.iter_mut() {
                m.on_block(&keygen, height, &block, event.as_ref());
            }
            blocks.push(block);
        }
        // Member 0 restarts: a fresh state replays the blocks against a replayed chain.
        let mut replayed = Keygen::new(
            Schedule::new(KeygenParams { window: WINDOW }, None),
            keygen.committee().unwrap().clone(),
        );
        let mut restarted = KeygenMember::new(members[0].secret.clone());
        for (i, block) in blocks.iter().enumerate() {
            let height = i as u64 + 1;
            let event = replayed.apply(height, block);
            restarted.on_block(&replayed, height, block, event.as_ref());
        }
        members[0] = restarted;
        let (events, shares) = run(&mut keygen, &mut members, &[], mid + 1..=end);
        let [KeygenEvent::Generated(key)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert!(opens(key, &shares, &[0, 1, 2]));
    }

    #[test]
    fn with_elections_each_epoch_s_committee_generates_its_own_key_before_the_epoch() {
        // Epoch 0: members 0-3; epoch 1: members 1-4 (0 left, 4 joined); epoch 2: unknown
        // to this node (blind to the L1).
        let keys: Vec<SecretKey> = (0..5).map(|_| SecretKey::random()).collect();
        let first = committee(&keys[..4], &[1; 4]);
        let second = committee(&keys[1..], &[1; 4]);
        let election = ordo_chain::ElectionParams {
            epoch_length: 9 * WINDOW,
            activation_epochs: 1,
            max_committee: 10,
            min_stake: Default::default(),
        };
        let schedule = Schedule::new(KeygenParams { window: WINDOW }, Some(&election));
        assert_eq!(schedule.check(), Ok(()));
        let short = ordo_chain::ElectionParams {
            epoch_length: 9 * WINDOW - 1,
            ..election
        };
        assert!(Schedule::new(KeygenParams { window: WINDOW }, Some(&short))
            .check()
            .is_err());
        let mut keygen = Keygen::new(schedule, first.clone());
        let mut members: Vec<KeygenMember> = keys.iter().cloned().map(KeygenMember::new).collect();
        let committees = [Some(first), Some(second), None];
        let length = election.epoch_length;
        let (first_events, _) =
            run_epochs(&mut keygen, &committees, &mut members, &[], 1..=4 * WINDOW);
        let (events, shares) = run_epochs(
            &mut keygen,
            &committees,
            &mut members,
            &[],
            4 * WINDOW + 1..=2 * length,
        );
        let (
            [KeygenEvent::Generated(k0)],
            [KeygenEvent::Generated(k1), KeygenEvent::Failed { round: 2, why }],
        ) = (first_events.as_slice(), events.as_slice())
        else {
            panic!("{first_events:?} {events:?}");
        };
        // Epoch 0's key opens once its round ends; epoch 1's from the epoch's first height,
        // generated a window before it, when clients start sealing to it.
        assert_eq!(
            (k0.key_id, k0.epoch, k0.from_height),
            (0, 0, 4 * WINDOW + 1)
        );
        assert_eq!((k1.key_id, k1.epoch, k1.from_height), (1, 1, length + 1));
        assert_ne!(k0.sharing.public(), k1.sharing.public());
        assert_eq!(schedule.round_start(1), length + 1 - 5 * WINDOW);
        assert_eq!(schedule.sealing_epoch(length - WINDOW), 0);
        assert_eq!(schedule.sealing_epoch(length - WINDOW + 1), 1);
        // The member that left holds no share of the new key, the newcomer does, and the
        // new committee opens what is sealed to it.
        assert!(shares[0].is_none());
        assert!(opens(k1, &shares, &[1, 2, 4]));
        assert!(!k1.holders.contains_key(&members[0].address));
        // A node that did not know epoch 2's committee sits its round out, and says why.
        assert!(why.contains("did not know the committee"), "{why}");
        assert_eq!(keygen.starts_at(3 * length + 1 - 5 * WINDOW), Some(3));
    }

    #[test]
    fn messages_out_of_turn_are_included_and_ignored() {
        let (mut keygen, mut members, _) = setup(&[1, 1, 1, 1]);
        let outsider = SecretKey::random().address();
        let announce = members[0].due(&keygen, 1);
        // From a non-member, and a member's announcement of another's keys: not counted.
        let stolen = (members[1].address, announce[0].clone());
        keygen.apply(1, &[(outsider, announce[0].clone())]);
        assert!(!keygen.has_announced(&outsider));
        keygen.apply(1, &[(members[0].address, announce[0].clone()), stolen]);
        assert!(keygen.has_announced(&members[0].address));
        assert!(!keygen.has_announced(&members[1].address));
        // For another round, or after its window: not counted.
        let mut own = members[2].due(&keygen, 1);
        if let Message::Announce { round, .. } = &mut own[0] {
            *round = 5;
        }
        keygen.apply(2, &[(members[2].address, own[0].clone())]);
        assert!(!keygen.has_announced(&members[2].address));
        let late = members[3].due(&keygen, 2);
        keygen.apply(WINDOW + 1, &[(members[3].address, late[0].clone())]);
        assert!(!keygen.has_announced(&members[3].address));
        // The three that did not announce in time hold the absent slot keys.
        let p = keygen.participants().unwrap();
        for (i, m) in members.iter().enumerate() {
            let slot = dkg::absent_slot(0, i as u32).unwrap();
            assert_eq!(p.slots_of(&m.address) == [slot], i > 0, "member {i}");
        }
    }
}
