//! The block rules as pure functions: [`assemble`] packs a block for a [`Template`], and
//! [`verify`] checks a received one against an [`Expectation`]. Both judge transactions through
//! the same [`Facts`] and the same nonce rule, so a block this node builds is one it accepts.
//!
//! # Force inclusion
//! With an L1 ([`Expectation::l1`]), each block names an L1 origin (number and hash) that
//! never goes backwards and that the validator can see: a block its own L1 view holds with the
//! same hash, at most `origin_tolerance` blocks above its confirmed block (or the parent's
//! origin unchanged). Inbox items are included in inbox order, each as a forced entry at the
//! front of its namespace's group, starting at the parent's `inbox_cursor`; the header's
//! `inbox_cursor` counts the items included so far. An item whose deadline (`l1_block +
//! inclusion_delay`) is at or before the block's L1 origin must be in the block or an earlier
//! one, unless the block is full; earlier inclusion is allowed.

use std::collections::HashSet;

use std::collections::HashMap;

use ordo_types::{
    Address, Auth, Block, Body, Bundle, Encode, Entry, ForcedTransaction, Header, InboxItem,
    L1View, NamespaceEntries, PlacedBundle, Transaction, B256,
};

use crate::bundles::{Candidate, KnownBundles};
use crate::lane::{Releases, KEYS_NAMESPACE};
use crate::nonces::{BlockNonces, NonceReader, Senders};
use crate::{Admission, BlockError, BlockLimits};

/// The header fields of the block at `height` that follow from the chain before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) chain_id: u64,
    pub(crate) height: u64,
    pub(crate) epoch: u64,
    /// Hash of the block at `height - 1` (zero at height 1).
    pub(crate) parent_hash: B256,
    /// Timestamp of the parent (genesis time at height 1).
    pub(crate) parent_timestamp_ms: u64,
    pub(crate) proposer: Address,
    pub(crate) validators_hash: B256,
    pub(crate) next_validators_hash: B256,
    /// Inbox items included up to the parent (the parent's `inbox_cursor`).
    pub(crate) inbox_cursor: u64,
    /// The L1 origin the block names: number (0 without an L1) and hash.
    pub(crate) l1_origin_number: u64,
    pub(crate) l1_origin_hash: B256,
    /// The commitment to the key that opens the block's encrypted transactions (zero where
    /// the lane is closed).
    pub(crate) encryption_key_hash: B256,
}

/// What a validator expects of the block at a height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expectation {
    /// The template the block must follow (its L1 origin fields are the parent's).
    pub(crate) template: Template,
    pub(crate) now_ms: u64,
    pub(crate) max_clock_drift_ms: u64,
    pub(crate) limits: BlockLimits,
    /// The force-inclusion rule, when the chain has an L1; without one the L1 origin must be
    /// zero and no block may hold forced entries.
    pub(crate) l1: Option<L1Expectation>,
}

/// What a validator knows to check a block's L1 origin and inbox entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct L1Expectation {
    pub(crate) inclusion_delay: u64,
    /// How far above this validator's confirmed L1 block an origin may be.
    pub(crate) origin_tolerance: u64,
}

/// What the rules read besides the block: the admission rules, who signed what, the decided
/// nonces, this node's L1 view and the bundles it holds.
#[derive(Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) admission: &'a Admission,
    pub(crate) senders: &'a dyn Senders,
    pub(crate) nonces: &'a dyn NonceReader,
    pub(crate) l1: Option<&'a L1View>,
    pub(crate) bundles: &'a dyn KnownBundles,
    /// The heights whose released keys a block may commit.
    pub(crate) releases: &'a Releases,
}

impl Facts<'_> {
    fn inbox_item(&self, index: u64) -> Option<&InboxItem> {
        self.l1?.inbox_item(index)
    }

    /// The forced entry's effect on the nonces (see [`crate::nonces`]).
    fn forced_nonce(&self, nonces: &mut BlockNonces<'_>, namespace: u64, f: &ForcedTransaction) {
        nonces.forced(
            namespace,
            self.admission.forced_account(namespace, &f.payload),
        );
    }
}

/// Fixed encoded overhead of a block besides its entries and bundles: header, namespace-group
/// and bundle counts.
const BLOCK_OVERHEAD: usize = Header::ENCODED_LEN + 4 + 4;
/// Encoded overhead of one namespace group: namespace id and entry count.
const GROUP_OVERHEAD: usize = 8 + 4;

