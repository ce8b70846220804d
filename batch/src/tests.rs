//! Round trips, refusals, the golden vectors and the property tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::*;
use ordo_types::{
    Address, Body, Bytes, Decode, Encode, Entry, EthereumTx, ForcedTransaction, Header,
    NamespaceEntries, SecretKey, Transaction, B256,
};
use proptest::prelude::*;

const CHAIN_ID: u64 = 1234;

fn key(b: u8) -> SecretKey {
    SecretKey::from_bytes(&[b; 32]).unwrap()
}

/// The all-zero header of the current header version, whatever its fields: fixtures set the
/// fields they care about, so a field added to the header does not break them.
pub(crate) fn zero_header() -> Header {
    (1..=u8::MAX)
        .find_map(|version| {
            let mut bytes = vec![0u8; Header::ENCODED_LEN];
            bytes[0] = version;
            Header::decode(&bytes).ok()
        })
        .unwrap()
}

/// A signed EIP-1559 transfer of `value` wei for chain 901, as a wallet sends one.
pub(crate) fn transfer(from: &SecretKey, nonce: u64, to: u8, value: u64) -> Transaction {
    let tx = alloy_consensus::TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: alloy_primitives::TxKind::Call(Address::repeat_byte(to)),
        value: alloy_primitives::U256::from(value),
        ..Default::default()
    };
    Transaction::ethereum(901, EthereumTx::sign(tx.into(), from)).unwrap()
}

/// Blocks `first..` extending `parent` (or starting the chain), one per body, as a committee of
/// four would decide them: proposers in turn, 200 ms apart, the L1 origin moving every ten
/// heights, the inbox cursor counting forced entries.
pub(crate) fn chain(first: u64, bodies: Vec<Body>) -> Vec<Block> {
    let proposers: Vec<Address> = (1..=4).map(|b| key(b).address()).collect();
    let mut blocks: Vec<Block> = Vec::with_capacity(bodies.len());
    let mut cursor = 0u64;
    for (i, body) in bodies.into_iter().enumerate() {
        let height = first + i as u64;
        cursor += body
            .entries()
            .filter(|(_, e)| matches!(e, Entry::Forced(_)))
            .count() as u64;
        let mut header = zero_header();
        header.chain_id = CHAIN_ID;
        header.height = height;
        header.epoch = height / 100;
        header.timestamp_ms = 1_700_000_000_000 + height * 200 + (height * 7) % 5;
        header.parent_hash = blocks.last().map_or(B256::repeat_byte(0x11), Block::hash);
        header.proposer = proposers[(height % 4) as usize];
        header.validators_hash = B256::repeat_byte(0x22);
        header.next_validators_hash = B256::repeat_byte(0x22);
        header.l1_origin_number = 100 + height / 10;
        header.l1_origin_hash = B256::repeat_byte((height / 10) as u8);
        header.inbox_cursor = cursor;
        // The body's commitments, through the only code that states them.
        header.tx_count = body.tx_count().unwrap();
        header.namespace_root = body.namespace_root();
        header.bundle_root = body.bundle_root();
        let block = Block { header, body };
        assert!(
            block.check_commitments().is_ok(),
            "fixture body with a commitment not set here"
        );
        blocks.push(block);
    }
    blocks
}

fn body(groups: Vec<(u64, Vec<Entry>)>) -> Body {
    Body::from_entries(
        groups
            .into_iter()
            .map(|(namespace, entries)| NamespaceEntries { namespace, entries })
            .collect(),
    )
    .unwrap()
}

