//! The verifier checks the openings a node serves with a slice: every encrypted entry opened
//! once, with its own identity's key under the epoch key, to what that key opens; and orders
//! the opened ones by a rank fixed only by the decided block.

use ordo_enc::{encrypt_transaction, DecryptionKey, EncryptionKey, Identities, Share};
use ordo_rollup_adapters::{ClientError, Delivered, NamespaceBlock, Verifier};
use ordo_types::{
    keccak256, Bytes, Entry, NamespaceEntries, OpenFailure, Opened, OpenedEntry, SecretKey,
};
use rand_010::SeedableRng;

use crate::fixture::{signed, Chain, CHAIN_ID};

const NS: u64 = 5;

struct Setup {
    chain: Chain,
    key: EncryptionKey,
    shares: Vec<Share>,
    sharing: ordo_enc::PublicSharing,
    sender: SecretKey,
}

/// A block with, in namespace 5: two encrypted transactions, a plaintext one, and an
/// encrypted one whose payload was altered after sealing.
fn setup() -> Setup {
    let mut rng = rand_010::rngs::StdRng::seed_from_u64(3);
    let (sharing, shares) = ordo_enc::deal(&mut rng, 4);
    let key = EncryptionKey {
        key_id: 1,
        public: *sharing.public(),
    };
    let sender = SecretKey::random();
    let seal = |rng: &mut rand_010::rngs::StdRng, nonce, payload: &[u8]| {
        encrypt_transaction(rng, &key, CHAIN_ID, NS, nonce, payload, &sender).unwrap()
    };
    let first = seal(&mut rng, 0, b"first");
    let second = seal(&mut rng, 1, b"second");
    let altered = {
        let mut sealed = seal(&mut rng, 2, b"altered").sealed().unwrap();
        let mut dem = sealed.dem.to_vec();
        dem[0] ^= 1;
        sealed.dem = dem.into();
        ordo_types::Transaction::sign_encrypted(NS, 2, &sealed, &sender, CHAIN_ID)
    };
    let mut chain = Chain::new(4);
    chain.encryption_key_hash = key.commitment();
    chain.push(vec![NamespaceEntries {
        namespace: NS,
        entries: vec![
            Entry::Signed(first),
            Entry::Signed(second),
            signed(NS, 0, b"plain"),
            Entry::Signed(altered),
        ],
    }]);
    Setup {
        chain,
        key,
        shares,
        sharing,
        sender,
    }
}

/// The honest slice: each encrypted entry opened with the key three of four holders release.
fn honest(s: &Setup) -> NamespaceBlock {
    let mut slice = s.chain.slice(NS, 1);
    let encrypted: Vec<(usize, ordo_types::Sealed, u64)> = slice
        .transactions
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Entry::Signed(tx) => tx.sealed().map(|sealed| (i, sealed, tx.nonce())),
            Entry::Forced(_) => None,
        })
        .collect();
    let identities: Vec<_> = encrypted
        .iter()
        .map(|(_, sealed, nonce)| sealed.identity(CHAIN_ID, NS, s.sender.address(), *nonce))
        .collect();
    let ids = Identities::hash(&identities);
    let signed: Vec<_> = s.shares[..3]
        .iter()
        .map(|share| ordo_enc::sign_shares(share, &ids))
        .collect();
    let keys = ordo_enc::combine(&s.sharing, &signed.iter().collect::<Vec<_>>()).unwrap();
    slice.opened = encrypted
        .iter()
        .zip(identities)
        .zip(keys)
        .map(|(((index, sealed, _), identity), key)| OpenedEntry {
            namespace: NS,
            index: u32::try_from(*index).unwrap(),
            identity,
            key: key.to_bytes().to_vec().into(),
            outcome: match ordo_enc::open(&key, sealed) {
                Ok(p) => Opened::Plaintext(p),
                Err(why) => Opened::Failure(why.into()),
            },
        })
        .collect();
    slice
}

fn verifier(s: &Setup) -> Verifier {
    Verifier::new(CHAIN_ID, s.chain.set.clone()).with_encryption(s.key)
}

fn bad_opening(r: Result<impl std::fmt::Debug, ClientError>) {
    match r {
        Err(e @ ClientError::BadOpening(_)) => assert!(e.is_verification_failure()),
        other => panic!("expected BadOpening, got {other:?}"),
    }
}

