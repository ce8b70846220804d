//! The encrypted lane's primitives on this machine: `make bench-encryption`, or
//! `cargo run --release -p ordo-enc --example bench -- [validators] [transactions]`.
//!
//! Prints per-transaction costs, and each as a multiple of one secp256k1 sender recovery
//! measured in the same run (the machine's speed moves by a third from run to run; the
//! ratios move less). The sharing here comes from a trusted dealer: only the per-transaction
//! work is measured, not the key generation.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    unused_crate_dependencies
)]

use alloy_primitives::{Address, B256};
use commonware_cryptography::bls12381::dkg::feldman_desmedt::deal_anonymous;
use commonware_cryptography::bls12381::primitives::sharing::Mode;
use commonware_utils::N3f1;
use ordo_enc::{
    check_kem, combine, identity_of, open, seal, sign_shares, verify_keys, verify_shares,
    EncryptionKey, Identities, Recipient, Shares, Variant,
};
use ordo_types::{keccak256, SecretKey};
use rand_010::rngs::StdRng;
use rand_010::SeedableRng;
use std::num::NonZeroU32;
use std::time::Instant;

/// Microseconds per item of `f`, run once over `items` items.
fn per_item(items: usize, f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e6 / items as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let validators: u32 = args.next().map_or(4, |a| a.parse().expect("validators"));
    let count: usize = args
        .next()
        .map_or(500, |a| a.parse().expect("transactions"));
    let mut rng = StdRng::seed_from_u64(7);

    // The baseline: secp256k1 sender recovery, as the mempool does for every transaction.
    let secret = SecretKey::random();
    let digests: Vec<B256> = (0..count as u64)
        .map(|i| keccak256(i.to_be_bytes()))
        .collect();
    let signatures: Vec<_> = digests.iter().map(|d| secret.sign_digest(d)).collect();
    let recover = per_item(count, || {
        for (d, s) in digests.iter().zip(&signatures) {
            s.recover(d).unwrap();
        }
    });

    let n = NonZeroU32::new(validators).expect("at least one validator");
    let (sharing, shares) = deal_anonymous::<Variant, N3f1>(&mut rng, Mode::NonZeroCounter, n);
    let key = EncryptionKey {
        key_id: 1,
        public: *sharing.public(),
    };
    let payload = [0x42u8; 200];
    let to = |nonce| Recipient {
        chain_id: 1,
        namespace: 7,
        sender: Address::repeat_byte(1),
        nonce,
    };

    let mut sealed = Vec::with_capacity(count);
    let seal_us = per_item(count, || {
        for i in 0..count {
            sealed.push(seal(&mut rng, &key, &to(i as u64), &payload).unwrap());
        }
    });
    let ids: Vec<B256> = sealed
        .iter()
        .enumerate()
        .map(|(i, s)| identity_of(s, &to(i as u64)))
        .collect();
    let check_us = per_item(count, || {
        for s in &sealed {
            check_kem(s).unwrap();
        }
    });
    let mut hashed = Identities::hash(&[]);
    let hash_us = per_item(count, || hashed = Identities::hash(&ids));
    let mut signed: Vec<Shares> = Vec::new();
    let sign_us = per_item(count * shares.len(), || {
        signed = shares.iter().map(|s| sign_shares(s, &hashed)).collect();
    });
    let verify_us = per_item(count * (shares.len() - 1), || {
        for holder in &signed[1..] {
            assert!(verify_shares(&mut rng, &sharing, &hashed, holder));
        }
    });
    let quorum: Vec<&Shares> = signed.iter().take(sharing.required() as usize).collect();
    let mut keys = Vec::new();
    let combine_us = per_item(count, || keys = combine(&sharing, &quorum).unwrap());
    let verify_keys_us = per_item(count, || {
        assert!(verify_keys(&mut rng, sharing.public(), &hashed, &keys))
    });
    let open_us = per_item(count, || {
        for (k, s) in keys.iter().zip(&sealed) {
            open(k, s).unwrap();
        }
    });

    // A validator, per encrypted transaction: the envelope check, the identity's hash, its
    // own share, and the check of every other validator's shares that arrive with the votes.
    let validator_us = check_us + hash_us + sign_us + verify_us * f64::from(validators - 1);
    // After the deciding block: combine, check the keys, open, on one core.
    let after_decision_ms = (hash_us + combine_us + verify_keys_us + open_us) * count as f64 / 1e3;
    let row =
        |name: &str, us: f64| println!("{name:<44} {us:>9.1} us  {:>6.2} x recovery", us / recover);
    println!("ordo-enc primitives: {validators} validators (threshold {}), {count} transactions, 200-byte payloads", sharing.required());
    row("secp256k1 sender recovery (baseline)", recover);
    row("seal (client)", seal_us);
    row("envelope check (kem parses)", check_us);
    row("hash an identity (once per block)", hash_us);
    row("sign one share", sign_us);
    row("check one holder's share (batched)", verify_us);
    row("combine a key from the threshold", combine_us);
    row("check a combined key (batched)", verify_keys_us);
    row("open", open_us);
    row("validator CPU per encrypted tx", validator_us);
    println!(
        "decryptions per second per core (combine, check, open): {:.0}",
        1e6 / (combine_us + verify_keys_us + open_us)
    );
    println!("plaintext of {count} transactions after the deciding block, one core: {after_decision_ms:.1} ms");
}