/// The golden chain: an empty block, a block with an EIP-712 transaction and a forced entry in
/// two namespaces, two EVM transfers, and another empty block.
fn golden_blocks() -> Vec<Block> {
    let signed = Transaction::sign(42, 7, Bytes::from_static(b"ordo"), &key(9), CHAIN_ID);
    let forced = ForcedTransaction {
        inbox_index: 0,
        sender: Address::repeat_byte(0x33),
        payload: Bytes::from_static(&[1, 2, 3]),
    };
    chain(
        5,
        vec![
            Body::default(),
            body(vec![
                (42, vec![Entry::Signed(signed)]),
                (7, vec![Entry::Forced(forced)]),
            ]),
            body(vec![(
                901,
                vec![
                    Entry::Signed(transfer(&key(5), 0, 0xaa, 1_000)),
                    Entry::Signed(transfer(&key(6), 3, 0xbb, 25)),
                ],
            )]),
            Body::default(),
        ],
    )
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Vectors {
    comment: String,
    blocks: Vec<String>,
    payload: String,
    brotli_data: String,
    data_hash: String,
    frame_len: usize,
    frames: Vec<String>,
}

const VECTORS: &str = include_str!("../vectors/batch-v2.json");

fn golden_vectors() -> Vectors {
    let blocks = golden_blocks();
    let payload = encode_payload(&blocks).unwrap();
    let batch = encode_batch(&blocks, Codec::Brotli).unwrap();
    let frame_len = FRAME_HEADER_LEN + 200;
    Vectors {
        comment: "ordo-batch golden vectors (docs/FORMATS.md, L1 batches): blocks 5..=8 as \
                  Block encodings, their payload, the brotli data (quality 9, window 24) and \
                  its keccak256, and its frames of at most frame_len bytes. Regenerate after a \
                  deliberate format change with ORDO_WRITE_VECTORS=1 cargo test -p ordo-batch \
                  golden."
            .into(),
        blocks: blocks.iter().map(|b| hex::encode(b.encode())).collect(),
        payload: hex::encode(&payload),
        brotli_data: hex::encode(&batch.data),
        data_hash: batch.data_hash.to_string(),
        frame_len,
        frames: batch
            .frames(frame_len)
            .unwrap()
            .iter()
            .map(|f| hex::encode(f.encode()))
            .collect(),
    }
}

#[test]
fn golden_vectors_match_the_committed_file() {
    let computed = golden_vectors();
    if std::env::var_os("ORDO_WRITE_VECTORS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/batch-v2.json");
        std::fs::write(
            path,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
    }
    let committed: Vectors = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(committed.blocks, computed.blocks, "block encodings");
    assert_eq!(committed.payload, computed.payload, "payload");
    // The decoder side does not depend on the brotli encoder: the committed data decodes.
    let data = hex::decode(&committed.brotli_data).unwrap();
    let blocks: Vec<Block> = committed
        .blocks
        .iter()
        .map(|b| Block::decode(&hex::decode(b).unwrap()).unwrap())
        .collect();
    assert_eq!(decode_batch(&data).unwrap(), blocks);
    assert_eq!(
        ordo_types::keccak256(&data).to_string(),
        committed.data_hash
    );
    let frames: Vec<Frame> = committed
        .frames
        .iter()
        .map(|f| Frame::decode(&hex::decode(f).unwrap()).unwrap())
        .collect();
    assert!(
        frames.len() > 1,
        "the vectors cut the data into several frames"
    );
    assert_eq!(decode_frames(&frames).unwrap(), blocks);
    // The encoder (pinned brotli version, quality and window) gives the same bytes.
    assert_eq!(committed, computed);
}

#[test]
fn payload_layout_follows_formats_md() {
    let blocks = golden_blocks();
    let payload = encode_payload(&blocks).unwrap();
    let n = blocks.len();
    let width = Header::ENCODED_LEN;
    assert_eq!(payload[0], PAYLOAD_VERSION);
    assert_eq!(&payload[1..5], &(n as u32).to_be_bytes());
    let residual = |row: usize, col: usize| payload[5 + col * n + row];
    // The first header is carried whole.
    let first = blocks[0].header.encode();
    for (col, byte) in first.iter().enumerate() {
        assert_eq!(residual(0, col), *byte);
    }
    // Later headers: zero wherever the prediction holds, that is everywhere but the timestamp,
    // the proposer and the L1 origin, which these fixtures change.
    let free = |col: usize| {
        (25..33).contains(&col) || (65..85).contains(&col) || (185..225).contains(&col)
    };
    for row in 1..n {
        for col in (0..width).filter(|c| !free(*c)) {
            assert_eq!(residual(row, col), 0, "row {row} col {col}");
        }
        // The timestamp moves by about 200 ms: its last byte carries the difference.
        let dt = blocks[row].header.timestamp_ms - blocks[row - 1].header.timestamp_ms;
        assert_eq!(residual(row, 32), (dt % 256) as u8);
    }
    // Then each body, length-prefixed, in the Body codec.
    let mut at = 5 + n * width;
    for block in &blocks {
        let body = block.body.encode();
        assert_eq!(&payload[at..at + 4], &(body.len() as u32).to_be_bytes());
        assert_eq!(&payload[at + 4..at + 4 + body.len()], &body[..]);
        at += 4 + body.len();
    }
    assert_eq!(at, payload.len());
}

#[test]
fn a_bundles_root_is_derived_from_the_body() {
    use ordo_types::{Bundle, BundleTerms};
    let txs: Vec<Transaction> = (0..2)
        .map(|n| Transaction::sign(42, n, Bytes::from_static(b"leg"), &key(7), CHAIN_ID))
        .collect();
    let terms = BundleTerms {
        min_height: 0,
        max_height: u64::MAX,
        min_timestamp: 0,
        max_timestamp: u64::MAX,
        reverting: Vec::new(),
    };
    let bundle = Bundle::new(terms, txs.clone()).unwrap();
    let mut with_bundle = body(vec![(42, txs.into_iter().map(Entry::Signed).collect())]);
    with_bundle.bundles = vec![bundle.placed(|_| 0)];
    with_bundle.validate().unwrap();
    assert_ne!(with_bundle.bundle_root(), B256::ZERO);
    let blocks = chain(1, vec![Body::default(), with_bundle, Body::default()]);
    assert_eq!(blocks[1].header.bundle_root, blocks[1].body.bundle_root());
    let payload = encode_payload(&blocks).unwrap();
    assert_eq!(decode_payload(&payload).unwrap(), blocks);
    // The bundle root (the header's last 32 bytes) costs nothing: its residual is zero.
    let n = blocks.len();
    for col in Header::ENCODED_LEN - 32..Header::ENCODED_LEN {
        assert_eq!(payload[5 + col * n + 1], 0, "col {col}");
    }
}

#[test]
fn round_trips_with_every_codec_and_frame_size() {
    let blocks = golden_blocks();
    for codec in [Codec::Identity, Codec::Brotli] {
        let batch = encode_batch(&blocks, codec).unwrap();
        assert_eq!((batch.start, batch.end), (5, 8));
        assert_eq!(batch.end_hash, blocks[3].hash());
        assert_eq!(batch.data[0], codec as u8);
        assert_eq!(decode_batch(&batch.data).unwrap(), blocks);
        for frame_len in [FRAME_HEADER_LEN + 3, FRAME_HEADER_LEN + 97, 1 << 17] {
            let mut frames = batch.frames(frame_len).unwrap();
            assert!(frames.iter().all(|f| f.encode().len() <= frame_len));
            frames.reverse();
            let decoded: Vec<Frame> = frames
                .iter()
                .map(|f| Frame::decode(&f.encode()).unwrap())
                .collect();
            assert_eq!(decoded, frames);
            assert_eq!(decode_frames(&decoded).unwrap(), blocks);
        }
    }
    assert_eq!(
        encode_batch(&blocks, Codec::Brotli)
            .unwrap()
            .frames(FRAME_HEADER_LEN),
        Err(BatchError::InvalidFrame(
            "frame length leaves no room for data"
        ))
    );
}

#[test]
fn encoder_refuses_what_is_not_a_chain() {
    let blocks = golden_blocks();
    assert_eq!(encode_payload(&[]), Err(BatchError::Empty));
    let mut gap = blocks.clone();
    gap.remove(1);
    assert_eq!(
        encode_payload(&gap),
        Err(BatchError::NotContiguous { height: 7 })
    );
    let mut fork = blocks.clone();
    fork[2].header.parent_hash = B256::ZERO;
    assert_eq!(
        encode_payload(&fork),
        Err(BatchError::NotContiguous { height: 7 })
    );
    let mut wrong = blocks.clone();
    wrong[0].header.tx_count = 3;
    assert!(matches!(
        encode_payload(&wrong),
        Err(BatchError::Commitments { height: 5, .. })
    ));
}

#[test]
fn decoder_refuses_non_canonical_residuals_and_bad_framing() {
    let blocks = golden_blocks();
    let payload = encode_payload(&blocks).unwrap();
    let n = blocks.len();
    let cell = |row: usize, col: usize| 5 + col * n + row;
    // A residual where the prediction is exact: the parent hash, the tx count, the namespace
    // root, the height.
    for (col, expected_height) in [(40, 6), (118, 6), (90, 6)] {
        let mut bad = payload.clone();
        bad[cell(1, col)] ^= 1;
        let err = decode_payload(&bad).unwrap_err();
        assert!(
            matches!(
                err,
                BatchError::NotContiguous { height } | BatchError::Commitments { height, .. }
                    if height == expected_height
            ),
            "col {col}: {err:?}"
        );
    }
    let mut bad = payload.clone();
    bad[cell(2, 16)] = 1; // height of block 7 off by 1
    assert!(matches!(
        decode_payload(&bad),
        Err(BatchError::NotContiguous { .. })
    ));
    // Versions, counts, lengths, trailing bytes.
    let mut bad = payload.clone();
    bad[0] = PAYLOAD_VERSION - 1;
    assert_eq!(
        decode_payload(&bad),
        Err(BatchError::UnknownVersion(PAYLOAD_VERSION - 1))
    );
    let mut bad = payload.clone();
    bad[1..5].copy_from_slice(&0u32.to_be_bytes());
    assert_eq!(decode_payload(&bad), Err(BatchError::Empty));
    let mut bad = payload.clone();
    bad[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        decode_payload(&bad),
        Err(BatchError::Truncated(5))
    ));
    let mut bad = payload.clone();
    bad.push(0);
    assert_eq!(decode_payload(&bad), Err(BatchError::TrailingBytes(1)));
    assert!(decode_payload(&payload[..payload.len() - 1]).is_err());
    assert_eq!(decode_batch(&[]), Err(BatchError::Truncated(0)));
    assert_eq!(decode_batch(&[9, 1]), Err(BatchError::UnknownCodec(9)));
    assert!(matches!(
        decode_batch(&[1, 0xff, 0xff, 0xff]),
        Err(BatchError::Decompress(_))
    ));
}

