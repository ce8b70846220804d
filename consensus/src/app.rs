//! The Malachite adapter: turns the engine's requests into calls on the chain core
//! ([`ordo_chain::Chain`]), the store and the mempool, and nothing else. It owns its state and
//! runs as one task; store writes run on the blocking pool, off this task.
//!
//! Errors are of two kinds: a failed store write or a closed engine channel stops the node
//! ([`Failure::Fatal`]), anything about one message is logged and the message answered as well
//! as it can be.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::{VoteExtensionError, VoteExtensionVerdicts};
use malachitebft_app_channel::app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::StreamId;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate as MalachiteCertificate, LinearTimeouts, Round, SignedExtension,
    VoteExtensionPolicy,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{LocallyProposedValue, MisbehaviorEvidence};
use malachitebft_app_channel::app::types::{PeerId, ProposedValue};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};
use ordo_chain::{Chain, ChainError, Context, KeygenEvent, Tip, KEYGEN_NAMESPACE};
use ordo_mempool::Mempool;
use ordo_types::{
    Address, Block, Decode, Encode, L1View, SecretKey, SyncedBlock, Transaction, B256,
};
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

use crate::codec::{decode_extensions, encode_extensions};
use crate::context::{
    BlockHash, Height, OrdoContext, ProposalInit, ValidatorAddress, ValidatorSet,
};
use crate::convert::{evidence_vote, proposed_value, round_u32, to_certificate, to_extended};
use crate::guard::Bans;
use crate::keygen::KeygenMember;
use crate::opening::{CheckedShares, Decryption, OpenJob, SealedBlock};
use crate::store::{DecidedBlock, Store, StoreError, StoredProposal};
use crate::streaming::{stream_messages, Assembled, PartStreams};
use crate::{Equivocation, NodeStatus};

/// Most proposals of one height kept decoded in memory (more are read back from the store).
const MAX_PROPOSALS_KEPT: usize = 16;
/// Size of the `Data` chunks a block is streamed in.
const CHUNK_SIZE: usize = 128 * 1024;
/// Most complete proposals kept for heights this node has not reached yet.
const MAX_FUTURE_PROPOSALS: usize = 64;
/// Most decided blocks served in one sync response.
const MAX_SYNC_BATCH: u64 = 64;
/// Most checked precommit extensions kept for one height.
const MAX_CHECKED: usize = 1024;
/// Most recent heights checked at start for a block not opened before the node stopped.
const MAX_REOPENED: u64 = 256;
/// How often a node waiting for its L1 view to reach an election's block says so.
const ELECTION_WAIT_LOG: Duration = Duration::from_secs(30);

/// Why a message could not be handled.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The node cannot go on (its store failed, or the engine is gone).
    Fatal(eyre::Report),
    /// This message could not be handled; the node goes on.
    Message(eyre::Report),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Fatal(eyre::eyre!("store: {e}"))
    }
}

impl From<ChainError> for Failure {
    fn from(e: ChainError) -> Self {
        Self::Message(eyre::eyre!("{e}"))
    }
}

/// Parameters of the application, fixed for the life of the node.
#[derive(Clone, Debug)]
pub(crate) struct AppParams {
    pub(crate) timeouts: LinearTimeouts,
    pub(crate) block_time: Duration,
    pub(crate) min_block_time: Duration,
    pub(crate) l1: Option<watch::Receiver<L1View>>,
    pub(crate) evidence: Option<mpsc::UnboundedSender<Equivocation>>,
    /// Where decided blocks go to be opened ([`crate::opening::run_opener`]), with the lane.
    pub(crate) opener: Option<mpsc::UnboundedSender<OpenJob>>,
    /// Peers banned from the consensus network; a refused proposal stream bans its publisher.
    pub(crate) bans: Bans,
    #[cfg(feature = "byzantine")]
    pub(crate) fault: Option<crate::ProposerFault>,
}

