//! The namespace table: a Merkle tree (RFC 6962 shape) over the namespaces present in a block,
//! and proofs that a namespace's entries are complete, or that a namespace is absent.

use crate::codec::{impl_decode, list_len, put_list, Encode, ReadFrom, Reader};
use crate::error::{DecodeError, DecodeErrorKind, Error};
use crate::merkle::{self, build_levels, check_path};
use crate::transaction::Entry;
use alloy_primitives::{keccak256, Keccak256, B256};
use serde::{Deserialize, Serialize};

const LEAF_PREFIX: u8 = 0x00;

/// keccak256 of the concatenated encodings of `entries`.
pub(crate) fn entries_hash(entries: &[Entry]) -> B256 {
    let mut hasher = Keccak256::new();
    let mut buf = Vec::new();
    for entry in entries {
        buf.clear();
        entry.encode_to(&mut buf);
        hasher.update(&buf);
    }
    hasher.finalize()
}

/// `keccak256(0x00 || namespace u64 || entry_count u32 || entries_hash)`.
pub(crate) fn leaf_hash(namespace: u64, entry_count: u32, entries_hash: &B256) -> B256 {
    let mut buf = [0u8; 1 + 8 + 4 + 32];
    buf[0] = LEAF_PREFIX;
    buf[1..9].copy_from_slice(&namespace.to_be_bytes());
    buf[9..13].copy_from_slice(&entry_count.to_be_bytes());
    buf[13..].copy_from_slice(entries_hash.as_slice());
    keccak256(buf)
}

/// Summary of one namespace group: what its leaf commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LeafData {
    namespace: u64,
    entry_count: u32,
    entries_hash: B256,
}

/// A built namespace table: all leaves and inner levels, for computing the root and any
/// number of proofs without rehashing the block.
///
/// Build it from a body whose groups are sorted and non-empty ([`crate::Body::validate`]);
/// on other bodies the root and proofs are still computed but do not mean anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceTable {
    leaves: Vec<LeafData>,
    /// `levels[0]` are the leaf hashes; each next level pairs neighbours and carries an odd
    /// last node up unchanged, which gives exactly the RFC 6962 tree.
    levels: Vec<Vec<B256>>,
}

impl NamespaceTable {
    /// Builds the table from `(namespace, entries)` groups in block order. Groups with more
    /// than `u32::MAX` entries (which no valid block has) are counted as `u32::MAX`.
    pub(crate) fn build<'a>(groups: impl Iterator<Item = (u64, &'a [Entry])>) -> Self {
        let leaves: Vec<LeafData> = groups
            .map(|(namespace, entries)| LeafData {
                namespace,
                entry_count: u32::try_from(entries.len()).unwrap_or(u32::MAX),
                entries_hash: entries_hash(entries),
            })
            .collect();
        let levels = build_levels(
            leaves
                .iter()
                .map(|l| leaf_hash(l.namespace, l.entry_count, &l.entries_hash))
                .collect(),
        );
        Self { leaves, levels }
    }

    /// Number of leaves (namespaces present).
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// True when the block has no namespaces.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The root: 32 zero bytes for an empty table.
    pub fn root(&self) -> B256 {
        merkle::root(&self.levels)
    }

    fn adjacent(&self, index: usize) -> Option<AdjacentLeaf> {
        let leaf = self.leaves.get(index)?;
        Some(AdjacentLeaf {
            index: u32::try_from(index).ok()?,
            namespace: leaf.namespace,
            entry_count: leaf.entry_count,
            entries_hash: leaf.entries_hash,
            path: merkle::path(&self.levels, index),
        })
    }

    /// An inclusion proof if `namespace` is in the table, otherwise an absence proof.
    pub fn proof(&self, namespace: u64) -> NamespaceProof {
        let leaf_count = u32::try_from(self.leaves.len()).unwrap_or(u32::MAX);
        match self
            .leaves
            .binary_search_by_key(&namespace, |l| l.namespace)
        {
            Ok(index) => NamespaceProof::Present {
                leaf_index: u32::try_from(index).unwrap_or(u32::MAX),
                leaf_count,
                path: merkle::path(&self.levels, index),
            },
            Err(index) => NamespaceProof::Absent {
                leaf_count,
                left: index.checked_sub(1).and_then(|i| self.adjacent(i)),
                right: self.adjacent(index),
            },
        }
    }
}

