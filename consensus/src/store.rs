//! The node's durable store (redb): decided blocks with their commit certificates, and the
//! proposals seen or built for heights not yet decided.
//!
//! Invariants:
//! - a block, its certificate and their vote extensions are committed in one transaction,
//!   before consensus is told the decision is persisted; what the block's encrypted
//!   transactions opened to follows in its own write (the extensions can open it again);
//! - a proposal this node built for (height, round) is on disk before it is proposed, so after a
//!   crash the same block is proposed again.

use std::path::Path;
use std::sync::Arc;

use ordo_types::{
    Address, Block, CommitCertificate, Decode, Encode, OpenFailure, Opened, OpenedEntry, Signature,
    B256,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::wire::{Reader, WireError, Writer};

const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const CERTIFICATES: TableDefinition<u64, &[u8]> = TableDefinition::new("certificates");
const HEIGHT_BY_HASH: TableDefinition<[u8; 32], u64> = TableDefinition::new("height_by_hash");
/// (height, round, block hash) -> stored proposal.
const PROPOSALS: TableDefinition<[u8; 44], &[u8]> = TableDefinition::new("proposals");
/// (height, round) -> hash of the block this node built.
const OWN_PROPOSALS: TableDefinition<[u8; 12], [u8; 32]> = TableDefinition::new("own_proposals");
/// (sender, namespace) -> next nonce, as of the latest decided block.
const NONCES: TableDefinition<[u8; 28], u64> = TableDefinition::new("nonces");
/// transaction hash -> (height, namespace, index within the namespace).
const TX_INDEX: TableDefinition<[u8; 32], [u8; 20]> = TableDefinition::new("tx_index");
/// bundle hash -> height of the block that placed it.
const BUNDLE_INDEX: TableDefinition<[u8; 32], u64> = TableDefinition::new("bundle_index");
/// epoch → its committee: `(compressed public key (33) || voting power u64)` per member.
const COMMITTEES: TableDefinition<u64, &[u8]> = TableDefinition::new("committees");
/// Heights whose header announces another committee for the next height: the handovers a light
/// client walks to trust a later committee.
const HANDOVERS: TableDefinition<u64, ()> = TableDefinition::new("handovers");
/// Height → the vote extensions of its certificate's precommits (the decryption shares), as
/// sync serves them with the certificate.
const EXTENSIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("extensions");
/// Height → its encrypted transactions, opened ([`encode_opened`]); absent for a height
/// without any.
const OPENED: TableDefinition<u64, &[u8]> = TableDefinition::new("opened");

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// Stored bytes did not decode: the file is corrupt or from another version.
    #[error("corrupt record in {table}: {reason}")]
    Corrupt {
        /// The table holding the record.
        table: &'static str,
        /// What failed.
        reason: String,
    },
}

macro_rules! from_redb {
    ($($e:ty),*) => {$(
        impl From<$e> for StoreError {
            fn from(e: $e) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A decided block with its commit certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecidedBlock {
    /// The block.
    pub block: Block,
    /// The precommits that decided it.
    pub certificate: CommitCertificate,
    /// Its encrypted transactions, opened with the keys the deciding precommits released, in
    /// block order (empty when it has none, or this node could not open them).
    pub opened: Vec<OpenedEntry>,
}

/// A proposal received or built for a height not yet decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredProposal {
    pub(crate) round: u32,
    pub(crate) pol_round: Option<u32>,
    pub(crate) proposer: Address,
    /// The proposer's signature over the proposal digest; none for a block received by sync.
    pub(crate) signature: Option<Signature>,
    pub(crate) valid: bool,
    pub(crate) block: Block,
}

impl StoredProposal {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.round)
            .u32(self.pol_round.unwrap_or(u32::MAX))
            .raw(self.proposer.as_slice());
        match &self.signature {
            Some(sig) => w.u8(1).raw(&sig.0),
            None => w.u8(0),
        };
        w.u8(u8::from(self.valid)).raw(&self.block.encode());
        w.finish().to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            table: "proposals",
            reason,
        };
        let mut r = Reader::new(bytes);
        let mut fields = || -> Result<_, WireError> {
            let round = r.u32()?;
            let pol_round = Some(r.u32()?).filter(|&p| p != u32::MAX);
            let proposer = r.address()?;
            let signature = match r.u8()? {
                0 => None,
                1 => Some(r.signature()?),
                tag => {
                    return Err(WireError::UnknownTag {
                        what: "signed",
                        tag,
                    })
                }
            };
            let valid = match r.u8()? {
                0 => false,
                1 => true,
                tag => return Err(WireError::UnknownTag { what: "valid", tag }),
            };
            Ok((round, pol_round, proposer, signature, valid))
        };
        let (round, pol_round, proposer, signature, valid) =
            fields().map_err(|e| corrupt(e.to_string()))?;
        let block = Block::decode(r.rest()).map_err(|e| corrupt(e.to_string()))?;
        Ok(Self {
            round,
            pol_round,
            proposer,
            signature,
            valid,
            block,
        })
    }
}