/// Encoded size an inbox item adds to a block whose namespace groups are `groups`.
fn forced_size(item: &InboxItem, groups: &[NamespaceEntries]) -> usize {
    let entry = 1usize.saturating_add(item.to_forced().encoded_len());
    let group = if groups.iter().any(|g| g.namespace == item.namespace) {
        0
    } else {
        GROUP_OVERHEAD
    };
    entry.saturating_add(group)
}

fn push(groups: &mut Vec<NamespaceEntries>, namespace: u64, entry: Entry) {
    match groups.iter_mut().find(|g| g.namespace == namespace) {
        Some(g) => g.entries.push(entry),
        None => groups.push(NamespaceEntries {
            namespace,
            entries: vec![entry],
        }),
    }
}

/// A block being packed: its groups, encoded size and entry count so far.
struct Packing {
    groups: Vec<NamespaceEntries>,
    size: usize,
    count: u32,
    /// Encrypted transactions among `count`.
    encrypted: u32,
}

/// Whether `tx` is an encrypted transaction (its payload opened only once decided).
fn is_encrypted(tx: &Transaction) -> bool {
    matches!(tx.auth(), Auth::Encrypted(_))
}

impl Packing {
    /// The encoded size `txs` would add (entries, and groups for namespaces not yet present).
    fn added<'a>(&self, txs: impl Iterator<Item = &'a Transaction>) -> usize {
        let mut new_groups: Vec<u64> = Vec::new();
        txs.fold(0usize, |acc, tx| {
            let ns = tx.namespace();
            let group = if self.groups.iter().any(|g| g.namespace == ns) || new_groups.contains(&ns)
            {
                0
            } else {
                new_groups.push(ns);
                GROUP_OVERHEAD
            };
            acc.saturating_add(1usize.saturating_add(tx.encoded_len()))
                .saturating_add(group)
        })
    }

    /// Whether `added` bytes and `count` more entries, `encrypted` of them encrypted, fit the
    /// limits.
    fn fits(&self, added: usize, count: usize, encrypted: usize, limits: &BlockLimits) -> bool {
        self.size.saturating_add(added) <= limits.max_block_bytes
            && (self.count as usize).saturating_add(count) <= limits.max_transactions as usize
            && (self.encrypted as usize).saturating_add(encrypted)
                <= limits.max_encrypted_transactions as usize
    }

    fn push(&mut self, namespace: u64, entry: Entry) {
        if matches!(&entry, Entry::Signed(tx) if is_encrypted(tx)) {
            self.encrypted += 1;
        }
        push(&mut self.groups, namespace, entry);
        self.count += 1;
    }

    /// The length of `namespace`'s group so far.
    fn group_len(&self, namespace: u64) -> u32 {
        self.groups
            .iter()
            .find(|g| g.namespace == namespace)
            .map_or(0, |g| u32::try_from(g.entries.len()).unwrap_or(u32::MAX))
    }
}

