//! User transactions (EIP-712 signed), forced transactions from the L1 inbox, and block
//! entries.

use crate::codec::Decode;
use crate::codec::{bytes_len, impl_decode, put_bytes, Encode, ReadFrom, Reader};
use crate::crypto::{PublicKey, SecretKey, Signature, SIGNATURE_LEN};
use crate::error::{DecodeError, DecodeErrorKind, Error};
use crate::ethereum::EthereumTx;
use crate::sealed::Sealed;
use alloy_primitives::{keccak256, Address, Bytes, B256};
use alloy_sol_types::{eip712_domain, SolStruct};
use serde::{Deserialize, Serialize};

/// The EIP-712 type string of a transaction; its keccak256 is the struct's type hash.
pub const TX_TYPEHASH_STRING: &str = "Transaction(uint64 namespace,uint64 nonce,bytes payload)";

/// Version byte that starts an EIP-712 transaction's encoding.
const TX_VERSION: u8 = 1;
/// Version byte that starts an Ethereum transaction's encoding.
const TX_VERSION_ETHEREUM: u8 = 2;
/// Version byte that starts an encrypted transaction's encoding.
const TX_VERSION_ENCRYPTED: u8 = 3;
/// The EIP-712 type string of an encrypted transaction.
pub const ENCRYPTED_TX_TYPEHASH_STRING: &str =
    "EncryptedTransaction(uint64 namespace,uint64 nonce,bytes envelope)";

/// Smallest transaction encoding: version, namespace and an empty payload (an Ethereum one).
pub(crate) const TX_MIN_LEN: usize = 1 + 8 + 4;
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

        /// The EIP-712 struct a user signs for an encrypted transaction: the envelope is the
        /// sealed payload.
        struct EncryptedTransaction {
            uint64 namespace;
            uint64 nonce;
            bytes envelope;
        }
    }
}

/// A user transaction: a payload for one namespace (rollup), with a per-sender nonce, and
/// the proof of its sender ([`Auth`]).
///
/// A sealed value: its fields are read through accessors, and every constructor
/// ([`Self::sign`], [`Self::eip712`], [`Self::ethereum`], decoding, JSON) computes the
/// transaction hash once and carries it, so [`Self::hash`] is a field read. An Ethereum
/// transaction's payload always decodes as one ([`EthereumTx`]), with the transaction's nonce.
///
/// In JSON an EIP-712 transaction is `{namespace, nonce, payload, signature}` and an Ethereum
/// one `{namespace, nonce, payload, "auth": "ethereum"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "TransactionJson", try_from = "TransactionJson")]
pub struct Transaction {
    namespace: u64,
    nonce: u64,
    payload: Bytes,
    auth: Auth,
    /// [`Self::hash`], a function of the fields above, computed by [`Self::seal`].
    hash: B256,
}

