//! Decryption shares: each key holder's signature shares over the identities of a decided
//! block, their check, and their combination into the identities' decryption keys.

use crate::scheme::{DecryptionKey, Variant, KEY_NAMESPACE};
use alloy_primitives::B256;
use commonware_cryptography::bls12381::primitives::group::{Share, G1};
use commonware_cryptography::bls12381::primitives::ops;
use commonware_cryptography::bls12381::primitives::sharing::Sharing;
use commonware_cryptography::bls12381::primitives::variant::PartialSignature;
use commonware_parallel::Sequential;
use commonware_utils::iter::NonEmpty;
use commonware_utils::Participant;
use rand_core_010::CryptoRng;

/// The committee's public sharing of an epoch key: its public key and the public key of every
/// share, from which any share can be checked.
pub type PublicSharing = Sharing<Variant>;

/// One key holder's shares over a list of identities, in the list's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shares {
    /// The share index (its slot in the key generation).
    pub index: u32,
    /// One G1 point per identity.
    pub points: Vec<G1>,
}

/// Signs each identity with `share`.
pub fn sign_shares(share: &Share, identities: &[B256]) -> Shares {
    Shares {
        index: share.index.get(),
        points: identities
            .iter()
            .map(|id| {
                ops::threshold::sign_message::<Variant>(share, KEY_NAMESPACE, id.as_slice()).value
            })
            .collect(),
    }
}

/// Whether `shares` holds, for every identity, a valid share of key holder `shares.index`
/// (one batched pairing check; an empty list is valid).
pub fn verify_shares(
    rng: &mut impl CryptoRng,
    sharing: &PublicSharing,
    identities: &[B256],
    shares: &Shares,
) -> bool {
    if shares.points.len() != identities.len() {
        return false;
    }
    let index = Participant::new(shares.index);
    let entries: Vec<(&[u8], &[u8], PartialSignature<Variant>)> = identities
        .iter()
        .zip(&shares.points)
        .map(|(id, point)| {
            (
                KEY_NAMESPACE,
                id.as_slice(),
                PartialSignature {
                    index,
                    value: *point,
                },
            )
        })
        .collect();
    let Some(entries) = NonEmpty::try_new(entries.iter()) else {
        return true;
    };
    ops::threshold::batch_verify_same_signer::<_, Variant, _>(
        rng,
        sharing,
        index,
        entries,
        &Sequential,
    )
    .is_ok()
}

/// Combines checked shares from at least the threshold of key holders into each identity's
/// decryption key. `None` if there are too few holders or the shares do not line up.
pub fn combine(sharing: &PublicSharing, holders: &[&Shares]) -> Option<Vec<DecryptionKey>> {
    let count = holders.first()?.points.len();
    if holders.iter().any(|h| h.points.len() != count) {
        return None;
    }
    let per_identity: Vec<Vec<PartialSignature<Variant>>> = (0..count)
        .map(|i| {
            holders
                .iter()
                .map(|h| PartialSignature {
                    index: Participant::new(h.index),
                    value: h.points[i],
                })
                .collect()
        })
        .collect();
    if count == 0 {
        return Some(Vec::new());
    }
    let keys = ops::threshold::recover_multiple::<Variant, _>(
        sharing,
        per_identity.iter().collect(),
        &Sequential,
    )
    .ok()?;
    Some(keys.into_iter().map(DecryptionKey).collect())
}

/// Whether every key is the decryption key of its identity under the epoch's public key (one
/// batched pairing check). This is what a rollup or light client runs on the keys a block
/// commits, without any share.
pub fn verify_keys(
    rng: &mut impl CryptoRng,
    public: &<Variant as commonware_cryptography::bls12381::primitives::variant::Variant>::Public,
    identities: &[B256],
    keys: &[DecryptionKey],
) -> bool {
    if keys.len() != identities.len() {
        return false;
    }
    let entries: Vec<(&[u8], &[u8], G1)> = identities
        .iter()
        .zip(keys)
        .map(|(id, key)| (KEY_NAMESPACE, id.as_slice(), key.0))
        .collect();
    let Some(entries) = NonEmpty::try_new(entries.into_iter()) else {
        return true;
    };
    ops::batch::verify_same_signer::<_, Variant, _>(rng, public, entries, &Sequential).is_ok()
}