#[test]
fn frames_of_different_posts_do_not_join() {
    let blocks = golden_blocks();
    let a = encode_batch(&blocks, Codec::Brotli).unwrap();
    let b = encode_batch(&blocks, Codec::Identity).unwrap();
    let len = FRAME_HEADER_LEN + 64;
    let fa = a.frames(len).unwrap();
    let fb = b.frames(len).unwrap();
    assert!(fa.len() >= 2 && fb.len() >= 2);
    let mut mixed = fa.clone();
    mixed[1] = fb[1].clone();
    assert_eq!(
        join_frames(&mixed),
        Err(BatchError::FrameSet("frames of different batches"))
    );
    // Same batch, a forged chunk: the data hash catches it.
    let mut forged = fa.clone();
    forged[0].chunk = Bytes::from(vec![0u8; fa[0].chunk.len()]);
    assert!(matches!(
        join_frames(&forged),
        Err(BatchError::DataHashMismatch { .. })
    ));
    let mut twice = fa.clone();
    twice[1] = fa[0].clone();
    assert_eq!(
        join_frames(&twice),
        Err(BatchError::FrameSet("a frame index appears twice"))
    );
    assert_eq!(
        join_frames(&fa[1..]),
        Err(BatchError::FrameSet("wrong number of frames"))
    );
    // A frame naming another range than its blocks.
    let mut moved: Vec<Frame> = Frame::split(5, 9, &a.data, len).unwrap();
    moved.reverse();
    assert!(matches!(
        decode_frames(&moved),
        Err(BatchError::RangeMismatch { end: 9, .. })
    ));
    // Frame rules.
    let good = fa[0].encode();
    let mut bad = good.clone();
    bad[0] = 0;
    assert_eq!(Frame::decode(&bad), Err(BatchError::UnknownVersion(0)));
    let mut bad = good.clone();
    bad[49..51].copy_from_slice(&fa[0].count.to_be_bytes());
    assert!(matches!(
        Frame::decode(&bad),
        Err(BatchError::InvalidFrame(_))
    ));
    assert!(matches!(
        Frame::decode(&good[..FRAME_HEADER_LEN]),
        Err(BatchError::InvalidFrame("empty chunk"))
    ));
    assert!(matches!(
        Frame::decode(&good[..FRAME_HEADER_LEN - 1]),
        Err(BatchError::Truncated(_))
    ));
}

