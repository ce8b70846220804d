//! Relaying transactions between nodes: batches of locally admitted transactions go out over
//! [`Gossip`]; batches from other nodes go through the same admission as a client's.

use std::time::Duration;

use ordo_types::{Decode, Encode, Transaction};
use tokio::sync::mpsc;

use crate::{Gossip, GossipEvent, Mempool, Origin};

/// How often locally admitted transactions are sent out.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// How often the oldest pending transactions are sent again, for peers that were down.
const REGOSSIP_EVERY: Duration = Duration::from_secs(5);
/// How many pending transactions one re-gossip round sends at most.
const REGOSSIP_MAX: usize = 2_000;

/// Encodes a batch: `salt u64 | count u32 | (length u32 | transaction)*`. The salt makes a
/// re-gossiped batch differ from the first one, which gossip would otherwise drop as a duplicate.
pub fn encode_batch(txs: &[Transaction], salt: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + txs.iter().map(|t| 4 + t.encoded_len()).sum::<usize>());
    out.extend_from_slice(&salt.to_be_bytes());
    out.extend_from_slice(&(txs.len() as u32).to_be_bytes());
    for tx in txs {
        out.extend_from_slice(&(tx.encoded_len() as u32).to_be_bytes());
        tx.encode_to(&mut out);
    }
    out
}

/// Decodes a batch; `None` if any part is malformed (the whole batch is then ignored).
pub fn decode_batch(bytes: &[u8]) -> Option<Vec<Transaction>> {
    let (_salt, rest) = bytes.split_first_chunk::<8>()?;
    let (count, mut rest) = rest.split_first_chunk::<4>()?;
    let count = u32::from_be_bytes(*count) as usize;
    // Each transaction takes at least 4 + 87 bytes: bound the allocation by the input.
    if count > rest.len() / 91 {
        return None;
    }
    let mut txs = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        let body = tail.get(..len)?;
        txs.push(Transaction::decode(body).ok()?);
        rest = &tail[len..];
    }
    rest.is_empty().then_some(txs)
}

/// Splits transactions into batches of at most `max_bytes` encoded.
fn batches(txs: Vec<Transaction>, max_bytes: usize) -> Vec<Vec<Transaction>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut size = 12;
    for tx in txs {
        let len = 4 + tx.encoded_len();
        if size + len > max_bytes && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            size = 12;
        }
        size += len;
        current.push(tx);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Runs the relay until the gossip actor stops.
pub async fn run_gossip(
    mempool: Mempool,
    gossip: Gossip,
    mut events: mpsc::Receiver<GossipEvent>,
    max_message_bytes: usize,
) {
    let mut salt = 0u64;
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let mut regossip = tokio::time::interval(REGOSSIP_EVERY);
    loop {
        let outgoing = tokio::select! {
            _ = flush.tick() => mempool.take_outbox(),
            _ = regossip.tick() => mempool.pending_for_regossip(REGOSSIP_MAX),
            event = events.recv() => {
                let Some(GossipEvent::Batch { from, bytes }) = event else {
                    break;
                };
                mempool.metrics().gossip_received();
                match decode_batch(&bytes) {
                    Some(txs) => {
                        let pool = mempool.clone();
                        // Signature recovery is CPU work: keep it off the async workers.
                        let _ = tokio::task::spawn_blocking(move || {
                            pool.submit(txs, Origin::Gossip)
                        })
                        .await;
                    }
                    None => tracing::warn!(target: "ordo::gossip", %from, "malformed batch ignored"),
                }
                continue;
            }
        };
        for batch in batches(outgoing, max_message_bytes) {
            salt += 1;
            match gossip.publish(encode_batch(&batch, salt)).await {
                Ok(()) => mempool.metrics().gossip_sent(),
                Err(e) if e.is_stopped() => return,
                Err(e) => tracing::warn!(target: "ordo::gossip", error = %e, "batch not sent"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordo_types::{Bytes, SecretKey};
    use proptest::prelude::*;

    fn txs(n: usize) -> Vec<Transaction> {
        let key = SecretKey::random();
        (0..n)
            .map(|i| Transaction::sign(1, i as u64, Bytes::from(vec![7; i * 10]), &key, 1))
            .collect()
    }

    #[test]
    fn batches_round_trip_and_respect_the_size_limit() {
        let all = txs(30);
        let split = batches(all.clone(), 1_000);
        assert!(split.len() > 1);
        let mut joined = Vec::new();
        for batch in split {
            let bytes = encode_batch(&batch, 7);
            assert!(bytes.len() <= 1_000 || batch.len() == 1);
            joined.extend(decode_batch(&bytes).unwrap());
        }
        assert_eq!(joined, all);
    }

    #[test]
    fn malformed_batches_are_refused() {
        let bytes = encode_batch(&txs(3), 1);
        assert!(decode_batch(&bytes[..bytes.len() - 1]).is_none());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_batch(&longer).is_none());
        let mut forged = bytes;
        forged[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_batch(&forged).is_none());
    }

    /// Pins the batch format: a change must fail here and be made on purpose.
    #[test]
    fn golden_batch_encoding() {
        let key = SecretKey::from_bytes(&[0x11; 32]).unwrap();
        let tx = Transaction::sign(3, 9, Bytes::from_static(b"ordo"), &key, 1337);
        let bytes = encode_batch(&[tx], 0x0102);
        let expected_len = 8 + 4 + 4 + tx_len();
        assert_eq!(bytes.len(), expected_len);
        assert_eq!(
            hex::encode(&bytes[..16]),
            format!("0000000000000102000000010000{:04x}", tx_len())
        );
        assert_eq!(
            &bytes[16..],
            Transaction::sign(3, 9, Bytes::from_static(b"ordo"), &key, 1337)
                .encode()
                .as_slice()
        );
    }

    fn tx_len() -> usize {
        1 + 8 + 8 + 4 + 4 + 65
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode_batch(&bytes);
        }
    }
}
