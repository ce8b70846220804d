//! The error codes a node answers on its external interfaces: the HTTP API's `{"code"}`, the
//! JSON-RPC `error.data.code`, the rollup stream's `error` events and the
//! `ordo_mempool_refused_transactions_total{code}` metric. The strings are a wire contract:
//! a code is never renamed, only added.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Declares [`ErrorCode`] from one list: each variant with its wire string, so that the enum,
/// [`ErrorCode::ALL`] and [`ErrorCode::as_str`] cannot disagree.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal,)+) => {
        /// A stable, machine-readable error code, serialized as its SCREAMING_SNAKE string
        /// ([`ErrorCode::as_str`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ #[serde(rename = $name)] $variant,)+
        }

        impl ErrorCode {
            /// Every code, once, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant,)+];

            /// The code as it goes on the wire (`"WRONG_TX_KIND"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }
    };
}

error_codes! {
    /// The request does not parse: bad JSON, a missing or unknown field, a bad path or query
    /// parameter, a bad `Last-Event-ID`, or JSON-RPC parameters that are not a transaction.
    Malformed = "MALFORMED",
    /// The request body, or a transaction's payload, is larger than the node accepts.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE",
    /// A batch submission holds more transactions than `api.max_batch`.
    BatchTooLarge = "BATCH_TOO_LARGE",
    /// The client IP is past its submission rate; the answer carries `Retry-After`.
    RateLimited = "RATE_LIMITED",
    /// A submitted transaction was signed for another network: it names another `chain_id`
    /// (and, when it names its sender `from`, its signature recovers to `from` under that
    /// chain id).
    WrongChain = "WRONG_CHAIN",
    /// No rollup is registered under the transaction's namespace (JSON-RPC: the namespace is
    /// not an EVM rollup).
    UnknownNamespace = "UNKNOWN_NAMESPACE",
    /// The namespace's rollup does not take this kind of transaction (an EIP-712 transaction
    /// for an EVM rollup, an Ethereum one for a raw rollup).
    WrongTxKind = "WRONG_TX_KIND",
    /// An Ethereum transaction signed for another chain than its EVM rollup's (or for none).
    WrongRollupChain = "WRONG_ROLLUP_CHAIN",
    /// An encrypted transaction sealed to another key than the chain's current encryption key
    /// (`GET /v1/encryption` names it).
    WrongEncryptionKey = "WRONG_ENCRYPTION_KEY",
    /// An encrypted transaction while the chain has no encryption key (none was generated, or
    /// the epoch's key generation failed): sealed again to a later key, it may be accepted.
    EncKeyUnavailable = "ENC_KEY_UNAVAILABLE",
    /// An Ethereum-kind transaction whose payload is not a valid Ethereum transaction. A second
    /// line: no such transaction can be built (clients' undecodable payloads are `MALFORMED`,
    /// and a gossip batch holding one does not decode).
    InvalidPayload = "INVALID_PAYLOAD",
    /// The signature does not recover to a sender, or recovers to another one than the
    /// submission names (`from`).
    BadSignature = "BAD_SIGNATURE",
    /// The sender's nonce in this namespace was already used on chain.
    NonceTooLow = "NONCE_TOO_LOW",
    /// The nonce is further ahead of the sender's next nonce than `mempool.max_nonce_gap`.
    NonceGapTooLarge = "NONCE_GAP_TOO_LARGE",
    /// The pool already holds this transaction, or another of the sender's with its nonce.
    AlreadyKnown = "ALREADY_KNOWN",
    /// The sender has `mempool.max_per_sender` transactions pending in the namespace.
    SenderLimit = "SENDER_LIMIT",
    /// The pool is at its count or byte limit and holds nothing it may evict.
    MempoolFull = "MEMPOOL_FULL",
    /// The node holds `mempool.busy_at` transactions (or `busy_at_bytes` payload bytes) ready
    /// for blocks: more than the network
    /// is finishing. Client submissions are refused before any signature work.
    Busy = "BUSY",
    /// No such endpoint, block, committee record or stored height.
    NotFound = "NOT_FOUND",
    /// A height range that starts at 0 or ends before it starts.
    BadRange = "BAD_RANGE",
    /// A height range of more heights than one request may ask for.
    RangeTooLarge = "RANGE_TOO_LARGE",
    /// The node already serves `api.max_streams` rollup streams; the answer carries
    /// `Retry-After`.
    TooManyStreams = "TOO_MANY_STREAMS",
    /// The node failed (a store read or a journal write): not the request's fault.
    Internal = "INTERNAL",
}

