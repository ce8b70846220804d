//! The consensus application: answers Malachite's requests (build a value, check a proposal,
//! persist a decision, serve and accept synced blocks). It owns its state and runs as one task.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use eyre::eyre;
use malachitebft_app_channel::app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::StreamId;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate as MalachiteCertificate, ExtendedCommitCertificate, ExtendedCommitSignature,
    LinearTimeouts, Round, Validity,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{LocallyProposedValue, ProposedValue};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};
use ordo_builder::{
    build_block_with_forced, validate_block, BlockLimits, BlockTemplate, ChainView, L1Check,
    ProposalCheck,
};
use ordo_mempool::Mempool;
use ordo_types::{
    Address, Block, CommitCertificate, CommitSignature, Decode, Encode, InboxItem, SecretKey, B256,
};
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use crate::context::{
    BlockHash, Height, OrdoContext, ProposalInit, ValidatorAddress, ValidatorSet,
};
use crate::store::{Store, StoredProposal};
use crate::streaming::{stream_messages, Assembled, PartStreams};
use crate::{Equivocation, EvidenceVote, L1Settings, NodeStatus, ProposerFault};

/// Size of the `Data` chunks a block is streamed in.
const CHUNK_SIZE: usize = 128 * 1024;
/// Most complete proposals kept for heights this node has not reached yet.
const MAX_FUTURE_PROPOSALS: usize = 64;
/// From this round on, a proposer keeps its parent's L1 origin (see `App::l1_proposal`).
const KEEP_ORIGIN_FROM_ROUND: u32 = 2;
/// Most decided blocks served in one sync response.
const MAX_SYNC_BATCH: u64 = 64;

/// Parameters of the application, fixed for the life of the node.
#[derive(Clone, Debug)]
pub(crate) struct AppParams {
    pub(crate) chain_id: u64,
    pub(crate) genesis_time_ms: u64,
    pub(crate) limits: BlockLimits,
    pub(crate) max_clock_drift_ms: u64,
    pub(crate) timeouts: LinearTimeouts,
    pub(crate) block_time: Duration,
    pub(crate) fault: Option<ProposerFault>,
    pub(crate) l1: Option<L1Settings>,
    pub(crate) evidence: Option<tokio::sync::mpsc::UnboundedSender<Equivocation>>,
}

pub(crate) struct App {
    params: AppParams,
    store: Store,
    mempool: Mempool,
    validators: ValidatorSet,
    key: Option<SecretKey>,
    /// Height consensus is working on.
    height: u64,
    /// Hash and timestamp of the block at `height - 1`.
    parent: (B256, u64),
    /// L1 origin (number, hash) and inbox cursor of the block at `height - 1`.
    parent_l1: (u64, B256, u64),
    l1: Option<L1Settings>,
    /// Committees by epoch, as elected (or the genesis committee).
    committees: std::collections::BTreeMap<u64, ValidatorSet>,
    /// The committees of `height` and `height + 1`.
    sets: (ValidatorSet, ValidatorSet),
    evidence: Option<tokio::sync::mpsc::UnboundedSender<Equivocation>>,
    /// Validators already reported for equivocation.
    reported: std::collections::HashSet<Address>,
    streams: PartStreams,
    future: Vec<Assembled>,
    status: watch::Sender<NodeStatus>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn round_u32(round: Round) -> u32 {
    round.as_u32().unwrap_or(0)
}

impl App {
    pub(crate) fn new(
        params: AppParams,
        store: Store,
        mempool: Mempool,
        validators: ValidatorSet,
        key: Option<SecretKey>,
        status: watch::Sender<NodeStatus>,
    ) -> Self {
        let l1 = params.l1.clone();
        let evidence = params.evidence.clone();
        let max_stream = params.limits.max_block_bytes + CHUNK_SIZE;
        let genesis_parent = (B256::ZERO, params.genesis_time_ms);
        Self {
            params,
            store,
            mempool,
            validators: validators.clone(),
            key,
            height: 1,
            parent: genesis_parent,
            parent_l1: (0, B256::ZERO, 0),
            l1,
            committees: Default::default(),
            sets: (validators.clone(), validators.clone()),
            evidence,
            reported: Default::default(),
            streams: PartStreams::new(256, max_stream),
            future: Vec::new(),
            status,
        }
    }

