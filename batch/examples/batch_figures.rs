//! Figures for the batch format (docs/DA.md): compressed bytes per EVM transfer and per empty
//! height, blobs per 1,000 transfers, and encode/decode speed, at each brotli quality.
//!
//! `cargo run --release -p ordo-batch --example batch_figures` prints a table and writes
//! `target/batch-figures.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unused_crate_dependencies
)]

use ordo_batch::{compress, decode_batch, encode_payload, Codec, FRAME_HEADER_LEN};
use ordo_types::{
    keccak256, Address, Block, Body, Decode, Encode, EthereumTx, Header, NamespaceEntries,
    SecretKey, Transaction, B256,
};
use std::time::Instant;

/// Usable bytes of one blob with alloy's SimpleCoder (31 bytes per field element, minus its
/// length word).
const BLOB_BYTES: usize = 4096 * 31 - 4;

fn zero_header() -> Header {
    (1..=u8::MAX)
        .find_map(|v| {
            let mut b = vec![0u8; Header::ENCODED_LEN];
            b[0] = v;
            Header::decode(&b).ok()
        })
        .unwrap()
}

/// A deterministic stream of numbers (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A transfer mix: 70% ether transfers of round amounts, 30% ERC-20 `transfer` calls on one of
/// five tokens; 2,000 senders, 5,000 recipients, nonces in sequence per sender.
fn transfers(n: usize, rng: &mut Rng, keys: &[SecretKey], nonces: &mut [u64]) -> Vec<Transaction> {
    let tokens: Vec<Address> = (0..5u8).map(|i| Address::repeat_byte(0xa0 + i)).collect();
    (0..n)
        .map(|_| {
            let s = (rng.next() % keys.len() as u64) as usize;
            let to = Address::from_slice(&keccak256((rng.next() % 5000).to_be_bytes())[12..]);
            let nonce = nonces[s];
            nonces[s] += 1;
            let (kind, value, input) = if rng.next() % 10 < 7 {
                let value = alloy_primitives::U256::from((rng.next() % 1000 + 1) * 10u64.pow(15));
                (alloy_primitives::TxKind::Call(to), value, Vec::new())
            } else {
                let token = tokens[(rng.next() % 5) as usize];
                let mut input = vec![0xa9, 0x05, 0x9c, 0xbb];
                input.extend_from_slice(&[0u8; 12]);
                input.extend_from_slice(to.as_slice());
                let amount =
                    alloy_primitives::U256::from((rng.next() % 10_000 + 1) * 10u64.pow(18));
                input.extend_from_slice(&amount.to_be_bytes::<32>());
                (
                    alloy_primitives::TxKind::Call(token),
                    alloy_primitives::U256::ZERO,
                    input,
                )
            };
            let tx = alloy_consensus::TxEip1559 {
                chain_id: 901,
                nonce,
                gas_limit: if input.is_empty() { 21_000 } else { 65_000 },
                max_fee_per_gas: 1_000_000_000 + u128::from(rng.next() % 4) * 250_000_000,
                max_priority_fee_per_gas: 1_000_000,
                to: kind,
                value,
                input: input.into(),
                ..Default::default()
            };
            Transaction::ethereum(901, EthereumTx::sign(tx.into(), &keys[s])).unwrap()
        })
        .collect()
}

/// `heights` blocks, `per_block` transfers each, 200 ms apart, four proposers in turn.
fn chain(heights: u64, per_block: usize, rng: &mut Rng) -> Vec<Block> {
    let keys: Vec<SecretKey> = (0..2000u32)
        .map(|i| SecretKey::from_bytes(&keccak256(i.to_be_bytes()).0).unwrap())
        .collect();
    let mut nonces = vec![0u64; keys.len()];
    let proposers: Vec<Address> = (1..=4u8).map(Address::repeat_byte).collect();
    let mut blocks: Vec<Block> = Vec::new();
    for h in 1..=heights {
        let txs = transfers(per_block, rng, &keys, &mut nonces);
        let body = if txs.is_empty() {
            Body::default()
        } else {
            Body::from_entries(vec![NamespaceEntries {
                namespace: 901,
                entries: txs.into_iter().map(ordo_types::Entry::Signed).collect(),
            }])
            .unwrap()
        };
        let mut header = zero_header();
        header.chain_id = 7;
        header.height = h;
        header.timestamp_ms = 1_700_000_000_000 + h * 200 + rng.next() % 7;
        header.parent_hash = blocks.last().map_or(B256::ZERO, Block::hash);
        header.proposer = proposers[(h % 4) as usize];
        header.validators_hash = B256::repeat_byte(0x22);
        header.next_validators_hash = B256::repeat_byte(0x22);
        header.l1_origin_number = 100 + h / 60;
        header.l1_origin_hash = keccak256((h / 60).to_be_bytes());
        header.tx_count = body.tx_count().unwrap();
        header.namespace_root = body.namespace_root();
        blocks.push(Block { header, body });
    }
    blocks
}

fn main() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let empty = chain(3000, 0, &mut rng);
    let loaded = chain(200, 100, &mut rng);
    let raw_tx: usize = loaded.iter().map(|b| b.body.encoded_len()).sum::<usize>();
    let n_tx = 200 * 100;
    println!("payloads: 3,000 empty heights; 200 heights x 100 transfers ({} B of bodies, {:.1} B per transfer raw)", raw_tx, raw_tx as f64 / n_tx as f64);
    println!("| quality | B / empty height | B / transfer | blobs / 1,000 transfers | encode MB/s | decode tx/s |");
    println!("|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for quality in [5, 7, 9, 10, 11] {
        let e_payload = encode_payload(&empty).unwrap();
        let e_data = compress_q(&e_payload, quality);
        let payload = encode_payload(&loaded).unwrap();
        let t = Instant::now();
        let data = compress_q(&payload, quality);
        let enc = payload.len() as f64 / t.elapsed().as_secs_f64() / 1e6;
        let t = Instant::now();
        let blocks = decode_batch(&data).unwrap();
        let dec = n_tx as f64 / t.elapsed().as_secs_f64();
        assert_eq!(blocks, loaded);
        let per_empty = e_data.len() as f64 / empty.len() as f64;
        let per_tx = data.len() as f64 / n_tx as f64;
        let blobs = per_tx * 1000.0 / (BLOB_BYTES - FRAME_HEADER_LEN) as f64;
        println!("| {quality} | {per_empty:.2} | {per_tx:.1} | {blobs:.3} | {enc:.2} | {dec:.0} |");
        rows.push(serde_json::json!({"quality": quality, "bytes_per_empty_height": per_empty, "bytes_per_transfer": per_tx, "blobs_per_1000_transfers": blobs, "encode_mb_per_s": enc, "decode_tx_per_s": dec}));
    }
    let _ = compress(Codec::Identity, &[]);
    std::fs::create_dir_all("target").ok();
    std::fs::write(
        "target/batch-figures.json",
        serde_json::to_string_pretty(&rows).unwrap(),
    )
    .unwrap();
}

fn compress_q(payload: &[u8], quality: i32) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin: 24,
        size_hint: payload.len(),
        ..Default::default()
    };
    let mut out = vec![1u8];
    brotli::BrotliCompress(&mut &payload[..], &mut out, &params).unwrap();
    out
}
