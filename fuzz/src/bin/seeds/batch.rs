//! Seeds of the `batch` target: the payload, brotli data and frames of a two-block batch.

use ordo_batch::{encode_batch, encode_payload, Codec, FRAME_HEADER_LEN};
use ordo_fuzz::put_chunk;
use ordo_types::Block;
use std::path::Path;

/// Writes `fuzz/seeds/batch/`: selector 0 a payload, 1 brotli data, 2 a frame, 3 frames.
pub(crate) fn batch(dir: &Path, block: &Block) {
    let mut next = block.clone();
    next.header.height += 1;
    next.header.parent_hash = block.hash();
    next.header.timestamp_ms += 200;
    let blocks = vec![block.clone(), next];
    let payload = encode_payload(&blocks).expect("a chain of two blocks");
    super::write(dir, "batch", "payload", &super::tagged(0, &payload));
    let batch = encode_batch(&blocks, Codec::Brotli).expect("a chain of two blocks");
    super::write(dir, "batch", "brotli", &super::tagged(1, &batch.data));
    let frames = batch.frames(FRAME_HEADER_LEN + 64).expect("a few frames");
    super::write(
        dir,
        "batch",
        "frame",
        &super::tagged(2, &frames[0].encode()),
    );
    let mut joined = vec![3];
    for frame in frames.iter().rev() {
        put_chunk(&mut joined, &frame.encode());
    }
    super::write(dir, "batch", "frames", &joined);
}
