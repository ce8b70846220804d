//! proptest strategies and fixtures shared by the unit tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{
    Address, Body, Bytes, CommitCertificate, CommitSignature, Entry, ForcedTransaction, Header,
    NamespaceEntries, SecretKey, Signature, Transaction, B256,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// The secret key `[b; 32]`.
pub(crate) fn key(b: u8) -> SecretKey {
    SecretKey::from_bytes(&[b; 32]).unwrap()
}

pub(crate) fn hex32(s: &str) -> B256 {
    s.parse().unwrap()
}

pub(crate) fn arb_b256() -> impl Strategy<Value = B256> {
    any::<[u8; 32]>().prop_map(B256::from)
}

pub(crate) fn arb_address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address::from)
}

pub(crate) fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

/// A well-formed signature (r, s in range, low s, v 27/28); not a signature of anything.
/// Cheap, for encoding tests.
pub(crate) fn arb_signature() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>(), any::<bool>()).prop_map(|(mut r, mut s, odd)| {
        r[0] = r[0].min(0xFE);
        r[31] |= 1;
        s[0] &= 0x7E;
        s[31] |= 1;
        let mut out = [0u8; 65];
        out[..32].copy_from_slice(&r);
        out[32..64].copy_from_slice(&s);
        out[64] = 27 + u8::from(odd);
        Signature::from_slice(&out).unwrap()
    })
}

/// An EIP-712 transaction with a well-formed (not valid) signature, or a really signed
/// Ethereum transaction.
pub(crate) fn arb_tx_in(namespace: u64) -> impl Strategy<Value = Transaction> {
    let eip712 = (any::<u64>(), arb_bytes(48), arb_signature()).prop_map(
        move |(nonce, payload, signature)| {
            Transaction::eip712(namespace, nonce, payload, signature)
        },
    );
    let ethereum = (1u8..4, any::<u64>(), any::<u64>()).prop_map(move |(k, nonce, chain_id)| {
        Transaction::ethereum(namespace, signed_eip1559(&key(k), nonce, chain_id).into()).unwrap()
    });
    prop_oneof![3 => eip712, 1 => ethereum]
}

pub(crate) fn arb_tx() -> impl Strategy<Value = Transaction> {
    any::<u64>().prop_flat_map(arb_tx_in)
}

pub(crate) fn arb_forced() -> impl Strategy<Value = ForcedTransaction> {
    (any::<u64>(), arb_address(), arb_bytes(48)).prop_map(|(inbox_index, sender, payload)| {
        ForcedTransaction {
            inbox_index,
            sender,
            payload,
        }
    })
}

pub(crate) fn arb_entry_in(namespace: u64) -> impl Strategy<Value = Entry> {
    prop_oneof![
        arb_tx_in(namespace).prop_map(Entry::Signed),
        arb_forced().prop_map(Entry::Forced),
    ]
}

pub(crate) fn arb_entry() -> impl Strategy<Value = Entry> {
    any::<u64>().prop_flat_map(arb_entry_in)
}

/// A valid body whose namespaces are drawn from `0..ns_range` (so that absent namespaces fall
/// before, between and after present ones).
pub(crate) fn arb_body(max_groups: usize, ns_range: u64) -> impl Strategy<Value = Body> {
    proptest::collection::btree_set(0..ns_range, 0..max_groups)
        .prop_flat_map(|namespaces| {
            namespaces
                .into_iter()
                .map(|ns| {
                    vec(arb_entry_in(ns), 1..4).prop_map(move |entries| NamespaceEntries {
                        namespace: ns,
                        entries,
                    })
                })
                .collect::<Vec<_>>()
        })
        .prop_flat_map(|namespaces| (Just(namespaces), any::<bool>()))
        .prop_map(|(namespaces, bundled)| {
            let mut body = Body {
                namespaces,
                bundles: Vec::new(),
            };
            if bundled {
                body.bundles.extend(first_signed_bundle(&body));
            }
            body
        })
}