    fn height_params(&self) -> HeightParams<OrdoContext> {
        HeightParams::new(
            self.sets.0.clone(),
            self.params.timeouts,
            Some(self.params.block_time),
        )
    }

    /// Loads the last decided block, so the node resumes after it.
    pub(crate) fn resume(&mut self) -> eyre::Result<()> {
        if let Some(tip) = self.store.tip_height()? {
            let block = self
                .store
                .block(tip)?
                .ok_or_else(|| eyre!("tip block {tip} missing"))?;
            self.parent = (block.hash(), block.header.timestamp_ms);
            self.parent_l1 = l1_of(&block);
            self.height = tip + 1;
            self.status.send_modify(|s| {
                s.height = tip;
                s.latest_block_hash = block.hash();
            });
        }
        Ok(())
    }

    fn template(&self, height: u64, proposer: Address) -> BlockTemplate {
        let set_hash = self.sets.0.inner().hash();
        let next_hash = self.sets.1.inner().hash();
        let epoch = self
            .l1
            .as_ref()
            .and_then(|l| l.election)
            .map_or(0, |e| e.epoch(height));
        BlockTemplate {
            chain_id: self.params.chain_id,
            height,
            epoch,
            parent_hash: self.parent.0,
            parent_timestamp_ms: self.parent.1,
            proposer,
            validators_hash: set_hash,
            next_validators_hash: next_hash,
            inbox_cursor: self.parent_l1.2,
            l1_origin_number: self.parent_l1.0,
            l1_origin_hash: self.parent_l1.1,
        }
    }

    /// The L1 origin this node proposes and the inbox items it includes: its confirmed L1
    /// block when that is past the parent's origin (never backwards), and the items from the
    /// parent's cursor on that are due there. (Validators accept earlier inclusion; an honest
    /// proposer waits for the deadline so that every validator that accepts the origin has
    /// read the items, given `origin_tolerance <= inclusion_delay`.)
    ///
    /// From round [`KEEP_ORIGIN_FROM_ROUND`] on, the proposer keeps the parent's origin, which
    /// every validator accepts: validators that cannot see the L1 (more than a third of them
    /// would otherwise refuse every new origin) cost a few rounds, not the chain's liveness.
    fn l1_proposal(&self, round: u32) -> ((u64, B256), Vec<InboxItem>) {
        let parent = (self.parent_l1.0, self.parent_l1.1);
        let Some(l1) = &self.l1 else {
            return (parent, Vec::new());
        };
        let view = l1.view.borrow();
        let origin = match view.confirmed {
            Some(c) if c.number > parent.0 && round < KEEP_ORIGIN_FROM_ROUND => (c.number, c.hash),
            _ => parent,
        };
        let mut items = Vec::new();
        let mut index = self.parent_l1.2;
        while let Some(item) = view.inbox_item(index) {
            if !item.is_due(l1.inclusion_delay, origin.0) {
                break;
            }
            if matches!(self.params.fault, Some(ProposerFault::CensorNamespace(ns)) if item.namespace == ns)
            {
                break;
            }
            items.push(item.clone());
            index += 1;
        }
        (origin, items)
    }

    /// Loads the committees of `height` and `height + 1` (electing them if needed) and
    /// publishes them in the status.
    async fn enter_height(&mut self, height: u64) -> eyre::Result<()> {
        let this = self.committee_at(height).await?;
        let next = self.committee_at(height + 1).await?;
        if this.inner().hash() != self.sets.0.inner().hash() {
            info!(
                target: "ordo::consensus", height, members = this.inner().len(),
                hash = %this.inner().hash(), "committee changes"
            );
        }
        let epoch = self
            .l1
            .as_ref()
            .and_then(|l| l.election)
            .map_or(0, |e| e.epoch(height.max(1)));
        if self.store.committee(epoch)?.is_none() {
            self.store.put_committee(epoch, this.inner())?;
        }
        self.status.send_modify(|s| {
            s.validators = Some(this.inner().clone());
            s.next_validators = Some(next.inner().clone());
        });
        self.sets = (this, next);
        Ok(())
    }

