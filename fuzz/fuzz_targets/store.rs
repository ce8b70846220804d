//! The node store's records (`data/store.redb`, docs/FORMATS.md "Node store"), as a node reads
//! them back: decided blocks, commit certificates, stored proposals, committee records, opened
//! records and vote extensions. The
//! first byte picks the table. Checked: no panic, and a record that decodes encodes back to
//! exactly its bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo_consensus::reencode_record;
use ordo_fuzz::canonical;
use ordo_types::{Block, CommitCertificate};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 6 {
        0 => {
            canonical::<Block>(bytes);
        }
        1 => {
            canonical::<CommitCertificate>(bytes);
        }
        2 => {
            if let Ok(again) = reencode_record("proposals", bytes) {
                assert_eq!(
                    again, bytes,
                    "stored proposal decoded from non-canonical bytes"
                );
            }
        }
        3 => {
            if let Ok(again) = reencode_record("committees", bytes) {
                assert_eq!(
                    again, bytes,
                    "committee record decoded from non-canonical bytes"
                );
            }
        }
        4 => {
            if let Ok(again) = reencode_record("opened", bytes) {
                assert_eq!(
                    again, bytes,
                    "opened record decoded from non-canonical bytes"
                );
            }
        }
        _ => {
            if let Ok(again) = reencode_record("extensions", bytes) {
                assert_eq!(
                    again, bytes,
                    "extensions record decoded from non-canonical bytes"
                );
            }
        }
    }
});