#[test]
fn decompression_stops_at_the_cap() {
    // 40 MiB of zeros compresses to a few kilobytes; the decoder stops past 32 MiB.
    let bomb = vec![0u8; MAX_PAYLOAD_LEN + (8 << 20)];
    let mut data = vec![Codec::Brotli as u8];
    let params = brotli::enc::BrotliEncoderParams {
        quality: 5,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bomb[..], &mut data, &params).unwrap();
    assert!(data.len() < 64 << 10, "{} bytes", data.len());
    assert!(matches!(
        decompress(&data),
        Err(BatchError::TooLarge {
            what: "payload",
            max: MAX_PAYLOAD_LEN,
            ..
        })
    ));
    // And a payload over the cap is refused by the encoder's side too.
    let mut identity = vec![Codec::Identity as u8];
    identity.resize(MAX_PAYLOAD_LEN + 2, 0);
    assert!(matches!(
        decompress(&identity),
        Err(BatchError::TooLarge { .. })
    ));
}

#[test]
fn a_full_two_mib_block_fits_across_frames() {
    // One namespace holding 2 MiB of incompressible payloads (16 × 128 KiB forced entries).
    let mut seed = [7u8; 32];
    let entries: Vec<Entry> = (0..16u64)
        .map(|i| {
            let mut payload = Vec::with_capacity(128 << 10);
            while payload.len() < 128 << 10 {
                seed = ordo_types::keccak256(seed).0;
                payload.extend_from_slice(&seed);
            }
            Entry::Forced(ForcedTransaction {
                inbox_index: i,
                sender: Address::repeat_byte(1),
                payload: payload.into(),
            })
        })
        .collect();
    let blocks = chain(1, vec![body(vec![(3, entries)])]);
    assert!(blocks[0].body.encoded_len() >= 2 << 20);
    let batch = encode_batch(&blocks, Codec::Brotli).unwrap();
    // Six blobs' worth of bytes per L1 transaction (126,972 usable bytes per blob).
    let frames = batch.frames(6 * 126_972).unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(decode_frames(&frames).unwrap(), blocks);
}

