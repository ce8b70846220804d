//! Headers, bodies (namespace groups of entries) and blocks.

use crate::bundle::{
    bundle_proof, bundle_root, validate_bundles, BundleProof, PlacedBundle, PLACED_MIN_LEN,
};
use crate::codec::{impl_decode, list_len, put_list, Encode, ReadFrom, Reader};
use crate::error::{DecodeError, DecodeErrorKind, Error};
use crate::namespace::{NamespaceProof, NamespaceTable};
use crate::transaction::{Entry, ENTRY_MIN_LEN};
use crate::validator::ValidatorSet;
use alloy_primitives::{keccak256, Address, B256};
use serde::{Deserialize, Serialize};

const HEADER_VERSION: u8 = 3;

/// A block header. Its hash ([`Header::hash`]) is the value validators vote on; it commits to
/// the body through `namespace_root`, `tx_count` and `bundle_root`.
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
    /// Root of the bundle table of the body (zero without bundles).
    pub bundle_root: B256,
    /// The commitment to the encrypted lane's key that opens this block's encrypted
    /// transactions (`ordo_enc::EncryptionKey::commitment`; zero where the lane is closed).
    pub encryption_key_hash: B256,
}

impl Header {
    /// Length of the header encoding.
    pub const ENCODED_LEN: usize = 297;

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
        out.extend_from_slice(self.bundle_root.as_slice());
        out.extend_from_slice(self.encryption_key_hash.as_slice());
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
            bundle_root: r.b256()?,
            encryption_key_hash: r.b256()?,
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

/// A block body: namespace groups sorted by strictly ascending namespace, none empty, and the
/// bundles placed in them.
///
/// The fields are public so that a body can be taken apart cheaply; [`Body::validate`] (and
/// [`Block::check_commitments`]) check the rules, and decoding enforces them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Body {
    /// The namespace groups.
    pub namespaces: Vec<NamespaceEntries>,
    /// The bundles the groups hold, each part contiguous in its namespace's group.
    pub bundles: Vec<PlacedBundle>,
}

impl Body {
    /// A body from groups in any order: sorts them by namespace (stable, so entry order
    /// within a group is kept) and drops empty groups. Fails on two groups with the same
    /// namespace, a signed transaction in another namespace's group, or more than `u32::MAX`
    /// entries in total.
    pub fn from_entries(groups: Vec<NamespaceEntries>) -> Result<Self, Error> {
        let mut namespaces: Vec<NamespaceEntries> = groups
            .into_iter()
            .filter(|g| !g.entries.is_empty())
            .collect();
        namespaces.sort_by_key(|g| g.namespace);
        let body = Self {
            namespaces,
            bundles: Vec::new(),
        };
        body.validate()?;
        Ok(body)
    }

    /// Checks the body rules: groups strictly ascending by namespace, none empty, every signed
    /// transaction in the group of its own namespace, total entry count fits in `u32`, and the
    /// placed bundles valid and apart (see [`PlacedBundle`]).
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
        for group in &self.namespaces {
            if group.entries.is_empty() {
                return Err(Error::EmptyNamespace(group.namespace));
            }
            for entry in &group.entries {
                if let Entry::Signed(tx) = entry {
                    if tx.namespace() != group.namespace {
                        return Err(Error::EntryNamespaceMismatch {
                            group: group.namespace,
                            transaction: tx.namespace(),
                        });
                    }
                }
            }
        }
        self.tx_count()?;
        validate_bundles(&self.bundles, &self.namespaces)
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

    /// Root of the bundle table (zero without bundles).
    pub fn bundle_root(&self) -> B256 {
        bundle_root(&self.bundles)
    }

    /// The placed bundle with id `hash`, and the proof of it against the bundle root.
    pub fn bundle(&self, hash: &B256) -> Option<(&PlacedBundle, BundleProof)> {
        let index = self.bundles.iter().position(|b| b.hash() == *hash)?;
        Some((
            self.bundles.get(index)?,
            bundle_proof(&self.bundles, index)?,
        ))
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
        put_list(out, &self.bundles);
    }

    fn encoded_len(&self) -> usize {
        list_len(&self.namespaces).saturating_add(list_len(&self.bundles))
    }
}

