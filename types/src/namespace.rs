//! The namespace table: a Merkle tree (RFC 6962 shape) over the namespaces present in a block,
//! and proofs that a namespace's entries are complete, or that a namespace is absent.

use crate::codec::{impl_decode, list_len, put_list, Encode, ReadFrom, Reader};
use crate::error::{DecodeError, DecodeErrorKind, Error};
use crate::transaction::Entry;
use alloy_primitives::{keccak256, Keccak256, B256};
use serde::{Deserialize, Serialize};

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

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

/// `keccak256(0x01 || left || right)`.
pub(crate) fn node_hash(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 1 + 32 + 32];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(left.as_slice());
    buf[33..].copy_from_slice(right.as_slice());
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
        let mut level: Vec<B256> = leaves
            .iter()
            .map(|l| leaf_hash(l.namespace, l.entry_count, &l.entries_hash))
            .collect();
        let mut levels = Vec::new();
        while level.len() > 1 {
            let next: Vec<B256> = level
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    [single] => *single,
                    _ => B256::ZERO,
                })
                .collect();
            levels.push(level);
            level = next;
        }
        levels.push(level);
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
        match self.levels.last().map(Vec::as_slice) {
            Some([root]) => *root,
            _ => B256::ZERO,
        }
    }

    /// Audit path of the leaf at `index`, bottom up.
    fn path(&self, index: usize) -> Vec<B256> {
        let mut path = Vec::new();
        let mut i = index;
        for level in self.levels.iter().take(self.levels.len().saturating_sub(1)) {
            if let Some(sibling) = level.get(i ^ 1) {
                path.push(*sibling);
            }
            i >>= 1;
        }
        path
    }

    fn adjacent(&self, index: usize) -> Option<AdjacentLeaf> {
        let leaf = self.leaves.get(index)?;
        Some(AdjacentLeaf {
            index: u32::try_from(index).ok()?,
            namespace: leaf.namespace,
            entry_count: leaf.entry_count,
            entries_hash: leaf.entries_hash,
            path: self.path(index),
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
                path: self.path(index),
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

/// Checks that `leaf` at `index` of a `size`-leaf tree hashes up to `root` through `path`.
fn check_path(index: u32, size: u32, leaf: B256, path: &[B256], root: &B256) -> Result<(), Error> {
    if index >= size {
        return Err(Error::InvalidProof("leaf index out of range"));
    }
    match root_from_path(index, size, leaf, path) {
        Some(computed) if computed == *root => Ok(()),
        Some(_) => Err(Error::InvalidProof("root mismatch")),
        None => Err(Error::InvalidProof("audit path has the wrong length")),
    }
}

/// Recomputes the root of a `size`-leaf RFC 6962 tree (`index < size`) from a leaf and its
/// bottom-up audit path, following the recursive definition: the left subtree holds the
/// largest power of two below `size`. `None` when the path length does not fit the shape.
fn root_from_path(index: u32, size: u32, leaf: B256, path: &[B256]) -> Option<B256> {
    if size <= 1 {
        return path.is_empty().then_some(leaf);
    }
    let split = largest_power_of_two_below(size);
    let (sibling, rest) = path.split_last()?;
    if index < split {
        Some(node_hash(
            &root_from_path(index, split, leaf, rest)?,
            sibling,
        ))
    } else {
        let right = root_from_path(
            index.checked_sub(split)?,
            size.checked_sub(split)?,
            leaf,
            rest,
        )?;
        Some(node_hash(sibling, &right))
    }
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn largest_power_of_two_below(n: u32) -> u32 {
    let bits = u32::BITS.saturating_sub(n.saturating_sub(1).leading_zeros());
    1u32.checked_shl(bits.saturating_sub(1)).unwrap_or(1)
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
