//! The mempool journal: an append-only file of admitted and removed transactions, so that what a
//! node accepted survives its restart.
//!
//! Records are `tag u8 | length u32 | body`: tag 1 adds a transaction (`sender (20) | encoded
//! transaction`), tag 2 removes one by hash, tag 3 adds a bundle (`count u32 | count × sender
//! (20) | replacement id (length u32 | UTF-8) | encoded bundle`, a sender per transaction in
//! submitted order), tag 4 removes one by its hash. A write returns once the bytes are in the
//! operating system's hands (they survive a crash of the process); with `fsync` it also waits
//! for the disk. A torn last record (a crash mid-write) is ignored on replay. The file is
//! rewritten with only the live transactions when it opens and when it grows much larger than
//! what is live.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use ordo_types::{Address, Bundle, Decode, Encode, Transaction, B256, MAX_BUNDLE_TXS};

use crate::PendingBundle;

const ADD: u8 = 1;
const REMOVE: u8 = 2;
const ADD_BUNDLE: u8 = 3;
const REMOVE_BUNDLE: u8 = 4;

/// What a journal replays to: the live transactions and bundles, in admission order.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub(crate) txs: IndexMap<B256, (Transaction, Address)>,
    pub(crate) bundles: IndexMap<B256, PendingBundle>,
}

pub(crate) struct Journal {
    path: PathBuf,
    file: BufWriter<File>,
    fsync: bool,
    written: u64,
    live_estimate: u64,
}

impl Journal {
    /// Opens the journal at `path`, returning it and what it held live.
    pub(crate) fn open(path: &Path, fsync: bool) -> std::io::Result<(Self, Live)> {
        let live = match File::open(path) {
            Ok(mut f) => {
                let mut bytes = Vec::new();
                f.read_to_end(&mut bytes)?;
                replay(&bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Live::default(),
            Err(e) => return Err(e),
        };
        let mut journal = Self::create(path, fsync)?;
        let txs: Vec<(Transaction, Address)> = live.txs.values().cloned().collect();
        journal.append(&txs)?;
        for bundle in live.bundles.values() {
            journal.append_bundle(bundle)?;
        }
        Ok((journal, live))
    }

    fn create(path: &Path, fsync: bool) -> std::io::Result<Self> {
        let tmp = path.with_extension("tmp");
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&tmp)?;
        std::fs::rename(&tmp, path)?;
        Ok(Self {
            path: path.to_owned(),
            file: BufWriter::new(file),
            fsync,
            written: 0,
            live_estimate: 0,
        })
    }

    fn record(&mut self, tag: u8, body: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(body.len())
            .map_err(|_| std::io::Error::other("journal record too large"))?;
        self.file.write_all(&[tag])?;
        self.file.write_all(&len.to_be_bytes())?;
        self.file.write_all(body)?;
        self.written += 5 + u64::from(len);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        if self.fsync {
            self.file.get_ref().sync_data()?;
        }
        Ok(())
    }

    /// Records admitted transactions.
    pub(crate) fn append(&mut self, txs: &[(Transaction, Address)]) -> std::io::Result<()> {
        if txs.is_empty() {
            return Ok(());
        }
        let mut body = Vec::new();
        for (tx, sender) in txs {
            body.clear();
            body.extend_from_slice(sender.as_slice());
            tx.encode_to(&mut body);
            self.record(ADD, &body)?;
            self.live_estimate += 5 + body.len() as u64;
        }
        self.flush()
    }

    /// Records removed transactions.
    pub(crate) fn remove(&mut self, hashes: &[B256]) -> std::io::Result<()> {
        if hashes.is_empty() {
            return Ok(());
        }
        for hash in hashes {
            self.record(REMOVE, hash.as_slice())?;
        }
        self.flush()
    }

    /// Records an admitted bundle.
    pub(crate) fn append_bundle(&mut self, bundle: &PendingBundle) -> std::io::Result<()> {
        let id = bundle.replacement.as_deref().unwrap_or_default().as_bytes();
        let mut body = Vec::with_capacity(8 + 20 * bundle.senders.len() + id.len());
        body.extend_from_slice(&(bundle.senders.len() as u32).to_be_bytes());
        for sender in &bundle.senders {
            body.extend_from_slice(sender.as_slice());
        }
        body.extend_from_slice(&(id.len() as u32).to_be_bytes());
        body.extend_from_slice(id);
        bundle.bundle.encode_to(&mut body);
        self.record(ADD_BUNDLE, &body)?;
        self.live_estimate += 5 + body.len() as u64;
        self.flush()
    }

    /// Records bundles that left the pool.
    pub(crate) fn remove_bundles(&mut self, hashes: &[B256]) -> std::io::Result<()> {
        if hashes.is_empty() {
            return Ok(());
        }
        for hash in hashes {
            self.record(REMOVE_BUNDLE, hash.as_slice())?;
        }
        self.flush()
    }

    /// Whether the file has grown enough beyond the live data to be worth rewriting.
    pub(crate) fn wants_compaction(&self, live_bytes: u64) -> bool {
        self.written > 4 * live_bytes.max(self.live_estimate / 4) + (16 << 20)
    }

    /// Rewrites the file with only `live` transactions and `bundles`.
    pub(crate) fn compact<'a>(
        &mut self,
        live: &[(Transaction, Address)],
        bundles: impl IntoIterator<Item = &'a PendingBundle>,
    ) -> std::io::Result<()> {
        let fresh = Self::create(&self.path, self.fsync)?;
        *self = fresh;
        self.append(live)?;
        for bundle in bundles {
            self.append_bundle(bundle)?;
        }
        Ok(())
    }
}