impl ReadFrom for Body {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let body = Self {
            namespaces: r.list(GROUP_MIN_LEN)?,
            bundles: r.list(PLACED_MIN_LEN)?,
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

    /// Checks that the body follows its rules and that the header's `tx_count`,
    /// `namespace_root` and `bundle_root` match it.
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
        let bundles = self.body.bundle_root();
        if bundles != self.header.bundle_root {
            return Err(Error::BundleRootMismatch {
                header: self.header.bundle_root,
                body: bundles,
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

/// A decided block as a peer serves it to a node catching up: the block, and the committee
/// its header announces when that differs from the block's own (`next_validators_hash` !=
/// `validators_hash`). A node whose L1 view could not elect that committee takes it from here,
/// once the block's certificate is checked: the certified header's hash vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedBlock {
    /// The block.
    pub block: Block,
    /// The committee deciding the next height, when it is not the block's own.
    pub next_validators: Option<ValidatorSet>,
}

impl SyncedBlock {
    /// Checks the block's commitments, and that the announced committee is present exactly
    /// when the header announces a change, and hashes to `next_validators_hash`.
    pub fn check(&self) -> Result<(), Error> {
        self.block.check_commitments()?;
        let h = &self.block.header;
        let changes = h.next_validators_hash != h.validators_hash;
        let announced = self.next_validators.as_ref().map(ValidatorSet::hash);
        match announced {
            Some(hash) if changes && hash == h.next_validators_hash => Ok(()),
            None if !changes => Ok(()),
            _ => Err(Error::AnnouncedCommitteeMismatch(h.next_validators_hash)),
        }
    }
}

/// The block, then `0` or `1` and the committee.
impl Encode for SyncedBlock {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.block.encode_to(out);
        match &self.next_validators {
            None => out.push(0),
            Some(set) => {
                out.push(1);
                set.encode_to(out);
            }
        }
    }

    fn encoded_len(&self) -> usize {
        let set = self.next_validators.as_ref().map_or(0, Encode::encoded_len);
        self.block
            .encoded_len()
            .saturating_add(1)
            .saturating_add(set)
    }
}

impl ReadFrom for SyncedBlock {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let block = Block::read_from(r)?;
        let at = r.offset();
        let next_validators = match r.u8()? {
            0 => None,
            1 => Some(ValidatorSet::read_from(r)?),
            tag => return Err(DecodeError::new(at, DecodeErrorKind::UnknownTag(tag))),
        };
        Ok(Self {
            block,
            next_validators,
        })
    }
}

impl_decode!(Header, NamespaceEntries, Body, Block, SyncedBlock);

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::codec::Decode;
    use crate::error::DecodeErrorKind;
    use crate::testutil::{arb_body, arb_header, assert_round_trip, hex32, key};
    use crate::transaction::{ForcedTransaction, Transaction};
    use crate::{Bundle, BundleTerms};
    use alloy_primitives::Bytes;
    use proptest::prelude::*;

    // Computed independently with Foundry's `cast` 1.7.1 (`cast abi-encode --packed`,
    // `cast concat-hex`, `cast keccak`), following docs/FORMATS.md.
    const BODY_ROOT: &str = "0x59fa294128f800070f43ae156188e63edc34641c866668381c2a80dfde76704d";
    const BUNDLE_HASH: &str = "0x9784f7a113b74906bf6310d9a6343622b38f7711aff49990c88e29d09b2d700b";
    const BUNDLE_ROOT: &str = "0xf10108a1aa2ea288de9e17ee856fc8007cf5da0b7b60f478e361294c34f2293d";
    const HEADER_ENCODING: &str = "0300000000000004d2000000000000000500000000000000010000018bcfe5680011111111111111111111111111111111111111111111111111111111111111111a642f0e3c3af545e7acbd38b07251b3990914f159fa294128f800070f43ae156188e63edc34641c866668381c2a80dfde76704d0000000322222222222222222222222222222222222222222222222222222222222222223333333333333333333333333333333333333333333333333333333333333333000000000000006444444444444444444444444444444444444444444444444444444444444444440000000000000005f10108a1aa2ea288de9e17ee856fc8007cf5da0b7b60f478e361294c34f2293d5555555555555555555555555555555555555555555555555555555555555555";
    pub(crate) const BLOCK_HASH: &str =
        "0x6dc119373cf5952cee747a5270f73af58c7e8f1aa3a90be6bc8134c89bee3edc";

