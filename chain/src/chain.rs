//! [`Chain`]: the state after the latest decided height, and the three operations on it.

use std::collections::BTreeMap;
use std::sync::Arc;

use ordo_types::{Address, Block, Entry, Header, InboxItem, L1Block, L1View, ValidatorSet, B256};

use crate::block::{assemble, verify, Expectation, Facts, L1Expectation, Template};
use crate::bundles::{Candidate, KnownBundles};
use crate::keygen::{self, Keygen, KeygenEvent};
use crate::lane::{self, Releases};
use crate::nonces::{BlockNonces, NonceReader, NonceUpdate, Senders};
use crate::{elect, proposer, BlockError, ChainError, ChainRules};

/// From this round on, a proposer keeps its parent's L1 origin (see [`Chain::build`]).
pub const KEEP_ORIGIN_FROM_ROUND: u32 = 2;

/// The latest decided block, as the next one builds on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Its height (0 before the first block).
    pub height: u64,
    /// Its hash (zero before the first block).
    pub hash: B256,
    /// Its timestamp (the genesis time before the first block).
    pub timestamp_ms: u64,
    /// The L1 block it names (zero without an L1).
    pub l1_origin: L1Block,
    /// Inbox items included up to it.
    pub inbox_cursor: u64,
}

impl Tip {
    /// Before the first block.
    pub fn genesis(genesis_time_ms: u64) -> Self {
        Self {
            height: 0,
            hash: B256::ZERO,
            timestamp_ms: genesis_time_ms,
            l1_origin: L1Block::default(),
            inbox_cursor: 0,
        }
    }

    /// After the block with this header.
    pub fn of(header: &Header) -> Self {
        Self {
            height: header.height,
            hash: header.hash(),
            timestamp_ms: header.timestamp_ms,
            l1_origin: L1Block {
                number: header.l1_origin_number,
                hash: header.l1_origin_hash,
            },
            inbox_cursor: header.inbox_cursor,
        }
    }
}

/// What a node brings to a step besides the chain: its clock, its L1 view, who signed what, and
/// the decided nonces (its store).
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The local clock, unix milliseconds.
    pub now_ms: u64,
    /// This node's L1 view (`None` without an L1).
    pub l1: Option<&'a L1View>,
    /// Senders of transactions.
    pub senders: &'a dyn Senders,
    /// The decided nonces.
    pub nonces: &'a dyn NonceReader,
    /// The bundles this node holds pending.
    pub bundles: &'a dyn KnownBundles,
}

/// What applying a decided block changed, for the store to persist with it.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    /// The accounts whose next nonce moved.
    pub nonces: Vec<NonceUpdate>,
    /// What the block did to the key generation, when it ended a round.
    pub keygen: Option<KeygenEvent>,
}

/// The chain after its latest decided height: the tip, the committee schedule (committees by
/// epoch, and the elections that will fix the next ones), judged by [`ChainRules`].
///
/// Three operations: [`Chain::build`] a proposal for the next height, [`Chain::check`] a
/// received one, and [`Chain::apply`] a decided one. [`Chain::elect`] fixes committees as the
/// L1 view confirms the blocks their elections read.
#[derive(Clone, Debug)]
pub struct Chain {
    rules: Arc<ChainRules>,
    tip: Tip,
    /// Committees fixed by elections, by epoch (only with elections).
    committees: BTreeMap<u64, ValidatorSet>,
    /// Elections scheduled but not held: epoch elected → the L1 block whose stake table
    /// elects it.
    elections: BTreeMap<u64, u64>,
    /// The encrypted lane's key generation (with the lane); shared, as the chain is cloned for
    /// every proposal it builds or checks.
    keygen: Option<Arc<Keygen>>,
    /// The decided heights whose released keys are not committed yet (with the lane).
    releases: Arc<Releases>,
}

