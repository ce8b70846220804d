//! The crate's error types.

use alloy_primitives::{Address, B256};
use core::fmt;

/// Everything that can go wrong in `ordo-types`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes did not decode into the expected value.
    #[error("decode error: {0}")]
    Decode(#[from] DecodeError),
    /// 32 bytes that are not a valid secp256k1 secret key (zero or not below the group order).
    #[error("invalid secret key")]
    InvalidSecretKey,
    /// Bytes that are not a valid SEC1 encoding of a secp256k1 point.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// A signature of the wrong length (it must be 65 bytes).
    #[error("signature must be 65 bytes, got {0}")]
    InvalidSignatureLength(usize),
    /// A signature whose `v` byte is not 27 or 28.
    #[error("signature v must be 27 or 28, got {0}")]
    InvalidRecoveryId(u8),
    /// A signature whose `r` or `s` is zero or not below the group order.
    #[error("signature r or s is zero or out of range")]
    InvalidSignatureScalar,
    /// A signature with `s > n/2` (only low-s signatures are accepted).
    #[error("signature s is in the upper half of the group order")]
    HighS,
    /// Bytes that are not a signed Ethereum transaction (EIP-2718).
    #[error("invalid Ethereum transaction: {0}")]
    InvalidEthereumTransaction(String),
    /// An Ethereum transaction type Ordo does not carry (EIP-4844 blobs, EIP-7702).
    #[error("Ethereum transaction type {0} is not supported (legacy, EIP-2930 and EIP-1559 are)")]
    UnsupportedEthereumType(u8),
    /// A transaction whose `nonce` field differs from the nonce inside its Ethereum payload.
    #[error("nonce {field} differs from the Ethereum transaction's nonce {inner}")]
    EthereumNonceMismatch {
        /// The Ordo transaction's nonce field.
        field: u64,
        /// The nonce inside the signed Ethereum transaction.
        inner: u64,
    },
    /// A well-formed signature that does not verify (or recover) for the given digest.
    #[error("signature does not verify")]
    BadSignature,
    /// A certificate signer that is not in the validator set.
    #[error("signer {0} is not a member of the validator set")]
    UnknownSigner(Address),
    /// A certificate that lists the same signer twice.
    #[error("signer {0} appears more than once")]
    DuplicateSigner(Address),
    /// Certificate signers not in ascending address order.
    #[error("signer {0} is out of ascending address order")]
    UnsortedSigners(Address),
    /// Certificate signers hold at most 2/3 of the total voting power.
    #[error("signers hold {signed} of {total} voting power, more than 2/3 is required")]
    InsufficientPower {
        /// Voting power of the (valid, distinct) signers.
        signed: u64,
        /// Total voting power of the set.
        total: u64,
    },
    /// A sealed payload's size bucket outside `MIN_BUCKET..=MAX_BUCKET`.
    #[error("size bucket {0} is outside 6..=16")]
    SizeBucket(u8),
    /// A validator set that breaks one of its rules.
    #[error("invalid validator set: {0}")]
    InvalidValidatorSet(&'static str),
    /// A block body whose namespace groups are not strictly ascending by namespace id.
    #[error("namespace {next} follows namespace {previous}: groups must be strictly ascending")]
    UnsortedNamespaces {
        /// The earlier group's namespace.
        previous: u64,
        /// The later group's namespace.
        next: u64,
    },
    /// A block body with a namespace group that has no entries.
    #[error("namespace {0} has no entries")]
    EmptyNamespace(u64),
    /// A signed transaction placed in the group of another namespace.
    #[error("transaction for namespace {transaction} is in the group of namespace {group}")]
    EntryNamespaceMismatch {
        /// The group's namespace.
        group: u64,
        /// The namespace the transaction was signed for.
        transaction: u64,
    },
    /// A count that does not fit its encoded width (entries per namespace, transactions per block).
    #[error("too many items: {0}")]
    TooMany(&'static str),
    /// The header's `tx_count` does not match the body.
    #[error("header tx_count {header} does not match the body's {body}")]
    TxCountMismatch {
        /// Value in the header.
        header: u32,
        /// Value computed from the body.
        body: u32,
    },
    /// A synced block whose announced committee is missing, unexpected, or does not hash to
    /// the header's `next_validators_hash`.
    #[error("the announced committee does not match the header's next_validators_hash {0}")]
    AnnouncedCommitteeMismatch(B256),
    /// The header's `namespace_root` does not match the body.
    #[error("header namespace_root {header} does not match the body's {body}")]
    NamespaceRootMismatch {
        /// Value in the header.
        header: B256,
        /// Value computed from the body.
        body: B256,
    },
    /// A bundle, or a block's placement of one, that breaks the bundle rules.
    #[error("invalid bundle: {0}")]
    InvalidBundle(&'static str),
    /// The header's `bundle_root` does not match the body.
    #[error("header bundle_root {header} does not match the body's {body}")]
    BundleRootMismatch {
        /// Value in the header.
        header: B256,
        /// Value computed from the body.
        body: B256,
    },
    /// A namespace or bundle proof that does not prove the claim.
    #[error("invalid proof: {0}")]
    InvalidProof(&'static str),
}

impl Error {
    /// True for errors that mean a signature is malformed or does not verify.
    pub fn is_signature_error(&self) -> bool {
        matches!(
            self,
            Self::InvalidSignatureLength(_)
                | Self::InvalidRecoveryId(_)
                | Self::InvalidSignatureScalar
                | Self::HighS
                | Self::BadSignature
        )
    }
}

/// Why decoding failed, and at which byte offset of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at offset {offset}")]
pub struct DecodeError {
    /// Offset into the input where the problem was found.
    pub offset: usize,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub(crate) fn new(offset: usize, kind: DecodeErrorKind) -> Self {
        Self { offset, kind }
    }
}

/// The kinds of decoding failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended early.
    UnexpectedEnd {
        /// Bytes needed at this point.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A length or count that the rest of the input cannot possibly hold.
    LengthTooLarge {
        /// The length or count read.
        len: u32,
        /// Bytes left after it.
        remaining: usize,
    },
    /// Bytes left over after a complete value.
    TrailingBytes(usize),
    /// An unsupported format version byte.
    UnknownVersion(u8),
    /// An unknown tag byte (entry kind, proof kind, option marker).
    UnknownTag(u8),
    /// A value that is well framed but breaks a rule of its type (a high-s signature,
    /// unsorted namespace groups, ...).
    Invalid(Box<Error>),
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd { needed, remaining } => {
                write!(
                    f,
                    "unexpected end of input (needed {needed} bytes, {remaining} left)"
                )
            }
            Self::LengthTooLarge { len, remaining } => {
                write!(f, "length {len} cannot fit in the {remaining} bytes left")
            }
            Self::TrailingBytes(n) => write!(f, "{n} trailing bytes"),
            Self::UnknownVersion(v) => write!(f, "unknown version {v}"),
            Self::UnknownTag(t) => write!(f, "unknown tag {t:#04x}"),
            Self::Invalid(e) => write!(f, "{e}"),
        }
    }
}