    /// Three namespaces (1, 9, 42), one entry each: a tree with a promoted odd node; the
    /// signed transaction is a bundle of its own, allowed to revert, up to height 9.
    pub(crate) fn fixed_body() -> Body {
        let tx = Transaction::sign(
            42,
            7,
            Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
            &key(1),
            1234,
        );
        let terms = BundleTerms {
            max_height: 9,
            reverting: vec![tx.hash()],
            ..BundleTerms::default()
        };
        let bundle = Bundle::new(terms, vec![tx.clone()]).unwrap();
        let f1 = ForcedTransaction {
            inbox_index: 3,
            sender: Address::repeat_byte(0x11),
            payload: Bytes::from_static(&[1, 2]),
        };
        let f2 = ForcedTransaction {
            inbox_index: 4,
            sender: Address::repeat_byte(0x22),
            payload: Bytes::new(),
        };
        let mut body = Body::from_entries(vec![
            NamespaceEntries {
                namespace: 42,
                entries: vec![Entry::Signed(tx)],
            },
            NamespaceEntries {
                namespace: 9,
                entries: vec![Entry::Forced(f2)],
            },
            NamespaceEntries {
                namespace: 1,
                entries: vec![Entry::Forced(f1)],
            },
        ])
        .unwrap();
        body.bundles = vec![bundle.placed(|_| 0)];
        body
    }

    pub(crate) fn fixed_header() -> Header {
        Header {
            chain_id: 1234,
            height: 5,
            epoch: 1,
            timestamp_ms: 1_700_000_000_000,
            parent_hash: B256::repeat_byte(0x11),
            proposer: key(1).address(),
            namespace_root: hex32(BODY_ROOT),
            tx_count: 3,
            validators_hash: B256::repeat_byte(0x22),
            next_validators_hash: B256::repeat_byte(0x33),
            l1_origin_number: 100,
            l1_origin_hash: B256::repeat_byte(0x44),
            inbox_cursor: 5,
            bundle_root: hex32(BUNDLE_ROOT),
            encryption_key_hash: B256::repeat_byte(0x55),
        }
    }

    #[test]
    fn golden_namespace_root() {
        let body = fixed_body();
        assert_eq!(
            body.namespaces
                .iter()
                .map(|g| g.namespace)
                .collect::<Vec<_>>(),
            [1, 9, 42]
        );
        assert_eq!(body.namespace_root(), hex32(BODY_ROOT));
        assert_eq!(body.bundles[0].hash(), hex32(BUNDLE_HASH));
        assert_eq!(body.bundle_root(), hex32(BUNDLE_ROOT));
        assert_eq!(body.tx_count().unwrap(), 3);
        assert_eq!(Body::default().namespace_root(), B256::ZERO);
        assert_eq!(Body::default().tx_count().unwrap(), 0);
    }

    #[test]
    fn golden_header_and_block_hash() {
        let header = fixed_header();
        let bytes = header.encode();
        assert_eq!(bytes.len(), Header::ENCODED_LEN);
        assert_eq!(hex::encode(&bytes), HEADER_ENCODING);
        assert_eq!(header.hash(), hex32(BLOCK_HASH));
        let block = Block {
            header,
            body: fixed_body(),
        };
        assert_eq!(block.hash(), hex32(BLOCK_HASH));
        block.check_commitments().unwrap();
        assert_round_trip(&block);
        assert_eq!(&block.encode()[..Header::ENCODED_LEN], &bytes[..]);
    }

    #[test]
    fn header_field_offsets() {
        // Spot-check offsets from the FORMATS.md table.
        let bytes = fixed_header().encode();
        assert_eq!(bytes[0], 3);
        assert_eq!(&bytes[65..85], key(1).address().as_slice());
        assert_eq!(&bytes[117..121], &3u32.to_be_bytes());
        assert_eq!(&bytes[185..193], &100u64.to_be_bytes());
        assert_eq!(&bytes[225..233], &5u64.to_be_bytes());
        assert_eq!(&bytes[233..265], fixed_body().bundle_root().as_slice());
        assert_eq!(&bytes[265..297], [0x55; 32].as_slice());
        let mut bad = bytes.clone();
        bad[0] = 0;
        assert_eq!(
            Header::decode(&bad).unwrap_err().kind,
            DecodeErrorKind::UnknownVersion(0)
        );
        assert!(Header::decode(&bytes[..232]).is_err());
    }