/// Builds the block for `template`. Inbox items come first: `forced` are the items from the
/// parent's `inbox_cursor` on, in index order (the caller passes at least the due ones); they
/// are taken in order, as far as they fit, each at the front of its namespace's group. Then
/// the candidates (in priority order) fill what is left, skipping any the rules refuse (an
/// unregistered namespace, a rollup's refusal, an unknown sender, a nonce that is not the
/// account's next, a transaction of a bundle this node holds offered alone) and any bundle
/// outside its terms or that does not fit whole. The timestamp is `now_ms`, or one past the
/// parent's if the clock is behind.
pub(crate) fn assemble(
    template: &Template,
    now_ms: u64,
    forced: &[InboxItem],
    candidates: Vec<Candidate>,
    limits: &BlockLimits,
    facts: &Facts<'_>,
) -> Block {
    let timestamp_ms = now_ms.max(template.parent_timestamp_ms.saturating_add(1));
    let mut packing = Packing {
        groups: Vec::new(),
        size: BLOCK_OVERHEAD,
        count: 0,
        encrypted: 0,
    };
    let mut cursor = template.inbox_cursor;
    let mut nonces = BlockNonces::new(facts.nonces);
    let mut bundles: Vec<PlacedBundle> = Vec::new();
    for item in forced {
        let added = forced_size(item, &packing.groups);
        if item.index != cursor || !packing.fits(added, 1, 0, limits) {
            break;
        }
        packing.size += added;
        cursor += 1;
        let forced = item.to_forced();
        facts.forced_nonce(&mut nonces, item.namespace, &forced);
        packing.push(item.namespace, Entry::Forced(forced));
    }
    for candidate in candidates {
        if packing.count >= limits.max_transactions {
            break;
        }
        match candidate {
            Candidate::Tx(tx) => {
                let added = packing.added(std::iter::once(&tx));
                if !packing.fits(added, 1, usize::from(is_encrypted(&tx)), limits)
                    || facts.admission.check_at(&tx, template.height).is_err()
                    || facts.bundles.bundle_of(&tx.hash()).is_some()
                {
                    continue;
                }
                let Some(sender) = facts.senders.sender(&tx) else {
                    continue;
                };
                if nonces.signed(sender, tx.namespace(), tx.nonce()).is_err() {
                    continue;
                }
                packing.size += added;
                packing.push(tx.namespace(), Entry::Signed(tx));
            }
            Candidate::Release(tx) => {
                let added = packing.added(std::iter::once(&tx));
                if tx.namespace() == KEYS_NAMESPACE && packing.fits(added, 1, 0, limits) {
                    packing.size += added;
                    packing.push(KEYS_NAMESPACE, Entry::Signed(tx));
                }
            }
            Candidate::Bundle(bundle) => {
                if let Some(placed) = place(
                    &bundle,
                    template.height,
                    timestamp_ms,
                    &mut packing,
                    &mut nonces,
                    limits,
                    facts,
                ) {
                    bundles.push(placed);
                }
            }
        }
    }
    packing.groups.sort_by_key(|g| g.namespace);
    let body = Body {
        namespaces: packing.groups,
        bundles,
    };
    let header = Header {
        chain_id: template.chain_id,
        height: template.height,
        epoch: template.epoch,
        timestamp_ms,
        parent_hash: template.parent_hash,
        proposer: template.proposer,
        namespace_root: body.namespace_root(),
        tx_count: packing.count,
        validators_hash: template.validators_hash,
        next_validators_hash: template.next_validators_hash,
        l1_origin_number: template.l1_origin_number,
        l1_origin_hash: template.l1_origin_hash,
        inbox_cursor: cursor,
        bundle_root: body.bundle_root(),
        encryption_key_hash: template.encryption_key_hash,
    };
    Block { header, body }
}

/// Packs all of `bundle`, each part at the end of its namespace's group, and returns where it
/// sits; or packs nothing, when the bundle is outside its terms, does not fit, or the rules
/// refuse one of its transactions.
fn place(
    bundle: &Bundle,
    height: u64,
    timestamp_ms: u64,
    packing: &mut Packing,
    nonces: &mut BlockNonces<'_>,
    limits: &BlockLimits,
    facts: &Facts<'_>,
) -> Option<PlacedBundle> {
    let txs = bundle.txs();
    // Each part goes at the end of its namespace's group as it stands now.
    let placed = bundle.placed(|ns| packing.group_len(ns));
    let added = packing
        .added(txs.iter())
        .saturating_add(placed.encoded_len());
    if !bundle.terms().admits(height, timestamp_ms)
        || !packing.fits(
            added,
            txs.len(),
            txs.iter().filter(|tx| is_encrypted(tx)).count(),
            limits,
        )
        || txs
            .iter()
            .any(|tx| facts.admission.check_at(tx, height).is_err())
    {
        return None;
    }
    let mut accounts = Vec::with_capacity(txs.len());
    for (_, part) in bundle.parts() {
        for tx in part {
            accounts.push((facts.senders.sender(tx)?, tx.namespace(), tx.nonce()));
        }
    }
    nonces.signed_all(accounts).ok()?;
    packing.size += added;
    for (namespace, part) in bundle.parts() {
        for tx in part {
            packing.push(namespace, Entry::Signed(tx.clone()));
        }
    }
    Some(placed)
}

