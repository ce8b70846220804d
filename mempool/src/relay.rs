//! Relaying transactions and bundles between nodes: batches of locally admitted transactions,
//! and locally admitted bundles one by one, go out over [`Gossip`]; what other nodes send goes
//! through the same admission as a client's.
//!
//! A message starts with its kind: `0x00` (a batch of transactions) or `0x01` (a bundle).

use std::time::Duration;

use ordo_types::{Bundle, Decode, Encode, PublicKey, Transaction};
use tokio::sync::mpsc;

use crate::{Gossip, GossipEvent, Mempool, Origin, PendingBundle};

/// First byte of a batch of transactions.
pub(crate) const KIND_TRANSACTIONS: u8 = 0x00;
/// First byte of a bundle.
pub(crate) const KIND_BUNDLE: u8 = 0x01;
/// Longest replacement id a bundle message carries.
const MAX_REPLACEMENT_LEN: usize = 64;

/// How often locally admitted transactions are sent out.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// How often the oldest pending transactions are sent again, for peers that were down.
const REGOSSIP_EVERY: Duration = Duration::from_secs(5);
/// How many pending transactions one re-gossip round sends at most.
const REGOSSIP_MAX: usize = 2_000;

/// Encodes a batch: `0x00 | salt u64 | count u32 | (length u32 | transaction | key 64)*`,
/// where `key` is the sender's public key (`x || y`) as this node verified it. The salt makes a
/// re-gossiped batch differ from the first one, which gossip would otherwise drop as a
/// duplicate.
pub fn encode_batch(txs: &[(Transaction, PublicKey)], salt: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(13 + txs.iter().map(|(t, _)| entry_len(t)).sum::<usize>());
    out.push(KIND_TRANSACTIONS);
    out.extend_from_slice(&salt.to_be_bytes());
    out.extend_from_slice(&(txs.len() as u32).to_be_bytes());
    for (tx, key) in txs {
        out.extend_from_slice(&(tx.encoded_len() as u32).to_be_bytes());
        tx.encode_to(&mut out);
        out.extend_from_slice(&key.to_xy());
    }
    out
}

/// Bytes one transaction takes in a batch.
fn entry_len(tx: &Transaction) -> usize {
    4 + tx.encoded_len() + 64
}

/// Decodes a batch; `None` if any part is malformed, a key included (the whole batch is then
/// ignored). The keys are only claims until checked ([`Mempool::verify_claimed_senders`]).
pub fn decode_batch(bytes: &[u8]) -> Option<Vec<(Transaction, PublicKey)>> {
    let (&KIND_TRANSACTIONS, bytes) = bytes.split_first()? else {
        return None;
    };
    let (_salt, rest) = bytes.split_first_chunk::<8>()?;
    let (count, mut rest) = rest.split_first_chunk::<4>()?;
    let count = u32::from_be_bytes(*count) as usize;
    // Each entry takes at least 4 + 87 + 64 bytes: bound the allocation by the input.
    if count > rest.len() / 155 {
        return None;
    }
    let mut txs = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        let tx = Transaction::decode(tail.get(..len)?).ok()?;
        let (key, tail) = tail.get(len..)?.split_first_chunk::<64>()?;
        txs.push((tx, PublicKey::from_xy(key).ok()?));
        rest = tail;
    }
    rest.is_empty().then_some(txs)
}

/// Encodes a bundle message: `0x01 | salt u64 | replacement id (length u32 | UTF-8) | bundle`.
/// Receivers recover every sender themselves: bundles are few, and one refused part refuses
/// the whole bundle anyway.
pub fn encode_bundle(bundle: &Bundle, replacement: Option<&str>, salt: u64) -> Vec<u8> {
    let id = replacement.unwrap_or_default().as_bytes();
    let mut out = Vec::with_capacity(13 + id.len() + bundle.encoded_len());
    out.push(KIND_BUNDLE);
    out.extend_from_slice(&salt.to_be_bytes());
    out.extend_from_slice(&(id.len() as u32).to_be_bytes());
    out.extend_from_slice(id);
    bundle.encode_to(&mut out);
    out
}