    #[test]
    fn check_commitments_catches_mismatches() {
        let mut block = Block {
            header: fixed_header(),
            body: fixed_body(),
        };
        block.header.tx_count = 4;
        assert_eq!(
            block.check_commitments().unwrap_err(),
            Error::TxCountMismatch { header: 4, body: 3 }
        );
        block.header.tx_count = 3;
        block.header.namespace_root = B256::ZERO;
        assert!(matches!(
            block.check_commitments().unwrap_err(),
            Error::NamespaceRootMismatch { .. }
        ));
        let mut block = Block {
            header: fixed_header(),
            body: fixed_body(),
        };
        block.body.namespaces.swap(0, 1);
        assert_eq!(
            block.check_commitments().unwrap_err(),
            Error::UnsortedNamespaces {
                previous: 9,
                next: 1
            }
        );
        let mut block = Block {
            header: fixed_header(),
            body: fixed_body(),
        };
        block.body.namespaces[0].entries.clear();
        assert_eq!(
            block.check_commitments().unwrap_err(),
            Error::EmptyNamespace(1)
        );
        let mut block = Block {
            header: fixed_header(),
            body: fixed_body(),
        };
        block.body.namespaces[2].namespace = 43;
        assert_eq!(
            block.check_commitments().unwrap_err(),
            Error::EntryNamespaceMismatch {
                group: 43,
                transaction: 42
            }
        );
    }

    #[test]
    fn synced_blocks_carry_the_committee_their_header_announces() {
        use crate::validator::tests::validator;
        let set = ValidatorSet::new(vec![validator(2, 20), validator(1, 10)]).unwrap();
        let mut block = Block {
            header: fixed_header(),
            body: fixed_body(),
        };
        block.header.next_validators_hash = set.hash();
        let synced = SyncedBlock {
            block: block.clone(),
            next_validators: Some(set.clone()),
        };
        synced.check().unwrap();
        // Layout: the block, tag 1, then list<Validator> in address order (key 1 sorts first),
        // each the compressed key and the power.
        let mut expected = block.encode();
        expected.push(1);
        expected.extend_from_slice(&2u32.to_be_bytes());
        for (b, power) in [(1u8, 10u64), (2, 20)] {
            expected.extend_from_slice(&key(b).public_key().to_sec1());
            expected.extend_from_slice(&power.to_be_bytes());
        }
        assert_eq!(synced.encode(), expected);
        assert_eq!(synced.encoded_len(), expected.len());
        assert_eq!(SyncedBlock::decode(&expected).unwrap(), synced);

        let mismatch = |s: &SyncedBlock| {
            assert_eq!(
                s.check(),
                Err(Error::AnnouncedCommitteeMismatch(
                    s.block.header.next_validators_hash
                ))
            )
        };
        // Missing, or another committee, where the header announces a change.
        mismatch(&SyncedBlock {
            block: block.clone(),
            next_validators: None,
        });
        let other = ValidatorSet::new(vec![validator(2, 21), validator(1, 10)]).unwrap();
        mismatch(&SyncedBlock {
            block: block.clone(),
            next_validators: Some(other),
        });
        // Present where the committee does not change.
        let mut same = block.clone();
        same.header.validators_hash = set.hash();
        mismatch(&SyncedBlock {
            block: same.clone(),
            next_validators: Some(set.clone()),
        });
        let none = SyncedBlock {
            block: same,
            next_validators: None,
        };
        none.check().unwrap();
        assert_eq!(none.encode().last(), Some(&0));
        assert_eq!(SyncedBlock::decode(&none.encode()).unwrap(), none);

        // An unknown tag, and a committee that breaks the set's rules, do not decode.
        let mut bad = block.encode();
        bad.push(2);
        assert!(matches!(
            SyncedBlock::decode(&bad).unwrap_err().kind,
            DecodeErrorKind::UnknownTag(2)
        ));
        let mut dup = block.encode();
        dup.push(1);
        dup.extend_from_slice(&2u32.to_be_bytes());
        for _ in 0..2 {
            dup.extend_from_slice(&key(1).public_key().to_sec1());
            dup.extend_from_slice(&10u64.to_be_bytes());
        }
        assert!(matches!(
            SyncedBlock::decode(&dup).unwrap_err().kind,
            DecodeErrorKind::Invalid(_)
        ));
    }