pub(crate) struct App {
    params: AppParams,
    chain: Chain,
    store: Store,
    mempool: Mempool,
    key: Option<SecretKey>,
    /// The committee of the next height, as Malachite takes it.
    set: ValidatorSet,
    /// The encrypted lane's latest keys (by epoch, at most three) and this node's shares of
    /// each, as the chain generated them.
    decryptions: Vec<Arc<Decryption>>,
    /// This validator's part in generating the keys (it takes part in the rounds of the
    /// committees that hold it).
    keygen: Option<KeygenMember>,
    /// The committee a peer served with the synced block of this hash (see [`SyncedBlock`]),
    /// until that block is decided.
    announced: Option<(B256, ordo_types::ValidatorSet)>,
    /// Validators already reported for equivocation.
    reported: HashSet<Address>,
    streams: PartStreams,
    future: Vec<Assembled>,
    /// The proposals of the height being decided, decoded (the store keeps them encoded for a
    /// restart), by block hash; at most [`MAX_PROPOSALS_KEPT`].
    proposals: HashMap<B256, StoredProposal>,
    /// The encrypted transactions of the proposals of the height being decided, by block hash.
    sealed: HashMap<B256, Arc<SealedBlock>>,
    /// The precommit extensions checked at this height, by block hash and voter, with their
    /// shares: the opener does not check them again.
    checked: HashMap<(B256, Address), CheckedShares>,
    status: watch::Sender<NodeStatus>,
    decided: watch::Sender<Option<Arc<DecidedBlock>>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl App {
    /// The application over `chain`, resumed from the store's tip.
    pub(crate) fn new(
        params: AppParams,
        rules: std::sync::Arc<ordo_chain::ChainRules>,
        store: Store,
        mempool: Mempool,
        key: Option<SecretKey>,
        status: watch::Sender<NodeStatus>,
        decided: watch::Sender<Option<Arc<DecidedBlock>>>,
    ) -> eyre::Result<Self> {
        let max_stream = rules.limits.max_block_bytes
            + rules.limits.max_transactions as usize * ordo_mempool::CLAIMED_KEY_LEN
            + CHUNK_SIZE;
        let genesis = ValidatorSet::new(rules.validators.clone());
        let chain = match store.tip_height()? {
            None => Chain::new(rules),
            Some(tip) => {
                let latest = store
                    .decided(tip)?
                    .ok_or_else(|| eyre::eyre!("tip block {tip} missing"))?;
                status.send_modify(|s| {
                    s.height = tip;
                    s.latest_block_hash = latest.block.hash();
                });
                let header = latest.block.header.clone();
                decided.send_replace(Some(Arc::new(latest)));
                // The committees a store keeps cover every epoch the chain can still need.
                let epochs = rules.election().map_or(0..=0, |e| {
                    let epoch = e.epoch(tip.max(1));
                    epoch.saturating_sub(1)..=epoch + e.activation_epochs + 1
                });
                let mut committees = Vec::new();
                for epoch in epochs {
                    if let Some(set) = store.committee(epoch)? {
                        committees.push((epoch, set));
                    }
                }
                let origin_at = |h: u64| {
                    store
                        .block(h)
                        .ok()
                        .flatten()
                        .map(|b| b.header.l1_origin_number)
                };
                Chain::resume(rules, Tip::of(&header), committees, origin_at)
            }
        };
        // Any validator key takes part: the member posts only in the rounds of committees
        // that hold it.
        let keygen = key
            .clone()
            .filter(|_| chain.keygen().is_some())
            .map(KeygenMember::new);
        let mut app = Self {
            params,
            chain,
            store,
            mempool,
            key,
            set: genesis,
            decryptions: Vec::new(),
            keygen,
            announced: None,
            reported: HashSet::new(),
            streams: PartStreams::new(256, max_stream),
            future: Vec::new(),
            proposals: HashMap::new(),
            sealed: HashMap::new(),
            checked: HashMap::new(),
            status,
            decided,
        };
        app.replay_keygen()?;
        Ok(app)
    }

    /// Rebuilds the key generation from the decided blocks, from the round the chain resumes
    /// it at until the tip (without elections, until the key), then the released keys still
    /// pending.
    fn replay_keygen(&mut self) -> eyre::Result<()> {
        let Some(from) = self.chain.keygen_replay_from() else {
            return Ok(());
        };
        let tip = self.chain.tip().height;
        for height in from..=tip {
            let block = self
                .store
                .block(height)?
                .ok_or_else(|| eyre::eyre!("decided block {height} missing"))?;
            let event = self.chain.replay_keygen(&block, &self.mempool);
            self.keygen_block(&block, event);
            if self.chain.keygen().is_some_and(|k| k.is_final()) {
                break;
            }
        }
        let first = tip
            .saturating_sub(ordo_chain::lane::RELEASE_WINDOW - 1)
            .max(1);
        for height in first..=tip {
            let block = self
                .store
                .block(height)?
                .ok_or_else(|| eyre::eyre!("decided block {height} missing"))?;
            self.chain.replay_releases(&block, &self.mempool);
        }
        Ok(())
    }

    /// This proposer's released-key transactions: the pending heights this node has opened, in
    /// order (one it could not open is left to a later proposer).
    async fn releases_due(&self, key: &SecretKey) -> Result<Vec<Transaction>, Failure> {
        let pending: Vec<u64> = self.chain.releases().pending().collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let (key, chain_id) = (key.clone(), self.chain.rules().chain_id());
        self.store_io(move |s| {
            let mut out = Vec::new();
            for height in pending {
                let Some(opened) = s.opened(height)? else {
                    continue;
                };
                let keys: Option<Vec<_>> = opened
                    .iter()
                    .map(|e| ordo_enc::DecryptionKey::from_bytes(&e.key).ok())
                    .collect();
                let Some(keys) = keys else { continue };
                out.push(ordo_chain::lane::release(height, &keys, &key, chain_id));
            }
            Ok(out)
        })
        .await
    }

    /// Takes the key-generation part of the decided `block`, which did `event` to the round:
    /// this validator's part of it, and the key when the round generated one.
    fn keygen_block(&mut self, block: &Block, event: Option<KeygenEvent>) {
        let Some(keygen) = self.chain.keygen() else {
            return;
        };
        let height = block.header.height;
        let shares = match &mut self.keygen {
            Some(member) if keygen.phase(height).is_some() || event.is_some() => {
                let messages = ordo_chain::keygen::messages(block, &self.mempool);
                member.on_block(keygen, height, &messages, event.as_ref())
            }
            _ => None,
        };
        match event {
            Some(KeygenEvent::Generated(key)) => {
                info!(
                    target: "ordo::keygen", key_id = key.key_id, epoch = key.epoch,
                    from_height = key.from_height, "the committee generated the encryption key"
                );
                let mut shares = shares.unwrap_or_default();
                shares.sort_by_key(|s| s.index);
                // This epoch's, the one before (its last blocks may still open) and the next.
                if self.decryptions.len() == 3 {
                    self.decryptions.remove(0);
                }
                self.decryptions.push(Arc::new(Decryption { key, shares }));
            }
            Some(KeygenEvent::Failed { round, why }) => {
                warn!(target: "ordo::keygen", round, why, "key generation failed");
            }
            None => {}
        }
    }

    /// The encrypted lane at `height`: the key of its epoch, with this validator's shares of
    /// it (none when the lane is closed there).
    fn decryption_at(&self, height: u64) -> Option<Arc<Decryption>> {
        let key = self.chain.rules().admission.key_at(height)?;
        self.decryptions
            .iter()
            .find(|d| d.key.key_id == key.key_id)
            .cloned()
    }

    /// Posts this validator's key-generation messages due before the next height.
    async fn post_keygen(&mut self) -> Result<(), Failure> {
        let (Some(member), Some(keygen), Some(key)) =
            (&mut self.keygen, self.chain.keygen(), &self.key)
        else {
            return Ok(());
        };
        let messages = member.due(keygen, self.chain.next_height());
        if messages.is_empty() {
            return Ok(());
        }
        let (mempool, key, chain_id) = (
            self.mempool.clone(),
            key.clone(),
            self.chain.rules().chain_id(),
        );
        let results = self
            .blocking(move || {
                let mut nonce = mempool.next_nonce(&key.address(), KEYGEN_NAMESPACE);
                let txs = messages
                    .iter()
                    .map(|m| {
                        let payload = Bytes::from(m.encode());
                        nonce += 1;
                        Transaction::sign(
                            KEYGEN_NAMESPACE,
                            nonce - 1,
                            payload.into(),
                            &key,
                            chain_id,
                        )
                    })
                    .collect();
                mempool.submit(txs, ordo_mempool::Origin::Local)
            })
            .await?;
        for result in results {
            match result {
                Ok(hash) => {
                    debug!(target: "ordo::keygen", %hash, "posted a key-generation message")
                }
                Err(e) => {
                    warn!(target: "ordo::keygen", error = %e, "a key-generation message was refused")
                }
            }
        }
        Ok(())
    }

    fn height(&self) -> u64 {
        self.chain.next_height()
    }

    /// The next height's parameters. With the encrypted lane every precommit for a block
    /// carries its voter's decryption shares.
    fn height_params(&self) -> HeightParams<OrdoContext> {
        let params = HeightParams::new(
            self.set.clone(),
            self.params.timeouts,
            Some(target_time(
                &self.mempool,
                self.params.block_time,
                self.params.min_block_time,
            )),
        );
        if self.decryption_at(self.height()).is_some() {
            params.with_vote_extension_policy(VoteExtensionPolicy::Required)
        } else {
            params
        }
    }

    /// Holds the elections the L1 view allows and records the committees they fix.
    async fn elect(&mut self) -> Result<(), Failure> {
        let fixed = match self.params.l1.as_ref() {
            Some(view) => self.chain.elect(&view.borrow()),
            None => Vec::new(),
        };
        for (epoch, set) in fixed {
            info!(target: "ordo::consensus", epoch, members = set.len(), hash = %set.hash(), "committee elected");
            self.store_io(move |s| s.put_committee(epoch, &set)).await?;
        }
        Ok(())
    }

    /// Fixes the committee of the next height (waiting, if it must, for the L1 view to reach
    /// its election: as long as it takes, saying so every 30 s; the node's health turns unready
    /// meanwhile) and publishes it in the status, with the one after if it is known.
    ///
    /// The one after is unknown while this node's L1 view is behind its election: the node
    /// then votes nil on the last height of the epoch, gets that block from its peers, and
    /// takes the next committee from its certified header ([`Chain::take_announced`]).
    async fn enter_height(&mut self) -> Result<(), Failure> {
        let this = loop {
            self.elect().await?;
            match self.chain.committee_at(self.height()) {
                Ok(this) => break this.clone(),
                Err(ChainError::CommitteeUnknown {
                    epoch,
                    l1_block: Some(block),
                }) => {
                    let Some(mut view) = self.params.l1.clone() else {
                        return Err(Failure::Fatal(eyre::eyre!("no L1 for epoch {epoch}")));
                    };
                    warn!(target: "ordo::consensus", epoch, l1_block = block, "waiting for the L1 view to reach the election");
                    let reached = view.wait_for(|v| v.confirmed_number() >= block);
                    let closed = matches!(
                        tokio::time::timeout(ELECTION_WAIT_LOG, reached).await,
                        Ok(Err(_))
                    );
                    if closed {
                        return Err(Failure::Fatal(eyre::eyre!("the L1 view's channel closed")));
                    }
                }
                Err(e) => return Err(Failure::Fatal(e.into())),
            }
        };
        if this.hash() != self.set.inner().hash() {
            info!(
                target: "ordo::consensus", height = self.height(), members = this.len(),
                hash = %this.hash(), "committee changes"
            );
        }
        let epoch = self.chain.rules().epoch(self.height());
        let set = this.clone();
        self.store_io(move |s| match s.committee(epoch)? {
            Some(_) => Ok(()),
            None => s.put_committee(epoch, &set),
        })
        .await?;
        let next = self.chain.committee_at(self.height() + 1).ok().cloned();
        self.status.send_modify(|s| {
            s.validators = Some(this.clone());
            s.next_validators = next;
        });
        self.set = ValidatorSet::new(this);
        Ok(())
    }

    /// Logs the first conflicting pair of each validator not reported yet, and sends it to the
    /// slasher if there is one.
    fn report(&mut self, evidence: &MisbehaviorEvidence<OrdoContext>) {
        for (address, pairs) in &evidence.votes {
            let Some((a, b)) = pairs.first() else {
                continue;
            };
            if !self.reported.insert(address.0) {
                continue;
            }
            // Logged with or without a slasher, so fault scenarios can see it.
            warn!(target: "ordo::consensus", validator = %address.0, "equivocation evidence");
            if let Some(tx) = &self.params.evidence {
                let _ = tx.send(Equivocation {
                    validator: address.0,
                    a: evidence_vote(a),
                    b: evidence_vote(b),
                });
            }
        }
    }

    /// Runs until the consensus engine stops or a fatal error.
    pub(crate) async fn run(mut self, mut channels: Channels<OrdoContext>) -> eyre::Result<()> {
        while let Some(msg) = channels.consensus.recv().await {
            match self.handle(msg, &channels).await {
                Ok(()) => {}
                Err(Failure::Message(e)) => {
                    warn!(target: "ordo::consensus", error = %e, "message not handled")
                }
                Err(Failure::Fatal(e)) => {
                    error!(target: "ordo::consensus", error = %e, "fatal: stopping consensus");
                    return Err(e);
                }
            }
        }
        Err(eyre::eyre!("consensus engine stopped"))
    }

    async fn handle(
        &mut self,
        msg: AppMsg<OrdoContext>,
        channels: &Channels<OrdoContext>,
    ) -> Result<(), Failure> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                info!(target: "ordo::consensus", height = self.height(), "consensus ready");
                self.enter_height().await?;
                self.reopen().await?;
                self.post_keygen().await?;
                let _ = reply.send((Height(self.height()), self.height_params()));
            }

