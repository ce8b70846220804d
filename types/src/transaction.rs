//! User transactions (EIP-712 signed), forced transactions from the L1 inbox, and block
//! entries.

use crate::codec::{bytes_len, impl_decode, put_bytes, Encode, ReadFrom, Reader};
use crate::crypto::{SecretKey, Signature, SIGNATURE_LEN};
use crate::error::{DecodeError, DecodeErrorKind, Error};
use alloy_primitives::{keccak256, Address, Bytes, B256};
use alloy_sol_types::{eip712_domain, SolStruct};
use serde::{Deserialize, Serialize};

/// The EIP-712 type string of a transaction; its keccak256 is the struct's type hash.
pub const TX_TYPEHASH_STRING: &str = "Transaction(uint64 namespace,uint64 nonce,bytes payload)";

/// Version byte that starts a transaction's encoding.
const TX_VERSION: u8 = 1;

/// Smallest forced transaction encoding: inbox index, sender, empty payload.
pub(crate) const FORCED_MIN_LEN: usize = 8 + 20 + 4;
/// Smallest entry encoding: tag plus the smaller of the two items.
pub(crate) const ENTRY_MIN_LEN: usize = 1 + FORCED_MIN_LEN;

#[allow(unreachable_pub, missing_docs)]
mod eip712 {
    alloy_sol_types::sol! {
        /// The EIP-712 struct a user signs.
        struct Transaction {
            uint64 namespace;
            uint64 nonce;
            bytes payload;
        }
    }
}

/// A user transaction: an opaque payload for one namespace (rollup), with a per-sender nonce,
/// signed as EIP-712 typed data. The sender is recovered from the signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transaction {
    /// The rollup this transaction is for.
    pub namespace: u64,
    /// The sender's nonce.
    pub nonce: u64,
    /// Opaque payload, interpreted by the rollup.
    pub payload: Bytes,
    /// Signature over [`Transaction::signing_hash`].
    pub signature: Signature,
}

impl Transaction {
    /// The EIP-712 digest a user signs: `keccak256(0x19 || 0x01 || domainSeparator ||
    /// hashStruct(tx))` with domain `{name: "Ordo", version: "1", chainId: chain_id}`.
    pub fn signing_hash(namespace: u64, nonce: u64, payload: &[u8], chain_id: u64) -> B256 {
        signing_hash_owned(namespace, nonce, Bytes::copy_from_slice(payload), chain_id)
    }

    /// Signs a new transaction with `key`.
    pub fn sign(
        namespace: u64,
        nonce: u64,
        payload: Bytes,
        key: &SecretKey,
        chain_id: u64,
    ) -> Self {
        let digest = signing_hash_owned(namespace, nonce, payload.clone(), chain_id);
        Self {
            namespace,
            nonce,
            payload,
            signature: key.sign_digest(&digest),
        }
    }

    /// The transaction hash: keccak256 of the encoding (which covers the signature).
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// The sender: the address recovered from the signature over the signing hash.
    pub fn recover_sender(&self, chain_id: u64) -> Result<Address, Error> {
        let digest = signing_hash_owned(self.namespace, self.nonce, self.payload.clone(), chain_id);
        self.signature.recover(&digest)
    }
}

/// [`Transaction::signing_hash`] without copying a payload the caller already owns.
fn signing_hash_owned(namespace: u64, nonce: u64, payload: Bytes, chain_id: u64) -> B256 {
    let domain = eip712_domain! {
        name: "Ordo",
        version: "1",
        chain_id: chain_id,
    };
    eip712::Transaction {
        namespace,
        nonce,
        payload,
    }
    .eip712_signing_hash(&domain)
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(TX_VERSION);
        out.extend_from_slice(&self.namespace.to_be_bytes());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        put_bytes(out, &self.payload);
        self.signature.encode_to(out);
    }

    fn encoded_len(&self) -> usize {
        (1 + 8 + 8 + SIGNATURE_LEN).saturating_add(bytes_len(&self.payload))
    }
}

impl ReadFrom for Transaction {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version(TX_VERSION)?;
        Ok(Self {
            namespace: r.u64()?,
            nonce: r.u64()?,
            payload: r.bytes()?,
            signature: Signature::read_from(r)?,
        })
    }
}

/// A transaction submitted to the L1 inbox, which the sequencer must include by its deadline.
/// Its sender is the L1 account that submitted it (no signature needed here).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ForcedTransaction {
    /// Position in the L1 inbox.
    pub inbox_index: u64,
    /// The L1 account that submitted it.
    pub sender: Address,
    /// Opaque payload, interpreted by the rollup.
    pub payload: Bytes,
}

impl ForcedTransaction {
    /// keccak256 of `0x01 || encoding`.
    pub fn hash(&self) -> B256 {
        let mut buf = Vec::with_capacity(1usize.saturating_add(self.encoded_len()));
        buf.push(ENTRY_TAG_FORCED);
        self.encode_to(&mut buf);
        keccak256(buf)
    }
}

impl Encode for ForcedTransaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.inbox_index.to_be_bytes());
        out.extend_from_slice(self.sender.as_slice());
        put_bytes(out, &self.payload);
    }

    fn encoded_len(&self) -> usize {
        (8 + 20usize).saturating_add(bytes_len(&self.payload))
    }
}

impl ReadFrom for ForcedTransaction {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            inbox_index: r.u64()?,
            sender: r.address()?,
            payload: r.bytes()?,
        })
    }
}

const ENTRY_TAG_SIGNED: u8 = 0x00;
const ENTRY_TAG_FORCED: u8 = 0x01;

/// One item of a namespace's block content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A user transaction.
    Signed(Transaction),
    /// A transaction from the L1 inbox.
    Forced(ForcedTransaction),
}

impl Entry {
    /// The hash of the transaction inside ([`Transaction::hash`] or
    /// [`ForcedTransaction::hash`]).
    pub fn hash(&self) -> B256 {
        match self {
            Self::Signed(tx) => tx.hash(),
            Self::Forced(tx) => tx.hash(),
        }
    }

    /// The payload of the transaction inside.
    pub fn payload(&self) -> &Bytes {
        match self {
            Self::Signed(tx) => &tx.payload,
            Self::Forced(tx) => &tx.payload,
        }
    }

    /// True for a forced (L1 inbox) transaction.
    pub fn is_forced(&self) -> bool {
        matches!(self, Self::Forced(_))
    }
}

impl From<Transaction> for Entry {
    fn from(tx: Transaction) -> Self {
        Self::Signed(tx)
    }
}

impl From<ForcedTransaction> for Entry {
    fn from(tx: ForcedTransaction) -> Self {
        Self::Forced(tx)
    }
}

impl Encode for Entry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Self::Signed(tx) => {
                out.push(ENTRY_TAG_SIGNED);
                tx.encode_to(out);
            }
            Self::Forced(tx) => {
                out.push(ENTRY_TAG_FORCED);
                tx.encode_to(out);
            }
        }
    }

    fn encoded_len(&self) -> usize {
        1usize.saturating_add(match self {
            Self::Signed(tx) => tx.encoded_len(),
            Self::Forced(tx) => tx.encoded_len(),
        })
    }
}

impl ReadFrom for Entry {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        match r.u8()? {
            ENTRY_TAG_SIGNED => Ok(Self::Signed(Transaction::read_from(r)?)),
            ENTRY_TAG_FORCED => Ok(Self::Forced(ForcedTransaction::read_from(r)?)),
            tag => Err(DecodeError::new(start, DecodeErrorKind::UnknownTag(tag))),
        }
    }
}

impl_decode!(Transaction, ForcedTransaction, Entry);