    /// Logs the first conflicting pair of each validator not reported yet, and sends it to the
    /// slasher if there is one.
    fn report(
        &mut self,
        evidence: &malachitebft_app_channel::app::types::MisbehaviorEvidence<OrdoContext>,
    ) {
        for (address, pairs) in &evidence.votes {
            let Some((a, b)) = pairs.first() else {
                continue;
            };
            if !self.reported.insert(address.0) {
                continue;
            }
            // Logged with or without a slasher, so fault scenarios can see it.
            warn!(target: "ordo::consensus", validator = %address.0, "equivocation evidence");
            let Some(tx) = &self.evidence else {
                continue;
            };
            let vote = |v: &malachitebft_app_channel::app::types::core::SignedVote<OrdoContext>| {
                EvidenceVote {
                    height: v.message.height.0,
                    round: round_u32(v.message.round),
                    vote_type: match v.message.vote_type {
                        malachitebft_app_channel::app::types::core::VoteType::Prevote => {
                            ordo_types::VoteType::Prevote
                        }
                        malachitebft_app_channel::app::types::core::VoteType::Precommit => {
                            ordo_types::VoteType::Precommit
                        }
                    },
                    block_hash: match v.message.value {
                        malachitebft_app_channel::app::types::core::NilOrVal::Nil => None,
                        malachitebft_app_channel::app::types::core::NilOrVal::Val(h) => Some(h.0),
                    },
                    signature: v.signature,
                }
            };
            let _ = tx.send(Equivocation {
                validator: address.0,
                a: vote(a),
                b: vote(b),
            });
        }
    }

    /// The committee deciding `height`.
    async fn committee_at(&mut self, height: u64) -> eyre::Result<ValidatorSet> {
        let Some((view, election)) = self
            .l1
            .as_ref()
            .and_then(|l| l.election.map(|e| (l.view.clone(), e)))
        else {
            return Ok(self.validators.clone());
        };
        let epoch = election.epoch(height.max(1));
        if let Some(set) = self.committees.get(&epoch) {
            return Ok(set.clone());
        }
        // The latest election at or before this epoch that elected anyone; the genesis
        // committee when none did.
        let mut chosen = self.validators.clone();
        for e in (0..=epoch).rev() {
            if let Some(set) = self.committees.get(&e) {
                chosen = set.clone();
                break;
            }
            let Some(at) = election.election_height(e) else {
                break;
            };
            let block = self
                .store
                .block(at)?
                .ok_or_else(|| eyre!("election block {at} of epoch {e} is not decided"))?;
            let origin = block.header.l1_origin_number;
            let mut view = view.clone();
            tokio::time::timeout(
                Duration::from_secs(60),
                view.wait_for(|v| v.confirmed_number() >= origin),
            )
            .await
            .map_err(|_| {
                eyre!("the L1 view has not reached block {origin} (election of epoch {e})")
            })??;
            let elected = ordo_builder_elect(&view.borrow(), origin, &election);
            if let Some(set) = elected {
                chosen = ValidatorSet::new(set);
                break;
            }
        }
        self.committees.insert(epoch, chosen.clone());
        Ok(chosen)
    }

    fn expected_proposer(&self, height: u64, round: u32) -> Address {
        let index = crate::proposer::select(self.sets.0.inner(), height, round);
        self.sets
            .0
            .validators()
            .get(index)
            .map_or(Address::ZERO, |v| v.address.0)
    }

    /// Runs until the consensus engine stops.
    pub(crate) async fn run(mut self, mut channels: Channels<OrdoContext>) -> eyre::Result<()> {
        while let Some(msg) = channels.consensus.recv().await {
            if let Err(e) = self.handle(msg, &channels).await {
                error!(target: "ordo::consensus", error = %e, "application error");
            }
        }
        Err(eyre!("consensus engine stopped"))
    }

