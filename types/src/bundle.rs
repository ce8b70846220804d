//! Bundles: transactions for one or more rollups that land together in one block, each
//! namespace's part contiguous and in submitted order, or not at all.
//!
//! A [`Bundle`] is what a client submits: its [`BundleTerms`] and its transactions. A block
//! holds each bundle it includes as a [`PlacedBundle`]: the same terms and, per namespace, where
//! the part starts in that namespace's group and the hashes of its transactions. Both have the
//! same [`Bundle::hash`], which commits to the terms and to every transaction hash (grouped by
//! namespace, ascending, order kept within a namespace) but not to where the parts sit. The
//! header commits to the block's placed bundles through `bundle_root`, the root of a Merkle
//! tree over them in the body's order, so any part's bundle, and where its other parts sit, can
//! be proved against a certified header ([`BundleProof`]).

use alloy_primitives::{keccak256, B256};
use serde::{Deserialize, Serialize};

use crate::codec::{impl_decode, list_len, put_list, Encode, ReadFrom, Reader};
use crate::error::{DecodeError, Error};
use crate::merkle::{build_levels, check_path, path, root};
use crate::transaction::{Entry, Transaction};
use crate::NamespaceEntries;

/// Most transactions in one bundle.
pub const MAX_BUNDLE_TXS: usize = 64;

/// Domain tag of [`Bundle::hash`].
const BUNDLE_HASH_TAG: &[u8] = b"ordo/bundle/1";
/// Prefix of a bundle-table leaf (`keccak256(0x00 || placed bundle encoding)`).
const LEAF_PREFIX: u8 = 0x00;

/// When a bundle may land. A zero bound is no bound. Timestamps are unix seconds, as in
/// Flashbots' `eth_sendBundle`; a block's timestamp in seconds is its `timestamp_ms / 1000`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BundleTerms {
    /// Lowest height the bundle may land at.
    pub min_height: u64,
    /// Highest height the bundle may land at.
    pub max_height: u64,
    /// Earliest block timestamp, unix seconds.
    pub min_timestamp: u64,
    /// Latest block timestamp, unix seconds.
    pub max_timestamp: u64,
    /// Hashes of the bundle's transactions that may fail on their rollup without the part
    /// they are in being dropped, strictly ascending.
    pub reverting: Vec<B256>,
}

impl BundleTerms {
    /// Whether a block at `height` with timestamp `timestamp_ms` may hold the bundle.
    pub fn admits(&self, height: u64, timestamp_ms: u64) -> bool {
        let seconds = timestamp_ms / 1000;
        height >= self.min_height
            && (self.max_height == 0 || height <= self.max_height)
            && seconds >= self.min_timestamp
            && (self.max_timestamp == 0 || seconds <= self.max_timestamp)
    }

    /// Whether no block from `height` and `timestamp_ms` on may hold the bundle.
    pub fn expired(&self, height: u64, timestamp_ms: u64) -> bool {
        (self.max_height != 0 && height > self.max_height)
            || (self.max_timestamp != 0 && timestamp_ms / 1000 > self.max_timestamp)
    }

    /// Checks the terms on their own: bounds in order, reverting hashes strictly ascending.
    fn validate(&self) -> Result<(), Error> {
        if self.max_height != 0 && self.min_height > self.max_height {
            return Err(Error::InvalidBundle("min_height is above max_height"));
        }
        if self.max_timestamp != 0 && self.min_timestamp > self.max_timestamp {
            return Err(Error::InvalidBundle("min_timestamp is above max_timestamp"));
        }
        if self.reverting.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::InvalidBundle(
                "reverting hashes are not strictly ascending",
            ));
        }
        Ok(())
    }
}

impl Encode for BundleTerms {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for bound in [
            self.min_height,
            self.max_height,
            self.min_timestamp,
            self.max_timestamp,
        ] {
            out.extend_from_slice(&bound.to_be_bytes());
        }
        put_list(out, &self.reverting);
    }

    fn encoded_len(&self) -> usize {
        32usize.saturating_add(list_len(&self.reverting))
    }
}

impl ReadFrom for BundleTerms {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            min_height: r.u64()?,
            max_height: r.u64()?,
            min_timestamp: r.u64()?,
            max_timestamp: r.u64()?,
            reverting: r.list(32)?,
        })
    }
}