/// How a transaction proves who sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Auth {
    /// An EIP-712 signature over [`Transaction::signing_hash`].
    Eip712(Signature),
    /// The payload is a signed Ethereum transaction (EIP-2718): its signature names the sender
    /// and its nonce is the transaction's nonce ([`EthereumTx`]).
    Ethereum,
    /// The payload is sealed ([`Sealed`]), hidden until the block holding it is decided; an
    /// EIP-712 signature over [`Transaction::encrypted_signing_hash`].
    Encrypted(Signature),
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
        Self::eip712(namespace, nonce, payload, key.sign_digest(&digest))
    }

    /// An EIP-712 transaction from its parts, as received: the signature is not checked here
    /// ([`Self::recover_sender`] does).
    pub fn eip712(namespace: u64, nonce: u64, payload: Bytes, signature: Signature) -> Self {
        Self::seal(namespace, nonce, payload, Auth::Eip712(signature))
    }

    /// Wraps a signed Ethereum transaction (EIP-2718 bytes) for `namespace`; its nonce becomes
    /// the transaction's nonce.
    pub fn ethereum(namespace: u64, raw: Bytes) -> Result<Self, Error> {
        let inner = EthereumTx::decode(&raw)?;
        Ok(Self::seal(namespace, inner.nonce, raw, Auth::Ethereum))
    }

    /// The EIP-712 digest the sender of an encrypted transaction signs: as
    /// [`Self::signing_hash`], over `EncryptedTransaction(namespace, nonce, envelope)`, the
    /// envelope being the sealed payload's encoding.
    pub fn encrypted_signing_hash(
        namespace: u64,
        nonce: u64,
        envelope: &[u8],
        chain_id: u64,
    ) -> B256 {
        encrypted_signing_hash_owned(namespace, nonce, Bytes::copy_from_slice(envelope), chain_id)
    }

    /// Signs a new encrypted transaction, whose payload is `sealed`, with `key`.
    pub fn sign_encrypted(
        namespace: u64,
        nonce: u64,
        sealed: &Sealed,
        key: &SecretKey,
        chain_id: u64,
    ) -> Self {
        let envelope = Bytes::from(sealed.encode());
        let digest = encrypted_signing_hash_owned(namespace, nonce, envelope.clone(), chain_id);
        Self::seal(
            namespace,
            nonce,
            envelope,
            Auth::Encrypted(key.sign_digest(&digest)),
        )
    }

    /// An encrypted transaction from its parts, as received: the envelope must be a sealed
    /// payload's encoding; the signature is not checked here.
    pub fn encrypted(
        namespace: u64,
        nonce: u64,
        envelope: Bytes,
        signature: Signature,
    ) -> Result<Self, Error> {
        Sealed::decode(&envelope)?;
        Ok(Self::seal(
            namespace,
            nonce,
            envelope,
            Auth::Encrypted(signature),
        ))
    }

    /// The sealed payload of an encrypted transaction (`None` for the other kinds).
    pub fn sealed(&self) -> Option<Sealed> {
        match self.auth {
            Auth::Encrypted(_) => Sealed::decode(&self.payload).ok(),
            _ => None,
        }
    }

    /// The one place a transaction value is assembled: computes its hash.
    fn seal(namespace: u64, nonce: u64, payload: Bytes, auth: Auth) -> Self {
        let mut tx = Self {
            namespace,
            nonce,
            payload,
            auth,
            hash: B256::ZERO,
        };
        // The encoding does not cover `hash`, so encoding before it is set is sound.
        tx.hash = match tx.auth {
            Auth::Eip712(_) | Auth::Encrypted(_) => keccak256(tx.encode()),
            Auth::Ethereum => keccak256(&tx.payload),
        };
        tx
    }

    /// The rollup this transaction is for.
    pub fn namespace(&self) -> u64 {
        self.namespace
    }

    /// The sender's nonce in this namespace.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The payload, interpreted by the rollup (for [`Auth::Ethereum`], the signed Ethereum
    /// transaction itself).
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// How the sender is proven.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The transaction hash: keccak256 of the encoding (which covers the signature); for an
    /// Ethereum transaction, its Ethereum hash (keccak256 of the payload). Computed once, when
    /// the value was made.
    pub fn hash(&self) -> B256 {
        self.hash
    }

    /// The sender: the address recovered from the EIP-712 signature over the signing hash,
    /// or from the Ethereum transaction's own signature.
    pub fn recover_sender(&self, chain_id: u64) -> Result<Address, Error> {
        let (digest, signature) = self.signed_digest(chain_id)?;
        signature.recover(&digest)
    }

    /// The sender's public key, recovered as [`Self::recover_sender`] does.
    pub fn recover_signer(&self, chain_id: u64) -> Result<PublicKey, Error> {
        let (digest, signature) = self.signed_digest(chain_id)?;
        signature.recover_public_key(&digest)
    }

    /// The digest the sender signed and the signature: the EIP-712 signing hash, or the
    /// Ethereum transaction's signing hash (checking that its nonce is the transaction's).
    pub fn signed_digest(&self, chain_id: u64) -> Result<(B256, Signature), Error> {
        match &self.auth {
            Auth::Eip712(signature) => Ok((
                signing_hash_owned(self.namespace, self.nonce, self.payload.clone(), chain_id),
                *signature,
            )),
            Auth::Encrypted(signature) => Ok((
                encrypted_signing_hash_owned(
                    self.namespace,
                    self.nonce,
                    self.payload.clone(),
                    chain_id,
                ),
                *signature,
            )),
            Auth::Ethereum => {
                let inner = EthereumTx::decode(&self.payload)?;
                if inner.nonce != self.nonce {
                    return Err(Error::EthereumNonceMismatch {
                        field: self.nonce,
                        inner: inner.nonce,
                    });
                }
                Ok((inner.signing_hash, inner.signature))
            }
        }
    }
}

