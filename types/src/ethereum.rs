//! Signed Ethereum transactions carried as Ordo transactions (for EVM rollups).
//!
//! An EVM rollup's users sign ordinary Ethereum transactions. Ordo carries the EIP-2718 bytes
//! unchanged as the payload of a [`crate::Transaction`] with [`crate::Auth::Ethereum`]: the
//! sender is recovered from the Ethereum signature and the nonce is the Ethereum nonce, so the
//! rollup sees exactly the bytes its users signed.

use crate::crypto::{SecretKey, Signature, SIGNATURE_LEN};
use crate::error::Error;
use alloy_consensus::{SignableTransaction, Transaction as _, TxEnvelope, TypedTransaction};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, Bytes, B256, U256};

/// The Ethereum transaction types Ordo carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EthereumTxType {
    /// Untyped (legacy), with or without an EIP-155 chain id.
    Legacy,
    /// EIP-2930 (type 1, access lists).
    Eip2930,
    /// EIP-1559 (type 2, priority fees).
    Eip1559,
}

/// The parts of a signed Ethereum transaction that sequencing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthereumTx {
    /// The transaction type.
    pub tx_type: EthereumTxType,
    /// The chain id it was signed for (`None` for a pre-EIP-155 legacy transaction).
    pub chain_id: Option<u64>,
    /// The sender's Ethereum nonce.
    pub nonce: u64,
    /// The Ethereum transaction hash (keccak256 of the EIP-2718 bytes).
    pub hash: B256,
    pub(crate) signing_hash: B256,
    pub(crate) signature: Signature,
}

impl EthereumTx {
    /// Decodes EIP-2718 bytes (a legacy RLP list, or a type byte and its payload), refusing
    /// trailing bytes and the types Ordo does not carry (EIP-4844 blobs, EIP-7702).
    pub fn decode(raw: &[u8]) -> Result<Self, Error> {
        let envelope = TxEnvelope::decode_2718_exact(raw)
            .map_err(|e| Error::InvalidEthereumTransaction(e.to_string()))?;
        let tx_type = match &envelope {
            TxEnvelope::Legacy(_) => EthereumTxType::Legacy,
            TxEnvelope::Eip2930(_) => EthereumTxType::Eip2930,
            TxEnvelope::Eip1559(_) => EthereumTxType::Eip1559,
            other => return Err(Error::UnsupportedEthereumType(u8::from(other.tx_type()))),
        };
        let sig = envelope.signature();
        let mut bytes = [0u8; SIGNATURE_LEN];
        bytes[..32].copy_from_slice(&sig.r().to_be_bytes::<32>());
        bytes[32..64].copy_from_slice(&sig.s().to_be_bytes::<32>());
        bytes[64] = 27 + u8::from(sig.v());
        Ok(Self {
            tx_type,
            chain_id: envelope.chain_id(),
            nonce: envelope.nonce(),
            hash: *envelope.tx_hash(),
            signing_hash: envelope.signature_hash(),
            signature: Signature(bytes),
        })
    }

    /// The sender, recovered from the signature (low-s only, as Ethereum requires since
    /// Homestead).
    pub fn sender(&self) -> Result<Address, Error> {
        self.signature.recover(&self.signing_hash)
    }

    /// Signs `tx` with `key` and returns its EIP-2718 bytes, as a wallet would send them to
    /// `eth_sendRawTransaction`.
    pub fn sign(tx: TypedTransaction, key: &SecretKey) -> Bytes {
        let sig = key.sign_digest(&tx.signature_hash());
        let signature = alloy_primitives::Signature::new(
            U256::from_be_bytes(sig.r().0),
            U256::from_be_bytes(sig.s().0),
            sig.v() == 28,
        );
        let signed: TxEnvelope = tx.into_signed(signature).into();
        signed.encoded_2718().into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::testutil::{key, signed_eip1559, signed_eip2930, signed_legacy};
    use proptest::prelude::*;

    #[test]
    fn decodes_the_three_types_and_recovers_the_signer() {
        let k = key(3);
        for (raw, ty, chain) in [
            (
                signed_legacy(&k, 5, Some(901)),
                EthereumTxType::Legacy,
                Some(901),
            ),
            (signed_legacy(&k, 5, None), EthereumTxType::Legacy, None),
            (
                signed_eip2930(&k, 5, 901),
                EthereumTxType::Eip2930,
                Some(901),
            ),
            (
                signed_eip1559(&k, 5, 901),
                EthereumTxType::Eip1559,
                Some(901),
            ),
        ] {
            let tx = EthereumTx::decode(&raw).unwrap();
            assert_eq!((tx.tx_type, tx.chain_id, tx.nonce), (ty, chain, 5));
            assert_eq!(tx.hash, alloy_primitives::keccak256(&raw));
            assert_eq!(tx.sender().unwrap(), k.address());
        }
    }

    #[test]
    fn golden_eip1559_transaction() {
        // `cast mktx --private-key 0x…01 --chain 901 --nonce 0 --gas-limit 21000
        //  --gas-price 2gwei --priority-gas-price 1gwei --value 1 0x…02`; sender and hash from
        //  `cast decode-tx` (Foundry 1.7.1).
        let raw = hex::decode(GOLDEN_1559).unwrap();
        let tx = EthereumTx::decode(&raw).unwrap();
        assert_eq!(tx.chain_id, Some(901));
        assert_eq!(tx.nonce, 0);
        assert_eq!(format!("{:?}", tx.sender().unwrap()), GOLDEN_SENDER);
        assert_eq!(tx.hash.to_string(), GOLDEN_HASH);
    }

    const GOLDEN_1559: &str = "02f86c82038580843b9aca0084773594008252089400000000000000000000000000000000000000020180c001a020b201e03388439a07843d1bb4efe1f1215a6c4803998f95c59e80b6a7cfbd75a0301a583ea1d75038ea33ea351980dc86f3d753e7cde65ed799f2ae5e30fbba34";
    const GOLDEN_SENDER: &str = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf";
    const GOLDEN_HASH: &str = "0xe4bd7f132762de1cccbd01d025eaba593281691dd8bf57e227425dee6bd4b0e7";

    #[test]
    fn a_flipped_byte_changes_the_sender_or_fails() {
        let k = key(4);
        let raw = signed_eip1559(&k, 1, 901);
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            if let Ok(tx) = EthereumTx::decode(&bad) {
                assert_ne!(tx.sender().ok(), Some(k.address()), "byte {i}");
            }
        }
    }

    #[test]
    fn refuses_trailing_bytes_and_unsupported_types() {
        let mut raw = signed_eip1559(&key(1), 0, 901);
        raw.push(0);
        assert!(matches!(
            EthereumTx::decode(&raw),
            Err(Error::InvalidEthereumTransaction(_))
        ));
        assert!(EthereumTx::decode(&[]).is_err());
        assert!(EthereumTx::decode(&[0x03, 0xc0]).is_err());
        assert!(EthereumTx::decode(&[0x04, 0xc0]).is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(tx) = EthereumTx::decode(&bytes) {
                let _ = tx.sender();
            }
        }

        #[test]
        fn typed_prefix_with_random_body_never_panics(ty in 0u8..5, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut bytes = vec![ty];
            bytes.extend(body);
            let _ = EthereumTx::decode(&bytes);
        }
    }
}
