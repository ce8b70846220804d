//! The mempool's untrusted inputs: gossip messages from peers (topic `ordo/txs/4`: batches and
//! bundles) and the journal file it replays on restart. The first byte picks which. Checked: no
//! panic; a batch or bundle message that decodes encodes back to exactly its bytes (salt
//! included); a replayed journal holds distinct transactions, each canonical, and replaying
//! what it would write back gives the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo_mempool::{decode_batch, decode_bundle, encode_batch, encode_bundle, replay_journal};
use ordo_types::{Decode, Encode, Transaction};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    let salt = |bytes: &[u8]| u64::from_be_bytes(bytes[1..9].try_into().expect("a salt"));
    if kind % 3 == 0 {
        if let Some(batch) = decode_batch(bytes) {
            assert_eq!(encode_batch(&batch, salt(bytes)), bytes);
        }
    } else if kind % 3 == 2 {
        if let Some((bundle, id)) = decode_bundle(bytes) {
            assert_eq!(encode_bundle(&bundle, id.as_deref(), salt(bytes)), bytes);
        }
    } else {
        let live = replay_journal(bytes);
        let mut rewritten = Vec::new();
        for (i, (tx, sender)) in live.iter().enumerate() {
            assert!(
                live[..i].iter().all(|(other, _)| other.hash() != tx.hash()),
                "a replayed journal holds a transaction twice"
            );
            let encoded = tx.encode();
            assert_eq!(Transaction::decode(&encoded).as_ref(), Ok(tx));
            let len = u32::try_from(20 + encoded.len()).expect("a journal record fits a u32");
            rewritten.push(1);
            rewritten.extend_from_slice(&len.to_be_bytes());
            rewritten.extend_from_slice(sender.as_slice());
            rewritten.extend_from_slice(&encoded);
        }
        // What a node writes back when it compacts the journal replays to the same.
        assert_eq!(replay_journal(&rewritten), live);
    }
});
