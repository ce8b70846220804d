//! Watchers of the `StakeTable` and `Inbox` events, reading only confirmed L1 blocks.
//!
//! The [`Watcher`] reads the chain up to its *confirmed* block: the L1's `finalized` block when
//! [`WatchConfig::use_finalized_tag`] is set, otherwise `latest - confirmations`. Everything it
//! publishes in the [`L1View`] comes from blocks at or below that point, so a reorg shallower
//! than the depth never changes what Ordo reads. Its cursor (the next block to read) moves only
//! after a whole range has been read and checked, so an L1 outage delays events but never loses
//! or repeats one; inbox indexes are checked to be consecutive on top of that.
//!
//! Above the confirmed block it records the hashes of a few more blocks
//! ([`WatchConfig::lookahead_blocks`]) so that a validator can check an L1 origin proposed by a
//! node whose view is slightly ahead of its own.

use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::{SolCall, SolEvent};
use ordo_contracts::{Inbox, StakeTable};
use ordo_types::{Batch, InboxItem, L1Block, L1View, StakeEvent};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::client::L1Client;
use crate::error::L1Error;

/// How a [`Watcher`] reads the L1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Blocks below the L1 head that count as confirmed (chains without finality, as Anvil).
    pub confirmations: u64,
    /// Read up to the L1's `finalized` block instead of `latest - confirmations`.
    pub use_finalized_tag: bool,
    /// Pause between polls, milliseconds.
    pub poll_interval_ms: u64,
    /// Most blocks read by one `eth_getLogs`.
    pub max_log_range: u64,
    /// Blocks above the confirmed one whose hashes are recorded (the L1 origin tolerance).
    pub lookahead_blocks: u64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            confirmations: 2,
            use_finalized_tag: false,
            poll_interval_ms: 500,
            max_log_range: 1_000,
            lookahead_blocks: 2,
        }
    }
}

/// The contracts a watcher follows and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedContracts {
    /// The `StakeTable`.
    pub stake_table: Address,
    /// The `Inbox`.
    pub inbox: Address,
    /// First L1 block to read (the deployment block).
    pub start_block: u64,
}

/// Inbox items and stake events (with their L1 block) decoded from a range's logs.
pub type DecodedLogs = (Vec<InboxItem>, Vec<(u64, StakeEvent)>);