    #[test]
    fn from_entries_sorts_drops_empty_and_rejects_duplicates() {
        let body = fixed_body();
        let mut groups = body.namespaces.clone();
        groups.reverse();
        groups.push(NamespaceEntries {
            namespace: 5,
            entries: vec![],
        });
        assert_eq!(
            Body::from_entries(groups).unwrap().namespaces,
            body.namespaces
        );
        let mut dup = body.namespaces.clone();
        dup.push(body.namespaces[0].clone());
        assert_eq!(
            Body::from_entries(dup).unwrap_err(),
            Error::UnsortedNamespaces {
                previous: 1,
                next: 1
            }
        );
        assert_eq!(body.namespace(9).unwrap().namespace, 9);
        assert!(body.namespace(10).is_none());
        assert_eq!(
            body.entries().map(|(ns, _)| ns).collect::<Vec<_>>(),
            [1, 9, 42]
        );
    }

    #[test]
    fn body_decoder_enforces_rules() {
        let body = fixed_body();
        let mut unsorted = body.clone();
        unsorted.namespaces.swap(1, 2);
        let err = Body::decode(&unsorted.encode()).unwrap_err();
        assert_eq!(err.offset, 0);
        assert_eq!(
            err.kind,
            DecodeErrorKind::Invalid(Box::new(Error::UnsortedNamespaces {
                previous: 42,
                next: 9
            }))
        );
        let mut empty = body.clone();
        empty.namespaces[1].entries.clear();
        assert!(Body::decode(&empty.encode()).is_err());
        // A group count of ~4e9 with a few bytes after it.
        let mut huge = 4_000_000_000u32.to_be_bytes().to_vec();
        huge.extend_from_slice(&[0u8; 12]);
        assert!(matches!(
            Body::decode(&huge).unwrap_err().kind,
            DecodeErrorKind::LengthTooLarge { .. }
        ));
        // An entry count of u32::MAX inside a group.
        let mut huge = 1u32.to_be_bytes().to_vec();
        huge.extend_from_slice(&7u64.to_be_bytes());
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(&[0u8; 40]);
        assert!(matches!(
            Body::decode(&huge).unwrap_err().kind,
            DecodeErrorKind::LengthTooLarge { .. }
        ));
    }

    #[test]
    fn header_json_uses_field_names() {
        let json = serde_json::to_value(fixed_header()).unwrap();
        assert_eq!(json["chain_id"], 1234);
        assert_eq!(json["namespace_root"], BODY_ROOT);
        assert_eq!(
            serde_json::from_value::<Header>(json).unwrap(),
            fixed_header()
        );
    }

    proptest! {
        #[test]
        fn header_round_trip(header in arb_header()) {
            assert_round_trip(&header);
            prop_assert_eq!(header.hash(), keccak256(header.encode()));
        }

        #[test]
        fn body_and_block_round_trip(body in arb_body(6, 1000), header in arb_header()) {
            assert_round_trip(&body);
            let mut block = Block { header, body };
            block.header.tx_count = block.body.tx_count().unwrap();
            block.header.namespace_root = block.body.namespace_root();
            block.header.bundle_root = block.body.bundle_root();
            block.check_commitments().unwrap();
            assert_round_trip(&block);
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Header::decode(&bytes);
            let _ = NamespaceEntries::decode(&bytes);
            if let Ok(body) = Body::decode(&bytes) {
                prop_assert_eq!(body.encode(), bytes.clone());
            }
            let _ = Block::decode(&bytes);
            let _ = SyncedBlock::decode(&bytes);
            let _ = ValidatorSet::decode(&bytes);
        }

        #[test]
        fn decoders_never_panic_on_mutated_blocks(body in arb_body(4, 50), header in arb_header(), pos in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = Block { header, body }.encode();
            let i = pos % bytes.len();
            bytes[i] = byte;
            if let Ok(block) = Block::decode(&bytes) {
                prop_assert_eq!(block.encode(), bytes);
            }
        }
    }
}