/// The JSON shape of a [`Transaction`].
#[derive(Serialize, Deserialize)]
struct TransactionJson {
    namespace: u64,
    nonce: u64,
    payload: Bytes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth: Option<JsonAuth>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JsonAuth {
    Ethereum,
    Encrypted,
}

impl From<Transaction> for TransactionJson {
    fn from(tx: Transaction) -> Self {
        let (signature, auth) = match tx.auth {
            Auth::Eip712(signature) => (Some(signature), None),
            Auth::Ethereum => (None, Some(JsonAuth::Ethereum)),
            Auth::Encrypted(signature) => (Some(signature), Some(JsonAuth::Encrypted)),
        };
        Self {
            namespace: tx.namespace,
            nonce: tx.nonce,
            payload: tx.payload,
            signature,
            auth,
        }
    }
}

impl TryFrom<TransactionJson> for Transaction {
    type Error = Error;

    fn try_from(json: TransactionJson) -> Result<Self, Error> {
        match (json.signature, json.auth) {
            (Some(signature), None) => Ok(Self::eip712(
                json.namespace,
                json.nonce,
                json.payload,
                signature,
            )),
            (None, Some(JsonAuth::Ethereum)) => {
                let tx = Self::ethereum(json.namespace, json.payload)?;
                if tx.nonce != json.nonce {
                    return Err(Error::EthereumNonceMismatch {
                        field: json.nonce,
                        inner: tx.nonce,
                    });
                }
                Ok(tx)
            }
            (Some(signature), Some(JsonAuth::Encrypted)) => {
                Self::encrypted(json.namespace, json.nonce, json.payload, signature)
            }
            _ => Err(Error::InvalidEthereumTransaction(
                "a transaction has a signature, auth \"ethereum\", or a signature and auth \"encrypted\""
                    .into(),
            )),
        }
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

/// [`Transaction::encrypted_signing_hash`] without copying an envelope the caller owns.
fn encrypted_signing_hash_owned(
    namespace: u64,
    nonce: u64,
    envelope: Bytes,
    chain_id: u64,
) -> B256 {
    let domain = eip712_domain! {
        name: "Ordo",
        version: "1",
        chain_id: chain_id,
    };
    eip712::EncryptedTransaction {
        namespace,
        nonce,
        envelope,
    }
    .eip712_signing_hash(&domain)
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match &self.auth {
            Auth::Eip712(signature) => {
                out.push(TX_VERSION);
                out.extend_from_slice(&self.namespace.to_be_bytes());
                out.extend_from_slice(&self.nonce.to_be_bytes());
                put_bytes(out, &self.payload);
                signature.encode_to(out);
            }
            Auth::Ethereum => {
                out.push(TX_VERSION_ETHEREUM);
                out.extend_from_slice(&self.namespace.to_be_bytes());
                put_bytes(out, &self.payload);
            }
            Auth::Encrypted(signature) => {
                out.push(TX_VERSION_ENCRYPTED);
                out.extend_from_slice(&self.namespace.to_be_bytes());
                out.extend_from_slice(&self.nonce.to_be_bytes());
                put_bytes(out, &self.payload);
                signature.encode_to(out);
            }
        }
    }

    fn encoded_len(&self) -> usize {
        let fixed = match self.auth {
            Auth::Eip712(_) | Auth::Encrypted(_) => 1 + 8 + 8 + SIGNATURE_LEN,
            Auth::Ethereum => 1 + 8,
        };
        fixed.saturating_add(bytes_len(&self.payload))
    }
}

impl ReadFrom for Transaction {
    fn read_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        match r.u8()? {
            TX_VERSION => {
                let namespace = r.u64()?;
                let nonce = r.u64()?;
                let payload = r.bytes()?;
                let signature = Signature::read_from(r)?;
                Ok(Self::eip712(namespace, nonce, payload, signature))
            }
            TX_VERSION_ETHEREUM => {
                let namespace = r.u64()?;
                let payload_at = r.offset();
                let payload = r.bytes()?;
                Self::ethereum(namespace, payload).map_err(|e| Reader::invalid_at(payload_at, e))
            }
            TX_VERSION_ENCRYPTED => {
                let namespace = r.u64()?;
                let nonce = r.u64()?;
                let payload_at = r.offset();
                let payload = r.bytes()?;
                let signature = Signature::read_from(r)?;
                Self::encrypted(namespace, nonce, payload, signature)
                    .map_err(|e| Reader::invalid_at(payload_at, e))
            }
            version => Err(DecodeError::new(
                start,
                DecodeErrorKind::UnknownVersion(version),
            )),
        }
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