/// A leaf next to where an absent namespace would sit, with its audit path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdjacentLeaf {
    /// Leaf index in the table.
    pub index: u32,
    /// The leaf's namespace.
    pub namespace: u64,
    /// Number of entries the namespace has in the block.
    pub entry_count: u32,
    /// keccak256 of the namespace's concatenated entry encodings.
    pub entries_hash: B256,
    /// Audit path, bottom up.
    pub path: Vec<B256>,
}

impl AdjacentLeaf {
    fn verify(&self, leaf_count: u32, root: &B256) -> Result<(), Error> {
        let leaf = leaf_hash(self.namespace, self.entry_count, &self.entries_hash);
        check_path(self.index, leaf_count, leaf, &self.path, root)
    }
}

/// Proof that a list of entries is exactly what a block holds for one namespace: all of them,
/// in order ([`NamespaceProof::Present`]), or none because the namespace is absent
/// ([`NamespaceProof::Absent`]). Checked against the header's `namespace_root`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NamespaceProof {
    /// The namespace is in the table at `leaf_index`.
    Present {
        /// Index of the namespace's leaf.
        leaf_index: u32,
        /// Number of leaves (namespaces) in the table.
        leaf_count: u32,
        /// Audit path, bottom up.
        path: Vec<B256>,
    },
    /// The namespace is not in the table: its would-be neighbours are adjacent.
    Absent {
        /// Number of leaves (namespaces) in the table.
        leaf_count: u32,
        /// The greatest namespace below the absent one, if any.
        left: Option<AdjacentLeaf>,
        /// The smallest namespace above the absent one, if any.
        right: Option<AdjacentLeaf>,
    },
}

impl NamespaceProof {
    /// Checks that `entries` are all of `namespace`'s entries, in order, in the block whose
    /// namespace root is `root`. For an absence proof `entries` must be empty.
    pub fn verify(&self, root: &B256, namespace: u64, entries: &[Entry]) -> Result<(), Error> {
        match self {
            Self::Present {
                leaf_index,
                leaf_count,
                path,
            } => {
                if entries.is_empty() {
                    return Err(Error::InvalidProof(
                        "a present namespace has at least one entry",
                    ));
                }
                let count = u32::try_from(entries.len())
                    .map_err(|_| Error::TooMany("entries in a namespace"))?;
                let leaf = leaf_hash(namespace, count, &entries_hash(entries));
                check_path(*leaf_index, *leaf_count, leaf, path, root)
            }
            Self::Absent {
                leaf_count,
                left,
                right,
            } => {
                if !entries.is_empty() {
                    return Err(Error::InvalidProof(
                        "an absence proof cannot vouch for entries",
                    ));
                }
                if let Some(left) = left {
                    if left.namespace >= namespace {
                        return Err(Error::InvalidProof(
                            "left neighbour is not below the namespace",
                        ));
                    }
                    left.verify(*leaf_count, root)?;
                }
                if let Some(right) = right {
                    if right.namespace <= namespace {
                        return Err(Error::InvalidProof(
                            "right neighbour is not above the namespace",
                        ));
                    }
                    right.verify(*leaf_count, root)?;
                }
                match (left, right) {
                    (None, None) => {
                        if *leaf_count == 0 && *root == B256::ZERO {
                            Ok(())
                        } else {
                            Err(Error::InvalidProof(
                                "no neighbours given for a non-empty table",
                            ))
                        }
                    }
                    (Some(left), Some(right)) => {
                        if left.index.checked_add(1) == Some(right.index) {
                            Ok(())
                        } else {
                            Err(Error::InvalidProof("neighbours are not adjacent"))
                        }
                    }
                    (None, Some(right)) => {
                        if right.index == 0 {
                            Ok(())
                        } else {
                            Err(Error::InvalidProof(
                                "right neighbour alone must be the first leaf",
                            ))
                        }
                    }
                    (Some(left), None) => {
                        if left.index.checked_add(1) == Some(*leaf_count) {
                            Ok(())
                        } else {
                            Err(Error::InvalidProof(
                                "left neighbour alone must be the last leaf",
                            ))
                        }
                    }
                }
            }
        }
    }
}

