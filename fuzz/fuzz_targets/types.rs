//! Every `ordo-types` decoder of untrusted bytes. The first byte picks the type, the rest is
//! its encoding. Checked: no panic; a value that decodes encodes back to exactly the input
//! (the formats are canonical); hashes are of the encodings; decoded values can be checked
//! (commitments, proofs, certificates) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo_fuzz::canonical;
use ordo_types::{
    bucket_size, keccak256, AdjacentLeaf, Auth, Block, Body, Bundle, BundleProof,
    CommitCertificate, CommitSignature, Entry, EthereumTx, ForcedTransaction, Header,
    NamespaceProof, PlacedBundle, Sealed, Signature, SyncedBlock, Transaction, Validator,
    ValidatorSet, B256, TAG_LEN,
};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 18 {
        0 => {
            if let Some(tx) = canonical::<Transaction>(bytes) {
                match tx.auth() {
                    Auth::Eip712(_) | Auth::Encrypted(_) => assert_eq!(tx.hash(), keccak256(bytes)),
                    Auth::Ethereum => assert_eq!(tx.hash(), keccak256(tx.payload())),
                }
                let _ = tx.recover_sender(7);
            }
        }
        1 => {
            if let Some(forced) = canonical::<ForcedTransaction>(bytes) {
                let mut tagged = vec![0x01];
                tagged.extend_from_slice(bytes);
                assert_eq!(forced.hash(), keccak256(&tagged));
            }
        }
        2 => {
            canonical::<Entry>(bytes);
        }
        3 => {
            if let Some(header) = canonical::<Header>(bytes) {
                assert_eq!(header.hash(), keccak256(bytes));
            }
        }
        4 => {
            if let Some(body) = canonical::<Body>(bytes) {
                let _ = body.validate();
                let _ = body.tx_count();
                let root = body.namespace_root();
                // Every namespace present, and one absent, proves against the root.
                for (ns, _) in body.entries().take(4) {
                    let mine = body.namespace(ns).map(|g| g.entries.clone());
                    let entries = mine.unwrap_or_default();
                    assert!(body.proof(ns).verify(&root, ns, &entries).is_ok());
                }
            }
        }
        5 => {
            if let Some(block) = canonical::<Block>(bytes) {
                assert_eq!(block.hash(), keccak256(&bytes[..Header::ENCODED_LEN]));
                let _ = block.check_commitments();
            }
        }
        6 => {
            if let Some(synced) = canonical::<SyncedBlock>(bytes) {
                let _ = synced.check();
            }
        }
        7 => {
            if let Some(v) = canonical::<Validator>(bytes) {
                assert_eq!(v.address, v.public_key.address());
            }
        }
        8 => {
            if let Some(set) = canonical::<ValidatorSet>(bytes) {
                assert!(set
                    .validators()
                    .windows(2)
                    .all(|w| w[0].address < w[1].address));
                let _ = set.hash();
            }
        }
        9 => {
            if let Some(proof) = canonical::<NamespaceProof>(bytes) {
                // A decoded proof is checked against some root without panicking.
                let _ = proof.verify(&B256::ZERO, 1, &[]);
                let _ = proof.verify(&keccak256(bytes), u64::MAX, &[]);
            }
        }
        10 => {
            canonical::<AdjacentLeaf>(bytes);
        }
        11 => {
            if let Some(cert) = canonical::<CommitCertificate>(bytes) {
                let _ = cert.digest(7);
                if let Ok(set) = ValidatorSet::new(Vec::new()) {
                    assert!(cert.verify(7, &set).is_err());
                }
            }
        }
        12 => {
            canonical::<CommitSignature>(bytes);
        }
        13 => {
            if let Some(sig) = canonical::<Signature>(bytes) {
                assert_eq!(Signature::from_slice(bytes), Ok(sig));
                let _ = sig.recover(&B256::ZERO);
            }
        }
        14 => {
            if let Some(bundle) = canonical::<Bundle>(bytes) {
                // Placed anywhere, it names the same bundle.
                assert_eq!(bundle.placed(|ns| ns as u32).hash(), bundle.hash());
                assert!(!bundle.txs().is_empty());
            }
        }
        15 => {
            if let Some(placed) = canonical::<PlacedBundle>(bytes) {
                let _ = placed.hash();
                let proof = BundleProof {
                    index: 0,
                    count: 1,
                    path: Vec::new(),
                };
                let _ = proof.verify(&keccak256(bytes), &placed);
            }
        }
        16 => {
            if let Some(sealed) = canonical::<Sealed>(bytes) {
                // The bucket is in range and the encrypted payload fills it exactly.
                assert_eq!(sealed.dem.len(), bucket_size(sealed.bucket) + TAG_LEN);
                assert!(Sealed::bucket_for(0).is_some_and(|min| sealed.bucket >= min));
                let _ = sealed.identity(1, 2, Default::default(), 3);
            }
        }
        _ => {
            // An EVM rollup's payload: EIP-2718 bytes.
            if let Ok(tx) = EthereumTx::decode(bytes) {
                assert_eq!(tx.hash, keccak256(bytes));
                let _ = tx.sender();
                let carried = Transaction::ethereum(1, bytes.to_vec().into());
                let carried = carried.expect("a decoded Ethereum transaction is carried");
                assert_eq!(carried.hash(), tx.hash);
                assert_eq!(carried.nonce(), tx.nonce);
                canonical::<Transaction>(&ordo_types::Encode::encode(&carried));
            } else {
                assert!(Transaction::ethereum(1, bytes.to_vec().into()).is_err());
            }
        }
    }
});
