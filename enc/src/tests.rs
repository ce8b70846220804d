#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use alloy_primitives::{Address, B256};
use commonware_cryptography::bls12381::primitives::group::Share;
use ordo_types::Sealed;
use rand_010::rngs::StdRng;
use rand_010::SeedableRng;

/// A trusted dealer's sharing, for these unit tests only (nodes run the key generation).
fn dealt(n: u32) -> (PublicSharing, Vec<Share>, EncryptionKey) {
    let (sharing, shares) = deal(&mut StdRng::seed_from_u64(n.into()), n);
    let key = EncryptionKey {
        key_id: 1,
        public: *sharing.public(),
    };
    (sharing, shares, key)
}

fn to(nonce: u64) -> Recipient {
    Recipient {
        chain_id: 7,
        namespace: 42,
        sender: Address::repeat_byte(0xaa),
        nonce,
    }
}

fn keys_for(sharing: &PublicSharing, shares: &[Share], ids: &[B256]) -> Vec<DecryptionKey> {
    let ids = Identities::hash(ids);
    let signed: Vec<Shares> = shares.iter().map(|s| sign_shares(s, &ids)).collect();
    combine(
        sharing,
        &signed
            .iter()
            .take(sharing.required() as usize)
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

#[test]
fn a_sealed_payload_opens_with_its_identitys_key_and_with_no_other() {
    let (sharing, shares, key) = dealt(4);
    let mut rng = StdRng::seed_from_u64(1);
    let payloads: [&[u8]; 3] = [b"", b"swap 10 ETH for USDC", &[0xff; 1000]];
    let sealed: Vec<Sealed> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| seal(&mut rng, &key, &to(i as u64), p).unwrap())
        .collect();
    let ids: Vec<B256> = sealed
        .iter()
        .enumerate()
        .map(|(i, s)| identity_of(s, &to(i as u64)))
        .collect();
    let keys = keys_for(&sharing, &shares, &ids);
    assert!(verify_keys(
        &mut rng,
        sharing.public(),
        &Identities::hash(&ids),
        &keys
    ));
    for (i, s) in sealed.iter().enumerate() {
        check_kem(s).unwrap();
        assert_eq!(open(&keys[i], s).unwrap().as_ref(), payloads[i]);
        // Another transaction's key opens nothing.
        assert_eq!(open(&keys[(i + 1) % 3], s), Err(Undecryptable::Kem));
    }
    // Padding hides the size within a bucket: the two small payloads look alike.
    assert_eq!(sealed[0].dem.len(), sealed[1].dem.len());
    assert_eq!(sealed[2].bucket, 10);
}

#[test]
fn any_threshold_of_holders_recovers_the_same_keys_and_fewer_recover_nothing() {
    let (sharing, shares, _) = dealt(4);
    let ids: Vec<B256> = (0..3u8).map(B256::repeat_byte).collect();
    let hashed = Identities::hash(&ids);
    let signed: Vec<Shares> = shares.iter().map(|s| sign_shares(s, &hashed)).collect();
    assert_eq!(sharing.required(), 3);
    let a = combine(&sharing, &[&signed[0], &signed[1], &signed[2]]).unwrap();
    let b = combine(&sharing, &[&signed[3], &signed[1], &signed[0]]).unwrap();
    assert_eq!(a, b);
    assert!(combine(&sharing, &[&signed[0], &signed[1]]).is_none());
}

#[test]
fn bad_shares_and_bad_keys_are_caught() {
    let (sharing, shares, _) = dealt(4);
    let mut rng = StdRng::seed_from_u64(2);
    let ids: Vec<B256> = (0..4u8).map(B256::repeat_byte).collect();
    let ids_hashed = Identities::hash(&ids);
    let good = sign_shares(&shares[1], &ids_hashed);
    assert!(verify_shares(&mut rng, &sharing, &ids_hashed, &good));
    // Shares claimed by another holder, shares over other identities, a short list.
    let mut wrong_holder = good.clone();
    wrong_holder.index = shares[2].index.get();
    assert!(!verify_shares(
        &mut rng,
        &sharing,
        &ids_hashed,
        &wrong_holder
    ));
    let mut swapped = good.clone();
    swapped.points.swap(0, 1);
    assert!(!verify_shares(&mut rng, &sharing, &ids_hashed, &swapped));
    let mut short = good.clone();
    short.points.pop();
    assert!(!verify_shares(&mut rng, &sharing, &ids_hashed, &short));

    let mut keys = keys_for(&sharing, &shares, &ids);
    assert!(verify_keys(
        &mut rng,
        sharing.public(),
        &Identities::hash(&ids),
        &keys
    ));
    keys.swap(2, 3);
    assert!(!verify_keys(&mut rng, sharing.public(), &ids_hashed, &keys));
}

#[test]
fn tampering_with_any_part_fails_to_open_as_such() {
    let (sharing, shares, key) = dealt(4);
    let mut rng = StdRng::seed_from_u64(3);
    let s = seal(&mut rng, &key, &to(0), b"payload").unwrap();
    let id = identity_of(&s, &to(0));
    let k = keys_for(&sharing, &shares, &[id])[0];
    assert_eq!(open(&k, &s).unwrap().as_ref(), b"payload");

    let mut kem = s.clone();
    kem.kem[150] ^= 1;
    assert_eq!(open(&k, &kem), Err(Undecryptable::Kem));
    let mut point = s.clone();
    point.kem[5] ^= 1;
    assert!(check_kem(&point).is_err());
    assert_eq!(open(&k, &point), Err(Undecryptable::Kem));
    let mut dem = s.clone();
    let mut bytes = dem.dem.to_vec();
    bytes[0] ^= 1;
    dem.dem = bytes.into();
    assert_eq!(open(&k, &dem), Err(Undecryptable::Dem));
    // Another sender wrapping the same ciphertext has another identity, whose key opens nothing.
    let thief = Recipient {
        sender: Address::repeat_byte(0xbb),
        ..to(0)
    };
    let thief_key = keys_for(&sharing, &shares, &[identity_of(&s, &thief)])[0];
    assert_eq!(open(&thief_key, &s), Err(Undecryptable::Kem));
}

#[test]
fn keys_round_trip_through_bytes_and_refuse_non_points() {
    let (sharing, shares, key) = dealt(4);
    let again = EncryptionKey::from_bytes(1, &key.public_bytes()).unwrap();
    assert_eq!(again, key);
    assert_eq!(
        EncryptionKey::from_bytes(1, &[0u8; PUBLIC_KEY_LEN]),
        Err(EncError::InvalidPublicKey)
    );
    let k = keys_for(&sharing, &shares, &[B256::ZERO])[0];
    assert_eq!(DecryptionKey::from_bytes(&k.to_bytes()).unwrap(), k);
    assert!(DecryptionKey::from_bytes(&[0xff; DECRYPTION_KEY_LEN]).is_err());
    assert!(DecryptionKey::from_bytes(&[1; 3]).is_err());
}

/// The shares and the batched checks over hashes computed once agree with commonware's own
/// threshold signing and its per-signature verification.
#[test]
fn shares_are_commonwares_partial_signatures() {
    use commonware_cryptography::bls12381::primitives::ops::threshold;
    let (sharing, shares, _) = dealt(4);
    let ids: Vec<B256> = (0..5u8).map(B256::repeat_byte).collect();
    let hashed = Identities::hash(&ids);
    for share in &shares {
        let mine = sign_shares(share, &hashed);
        for (id, point) in ids.iter().zip(&mine.points) {
            let theirs = threshold::sign_message::<Variant>(share, KEY_NAMESPACE, id.as_slice());
            assert_eq!(theirs.value, *point);
            threshold::verify_message::<Variant>(&sharing, KEY_NAMESPACE, id.as_slice(), &theirs)
                .unwrap();
        }
    }
    // A single wrong share among many fails the batched check; commonware's check agrees.
    let mut rng = StdRng::seed_from_u64(4);
    let mut bad = sign_shares(&shares[0], &hashed);
    bad.points[3] = sign_shares(&shares[1], &hashed).points[3];
    assert!(!verify_shares(&mut rng, &sharing, &hashed, &bad));
    let partial = commonware_cryptography::bls12381::primitives::variant::PartialSignature {
        index: shares[0].index,
        value: bad.points[3],
    };
    assert!(threshold::verify_message::<Variant>(
        &sharing,
        KEY_NAMESPACE,
        ids[3].as_slice(),
        &partial
    )
    .is_err());
}

mod dkg {
    use super::*;
    use crate::dkg::{
        key_slots, observe, slot_ranges, slot_signers, Member, Round, SignedLog, MAX_SLOTS,
    };
    use commonware_cryptography::Signer as _;

    /// What a validator holds after a key generation: the public sharing and its shares.
    type Held = Option<(PublicSharing, Vec<Share>)>;

    /// Runs a key generation in memory among validators with `powers`, those in `absent`
    /// taking no part: each present validator's public sharing and shares, and an observer's.
    fn generate(
        powers: &[u64],
        absent: &[usize],
        seed: u64,
    ) -> (Result<PublicSharing, crate::dkg::DkgError>, Vec<Held>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let slots = key_slots(powers);
        let signers: Vec<_> = slots
            .iter()
            .enumerate()
            .map(|(i, n)| slot_signers(&[i as u8 + 1; 32], 9, *n))
            .collect();
        let round = Round::new(9, signers.iter().flatten().map(|s| s.public_key())).unwrap();
        let mut members: Vec<Option<Member>> = Vec::new();
        let mut dealings = Vec::new();
        for (i, mine) in signers.iter().enumerate() {
            if absent.contains(&i) {
                members.push(None);
                continue;
            }
            let (member, d) = Member::start(&mut rng, &round, mine).unwrap();
            members.push(Some(member));
            dealings.extend(d);
        }
        let mut acks = Vec::new();
        for dealing in &dealings {
            for (player, private) in &dealing.private {
                for member in members.iter_mut().flatten() {
                    acks.extend(member.receive_dealing(
                        &dealing.dealer,
                        &dealing.public,
                        player,
                        private,
                    ));
                }
            }
        }
        for ack in &acks {
            for member in members.iter_mut().flatten() {
                member.receive_ack(ack);
            }
        }
        let logs: Vec<SignedLog> = members
            .iter_mut()
            .flatten()
            .flat_map(Member::logs)
            .collect();
        let observed = observe(&mut rng, &round, &logs);
        let results = members
            .into_iter()
            .map(|m| m.and_then(|m| m.finish(&mut rng, &logs).ok()))
            .collect();
        (observed, results)
    }

    /// Seals to the generated key, then combines the shares of `holders` (by validator).
    fn opens_with(public: &PublicSharing, results: &[Held], holders: &[usize]) -> bool {
        let mut rng = StdRng::seed_from_u64(5);
        let key = EncryptionKey {
            key_id: 9,
            public: *public.public(),
        };
        let sealed = seal(&mut rng, &key, &to(0), b"hidden until decided").unwrap();
        let ids = Identities::hash(&[identity_of(&sealed, &to(0))]);
        let shares: Vec<Shares> = holders
            .iter()
            .flat_map(|h| results[*h].as_ref().unwrap().1.iter())
            .map(|s| sign_shares(s, &ids))
            .collect();
        for s in &shares {
            assert!(verify_shares(&mut rng, public, &ids, s));
        }
        let Some(keys) = combine(public, &shares.iter().collect::<Vec<_>>()) else {
            return false;
        };
        open(&keys[0], &sealed).is_ok_and(|p| p.as_ref() == b"hidden until decided")
    }

    #[test]
    fn slots_are_the_powers_when_small_and_apportioned_when_large() {
        assert_eq!(key_slots(&[1, 1, 1, 1]), [1, 1, 1, 1]);
        assert_eq!(key_slots(&[3, 1, 1, 1]), [3, 1, 1, 1]);
        assert_eq!(key_slots(&[100, 100, 100, 100]), [1, 1, 1, 1]);
        assert_eq!(key_slots(&[300, 100, 200]), [3, 1, 2]);
        assert_eq!(slot_ranges(&[300, 100, 200]), [0..3, 3..4, 4..6]);
        let big = key_slots(&[10_000_000_000, 5_000_000_000, 5_000_000_000, 1]);
        assert_eq!(big.iter().sum::<u32>(), MAX_SLOTS);
        assert_eq!(big, [32, 16, 16, 0]);
        let even = key_slots(&[u64::MAX / 4, u64::MAX / 4 - 1, u64::MAX / 4 - 2]);
        assert_eq!(even, [22, 21, 21]);
    }

    #[test]
    fn the_committee_generates_a_key_nobody_holds_and_its_quorum_opens() {
        let (observed, results) = generate(&[1, 1, 1, 1], &[], 1);
        let public = observed.unwrap();
        for r in &results {
            assert_eq!(
                &r.as_ref().unwrap().0,
                &public,
                "every member computes the observer's key"
            );
        }
        assert_eq!(public.required(), 3);
        assert!(opens_with(&public, &results, &[0, 1, 2]));
        assert!(opens_with(&public, &results, &[1, 3, 2]));
        assert!(!opens_with(&public, &results, &[0, 3]));
        // Another run (other randomness) yields another key.
        let (again, _) = generate(&[1, 1, 1, 1], &[], 2);
        assert_ne!(again.unwrap().public(), public.public());
    }

    #[test]
    fn the_threshold_follows_voting_power() {
        // Six slots, threshold five: validator 0 with half the power and one other hold four
        // (2/3 of the power, not more) and open nothing; any third validator completes it.
        let (observed, results) = generate(&[3, 1, 1, 1], &[], 3);
        let public = observed.unwrap();
        assert_eq!(public.required(), 5);
        assert!(!opens_with(&public, &results, &[0, 1]));
        assert!(opens_with(&public, &results, &[0, 1, 2]));
        assert!(!opens_with(&public, &results, &[1, 2, 3]));
    }

    /// A share that does not match its dealer's commitment, or comes from a stranger, gets
    /// no acknowledgement; a good one does, once.
    #[test]
    fn a_bad_or_foreign_dealing_is_not_acknowledged() {
        let mut rng = StdRng::seed_from_u64(8);
        let signers: Vec<_> = (0..4u8).map(|i| slot_signers(&[i + 1; 32], 9, 1)).collect();
        let round = Round::new(9, signers.iter().flatten().map(|s| s.public_key())).unwrap();
        let (mut player, _) = Member::start(&mut rng, &round, &signers[0]).unwrap();
        let (_, from_a) = Member::start(&mut rng, &round, &signers[1]).unwrap();
        let (_, from_b) = Member::start(&mut rng, &round, &signers[2]).unwrap();
        let me = signers[0][0].public_key();
        let share = |d: &crate::dkg::Dealing| {
            d.private
                .iter()
                .find(|(p, _)| *p == me)
                .map(|(_, s)| s.clone())
                .unwrap()
        };
        let (a, b) = (&from_a[0], &from_b[0]);
        // B's share presented as A's: it does not match A's commitment.
        assert!(player
            .receive_dealing(&a.dealer, &a.public, &me, &share(b))
            .is_none());
        // A dealer outside the round.
        let stranger = slot_signers(&[9; 32], 9, 1)[0].public_key();
        assert!(player
            .receive_dealing(&stranger, &a.public, &me, &share(a))
            .is_none());
        // A player slot this validator does not hold.
        let other = signers[3][0].public_key();
        assert!(player
            .receive_dealing(&a.dealer, &a.public, &other, &share(a))
            .is_none());
        assert!(player
            .receive_dealing(&a.dealer, &a.public, &me, &share(a))
            .is_some());
    }

    #[test]
    fn one_absent_validator_of_four_does_not_stop_it_and_two_do() {
        let (observed, results) = generate(&[1, 1, 1, 1], &[3], 4);
        let public = observed.unwrap();
        assert!(results[3].is_none());
        assert!(opens_with(&public, &results, &[0, 1, 2]));

        let (failed, results) = generate(&[1, 1, 1, 1], &[2, 3], 5);
        assert!(failed.is_err());
        assert!(results.iter().all(Option::is_none));
    }
}

#[test]
fn an_encrypted_transaction_names_its_sender_and_opens_to_its_payload() {
    let (sharing, shares, key) = dealt(4);
    let mut rng = StdRng::seed_from_u64(6);
    let secret = ordo_types::SecretKey::random();
    let tx = encrypt_transaction(&mut rng, &key, 7, 42, 3, b"transfer 5 to bob", &secret).unwrap();
    assert_eq!(tx.recover_sender(7).unwrap(), secret.address());
    assert!(!tx.payload().windows(8).any(|w| w == b"transfer"));
    let sealed = tx.sealed().unwrap();
    let to = Recipient {
        chain_id: 7,
        namespace: 42,
        sender: secret.address(),
        nonce: 3,
    };
    let k = keys_for(&sharing, &shares, &[identity_of(&sealed, &to)])[0];
    assert_eq!(open(&k, &sealed).unwrap().as_ref(), b"transfer 5 to bob");
}

#[test]
fn sharings_and_shares_round_trip_through_bytes_and_garbage_is_refused() {
    let (sharing, shares, _) = dealt(7);
    let bytes = sharing_to_bytes(&sharing);
    assert_eq!(sharing_from_bytes(&bytes).unwrap(), sharing);
    assert_eq!(
        sharing_from_bytes(&bytes[..bytes.len() - 1]),
        Err(EncError::InvalidSharing)
    );
    assert_eq!(
        sharing_from_bytes(&[0xff; 100]),
        Err(EncError::InvalidSharing)
    );
    for share in &shares {
        let bytes = share_to_bytes(share);
        assert_eq!(&share_from_bytes(&bytes).unwrap(), share);
    }
    assert_eq!(share_from_bytes(&[1, 2, 3]), Err(EncError::InvalidShare));
}