            AppMsg::StartedRound {
                height,
                round,
                proposer,
                reply_value,
                ..
            } => {
                debug!(target: "ordo::consensus", %height, %round, %proposer, "started round");
                self.status.send_modify(|s| s.round = round.as_i64());
                self.enter_height().await?;
                for assembled in std::mem::take(&mut self.future) {
                    if assembled.init.height.0 == self.height() {
                        self.verify_and_accept(assembled).await?;
                    } else if assembled.init.height.0 > self.height() {
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
                let proposal = self.own_proposal(height.0, round_u32(round)).await?;
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
                // Gossipsub signs every message with its publisher's key; a part without one
                // did not come through it.
                let Some(publisher) = published_by else {
                    warn!(target: "ordo::consensus", %from, "proposal part without a publisher");
                    let _ = reply.send(None);
                    return Ok(());
                };
                let value = match self.streams.insert(publisher, part) {
                    Some(Ok(assembled)) => self.received(assembled).await?,
                    Some(Err(reason)) => {
                        warn!(target: "ordo::consensus", %publisher, reason, "dropped proposal stream");
                        self.params.bans.offence(publisher, reason);
                        None
                    }
                    None => None,
                };
                let _ = reply.send(value);
            }

            AppMsg::Decided {
                certificate,
                extensions,
                reply,
            } => {
                self.decided(&certificate, extensions.extensions).await?;
                let _ = reply.send(());
            }

            AppMsg::Finalized {
                certificate,
                extensions,
                evidence,
                reply,
            } => {
                let height = certificate.height.0;
                self.report(&evidence);
                let next = if self.chain.tip().height == height {
                    // The certificate may now carry more precommits than at decision time.
                    let cert = to_certificate(&certificate);
                    let extensions = encode_extensions(&extensions.extensions);
                    self.store_io(move |s| s.update_certificate(&cert, &extensions))
                        .await?;
                    self.enter_height().await?;
                    Next::Start(Height(height + 1), self.height_params())
                } else {
                    warn!(target: "ordo::consensus", height, "decided block not stored; restarting height");
                    self.enter_height().await?;
                    Next::Restart(Height(self.height()), self.height_params())
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
                let outcome = self.synced(height.0, round, proposer, &value_bytes).await?;
                let _ = reply.send(outcome);
            }

            AppMsg::GetDecidedValues { range, reply } => {
                let start = range.start().0;
                let end = range.end().0.min(start.saturating_add(MAX_SYNC_BATCH - 1));
                let election = self.chain.rules().election().copied();
                let values = self
                    .store_io(move |s| decided_values(s, start..=end, election))
                    .await?;
                let _ = reply.send(values);
            }

            AppMsg::GetHistoryMinHeight { reply } => {
                let min = self.store_io(|s| s.earliest_height()).await?.unwrap_or(1);
                let _ = reply.send(Height(min));
            }

            AppMsg::RestreamProposal {
                height,
                round,
                value_id,
                ..
            } => {
                let (h, hash) = (height.0, value_id.0);
                let proposal = self.store_io(move |s| s.proposal_by_hash(h, &hash)).await?;
                if let Some(proposal) = proposal {
                    self.publish(channels, height.0, round_u32(round), 1, &proposal)
                        .await?;
                }
            }

            AppMsg::ExtendVote {
                height,
                value_id,
                reply,
                ..
            } => {
                let block = self.sealed_block(height.0, value_id.0).await?;
                let extension = match (self.decryption_at(height.0), block) {
                    (Some(d), Some(block)) => {
                        Some(self.blocking(move || d.extension(&block)).await?)
                    }
                    _ => None,
                };
                #[cfg(feature = "byzantine")]
                let extension = if crate::byzantine::withholds_shares(self.params.fault) {
                    warn!(target: "ordo::consensus", %height, "test fault: withholding decryption shares");
                    extension.map(|_| Bytes::new())
                } else {
                    extension
                };
                let _ = reply.send(extension);
            }

            AppMsg::VerifyVoteExtensions {
                height,
                value_id,
                extensions,
                reply,
                ..
            } => {
                let verdicts = self
                    .check_extensions(height.0, value_id.0, extensions)
                    .await?;
                let _ = reply.send(verdicts);
            }
        }
        Ok(())
    }

    /// Runs `f` on the blocking pool, off the consensus task's thread, with a copy of the chain
    /// (returned, as `f` left it) and a context reading this node's L1 view, mempool and store.
    async fn off_task<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Chain, &Context<'_>) -> T + Send + 'static,
    ) -> Result<(Chain, T), Failure> {
        let mut chain = self.chain.clone();
        let (mempool, store, l1) = (
            self.mempool.clone(),
            self.store.clone(),
            self.params.l1.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let view = l1.as_ref().map(|v| v.borrow());
            let cx = Context {
                now_ms: now_ms(),
                l1: view.as_deref(),
                senders: &mempool,
                nonces: &store,
                bundles: &mempool,
            };
            let out = f(&mut chain, &cx);
            drop(view);
            (chain, out)
        })
        .await
        .map_err(|e| Failure::Fatal(eyre::eyre!("chain task: {e}")))
    }

    /// Runs `f` on the blocking pool, off the consensus task's thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Failure> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Failure::Fatal(eyre::eyre!("blocking task: {e}")))
    }

    /// The encrypted transactions of the block `hash` proposed for `height` (this node must
    /// have it), worked out once per block.
    async fn sealed_block(
        &mut self,
        height: u64,
        hash: B256,
    ) -> Result<Option<Arc<SealedBlock>>, Failure> {
        if self.decryption_at(height).is_none() {
            return Ok(None);
        }
        if let Some(sealed) = self.sealed.get(&hash) {
            return Ok(Some(Arc::clone(sealed)));
        }
        let block = match self.proposals.get(&hash) {
            Some(p) => p.block.clone(),
            None => match self
                .store_io(move |s| s.proposal_by_hash(height, &hash))
                .await?
            {
                Some(p) => p.block,
                None => return Ok(None),
            },
        };
        let sealed = self.sealed_of(&block).await?;
        if self.sealed.len() < MAX_PROPOSALS_KEPT {
            self.sealed.insert(hash, Arc::clone(&sealed));
        }
        Ok(Some(sealed))
    }

    /// Checks the decryption shares on precommits for block `hash`: each must be the voter's
    /// valid shares for every encrypted transaction of the block, else the precommit does not
    /// count. For a block this node does not have yet (a precommit may arrive before the
    /// proposal), only the extension's shape is checked; the shares are checked again before
    /// opening.
    async fn check_extensions(
        &mut self,
        height: u64,
        hash: B256,
        extensions: Vec<(ValidatorAddress, Bytes)>,
    ) -> Result<VoteExtensionVerdicts<OrdoContext>, Failure> {
        let Some(d) = self.decryption_at(height) else {
            return Ok(extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect());
        };
        let block = self.sealed_block(height, hash).await?;
        let results = self
            .blocking(move || {
                extensions
                    .into_iter()
                    .map(|(a, e)| {
                        let checked = match &block {
                            Some(block) => d.check(&a.0, &e, block).map(Some),
                            None => d.check_shape(&a.0, &e).map(|()| None),
                        };
                        (a, e, checked)
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
        let mut verdicts = Vec::with_capacity(results.len());
        for (a, extension, checked) in results {
            let verdict = match checked {
                Ok(Some(shares)) => {
                    if self.checked.len() < MAX_CHECKED {
                        self.checked
                            .insert((hash, a.0), CheckedShares { extension, shares });
                    }
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(why) => {
                    warn!(target: "ordo::consensus", height, validator = %a, why, "refused decryption shares");
                    Err(VoteExtensionError::InvalidVoteExtension)
                }
            };
            verdicts.push((a, verdict));
        }
        Ok(verdicts)
    }

    /// The encrypted transactions of `block` (from the proposals' cache, or worked out).
    async fn sealed_of(&mut self, block: &Block) -> Result<Arc<SealedBlock>, Failure> {
        if let Some(sealed) = self.sealed.get(&block.hash()) {
            return Ok(Arc::clone(sealed));
        }
        let (mempool, chain_id, block) = (
            self.mempool.clone(),
            self.chain.rules().chain_id(),
            block.clone(),
        );
        self.blocking(move || {
            Arc::new(SealedBlock::of(&block, chain_id, |tx| {
                mempool.sender(tx).ok()
            }))
        })
        .await
    }

    /// Hands `block`, decided at `height` by these precommits, to the opener.
    async fn queue_opening(
        &mut self,
        height: u64,
        block: &Block,
        extensions: Vec<(ValidatorAddress, SignedExtension<OrdoContext>)>,
        decided_at: std::time::Instant,
    ) -> Result<(), Failure> {
        let (Some(opener), Some(decryption)) =
            (self.params.opener.clone(), self.decryption_at(height))
        else {
            return Ok(());
        };
        let hash = block.hash();
        let checked = extensions
            .iter()
            .filter_map(|(a, _)| Some((a.0, self.checked.remove(&(hash, a.0))?)))
            .collect();
        let job = OpenJob {
            height,
            block: self.sealed_of(block).await?,
            extensions,
            checked,
            decryption,
            decided_at,
        };
        opener
            .send(job)
            .map_err(|_| Failure::Fatal(eyre::eyre!("the opener stopped")))
    }

    /// Queues the recent decided blocks whose encrypted transactions were not opened before the
    /// node stopped (their shares are in the stored extensions).
    async fn reopen(&mut self) -> Result<(), Failure> {
        if self.params.opener.is_none() {
            return Ok(());
        }
        let tip = self.chain.tip().height;
        for height in tip.saturating_sub(MAX_REOPENED - 1).max(1)..=tip {
            let Some(block) = self.store_io(move |s| s.block(height)).await? else {
                continue;
            };
            if self.store_io(move |s| s.has_opened(height)).await?
                || !signed(&block).any(|tx| tx.sealed().is_some())
            {
                continue;
            }
            let extensions =
                decode_extensions(&self.store_io(move |s| s.extensions(height)).await?)
                    .map_err(|e| Failure::Fatal(eyre::eyre!("stored extensions: {e}")))?;
            info!(target: "ordo::consensus", height, "opening a block decided before the restart");
            self.queue_opening(height, &block, extensions, std::time::Instant::now())
                .await?;
        }
        Ok(())
    }

    /// Runs store I/O on the blocking pool, off the consensus task's thread.
    async fn store_io<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Failure> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| Failure::Fatal(eyre::eyre!("store task: {e}")))?
            .map_err(Failure::from)
    }

    /// The block this node proposes at (height, round): the one it built before, if it crashed
    /// after building it, or a new one.
    async fn own_proposal(&mut self, height: u64, round: u32) -> Result<StoredProposal, Failure> {
        if let Some(stored) = self
            .store_io(move |s| s.own_proposal(height, round))
            .await?
        {
            return Ok(stored);
        }
        let key = self
            .key
            .clone()
            .ok_or_else(|| Failure::Message(eyre::eyre!("asked to propose without a key")))?;
        let limits = self.chain.rules().limits;
        let releases = self.releases_due(&key).await?;
        let (mempool, address) = (self.mempool.clone(), key.address());
        #[cfg(feature = "byzantine")]
        let fault = self.params.fault;
        let (_, block) = self
            .off_task(move |chain, cx| {
                // The released keys first: they are small, and what the lane's history needs.
                #[allow(unused_mut)]
                let mut candidates: Vec<ordo_chain::Candidate> = releases
                    .into_iter()
                    .map(ordo_chain::Candidate::Release)
                    .chain(
                        mempool.select(
                            limits
                                .max_block_bytes
                                .saturating_sub(ordo_types::Header::ENCODED_LEN + 64),
                            limits.max_transactions as usize,
                        ),
                    )
                    .collect();
                #[allow(unused_mut)]
                let (origin, mut forced) = chain.l1_proposal(round, cx.l1);
                #[cfg(feature = "byzantine")]
                crate::byzantine::censor(fault, &mut forced, &mut candidates, &mempool);
                #[cfg(feature = "byzantine")]
                let cx = &ordo_chain::Context {
                    bundles: if crate::byzantine::ignores_bundles(fault) {
                        &ordo_chain::NoBundles
                    } else {
                        cx.bundles
                    },
                    ..*cx
                };
                chain.build_with(address, origin, &forced, candidates, cx)
            })
            .await?;
        let block = block?;
        #[cfg(feature = "byzantine")]
        let block = {
            let mut block = block;
            let chain_id = self.chain.rules().chain_id();
            let key_id = self
                .chain
                .rules()
                .admission
                .encryption()
                .map_or(0, |k| k.key_id);
            crate::byzantine::corrupt(self.params.fault, &mut block, &limits, chain_id, key_id);
            block
        };
        let chain_id = self.chain.rules().chain_id();
        let digest = ordo_types::proposal_digest(chain_id, height, round, None, block.hash());
        let proposal = StoredProposal {
            round,
            pol_round: None,
            proposer: key.address(),
            signature: Some(key.sign_digest(&digest)),
            valid: true,
            block,
        };
        self.keep(height, proposal.clone(), true).await?;
        Ok(proposal)
    }

    /// Stores a proposal for `height` (for a restart) and keeps it decoded until the height is
    /// decided.
    async fn keep(
        &mut self,
        height: u64,
        proposal: StoredProposal,
        own: bool,
    ) -> Result<(), Failure> {
        let stored = proposal.clone();
        self.store_io(move |s| s.put_proposal(height, &stored, own))
            .await?;
        if self.proposals.len() < MAX_PROPOSALS_KEPT {
            self.proposals.insert(proposal.block.hash(), proposal);
        }
        Ok(())
    }

    async fn publish(
        &self,
        channels: &Channels<OrdoContext>,
        height: u64,
        round: u32,
        attempt: u8,
        proposal: &StoredProposal,
    ) -> Result<(), Failure> {
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
        let keys = {
            let mempool = self.mempool.clone();
            let block = proposal.block.clone();
            tokio::task::spawn_blocking(move || {
                mempool.claimed_keys(&signed(&block).collect::<Vec<_>>())
            })
            .await
            .unwrap_or_default()
        };
        let messages = stream_messages(
            StreamId::new(Bytes::from(id)),
            init,
            &proposal.block.encode(),
            &keys,
            signature,
            CHUNK_SIZE,
        );
        for message in messages {
            channels
                .network
                .send(NetworkMsg::PublishProposalPart(message))
                .await
                .map_err(|e| Failure::Fatal(eyre::eyre!("network channel: {e}")))?;
        }
        Ok(())
    }

    /// A complete proposal stream from the network.
    async fn received(
        &mut self,
        assembled: Assembled,
    ) -> Result<Option<ProposedValue<OrdoContext>>, Failure> {
        match assembled.init.height.0.cmp(&self.height()) {
            std::cmp::Ordering::Less => Ok(None),
            std::cmp::Ordering::Greater => {
                // Checked when this node gets there (the committee may change at an epoch).
                if self.future.len() < MAX_FUTURE_PROPOSALS {
                    self.future.push(assembled);
                }
                Ok(None)
            }
            std::cmp::Ordering::Equal => self.verify_and_accept(assembled).await,
        }
    }

    /// Drops a proposal stream for `reason` and bans its publisher from the consensus network:
    /// an honest node never publishes one this check refuses.
    fn refuse<T>(&self, publisher: PeerId, init: &ProposalInit, reason: &'static str) -> Option<T> {
        warn!(target: "ordo::consensus", proposer = %init.proposer, %publisher, "{reason}");
        self.params.bans.offence(publisher, reason);
        None
    }

    /// Checks that a proposal for the next height comes from a committee member with a valid
    /// signature, then judges and stores it.
    async fn verify_and_accept(
        &mut self,
        assembled: Assembled,
    ) -> Result<Option<ProposedValue<OrdoContext>>, Failure> {
        let init = assembled.init;
        let publisher = assembled.publisher;
        let Some(proposer) = self.set.inner().get(&init.proposer.0) else {
            return Ok(self.refuse(publisher, &init, "proposal from a non-validator"));
        };
        let Ok(block) = Block::decode(&assembled.block_bytes) else {
            return Ok(self.refuse(publisher, &init, "undecodable proposal"));
        };
        let round = round_u32(init.round);
        let digest = ordo_types::proposal_digest(
            self.chain.rules().chain_id(),
            init.height.0,
            round,
            init.pol_round.as_u32(),
            block.hash(),
        );
        if proposer
            .public_key
            .verify(&digest, &assembled.signature)
            .is_err()
        {
            return Ok(self.refuse(publisher, &init, "proposal with a bad signature"));
        }
        let (mempool, keys) = (self.mempool.clone(), assembled.keys);
        let (_, (block, verdict)) = self
            .off_task(move |chain, cx| {
                mempool.warm_senders(&signed(&block).collect::<Vec<_>>(), &keys);
                let verdict = chain.check(&block, round, cx);
                (block, verdict)
            })
            .await?;
        #[cfg(feature = "byzantine")]
        let verdict = if crate::byzantine::votes_nil(self.params.fault) {
            warn!(target: "ordo::consensus", height = self.height(), round, "test fault: refusing a proposal");
            Err(ordo_chain::BlockError::Mismatch {
                field: "test_fault",
                found: "vote_nil".into(),
                expected: "none".into(),
            })
        } else {
            verdict
        };
        if let Err(reason) = &verdict {
            warn!(
                target: "ordo::consensus", height = self.height(), round,
                proposer = %init.proposer, %reason, "invalid proposal: voting nil"
            );
        }
        let height = self.height();
        let proposal = StoredProposal {
            round,
            pol_round: init.pol_round.as_u32(),
            proposer: init.proposer.0,
            signature: Some(assembled.signature),
            valid: verdict.is_ok(),
            block,
        };
        let value = proposed_value(height, &proposal);
        self.keep(height, proposal, false).await?;
        Ok(Some(value))
    }

    /// Applies the decided block to the chain, persists it with its certificate and the nonces
    /// it moves, tells the mempool, then publishes it.
    async fn decided(
        &mut self,
        certificate: &MalachiteCertificate<OrdoContext>,
        extensions: Vec<(ValidatorAddress, SignedExtension<OrdoContext>)>,
    ) -> Result<(), Failure> {
        let height = certificate.height.0;
        let hash = certificate.value_id.0;
        let kept = self.proposals.remove(&hash);
        self.proposals.clear();
        let proposal = match kept {
            Some(proposal) => proposal,
            None => match self
                .store_io(move |s| s.proposal_by_hash(height, &hash))
                .await?
            {
                Some(proposal) => proposal,
                None => {
                    error!(target: "ordo::consensus", height, %hash, "decided a block this node does not have");
                    return Ok(());
                }
            },
        };
        let synced = proposal.signature.is_none();
        let (chain, (block, applied)) = self
            .off_task(move |chain, cx| {
                let applied = chain.apply(&proposal.block, cx);
                (proposal.block, applied)
            })
            .await?;
        let applied = applied?;
        self.chain = chain;
        self.keygen_block(&block, applied.keygen);
        self.take_announced(&block).await?;
        let decided_at = std::time::Instant::now();
        let encoded = encode_extensions(&extensions);
        let decided = Arc::new(DecidedBlock {
            block,
            certificate: to_certificate(certificate),
            opened: Vec::new(),
        });
        let signers = decided.certificate.signatures.len();
        let tx_count = decided.block.header.tx_count;
        let nonces = applied.nonces;
        let d = decided.clone();
        let nonces = self
            .store_io(move |s| {
                s.commit(&d, &encoded, &nonces)?;
                Ok(nonces)
            })
            .await?;
        let mempool = self.mempool.clone();
        let d = decided.clone();
        tokio::task::spawn_blocking(move || mempool.on_decided(&d.block, &nonces))
            .await
            .map_err(|e| Failure::Fatal(eyre::eyre!("mempool task: {e}")))?;
        info!(target: "ordo::consensus", height, %hash, txs = tx_count, signers, "decided");
        #[cfg(feature = "byzantine")]
        if crate::byzantine::crashes_before_opening(self.params.fault)
            && signed(&decided.block).any(|tx| tx.sealed().is_some())
        {
            error!(target: "ordo::consensus", height, "test fault: stopping before opening a decided block");
            std::process::exit(101);
        }
        self.queue_opening(height, &decided.block, extensions, decided_at)
            .await?;
        self.post_keygen().await?;
        self.sealed.clear();
        self.checked.clear();
        self.decided.send_replace(Some(decided));
        self.status.send_modify(|s| {
            s.height = height;
            s.latest_block_hash = hash;
            s.syncing = synced;
        });
        Ok(())
    }

    /// Takes the next height's committee from the header of `block`, just decided, if this
    /// node has not elected it (kept before the block, so a restart finds it).
    async fn take_announced(&mut self, block: &Block) -> Result<(), Failure> {
        let hash = block.hash();
        let announced = self
            .announced
            .take()
            .filter(|(h, _)| *h == hash)
            .map(|(_, set)| set);
        match self.chain.take_announced(&block.header, announced.as_ref()) {
            Ok(Some((epoch, set))) => {
                info!(
                    target: "ordo::consensus", epoch, members = set.len(), hash = %set.hash(),
                    "committee taken from a certified header (the L1 view is behind its election)"
                );
                self.store_io(move |s| s.put_committee(epoch, &set)).await
            }
            // Held when the L1 view reaches its election; `enter_height` says so.
            Ok(None) | Err(ChainError::CommitteeUnknown { .. }) => Ok(()),
            Err(e) => Err(Failure::Fatal(e.into())),
        }
    }

    /// A decided block received from a peer while catching up. Its certificate is checked by
    /// the engine; here the block must be well formed, extend this node's chain and come with
    /// the committee its header announces, which is kept until the block is decided.
    async fn synced(
        &mut self,
        height: u64,
        round: Round,
        proposer: ValidatorAddress,
        bytes: &[u8],
    ) -> Result<SyncedValueOutcome<OrdoContext>, Failure> {
        let synced = SyncedBlock::decode(bytes)
            .ok()
            .filter(|s| s.check().is_ok());
        let Some(SyncedBlock {
            block,
            next_validators,
        }) = synced
        else {
            warn!(target: "ordo::sync", height, "undecodable synced block or announced committee");
            return Ok(SyncedValueOutcome::PeerFault);
        };
        let h = &block.header;
        let tip = self.chain.tip();
        if h.height != height
            || h.height != tip.height + 1
            || h.chain_id != self.chain.rules().chain_id()
            || h.parent_hash != tip.hash
            || h.proposer != proposer.0
        {
            warn!(target: "ordo::sync", height, "synced block does not extend the chain");
            return Ok(SyncedValueOutcome::PeerFault);
        }
        self.status.send_modify(|s| s.syncing = true);
        self.announced = next_validators.map(|set| (block.hash(), set));
        let proposal = StoredProposal {
            round: round_u32(round),
            pol_round: None,
            proposer: proposer.0,
            signature: None,
            valid: true,
            block,
        };
        let value = proposed_value(height, &proposal);
        self.keep(height, proposal, false).await?;
        Ok(SyncedValueOutcome::Verdict(value))
    }
}

/// How long a height lasts at least (Malachite's target time, counted from the height's start):
/// the short block time when this node holds transactions ready, so they wait for the next block
/// little longer than consensus takes, and the full one when it holds none, so that an idle chain
/// does not pay for that latency.
fn target_time(mempool: &Mempool, block_time: Duration, min_block_time: Duration) -> Duration {
    if mempool.ready() > 0 {
        min_block_time
    } else {
        block_time
    }
}

/// The decided blocks of `heights` as this node serves them to a peer catching up, each with
/// the committee its header announces ([`SyncedBlock`]); it stops at the first it cannot serve.
fn decided_values(
    store: &Store,
    heights: std::ops::RangeInclusive<u64>,
    election: Option<ordo_chain::ElectionParams>,
) -> Result<Vec<RawDecidedValue<OrdoContext>>, StoreError> {
    let mut values = Vec::new();
    for h in heights {
        let Some(decided) = store.decided(h)? else {
            break;
        };
        let header = &decided.block.header;
        let next_validators = if header.next_validators_hash == header.validators_hash {
            None
        } else {
            let epoch = election.map_or(0, |e| e.epoch(h + 1));
            let Some(set) = store.committee(epoch)? else {
                warn!(target: "ordo::sync", height = h, epoch, "no committee to serve with the block");
                break;
            };
            Some(set)
        };
        let synced = SyncedBlock {
            block: decided.block,
            next_validators,
        };
        let extensions =
            decode_extensions(&store.extensions(h)?).map_err(|e| StoreError::Corrupt {
                table: "extensions",
                reason: e.to_string(),
            })?;
        values.push(RawDecidedValue::new(
            Bytes::from(synced.encode()),
            to_extended(&decided.certificate, &extensions),
        ));
    }
    Ok(values)
}

/// A block's signed transactions, in block order.
fn signed(block: &Block) -> impl Iterator<Item = &Transaction> {
    block.body.entries().filter_map(|(_, e)| match e {
        ordo_types::Entry::Signed(tx) => Some(tx),
        ordo_types::Entry::Forced(_) => None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ordo_chain::{Admission, NonceTable};
    use ordo_mempool::{MempoolConfig, Origin};

    fn pool() -> Mempool {
        let admission = Admission::new(7, ordo_rollup_adapters::Rollups::raw([1]));
        Mempool::in_memory(
            admission,
            MempoolConfig::default(),
            std::sync::Arc::new(NonceTable::default()),
        )
    }

    #[test]
    fn a_height_is_short_while_transactions_are_ready_and_long_while_none_is() {
        let (long, short) = (Duration::from_millis(200), Duration::from_millis(50));
        let mempool = pool();
        assert_eq!(target_time(&mempool, long, short), long);
        // A transaction whose nonce leaves a gap is parked, not ready: still idle.
        let key = SecretKey::random();
        let parked = Transaction::sign(1, 1, ordo_types::Bytes::new(), &key, 7);
        assert!(mempool.submit(vec![parked], Origin::Local)[0].is_ok());
        assert_eq!(target_time(&mempool, long, short), long);
        // Its predecessor makes both ready.
        let first = Transaction::sign(1, 0, ordo_types::Bytes::new(), &key, 7);
        assert!(mempool.submit(vec![first], Origin::Local)[0].is_ok());
        assert_eq!(mempool.ready(), 2);
        assert_eq!(target_time(&mempool, long, short), short);
    }
}
