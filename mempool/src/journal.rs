//! The mempool journal: an append-only file of admitted and removed transactions, so that what a
//! node accepted survives its restart.
//!
//! Records are `tag u8 | length u32 | body`: tag 1 adds a transaction (`sender (20) | encoded
//! transaction`), tag 2 removes one by hash. A write returns once the bytes are in the
//! operating system's hands (they survive a crash of the process); with `fsync` it also waits
//! for the disk. A torn last record (a crash mid-write) is ignored on replay. The file is
//! rewritten with only the live transactions when it opens and when it grows much larger than
//! what is live.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use ordo_types::{Address, Decode, Encode, Transaction, B256};

const ADD: u8 = 1;
const REMOVE: u8 = 2;

pub(crate) struct Journal {
    path: PathBuf,
    file: BufWriter<File>,
    fsync: bool,
    written: u64,
    live_estimate: u64,
}

impl Journal {
    /// Opens the journal at `path`, returning it and the live transactions it held, oldest first.
    pub(crate) fn open(
        path: &Path,
        fsync: bool,
    ) -> std::io::Result<(Self, Vec<(Transaction, Address)>)> {
        let live = match File::open(path) {
            Ok(mut f) => {
                let mut bytes = Vec::new();
                f.read_to_end(&mut bytes)?;
                replay(&bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => IndexMap::new(),
            Err(e) => return Err(e),
        };
        let live: Vec<(Transaction, Address)> = live.into_values().collect();
        let mut journal = Self::create(path, fsync)?;
        journal.append(&live)?;
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

    /// Whether the file has grown enough beyond the live data to be worth rewriting.
    pub(crate) fn wants_compaction(&self, live_bytes: u64) -> bool {
        self.written > 4 * live_bytes.max(self.live_estimate / 4) + (16 << 20)
    }

    /// Rewrites the file with only `live`.
    pub(crate) fn compact(&mut self, live: &[(Transaction, Address)]) -> std::io::Result<()> {
        let fresh = Self::create(&self.path, self.fsync)?;
        *self = fresh;
        self.append(live)
    }
}

/// The live transactions of a journal's bytes, in admission order.
pub(crate) fn replay(mut bytes: &[u8]) -> IndexMap<B256, (Transaction, Address)> {
    let mut live = IndexMap::new();
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
                    live.insert(tx.hash(), (tx, sender));
                }
            }
            REMOVE if body.len() == 32 => {
                live.shift_remove(&B256::from_slice(body));
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
            assert!(live.is_empty());
            j.append(&[a.clone(), b.clone()]).unwrap();
            j.remove(&[a.0.hash()]).unwrap();
            j.append(std::slice::from_ref(&c)).unwrap();
        }
        // A crash mid-record leaves a torn tail.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[ADD, 0, 0, 1, 0, 7, 7]).unwrap();
        drop(f);
        let (_, live) = Journal::open(&path, false).unwrap();
        assert_eq!(live, vec![b.clone(), c.clone()]);
        // Reopening a compacted journal gives the same.
        let (_, again) = Journal::open(&path, true).unwrap();
        assert_eq!(again, vec![b, c]);
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
        let live: Vec<_> = replay(&add).into_iter().collect();
        assert_eq!(live, vec![(tx.hash(), (tx, sender))]);
        assert!(replay(&bytes).is_empty());
    }
}