    async fn handle(
        &mut self,
        msg: AppMsg<OrdoContext>,
        channels: &Channels<OrdoContext>,
    ) -> eyre::Result<()> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                info!(target: "ordo::consensus", height = self.height, "consensus ready");
                self.enter_height(self.height).await?;
                let _ = reply.send((Height(self.height), self.height_params()));
            }

            AppMsg::StartedRound {
                height,
                round,
                proposer,
                reply_value,
                ..
            } => {
                debug!(target: "ordo::consensus", %height, %round, %proposer, "started round");
                self.height = height.0;
                self.status.send_modify(|s| s.round = round.as_i64());
                self.enter_height(self.height).await?;
                let future = std::mem::take(&mut self.future);
                for assembled in future {
                    if assembled.init.height.0 == self.height {
                        self.verify_and_accept(assembled)?;
                    } else if assembled.init.height.0 > self.height {
                        self.future.push(assembled);
                    }
                }
                let values = self
                    .store
                    .proposals(height.0, round_u32(round))?
                    .into_iter()
                    .map(|p| proposed_value(height.0, &p))
                    .collect();
                let _ = reply_value.send(values);
            }

            AppMsg::GetValue {
                height,
                round,
                reply,
                ..
            } => {
                let proposal = self.own_proposal(height.0, round_u32(round))?;
                let hash = proposal.block.hash();
                info!(
                    target: "ordo::consensus", %height, %round, %hash,
                    txs = proposal.block.header.tx_count, "proposing"
                );
                let _ = reply.send(LocallyProposedValue::new(height, round, BlockHash(hash)));
                self.publish(channels, height.0, round_u32(round), 0, &proposal)
                    .await?;
            }

            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                let publisher = published_by.unwrap_or(from);
                let value = match self.streams.insert(publisher, part) {
                    Some(Ok(assembled)) => self.received(assembled)?,
                    Some(Err(reason)) => {
                        warn!(target: "ordo::consensus", %publisher, reason, "dropped proposal stream");
                        None
                    }
                    None => None,
                };
                let _ = reply.send(value);
            }

            AppMsg::Decided {
                certificate, reply, ..
            } => {
                self.decided(&certificate)?;
                let _ = reply.send(());
            }

            AppMsg::Finalized {
                certificate,
                evidence,
                reply,
                ..
            } => {
                let height = certificate.height.0;
                self.report(&evidence);
                let next = if self.store.tip_height()? == Some(height) {
                    // The certificate may now carry more precommits than at decision time.
                    let cert = to_certificate(&certificate);
                    self.store.update_certificate(&cert)?;
                    self.enter_height(height + 1).await?;
                    Next::Start(Height(height + 1), self.height_params())
                } else {
                    warn!(target: "ordo::consensus", height, "decided block not stored; restarting height");
                    self.enter_height(height).await?;
                    Next::Restart(Height(height), self.height_params())
                };
                let _ = reply.send(next);
            }

            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                let outcome = self.synced(height.0, round, proposer, &value_bytes)?;
                let _ = reply.send(outcome);
            }

            AppMsg::GetDecidedValues { range, reply } => {
                let start = range.start().0;
                let end = range.end().0.min(start.saturating_add(MAX_SYNC_BATCH - 1));
                let mut values = Vec::new();
                for h in start..=end {
                    let Some(decided) = self.store.decided(h)? else {
                        break;
                    };
                    values.push(RawDecidedValue::new(
                        Bytes::from(decided.block.encode()),
                        to_extended(&decided.certificate),
                    ));
                }
                let _ = reply.send(values);
            }

            AppMsg::GetHistoryMinHeight { reply } => {
                let min = self.store.earliest_height()?.unwrap_or(1);
                let _ = reply.send(Height(min));
            }

            AppMsg::RestreamProposal {
                height,
                round,
                value_id,
                ..
            } => {
                if let Some(proposal) = self.store.proposal_by_hash(height.0, &value_id.0)? {
                    self.publish(channels, height.0, round_u32(round), 1, &proposal)
                        .await?;
                }
            }

            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }

            AppMsg::VerifyVoteExtensions {
                extensions, reply, ..
            } => {
                let _ = reply.send(extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect());
            }
        }
        Ok(())
    }

    /// The block this node proposes at (height, round): the one it built before, if it crashed
    /// after building it, or a new one.
    fn own_proposal(&mut self, height: u64, round: u32) -> eyre::Result<StoredProposal> {
        if let Some(stored) = self.store.own_proposal(height, round)? {
            return Ok(stored);
        }
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| eyre!("asked to propose without a validator key"))?;
        let limits = &self.params.limits;
        let mut candidates = self.mempool.select(
            limits
                .max_block_bytes
                .saturating_sub(ordo_types::Header::ENCODED_LEN + 64),
            limits.max_transactions as usize,
        );
        match self.params.fault {
            Some(ProposerFault::CensorNamespace(ns)) => candidates.retain(|tx| tx.namespace != ns),
            Some(ProposerFault::CensorSender(a)) => {
                candidates.retain(|tx| self.mempool.sender(tx).ok() != Some(a));
            }
            _ => {}
        }
        let ((origin_number, origin_hash), forced) = self.l1_proposal(round);
        let template = BlockTemplate {
            l1_origin_number: origin_number,
            l1_origin_hash: origin_hash,
            ..self.template(height, key.address())
        };
        let mut block = build_block_with_forced(&template, now_ms(), &forced, candidates, limits);
        if let Some(fault) = self.params.fault.filter(|f| !f.is_censorship()) {
            warn!(target: "ordo::consensus", height, round, ?fault, "test fault: proposing an invalid block");
            inject_fault(&mut block, fault, limits, self.params.chain_id);
        }
        let digest =
            ordo_types::proposal_digest(self.params.chain_id, height, round, None, block.hash());
        let proposal = StoredProposal {
            round,
            pol_round: None,
            proposer: key.address(),
            signature: Some(key.sign_digest(&digest)),
            valid: true,
            block,
        };
        self.store.put_proposal(height, &proposal, true)?;
        Ok(proposal)
    }

    async fn publish(
        &self,
        channels: &Channels<OrdoContext>,
        height: u64,
        round: u32,
        attempt: u8,
        proposal: &StoredProposal,
    ) -> eyre::Result<()> {
        let Some(signature) = proposal.signature else {
            return Ok(());
        };
        let mut id = Vec::with_capacity(13);
        id.extend_from_slice(&height.to_be_bytes());
        id.extend_from_slice(&round.to_be_bytes());
        id.push(attempt);
        let init = ProposalInit {
            height: Height(height),
            round: Round::new(proposal.round),
            pol_round: proposal.pol_round.map_or(Round::Nil, Round::new),
            proposer: ValidatorAddress(proposal.proposer),
        };
        let messages = stream_messages(
            StreamId::new(Bytes::from(id)),
            init,
            &proposal.block.encode(),
            signature,
            CHUNK_SIZE,
        );
        for message in messages {
            channels
                .network
                .send(NetworkMsg::PublishProposalPart(message))
                .await?;
        }
        Ok(())
    }

    /// A complete proposal stream from the network.
    fn received(
        &mut self,
        assembled: Assembled,
    ) -> eyre::Result<Option<ProposedValue<OrdoContext>>> {
        let init = assembled.init;
        match init.height.0.cmp(&self.height) {
            std::cmp::Ordering::Less => return Ok(None),
            std::cmp::Ordering::Greater => {
                // Checked when this node gets there (the committee may change at an epoch).
                if self.future.len() < MAX_FUTURE_PROPOSALS {
                    self.future.push(assembled);
                }
                return Ok(None);
            }
            std::cmp::Ordering::Equal => {}
        }
        self.verify_and_accept(assembled)
    }

    /// Checks a proposal for the current height comes from a committee member with a valid
    /// signature, then validates and stores it.
    fn verify_and_accept(
        &mut self,
        assembled: Assembled,
    ) -> eyre::Result<Option<ProposedValue<OrdoContext>>> {
        let init = assembled.init;
        let Some(proposer) = self.sets.0.inner().get(&init.proposer.0) else {
            warn!(target: "ordo::consensus", proposer = %init.proposer, "proposal from a non-validator");
            return Ok(None);
        };
        let Ok(block) = Block::decode(&assembled.block_bytes) else {
            warn!(target: "ordo::consensus", proposer = %init.proposer, "undecodable proposal");
            return Ok(None);
        };
        let digest = ordo_types::proposal_digest(
            self.params.chain_id,
            init.height.0,
            round_u32(init.round),
            init.pol_round.as_u32(),
            block.hash(),
        );
        if proposer
            .public_key
            .verify(&digest, &assembled.signature)
            .is_err()
        {
            warn!(target: "ordo::consensus", proposer = %init.proposer, "proposal with a bad signature");
            return Ok(None);
        }
        self.accept_proposal(assembled).map(Some)
    }

    /// Validates a proposal for the current height and stores it with its verdict.
    fn accept_proposal(
        &mut self,
        assembled: Assembled,
    ) -> eyre::Result<ProposedValue<OrdoContext>> {
        let init = assembled.init;
        let block = Block::decode(&assembled.block_bytes)?;
        let round = round_u32(init.round);
        let view = self.l1.as_ref().map(|l1| (l1, l1.view.borrow()));
        let check = ProposalCheck {
            template: self.template(self.height, self.expected_proposer(self.height, round)),
            now_ms: now_ms(),
            max_clock_drift_ms: self.params.max_clock_drift_ms,
            limits: self.params.limits,
            l1: view.as_ref().map(|(l1, view)| L1Check {
                parent_origin_number: self.parent_l1.0,
                parent_origin_hash: self.parent_l1.1,
                inclusion_delay: l1.inclusion_delay,
                origin_tolerance: l1.origin_tolerance,
                confirmed: view.confirmed_number(),
            }),
        };
        warm_senders(&self.mempool, &block);
        let chain = ChainState {
            mempool: &self.mempool,
            store: &self.store,
            l1: view.as_ref().map(|(_, view)| &**view),
        };
        let mut verdict = validate_block(&block, &check, &chain);
        drop(view);
        if self.params.fault == Some(ProposerFault::VoteNil) {
            warn!(target: "ordo::consensus", height = self.height, round, "test fault: refusing a proposal");
            verdict = Err(ordo_builder::BlockError::Mismatch {
                field: "test_fault",
                found: "vote_nil".into(),
                expected: "none".into(),
            });
        }
        if let Err(reason) = &verdict {
            warn!(
                target: "ordo::consensus", height = self.height, round,
                proposer = %init.proposer, %reason, "invalid proposal: voting nil"
            );
        }
        let proposal = StoredProposal {
            round,
            pol_round: init.pol_round.as_u32(),
            proposer: init.proposer.0,
            signature: Some(assembled.signature),
            valid: verdict.is_ok(),
            block,
        };
        self.store.put_proposal(self.height, &proposal, false)?;
        Ok(proposed_value(self.height, &proposal))
    }

    /// Persists the decided block and its certificate, then moves the chain tip.
    fn decided(&mut self, certificate: &MalachiteCertificate<OrdoContext>) -> eyre::Result<()> {
        let height = certificate.height.0;
        let hash = certificate.value_id.0;
        let Some(proposal) = self.store.proposal_by_hash(height, &hash)? else {
            error!(target: "ordo::consensus", height, %hash, "decided a block this node does not have");
            return Ok(());
        };
        let cert = to_certificate(certificate);
        let nonces = self.nonce_updates(&proposal.block);
        self.store.commit(&proposal.block, &cert, &nonces)?;
        self.mempool.on_decided(&proposal.block);
        self.parent = (hash, proposal.block.header.timestamp_ms);
        self.parent_l1 = l1_of(&proposal.block);
        self.height = height + 1;
        info!(
            target: "ordo::consensus", height, %hash,
            txs = proposal.block.header.tx_count, signers = cert.signatures.len(), "decided"
        );
        let synced = proposal.signature.is_none();
        self.status.send_modify(|s| {
            s.height = height;
            s.latest_block_hash = hash;
            s.syncing = synced;
        });
        Ok(())
    }

    /// The next nonce of every (sender, namespace) a block's transactions move.
    fn nonce_updates(&self, block: &Block) -> Vec<(Address, u64, u64)> {
        let mut next: std::collections::BTreeMap<(Address, u64), u64> = Default::default();
        for group in &block.body.namespaces {
            for entry in &group.entries {
                if let ordo_types::Entry::Signed(tx) = entry {
                    match self.mempool.sender(tx) {
                        Ok(sender) => {
                            let n = next.entry((sender, tx.namespace)).or_default();
                            *n = (*n).max(tx.nonce + 1);
                        }
                        Err(e) => error!(
                            target: "ordo::consensus", tx = %tx.hash(), error = %e,
                            "decided transaction without a sender"
                        ),
                    }
                }
            }
        }
        next.into_iter().map(|((s, ns), n)| (s, ns, n)).collect()
    }

    /// A decided block received from a peer while catching up. Its certificate is checked by
    /// the engine; here the block must be well formed and extend this node's chain.
    fn synced(
        &mut self,
        height: u64,
        round: Round,
        proposer: ValidatorAddress,
        bytes: &[u8],
    ) -> eyre::Result<SyncedValueOutcome<OrdoContext>> {
        let Ok(block) = Block::decode(bytes) else {
            return Ok(SyncedValueOutcome::PeerFault);
        };
        let h = &block.header;
        if h.height != height
            || h.chain_id != self.params.chain_id
            || h.parent_hash != self.parent.0
            || h.proposer != proposer.0
            || block.check_commitments().is_err()
        {
            warn!(target: "ordo::sync", height, "synced block does not extend the chain");
            return Ok(SyncedValueOutcome::PeerFault);
        }
        self.status.send_modify(|s| s.syncing = true);
        let proposal = StoredProposal {
            round: round_u32(round),
            pol_round: None,
            proposer: proposer.0,
            signature: None,
            valid: true,
            block,
        };
        self.store.put_proposal(height, &proposal, false)?;
        Ok(SyncedValueOutcome::Verdict(proposed_value(
            height, &proposal,
        )))
    }
}

