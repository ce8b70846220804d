//! L1 batches (`ordo-batch`): what a rebuilder reads from the L1, posted by anyone. The first
//! byte picks the layer: 0 a payload, 1 a batch's data (codec byte and compressed payload),
//! 2 a frame, 3 several frames (each an `Input::chunk`) joined and decoded. Checked: no panic;
//! a payload or frame that decodes encodes back to exactly the input; decoded blocks form a
//! hash chain and match their commitments; joined frames hash to the hash they name and decode
//! to exactly the range they name; decompression never yields more than `MAX_PAYLOAD_LEN`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo_batch::{
    decode_batch, decode_frames, decode_payload, decompress, encode_payload, join_frames, Frame,
    MAX_PAYLOAD_LEN,
};
use ordo_fuzz::Input;
use ordo_types::{keccak256, Block};

fn check_chain(blocks: &[Block]) {
    assert!(!blocks.is_empty());
    for pair in blocks.windows(2) {
        assert_eq!(pair[1].header.height, pair[0].header.height + 1);
        assert_eq!(pair[1].header.parent_hash, pair[0].hash());
    }
    for block in blocks {
        block
            .check_commitments()
            .expect("decoded blocks match their commitments");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 4 {
        0 => {
            if let Ok(blocks) = decode_payload(bytes) {
                check_chain(&blocks);
                assert_eq!(encode_payload(&blocks).expect("re-encodes"), bytes);
            }
        }
        1 => {
            if let Ok(payload) = decompress(bytes) {
                assert!(payload.len() <= MAX_PAYLOAD_LEN);
            }
            if let Ok(blocks) = decode_batch(bytes) {
                check_chain(&blocks);
            }
        }
        2 => {
            if let Ok(frame) = Frame::decode(bytes) {
                assert_eq!(frame.encode(), bytes);
            }
        }
        _ => {
            let mut input = Input(bytes);
            let mut frames = Vec::new();
            while !input.is_empty() && frames.len() < 16 {
                if let Ok(frame) = Frame::decode(input.chunk()) {
                    frames.push(frame);
                }
            }
            if let Ok(joined) = join_frames(&frames) {
                assert_eq!(keccak256(&joined), frames[0].data_hash);
            }
            if let Ok(blocks) = decode_frames(&frames) {
                check_chain(&blocks);
                assert_eq!(blocks[0].header.height, frames[0].start);
                assert_eq!(blocks[blocks.len() - 1].header.height, frames[0].end);
            }
        }
    }
});