    /// The encrypted transaction this entry of `namespace` carries, if any: a signed one, or
    /// a forced one whose payload is an encrypted transaction's encoding for the namespace (an
    /// envelope sent through the L1 inbox, so that a censored sender keeps its escape hatch).
    pub fn encrypted(&self, namespace: u64) -> Option<std::borrow::Cow<'_, Transaction>> {
        match self {
            Self::Signed(tx) => tx.sealed().map(|_| std::borrow::Cow::Borrowed(tx)),
            Self::Forced(f) => {
                let tx = Transaction::decode(&f.payload).ok()?;
                (tx.sealed().is_some() && tx.namespace() == namespace)
                    .then_some(std::borrow::Cow::Owned(tx))
            }
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::codec::Decode;
    use crate::testutil::{arb_entry, arb_forced, arb_tx, assert_round_trip, hex32, key};
    use alloy_primitives::U256;
    use proptest::prelude::*;

    // Independently computed with Foundry's `cast` 1.7.1: the digest from `cast keccak` and
    // `cast abi-encode` pieces, the signature with `cast wallet sign --data` on the typed-data
    // JSON (which matched `cast wallet sign --no-hash` on the digest), the encoding with
    // `cast abi-encode --packed`.
    const CHAIN_ID: u64 = 1234;
    const DOMAIN_SEPARATOR: &str =
        "0x66e7cc60581e06cb5ca94fa26a3704108a8a5a151dc1feaef19eef77f9a08a6c";
    const TYPEHASH: &str = "0x97a07f8b27451cd90f40ec2a6370ab8ecb6800d5c8372e7446d466f6f539d703";
    const HASH_STRUCT: &str = "0xdaf68374bca1dc062185fd1f519d6e67a2528c79600894882cb399b4bd8bbeaf";
    const DIGEST: &str = "0xa5ea63e87708d835a93f1aa26fb895ffd6285bc2de8a7f27ffe6cab4ca2ea7e2";
    const SIGNATURE: &str = "1296c6111504d4c0f5a4fb961b81881c0c58a2906428ec629bfb4de053cbe3866795b06d81af2aa3ec022c0e5761cb640e3c18be394de79f451d6e132dbd0ca21b";
    const TX_ENCODING: &str = "01000000000000002a000000000000000700000004deadbeef1296c6111504d4c0f5a4fb961b81881c0c58a2906428ec629bfb4de053cbe3866795b06d81af2aa3ec022c0e5761cb640e3c18be394de79f451d6e132dbd0ca21b";
    const TX_HASH: &str = "0x5fde57d71fe5b3dee0c36432d4c6e3df7ff842d553e9e348d7d15fe9aba38c1e";
    const FORCED_ENCODING: &str =
        "00000000000000031111111111111111111111111111111111111111000000020102";
    const FORCED_HASH: &str = "0x09f17fb1c9daf13a13fb74e650710f824b16ed4d1190044ec125506f22e1de46";

    fn fixed_tx() -> Transaction {
        Transaction::sign(
            42,
            7,
            Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
            &key(1),
            CHAIN_ID,
        )
    }

    fn fixed_forced() -> ForcedTransaction {
        ForcedTransaction {
            inbox_index: 3,
            sender: Address::repeat_byte(0x11),
            payload: Bytes::from_static(&[1, 2]),
        }
    }

    fn word(x: u64) -> [u8; 32] {
        U256::from(x).to_be_bytes::<32>()
    }

    #[test]
    fn golden_eip712_digest_by_hand() {
        // Domain separator, following EIP-712 literally.
        let mut domain = Vec::new();
        domain.extend_from_slice(
            keccak256("EIP712Domain(string name,string version,uint256 chainId)").as_slice(),
        );
        domain.extend_from_slice(keccak256("Ordo").as_slice());
        domain.extend_from_slice(keccak256("1").as_slice());
        domain.extend_from_slice(&word(CHAIN_ID));
        let separator = keccak256(&domain);
        assert_eq!(separator, hex32(DOMAIN_SEPARATOR));
        let alloy_domain = eip712_domain! { name: "Ordo", version: "1", chain_id: CHAIN_ID, };
        assert_eq!(alloy_domain.separator(), separator);

        // Type hash: the sol! struct declares exactly the documented type string.
        assert_eq!(keccak256(TX_TYPEHASH_STRING), hex32(TYPEHASH));
        let sol_tx = eip712::Transaction {
            namespace: 42,
            nonce: 7,
            payload: Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
        };
        assert_eq!(
            eip712::Transaction::eip712_encode_type(),
            TX_TYPEHASH_STRING
        );
        assert_eq!(sol_tx.eip712_hash_struct(), hex32(HASH_STRUCT));
        assert_eq!(sol_tx.eip712_type_hash(), hex32(TYPEHASH));

        // hashStruct(tx) = keccak256(typeHash || uint64 namespace || uint64 nonce || keccak256(payload)).
        let mut st = Vec::new();
        st.extend_from_slice(hex32(TYPEHASH).as_slice());
        st.extend_from_slice(&word(42));
        st.extend_from_slice(&word(7));
        st.extend_from_slice(keccak256([0xde, 0xad, 0xbe, 0xef]).as_slice());
        let hash_struct = keccak256(&st);
        assert_eq!(hash_struct, hex32(HASH_STRUCT));

        let mut msg = vec![0x19, 0x01];
        msg.extend_from_slice(separator.as_slice());
        msg.extend_from_slice(hash_struct.as_slice());
        assert_eq!(keccak256(&msg), hex32(DIGEST));
        assert_eq!(
            Transaction::signing_hash(42, 7, &[0xde, 0xad, 0xbe, 0xef], CHAIN_ID),
            hex32(DIGEST)
        );
        // Every field and the chain id are covered.
        let base = Transaction::signing_hash(42, 7, &[0xde, 0xad, 0xbe, 0xef], CHAIN_ID);
        assert_ne!(
            Transaction::signing_hash(43, 7, &[0xde, 0xad, 0xbe, 0xef], CHAIN_ID),
            base
        );
        assert_ne!(
            Transaction::signing_hash(42, 8, &[0xde, 0xad, 0xbe, 0xef], CHAIN_ID),
            base
        );
        assert_ne!(
            Transaction::signing_hash(42, 7, &[0xde, 0xad, 0xbe], CHAIN_ID),
            base
        );
        assert_ne!(
            Transaction::signing_hash(42, 7, &[0xde, 0xad, 0xbe, 0xef], CHAIN_ID + 1),
            base
        );
    }

    #[test]
    fn golden_signed_transaction() {
        let tx = fixed_tx();
        assert_eq!(
            *tx.auth(),
            Auth::Eip712(Signature::from_slice(&hex::decode(SIGNATURE).unwrap()).unwrap())
        );
        assert_eq!(hex::encode(tx.encode()), TX_ENCODING);
        assert_eq!(tx.hash(), hex32(TX_HASH));
        assert_eq!(tx.recover_sender(CHAIN_ID).unwrap(), key(1).address());
        assert_ne!(tx.recover_sender(CHAIN_ID + 1).ok(), Some(key(1).address()));
        assert_eq!(
            Transaction::decode(&hex::decode(TX_ENCODING).unwrap()).unwrap(),
            tx
        );
        // As a block entry: tag 0x00.
        let entry = Entry::Signed(tx.clone());
        assert_eq!(hex::encode(entry.encode()), format!("00{TX_ENCODING}"));
        assert_eq!(entry.hash(), tx.hash());
        assert_eq!(entry.payload(), tx.payload());
        assert!(!entry.is_forced());
    }

    // An encrypted transaction, independently computed with `cast` the same way: the type
    // hash, the struct hash over keccak256(envelope), the digest under DOMAIN_SEPARATOR, the
    // signature by key(1) (`cast wallet sign --no-hash`), the encoding (`abi-encode --packed`).
    const ENC_TYPEHASH: &str = "0xb332fa911b030fc264c05db4f1106ff96fa4191bf47d4652aa05715ba618a86c";
    const ENC_DIGEST: &str = "0x61567c0c7451a3e6bcfb8923e492e53512e19ba192d242c682dde9dd364ec75c";
    const ENC_ENCODING: &str = "03000000000000002a0000000000000007000000f9000000000000000306111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111112222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222ed5915d42210706aeb7bc90ffe007383ebbb852d2b228f8c08fe3b835cc506e0204b41d17d1d5b777e54c0cb20740476f5822f548a060bc0363106735e090c961b";
    const ENC_HASH: &str = "0x201cf2ea0950df907624434c93b67f0da99c469b35d46d5b4773f2bde20cedea";

    fn fixed_sealed() -> Sealed {
        Sealed {
            key_id: 3,
            bucket: 6,
            kem: [0x11; crate::KEM_LEN],
            dem: Bytes::from(vec![0x22; 80]),
        }
    }

    #[test]
    fn golden_encrypted_transaction() {
        assert_eq!(keccak256(ENCRYPTED_TX_TYPEHASH_STRING), hex32(ENC_TYPEHASH));
        let sealed = fixed_sealed();
        let envelope = sealed.encode();
        assert_eq!(
            Transaction::encrypted_signing_hash(42, 7, &envelope, CHAIN_ID),
            hex32(ENC_DIGEST)
        );
        let tx = Transaction::sign_encrypted(42, 7, &sealed, &key(1), CHAIN_ID);
        assert_eq!(hex::encode(tx.encode()), ENC_ENCODING);
        assert_eq!(tx.hash(), hex32(ENC_HASH));
        assert_eq!(tx.sealed(), Some(sealed));
        assert_eq!(tx.recover_sender(CHAIN_ID).unwrap(), key(1).address());
        assert_eq!(Transaction::decode(&tx.encode()).unwrap(), tx);
        // The same signature over the same bytes as a plain transaction is another digest:
        // it recovers to someone else, so an envelope cannot pass for a plaintext payload.
        let Auth::Encrypted(signature) = *tx.auth() else {
            panic!("encrypted")
        };
        let plain = Transaction::eip712(42, 7, tx.payload().clone(), signature);
        assert_ne!(plain.recover_sender(CHAIN_ID).ok(), Some(key(1).address()));
        // JSON: the signature and auth "encrypted".
        let json = serde_json::to_value(&tx).unwrap();
        assert_eq!(json["auth"], "encrypted");
        assert_eq!(serde_json::from_value::<Transaction>(json).unwrap(), tx);
    }

    #[test]
    fn an_encrypted_transaction_whose_envelope_is_not_sealed_is_refused() {
        let tx = Transaction::sign_encrypted(42, 7, &fixed_sealed(), &key(1), CHAIN_ID);
        let Auth::Encrypted(signature) = *tx.auth() else {
            panic!("encrypted")
        };
        let short = tx.payload().slice(..tx.payload().len() - 1);
        assert!(Transaction::encrypted(42, 7, short.clone(), signature).is_err());
        // Decoding: the length-prefixed envelope one byte short of its bucket.
        let mut bytes = vec![3];
        bytes.extend_from_slice(&42u64.to_be_bytes());
        bytes.extend_from_slice(&7u64.to_be_bytes());
        bytes.extend_from_slice(&(short.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&short);
        bytes.extend_from_slice(&signature.0);
        let err = Transaction::decode(&bytes).unwrap_err();
        assert_eq!(err.offset, 17, "{err}");
        let json = serde_json::json!({
            "namespace": 42, "nonce": 7, "payload": short, "signature": signature, "auth": "encrypted"
        });
        assert!(serde_json::from_value::<Transaction>(json).is_err());
    }

    /// What gossip receivers batch-check is the digest and signature recovery uses, for both
    /// kinds: the claim of the real key holds, another key's fails.
    #[test]
    fn signed_digest_is_what_recovery_checks_for_both_kinds() {
        let eip712 = Transaction::sign(1, 0, Bytes::from_static(b"x"), &key(1), CHAIN_ID);
        let raw = crate::testutil::signed_eip1559(&key(2), 5, 901);
        let ethereum = Transaction::ethereum(9, raw.into()).unwrap();
        for (tx, signer) in [(eip712, key(1)), (ethereum, key(2))] {
            let (digest, signature) = tx.signed_digest(CHAIN_ID).unwrap();
            assert_eq!(tx.recover_signer(CHAIN_ID).unwrap(), signer.public_key());
            for (claimed, holds) in [(signer.public_key(), true), (key(3).public_key(), false)] {
                let claim = crate::Claim {
                    digest: &digest,
                    signature: &signature,
                    key: &claimed,
                };
                assert_eq!(crate::verify_batch(&[claim]), holds);
            }
        }
    }

    #[test]
    fn ethereum_transaction_encoding_json_and_sender() {
        let raw = crate::testutil::signed_eip1559(&key(2), 5, 901);
        let tx = Transaction::ethereum(9, raw.clone().into()).unwrap();
        assert_eq!((tx.nonce(), tx.auth()), (5, &Auth::Ethereum));
        // Version 2, namespace, then the EIP-2718 bytes as a `bytes` field.
        let mut expected = vec![2];
        expected.extend_from_slice(&9u64.to_be_bytes());
        expected.extend_from_slice(&(raw.len() as u32).to_be_bytes());
        expected.extend_from_slice(&raw);
        assert_eq!(tx.encode(), expected);
        assert_eq!(tx.encoded_len(), expected.len());
        assert_eq!(Transaction::decode(&expected).unwrap(), tx);
        assert_eq!(tx.hash(), keccak256(&raw));
        assert_eq!(tx.recover_sender(CHAIN_ID).unwrap(), key(2).address());

        let json = serde_json::to_value(&tx).unwrap();
        assert_eq!(json["auth"], "ethereum");
        // As a block entry, next to the entry's own `kind` tag.
        let entry = serde_json::to_value(Entry::Signed(tx.clone())).unwrap();
        assert_eq!(
            (&entry["kind"], &entry["auth"]),
            (&"signed".into(), &"ethereum".into())
        );
        assert_eq!(
            serde_json::from_value::<Entry>(entry).unwrap(),
            Entry::Signed(tx.clone())
        );
        assert!(json.get("signature").is_none());
        assert_eq!(
            serde_json::from_value::<Transaction>(json.clone()).unwrap(),
            tx
        );
        let mut wrong_nonce = json;
        wrong_nonce["nonce"] = 6.into();
        assert!(serde_json::from_value::<Transaction>(wrong_nonce).is_err());

        // A nonce field that disagrees with the payload names no sender. No public
        // constructor makes one; `seal` does not check.
        let forged = Transaction::seal(9, 6, tx.payload().clone(), Auth::Ethereum);
        assert_eq!(
            forged.recover_sender(CHAIN_ID),
            Err(Error::EthereumNonceMismatch { field: 6, inner: 5 })
        );
        // Bytes that are not an Ethereum transaction do not decode as one.
        let mut garbage = vec![2];
        garbage.extend_from_slice(&9u64.to_be_bytes());
        garbage.extend_from_slice(&3u32.to_be_bytes());
        garbage.extend_from_slice(&[0x02, 0xc1, 0x80]);
        assert!(matches!(
            Transaction::decode(&garbage).unwrap_err().kind,
            DecodeErrorKind::Invalid(_)
        ));
    }

    #[test]
    fn tampered_transaction_recovers_another_sender() {
        let tx = fixed_tx();
        let Auth::Eip712(signature) = *tx.auth() else {
            panic!("fixed_tx is EIP-712")
        };
        let tampered = Transaction::eip712(
            tx.namespace(),
            tx.nonce() + 1,
            tx.payload().clone(),
            signature,
        );
        assert_ne!(
            tampered.recover_sender(CHAIN_ID).ok(),
            Some(key(1).address())
        );
    }

    /// The hash a transaction carries is the one its definition gives, however the value was
    /// made: keccak256 of the encoding (EIP-712) or of the payload (Ethereum), as `hash()`
    /// computed it on every call before it was cached.
    #[test]
    fn carried_hash_is_the_defined_hash_for_every_constructor() {
        fn defined(tx: &Transaction) -> B256 {
            match tx.auth() {
                Auth::Eip712(_) | Auth::Encrypted(_) => keccak256(tx.encode()),
                Auth::Ethereum => keccak256(tx.payload()),
            }
        }
        let signed = fixed_tx();
        let Auth::Eip712(signature) = *signed.auth() else {
            panic!("fixed_tx is EIP-712")
        };
        let raw = Bytes::from(crate::testutil::signed_eip1559(&key(2), 5, 901));
        let ethereum = Transaction::ethereum(9, raw.clone()).unwrap();
        assert_eq!(signed.hash(), hex32(TX_HASH));
        assert_eq!(ethereum.hash(), keccak256(&raw));

        let mut made = vec![
            ("sign", signed.clone()),
            (
                "eip712 from parts",
                Transaction::eip712(42, 7, signed.payload().clone(), signature),
            ),
            (
                "eip712 from other parts",
                Transaction::eip712(42, 8, Bytes::from_static(b"x"), signature),
            ),
            ("ethereum", ethereum.clone()),
            (
                "decode golden",
                Transaction::decode(&hex::decode(TX_ENCODING).unwrap()).unwrap(),
            ),
            (
                "JSON text",
                serde_json::from_str(&format!(
                    r#"{{"namespace":42,"nonce":7,"payload":"0xdeadbeef","signature":"0x{SIGNATURE}"}}"#
                ))
                .unwrap(),
            ),
        ];
        for (how, tx) in made.clone() {
            let decoded = Transaction::decode(&tx.encode()).unwrap();
            let json = serde_json::from_value(serde_json::to_value(&tx).unwrap()).unwrap();
            made.extend([(how, decoded), (how, json)]);
        }
        for (how, tx) in &made {
            assert_eq!(tx.hash(), defined(tx), "{how}: {tx:?}");
        }
        assert_eq!(made.len(), 18);
    }

    #[test]
    fn golden_forced_transaction() {
        let f = fixed_forced();
        assert_eq!(hex::encode(f.encode()), FORCED_ENCODING);
        assert_eq!(f.hash(), hex32(FORCED_HASH));
        let entry = Entry::Forced(f.clone());
        assert_eq!(hex::encode(entry.encode()), format!("01{FORCED_ENCODING}"));
        assert_eq!(entry.hash(), f.hash());
        assert!(entry.is_forced());
    }

    #[test]
    fn transaction_json() {
        let tx = fixed_tx();
        let json = serde_json::to_value(&tx).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "namespace": 42,
                "nonce": 7,
                "payload": "0xdeadbeef",
                "signature": format!("0x{SIGNATURE}"),
            })
        );
        assert_eq!(serde_json::from_value::<Transaction>(json).unwrap(), tx);
        let entry_json = serde_json::to_value(Entry::Forced(fixed_forced())).unwrap();
        assert_eq!(entry_json["kind"], "forced");
        assert_eq!(
            serde_json::from_value::<Entry>(entry_json).unwrap(),
            Entry::Forced(fixed_forced())
        );
    }