/// keccak256 of the tag, the terms and each namespace's part (namespace, then its transaction
/// hashes), parts in ascending namespace order: what identifies a bundle.
fn bundle_hash<'a>(terms: &BundleTerms, parts: impl Iterator<Item = (u64, &'a [B256])>) -> B256 {
    let mut buf = Vec::with_capacity(BUNDLE_HASH_TAG.len() + terms.encoded_len() + 64);
    buf.extend_from_slice(BUNDLE_HASH_TAG);
    terms.encode_to(&mut buf);
    for (namespace, hashes) in parts {
        buf.extend_from_slice(&namespace.to_be_bytes());
        put_list(&mut buf, hashes);
    }
    keccak256(buf)
}

/// A bundle as submitted: its terms and its transactions, in submitted order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    terms: BundleTerms,
    txs: Vec<Transaction>,
    /// Namespaces with the indices (into `txs`) of their transactions, ascending by namespace.
    parts: Vec<(u64, Vec<usize>)>,
    hash: B256,
}

impl Bundle {
    /// A bundle of `txs` (1 to [`MAX_BUNDLE_TXS`], no two alike) under `terms`, whose
    /// reverting hashes must each be one of `txs` (they are sorted here).
    pub fn new(mut terms: BundleTerms, txs: Vec<Transaction>) -> Result<Self, Error> {
        if txs.is_empty() {
            return Err(Error::InvalidBundle(
                "a bundle has at least one transaction",
            ));
        }
        if txs.len() > MAX_BUNDLE_TXS {
            return Err(Error::TooMany("transactions in a bundle"));
        }
        let mut hashes: Vec<B256> = txs.iter().map(Transaction::hash).collect();
        hashes.sort_unstable();
        if hashes.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::InvalidBundle("a transaction appears twice"));
        }
        terms.reverting.sort_unstable();
        terms.reverting.dedup();
        if terms
            .reverting
            .iter()
            .any(|h| hashes.binary_search(h).is_err())
        {
            return Err(Error::InvalidBundle(
                "a reverting hash is not one of the bundle's transactions",
            ));
        }
        terms.validate()?;
        let mut parts: Vec<(u64, Vec<usize>)> = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            match parts.iter_mut().find(|(ns, _)| *ns == tx.namespace()) {
                Some((_, indices)) => indices.push(i),
                None => parts.push((tx.namespace(), vec![i])),
            }
        }
        parts.sort_by_key(|(ns, _)| *ns);
        let part_hashes: Vec<(u64, Vec<B256>)> = parts
            .iter()
            .map(|(ns, indices)| (*ns, indices.iter().map(|&i| txs[i].hash()).collect()))
            .collect();
        let hash = bundle_hash(
            &terms,
            part_hashes.iter().map(|(ns, h)| (*ns, h.as_slice())),
        );
        Ok(Self {
            terms,
            txs,
            parts,
            hash,
        })
    }

    /// The bundle's id ([`PlacedBundle::hash`] of it in any block).
    pub fn hash(&self) -> B256 {
        self.hash
    }

    /// Its terms.
    pub fn terms(&self) -> &BundleTerms {
        &self.terms
    }

    /// Its transactions, in submitted order.
    pub fn txs(&self) -> &[Transaction] {
        &self.txs
    }

    /// Its parts: each namespace (ascending) with its transactions in submitted order.
    pub fn parts(&self) -> impl Iterator<Item = (u64, impl Iterator<Item = &Transaction>)> {
        self.parts
            .iter()
            .map(|(ns, indices)| (*ns, indices.iter().filter_map(|&i| self.txs.get(i))))
    }

    /// The bundle as a block holds it, its part in each namespace starting at `start(ns)`.
    pub fn placed(&self, start: impl Fn(u64) -> u32) -> PlacedBundle {
        PlacedBundle {
            terms: self.terms.clone(),
            parts: self
                .parts()
                .map(|(namespace, txs)| BundlePart {
                    namespace,
                    start: start(namespace),
                    hashes: txs.map(Transaction::hash).collect(),
                })
                .collect(),
        }
    }
}

impl Encode for Bundle {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.terms.encode_to(out);
        put_list(out, &self.txs);
    }

    fn encoded_len(&self) -> usize {
        self.terms.encoded_len().saturating_add(list_len(&self.txs))
    }
}

