//! Ordo's encrypted lane: threshold identity-based encryption to the committee.
//!
//! A client seals a transaction's payload to its own identity ([`seal`], the identity rule in
//! [`ordo_types::identity`]) under the epoch's [`EncryptionKey`]. Nobody holds that key's secret:
//! the committee generates it together ([`dkg`]), each member keeping a share. Once a block is
//! decided, each member signs the identities of the block's encrypted transactions with its
//! share ([`sign_shares`]); shares from more than two thirds of the voting power combine
//! ([`combine`]) into each identity's [`DecryptionKey`], which anyone can check against the
//! epoch key ([`verify_keys`]) and which opens that transaction's payload and nothing else
//! ([`open`]).
//!
//! The design, its choices and the measured costs are in `docs/ENCRYPTION.md`; the byte
//! formats in `docs/FORMATS.md`.

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

pub mod dkg;
mod scheme;
mod shares;
mod to_key;

/// A key holder's private share (its index and secret scalar).
pub use commonware_cryptography::bls12381::primitives::group::Share;
pub use scheme::{
    check_kem, encrypt_transaction, identity_of, open, seal, DecryptionKey, EncError,
    EncryptionKey, Recipient, Undecryptable, Variant, DECRYPTION_KEY_LEN, KEY_NAMESPACE,
    PUBLIC_KEY_LEN,
};
pub use shares::{
    combine, deal, share_from_bytes, share_to_bytes, shares_from_bytes, shares_to_bytes,
    sharing_from_bytes, sharing_to_bytes, sign_shares, verify_keys, verify_shares, Identities,
    PublicSharing, Shares,
};

pub use to_key::{open_with_key, seal_to_key, seal_with};

#[cfg(test)]
mod tests;