fn arb_entry(namespace: u64) -> impl Strategy<Value = Entry> {
    prop_oneof![
        (0u64..4, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(
            move |(nonce, payload)| {
                Entry::Signed(Transaction::sign(
                    namespace,
                    nonce,
                    payload.into(),
                    &key(3),
                    CHAIN_ID,
                ))
            }
        ),
        (
            any::<u64>(),
            any::<[u8; 20]>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(inbox_index, sender, payload)| {
                Entry::Forced(ForcedTransaction {
                    inbox_index,
                    sender: Address::from(sender),
                    payload: payload.into(),
                })
            }),
    ]
}

fn arb_body() -> impl Strategy<Value = Body> {
    proptest::collection::btree_map(0u64..6, 1usize..4, 0..3).prop_flat_map(|groups| {
        groups
            .into_iter()
            .map(|(ns, n)| {
                proptest::collection::vec(arb_entry(ns), n).prop_map(move |entries| {
                    NamespaceEntries {
                        namespace: ns,
                        entries,
                    }
                })
            })
            .collect::<Vec<_>>()
            .prop_map(|groups| Body::from_entries(groups).unwrap())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_chain_round_trips(bodies in proptest::collection::vec(arb_body(), 1..6), first in 1u64..1000) {
        let blocks = chain(first, bodies);
        let payload = encode_payload(&blocks).unwrap();
        prop_assert_eq!(decode_payload(&payload).unwrap(), blocks.clone());
        let batch = encode_batch(&blocks, Codec::Brotli).unwrap();
        prop_assert_eq!(decode_batch(&batch.data).unwrap(), blocks);
    }

    /// Any change to a payload byte either fails to decode or changes the last block's hash:
    /// the certified end hash vouches for every byte.
    #[test]
    fn any_change_breaks_the_end_hash(bodies in proptest::collection::vec(arb_body(), 1..5), pos in any::<usize>(), delta in 1u8..=255) {
        let blocks = chain(10, bodies);
        let end_hash = blocks.last().unwrap().hash();
        let mut payload = encode_payload(&blocks).unwrap();
        let i = pos % payload.len();
        payload[i] = payload[i].wrapping_add(delta);
        if let Ok(decoded) = decode_payload(&payload) {
            prop_assert_ne!(decoded.last().unwrap().hash(), end_hash);
            // What decodes is canonical.
            prop_assert_eq!(encode_payload(&decoded).unwrap(), payload);
        }
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(blocks) = decode_payload(&bytes) {
            prop_assert_eq!(encode_payload(&blocks).unwrap(), bytes.clone());
        }
        let _ = decode_batch(&bytes);
        if let Ok(frame) = Frame::decode(&bytes) {
            prop_assert_eq!(frame.encode(), bytes);
        }
    }
}