impl ErrorCode {
    /// The HTTP status the API answers with this code. (JSON-RPC answers `200` with the code
    /// in `error.data.code`, except `404` for a namespace that is not an EVM rollup.)
    pub const fn http_status(self) -> u16 {
        match self {
            Self::Malformed
            | Self::WrongChain
            | Self::UnknownNamespace
            | Self::WrongTxKind
            | Self::WrongRollupChain
            | Self::WrongEncryptionKey
            | Self::InvalidPayload
            | Self::BadSignature
            | Self::NonceTooLow
            | Self::NonceGapTooLarge
            | Self::BadRange
            | Self::RangeTooLarge => 400,
            Self::NotFound => 404,
            Self::AlreadyKnown => 409,
            Self::PayloadTooLarge | Self::BatchTooLarge => 413,
            Self::SenderLimit | Self::RateLimited => 429,
            Self::Internal => 500,
            Self::MempoolFull | Self::Busy | Self::TooManyStreams | Self::EncKeyUnavailable => 503,
        }
    }

    /// True when the refusal is about the node's load or a limit, not about the request:
    /// sent again unchanged later, it may be accepted.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::RateLimited
                | Self::SenderLimit
                | Self::MempoolFull
                | Self::Busy
                | Self::TooManyStreams
        )
    }

    /// True for the codes transaction admission (the mempool, with the rollups' own rules)
    /// refuses a transaction with: each has its slot in
    /// `ordo_mempool_refused_transactions_total`. The others are answered by the API around it.
    pub const fn is_admission_refusal(self) -> bool {
        match self {
            Self::PayloadTooLarge
            | Self::UnknownNamespace
            | Self::WrongTxKind
            | Self::WrongRollupChain
            | Self::WrongEncryptionKey
            | Self::EncKeyUnavailable
            | Self::InvalidPayload
            | Self::WrongChain
            | Self::BadSignature
            | Self::NonceTooLow
            | Self::NonceGapTooLarge
            | Self::AlreadyKnown
            | Self::SenderLimit
            | Self::MempoolFull
            | Self::Busy
            | Self::Internal => true,
            Self::Malformed
            | Self::BatchTooLarge
            | Self::RateLimited
            | Self::NotFound
            | Self::BadRange
            | Self::RangeTooLarge
            | Self::TooManyStreams => false,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_code_round_trips_through_serde_as_its_string() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert_eq!(code.to_string(), code.as_str());
            let screaming = code
                .as_str()
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_');
            assert!(screaming, "{code}");
        }
        assert!(serde_json::from_str::<ErrorCode>("\"wrong_tx_kind\"").is_err());
        assert!(serde_json::from_str::<ErrorCode>("\"NO_SUCH_CODE\"").is_err());
    }

    #[test]
    fn all_lists_each_code_once() {
        let strings: std::collections::BTreeSet<_> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let codes: std::collections::BTreeSet<_> = ErrorCode::ALL.iter().collect();
        assert_eq!(strings.len(), ErrorCode::ALL.len());
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::ALL.len(), 23);
    }

    /// The statuses are part of the API's contract: pinned here, code by code.
    #[test]
    fn http_statuses_are_pinned() {
        let status = |s: &str| serde_json::from_value::<ErrorCode>(s.into()).unwrap();
        for (code, expected) in [
            ("MALFORMED", 400),
            ("PAYLOAD_TOO_LARGE", 413),
            ("BATCH_TOO_LARGE", 413),
            ("RATE_LIMITED", 429),
            ("WRONG_CHAIN", 400),
            ("UNKNOWN_NAMESPACE", 400),
            ("WRONG_TX_KIND", 400),
            ("WRONG_ROLLUP_CHAIN", 400),
            ("WRONG_ENCRYPTION_KEY", 400),
            ("ENC_KEY_UNAVAILABLE", 503),
            ("INVALID_PAYLOAD", 400),
            ("BAD_SIGNATURE", 400),
            ("NONCE_TOO_LOW", 400),
            ("NONCE_GAP_TOO_LARGE", 400),
            ("ALREADY_KNOWN", 409),
            ("SENDER_LIMIT", 429),
            ("MEMPOOL_FULL", 503),
            ("BUSY", 503),
            ("NOT_FOUND", 404),
            ("BAD_RANGE", 400),
            ("RANGE_TOO_LARGE", 400),
            ("TOO_MANY_STREAMS", 503),
            ("INTERNAL", 500),
        ] {
            assert_eq!(status(code).http_status(), expected, "{code}");
        }
        let retryable: Vec<_> = ErrorCode::ALL
            .iter()
            .filter(|c| c.is_retryable())
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            retryable,
            [
                "RATE_LIMITED",
                "SENDER_LIMIT",
                "MEMPOOL_FULL",
                "BUSY",
                "TOO_MANY_STREAMS"
            ]
        );
    }
}