impl ReadFrom for Bundle {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let terms = BundleTerms::read_from(r)?;
        // Canonical only: `Bundle::new` would sort the reverting hashes.
        terms.validate().map_err(|e| Reader::invalid_at(start, e))?;
        let txs = r.list(crate::transaction::TX_MIN_LEN)?;
        Self::new(terms, txs).map_err(|e| Reader::invalid_at(start, e))
    }
}

/// One namespace's part of a placed bundle.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BundlePart {
    /// The namespace.
    pub namespace: u64,
    /// Index of the part's first transaction in the namespace's group.
    pub start: u32,
    /// Hashes of the part's transactions, in order (at least one).
    pub hashes: Vec<B256>,
}

impl BundlePart {
    /// The entry indices the part covers in its namespace's group.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = self.start as usize;
        start..start.saturating_add(self.hashes.len())
    }

    /// Whether the part covers signed entries of `group` (its namespace's entries) with
    /// exactly its hashes.
    fn covers(&self, group: &[Entry]) -> bool {
        group.get(self.range()).is_some_and(|entries| {
            entries
                .iter()
                .zip(&self.hashes)
                .all(|(entry, hash)| matches!(entry, Entry::Signed(tx) if tx.hash() == *hash))
        })
    }
}

impl Encode for BundlePart {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.namespace.to_be_bytes());
        out.extend_from_slice(&self.start.to_be_bytes());
        put_list(out, &self.hashes);
    }

    fn encoded_len(&self) -> usize {
        12usize.saturating_add(list_len(&self.hashes))
    }
}

impl ReadFrom for BundlePart {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            namespace: r.u64()?,
            start: r.u32()?,
            hashes: r.list(32)?,
        })
    }
}

/// Smallest placed-bundle encoding: terms without reverting hashes and one empty part list.
pub(crate) const PLACED_MIN_LEN: usize = 32 + 4 + 4;

/// A bundle as a block holds it: its terms and, per namespace (strictly ascending), where its
/// part starts and its transactions' hashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlacedBundle {
    /// When the bundle may land.
    pub terms: BundleTerms,
    /// Its parts, by ascending namespace.
    pub parts: Vec<BundlePart>,
}

impl PlacedBundle {
    /// The bundle's id: the same as [`Bundle::hash`] of the bundle placed.
    pub fn hash(&self) -> B256 {
        bundle_hash(
            &self.terms,
            self.parts
                .iter()
                .map(|p| (p.namespace, p.hashes.as_slice())),
        )
    }

    /// Its part in `namespace`, if it has one.
    pub fn part(&self, namespace: u64) -> Option<&BundlePart> {
        self.parts.iter().find(|p| p.namespace == namespace)
    }

    /// Number of transactions over all parts.
    pub fn tx_count(&self) -> usize {
        self.parts.iter().map(|p| p.hashes.len()).sum()
    }

    /// Whether the rollup may see transaction `hash` fail without dropping its part.
    pub fn may_revert(&self, hash: &B256) -> bool {
        self.terms.reverting.binary_search(hash).is_ok()
    }

    /// Checks the placement against the body's groups: terms in order; parts non-empty, in
    /// strictly ascending namespace, at most [`MAX_BUNDLE_TXS`] transactions in all; each part
    /// inside its namespace's group on signed entries with exactly its hashes; every reverting
    /// hash one of the bundle's.
    fn validate(&self, groups: &[NamespaceEntries]) -> Result<(), Error> {
        self.terms.validate()?;
        if self.parts.is_empty() {
            return Err(Error::InvalidBundle("a placed bundle has no parts"));
        }
        if self.tx_count() > MAX_BUNDLE_TXS {
            return Err(Error::TooMany("transactions in a bundle"));
        }
        if self
            .parts
            .windows(2)
            .any(|w| w[0].namespace >= w[1].namespace)
        {
            return Err(Error::InvalidBundle(
                "parts are not in strictly ascending namespace order",
            ));
        }
        for part in &self.parts {
            if part.hashes.is_empty() {
                return Err(Error::InvalidBundle("a part has no transactions"));
            }
            let group = groups
                .binary_search_by_key(&part.namespace, |g| g.namespace)
                .ok()
                .and_then(|i| groups.get(i))
                .filter(|g| g.entries.len() >= part.range().end)
                .ok_or(Error::InvalidBundle(
                    "a part lies outside its namespace's group",
                ))?;
            if !part.covers(&group.entries) {
                return Err(Error::InvalidBundle(
                    "a part's hashes are not the transactions it covers",
                ));
            }
        }
        let reverting_known = self
            .terms
            .reverting
            .iter()
            .all(|h| self.parts.iter().any(|p| p.hashes.contains(h)));
        if !reverting_known {
            return Err(Error::InvalidBundle(
                "a reverting hash is not one of the bundle's transactions",
            ));
        }
        Ok(())
    }