/// Decodes the logs of the watched contracts, sorted by (block, log index). A log from
/// another address, with an unknown topic that is not one of the ignored events, or whose data
/// does not decode is refused: the node must not guess.
pub fn decode_logs(contracts: &WatchedContracts, logs: &[Log]) -> Result<DecodedLogs, L1Error> {
    let mut sorted: Vec<&Log> = logs.iter().collect();
    sorted.sort_by_key(|l| (l.block_number, l.log_index));
    let mut inbox = Vec::new();
    let mut stake = Vec::new();
    for log in sorted {
        let block = log.block_number;
        let malformed = |reason: String| L1Error::MalformedLog { block, reason };
        if log.removed {
            return Err(malformed("removed log in a confirmed range".into()));
        }
        let Some(number) = block else {
            return Err(malformed("log without a block number".into()));
        };
        let Some(topic) = log.topic0().copied() else {
            return Err(malformed("log without topics".into()));
        };
        let address = log.address();
        if address == contracts.inbox {
            if topic == Inbox::ForcedInclusion::SIGNATURE_HASH {
                let e = Inbox::ForcedInclusion::decode_log_validate(&log.inner)
                    .map_err(|e| malformed(format!("ForcedInclusion: {e}")))?
                    .data;
                if e.l1Block != number {
                    return Err(malformed(format!(
                        "ForcedInclusion {} says block {} but is in {number}",
                        e.index, e.l1Block
                    )));
                }
                inbox.push(InboxItem {
                    index: e.index,
                    namespace: e.namespace,
                    sender: e.sender,
                    payload: e.payload,
                    l1_block: e.l1Block,
                });
            } else if topic != Inbox::Parameters::SIGNATURE_HASH
                && topic != Inbox::FeesSwept::SIGNATURE_HASH
            {
                return Err(malformed(format!("unknown Inbox event {topic}")));
            }
        } else if address == contracts.stake_table {
            let event = if topic == StakeTable::ValidatorRegistered::SIGNATURE_HASH {
                let e = StakeTable::ValidatorRegistered::decode_log_validate(&log.inner)
                    .map_err(|e| malformed(format!("ValidatorRegistered: {e}")))?
                    .data;
                Some(StakeEvent::Registered {
                    validator: e.validator,
                    operator: e.operator,
                    public_key: None,
                })
            } else if topic == StakeTable::StakeUpdated::SIGNATURE_HASH {
                let e = StakeTable::StakeUpdated::decode_log_validate(&log.inner)
                    .map_err(|e| malformed(format!("StakeUpdated: {e}")))?
                    .data;
                Some(StakeEvent::StakeUpdated {
                    validator: e.validator,
                    active_stake: e.activeStake,
                    self_stake: e.selfStake,
                })
            } else if topic == StakeTable::Jailed::SIGNATURE_HASH {
                let e = StakeTable::Jailed::decode_log_validate(&log.inner)
                    .map_err(|e| malformed(format!("Jailed: {e}")))?
                    .data;
                Some(StakeEvent::Jailed {
                    validator: e.validator,
                })
            } else if [
                StakeTable::Parameters::SIGNATURE_HASH,
                StakeTable::AddressesUpdated::SIGNATURE_HASH,
                StakeTable::Staked::SIGNATURE_HASH,
                StakeTable::UnstakeRequested::SIGNATURE_HASH,
                StakeTable::Withdrawn::SIGNATURE_HASH,
                StakeTable::Slashed::SIGNATURE_HASH,
            ]
            .contains(&topic)
            {
                None
            } else {
                return Err(malformed(format!("unknown StakeTable event {topic}")));
            };
            if let Some(event) = event {
                stake.push((number, event));
            }
        } else {
            return Err(malformed(format!("log from unwatched address {address}")));
        }
    }
    Ok((inbox, stake))
}

/// Reads the watched contracts' events from confirmed L1 blocks and publishes an [`L1View`].
#[derive(Debug)]
pub struct Watcher {
    client: L1Client,
    contracts: WatchedContracts,
    config: WatchConfig,
    /// Next block to read.
    next_block: u64,
    /// The last block read (the parent of `next_block`).
    last: Option<L1Block>,
    /// The L1's chain id, read once (for proofs of possession).
    l1_chain_id: Option<u64>,
}

impl Watcher {
    /// A watcher that starts at `contracts.start_block`.
    pub fn new(client: L1Client, contracts: WatchedContracts, config: WatchConfig) -> Self {
        Self {
            client,
            next_block: contracts.start_block,
            contracts,
            config,
            last: None,
            l1_chain_id: None,
        }
    }

    /// A watcher that continues after `view`'s confirmed block (a view this watcher's
    /// contracts produced), checking that the chain still extends it, and publishing `view`
    /// first. Falls back to [`Watcher::new`] when the view has read nothing.
    pub fn resume(
        client: L1Client,
        contracts: WatchedContracts,
        config: WatchConfig,
        view: &L1View,
    ) -> Self {
        let mut watcher = Self::new(client, contracts, config);
        if let Some(confirmed) = view.confirmed {
            watcher.next_block = confirmed.number.saturating_add(1);
            watcher.last = Some(confirmed);
        }
        watcher
    }

    /// The next block this watcher will read.
    pub fn next_block(&self) -> u64 {
        self.next_block
    }

    async fn header(&self, number: u64) -> Result<(B256, B256), L1Error> {
        let block = self
            .client
            .request("eth_getBlockByNumber", move |p| async move {
                p.get_block_by_number(BlockNumberOrTag::Number(number))
                    .await
            })
            .await?
            .ok_or(L1Error::MissingBlock(number))?;
        Ok((block.header.hash, block.header.parent_hash))
    }