/// The bytes of an `opened` record: a count (u32), then per entry its namespace (u64), index
/// (u32), identity (32), key (48), and a tag (0: a payload follows, length-prefixed; 1, 2, 3:
/// it failed to open at the key encapsulation, the payload's tag, the padding).
fn encode_opened(opened: &[OpenedEntry]) -> Vec<u8> {
    let mut w = Writer::new();
    w.len(opened.len());
    for e in opened {
        w.u64(e.namespace)
            .u32(e.index)
            .raw(e.identity.as_slice())
            .bytes(&e.key);
        match &e.outcome {
            Opened::Plaintext(p) => w.u8(0).bytes(p),
            Opened::Failure(OpenFailure::Kem) => w.u8(1),
            Opened::Failure(OpenFailure::Dem) => w.u8(2),
            Opened::Failure(OpenFailure::Padding) => w.u8(3),
        };
    }
    w.finish().to_vec()
}

fn decode_opened(bytes: &[u8]) -> Result<Vec<OpenedEntry>, StoreError> {
    let corrupt = |e: WireError| StoreError::Corrupt {
        table: "opened",
        reason: e.to_string(),
    };
    let mut r = Reader::new(bytes);
    let n = r.count(8 + 4 + 32 + 4 + 1).map_err(corrupt)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let namespace = r.u64().map_err(corrupt)?;
        let index = r.u32().map_err(corrupt)?;
        let identity = r.b256().map_err(corrupt)?;
        let key = r.bytes().map_err(corrupt)?.to_vec().into();
        let outcome = match r.u8().map_err(corrupt)? {
            0 => Opened::Plaintext(r.bytes().map_err(corrupt)?.to_vec().into()),
            1 => Opened::Failure(OpenFailure::Kem),
            2 => Opened::Failure(OpenFailure::Dem),
            3 => Opened::Failure(OpenFailure::Padding),
            tag => {
                return Err(corrupt(WireError::UnknownTag {
                    what: "opened",
                    tag,
                }))
            }
        };
        out.push(OpenedEntry {
            namespace,
            index,
            identity,
            key,
            outcome,
        });
    }
    r.finish().map_err(corrupt)?;
    Ok(out)
}

/// Decodes a committee record: the members' encodings, concatenated.
fn decode_committee(bytes: &[u8]) -> Result<ordo_types::ValidatorSet, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        table: "committees",
        reason,
    };
    let size = ordo_types::Validator::ENCODED_LEN;
    if !bytes.len().is_multiple_of(size) {
        return Err(corrupt(format!("length {}", bytes.len())));
    }
    let members = bytes
        .chunks_exact(size)
        .map(|m| ordo_types::Validator::decode(m).map_err(|e| corrupt(e.to_string())))
        .collect::<Result<Vec<_>, StoreError>>()?;
    if members.windows(2).any(|w| w[0].address >= w[1].address) {
        return Err(corrupt("members not in ascending address order".into()));
    }
    ordo_types::ValidatorSet::new(members).map_err(|e| corrupt(e.to_string()))
}

/// Decodes a `proposals`, `committees`, `opened` or `extensions` record and encodes the value
/// again (the other tables
/// hold `ordo-types` encodings or fixed-width values). The entry point of the store fuzz target
/// (`fuzz/`); not part of the API.
#[doc(hidden)]
pub fn reencode_record(table: &str, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    match table {
        "proposals" => StoredProposal::decode(bytes).map(|p| p.encode()),
        "opened" => decode_opened(bytes).map(|o| encode_opened(&o)),
        "extensions" => crate::codec::decode_extensions(bytes)
            .map(|e| crate::codec::encode_extensions(&e))
            .map_err(|e| StoreError::Corrupt {
                table: "extensions",
                reason: e.to_string(),
            }),
        "committees" => decode_committee(bytes).map(|set| {
            let mut out = Vec::with_capacity(bytes.len());
            for v in set.validators() {
                v.encode_to(&mut out);
            }
            out
        }),
        other => Err(StoreError::Corrupt {
            table: "unknown",
            reason: format!("no record decoder for table {other}"),
        }),
    }
}

fn proposal_key(height: u64, round: u32, hash: &B256) -> [u8; 44] {
    let mut key = [0u8; 44];
    key[..8].copy_from_slice(&height.to_be_bytes());
    key[8..12].copy_from_slice(&round.to_be_bytes());
    key[12..].copy_from_slice(hash.as_slice());
    key
}

