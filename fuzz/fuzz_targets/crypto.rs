//! Differential: Ordo's own ECDSA recovery, verification and batch verification
//! (`ordo_types::Signature::recover`, `recover_public_key`, `PublicKey::verify`,
//! `verify_batch`) against libsecp256k1 (the `secp256k1` crate) on valid signatures made with
//! a key from the input and on adversarial ones (random, zero, at or past the group order,
//! high s, bad v, r off the curve). The Ethereum rules on top of libsecp256k1: `v` is 27 or 28
//! and `s <= n/2`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo_fuzz::crypto::{adversarial, parses, reference_recover, reference_sign, N};
use ordo_fuzz::Input;
use ordo_types::{keccak256, verify_batch, Address, Claim, PublicKey, SecretKey, Signature, B256};

/// What Ordo recovers, as `x || y`.
fn ours(digest: &B256, sig: &Signature) -> Option<[u8; 64]> {
    let key = sig.recover_public_key(digest).ok().map(|k| k.to_xy());
    let address = sig.recover(digest).ok();
    assert_eq!(address, key.map(|xy| Address::from_word(keccak256(xy))));
    key
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut claims: Vec<(B256, Signature, PublicKey, bool)> = Vec::new();
    while !input.is_empty() && claims.len() < 6 {
        let mode = input.u8();
        let digest = B256::from(input.array::<32>());
        let secret = input.array::<32>();
        let key = SecretKey::from_bytes(&secret).ok();
        let sig = match (mode % 4, &key) {
            (0 | 1, Some(key)) => {
                // A valid signature: both implementations sign the same (RFC 6979) and recover
                // the signer. For a digest at or past the group order they pick different
                // nonces (RFC 6979 reduces the digest first, libsecp256k1 hashes it as is), so
                // there only each one's signature is checked.
                let sig = key.sign_digest(&digest);
                let theirs = reference_sign(&secret, &digest).expect("a valid key");
                if digest.0 < N {
                    assert_eq!(sig.0, theirs);
                }
                assert_eq!(ours(&digest, &sig), Some(key.public_key().to_xy()));
                assert_eq!(
                    ours(&digest, &Signature(theirs)),
                    Some(key.public_key().to_xy())
                );
                sig
            }
            _ => Signature(adversarial(&mut input, &digest, key.as_ref())),
        };
        let expected = reference_recover(&digest, &sig.0);
        assert_eq!(
            ours(&digest, &sig),
            expected,
            "recovery disagrees for {sig:?}"
        );
        assert_eq!(
            Signature::from_slice(&sig.0).is_ok(),
            parses(&sig.0),
            "encoding rules disagree for {sig:?}"
        );
        // Verification against a key: the signer's, or another.
        if let Some(key) = &key {
            let pk = key.public_key();
            let holds = expected == Some(pk.to_xy());
            assert_eq!(
                pk.verify(&digest, &sig).is_ok(),
                holds,
                "verify disagrees for {sig:?}"
            );
            claims.push((digest, sig, pk, holds));
        }
        if let Some(xy) = expected {
            let pk = PublicKey::from_xy(&xy).expect("a recovered key is a curve point");
            assert!(pk.verify(&digest, &sig).is_ok());
            if mode & 0x80 != 0 {
                claims.push((digest, sig, pk, true));
            }
        }
    }
    // The batch check holds exactly when every claim does (a false batch passes with
    // probability 2^-128).
    let batch: Vec<Claim<'_>> = claims
        .iter()
        .map(|(digest, signature, key, _)| Claim {
            digest,
            signature,
            key,
        })
        .collect();
    let all = claims.iter().all(|c| c.3);
    assert_eq!(verify_batch(&batch), all, "batch verification disagrees");
});