    /// Fills in the consensus public key of each registration from the proof of possession in
    /// its transaction's `register` calldata.
    async fn recover_public_keys(
        &mut self,
        logs: &[Log],
        events: &mut [(u64, StakeEvent)],
    ) -> Result<(), L1Error> {
        if !events
            .iter()
            .any(|(_, e)| matches!(e, StakeEvent::Registered { .. }))
        {
            return Ok(());
        }
        let chain_id = match self.l1_chain_id {
            Some(id) => id,
            None => {
                let id = self.client.chain_id().await?;
                self.l1_chain_id = Some(id);
                id
            }
        };
        for log in logs {
            if log.address() != self.contracts.stake_table
                || log.topic0() != Some(&StakeTable::ValidatorRegistered::SIGNATURE_HASH)
            {
                continue;
            }
            let Some(tx_hash) = log.transaction_hash else {
                continue;
            };
            let tx = self
                .client
                .request("eth_getTransactionByHash", move |p| async move {
                    p.get_transaction_by_hash(tx_hash).await
                })
                .await?;
            let key = tx.and_then(|tx| {
                use alloy::consensus::Transaction as _;
                let call = StakeTable::registerCall::abi_decode(tx.input()).ok()?;
                let operator = tx.inner.signer();
                let digest = crate::calldata::possession_digest(
                    chain_id,
                    self.contracts.stake_table,
                    operator,
                );
                let signature = ordo_types::Signature::from_slice(&call.proof).ok()?;
                let key = signature.recover_public_key(&digest).ok()?;
                (key.address() == call.validator).then_some((call.validator, key))
            });
            let Some((validator, key)) = key else {
                tracing::warn!(target: "ordo::l1", tx = %tx_hash, "registration not made by a direct register call: its validator cannot be elected");
                continue;
            };
            for (_, event) in events.iter_mut() {
                if let StakeEvent::Registered {
                    validator: v,
                    public_key,
                    ..
                } = event
                {
                    if *v == validator {
                        *public_key = Some(key);
                    }
                }
            }
        }
        Ok(())
    }

    /// The L1 head and the confirmed block number.
    async fn targets(&self) -> Result<(u64, u64), L1Error> {
        let head = self
            .client
            .request(
                "eth_blockNumber",
                |p| async move { p.get_block_number().await },
            )
            .await?;
        let confirmed = if self.config.use_finalized_tag {
            self.client
                .request("eth_getBlockByNumber(finalized)", |p| async move {
                    p.get_block_by_number(BlockNumberOrTag::Finalized).await
                })
                .await?
                .map_or(0, |b| b.header.number)
        } else {
            head.saturating_sub(self.config.confirmations)
        };
        Ok((head, confirmed.min(head)))
    }

    /// Reads the next range of confirmed blocks, if there is one. Returns the batch read, or
    /// `None` when the watcher is at the confirmed block. The cursor only moves on success.
    pub async fn poll(&mut self) -> Result<Option<Batch>, L1Error> {
        let (head, confirmed) = self.targets().await?;
        if confirmed < self.next_block {
            return Ok(None);
        }
        let from = self.next_block;
        let to = confirmed.min(from.saturating_add(self.config.max_log_range.max(1) - 1));
        let filter = Filter::new()
            .address(vec![self.contracts.stake_table, self.contracts.inbox])
            .from_block(from)
            .to_block(to);
        let logs = self
            .client
            .request("eth_getLogs", |p| {
                let filter = filter.clone();
                async move { p.get_logs(&filter).await }
            })
            .await?;
        // Block hashes: every block of a short range (the steady state), the ends of a long
        // one (catching up), each checked to extend the block read before.
        let numbers: Vec<u64> = if to - from < 64 {
            (from..=to).collect()
        } else {
            vec![from, to]
        };
        let mut hashes = Vec::with_capacity(numbers.len());
        let mut parent = self.last;
        for number in numbers {
            let (hash, parent_hash) = self.header(number).await?;
            if let Some(p) = parent.filter(|p| p.number + 1 == number) {
                if p.hash != parent_hash {
                    return Err(L1Error::DeepReorg {
                        number,
                        found: parent_hash,
                        expected: p.hash,
                    });
                }
            }
            parent = Some(L1Block { number, hash });
            hashes.push((number, hash));
        }
        let end = parent.ok_or(L1Error::MissingBlock(to))?;
        for log in &logs {
            if let (Some(n), Some(h)) = (log.block_number, log.block_hash) {
                if let Some((_, known)) = hashes.iter().find(|(k, _)| *k == n) {
                    if *known != h {
                        return Err(L1Error::DeepReorg {
                            number: n,
                            found: h,
                            expected: *known,
                        });
                    }
                }
            }
        }
        let (inbox, mut stake_events) = decode_logs(&self.contracts, &logs)?;
        self.recover_public_keys(&logs, &mut stake_events).await?;
        if to == confirmed {
            let top = head.min(to.saturating_add(self.config.lookahead_blocks));
            for number in to + 1..=top {
                match self.header(number).await {
                    Ok((hash, _)) => hashes.push((number, hash)),
                    Err(_) => break,
                }
            }
        }
        self.next_block = to + 1;
        self.last = Some(end);
        Ok(Some(Batch {
            confirmed: end,
            hashes,
            inbox,
            stake_events,
        }))
    }

