//! Headers, bodies (namespace groups of entries) and blocks.

use crate::codec::{impl_decode, list_len, put_list, Encode, ReadFrom, Reader};
use crate::error::{DecodeError, Error};
use crate::namespace::{NamespaceProof, NamespaceTable};
use crate::transaction::{Entry, ENTRY_MIN_LEN};
use alloy_primitives::{keccak256, Address, B256};
use serde::{Deserialize, Serialize};

const HEADER_VERSION: u8 = 1;

/// A block header. Its hash ([`Header::hash`]) is the value validators vote on; it commits to
/// the body through `namespace_root` and `tx_count`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Header {
    /// The Ordo network's chain id.
    pub chain_id: u64,
    /// Block height, starting at 1.
    pub height: u64,
    /// Epoch of this height.
    pub epoch: u64,
    /// Proposer's clock when the block was built, unix milliseconds.
    pub timestamp_ms: u64,
    /// Hash of the previous block's header (zero for height 1).
    pub parent_hash: B256,
    /// Address of the validator that proposed the block.
    pub proposer: Address,
    /// Root of the namespace table of the body.
    pub namespace_root: B256,
    /// Number of entries in the body, over all namespaces.
    pub tx_count: u32,
    /// Hash of the validator set that decides this block.
    pub validators_hash: B256,
    /// Hash of the validator set that decides the next block.
    pub next_validators_hash: B256,
    /// Number of the L1 block this block has seen (0 without an L1).
    pub l1_origin_number: u64,
    /// Hash of that L1 block (zero without an L1).
    pub l1_origin_hash: B256,
    /// Inbox items included up to and including this block.
    pub inbox_cursor: u64,
}

impl Header {
    /// Length of the header encoding.
    pub const ENCODED_LEN: usize = 233;

    /// The block hash: keccak256 of the header encoding.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

impl Encode for Header {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.reserve(Self::ENCODED_LEN);
        out.push(HEADER_VERSION);
        out.extend_from_slice(&self.chain_id.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.extend_from_slice(self.parent_hash.as_slice());
        out.extend_from_slice(self.proposer.as_slice());
        out.extend_from_slice(self.namespace_root.as_slice());
        out.extend_from_slice(&self.tx_count.to_be_bytes());
        out.extend_from_slice(self.validators_hash.as_slice());
        out.extend_from_slice(self.next_validators_hash.as_slice());
        out.extend_from_slice(&self.l1_origin_number.to_be_bytes());
        out.extend_from_slice(self.l1_origin_hash.as_slice());
        out.extend_from_slice(&self.inbox_cursor.to_be_bytes());
    }

    fn encoded_len(&self) -> usize {
        Self::ENCODED_LEN
    }
}

impl ReadFrom for Header {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version(HEADER_VERSION)?;
        Ok(Self {
            chain_id: r.u64()?,
            height: r.u64()?,
            epoch: r.u64()?,
            timestamp_ms: r.u64()?,
            parent_hash: r.b256()?,
            proposer: r.address()?,
            namespace_root: r.b256()?,
            tx_count: r.u32()?,
            validators_hash: r.b256()?,
            next_validators_hash: r.b256()?,
            l1_origin_number: r.u64()?,
            l1_origin_hash: r.b256()?,
            inbox_cursor: r.u64()?,
        })
    }
}

/// One namespace's entries in a block, in block order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NamespaceEntries {
    /// The namespace (rollup) id.
    pub namespace: u64,
    /// Its entries, in order.
    pub entries: Vec<Entry>,
}

/// Smallest namespace group encoding: namespace and an empty list.
const GROUP_MIN_LEN: usize = 8 + 4;

impl Encode for NamespaceEntries {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.namespace.to_be_bytes());
        put_list(out, &self.entries);
    }

    fn encoded_len(&self) -> usize {
        8usize.saturating_add(list_len(&self.entries))
    }
}

impl ReadFrom for NamespaceEntries {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            namespace: r.u64()?,
            entries: r.list(ENTRY_MIN_LEN)?,
        })
    }
}

/// A block body: namespace groups sorted by strictly ascending namespace, none empty.
///
/// The fields are public so that a body can be taken apart cheaply; [`Body::validate`] (and
/// [`Block::check_commitments`]) check the rules, and decoding enforces them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Body {
    /// The namespace groups.
    pub namespaces: Vec<NamespaceEntries>,
}