impl Chain {
    /// A chain before its first block.
    pub fn new(rules: Arc<ChainRules>) -> Self {
        let tip = Tip::genesis(rules.genesis_time_ms);
        Self {
            keygen: Self::keygen_of(&rules),
            releases: Arc::default(),
            rules,
            tip,
            committees: BTreeMap::new(),
            elections: BTreeMap::new(),
        }
    }

    fn keygen_of(rules: &ChainRules) -> Option<Arc<Keygen>> {
        let schedule = rules.admission.keygen()?;
        Some(Arc::new(Keygen::new(schedule, rules.validators.clone())))
    }

    /// A chain resumed after `tip`, with the committees already fixed (by epoch) and
    /// `origin_at(height)`, the L1 origin of a decided block, to reschedule the elections that
    /// were not held.
    pub fn resume(
        rules: Arc<ChainRules>,
        tip: Tip,
        committees: impl IntoIterator<Item = (u64, ValidatorSet)>,
        origin_at: impl Fn(u64) -> Option<u64>,
    ) -> Self {
        let mut chain = Self {
            tip,
            committees: committees.into_iter().collect(),
            elections: BTreeMap::new(),
            keygen: Self::keygen_of(&rules),
            releases: Arc::default(),
            rules,
        };
        chain.rules.admission.advance(tip.height + 1);
        // With elections the blocks to replay start at the round of the epoch before the
        // tip's (its key serves the last released keys of that epoch).
        if let Some(schedule) = chain.rules.admission.keygen() {
            let epoch = schedule.epoch(tip.height).saturating_sub(1);
            if schedule.epoch_length.is_some() && epoch > 0 {
                let committee = chain.committee(epoch).cloned();
                chain.keygen = Some(Arc::new(Keygen::round_of(schedule, epoch, committee)));
            }
        }
        if let Some(election) = chain.rules.election().copied() {
            let last = election.epoch(tip.height.max(1)) + election.activation_epochs;
            for epoch in chain.rules.epoch(tip.height + 1)..=last {
                if chain.committees.contains_key(&epoch) {
                    continue;
                }
                let at = election.election_height(epoch).filter(|h| *h <= tip.height);
                if let Some(origin) = at.and_then(&origin_at) {
                    chain.elections.insert(epoch, origin);
                }
            }
        }
        chain
    }

    /// The encrypted lane's key generation, with the lane.
    pub fn keygen(&self) -> Option<&Arc<Keygen>> {
        self.keygen.as_ref()
    }

    /// The first height a resumed chain replays through [`Self::replay_keygen`]: that of the
    /// round its key generation starts from (see [`Self::resume`]).
    pub fn keygen_replay_from(&self) -> Option<u64> {
        let keygen = self.keygen.as_ref()?;
        Some(keygen.schedule().round_start(keygen.epoch()))
    }

    /// Counts the key-generation messages of `block`, a decided block at or below the tip:
    /// through [`Self::apply`], and when the chain resumes, for its blocks from
    /// [`Self::keygen_replay_from`] on, in order, until the key generation is where it was.
    /// A round starts at its height with the committee of its epoch if this node knows it.
    pub fn replay_keygen(&mut self, block: &Block, senders: &dyn Senders) -> Option<KeygenEvent> {
        let height = block.header.height;
        if let Some(epoch) = self.keygen.as_ref()?.starts_at(height) {
            let committee = self.committee(epoch).cloned();
            Arc::make_mut(self.keygen.as_mut()?).begin(epoch, committee);
        }
        self.keygen.as_ref()?.phase(height)?;
        let keygen = Arc::make_mut(self.keygen.as_mut()?);
        let event = keygen.apply(height, &keygen::messages(block, senders));
        if let Some(KeygenEvent::Generated(key)) = &event {
            self.rules.admission.add_key(Arc::clone(key));
        }
        event
    }

    /// The decided heights whose released keys a block may commit.
    pub fn releases(&self) -> &Releases {
        &self.releases
    }