const PROOF_TAG_PRESENT: u8 = 0x00;
const PROOF_TAG_ABSENT: u8 = 0x01;
const OPTION_NONE: u8 = 0x00;
const OPTION_SOME: u8 = 0x01;

impl Encode for AdjacentLeaf {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.namespace.to_be_bytes());
        out.extend_from_slice(&self.entry_count.to_be_bytes());
        out.extend_from_slice(self.entries_hash.as_slice());
        put_list(out, &self.path);
    }

    fn encoded_len(&self) -> usize {
        (4 + 8 + 4 + 32usize).saturating_add(list_len(&self.path))
    }
}

impl ReadFrom for AdjacentLeaf {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            index: r.u32()?,
            namespace: r.u64()?,
            entry_count: r.u32()?,
            entries_hash: r.b256()?,
            path: r.list(32)?,
        })
    }
}

fn encode_option(out: &mut Vec<u8>, leaf: &Option<AdjacentLeaf>) {
    match leaf {
        None => out.push(OPTION_NONE),
        Some(leaf) => {
            out.push(OPTION_SOME);
            leaf.encode_to(out);
        }
    }
}

fn option_len(leaf: &Option<AdjacentLeaf>) -> usize {
    1usize.saturating_add(leaf.as_ref().map_or(0, Encode::encoded_len))
}

fn read_option(r: &mut Reader<'_>) -> Result<Option<AdjacentLeaf>, DecodeError> {
    let start = r.offset();
    match r.u8()? {
        OPTION_NONE => Ok(None),
        OPTION_SOME => Ok(Some(AdjacentLeaf::read_from(r)?)),
        tag => Err(DecodeError::new(start, DecodeErrorKind::UnknownTag(tag))),
    }
}

impl Encode for NamespaceProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Present {
                leaf_index,
                leaf_count,
                path,
            } => {
                out.push(PROOF_TAG_PRESENT);
                out.extend_from_slice(&leaf_index.to_be_bytes());
                out.extend_from_slice(&leaf_count.to_be_bytes());
                put_list(out, path);
            }
            Self::Absent {
                leaf_count,
                left,
                right,
            } => {
                out.push(PROOF_TAG_ABSENT);
                out.extend_from_slice(&leaf_count.to_be_bytes());
                encode_option(out, left);
                encode_option(out, right);
            }
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Self::Present { path, .. } => (1 + 4 + 4usize).saturating_add(list_len(path)),
            Self::Absent { left, right, .. } => (1 + 4usize)
                .saturating_add(option_len(left))
                .saturating_add(option_len(right)),
        }
    }
}

impl ReadFrom for NamespaceProof {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        match r.u8()? {
            PROOF_TAG_PRESENT => Ok(Self::Present {
                leaf_index: r.u32()?,
                leaf_count: r.u32()?,
                path: r.list(32)?,
            }),
            PROOF_TAG_ABSENT => Ok(Self::Absent {
                leaf_count: r.u32()?,
                left: read_option(r)?,
                right: read_option(r)?,
            }),
            tag => Err(DecodeError::new(start, DecodeErrorKind::UnknownTag(tag))),
        }
    }
}

