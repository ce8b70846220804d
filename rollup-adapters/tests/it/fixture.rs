//! A small signed chain built in-process: real keys, real headers, real certificates.

use ordo_rollup_adapters::{Handover, NamespaceBlock};
use ordo_types::{
    vote_digest, Block, Body, Bytes, CommitCertificate, CommitSignature, Entry, ForcedTransaction,
    Header, NamespaceEntries, SecretKey, Transaction, Validator, ValidatorSet, VoteType, B256,
};

pub const CHAIN_ID: u64 = 1337;

pub fn key(i: usize) -> SecretKey {
    let mut bytes = [0u8; 32];
    bytes[31] = u8::try_from(i + 1).unwrap();
    bytes[0] = 0x42;
    SecretKey::from_bytes(&bytes).unwrap()
}

pub fn signed(namespace: u64, nonce: u64, payload: &[u8]) -> Entry {
    Entry::Signed(Transaction::sign(
        namespace,
        nonce,
        Bytes::copy_from_slice(payload),
        &key(100),
        CHAIN_ID,
    ))
}

pub fn forced(index: u64, payload: &[u8]) -> Entry {
    Entry::Forced(ForcedTransaction {
        inbox_index: index,
        sender: key(101).address(),
        payload: Bytes::copy_from_slice(payload),
    })
}

/// A chain of decided blocks with a committee of equal-power validators.
pub struct Chain {
    pub keys: Vec<SecretKey>,
    pub set: ValidatorSet,
    pub blocks: Vec<(Block, CommitCertificate)>,
    /// The committee of every block (index = height - 1).
    pub sets: Vec<ValidatorSet>,
    /// A committee announced by the next block, taking over after it.
    pending: Option<(Vec<SecretKey>, ValidatorSet)>,
    /// The encryption key commitment of the blocks pushed from now on.
    pub encryption_key_hash: B256,
}

impl Chain {
    pub fn new(validators: usize) -> Self {
        let keys: Vec<SecretKey> = (0..validators).map(key).collect();
        let set = ValidatorSet::new(
            keys.iter()
                .map(|k| Validator::new(k.public_key(), 100))
                .collect(),
        )
        .unwrap();
        Self {
            keys,
            set,
            blocks: Vec::new(),
            sets: Vec::new(),
            pending: None,
            encryption_key_hash: B256::ZERO,
        }
    }

    /// The next block announces a committee of `keys` (power 100 each), which decides the
    /// blocks after it.
    pub fn rotate_to(&mut self, keys: Vec<SecretKey>) {
        let set = ValidatorSet::new(
            keys.iter()
                .map(|k| Validator::new(k.public_key(), 100))
                .collect(),
        )
        .unwrap();
        self.pending = Some((keys, set));
    }

    /// Appends a block with `groups`, certified by every validator.
    pub fn push(&mut self, groups: Vec<NamespaceEntries>) -> &(Block, CommitCertificate) {
        let body = Body::from_entries(groups).unwrap();
        let height = self.blocks.len() as u64 + 1;
        let parent_hash = self.blocks.last().map_or(B256::ZERO, |(b, _)| b.hash());
        let header = Header {
            chain_id: CHAIN_ID,
            height,
            epoch: 0,
            timestamp_ms: 1_700_000_000_000 + height * 200,
            parent_hash,
            proposer: self.keys[0].address(),
            namespace_root: body.namespace_root(),
            tx_count: body.tx_count().unwrap(),
            validators_hash: self.set.hash(),
            next_validators_hash: self
                .pending
                .as_ref()
                .map_or(self.set.hash(), |(_, next)| next.hash()),
            l1_origin_number: 0,
            l1_origin_hash: B256::ZERO,
            inbox_cursor: 0,
            bundle_root: body.bundle_root(),
            encryption_key_hash: self.encryption_key_hash,
        };
        let block = Block { header, body };
        block.check_commitments().unwrap();
        let all: Vec<usize> = (0..self.keys.len()).collect();
        let cert = self.certify(&block.header, 0, &all);
        self.blocks.push((block, cert));
        self.sets.push(self.set.clone());
        if let Some((keys, set)) = self.pending.take() {
            self.keys = keys;
            self.set = set;
        }
        self.blocks.last().unwrap()
    }

    /// Appends `count` blocks, each with two entries in namespace 7 and one in 9 (every
    /// third block has nothing in namespace 7).
    pub fn extend(&mut self, count: usize) {
        for _ in 0..count {
            let h = self.blocks.len() as u64 + 1;
            let mut groups = vec![NamespaceEntries {
                namespace: 9,
                entries: vec![forced(h, b"nine")],
            }];
            if !h.is_multiple_of(3) {
                groups.push(NamespaceEntries {
                    namespace: 7,
                    entries: vec![signed(7, 2 * h, b"a"), signed(7, 2 * h + 1, b"b")],
                });
            }
            self.push(groups);
        }
    }

    /// A precommit certificate for `header` by the validators at `signers` (indices in
    /// `keys`).
    pub fn certify(&self, header: &Header, round: u32, signers: &[usize]) -> CommitCertificate {
        let hash = header.hash();
        let digest = vote_digest(
            CHAIN_ID,
            header.height,
            round,
            VoteType::Precommit,
            Some(hash),
        );
        let mut signatures: Vec<CommitSignature> = signers
            .iter()
            .map(|&i| CommitSignature {
                signer: self.keys[i].address(),
                signature: self.keys[i].sign_digest(&digest),
            })
            .collect();
        signatures.sort_by_key(|s| s.signer);
        CommitCertificate {
            height: header.height,
            round,
            block_hash: hash,
            signatures,
        }
    }

    /// The handover at `height`, if its block names another committee for the next height.
    pub fn handover(&self, height: u64) -> Option<Handover> {
        let (block, cert) = self
            .blocks
            .get(usize::try_from(height.checked_sub(1)?).ok()?)?;
        let header = &block.header;
        if header.next_validators_hash == header.validators_hash {
            return None;
        }
        let next = self
            .sets
            .get(usize::try_from(height).unwrap())
            .unwrap_or(&self.set);
        Some(Handover {
            header: header.clone(),
            certificate: cert.clone(),
            next: next.clone(),
        })
    }

    /// Namespace `ns`'s honest slice of the block at `height`.
    pub fn slice(&self, ns: u64, height: u64) -> NamespaceBlock {
        let (block, cert) = &self.blocks[usize::try_from(height - 1).unwrap()];
        NamespaceBlock {
            bundles: Vec::new(),
            opened: Vec::new(),
            namespace: ns,
            height: block.header.height,
            block_hash: block.hash(),
            namespace_root: block.header.namespace_root,
            header: block.header.clone(),
            certificate: cert.clone(),
            transactions: block
                .body
                .namespace(ns)
                .map(|g| g.entries.clone())
                .unwrap_or_default(),
            proof: block.body.proof(ns),
        }
    }
}