    /// Counts `block`, a decided block, for the released keys (see [`crate::lane`]): through
    /// [`Self::apply`], and for the last [`lane::RELEASE_WINDOW`] decided blocks, in order, when
    /// the chain resumes.
    pub fn replay_releases(&mut self, block: &Block, senders: &dyn Senders) {
        let key = self.rules.admission.key_at(block.header.height);
        let ids = match &key {
            Some(_) => lane::identities(block, self.rules.chain_id(), senders),
            None => Vec::new(),
        };
        let commits = block
            .body
            .namespaces
            .iter()
            .any(|g| g.namespace == lane::KEYS_NAMESPACE);
        if !ids.is_empty() || commits || self.releases.pending().next().is_some() {
            Arc::make_mut(&mut self.releases).apply(block, ids, key.map(|k| k.encryption_key()));
        }
    }

    /// The rules.
    pub fn rules(&self) -> &ChainRules {
        &self.rules
    }

    /// The latest decided block.
    pub fn tip(&self) -> &Tip {
        &self.tip
    }

    /// The height being decided.
    pub fn next_height(&self) -> u64 {
        self.tip.height + 1
    }

    /// The committee of `epoch`, if it is fixed.
    pub fn committee(&self, epoch: u64) -> Option<&ValidatorSet> {
        match self.rules.election() {
            Some(e) if epoch >= e.activation_epochs => self.committees.get(&epoch),
            _ => Some(&self.rules.validators),
        }
    }

    /// The committee deciding `height`.
    pub fn committee_at(&self, height: u64) -> Result<&ValidatorSet, ChainError> {
        let epoch = self.rules.epoch(height);
        self.committee(epoch)
            .ok_or_else(|| ChainError::CommitteeUnknown {
                epoch,
                l1_block: self.elections.get(&epoch).copied(),
            })
    }

    /// The committees deciding the next height and the one after it.
    pub fn committees(&self) -> Result<(&ValidatorSet, &ValidatorSet), ChainError> {
        let h = self.next_height();
        Ok((self.committee_at(h)?, self.committee_at(h + 1)?))
    }

    /// The earliest election not held yet: (epoch it elects, L1 block it reads).
    pub fn pending_election(&self) -> Option<(u64, u64)> {
        self.elections.first_key_value().map(|(e, b)| (*e, *b))
    }

    /// Holds every scheduled election whose L1 block `l1` has confirmed, in epoch order, and
    /// returns the committees it fixed (for the store). An election that elects nobody keeps
    /// the committee before it. Deterministic: it reads only stake events at or below the
    /// election's block, which every node's confirmed view holds alike.
    pub fn elect(&mut self, l1: &L1View) -> Vec<(u64, ValidatorSet)> {
        let Some(params) = self.rules.election().copied() else {
            return Vec::new();
        };
        let mut fixed = Vec::new();
        while let Some((epoch, origin)) = self.pending_election() {
            if origin > l1.confirmed_number() {
                break;
            }
            self.elections.remove(&epoch);
            let set = elect(l1.stake_events(), origin, &params)
                .or_else(|| {
                    self.committees
                        .range(..epoch)
                        .next_back()
                        .map(|(_, s)| s.clone())
                })
                .unwrap_or_else(|| self.rules.validators.clone());
            self.committees.insert(epoch, set.clone());
            fixed.push((epoch, set));
        }
        fixed
    }

    /// Takes the committee of the next height from the header of the tip, a decided (so
    /// certified) block, when this node's L1 view has not elected it yet: the header's
    /// `next_validators_hash` names it, and it is the tip's own committee or `announced` (the
    /// committee a peer served with the block). An outage of this node's L1, however long,
    /// then stops it at no epoch boundary. Returns the committee fixed (epoch, set), for the
    /// store; none when the committee was already known and matches.
    pub fn take_announced(
        &mut self,
        header: &Header,
        announced: Option<&ValidatorSet>,
    ) -> Result<Option<(u64, ValidatorSet)>, ChainError> {
        if header.height != self.tip.height {
            return Err(ChainError::NotTip {
                height: header.height,
                tip: self.tip.height,
            });
        }
        let epoch = self.rules.epoch(header.height + 1);
        let certified = header.next_validators_hash;
        if let Some(known) = self.committee(epoch) {
            return match known.hash() {
                hash if hash == certified => Ok(None),
                ours => Err(ChainError::CommitteeDiverges {
                    epoch,
                    ours,
                    certified,
                }),
            };
        }
        let own = self.committee_at(header.height)?;
        let set = match announced {
            _ if own.hash() == certified => own.clone(),
            Some(set) if set.hash() == certified => set.clone(),
            _ => {
                return Err(ChainError::CommitteeUnknown {
                    epoch,
                    l1_block: self.elections.get(&epoch).copied(),
                })
            }
        };
        self.elections.remove(&epoch);
        self.committees.insert(epoch, set.clone());
        Ok(Some((epoch, set)))
    }