    /// Checks that `bundles` are all of a block's placed bundles (they hash to `root`, its
    /// header's `bundle_root`) and that each part in `namespace` covers exactly `entries` at
    /// its place (the namespace's entries, already proved against the header).
    pub fn check_table(
        bundles: &[PlacedBundle],
        root: &B256,
        namespace: u64,
        entries: &[Entry],
    ) -> Result<(), Error> {
        let computed = bundle_root(bundles);
        if computed != *root {
            return Err(Error::BundleRootMismatch {
                header: *root,
                body: computed,
            });
        }
        let parts = bundles.iter().filter_map(|b| b.part(namespace));
        if parts.into_iter().all(|part| part.covers(entries)) {
            Ok(())
        } else {
            Err(Error::InvalidBundle(
                "a part's hashes are not the transactions it covers",
            ))
        }
    }

    fn leaf(&self) -> B256 {
        let mut buf = Vec::with_capacity(1 + self.encoded_len());
        buf.push(LEAF_PREFIX);
        self.encode_to(&mut buf);
        keccak256(buf)
    }
}

impl Encode for PlacedBundle {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.terms.encode_to(out);
        put_list(out, &self.parts);
    }

    fn encoded_len(&self) -> usize {
        self.terms
            .encoded_len()
            .saturating_add(list_len(&self.parts))
    }
}

impl ReadFrom for PlacedBundle {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            terms: BundleTerms::read_from(r)?,
            parts: r.list(12 + 4)?,
        })
    }
}

/// Checks a body's placed bundles against its groups: each valid on its own
/// ([`PlacedBundle::validate`]), no two with the same hash, no two parts overlapping.
pub(crate) fn validate_bundles(
    bundles: &[PlacedBundle],
    groups: &[NamespaceEntries],
) -> Result<(), Error> {
    let mut hashes = Vec::with_capacity(bundles.len());
    let mut ranges = Vec::new();
    for bundle in bundles {
        bundle.validate(groups)?;
        hashes.push(bundle.hash());
        ranges.extend(bundle.parts.iter().map(|p| (p.namespace, p.range())));
    }
    hashes.sort_unstable();
    if hashes.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::InvalidBundle("a bundle is placed twice"));
    }
    ranges.sort_by_key(|(ns, range)| (*ns, range.start));
    let overlap = ranges
        .windows(2)
        .any(|w| w[0].0 == w[1].0 && w[0].1.end > w[1].1.start);
    if overlap {
        return Err(Error::InvalidBundle("two bundles' parts overlap"));
    }
    Ok(())
}

/// The root of the bundle table: a Merkle tree over the placed bundles' leaves in body order
/// (zero for none).
pub(crate) fn bundle_root(bundles: &[PlacedBundle]) -> B256 {
    root(&build_levels(
        bundles.iter().map(PlacedBundle::leaf).collect(),
    ))
}

/// The proof of the placed bundle at `index` in `bundles`.
pub(crate) fn bundle_proof(bundles: &[PlacedBundle], index: usize) -> Option<BundleProof> {
    bundles.get(index)?;
    let levels = build_levels(bundles.iter().map(PlacedBundle::leaf).collect());
    Some(BundleProof {
        index: u32::try_from(index).ok()?,
        count: u32::try_from(bundles.len()).ok()?,
        path: path(&levels, index),
    })
}

/// Proof that a placed bundle is in a block: its leaf's place in the bundle table, checked
/// against the header's `bundle_root`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BundleProof {
    /// Index of the bundle in the block's bundle table.
    pub index: u32,
    /// Number of bundles in the block.
    pub count: u32,
    /// Audit path, bottom up.
    pub path: Vec<B256>,
}

impl BundleProof {
    /// Checks that `bundle` is in the bundle table whose root is `root`.
    pub fn verify(&self, root: &B256, bundle: &PlacedBundle) -> Result<(), Error> {
        check_path(self.index, self.count, bundle.leaf(), &self.path, root)
    }
}