fn ordo_builder_elect(
    view: &ordo_l1::L1View,
    origin: u64,
    election: &crate::ElectionParams,
) -> Option<ordo_types::ValidatorSet> {
    crate::elect(view.stake_events(), origin, election)
}

/// Makes `block` invalid in the way `fault` names, keeping it well formed otherwise.
fn inject_fault(block: &mut Block, fault: ProposerFault, limits: &BlockLimits, chain_id: u64) {
    let mut add = |tx: ordo_types::Transaction| {
        block.body = ordo_types::Body::from_entries(
            std::iter::once(ordo_types::NamespaceEntries {
                namespace: tx.namespace,
                entries: vec![tx.into()],
            })
            .chain(block.body.namespaces.drain(..))
            .collect(),
        )
        .unwrap_or_default();
    };
    match fault {
        ProposerFault::WrongProposer => block.header.proposer = Address::repeat_byte(0x42),
        ProposerFault::WrongParent => block.header.parent_hash = B256::repeat_byte(0x42),
        ProposerFault::BadTransactionSignature => {
            let mut tx = ordo_types::Transaction::sign(
                1,
                0,
                ordo_types::Bytes::from_static(b"forged"),
                &SecretKey::random(),
                chain_id,
            );
            // r = 5 is not the x-coordinate of a curve point: no sender can be recovered.
            // (Tampering with the payload instead would just recover some other sender.)
            if let ordo_types::Auth::Eip712(signature) = &mut tx.auth {
                signature.0[..32].copy_from_slice(&B256::with_last_byte(5).0);
            }
            add(tx);
        }
        ProposerFault::OversizedBody => {
            let payload = ordo_types::Bytes::from(vec![0u8; limits.max_block_bytes]);
            add(ordo_types::Transaction::sign(
                1,
                0,
                payload,
                &SecretKey::random(),
                chain_id,
            ));
        }
        // Censorship is applied while selecting what goes in, not to a built block.
        ProposerFault::CensorNamespace(_)
        | ProposerFault::CensorSender(_)
        | ProposerFault::VoteNil => {}
    }
    block.header.namespace_root = block.body.namespace_root();
    block.header.tx_count = block.body.tx_count().unwrap_or(u32::MAX);
}