    /// The proposer of the next height at `round`.
    pub fn proposer(&self, round: u32) -> Result<Address, ChainError> {
        let set = self.committee_at(self.next_height())?;
        let index = proposer::select(set, self.next_height(), round);
        Ok(set
            .validators()
            .get(index)
            .map_or(Address::ZERO, |v| v.address))
    }

    fn template(&self, proposer: Address) -> Result<Template, ChainError> {
        let (this, next) = self.committees()?;
        let height = self.next_height();
        Ok(Template {
            chain_id: self.rules.chain_id(),
            height,
            epoch: self.rules.epoch(height),
            parent_hash: self.tip.hash,
            parent_timestamp_ms: self.tip.timestamp_ms,
            proposer,
            validators_hash: this.hash(),
            next_validators_hash: next.hash(),
            inbox_cursor: self.tip.inbox_cursor,
            l1_origin_number: self.tip.l1_origin.number,
            l1_origin_hash: self.tip.l1_origin.hash,
            encryption_key_hash: self
                .rules
                .admission
                .key_at(height)
                .map_or(B256::ZERO, |k| k.encryption_key().commitment()),
        })
    }

    fn facts<'a>(&'a self, cx: &Context<'a>) -> Facts<'a> {
        Facts {
            admission: &self.rules.admission,
            senders: cx.senders,
            nonces: cx.nonces,
            l1: cx.l1,
            bundles: cx.bundles,
            releases: &self.releases,
        }
    }

    /// The L1 origin a proposer names at `round` and the inbox items it includes: its
    /// confirmed L1 block when that is past the parent's origin (never backwards), and the
    /// items from the parent's cursor on that are due there. Validators accept earlier
    /// inclusion; an honest proposer waits for the deadline so that every validator that
    /// accepts the origin has read the items (given `origin_tolerance <= inclusion_delay`).
    ///
    /// From round [`KEEP_ORIGIN_FROM_ROUND`] on, the proposer keeps the parent's origin, which
    /// every validator accepts: validators that cannot see the L1 (more than a third of them
    /// would otherwise refuse every new origin) cost a few rounds, not the chain's liveness.
    pub fn l1_proposal(&self, round: u32, l1: Option<&L1View>) -> (L1Block, Vec<InboxItem>) {
        let parent = self.tip.l1_origin;
        let (Some(rules), Some(view)) = (self.rules.l1, l1) else {
            return (parent, Vec::new());
        };
        let origin = match view.confirmed {
            Some(c) if c.number > parent.number && round < KEEP_ORIGIN_FROM_ROUND => c,
            _ => parent,
        };
        let due = (self.tip.inbox_cursor..)
            .map_while(|i| view.inbox_item(i))
            .take_while(|item| item.is_due(rules.inclusion_delay, origin.number))
            .cloned()
            .collect();
        (origin, due)
    }

    /// Builds the next height's block for `proposer` at `round`: the L1 origin and due inbox
    /// items of [`Self::l1_proposal`] first, then `candidates` (in priority order) as far as
    /// the limits allow, skipping any the rules refuse.
    pub fn build(
        &self,
        proposer: Address,
        round: u32,
        candidates: Vec<Candidate>,
        cx: &Context<'_>,
    ) -> Result<Block, ChainError> {
        let (origin, forced) = self.l1_proposal(round, cx.l1);
        self.build_with(proposer, origin, &forced, candidates, cx)
    }

