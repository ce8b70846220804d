//! Senders a proposer claims for its block's transactions, and how a validator checks them:
//! the proposal stream's `Keys` part (see `docs/FORMATS.md`).

use ordo_types::{PublicKey, Transaction};

use crate::Mempool;

/// Bytes of one claimed sender key (`x || y`).
pub const CLAIMED_KEY_LEN: usize = 64;

impl Mempool {
    /// A proposer's claimed keys for its block's signed transactions `txs`: one per
    /// transaction, from the verified senders; none if one is not known.
    pub fn claimed_keys(&self, txs: &[&Transaction]) -> Vec<u8> {
        let mut keys = Vec::with_capacity(txs.len() * CLAIMED_KEY_LEN);
        for tx in txs {
            let Some(key) = self.verified_key(tx) else {
                return Vec::new();
            };
            keys.extend_from_slice(&key.to_xy());
        }
        keys
    }

    /// Verifies the senders of a proposal's signed transactions `txs` that this node has not
    /// verified yet (they reached the proposer before their gossip reached us), on every core:
    /// with the proposer's claimed `keys` in batches, and where those are missing or false, by
    /// recovering each one. Checking the block then finds them all in the cache; under load
    /// that is most of a large block, and recovering it serially could outlast the propose
    /// timeout. False keys cost time, never a wrong sender.
    pub fn warm_senders(&self, txs: &[&Transaction], keys: &[u8]) {
        let claimed: Option<Vec<PublicKey>> = (keys.len() == txs.len() * CLAIMED_KEY_LEN)
            .then(|| {
                keys.as_chunks::<CLAIMED_KEY_LEN>()
                    .0
                    .iter()
                    .map(|k| PublicKey::from_xy(k).ok())
                    .collect()
            })
            .flatten();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let part_len = txs.len().div_ceil(threads).max(64);
        std::thread::scope(|s| {
            for (i, part) in txs.chunks(part_len).enumerate() {
                let keys = claimed
                    .as_ref()
                    .map(|k| &k[i * part_len..i * part_len + part.len()]);
                s.spawn(move || {
                    if let Some(keys) = keys {
                        let claims: Vec<_> = part
                            .iter()
                            .map(|t| (*t).clone())
                            .zip(keys.iter().copied())
                            .collect();
                        if self.verify_claimed_senders(&claims) {
                            return;
                        }
                    }
                    for tx in part {
                        let _ = self.sender(tx);
                    }
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{MempoolConfig, Origin};
    use ordo_chain::{Admission, NonceTable};
    use ordo_types::SecretKey;

    fn pool() -> Mempool {
        let admission = Admission::new(7, ordo_rollup_adapters::Rollups::raw([1]));
        Mempool::in_memory(
            admission,
            MempoolConfig::default(),
            std::sync::Arc::new(NonceTable::default()),
        )
    }

    #[test]
    fn a_validator_batch_checks_the_proposers_claimed_keys_and_recovers_only_without_them() {
        let txs: Vec<Transaction> = (0..300)
            .map(|i| {
                let payload = ordo_types::Bytes::from(vec![i as u8; 8]);
                Transaction::sign(1, 0, payload, &SecretKey::random(), 7)
            })
            .collect();
        let refs: Vec<&Transaction> = txs.iter().collect();
        let proposer = pool();
        assert!(proposer
            .submit(txs.clone(), Origin::Local)
            .iter()
            .all(Result::is_ok));
        let keys = proposer.claimed_keys(&refs);
        assert_eq!(keys.len(), txs.len() * CLAIMED_KEY_LEN);

        // With the keys: every sender batch-checked, none recovered.
        let validator = pool();
        validator.warm_senders(&refs, &keys);
        let m = validator.metrics();
        assert_eq!(
            (m.signatures_batch_verified(), m.signatures_recovered()),
            (300, 0)
        );
        assert!(txs.iter().all(|t| validator.verified_key(t).is_some()));

        // False keys (one swapped): the batch fails and that part's senders are recovered.
        let mut forged = keys.clone();
        forged.copy_within(0..CLAIMED_KEY_LEN, CLAIMED_KEY_LEN);
        let validator = pool();
        validator.warm_senders(&refs, &forged);
        let m = validator.metrics();
        assert!(m.signatures_recovered() > 0);
        assert_eq!(
            m.signatures_batch_verified() + m.signatures_recovered(),
            300
        );
        assert_eq!(
            validator.sender(&txs[1]).unwrap(),
            proposer.sender(&txs[1]).unwrap()
        );

        // No keys, not one per transaction, or not curve points: every sender recovered.
        let off_curve = vec![0u8; keys.len()];
        for keys in [&[][..], &keys[CLAIMED_KEY_LEN..], &off_curve[..]] {
            let validator = pool();
            validator.warm_senders(&refs, keys);
            assert_eq!(validator.metrics().signatures_recovered(), 300);
        }

        // A proposer missing a key sends none.
        assert!(pool().claimed_keys(&refs).is_empty());
    }
}