/// A bundle of the first entry of every group that starts with a signed transaction.
fn first_signed_bundle(body: &Body) -> Option<crate::PlacedBundle> {
    let parts: Vec<crate::BundlePart> = body
        .namespaces
        .iter()
        .filter_map(|g| match g.entries.first() {
            Some(crate::Entry::Signed(tx)) => Some(crate::BundlePart {
                namespace: g.namespace,
                start: 0,
                hashes: vec![tx.hash()],
            }),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| crate::PlacedBundle {
        terms: crate::BundleTerms::default(),
        parts,
    })
}

pub(crate) fn arb_header() -> impl Strategy<Value = Header> {
    (
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        (arb_b256(), arb_address(), arb_b256(), any::<u32>()),
        (
            arb_b256(),
            arb_b256(),
            any::<u64>(),
            arb_b256(),
            any::<u64>(),
            arb_b256(),
        ),
        arb_b256(),
    )
        .prop_map(
            |(
                (chain_id, height, epoch, timestamp_ms),
                (parent_hash, proposer, namespace_root, tx_count),
                (
                    validators_hash,
                    next_validators_hash,
                    l1_origin_number,
                    l1_origin_hash,
                    inbox_cursor,
                    bundle_root,
                ),
                encryption_key_hash,
            )| Header {
                chain_id,
                height,
                epoch,
                timestamp_ms,
                parent_hash,
                proposer,
                namespace_root,
                tx_count,
                validators_hash,
                next_validators_hash,
                l1_origin_number,
                l1_origin_hash,
                inbox_cursor,
                bundle_root,
                encryption_key_hash,
            },
        )
}

pub(crate) fn arb_certificate() -> impl Strategy<Value = CommitCertificate> {
    (
        any::<u64>(),
        any::<u32>(),
        arb_b256(),
        vec((arb_address(), arb_signature()), 0..5),
    )
        .prop_map(|(height, round, block_hash, sigs)| CommitCertificate {
            height,
            round,
            block_hash,
            signatures: sigs
                .into_iter()
                .map(|(signer, signature)| CommitSignature { signer, signature })
                .collect(),
        })
}

/// Asserts `value` encodes to `encoded_len` bytes and decodes back to itself.
pub(crate) fn assert_round_trip<T>(value: &T)
where
    T: crate::Encode + crate::Decode + PartialEq + core::fmt::Debug,
{
    let bytes = value.encode();
    assert_eq!(bytes.len(), value.encoded_len(), "encoded_len of {value:?}");
    let decoded = T::decode(&bytes).unwrap();
    assert_eq!(&decoded, value);
    // Every strict prefix is an error (no value is a prefix of another encoding of its type
    // that decodes), and so is any extra byte.
    if let Some(short) = bytes.len().checked_sub(1) {
        assert!(T::decode(&bytes[..short]).is_err());
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(T::decode(&long).is_err());
}

fn transfer_to() -> alloy_primitives::TxKind {
    alloy_primitives::TxKind::Call(Address::repeat_byte(0x22))
}

/// A signed legacy value transfer (EIP-155 when `chain_id` is given).
pub(crate) fn signed_legacy(key: &SecretKey, nonce: u64, chain_id: Option<u64>) -> Vec<u8> {
    let tx = alloy_consensus::TxLegacy {
        chain_id,
        nonce,
        gas_price: 1_000_000_000,
        gas_limit: 21_000,
        to: transfer_to(),
        value: alloy_primitives::U256::from(7),
        input: Bytes::new(),
    };
    crate::EthereumTx::sign(tx.into(), key).to_vec()
}

/// A signed EIP-2930 value transfer.
pub(crate) fn signed_eip2930(key: &SecretKey, nonce: u64, chain_id: u64) -> Vec<u8> {
    let tx = alloy_consensus::TxEip2930 {
        chain_id,
        nonce,
        gas_price: 1_000_000_000,
        gas_limit: 21_000,
        to: transfer_to(),
        value: alloy_primitives::U256::from(7),
        ..Default::default()
    };
    crate::EthereumTx::sign(tx.into(), key).to_vec()
}

/// A signed EIP-1559 value transfer.
pub(crate) fn signed_eip1559(key: &SecretKey, nonce: u64, chain_id: u64) -> Vec<u8> {
    let tx = alloy_consensus::TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: transfer_to(),
        value: alloy_primitives::U256::from(7),
        ..Default::default()
    };
    crate::EthereumTx::sign(tx.into(), key).to_vec()
}