    /// [`Self::build`] with the L1 origin and inbox items given: `forced` are the items from
    /// the tip's inbox cursor on, in index order.
    pub fn build_with(
        &self,
        proposer: Address,
        origin: L1Block,
        forced: &[InboxItem],
        candidates: Vec<Candidate>,
        cx: &Context<'_>,
    ) -> Result<Block, ChainError> {
        let template = Template {
            l1_origin_number: origin.number,
            l1_origin_hash: origin.hash,
            ..self.template(proposer)?
        };
        Ok(assemble(
            &template,
            cx.now_ms,
            forced,
            candidates,
            &self.rules.limits,
            &self.facts(cx),
        ))
    }

    /// Checks a block proposed for the next height at `round`: everything this validator must
    /// see before it votes for it.
    pub fn check(&self, block: &Block, round: u32, cx: &Context<'_>) -> Result<(), BlockError> {
        let unknown = |e: ChainError| match e {
            ChainError::CommitteeUnknown { epoch, .. } => BlockError::CommitteeUnknown { epoch },
            // The proposer and the template fail only for an unknown committee.
            _ => BlockError::Mismatch {
                field: "height",
                found: block.header.height.to_string(),
                expected: self.next_height().to_string(),
            },
        };
        let proposer = self.proposer(round).map_err(unknown)?;
        let expectation = Expectation {
            template: self.template(proposer).map_err(unknown)?,
            now_ms: cx.now_ms,
            max_clock_drift_ms: self.rules.max_clock_drift_ms,
            limits: self.rules.limits,
            l1: self.rules.l1.map(|l1| L1Expectation {
                inclusion_delay: l1.inclusion_delay,
                origin_tolerance: l1.origin_tolerance,
            }),
        };
        verify(block, &expectation, &self.facts(cx))
    }

    /// Applies a decided block (checked by this node's vote, or certified by the committee):
    /// moves the tip, schedules the election its epoch starts, and returns the nonces it moves.
    /// Only `senders` and `nonces` of `cx` are read.
    pub fn apply(&mut self, block: &Block, cx: &Context<'_>) -> Result<Applied, ChainError> {
        let h = &block.header;
        if h.height != self.next_height() || h.parent_hash != self.tip.hash {
            return Err(ChainError::NotNext {
                height: h.height,
                parent: h.parent_hash,
                tip: self.tip.height,
                tip_hash: self.tip.hash,
            });
        }
        let admission = &self.rules.admission;
        let mut nonces = BlockNonces::new(cx.nonces);
        for (namespace, entry) in block.body.entries() {
            match entry {
                // Released keys name their height in the nonce: no account moves.
                Entry::Signed(_) if namespace == lane::KEYS_NAMESPACE => {}
                Entry::Signed(tx) => {
                    if let Some(sender) = cx.senders.sender(tx) {
                        // A decided block's nonces are in sequence; nothing to refuse here.
                        let _ = nonces.signed(sender, tx.namespace(), tx.nonce());
                    }
                }
                Entry::Forced(f) => {
                    nonces.forced(namespace, admission.forced_account(namespace, &f.payload))
                }
            }
        }
        self.tip = Tip::of(h);
        admission.advance(h.height + 1);
        let keygen = self.replay_keygen(block, cx.senders);
        self.replay_releases(block, cx.senders);
        if let Some(e) = self.rules.election() {
            let epoch = e.epoch(h.height);
            if e.first_height(epoch) == h.height {
                let target = epoch.saturating_add(e.activation_epochs);
                if !self.committees.contains_key(&target) {
                    self.elections.insert(target, h.l1_origin_number);
                }
            }
            // Committees before the current epoch's predecessor are no longer needed.
            let keep = epoch.saturating_sub(1);
            self.committees = self.committees.split_off(&keep);
        }
        Ok(Applied {
            nonces: nonces.into_updates(),
            keygen,
        })
    }
}
