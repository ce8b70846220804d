//! Keys, committees, headers and certificates built with `ordo-types`.

use alloy::network::EthereumWallet;
use alloy::primitives::B256;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use ordo_types::{
    vote_digest, CommitCertificate, CommitSignature, Header, SecretKey, Validator, ValidatorSet,
    VoteType,
};

/// Deterministic consensus key number `i` (`i >= 1`).
pub(crate) fn key(i: u32) -> SecretKey {
    let mut bytes = [0u8; 32];
    bytes[0] = 0x42;
    bytes[28..].copy_from_slice(&i.to_be_bytes());
    SecretKey::from_bytes(&bytes).expect("valid scalar")
}

/// Keys `first .. first + n`.
pub(crate) fn keys(first: u32, n: u32) -> Vec<SecretKey> {
    (first..first + n).map(key).collect()
}

/// The validator set of `keys` with the given powers (same order as `keys`).
pub(crate) fn set_with_powers(keys: &[SecretKey], powers: &[u64]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .zip(powers)
            .map(|(k, p)| Validator::new(k.public_key(), *p))
            .collect(),
    )
    .expect("valid set")
}

/// The validator set of `keys`, all with power `power`.
pub(crate) fn set_of(keys: &[SecretKey], power: u64) -> ValidatorSet {
    set_with_powers(keys, &vec![power; keys.len()])
}

/// A version-1 header at `height` decided by `set`, naming `next` as the next set.
pub(crate) fn header(
    chain_id: u64,
    height: u64,
    set: &ValidatorSet,
    next: &ValidatorSet,
) -> Header {
    Header {
        chain_id,
        height,
        epoch: 3,
        timestamp_ms: 1_750_000_000_000 + height,
        parent_hash: B256::repeat_byte(0x11),
        proposer: set.validators()[0].address,
        namespace_root: B256::repeat_byte(0x22),
        tx_count: 5,
        validators_hash: set.hash(),
        next_validators_hash: next.hash(),
        l1_origin_number: 12,
        l1_origin_hash: B256::repeat_byte(0x33),
        inbox_cursor: 2,
        bundle_root: B256::repeat_byte(0x66),
        encryption_key_hash: B256::ZERO,
    }
}

/// A commit certificate for `block_hash` signed by the members of `set` whose keys are in
/// `signers` (any order; the certificate sorts them by address).
pub(crate) fn certificate(
    chain_id: u64,
    height: u64,
    round: u32,
    block_hash: B256,
    signers: &[&SecretKey],
) -> CommitCertificate {
    let digest = vote_digest(
        chain_id,
        height,
        round,
        VoteType::Precommit,
        Some(block_hash),
    );
    let mut signatures: Vec<CommitSignature> = signers
        .iter()
        .map(|k| CommitSignature {
            signer: k.address(),
            signature: k.sign_digest(&digest),
        })
        .collect();
    signatures.sort_by_key(|s| s.signer);
    CommitCertificate {
        height,
        round,
        block_hash,
        signatures,
    }
}

/// The keys of `keys` sorted the way the set orders its members (by address).
pub(crate) fn by_address(keys: &[SecretKey]) -> Vec<&SecretKey> {
    let mut sorted: Vec<&SecretKey> = keys.iter().collect();
    sorted.sort_by_key(|k| k.address());
    sorted
}

/// A provider for `endpoint` that signs with `signer`.
pub(crate) fn wallet_provider(endpoint: &str, signer: PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(endpoint.parse().expect("anvil endpoint"))
        .erased()
}