impl_decode!(NamespaceProof, AdjacentLeaf);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::codec::Decode;
    use crate::merkle::tests::reference_root;
    use crate::testutil::{arb_b256, arb_body, arb_entry_in, assert_round_trip};
    use crate::Body;
    use proptest::prelude::*;

    /// Absent namespaces worth probing: around and between the present ones.
    fn probes(body: &Body) -> Vec<u64> {
        let mut out = vec![0, 1, u64::MAX];
        for g in &body.namespaces {
            out.extend([g.namespace.wrapping_sub(1), g.namespace.wrapping_add(1)]);
        }
        out.retain(|ns| body.namespace(*ns).is_none());
        out
    }

    fn entries_of(body: &Body, ns: u64) -> Vec<Entry> {
        body.namespace(ns)
            .map(|g| g.entries.clone())
            .unwrap_or_default()
    }

    #[test]
    fn empty_table() {
        let body = Body::default();
        let root = body.namespace_root();
        assert_eq!(root, B256::ZERO);
        let proof = body.proof(7);
        assert_eq!(
            proof,
            NamespaceProof::Absent {
                leaf_count: 0,
                left: None,
                right: None
            }
        );
        proof.verify(&root, 7, &[]).unwrap();
        // The same empty proof does not work against a non-empty root.
        assert!(proof.verify(&B256::repeat_byte(1), 7, &[]).is_err());
    }

    #[test]
    fn proof_json_and_encoding() {
        let body = crate::block::tests::fixed_body();
        let root = body.namespace_root();
        for ns in [0, 1, 5, 9, 20, 42, 50] {
            let proof = body.proof(ns);
            let json = serde_json::to_string(&proof).unwrap();
            let back: NamespaceProof = serde_json::from_str(&json).unwrap();
            assert_eq!(back, proof);
            assert_round_trip(&proof);
            back.verify(&root, ns, &entries_of(&body, ns)).unwrap();
        }
        let json = serde_json::to_value(body.proof(9)).unwrap();
        assert_eq!(json["kind"], "present");
        assert_eq!(json["leaf_index"], 1);
        assert_eq!(json["leaf_count"], 3);
        let json = serde_json::to_value(body.proof(20)).unwrap();
        assert_eq!(json["kind"], "absent");
        assert_eq!(json["left"]["namespace"], 9);
        assert_eq!(json["right"]["namespace"], 42);
        // Encoding of a present proof: tag, leaf_index, leaf_count, list of hashes.
        let NamespaceProof::Present { path, .. } = body.proof(42) else {
            panic!()
        };
        let mut expected = vec![0u8, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1];
        expected.extend_from_slice(path[0].as_slice());
        assert_eq!(body.proof(42).encode(), expected);
    }

    #[test]
    fn proof_decoder_bounds_allocation() {
        let mut bytes = vec![PROOF_TAG_PRESENT, 0, 0, 0, 0, 0, 0, 0, 1];
        bytes.extend_from_slice(&4_000_000_000u32.to_be_bytes());
        bytes.extend_from_slice(&[0u8; 10]);
        assert!(matches!(
            NamespaceProof::decode(&bytes).unwrap_err().kind,
            DecodeErrorKind::LengthTooLarge { .. }
        ));
        assert_eq!(
            NamespaceProof::decode(&[9]).unwrap_err().kind,
            DecodeErrorKind::UnknownTag(9)
        );
        assert_eq!(
            NamespaceProof::decode(&[PROOF_TAG_ABSENT, 0, 0, 0, 0, 2, 0])
                .unwrap_err()
                .kind,
            DecodeErrorKind::UnknownTag(2)
        );
    }

    fn arb_proof() -> impl Strategy<Value = NamespaceProof> {
        let path = || proptest::collection::vec(arb_b256(), 0..6);
        let leaf = move || {
            (any::<u32>(), any::<u64>(), any::<u32>(), arb_b256(), path()).prop_map(
                |(index, namespace, entry_count, entries_hash, path)| AdjacentLeaf {
                    index,
                    namespace,
                    entry_count,
                    entries_hash,
                    path,
                },
            )
        };
        prop_oneof![
            (any::<u32>(), any::<u32>(), path()).prop_map(|(leaf_index, leaf_count, path)| {
                NamespaceProof::Present {
                    leaf_index,
                    leaf_count,
                    path,
                }
            }),
            (
                any::<u32>(),
                proptest::option::of(leaf()),
                proptest::option::of(leaf())
            )
                .prop_map(|(leaf_count, left, right)| NamespaceProof::Absent {
                    leaf_count,
                    left,
                    right
                }),
        ]
    }

    proptest! {
        #[test]
        fn proof_round_trip(proof in arb_proof()) {
            assert_round_trip(&proof);
        }

        #[test]
        fn proof_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(proof) = NamespaceProof::decode(&bytes) {
                prop_assert_eq!(proof.encode(), bytes);
            }
        }

        #[test]
        fn table_root_matches_reference(body in arb_body(40, 1_000)) {
            let table = body.namespace_table();
            let leaves: Vec<B256> = body
                .namespaces
                .iter()
                .map(|g| leaf_hash(g.namespace, g.entries.len() as u32, &entries_hash(&g.entries)))
                .collect();
            prop_assert_eq!(table.root(), reference_root(&leaves));
            prop_assert_eq!(table.len(), body.namespaces.len());
        }

        #[test]
        fn honest_proofs_verify(body in arb_body(12, 40)) {
            let table = body.namespace_table();
            let root = table.root();
            for g in &body.namespaces {
                let proof = table.proof(g.namespace);
                let present = matches!(proof, NamespaceProof::Present { .. });
                prop_assert!(present);
                prop_assert_eq!(proof.verify(&root, g.namespace, &g.entries), Ok(()));
            }
            for ns in probes(&body) {
                let proof = table.proof(ns);
                let absent = matches!(proof, NamespaceProof::Absent { .. });
                prop_assert!(absent);
                prop_assert_eq!(proof.verify(&root, ns, &[]), Ok(()));
            }
        }

        #[test]
        fn tampered_entries_fail(body in arb_body(10, 40), extra in arb_entry_in(7), pick in any::<usize>()) {
            prop_assume!(!body.namespaces.is_empty());
            let table = body.namespace_table();
            let root = table.root();
            let g = &body.namespaces[pick % body.namespaces.len()];
            let proof = table.proof(g.namespace);
            let i = pick % g.entries.len();

            // One removed.
            let mut fewer = g.entries.clone();
            fewer.remove(i);
            prop_assert!(proof.verify(&root, g.namespace, &fewer).is_err());
            // One added (at the end, and at the front).
            let mut more = g.entries.clone();
            more.push(extra.clone());
            prop_assert!(proof.verify(&root, g.namespace, &more).is_err());
            let mut more = g.entries.clone();
            more.insert(0, extra.clone());
            prop_assert!(proof.verify(&root, g.namespace, &more).is_err());
            // Reordered.
            if g.entries.len() > 1 && g.entries[0] != g.entries[1] {
                let mut swapped = g.entries.clone();
                swapped.swap(0, 1);
                prop_assert!(proof.verify(&root, g.namespace, &swapped).is_err());
            }
            // One replaced.
            let mut replaced = g.entries.clone();
            if replaced[i] != extra {
                replaced[i] = extra.clone();
                prop_assert!(proof.verify(&root, g.namespace, &replaced).is_err());
            }
            // Another namespace's entries, or this proof used for another namespace.
            for other in &body.namespaces {
                if other.namespace != g.namespace {
                    if other.entries != g.entries {
                        prop_assert!(proof.verify(&root, g.namespace, &other.entries).is_err());
                    }
                    prop_assert!(proof.verify(&root, other.namespace, &g.entries).is_err());
                    prop_assert!(table.proof(other.namespace).verify(&root, g.namespace, &g.entries).is_err());
                }
            }
            // Empty entries under an inclusion proof.
            prop_assert!(proof.verify(&root, g.namespace, &[]).is_err());
        }

        #[test]
        fn absence_proofs_cannot_hide_a_present_namespace(body in arb_body(10, 40)) {
            let table = body.namespace_table();
            let root = table.root();
            let n = table.len();
            // Every absence proof the table can make, and every pair of leaves, claimed for
            // every present namespace.
            let mut candidates: Vec<NamespaceProof> = probes(&body).into_iter().map(|ns| table.proof(ns)).collect();
            for i in 0..=n {
                for j in 0..=n {
                    candidates.push(NamespaceProof::Absent {
                        leaf_count: n as u32,
                        left: i.checked_sub(1).and_then(|i| table.adjacent(i)),
                        right: table.adjacent(j),
                    });
                }
                candidates.push(NamespaceProof::Absent {
                    leaf_count: n as u32,
                    left: i.checked_sub(1).and_then(|i| table.adjacent(i)),
                    right: None,
                });
            }
            for g in &body.namespaces {
                for proof in &candidates {
                    prop_assert!(proof.verify(&root, g.namespace, &[]).is_err());
                    prop_assert!(proof.verify(&root, g.namespace, &g.entries).is_err());
                }
            }
        }

        #[test]
        fn forged_paths_fail(body in arb_body(12, 40), pick in any::<usize>(), bit in 0usize..256) {
            prop_assume!(!body.namespaces.is_empty());
            let table = body.namespace_table();
            let root = table.root();
            let g = &body.namespaces[pick % body.namespaces.len()];
            let NamespaceProof::Present { leaf_index, leaf_count, path } = table.proof(g.namespace) else {
                return Err(TestCaseError::fail("expected inclusion"));
            };
            let forged = |leaf_index, path: Vec<B256>| NamespaceProof::Present { leaf_index, leaf_count, path };
            if !path.is_empty() {
                let mut flipped = path.clone();
                let k = pick % flipped.len();
                flipped[k].0[bit / 8] ^= 1 << (bit % 8);
                prop_assert!(forged(leaf_index, flipped).verify(&root, g.namespace, &g.entries).is_err());
                let mut short = path.clone();
                short.pop();
                prop_assert!(forged(leaf_index, short).verify(&root, g.namespace, &g.entries).is_err());
            }
            let mut long = path.clone();
            long.push(root);
            prop_assert!(forged(leaf_index, long).verify(&root, g.namespace, &g.entries).is_err());
            for other in 0..=leaf_count {
                if other != leaf_index {
                    prop_assert!(forged(other, path.clone()).verify(&root, g.namespace, &g.entries).is_err());
                }
            }
            // A wrong root.
            let mut wrong_root = root;
            wrong_root.0[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(table.proof(g.namespace).verify(&wrong_root, g.namespace, &g.entries).is_err());
        }

        #[test]
        fn forged_absence_neighbours_fail(body in arb_body(12, 40), bit in 0usize..256) {
            let table = body.namespace_table();
            let root = table.root();
            for ns in probes(&body) {
                let NamespaceProof::Absent { leaf_count, left, right } = table.proof(ns) else {
                    return Err(TestCaseError::fail("expected absence"));
                };
                // Dropping one neighbour (when both exist) or pretending the table is empty.
                if left.is_some() && right.is_some() {
                    let only_left = NamespaceProof::Absent { leaf_count, left: left.clone(), right: None };
                    prop_assert!(only_left.verify(&root, ns, &[]).is_err());
                    let only_right = NamespaceProof::Absent { leaf_count, left: None, right: right.clone() };
                    prop_assert!(only_right.verify(&root, ns, &[]).is_err());
                }
                let none = NamespaceProof::Absent { leaf_count: 0, left: None, right: None };
                prop_assert_eq!(none.verify(&root, ns, &[]).is_ok(), body.namespaces.is_empty());
                // A neighbour with a tampered field.
                for side in [&left, &right] {
                    let Some(leaf) = side else { continue };
                    let mut variants = vec![leaf.clone(), leaf.clone(), leaf.clone()];
                    variants[0].entry_count ^= 1;
                    variants[1].entries_hash.0[bit / 8] ^= 1 << (bit % 8);
                    variants[2].namespace ^= 1 << (bit % 64);
                    for v in variants {
                        let forged = if std::ptr::eq(side, &left) {
                            NamespaceProof::Absent { leaf_count, left: Some(v), right: right.clone() }
                        } else {
                            NamespaceProof::Absent { leaf_count, left: left.clone(), right: Some(v) }
                        };
                        prop_assert!(forged.verify(&root, ns, &[]).is_err());
                    }
                }
            }
        }
    }
}