impl Body {
    /// A body from groups in any order: sorts them by namespace (stable, so entry order
    /// within a group is kept) and drops empty groups. Fails on two groups with the same
    /// namespace, or more than `u32::MAX` entries in total.
    pub fn from_entries(groups: Vec<NamespaceEntries>) -> Result<Self, Error> {
        let mut namespaces: Vec<NamespaceEntries> = groups
            .into_iter()
            .filter(|g| !g.entries.is_empty())
            .collect();
        namespaces.sort_by_key(|g| g.namespace);
        let body = Self { namespaces };
        body.validate()?;
        Ok(body)
    }

    /// Checks the body rules: groups strictly ascending by namespace, none empty, total entry
    /// count fits in `u32`.
    pub fn validate(&self) -> Result<(), Error> {
        for pair in self.namespaces.windows(2) {
            if let [previous, next] = pair {
                if previous.namespace >= next.namespace {
                    return Err(Error::UnsortedNamespaces {
                        previous: previous.namespace,
                        next: next.namespace,
                    });
                }
            }
        }
        if let Some(empty) = self.namespaces.iter().find(|g| g.entries.is_empty()) {
            return Err(Error::EmptyNamespace(empty.namespace));
        }
        self.tx_count().map(|_| ())
    }

    /// Number of entries over all namespaces.
    pub fn tx_count(&self) -> Result<u32, Error> {
        self.namespaces.iter().try_fold(0u32, |acc, g| {
            u32::try_from(g.entries.len())
                .ok()
                .and_then(|n| acc.checked_add(n))
                .ok_or(Error::TooMany("entries in a block"))
        })
    }

    /// True when the body has no entries.
    pub fn is_empty(&self) -> bool {
        self.namespaces.iter().all(|g| g.entries.is_empty())
    }

    /// The namespace table of this body (build it once to compute many proofs).
    pub fn namespace_table(&self) -> NamespaceTable {
        NamespaceTable::build(
            self.namespaces
                .iter()
                .map(|g| (g.namespace, g.entries.as_slice())),
        )
    }

    /// Root of the namespace table (zero for an empty body).
    pub fn namespace_root(&self) -> B256 {
        self.namespace_table().root()
    }

    /// The group of namespace `ns`, if present (binary search: the body must be sorted).
    pub fn namespace(&self, ns: u64) -> Option<&NamespaceEntries> {
        self.namespaces
            .binary_search_by_key(&ns, |g| g.namespace)
            .ok()
            .and_then(|i| self.namespaces.get(i))
    }

    /// Proof of `ns`'s entries (inclusion) or of its absence. Builds the whole table; use
    /// [`Body::namespace_table`] for many proofs of one body.
    pub fn proof(&self, ns: u64) -> NamespaceProof {
        self.namespace_table().proof(ns)
    }

    /// All entries with their namespace, in block order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &Entry)> + '_ {
        self.namespaces
            .iter()
            .flat_map(|g| g.entries.iter().map(move |e| (g.namespace, e)))
    }
}

impl Encode for Body {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_list(out, &self.namespaces);
    }

    fn encoded_len(&self) -> usize {
        list_len(&self.namespaces)
    }
}

impl ReadFrom for Body {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let body = Self {
            namespaces: r.list(GROUP_MIN_LEN)?,
        };
        body.validate().map_err(|e| Reader::invalid_at(start, e))?;
        Ok(body)
    }
}

/// A block: header and body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The body.
    pub body: Body,
}

impl Block {
    /// The block hash ([`Header::hash`]).
    pub fn hash(&self) -> B256 {
        self.header.hash()
    }

    /// Checks that the body follows its rules and that the header's `tx_count` and
    /// `namespace_root` match it.
    pub fn check_commitments(&self) -> Result<(), Error> {
        self.body.validate()?;
        let tx_count = self.body.tx_count()?;
        if tx_count != self.header.tx_count {
            return Err(Error::TxCountMismatch {
                header: self.header.tx_count,
                body: tx_count,
            });
        }
        let root = self.body.namespace_root();
        if root != self.header.namespace_root {
            return Err(Error::NamespaceRootMismatch {
                header: self.header.namespace_root,
                body: root,
            });
        }
        Ok(())
    }
}

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        self.body.encode_to(out);
    }

    fn encoded_len(&self) -> usize {
        Header::ENCODED_LEN.saturating_add(self.body.encoded_len())
    }
}

impl ReadFrom for Block {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            header: Header::read_from(r)?,
            body: Body::read_from(r)?,
        })
    }
}

impl_decode!(Header, NamespaceEntries, Body, Block);