#[test]
fn honest_openings_verify_and_deliver_the_opened_first_by_their_rank() {
    let s = setup();
    let verified = verifier(&s).verify(NS, 1, honest(&s)).unwrap();
    let opened = verified.opened();
    assert_eq!(opened.len(), 3);
    assert_eq!(
        opened[0].outcome,
        Opened::Plaintext(Bytes::from_static(b"first"))
    );
    assert_eq!(
        opened[1].outcome,
        Opened::Plaintext(Bytes::from_static(b"second"))
    );
    assert_eq!(opened[2].outcome, Opened::Failure(OpenFailure::Kem));

    let delivered = verified.delivered();
    assert_eq!(delivered.len(), 4);
    let rank = |o: &OpenedEntry| {
        keccak256([verified.block_hash().as_slice(), o.identity.as_slice()].concat())
    };
    let ranks: Vec<_> = delivered[..3]
        .iter()
        .map(|d| match d {
            Delivered::Opened(_, o) => rank(o),
            Delivered::Plain(e) => panic!("a plain entry before the opened ones: {e:?}"),
        })
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
    assert_eq!(delivered[3], Delivered::Plain(&verified.entries()[2]));
}

#[test]
fn tampered_openings_are_refused() {
    let s = setup();
    let v = verifier(&s);

    let mut other_plaintext = honest(&s);
    other_plaintext.opened[0].outcome = Opened::Plaintext(Bytes::from_static(b"front-run"));
    bad_opening(v.verify(NS, 1, other_plaintext));

    let mut swapped_keys = honest(&s);
    let k0 = swapped_keys.opened[0].key.clone();
    swapped_keys.opened[0].key = swapped_keys.opened[1].key.clone();
    swapped_keys.opened[1].key = k0;
    bad_opening(v.verify(NS, 1, swapped_keys));

    // A key that opens the payload but is not the committee's: the dealer's master secret is
    // not known here, so take a key for the right identity under another epoch key.
    let mut rng = rand_010::rngs::StdRng::seed_from_u64(9);
    let (other_sharing, other_shares) = ordo_enc::deal(&mut rng, 1);
    let mut foreign = honest(&s);
    let ids = Identities::hash(&[foreign.opened[0].identity]);
    let share = ordo_enc::sign_shares(&other_shares[0], &ids);
    let key: DecryptionKey = ordo_enc::combine(&other_sharing, &[&share]).unwrap()[0];
    foreign.opened[0].key = key.to_bytes().to_vec().into();
    foreign.opened[0].outcome = Opened::Failure(OpenFailure::Kem);
    bad_opening(v.verify(NS, 1, foreign));

    let mut missing = honest(&s);
    missing.opened.remove(1);
    bad_opening(v.verify(NS, 1, missing));

    let mut misplaced = honest(&s);
    misplaced.opened[1].index = 2; // the plaintext entry
    bad_opening(v.verify(NS, 1, misplaced));

    let mut none = honest(&s);
    none.opened.clear();
    match v.verify(NS, 1, none) {
        Err(e @ ClientError::Unopened { height: 1 }) => assert!(!e.is_verification_failure()),
        other => panic!("expected Unopened, got {other:?}"),
    }
}

#[test]
fn without_the_epoch_key_nothing_opened_is_kept() {
    let s = setup();
    let verified = Verifier::new(CHAIN_ID, s.chain.set.clone())
        .verify(NS, 1, honest(&s))
        .unwrap();
    assert!(verified.opened().is_empty());
    assert!(verified
        .delivered()
        .iter()
        .all(|d| matches!(d, Delivered::Plain(_))));
}

#[test]
fn openings_check_only_against_the_key_the_certified_header_commits_to() {
    let s = setup();
    // Openings checked, no key held: the header names the key to fetch.
    let bare = Verifier::new(CHAIN_ID, s.chain.set.clone()).with_openings();
    let header = &s.chain.blocks[0].0.header;
    assert_eq!(bare.missing_key(header), Some(s.key.commitment()));
    match bare.verify(NS, 1, honest(&s)) {
        Err(ClientError::UnknownEncryptionKey {
            height: 1,
            commitment,
        }) => {
            assert_eq!(commitment, s.key.commitment())
        }
        other => panic!("expected UnknownEncryptionKey, got {other:?}"),
    }
    // Another key, whatever a node says of it, is never used for this block.
    let mut rng = rand_010::rngs::StdRng::seed_from_u64(11);
    let other = EncryptionKey {
        key_id: s.key.key_id,
        public: *ordo_enc::deal(&mut rng, 1).0.public(),
    };
    assert_ne!(other.commitment(), s.key.commitment());
    let wrong = Verifier::new(CHAIN_ID, s.chain.set.clone()).with_encryption(other);
    assert!(matches!(
        wrong.verify(NS, 1, honest(&s)),
        Err(ClientError::UnknownEncryptionKey { .. })
    ));
    // The committed key, added later: it verifies.
    let mut held = wrong;
    held.add_key(s.key);
    assert_eq!(held.missing_key(header), None);
    assert_eq!(held.verify(NS, 1, honest(&s)).unwrap().opened().len(), 3);
}
