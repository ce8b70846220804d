//! Decryption shares: each key holder's signature shares over the identities of a decided
//! block, their check, and their combination into the identities' decryption keys.

use crate::scheme::{DecryptionKey, EncError, Variant, KEY_NAMESPACE};
use alloy_primitives::B256;
use commonware_codec::{Copying, Decode, DecodeExt, Encode};
use commonware_cryptography::bls12381::primitives::group::{Share, SmallScalar, G1, G2};
use commonware_cryptography::bls12381::primitives::ops;
use commonware_cryptography::bls12381::primitives::sharing::{Mode, ModeVersion, Sharing};
use commonware_cryptography::bls12381::primitives::variant::{
    PartialSignature, Variant as BlsVariant,
};
use commonware_math::algebra::Space;
use commonware_parallel::Sequential;
use commonware_utils::{N3f1, Participant};
use rand_core_010::CryptoRng;

/// The committee's public sharing of an epoch key: its public key and the public key of every
/// share, from which any share can be checked.
pub type PublicSharing = Sharing<Variant>;

/// A key dealt by one party to `slots` share holders, any 2/3 of whom (rounded up, as the
/// consensus quorum) open what is sealed to it: the public sharing and the private shares.
/// For a devnet's genesis and tests, where one party may know every share; a committee's
/// keys come from [`crate::dkg`].
pub fn deal(rng: &mut impl CryptoRng, slots: u32) -> (PublicSharing, Vec<Share>) {
    let slots = std::num::NonZeroU32::new(slots.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    commonware_cryptography::bls12381::dkg::feldman_desmedt::deal_anonymous::<Variant, N3f1>(
        rng,
        Mode::NonZeroCounter,
        slots,
    )
}

/// The bytes of a public sharing, as a genesis file holds them.
pub fn sharing_to_bytes(sharing: &PublicSharing) -> Vec<u8> {
    sharing.encode().to_vec()
}

/// Reads a public sharing of at most [`crate::dkg::MAX_SLOTS`] holders.
pub fn sharing_from_bytes(bytes: &[u8]) -> Result<PublicSharing, EncError> {
    let max = std::num::NonZeroU32::new(crate::dkg::MAX_SLOTS).unwrap_or(std::num::NonZeroU32::MIN);
    PublicSharing::decode_cfg(Copying(bytes), &(max, ModeVersion::v0()))
        .map_err(|_| EncError::InvalidSharing)
}

/// The bytes of a private key share (its index and scalar): secret.
pub fn share_to_bytes(share: &Share) -> Vec<u8> {
    share.encode().to_vec()
}

/// Reads a private key share.
pub fn share_from_bytes(bytes: &[u8]) -> Result<Share, EncError> {
    Share::decode(Copying(bytes)).map_err(|_| EncError::InvalidShare)
}

/// One key holder's shares over a list of identities, in the list's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shares {
    /// The share index (its slot in the key generation).
    pub index: u32,
    /// One G1 point per identity.
    pub points: Vec<G1>,
}

/// The bytes of one key holder's shares list, as a vote extension carries them: for each
/// holder, its index (4 bytes, big-endian) then one 48-byte compressed G1 point per identity.
pub fn shares_to_bytes(holders: &[Shares]) -> Vec<u8> {
    let mut out = Vec::new();
    for h in holders {
        out.extend_from_slice(&h.index.to_be_bytes());
        for p in &h.points {
            out.extend_from_slice(&p.encode());
        }
    }
    out
}

/// Reads [`shares_to_bytes`]' output for `identities` identities: every point must be in G1.
pub fn shares_from_bytes(bytes: &[u8], identities: usize) -> Result<Vec<Shares>, EncError> {
    let each = 4 + identities * crate::DECRYPTION_KEY_LEN;
    if !bytes.len().is_multiple_of(each) {
        return Err(EncError::InvalidShare);
    }
    bytes
        .chunks_exact(each)
        .map(|chunk| {
            let (index, points) = chunk.split_at(4);
            let index = u32::from_be_bytes(index.try_into().map_err(|_| EncError::InvalidShare)?);
            let points = points
                .chunks_exact(crate::DECRYPTION_KEY_LEN)
                .map(|p| G1::decode(Copying(p)).map_err(|_| EncError::InvalidShare))
                .collect::<Result<_, _>>()?;
            Ok(Shares { index, points })
        })
        .collect()
}

/// A block's identities hashed to G1 once: signing a share and checking any number of
/// holders' shares then cost group operations only, not a hash per identity per holder.
#[derive(Debug, Clone)]
pub struct Identities {
    points: Vec<G1>,
}

impl Identities {
    /// Hashes each identity (the BLS message of its decryption key).
    pub fn hash(identities: &[B256]) -> Self {
        Self {
            points: identities
                .iter()
                .map(|id| {
                    ops::hash_with_namespace::<Variant>(
                        <Variant as BlsVariant>::MESSAGE,
                        KEY_NAMESPACE,
                        id.as_slice(),
                    )
                })
                .collect(),
        }
    }

    /// How many identities.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// Signs each identity with `share`.
pub fn sign_shares(share: &Share, identities: &Identities) -> Shares {
    Shares {
        index: share.index.get(),
        points: identities
            .points
            .iter()
            .map(|hm| share.private.expose(|scalar| *hm * scalar))
            .collect(),
    }
}

/// Whether `shares` holds, for every identity, a valid share of key holder `shares.index`
/// (an empty list is valid). One check for the whole list: a random linear combination of the
/// shares against the same combination of the identities, `e(Σ rᵢ·σᵢ, g₂) = e(Σ rᵢ·H(idᵢ),
/// pkⱼ)` with 128-bit `rᵢ`, as commonware's same-signer batch check, over the hashes
/// computed once.
pub fn verify_shares(
    rng: &mut impl CryptoRng,
    sharing: &PublicSharing,
    identities: &Identities,
    shares: &Shares,
) -> bool {
    let Ok(public) = sharing.partial_public(Participant::new(shares.index)) else {
        return false;
    };
    same_signer(rng, &public, identities, &shares.points)
}

/// The batched check of `signatures` over `identities` by one key `public`.
fn same_signer(
    rng: &mut impl CryptoRng,
    public: &G2,
    identities: &Identities,
    signatures: &[G1],
) -> bool {
    if signatures.len() != identities.len() {
        return false;
    }
    if signatures.is_empty() {
        return true;
    }
    let scalars: Vec<SmallScalar> = (0..signatures.len())
        .map(|_| SmallScalar::random(&mut *rng))
        .collect();
    let hm = G1::msm(&identities.points, &scalars, &Sequential);
    let sig = G1::msm(signatures, &scalars, &Sequential);
    Variant::verify(public, &hm, &sig).is_ok()
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
/// batched check). This is what a rollup or light client runs on the keys a block commits,
/// without any share.
pub fn verify_keys(
    rng: &mut impl CryptoRng,
    public: &G2,
    identities: &Identities,
    keys: &[DecryptionKey],
) -> bool {
    let points: Vec<G1> = keys.iter().map(|k| k.0).collect();
    same_signer(rng, public, identities, &points)
}