fn nonce_key(sender: &Address, namespace: u64) -> [u8; 28] {
    let mut key = [0u8; 28];
    key[..20].copy_from_slice(sender.as_slice());
    key[20..].copy_from_slice(&namespace.to_be_bytes());
    key
}

fn round_key(height: u64, round: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&height.to_be_bytes());
    key[8..].copy_from_slice(&round.to_be_bytes());
    key
}

/// The store's own page cache (redb), in bytes.
const STORE_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The durable store of one node. Cheap to clone; readers never block the writer.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // redb caches up to 1 GiB of pages by default, so a node's memory would grow with the
        // chain; the operating system's page cache keeps recent pages fast anyway.
        let db = redb::Builder::new()
            .set_cache_size(STORE_CACHE_BYTES)
            .create(path)?;
        let tx = db.begin_write()?;
        tx.open_table(BLOCKS)?;
        tx.open_table(CERTIFICATES)?;
        tx.open_table(HEIGHT_BY_HASH)?;
        tx.open_table(PROPOSALS)?;
        tx.open_table(OWN_PROPOSALS)?;
        tx.open_table(NONCES)?;
        tx.open_table(TX_INDEX)?;
        tx.open_table(BUNDLE_INDEX)?;
        tx.open_table(COMMITTEES)?;
        tx.open_table(HANDOVERS)?;
        tx.open_table(EXTENSIONS)?;
        tx.open_table(OPENED)?;
        tx.commit()?;
        Ok(Self { db: Arc::new(db) })
    }

    /// The highest decided height, if any.
    pub fn tip_height(&self) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BLOCKS)?;
        let last = table.last()?.map(|(k, _)| k.value());
        Ok(last)
    }

    /// The lowest height still stored, if any.
    pub fn earliest_height(&self) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BLOCKS)?;
        let first = table.first()?.map(|(k, _)| k.value());
        Ok(first)
    }

    /// The block decided at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BLOCKS)?;
        let Some(bytes) = table.get(height)? else {
            return Ok(None);
        };
        Block::decode(bytes.value())
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                table: "blocks",
                reason: e.to_string(),
            })
    }

    /// The block decided at `height` with its certificate.
    pub fn decided(&self, height: u64) -> Result<Option<DecidedBlock>, StoreError> {
        let tx = self.db.begin_read()?;
        let blocks = tx.open_table(BLOCKS)?;
        let certs = tx.open_table(CERTIFICATES)?;
        let (Some(block), Some(cert)) = (blocks.get(height)?, certs.get(height)?) else {
            return Ok(None);
        };
        let corrupt = |table, reason: String| StoreError::Corrupt { table, reason };
        let opened = match tx.open_table(OPENED)?.get(height)? {
            Some(bytes) => decode_opened(bytes.value())?,
            None => Vec::new(),
        };
        Ok(Some(DecidedBlock {
            block: Block::decode(block.value()).map_err(|e| corrupt("blocks", e.to_string()))?,
            certificate: CommitCertificate::decode(cert.value())
                .map_err(|e| corrupt("certificates", e.to_string()))?,
            opened,
        }))
    }

    /// Stores what the encrypted transactions of the decided block at `height` opened to.
    pub(crate) fn put_opened(&self, height: u64, opened: &[OpenedEntry]) -> Result<(), StoreError> {
        let tx = self.db.begin_write()?;
        tx.open_table(OPENED)?
            .insert(height, encode_opened(opened).as_slice())?;
        tx.commit()?;
        Ok(())
    }

    /// Whether what the block at `height` opened to is stored.
    pub(crate) fn has_opened(&self, height: u64) -> Result<bool, StoreError> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(OPENED)?.get(height)?.is_some())
    }

    /// What the encrypted transactions of `height` opened to, once this node has opened them.
    pub(crate) fn opened(&self, height: u64) -> Result<Option<Vec<OpenedEntry>>, StoreError> {
        let tx = self.db.begin_read()?;
        match tx.open_table(OPENED)?.get(height)? {
            Some(bytes) => decode_opened(bytes.value()).map(Some),
            None => Ok(None),
        }
    }

    /// The vote extensions stored with the certificate of `height` (empty when none).
    pub(crate) fn extensions(&self, height: u64) -> Result<Vec<u8>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(EXTENSIONS)?;
        Ok(table
            .get(height)?
            .map(|b| b.value().to_vec())
            .unwrap_or_default())
    }

    /// The height of the decided block with hash `hash`.
    pub fn height_of(&self, hash: &B256) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(HEIGHT_BY_HASH)?;
        Ok(table.get(hash.0)?.map(|h| h.value()))
    }

    /// Where a decided transaction is: (height, namespace, index within the namespace).
    pub fn transaction_location(&self, hash: &B256) -> Result<Option<(u64, u64, u32)>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TX_INDEX)?;
        let location = table.get(hash.0)?.map(|v| {
            let v = v.value();
            let mut h = [0u8; 8];
            let mut ns = [0u8; 8];
            let mut i = [0u8; 4];
            h.copy_from_slice(&v[..8]);
            ns.copy_from_slice(&v[8..16]);
            i.copy_from_slice(&v[16..]);
            (
                u64::from_be_bytes(h),
                u64::from_be_bytes(ns),
                u32::from_be_bytes(i),
            )
        });
        Ok(location)
    }

    /// The height of the block that placed bundle `hash`, if one did.
    pub fn bundle_height(&self, hash: &B256) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BUNDLE_INDEX)?;
        Ok(table.get(hash.0)?.map(|v| v.value()))
    }

    /// The committee of `epoch`, if this node has computed it.
    pub fn committee(&self, epoch: u64) -> Result<Option<ordo_types::ValidatorSet>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(COMMITTEES)?;
        let Some(v) = table.get(epoch)? else {
            return Ok(None);
        };
        decode_committee(v.value()).map(Some)
    }

    /// The heights in `from..=to` whose header hands over to another committee, in order, at
    /// most `limit` of them.
    pub fn handovers(&self, from: u64, to: u64, limit: usize) -> Result<Vec<u64>, StoreError> {
        let mut heights = Vec::new();
        if from > to {
            return Ok(heights);
        }
        let tx = self.db.begin_read()?;
        let table = tx.open_table(HANDOVERS)?;
        for entry in table.range(from..=to)?.take(limit) {
            heights.push(entry?.0.value());
        }
        Ok(heights)
    }

    /// Records the committee of `epoch` (computed deterministically, so rewriting it is a
    /// no-op).
    pub(crate) fn put_committee(
        &self,
        epoch: u64,
        set: &ordo_types::ValidatorSet,
    ) -> Result<(), StoreError> {
        let mut bytes = Vec::with_capacity(set.len() * ordo_types::Validator::ENCODED_LEN);
        for v in set.validators() {
            v.encode_to(&mut bytes);
        }
        let tx = self.db.begin_write()?;
        tx.open_table(COMMITTEES)?.insert(epoch, bytes.as_slice())?;
        tx.commit()?;
        Ok(())
    }

    /// The next nonce `sender` must use in `namespace`, as of the latest decided block.
    pub fn next_nonce(&self, sender: &Address, namespace: u64) -> Result<u64, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(NONCES)?;
        let next = table
            .get(nonce_key(sender, namespace))?
            .map_or(0, |v| v.value());
        Ok(next)
    }

    /// Persists a decided block, its certificate, the nonces it moves (`(sender, namespace,
    /// next nonce)`) and its transaction index in one transaction, and forgets the proposals
    /// for heights up to it.
    pub(crate) fn commit(
        &self,
        decided: &DecidedBlock,
        extensions: &[u8],
        nonces: &[ordo_chain::NonceUpdate],
    ) -> Result<(), StoreError> {
        let (block, certificate) = (&decided.block, &decided.certificate);
        let height = block.header.height;
        let tx = self.db.begin_write()?;
        if !extensions.is_empty() {
            tx.open_table(EXTENSIONS)?.insert(height, extensions)?;
        }
        {
            let mut table = tx.open_table(NONCES)?;
            for u in nonces {
                table.insert(nonce_key(&u.sender, u.namespace), u.next)?;
            }
            let mut index = tx.open_table(TX_INDEX)?;
            for group in &block.body.namespaces {
                for (i, entry) in group.entries.iter().enumerate() {
                    let mut location = [0u8; 20];
                    location[..8].copy_from_slice(&height.to_be_bytes());
                    location[8..16].copy_from_slice(&group.namespace.to_be_bytes());
                    let i = u32::try_from(i).unwrap_or(u32::MAX);
                    location[16..].copy_from_slice(&i.to_be_bytes());
                    index.insert(entry.hash().0, location)?;
                }
            }
            let mut bundles = tx.open_table(BUNDLE_INDEX)?;
            for bundle in &block.body.bundles {
                bundles.insert(bundle.hash().0, height)?;
            }
            if block.header.next_validators_hash != block.header.validators_hash {
                tx.open_table(HANDOVERS)?.insert(height, ())?;
            }
        }
        {
            tx.open_table(BLOCKS)?
                .insert(height, block.encode().as_slice())?;
            tx.open_table(CERTIFICATES)?
                .insert(height, certificate.encode().as_slice())?;
            tx.open_table(HEIGHT_BY_HASH)?
                .insert(block.hash().0, height)?;
            let upto = proposal_key(height, u32::MAX, &B256::repeat_byte(0xff));
            tx.open_table(PROPOSALS)?.retain_in(..=upto, |_, _| false)?;
            tx.open_table(OWN_PROPOSALS)?
                .retain_in(..=round_key(height, u32::MAX), |_, _| false)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Replaces the certificate of a decided height (with one holding more signatures).
    pub(crate) fn update_certificate(
        &self,
        certificate: &CommitCertificate,
        extensions: &[u8],
    ) -> Result<(), StoreError> {
        let tx = self.db.begin_write()?;
        tx.open_table(CERTIFICATES)?
            .insert(certificate.height, certificate.encode().as_slice())?;
        if !extensions.is_empty() {
            tx.open_table(EXTENSIONS)?
                .insert(certificate.height, extensions)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores a proposal seen for `height`; `own` marks a block this node built.
    pub(crate) fn put_proposal(
        &self,
        height: u64,
        proposal: &StoredProposal,
        own: bool,
    ) -> Result<(), StoreError> {
        let hash = proposal.block.hash();
        let tx = self.db.begin_write()?;
        {
            tx.open_table(PROPOSALS)?.insert(
                proposal_key(height, proposal.round, &hash),
                proposal.encode().as_slice(),
            )?;
            if own {
                tx.open_table(OWN_PROPOSALS)?
                    .insert(round_key(height, proposal.round), hash.0)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The block this node built for (height, round), if any.
    pub(crate) fn own_proposal(
        &self,
        height: u64,
        round: u32,
    ) -> Result<Option<StoredProposal>, StoreError> {
        let tx = self.db.begin_read()?;
        let Some(hash) = tx
            .open_table(OWN_PROPOSALS)?
            .get(round_key(height, round))?
        else {
            return Ok(None);
        };
        let key = proposal_key(height, round, &B256::from(hash.value()));
        match tx.open_table(PROPOSALS)?.get(key)? {
            Some(bytes) => StoredProposal::decode(bytes.value()).map(Some),
            None => Ok(None),
        }
    }

    /// The proposals stored for (height, round).
    pub(crate) fn proposals(
        &self,
        height: u64,
        round: u32,
    ) -> Result<Vec<StoredProposal>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(PROPOSALS)?;
        let from = proposal_key(height, round, &B256::ZERO);
        let to = proposal_key(height, round, &B256::repeat_byte(0xff));
        let mut out = Vec::new();
        for entry in table.range(from..=to)? {
            let (_, bytes) = entry?;
            out.push(StoredProposal::decode(bytes.value())?);
        }
        Ok(out)
    }

    /// A stored proposal of block `hash` at `height`, in any round.
    pub(crate) fn proposal_by_hash(
        &self,
        height: u64,
        hash: &B256,
    ) -> Result<Option<StoredProposal>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(PROPOSALS)?;
        let from = proposal_key(height, 0, &B256::ZERO);
        let to = proposal_key(height, u32::MAX, &B256::repeat_byte(0xff));
        for entry in table.range(from..=to)? {
            let (key, bytes) = entry?;
            if key.value()[12..] == hash.0 {
                return StoredProposal::decode(bytes.value()).map(Some);
            }
        }
        Ok(None)
    }
}

impl ordo_chain::NonceReader for Store {
    fn next_nonce(&self, sender: &Address, namespace: u64) -> u64 {
        match Store::next_nonce(self, sender, namespace) {
            Ok(next) => next,
            Err(e) => {
                // Reading our own store failed: fail closed. No nonce matches, so the mempool
                // admits nothing for the account and this node votes nil on blocks moving it.
                tracing::error!(target: "ordo::store", error = %e, "reading nonces");
                u64::MAX
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opened_records_read_back_as_written_and_refuse_garbage() {
        let entry = |index, outcome| OpenedEntry {
            namespace: 7,
            index,
            identity: B256::repeat_byte(index as u8),
            key: vec![0xab; 48].into(),
            outcome,
        };
        let opened = vec![
            entry(0, Opened::Plaintext(vec![1, 2, 3].into())),
            entry(2, Opened::Failure(OpenFailure::Kem)),
            entry(3, Opened::Failure(OpenFailure::Dem)),
            entry(5, Opened::Failure(OpenFailure::Padding)),
        ];
        let bytes = encode_opened(&opened);
        assert_eq!(decode_opened(&bytes).unwrap(), opened);
        assert_eq!(reencode_record("opened", &bytes).unwrap(), bytes);
        let mut bad_tag = bytes.clone();
        let tag_at = 4 + 8 + 4 + 32 + 4 + 48;
        bad_tag[tag_at] = 9;
        assert!(decode_opened(&bad_tag).is_err());
        assert!(decode_opened(&bytes[..bytes.len() - 1]).is_err());
    }

    fn decided(block: &Block, certificate: &CommitCertificate) -> DecidedBlock {
        DecidedBlock {
            block: block.clone(),
            certificate: certificate.clone(),
            opened: Vec::new(),
        }
    }
    use ordo_types::{
        Body, Bytes, CommitSignature, Entry, ForcedTransaction, Header, NamespaceEntries, SecretKey,
    };

    fn block(height: u64) -> Block {
        let body = Body::default();
        Block {
            header: Header {
                chain_id: 1,
                height,
                epoch: 0,
                timestamp_ms: 1000 + height,
                parent_hash: B256::repeat_byte(height as u8),
                proposer: Address::repeat_byte(1),
                namespace_root: body.namespace_root(),
                tx_count: 0,
                validators_hash: B256::ZERO,
                next_validators_hash: B256::ZERO,
                l1_origin_number: 0,
                l1_origin_hash: B256::ZERO,
                inbox_cursor: 0,
                bundle_root: body.bundle_root(),
                encryption_key_hash: B256::ZERO,
            },
            body,
        }
    }

    fn proposal(height: u64, round: u32) -> StoredProposal {
        let key = SecretKey::random();
        StoredProposal {
            round,
            pol_round: None,
            proposer: key.address(),
            signature: Some(key.sign_digest(&B256::ZERO)),
            valid: true,
            block: block(height),
        }
    }

    #[test]
    fn own_proposals_and_decisions_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let own = proposal(3, 1);
        let seen = StoredProposal {
            signature: None,
            valid: false,
            ..proposal(3, 2)
        };
        {
            let store = Store::open(&path).unwrap();
            store.put_proposal(3, &own, true).unwrap();
            store.put_proposal(3, &seen, false).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.own_proposal(3, 1).unwrap(), Some(own.clone()));
        assert_eq!(store.own_proposal(3, 2).unwrap(), None);
        assert_eq!(store.proposals(3, 2).unwrap(), vec![seen]);
        assert_eq!(
            store.proposal_by_hash(3, &own.block.hash()).unwrap(),
            Some(own.clone())
        );

        let cert = CommitCertificate {
            height: 3,
            round: 1,
            block_hash: own.block.hash(),
            signatures: vec![CommitSignature {
                signer: own.proposer,
                signature: own.signature.unwrap(),
            }],
        };
        let sender = Address::repeat_byte(5);
        store
            .commit(
                &decided(&own.block, &cert),
                &[],
                &[ordo_chain::NonceUpdate {
                    sender,
                    namespace: 9,
                    next: 4,
                }],
            )
            .unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.tip_height().unwrap(), Some(3));
        let decided = store.decided(3).unwrap().unwrap();
        assert_eq!(
            (decided.block, decided.certificate),
            (own.block.clone(), cert)
        );
        assert_eq!(store.height_of(&own.block.hash()).unwrap(), Some(3));
        assert_eq!(store.next_nonce(&sender, 9).unwrap(), 4);
        assert_eq!(store.next_nonce(&sender, 8).unwrap(), 0);
        // Proposals up to the decided height are pruned.
        assert!(store.proposals(3, 2).unwrap().is_empty());
        assert_eq!(store.own_proposal(3, 1).unwrap(), None);
    }

    #[test]
    fn handovers_are_indexed_with_their_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store.redb")).unwrap();
        for height in 1..=9 {
            let mut b = block(height);
            if height % 3 == 0 {
                b.header.next_validators_hash = B256::repeat_byte(height as u8);
            }
            let cert = CommitCertificate {
                height,
                round: 0,
                block_hash: b.hash(),
                signatures: Vec::new(),
            };
            store.commit(&decided(&b, &cert), &[], &[]).unwrap();
        }
        assert_eq!(store.handovers(1, 9, 10).unwrap(), vec![3, 6, 9]);
        assert_eq!(store.handovers(4, 8, 10).unwrap(), vec![6]);
        assert_eq!(store.handovers(1, 9, 2).unwrap(), vec![3, 6]);
        assert_eq!(store.handovers(7, 5, 10).unwrap(), Vec::<u64>::new());
    }

    #[test]
    fn corrupt_records_are_reported_not_panicked_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        let tx = store.db.begin_write().unwrap();
        tx.open_table(BLOCKS)
            .unwrap()
            .insert(1, [1u8, 2, 3].as_slice())
            .unwrap();
        tx.commit().unwrap();
        assert!(matches!(
            store.block(1),
            Err(StoreError::Corrupt {
                table: "blocks",
                ..
            })
        ));
    }

    #[test]
    fn committees_round_trip_and_pin_their_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        let key = ordo_types::SecretKey::from_bytes(&[7; 32]).unwrap();
        let set =
            ordo_types::ValidatorSet::new(vec![ordo_types::Validator::new(key.public_key(), 5)])
                .unwrap();
        assert_eq!(store.committee(3).unwrap(), None);
        store.put_committee(3, &set).unwrap();
        assert_eq!(store.committee(3).unwrap(), Some(set.clone()));
        // 33-byte key then the power, big-endian.
        let tx = store.db.begin_read().unwrap();
        let raw = tx
            .open_table(COMMITTEES)
            .unwrap()
            .get(3)
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        let mut expected = key.public_key().to_sec1().to_vec();
        expected.extend_from_slice(&5u64.to_be_bytes());
        assert_eq!(raw, expected);
        drop(tx);
        // A torn record is reported, not trusted.
        let tx = store.db.begin_write().unwrap();
        tx.open_table(COMMITTEES)
            .unwrap()
            .insert(4, &raw[..40])
            .unwrap();
        tx.commit().unwrap();
        assert!(matches!(
            store.committee(4),
            Err(StoreError::Corrupt { .. })
        ));
    }

    // ---- Golden vectors: a change to any of these bytes is a disk format change. ----

    /// `block(3)` as `ordo-types` encodes it (237 bytes): the header, then no namespace groups.
    macro_rules! block_3_hex {
        () => {
            concat!(
                "03",                                                               // version
                "0000000000000001",                                                 // chain id
                "0000000000000003",                                                 // height
                "0000000000000000",                                                 // epoch
                "00000000000003eb",                                                 // timestamp ms
                "0303030303030303030303030303030303030303030303030303030303030303", // parent
                "0101010101010101010101010101010101010101",                         // proposer
                "0000000000000000000000000000000000000000000000000000000000000000", // ns root
                "00000000",                                                         // tx count
                "0000000000000000000000000000000000000000000000000000000000000000", // validators
                "0000000000000000000000000000000000000000000000000000000000000000", // next set
                "0000000000000000",                                                 // l1 number
                "0000000000000000000000000000000000000000000000000000000000000000", // l1 hash
                "0000000000000000",                                                 // inbox cursor
                "0000000000000000000000000000000000000000000000000000000000000000", // bundle root
                "0000000000000000000000000000000000000000000000000000000000000000", // key hash
                "00000000",                                                         // group count
                "00000000",                                                         // bundle count
            )
        };
    }

    /// Key 0x01..01 (the `ordo-types` golden key) and its address.
    macro_rules! proposer_hex {
        () => {
            "1a642f0e3c3af545e7acbd38b07251b3990914f1"
        };
    }

    #[test]
    fn golden_stored_proposals() {
        let key = SecretKey::from_bytes(&[1; 32]).unwrap();
        assert_eq!(hex::encode(key.address()), proposer_hex!());
        let block = block(3);
        let digest = ordo_types::proposal_digest(1, 3, 2, Some(1), block.hash());
        let built = StoredProposal {
            round: 2,
            pol_round: Some(1),
            proposer: key.address(),
            signature: Some(key.sign_digest(&digest)),
            valid: true,
            block: block.clone(),
        };
        let synced = StoredProposal {
            round: 0,
            pol_round: None,
            proposer: key.address(),
            signature: None,
            valid: false,
            block,
        };
        let cases = [
            (
                built,
                concat!(
                    "00000002",                                                         // round u32
                    "00000001",      // pol round u32 (0xffffffff: none)
                    proposer_hex!(), // proposer (20)
                    "01",            // signature present
                    "fc7485c88b778d2e08f90c402840734b68402ab8db9fa7cc2642f10564a0ce9a", // signature: r
                    "57e79d35fc241623859ce5de523e75fca07f8a6450582c3b8cab26d00291b3c3", //            s
                    "1b",           //            v
                    "01",           // valid
                    block_3_hex!(), // the block, to the end of the record
                ),
            ),
            (
                synced,
                concat!(
                    "00000000",      // round u32
                    "ffffffff",      // pol round u32: none
                    proposer_hex!(), // proposer (20)
                    "00",            // no signature (a block received by sync)
                    "00",            // not valid
                    block_3_hex!(),  // the block
                ),
            ),
        ];
        for (proposal, expected) in cases {
            assert_eq!(hex::encode(proposal.encode()), expected);
            let golden = hex::decode(expected).unwrap();
            assert_eq!(StoredProposal::decode(&golden).unwrap(), proposal);
        }
    }

    /// A committee record is its members in ascending address order; the same members in
    /// another order are refused rather than sorted (the rule the `types` fuzz target found
    /// missing in `ValidatorSet`'s decoder).
    #[test]
    fn committee_records_are_in_address_order() {
        let mut members: Vec<ordo_types::Validator> = (1..=3u8)
            .map(|i| {
                let key = SecretKey::from_bytes(&[i; 32]).unwrap();
                ordo_types::Validator::new(key.public_key(), 5)
            })
            .collect();
        members.sort_by_key(|v| v.address);
        let record = |members: &[ordo_types::Validator]| {
            let mut out = Vec::new();
            for v in members {
                v.encode_to(&mut out);
            }
            out
        };
        let sorted = record(&members);
        assert_eq!(reencode_record("committees", &sorted).unwrap(), sorted);
        members.swap(0, 1);
        assert!(reencode_record("committees", &record(&members)).is_err());
    }

    /// Found while adding the `store` fuzz target (its re-encoding check): the flag bytes took
    /// any non-zero value as "signed" and any value but 1 as "not valid", so several records
    /// decoded to one proposal.
    #[test]
    fn stored_proposal_flags_are_0_or_1() {
        let synced = StoredProposal {
            round: 0,
            pol_round: None,
            proposer: Address::ZERO,
            signature: None,
            valid: false,
            block: block(3),
        };
        let good = synced.encode();
        assert_eq!(StoredProposal::decode(&good).unwrap(), synced);
        let mut bad_valid = good.clone();
        bad_valid[29] = 2;
        assert!(StoredProposal::decode(&bad_valid).is_err());
        let mut bad_signed = good;
        bad_signed[28] = 2;
        assert!(StoredProposal::decode(&bad_signed).is_err());
    }

    #[test]
    fn golden_table_keys() {
        let hash = B256::repeat_byte(0xab);
        assert_eq!(
            hex::encode(proposal_key(5, 2, &hash)),
            concat!(
                "0000000000000005",                                                 // height
                "00000002",                                                         // round
                "abababababababababababababababababababababababababababababababab", // block hash
            )
        );
        assert_eq!(
            hex::encode(round_key(5, 2)),
            concat!("0000000000000005", "00000002") // height, round
        );
        assert_eq!(
            hex::encode(nonce_key(&Address::repeat_byte(0x11), 9)),
            concat!(
                "1111111111111111111111111111111111111111", // sender
                "0000000000000009",                         // namespace
            )
        );
        // Big-endian, so keys sort by height then round: pruning and range reads rely on it.
        assert!(
            proposal_key(5, u32::MAX, &B256::repeat_byte(0xff)) < proposal_key(6, 0, &B256::ZERO)
        );
        assert!(round_key(5, 256) < round_key(6, 0));
        assert!(round_key(5, 255) < round_key(5, 256));
    }

    #[test]
    fn golden_tx_index_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
        let forced = |inbox_index: u64| {
            Entry::Forced(ForcedTransaction {
                inbox_index,
                sender: Address::repeat_byte(0x22),
                payload: Bytes::new(),
            })
        };
        let body = Body::from_entries(vec![
            NamespaceEntries {
                namespace: 1,
                entries: vec![forced(0)],
            },
            NamespaceEntries {
                namespace: 9,
                entries: vec![forced(1), forced(2)],
            },
        ])
        .unwrap();
        let mut block = block(3);
        block.header.namespace_root = body.namespace_root();
        block.header.tx_count = 3;
        block.body = body;
        let certificate = CommitCertificate {
            height: 3,
            round: 0,
            block_hash: block.hash(),
            signatures: vec![],
        };
        store
            .commit(&decided(&block, &certificate), &[], &[])
            .unwrap();
        // Value: height u64 | namespace u64 | index within the namespace u32.
        let cases = [
            (
                forced(0),
                (3, 1, 0),
                concat!("0000000000000003", "0000000000000001", "00000000"),
            ),
            (
                forced(1),
                (3, 9, 0),
                concat!("0000000000000003", "0000000000000009", "00000000"),
            ),
            (
                forced(2),
                (3, 9, 1),
                concat!("0000000000000003", "0000000000000009", "00000001"),
            ),
        ];
        let tx = store.db.begin_read().unwrap();
        let table = tx.open_table(TX_INDEX).unwrap();
        assert_eq!(redb::ReadableTableMetadata::len(&table).unwrap(), 3);
        for (entry, location, expected) in cases {
            let raw = table.get(entry.hash().0).unwrap().unwrap().value();
            assert_eq!(hex::encode(raw), expected);
            assert_eq!(
                store.transaction_location(&entry.hash()).unwrap(),
                Some(location)
            );
        }
    }
}