    #[test]
    fn malformed_encodings_are_rejected() {
        let good = hex::decode(TX_ENCODING).unwrap();
        let mut bad_version = good.clone();
        bad_version[0] = 4;
        assert_eq!(
            Transaction::decode(&bad_version).unwrap_err().kind,
            DecodeErrorKind::UnknownVersion(4)
        );
        let mut bad_tag = good.clone();
        bad_tag.insert(0, 2);
        assert_eq!(
            Entry::decode(&bad_tag).unwrap_err().kind,
            DecodeErrorKind::UnknownTag(2)
        );
        let mut high_s = good.clone();
        let sig_start = good.len() - 65;
        high_s[good.len() - 1] = 29;
        let err = Transaction::decode(&high_s).unwrap_err();
        assert_eq!(err.offset, sig_start);
        assert_eq!(
            err.kind,
            DecodeErrorKind::Invalid(Box::new(Error::InvalidRecoveryId(29)))
        );
        // A payload length of ~4e9 on a short input.
        let mut huge = good[..17].to_vec();
        huge.extend_from_slice(&4_000_000_000u32.to_be_bytes());
        huge.extend_from_slice(&[0u8; 10]);
        assert!(matches!(
            Transaction::decode(&huge).unwrap_err().kind,
            DecodeErrorKind::LengthTooLarge { .. }
        ));
    }