/// Decodes a bundle message; `None` if it is malformed. An empty replacement id is none.
pub fn decode_bundle(bytes: &[u8]) -> Option<(Bundle, Option<String>)> {
    let (&KIND_BUNDLE, bytes) = bytes.split_first()? else {
        return None;
    };
    let (_salt, rest) = bytes.split_first_chunk::<8>()?;
    let (len, rest) = rest.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > MAX_REPLACEMENT_LEN {
        return None;
    }
    let id = std::str::from_utf8(rest.get(..len)?).ok()?;
    let bundle = Bundle::decode(rest.get(len..)?).ok()?;
    Some((bundle, (!id.is_empty()).then(|| id.to_owned())))
}

/// Splits transactions into batches of at most `max_bytes` encoded.
fn batches(
    txs: Vec<(Transaction, PublicKey)>,
    max_bytes: usize,
) -> Vec<Vec<(Transaction, PublicKey)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut size = 13;
    for entry in txs {
        let len = entry_len(&entry.0);
        if size + len > max_bytes && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            size = 13;
        }
        size += len;
        current.push(entry);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// How many received batches are checked together at most: batches that queued while the
/// previous ones were checked are taken together, which makes the check cheaper per signature.
const BATCHES_AT_ONCE: usize = 64;

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
        let pool = mempool.clone();
        let outgoing = tokio::select! {
            _ = flush.tick() => tokio::task::spawn_blocking(move || {
                (pool.take_outbox(), pool.take_bundle_outbox())
            }).await,
            _ = regossip.tick() => tokio::task::spawn_blocking(move || {
                (
                    pool.pending_for_regossip(REGOSSIP_MAX),
                    pool.bundles_for_regossip(REGOSSIP_MAX),
                )
            }).await,
            event = events.recv() => {
                let Some(first) = event else {
                    break;
                };
                let mut received = vec![first];
                while received.len() < BATCHES_AT_ONCE {
                    let Ok(more) = events.try_recv() else { break };
                    received.push(more);
                }
                // Signature checks: on the checking threads, behind consensus.
                let reporter = gossip.clone();
                let _ = mempool
                    .checkers()
                    .run(move || admit_received(&pool, &reporter, received))
                    .await;
                continue;
            }
        };
        let Ok((outgoing, bundles)) = outgoing else {
            continue;
        };
        let messages = batches(outgoing, max_message_bytes)
            .into_iter()
            .map(|batch| (batch, None))
            .chain(bundles.into_iter().map(|b| (Vec::new(), Some(b))));
        for (batch, bundle) in messages {
            salt += 1;
            let message = match &bundle {
                Some(PendingBundle {
                    bundle,
                    replacement,
                    ..
                }) => encode_bundle(bundle, replacement.as_deref(), salt),
                None => encode_batch(&batch, salt),
            };
            match gossip.publish(message).await {
                Ok(()) => mempool.metrics().gossip_sent(),
                Err(e) if e.is_stopped() => return,
                Err(e) => tracing::warn!(target: "ordo::gossip", error = %e, "batch not sent"),
            }
        }
    }
}