    /// Runs the watcher until every receiver of its view is gone: reads whatever is
    /// confirmed, publishes it, then waits `poll_interval_ms`. Errors are logged and published
    /// in [`L1View::last_error`]; the read is retried from the same block.
    pub fn spawn(self) -> (watch::Receiver<L1View>, tokio::task::JoinHandle<()>) {
        self.spawn_from(L1View::default())
    }

    /// Like [`Watcher::spawn`], publishing `view` (the one [`Watcher::resume`] was given) until
    /// the first new read.
    pub fn spawn_from(
        self,
        view: L1View,
    ) -> (watch::Receiver<L1View>, tokio::task::JoinHandle<()>) {
        let (tx, rx) = watch::channel(view);
        let handle = tokio::spawn(self.run(tx));
        (rx, handle)
    }

    /// Runs the watcher, publishing into `view`, until every receiver of it is gone (what
    /// [`Watcher::spawn_from`] spawns; a supervisor that restarts the watcher into the same
    /// channel calls it directly).
    pub async fn run(mut self, view: watch::Sender<L1View>) {
        let interval = Duration::from_millis(self.config.poll_interval_ms.max(1));
        loop {
            let before = (self.next_block, self.last);
            match self.poll().await {
                Ok(Some(batch)) => {
                    let (from, to, items) = (before.0, batch.confirmed.number, batch.inbox.len());
                    let mut failed = None;
                    view.send_modify(|v| {
                        if let Err(e) = v.apply(batch) {
                            v.last_error = Some(e.to_string());
                            failed = Some(e);
                        }
                    });
                    match failed {
                        None => {
                            tracing::debug!(target: "ordo::l1", from, to, items, "read L1 blocks");
                            // More may be confirmed already (catching up): read on at once.
                            continue;
                        }
                        Some(e) => {
                            tracing::error!(target: "ordo::l1", error = %e, "L1 events refused");
                            // Re-read the same range after the pause.
                            (self.next_block, self.last) = before;
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(target: "ordo::l1", error = %e, next = self.next_block, "L1 read failed; retrying");
                    let message = e.to_string();
                    view.send_modify(|v| v.last_error = Some(message));
                }
            }
            if view.is_closed() {
                return;
            }
            tokio::time::sleep(interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloy::primitives::{Bytes, LogData};

    const INBOX: Address = Address::repeat_byte(0x1b);
    const STAKE: Address = Address::repeat_byte(0x57);

    fn contracts() -> WatchedContracts {
        WatchedContracts {
            stake_table: STAKE,
            inbox: INBOX,
            start_block: 1,
        }
    }

    fn log(address: Address, data: LogData, block: Option<u64>, index: u64) -> Log {
        Log {
            inner: alloy::primitives::Log { address, data },
            block_number: block,
            log_index: Some(index),
            ..Log::default()
        }
    }

    fn forced(index: u64, block: u64) -> Log {
        let event = Inbox::ForcedInclusion {
            index,
            namespace: 4,
            sender: Address::repeat_byte(9),
            payload: Bytes::from(vec![index as u8]),
            l1Block: block,
            fee: alloy::primitives::U256::from(1),
        };
        log(INBOX, event.encode_log_data(), Some(block), index)
    }

    fn item(index: u64) -> InboxItem {
        InboxItem {
            index,
            namespace: 4,
            sender: Address::repeat_byte(9),
            payload: Bytes::from(vec![index as u8]),
            l1_block: 10,
        }
    }

    #[test]
    fn decodes_events_in_chain_order() {
        let jailed = log(
            STAKE,
            StakeTable::Jailed {
                validator: Address::repeat_byte(7),
            }
            .encode_log_data(),
            Some(11),
            0,
        );
        let (inbox, stake) =
            decode_logs(&contracts(), &[jailed, forced(1, 10), forced(0, 10)]).unwrap();
        assert_eq!(
            inbox.iter().map(|i| i.index).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(
            stake,
            vec![(
                11,
                StakeEvent::Jailed {
                    validator: Address::repeat_byte(7)
                }
            )]
        );
    }

    #[test]
    fn malformed_logs_are_refused() {
        let good = forced(0, 10);
        let mut cases = Vec::new();
        // From an address nobody watches.
        let mut other = good.clone();
        other.inner.address = Address::repeat_byte(1);
        cases.push(other);
        // Without a block number.
        let mut no_block = good.clone();
        no_block.block_number = None;
        cases.push(no_block);
        // Removed by a reorg.
        let mut removed = good.clone();
        removed.removed = true;
        cases.push(removed);
        // An unknown topic.
        cases.push(log(
            INBOX,
            LogData::new_unchecked(vec![B256::repeat_byte(3)], Bytes::new()),
            Some(10),
            0,
        ));
        // No topics at all.
        cases.push(log(STAKE, LogData::default(), Some(10), 0));
        // The right topic with truncated data.
        let mut truncated = good.clone();
        let data = truncated.inner.data.data.slice(..40);
        truncated.inner.data = LogData::new_unchecked(truncated.inner.data.topics().to_vec(), data);
        cases.push(truncated);
        // An event claiming another block than the one it is in.
        cases.push(forced(0, 9).tap_block(10));
        for (i, case) in cases.into_iter().enumerate() {
            let err = decode_logs(&contracts(), &[case]).unwrap_err();
            assert!(
                matches!(err, L1Error::MalformedLog { .. }),
                "case {i}: {err}"
            );
        }
    }

    trait TapBlock {
        fn tap_block(self, block: u64) -> Self;
    }
    impl TapBlock for Log {
        fn tap_block(mut self, block: u64) -> Self {
            self.block_number = Some(block);
            self
        }
    }

    fn batch(confirmed: u64, inbox: Vec<InboxItem>) -> Batch {
        Batch {
            confirmed: L1Block {
                number: confirmed,
                hash: B256::with_last_byte(confirmed as u8),
            },
            hashes: vec![(confirmed, B256::with_last_byte(confirmed as u8))],
            inbox,
            stake_events: Vec::new(),
        }
    }

    #[test]
    fn the_view_refuses_gaps_and_changed_items_and_skips_repeats() {
        let mut view = L1View::default();
        view.apply(batch(10, vec![item(0), item(1)])).unwrap();
        // A repeat of what is held is skipped, the rest appended.
        view.apply(batch(11, vec![item(1), item(2)])).unwrap();
        assert_eq!(view.inbox().len(), 3);
        // A gap is refused and changes nothing.
        let err = view.apply(batch(12, vec![item(4)])).unwrap_err();
        assert!(matches!(
            err,
            ordo_types::L1ViewError::InboxGap {
                found: 4,
                expected: 3
            }
        ));
        assert_eq!(view.confirmed_number(), 11);
        // A different item under a held index is refused.
        let mut changed = item(2);
        changed.payload = Bytes::from_static(b"other");
        assert!(view.apply(batch(12, vec![changed])).is_err());
        assert_eq!(view.inbox().len(), 3);
        assert_eq!(view.block_hash(10), Some(B256::with_last_byte(10)));
        assert_eq!(view.block_hash(12), None);
    }
}