/// A bundle record's body, if it is well formed.
fn read_bundle(body: &[u8]) -> Option<PendingBundle> {
    let (count, rest) = body.split_first_chunk::<4>()?;
    let count = u32::from_be_bytes(*count) as usize;
    if count > MAX_BUNDLE_TXS {
        return None;
    }
    let (senders, rest) = rest.split_at_checked(20 * count)?;
    let senders: Vec<Address> = senders.chunks(20).map(Address::from_slice).collect();
    let (len, rest) = rest.split_first_chunk::<4>()?;
    let (id, rest) = rest.split_at_checked(u32::from_be_bytes(*len) as usize)?;
    let id = std::str::from_utf8(id).ok()?;
    let bundle = Bundle::decode(rest).ok()?;
    (bundle.txs().len() == count).then(|| PendingBundle {
        bundle: Arc::new(bundle),
        senders,
        replacement: (!id.is_empty()).then(|| id.to_owned()),
    })
}

/// The live transactions and bundles of a journal's bytes, in admission order.
pub(crate) fn replay(mut bytes: &[u8]) -> Live {
    let mut live = Live::default();
    while bytes.len() >= 5 {
        let tag = bytes[0];
        let len = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
        let Some(body) = bytes.get(5..5 + len) else {
            break; // torn last record
        };
        match tag {
            ADD if body.len() > 20 => {
                let sender = Address::from_slice(&body[..20]);
                if let Ok(tx) = Transaction::decode(&body[20..]) {
                    live.txs.insert(tx.hash(), (tx, sender));
                }
            }
            REMOVE if body.len() == 32 => {
                live.txs.shift_remove(&B256::from_slice(body));
            }
            ADD_BUNDLE => {
                if let Some(bundle) = read_bundle(body) {
                    live.bundles.insert(bundle.bundle.hash(), bundle);
                }
            }
            REMOVE_BUNDLE if body.len() == 32 => {
                live.bundles.shift_remove(&B256::from_slice(body));
            }
            _ => break,
        }
        bytes = &bytes[5 + len..];
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordo_types::{Bytes, SecretKey};

    fn tx(n: u64) -> (Transaction, Address) {
        let key = SecretKey::random();
        (
            Transaction::sign(1, n, Bytes::from(vec![n as u8; 20]), &key, 1),
            key.address(),
        )
    }

    #[test]
    fn replays_adds_and_removes_in_order_and_ignores_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mempool.journal");
        let (a, b, c) = (tx(0), tx(1), tx(2));
        {
            let (mut j, live) = Journal::open(&path, false).unwrap();
            assert!(live.txs.is_empty());
            j.append(&[a.clone(), b.clone()]).unwrap();
            j.remove(&[a.0.hash()]).unwrap();
            j.append(std::slice::from_ref(&c)).unwrap();
        }
        // A crash mid-record leaves a torn tail.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[ADD, 0, 0, 1, 0, 7, 7]).unwrap();
        drop(f);
        let txs = |live: Live| live.txs.into_values().collect::<Vec<_>>();
        let (_, live) = Journal::open(&path, false).unwrap();
        assert_eq!(txs(live), vec![b.clone(), c.clone()]);
        // Reopening a compacted journal gives the same.
        let (_, again) = Journal::open(&path, true).unwrap();
        assert_eq!(txs(again), vec![b, c]);
    }

    #[test]
    fn bundles_survive_a_reopen_and_their_removal_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mempool.journal");
        let bundle = |n: u64, id: Option<&str>| {
            let (t1, s1) = tx(n);
            let (t2, s2) = tx(n + 1);
            let terms = ordo_types::BundleTerms {
                max_height: 50,
                ..Default::default()
            };
            PendingBundle {
                bundle: Arc::new(Bundle::new(terms, vec![t1, t2]).unwrap()),
                senders: vec![s1, s2],
                replacement: id.map(str::to_owned),
            }
        };
        let (kept, gone) = (bundle(0, Some("uuid-1")), bundle(5, None));
        {
            let (mut j, _) = Journal::open(&path, false).unwrap();
            j.append_bundle(&kept).unwrap();
            j.append_bundle(&gone).unwrap();
            j.remove_bundles(&[gone.bundle.hash()]).unwrap();
        }
        for _ in 0..2 {
            let (_, live) = Journal::open(&path, false).unwrap();
            let bundles: Vec<PendingBundle> = live.bundles.into_values().collect();
            assert_eq!(bundles.len(), 1);
            assert_eq!(bundles[0].bundle, kept.bundle);
            assert_eq!(bundles[0].senders, kept.senders);
            assert_eq!(bundles[0].replacement.as_deref(), Some("uuid-1"));
        }
    }

    #[test]
    fn garbage_files_replay_to_nothing_without_panicking() {
        for len in [0usize, 1, 5, 100, 1000] {
            let junk: Vec<u8> = (0..len).map(|_| rand::random()).collect();
            let _ = replay(&junk);
        }
    }

    /// Pins the journal format with the `ordo-types` golden transaction (namespace 42, nonce 7,
    /// payload 0xdeadbeef, key 0x01..01, chain 1234): a change must fail here.
    #[test]
    fn golden_journal_records() {
        let key = SecretKey::from_bytes(&[1; 32]).unwrap();
        let tx = Transaction::sign(
            42,
            7,
            Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
            &key,
            1234,
        );
        let sender = key.address();
        const ADD_RECORD: &str = concat!(
            "01",                                       // tag: add
            "0000006e",                                 // body length u32 (110)
            "1a642f0e3c3af545e7acbd38b07251b3990914f1", // sender (20)
            // The transaction encoding (90 bytes): version, namespace, nonce, payload, signature.
            "01",
            "000000000000002a",
            "0000000000000007",
            "00000004deadbeef",
            "1296c6111504d4c0f5a4fb961b81881c0c58a2906428ec629bfb4de053cbe386",
            "6795b06d81af2aa3ec022c0e5761cb640e3c18be394de79f451d6e132dbd0ca2",
            "1b",
        );
        const REMOVE_RECORD: &str = concat!(
            "02",                                                               // tag: remove
            "00000020",                                                         // length (32)
            "5fde57d71fe5b3dee0c36432d4c6e3df7ff842d553e9e348d7d15fe9aba38c1e", // tx hash
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mempool.journal");
        {
            let (mut journal, _) = Journal::open(&path, false).unwrap();
            journal.append(&[(tx.clone(), sender)]).unwrap();
            journal.remove(&[tx.hash()]).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(hex::encode(&bytes), format!("{ADD_RECORD}{REMOVE_RECORD}"));
        // Replaying the golden bytes gives the transaction back, then removes it.
        let add = hex::decode(ADD_RECORD).unwrap();
        let live: Vec<_> = replay(&add).txs.into_iter().collect();
        assert_eq!(live, vec![(tx.hash(), (tx, sender))]);
        assert!(replay(&bytes).txs.is_empty());
    }
}