fn expect<T: PartialEq + std::fmt::Display>(
    field: &'static str,
    found: T,
    expected: T,
) -> Result<(), BlockError> {
    if found == expected {
        Ok(())
    } else {
        Err(BlockError::Mismatch {
            field,
            found: found.to_string(),
            expected: expected.to_string(),
        })
    }
}

/// Checks a proposed block against what this validator expects and against the chain state
/// (signatures, registered namespaces, rollup rules, each account's nonces strictly in
/// sequence, force inclusion).
pub(crate) fn verify(
    block: &Block,
    check: &Expectation,
    facts: &Facts<'_>,
) -> Result<(), BlockError> {
    let h = &block.header;
    let t = &check.template;
    expect("chain_id", h.chain_id, t.chain_id)?;
    expect("height", h.height, t.height)?;
    expect("epoch", h.epoch, t.epoch)?;
    expect("parent_hash", h.parent_hash, t.parent_hash)?;
    expect("proposer", h.proposer, t.proposer)?;
    expect("validators_hash", h.validators_hash, t.validators_hash)?;
    expect(
        "next_validators_hash",
        h.next_validators_hash,
        t.next_validators_hash,
    )?;
    expect(
        "encryption_key_hash",
        h.encryption_key_hash,
        t.encryption_key_hash,
    )?;
    if h.timestamp_ms <= t.parent_timestamp_ms {
        return Err(BlockError::TimestampNotIncreasing {
            timestamp_ms: h.timestamp_ms,
            parent_ms: t.parent_timestamp_ms,
        });
    }
    if h.timestamp_ms > check.now_ms.saturating_add(check.max_clock_drift_ms) {
        return Err(BlockError::TimestampInFuture {
            timestamp_ms: h.timestamp_ms,
            now_ms: check.now_ms,
            drift_ms: check.max_clock_drift_ms,
        });
    }
    if h.tx_count > check.limits.max_transactions {
        return Err(BlockError::TooManyTransactions {
            count: h.tx_count,
            max: check.limits.max_transactions,
        });
    }
    let encrypted = block
        .body
        .namespaces
        .iter()
        .flat_map(|g| &g.entries)
        .filter(|e| matches!(e, Entry::Signed(tx) if is_encrypted(tx)))
        .count();
    if encrypted > check.limits.max_encrypted_transactions as usize {
        return Err(BlockError::TooManyEncrypted {
            count: encrypted,
            max: check.limits.max_encrypted_transactions,
        });
    }
    let size = block.encoded_len();
    if size > check.limits.max_block_bytes {
        return Err(BlockError::TooLarge {
            size,
            max: check.limits.max_block_bytes,
        });
    }
    block.check_commitments().map_err(BlockError::Commitments)?;
    let mut placed: HashMap<B256, B256> = HashMap::new();
    for bundle in &block.body.bundles {
        let hash = bundle.hash();
        if !bundle.terms.admits(h.height, h.timestamp_ms) {
            return Err(BlockError::BundleOutOfTerms {
                bundle: hash,
                height: h.height,
                timestamp_ms: h.timestamp_ms,
            });
        }
        for part in &bundle.parts {
            placed.extend(part.hashes.iter().map(|tx| (*tx, hash)));
        }
    }
    let mut seen = HashSet::with_capacity(h.tx_count as usize);
    let mut nonces = BlockNonces::new(facts.nonces);
    let mut forced: Vec<(u64, u64, &ForcedTransaction)> = Vec::new();
    for group in &block.body.namespaces {
        let mut signed_seen = false;
        for entry in &group.entries {
            match entry {
                // Judged below, by the lane's rule.
                Entry::Signed(_) if group.namespace == KEYS_NAMESPACE => signed_seen = true,
                Entry::Signed(tx) => {
                    signed_seen = true;
                    if !facts.admission.is_registered(group.namespace) {
                        return Err(BlockError::UnknownNamespace(group.namespace));
                    }
                    let hash = tx.hash();
                    if tx.namespace() != group.namespace {
                        return Err(BlockError::WrongNamespace {
                            hash,
                            group: group.namespace,
                        });
                    }
                    if !seen.insert(hash) {
                        return Err(BlockError::Duplicate { hash });
                    }
                    if let Some(bundle) = facts.bundles.bundle_of(&hash) {
                        if placed.get(&hash) != Some(&bundle) {
                            return Err(BlockError::BundleSplit { hash, bundle });
                        }
                    }
                    if let Err(reason) = facts.admission.check_at(tx, h.height) {
                        return Err(BlockError::Refused { hash, reason });
                    }
                    let Some(sender) = facts.senders.sender(tx) else {
                        return Err(BlockError::BadSignature { hash });
                    };
                    if let Err(expected) = nonces.signed(sender, tx.namespace(), tx.nonce()) {
                        return Err(BlockError::NonceOutOfOrder {
                            hash,
                            nonce: tx.nonce(),
                            expected,
                        });
                    }
                }
                Entry::Forced(f) => {
                    if check.l1.is_none() {
                        return Err(BlockError::UnexpectedForced {
                            inbox_index: f.inbox_index,
                        });
                    }
                    if signed_seen {
                        return Err(BlockError::ForcedAfterSigned {
                            inbox_index: f.inbox_index,
                            namespace: group.namespace,
                        });
                    }
                    if let Some((prev, _, _)) = forced.last().filter(|l| l.1 == group.namespace) {
                        if f.inbox_index <= *prev {
                            return Err(BlockError::ForcedOutOfOrder {
                                found: f.inbox_index,
                                expected: prev.saturating_add(1),
                            });
                        }
                    }
                    facts.forced_nonce(&mut nonces, group.namespace, f);
                    forced.push((f.inbox_index, group.namespace, f));
                }
            }
        }
    }
    facts.releases.check(block, facts.senders)?;
    match &check.l1 {
        None => {
            expect("l1_origin_number", h.l1_origin_number, 0)?;
            expect("l1_origin_hash", h.l1_origin_hash, B256::ZERO)?;
            expect("inbox_cursor", h.inbox_cursor, t.inbox_cursor)?;
            Ok(())
        }
        Some(l1) => check_force_inclusion(block, check, l1, forced, facts, size),
    }
}