/// Admits received batches: their claimed sender keys are checked together first, and if that
/// fails, batch by batch, so that one peer's false keys cost only its own batches a recovery
/// per signature. A malformed batch, or one with false keys, is rejected (not forwarded, a strike
/// against the peer that delivered it); the others are forwarded.
fn admit_received(mempool: &Mempool, gossip: &Gossip, received: Vec<GossipEvent>) {
    let mut decoded = Vec::with_capacity(received.len());
    for GossipEvent::Batch {
        from,
        bytes,
        ticket,
    } in received
    {
        mempool.metrics().gossip_received();
        if bytes.first() == Some(&KIND_BUNDLE) {
            match decode_bundle(&bytes) {
                Some((bundle, replacement)) => {
                    gossip.accept(ticket);
                    if let Err((index, e)) =
                        mempool.insert_bundle(bundle, replacement, Origin::Gossip)
                    {
                        tracing::debug!(target: "ordo::gossip", %from, ?index, error = %e, "bundle refused");
                    }
                }
                None => {
                    tracing::warn!(target: "ordo::gossip", %from, "malformed bundle rejected");
                    gossip.reject(ticket);
                }
            }
            continue;
        }
        match decode_batch(&bytes) {
            Some(txs) => decoded.push((from, ticket, txs)),
            None => {
                tracing::warn!(target: "ordo::gossip", %from, "malformed batch rejected");
                gossip.reject(ticket);
            }
        }
    }
    let all: Vec<(Transaction, PublicKey)> = decoded
        .iter()
        .flat_map(|(_, _, txs)| txs.iter().cloned())
        .collect();
    let all_true = mempool.verify_claimed_senders(&all);
    for (from, ticket, txs) in decoded {
        if all_true || mempool.verify_claimed_senders(&txs) {
            gossip.accept(ticket);
        } else {
            mempool.metrics().false_claims();
            tracing::warn!(
                target: "ordo::gossip", %from,
                "batch with false sender keys rejected: recovering its senders one by one"
            );
            gossip.reject(ticket);
        }
        mempool.submit(txs.into_iter().map(|(tx, _)| tx).collect(), Origin::Gossip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordo_types::{Bytes, SecretKey};
    use proptest::prelude::*;

    fn txs(n: usize) -> Vec<(Transaction, PublicKey)> {
        let key = SecretKey::random();
        (0..n)
            .map(|i| {
                let tx = Transaction::sign(1, i as u64, Bytes::from(vec![7; i * 10]), &key, 1);
                (tx, key.public_key())
            })
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
        let mut forged = bytes.clone();
        forged[9..13].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_batch(&forged).is_none());
        // A sender key that is not a curve point.
        let mut off_curve = bytes;
        let last = off_curve.len() - 1;
        off_curve[last] ^= 1;
        assert!(decode_batch(&off_curve).is_none());
        // A bundle message is not a batch.
        let mut bundle_kind = encode_batch(&txs(1), 1);
        bundle_kind[0] = KIND_BUNDLE;
        assert!(decode_batch(&bundle_kind).is_none());
    }

    #[test]
    fn bundle_messages_round_trip_and_malformed_ones_are_refused() {
        let key = SecretKey::random();
        let txs: Vec<Transaction> = (0..3)
            .map(|n| Transaction::sign(1 + n % 2, n, Bytes::from(vec![n as u8; 5]), &key, 1))
            .collect();
        let terms = ordo_types::BundleTerms {
            max_height: 9,
            ..Default::default()
        };
        let bundle = Bundle::new(terms, txs).unwrap();
        for id in [None, Some("7c1f-uuid")] {
            let bytes = encode_bundle(&bundle, id, 5);
            let (decoded, replacement) = decode_bundle(&bytes).unwrap();
            assert_eq!(decoded, bundle);
            assert_eq!(replacement.as_deref(), id);
            assert!(decode_bundle(&bytes[..bytes.len() - 1]).is_none());
            assert!(decode_batch(&bytes).is_none(), "a bundle is not a batch");
        }
        let mut long_id = encode_bundle(&bundle, None, 5);
        long_id[9..13].copy_from_slice(&65u32.to_be_bytes());
        assert!(decode_bundle(&long_id).is_none());
    }

    /// Pins the batch format: a change must fail here and be made on purpose.
    #[test]
    fn golden_batch_encoding() {
        let key = SecretKey::from_bytes(&[0x11; 32]).unwrap();
        let tx = Transaction::sign(3, 9, Bytes::from_static(b"ordo"), &key, 1337);
        let bytes = encode_batch(&[(tx.clone(), key.public_key())], 0x0102);
        let expected_len = 1 + 8 + 4 + 4 + tx_len() + 64;
        assert_eq!(bytes.len(), expected_len);
        assert_eq!(
            hex::encode(&bytes[..17]),
            format!("000000000000000102000000010000{:04x}", tx_len())
        );
        assert_eq!(&bytes[17..17 + tx_len()], tx.encode().as_slice());
        assert_eq!(&bytes[17 + tx_len()..], key.public_key().to_xy().as_slice());
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
