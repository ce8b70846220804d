//! The consensus codec (`ordo_consensus::OrdoCodec`): every message Malachite gossips, requests
//! or logs, and the consensus WAL's entries. The first byte picks the message type. Checked: no
//! panic, and a message that decodes encodes back to exactly the input (the codec is
//! canonical), so what a node relays or logs is what it received.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use malachitebft_app_channel::app::consensus::{LivenessMsg, SignedConsensusMsg};
use malachitebft_app_channel::app::engine::wal::{decode_entry, encode_entry};
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
use malachitebft_app_channel::app::types::sync::{Request, Response, Status};
use malachitebft_app_channel::app::types::ProposedValue;
use ordo_consensus::context::{OrdoContext, ProposalPart};
use ordo_consensus::OrdoCodec;

/// Decodes `bytes` as `T`; if that succeeds, re-encodes and compares.
fn canonical<T>(bytes: &[u8])
where
    OrdoCodec: Codec<T>,
{
    if let Ok(value) = Codec::<T>::decode(&OrdoCodec, Bytes::copy_from_slice(bytes)) {
        let again = Codec::<T>::encode(&OrdoCodec, &value).expect("a decoded message encodes");
        assert_eq!(
            again.as_ref(),
            bytes,
            "{} decoded from non-canonical bytes",
            core::any::type_name::<T>()
        );
    }
}

/// A WAL entry as Malachite's engine reads it back on restart.
fn wal_entry(bytes: &[u8]) {
    // Malachite 0.8.2's `decode_entry` allocates the payload length an entry declares before
    // reading it. Entries reach it only after the WAL file's own framing (a length capped at
    // 1 GiB and a CRC) has checked them, so lengths beyond the entry are not fed here.
    if let Some(len) = bytes.get(1..9) {
        let declared = u64::from_be_bytes(len.try_into().unwrap_or_default());
        if declared > bytes.len() as u64 {
            return;
        }
    }
    let mut reader = bytes;
    let Ok(input) = decode_entry::<OrdoContext, _, _>(&OrdoCodec, &mut reader) else {
        return;
    };
    let consumed = bytes.len() - reader.len();
    let mut again = Vec::new();
    encode_entry(input, &OrdoCodec, &mut again).expect("a decoded WAL entry encodes");
    assert_eq!(
        again,
        bytes[..consumed],
        "WAL entry decoded from non-canonical bytes"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 11 {
        0 => canonical::<ProposalPart>(bytes),
        1 => canonical::<SignedConsensusMsg<OrdoContext>>(bytes),
        2 => canonical::<LivenessMsg<OrdoContext>>(bytes),
        3 => canonical::<StreamMessage<ProposalPart>>(bytes),
        4 => canonical::<ValidatorProof<OrdoContext>>(bytes),
        5 => canonical::<Status<OrdoContext>>(bytes),
        6 => canonical::<Request<OrdoContext>>(bytes),
        7 => canonical::<Response<OrdoContext>>(bytes),
        8 => canonical::<ProposedValue<OrdoContext>>(bytes),
        9 => canonical::<PolkaCertificate<OrdoContext>>(bytes),
        _ => wal_entry(bytes),
    }
});