/// The decided state a proposal's transactions are checked against.
struct ChainState<'a> {
    mempool: &'a Mempool,
    store: &'a Store,
    l1: Option<&'a ordo_l1::L1View>,
}

/// A block's L1 origin (number, hash) and inbox cursor.
fn l1_of(block: &Block) -> (u64, B256, u64) {
    let h = &block.header;
    (h.l1_origin_number, h.l1_origin_hash, h.inbox_cursor)
}

impl ChainView for ChainState<'_> {
    fn sender(&self, tx: &ordo_types::Transaction) -> Option<Address> {
        self.mempool.sender(tx).ok()
    }

    fn next_nonce(&self, sender: &Address, namespace: u64) -> u64 {
        // If the store cannot be read, no nonce matches and the block gets a nil vote.
        self.store.next_nonce(sender, namespace).unwrap_or(u64::MAX)
    }

    fn is_registered(&self, namespace: u64) -> bool {
        self.mempool.is_registered(namespace)
    }

    fn l1_block_hash(&self, number: u64) -> Option<B256> {
        self.l1?.block_hash(number)
    }

    fn inbox_item(&self, index: u64) -> Option<InboxItem> {
        self.l1?.inbox_item(index).cloned()
    }

    fn rollup_rules(&self, tx: &ordo_types::Transaction) -> Result<(), String> {
        self.mempool
            .check_rollup_rules(tx)
            .map_err(|e| e.to_string())
    }
}