impl_decode!(Bundle, PlacedBundle);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::assert_round_trip;
    use crate::{Body, Bytes, SecretKey};

    fn tx(namespace: u64, nonce: u64) -> Transaction {
        Transaction::sign(
            namespace,
            nonce,
            Bytes::from(vec![namespace as u8, nonce as u8]),
            &SecretKey::random(),
            7,
        )
    }

    fn terms() -> BundleTerms {
        BundleTerms {
            max_height: 10,
            ..BundleTerms::default()
        }
    }

    /// A body with `bundle` placed at the front of each of its namespaces' groups, after
    /// `before` single transactions in namespace 1.
    fn body_with(bundle: &Bundle, before: Vec<Transaction>) -> Body {
        let mut groups: Vec<NamespaceEntries> = Vec::new();
        let mut push =
            |ns: u64, tx: Transaction| match groups.iter_mut().find(|g| g.namespace == ns) {
                Some(g) => g.entries.push(tx.into()),
                None => groups.push(NamespaceEntries {
                    namespace: ns,
                    entries: vec![tx.into()],
                }),
            };
        let offset = before.len() as u32;
        for tx in before {
            push(1, tx);
        }
        for (ns, txs) in bundle.parts() {
            for tx in txs {
                push(ns, tx.clone());
            }
        }
        let placed = bundle.placed(|ns| if ns == 1 { offset } else { 0 });
        let mut body = Body::from_entries(groups).unwrap();
        body.bundles = vec![placed];
        body
    }

    #[test]
    fn the_hash_names_terms_and_transactions_not_where_they_sit() {
        let txs = vec![tx(2, 0), tx(1, 0), tx(2, 1)];
        let bundle = Bundle::new(terms(), txs.clone()).unwrap();
        let parts: Vec<(u64, Vec<B256>)> = bundle
            .parts()
            .map(|(ns, txs)| (ns, txs.map(Transaction::hash).collect()))
            .collect();
        assert_eq!(
            parts,
            vec![
                (1, vec![txs[1].hash()]),
                (2, vec![txs[0].hash(), txs[2].hash()])
            ]
        );
        assert_eq!(bundle.placed(|_| 0).hash(), bundle.hash());
        assert_eq!(bundle.placed(|ns| ns as u32 * 5).hash(), bundle.hash());
        let later = BundleTerms {
            max_height: 11,
            ..terms()
        };
        assert_ne!(
            Bundle::new(later, txs.clone()).unwrap().hash(),
            bundle.hash()
        );
        let swapped = vec![txs[2].clone(), txs[1].clone(), txs[0].clone()];
        assert_ne!(Bundle::new(terms(), swapped).unwrap().hash(), bundle.hash());
    }

    #[test]
    fn bad_bundles_are_refused() {
        let a = tx(1, 0);
        assert!(Bundle::new(terms(), vec![]).is_err());
        assert!(Bundle::new(terms(), vec![a.clone(), a.clone()]).is_err());
        let too_many = (0..=MAX_BUNDLE_TXS as u64).map(|n| tx(1, n)).collect();
        assert!(Bundle::new(terms(), too_many).is_err());
        let stranger = BundleTerms {
            reverting: vec![B256::repeat_byte(1)],
            ..terms()
        };
        assert!(Bundle::new(stranger, vec![a.clone()]).is_err());
        let inverted = BundleTerms {
            min_height: 11,
            ..terms()
        };
        assert!(Bundle::new(inverted, vec![a]).is_err());
    }

    #[test]
    fn terms_admit_within_their_bounds() {
        let t = BundleTerms {
            min_height: 5,
            max_height: 10,
            min_timestamp: 100,
            max_timestamp: 200,
            reverting: vec![],
        };
        assert!(t.admits(5, 100_000) && t.admits(10, 200_999));
        assert!(!t.admits(4, 150_000) && !t.admits(11, 150_000));
        assert!(!t.admits(7, 99_999) && !t.admits(7, 201_000));
        assert!(t.expired(11, 0) && t.expired(7, 201_000) && !t.expired(10, 200_999));
        assert!(BundleTerms::default().admits(u64::MAX, u64::MAX));
        assert!(!BundleTerms::default().expired(u64::MAX, u64::MAX));
    }

    #[test]
    fn a_placed_bundle_must_cover_exactly_its_transactions() {
        let bundle = Bundle::new(terms(), vec![tx(1, 0), tx(1, 1), tx(3, 0)]).unwrap();
        let body = body_with(&bundle, vec![tx(1, 0)]);
        body.validate().unwrap();

        let mut shifted = body.clone();
        shifted.bundles[0].parts[0].start = 0;
        assert!(shifted.validate().is_err(), "a part off its transactions");
        let mut outside = body.clone();
        outside.bundles[0].parts[1].start = 1;
        assert!(outside.validate().is_err(), "a part past its group's end");
        let mut missing = body.clone();
        missing.bundles[0].parts[1].namespace = 4;
        assert!(missing.validate().is_err(), "a part in an absent namespace");
        let mut twice = body.clone();
        twice.bundles.push(twice.bundles[0].clone());
        assert!(twice.validate().is_err(), "a bundle placed twice");
        let mut unsorted = body.clone();
        unsorted.bundles[0].parts.swap(0, 1);
        assert!(unsorted.validate().is_err(), "parts out of namespace order");
        let mut reverting = body.clone();
        reverting.bundles[0].terms.reverting = vec![B256::repeat_byte(9)];
        assert!(reverting.validate().is_err(), "a foreign reverting hash");

        // Another bundle over the same transactions (other terms) overlaps the first.
        let mut overlapping = body.clone();
        let mut other = overlapping.bundles[0].clone();
        other.terms.max_height = 99;
        overlapping.bundles.push(other);
        assert!(
            overlapping.validate().is_err(),
            "two bundles' parts overlap"
        );
    }

    #[test]
    fn a_rollup_checks_the_whole_table_and_its_own_parts() {
        let bundle = Bundle::new(terms(), vec![tx(1, 0), tx(3, 0)]).unwrap();
        let body = body_with(&bundle, vec![tx(1, 5)]);
        let root = body.bundle_root();
        let ns1 = &body.namespace(1).unwrap().entries;
        PlacedBundle::check_table(&body.bundles, &root, 1, ns1).unwrap();
        // A table with a bundle left out does not hash to the header's root.
        assert!(matches!(
            PlacedBundle::check_table(&[], &root, 1, ns1),
            Err(Error::BundleRootMismatch { .. })
        ));
        // Entries other than the ones the part names.
        let mut swapped = ns1.clone();
        swapped.swap(0, 1);
        assert!(PlacedBundle::check_table(&body.bundles, &root, 1, &swapped).is_err());
        // A namespace without a part has nothing more to check.
        PlacedBundle::check_table(&body.bundles, &root, 2, &[]).unwrap();
    }

    #[test]
    fn proofs_verify_against_the_root_and_nothing_else() {
        let bundles: Vec<PlacedBundle> = (0..5u64)
            .map(|i| {
                Bundle::new(terms(), vec![tx(1, i), tx(2, i)])
                    .unwrap()
                    .placed(|_| i as u32)
            })
            .collect();
        let root = bundle_root(&bundles);
        for (i, bundle) in bundles.iter().enumerate() {
            let proof = bundle_proof(&bundles, i).unwrap();
            proof.verify(&root, bundle).unwrap();
            let other = &bundles[(i + 1) % bundles.len()];
            assert!(proof.verify(&root, other).is_err());
            let mut moved = bundle.clone();
            moved.parts[0].start += 1;
            assert!(
                proof.verify(&root, &moved).is_err(),
                "where a part sits is proved"
            );
        }
        assert!(bundle_proof(&bundles, 5).is_none());
        assert_eq!(bundle_root(&[]), B256::ZERO);
    }

    #[test]
    fn encodings_round_trip_and_reverting_must_be_canonical() {
        let a = tx(1, 0);
        let b = tx(2, 0);
        let with_reverting = BundleTerms {
            reverting: vec![a.hash(), b.hash()],
            ..terms()
        };
        let bundle = Bundle::new(with_reverting, vec![a.clone(), b.clone()]).unwrap();
        assert_round_trip(&bundle);
        assert_round_trip(&bundle.placed(|_| 3));
        let mut bytes = bundle.encode();
        // Swap the two reverting hashes: same set, not the canonical (ascending) order.
        let (first, second) = (32 + 4, 32 + 4 + 32);
        let mut swapped = bytes[second..second + 32].to_vec();
        swapped.extend_from_slice(&bytes[first..second]);
        bytes[first..first + 64].copy_from_slice(&swapped);
        assert!(<Bundle as crate::Decode>::decode(&bytes).is_err());
    }
}