/// The L1 origin and inbox rules (see the module documentation).
fn check_force_inclusion(
    block: &Block,
    check: &Expectation,
    l1: &L1Expectation,
    mut forced: Vec<(u64, u64, &ForcedTransaction)>,
    facts: &Facts<'_>,
    size: usize,
) -> Result<(), BlockError> {
    let h = &block.header;
    let t = &check.template;
    let origin = h.l1_origin_number;
    if origin < t.l1_origin_number {
        return Err(BlockError::L1OriginBackwards {
            number: origin,
            parent: t.l1_origin_number,
        });
    }
    if origin == t.l1_origin_number {
        expect("l1_origin_hash", h.l1_origin_hash, t.l1_origin_hash)?;
    } else {
        let confirmed = facts.l1.map_or(0, L1View::confirmed_number);
        if origin > confirmed.saturating_add(l1.origin_tolerance) {
            return Err(BlockError::L1OriginTooFarAhead {
                number: origin,
                confirmed,
                tolerance: l1.origin_tolerance,
            });
        }
        let known = facts.l1.and_then(|v| v.block_hash(origin));
        if known != Some(h.l1_origin_hash) {
            return Err(BlockError::L1OriginUnknown {
                number: origin,
                hash: h.l1_origin_hash,
                known,
            });
        }
    }
    forced.sort_by_key(|f| f.0);
    let mut next = t.inbox_cursor;
    for (index, namespace, entry) in &forced {
        if *index != next {
            return Err(BlockError::ForcedOutOfOrder {
                found: *index,
                expected: next,
            });
        }
        match facts.inbox_item(*index) {
            Some(item) if item.matches(entry) && item.namespace == *namespace => {}
            _ => {
                return Err(BlockError::ForcedMismatch {
                    inbox_index: *index,
                })
            }
        }
        next += 1;
    }
    expect("inbox_cursor", h.inbox_cursor, next)?;
    if let Some(item) = facts.inbox_item(next) {
        if item.is_due(l1.inclusion_delay, origin) {
            let groups = &block.body.namespaces;
            let fits = h.tx_count < check.limits.max_transactions
                && size.saturating_add(forced_size(item, groups)) <= check.limits.max_block_bytes;
            if fits {
                return Err(BlockError::DueItemOmitted {
                    index: item.index,
                    deadline: item.deadline(l1.inclusion_delay),
                    origin,
                });
            }
        }
    }
    Ok(())
}