/// Recovers the senders of a received block's transactions that this node has not verified yet
/// (they reached the proposer before their gossip reached us) on every core, so validation,
/// which runs on the consensus task, finds them in the mempool's cache. Under load that is
/// most of a large block, and doing it serially can outlast the propose timeout.
fn warm_senders(mempool: &Mempool, block: &Block) {
    let txs: Vec<&ordo_types::Transaction> = block
        .body
        .namespaces
        .iter()
        .flat_map(|g| g.entries.iter())
        .filter_map(|e| match e {
            ordo_types::Entry::Signed(tx) => Some(tx),
            ordo_types::Entry::Forced(_) => None,
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || txs.len() < 64 {
        return;
    }
    std::thread::scope(|s| {
        for part in txs.chunks(txs.len().div_ceil(threads)) {
            s.spawn(move || {
                for tx in part {
                    let _ = mempool.sender(tx);
                }
            });
        }
    });
}

fn proposed_value(height: u64, p: &StoredProposal) -> ProposedValue<OrdoContext> {
    ProposedValue {
        height: Height(height),
        round: Round::new(p.round),
        valid_round: p.pol_round.map_or(Round::Nil, Round::new),
        proposer: ValidatorAddress(p.proposer),
        value: BlockHash(p.block.hash()),
        validity: Validity::from_bool(p.valid),
    }
}

/// Malachite's certificate as Ordo's (sorted signers, as in `docs/FORMATS.md`).
fn to_certificate(c: &MalachiteCertificate<OrdoContext>) -> CommitCertificate {
    let mut signatures: Vec<CommitSignature> = c
        .commit_signatures
        .iter()
        .map(|s| CommitSignature {
            signer: s.address.0,
            signature: s.signature,
        })
        .collect();
    signatures.sort_by_key(|s| s.signer);
    signatures.dedup_by_key(|s| s.signer);
    CommitCertificate {
        height: c.height.0,
        round: round_u32(c.round),
        block_hash: c.value_id.0,
        signatures,
    }
}

/// Ordo's certificate in the form Malachite's sync protocol carries.
fn to_extended(c: &CommitCertificate) -> ExtendedCommitCertificate<OrdoContext> {
    ExtendedCommitCertificate {
        height: Height(c.height),
        round: Round::new(c.round),
        value_id: BlockHash(c.block_hash),
        commit_signatures: c
            .signatures
            .iter()
            .map(|s| ExtendedCommitSignature::new(ValidatorAddress(s.signer), s.signature, None))
            .collect(),
    }
}