    proptest! {
        #[test]
        fn transaction_round_trip(tx in arb_tx()) {
            assert_round_trip(&tx);
            let hashed = match tx.auth() {
                Auth::Eip712(_) | Auth::Encrypted(_) => tx.encode(),
                Auth::Ethereum => tx.payload().to_vec(),
            };
            prop_assert_eq!(tx.hash(), keccak256(hashed));
        }

        #[test]
        fn forced_round_trip(f in arb_forced()) {
            assert_round_trip(&f);
        }

        #[test]
        fn entry_round_trip(e in arb_entry()) {
            assert_round_trip(&e);
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Transaction::decode(&bytes);
            let _ = ForcedTransaction::decode(&bytes);
            let _ = Entry::decode(&bytes);
            if let Ok(e) = Entry::decode(&bytes) {
                prop_assert_eq!(e.encode(), bytes);
            }
        }

        #[test]
        fn decoders_never_panic_on_mutated_valid_input(e in arb_entry(), pos in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = e.encode();
            let i = pos % bytes.len();
            bytes[i] = byte;
            if let Ok(decoded) = Entry::decode(&bytes) {
                prop_assert_eq!(decoded.encode(), bytes);
            }
        }
    }

    #[test]
    fn an_entry_carries_an_encrypted_transaction_signed_or_through_the_inbox() {
        let sealed = crate::Sealed {
            key_id: 0,
            bucket: 6,
            kem: [1; crate::KEM_LEN],
            dem: Bytes::from(vec![2; 80]),
        };
        let envelope = Transaction::sign_encrypted(1, 0, &sealed, &key(1), CHAIN_ID);
        let plain = Transaction::sign(1, 0, Bytes::from_static(b"x"), &key(1), CHAIN_ID);
        let forced = |payload: Vec<u8>| {
            Entry::Forced(ForcedTransaction {
                inbox_index: 0,
                sender: Address::ZERO,
                payload: payload.into(),
            })
        };
        assert_eq!(
            Entry::Signed(envelope.clone()).encrypted(1).as_deref(),
            Some(&envelope)
        );
        assert!(Entry::Signed(plain.clone()).encrypted(1).is_none());
        // Through the L1 inbox: an encrypted transaction's encoding for the namespace.
        assert_eq!(
            forced(envelope.encode()).encrypted(1).as_deref(),
            Some(&envelope)
        );
        assert!(forced(envelope.encode()).encrypted(2).is_none());
        assert!(forced(plain.encode()).encrypted(1).is_none());
        assert!(forced(b"garbage".to_vec()).encrypted(1).is_none());
    }
}
