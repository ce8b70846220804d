//! How a rollup kind plugs into Ordo: which payloads it accepts, and how a verified block's
//! entries look to its execution side.

use ordo_types::Entry;
use serde_json::{json, Value};

/// A payload a rollup refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The payload is larger than the rollup accepts.
    #[error("payload of {size} bytes exceeds the rollup's limit of {max}")]
    TooLarge {
        /// Payload size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is not a valid transaction for this rollup.
    #[error("invalid payload: {0}")]
    Invalid(String),
}

/// A kind of rollup. Implementations are pure: no I/O, so they can run in admission paths and
/// on verified blocks alike.
pub trait RollupAdapter: Send + Sync {
    /// A short stable name of the kind (`raw`, ...).
    fn kind(&self) -> &'static str;

    /// Checks that `payload` is acceptable to this rollup (before it is sequenced).
    fn check_payload(&self, payload: &[u8]) -> Result<(), AdapterError>;

    /// The JSON the rollup's execution side consumes for one namespace block's entries, in
    /// block order.
    fn render(&self, entries: &[Entry]) -> Value;
}

/// Opaque bytes: any payload is acceptable; entries render as `0x`-hex payloads with their
/// transaction hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawAdapter;

impl RollupAdapter for RawAdapter {
    fn kind(&self) -> &'static str {
        "raw"
    }

    fn check_payload(&self, _payload: &[u8]) -> Result<(), AdapterError> {
        Ok(())
    }

    fn render(&self, entries: &[Entry]) -> Value {
        let transactions: Vec<Value> = entries
            .iter()
            .map(|e| {
                let mut tx = json!({
                    "hash": e.hash(),
                    "payload": format!("0x{}", hex::encode(e.payload())),
                    "forced": matches!(e, Entry::Forced(_)),
                });
                if let (Entry::Forced(f), Some(obj)) = (e, tx.as_object_mut()) {
                    obj.insert("inbox_index".into(), json!(f.inbox_index));
                    obj.insert("l1_sender".into(), json!(f.sender));
                }
                tx
            })
            .collect();
        json!({ "kind": self.kind(), "transactions": transactions })
    }
}

/// The adapter for a rollup kind name, if it is one this crate provides.
pub fn adapter_for(kind: &str) -> Option<Box<dyn RollupAdapter>> {
    match kind {
        "raw" => Some(Box::new(RawAdapter)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ordo_types::{Address, Bytes, ForcedTransaction, SecretKey, Transaction};

    #[test]
    fn raw_accepts_anything_and_renders_hex_with_hashes() {
        let raw = adapter_for("raw").unwrap();
        assert_eq!(raw.kind(), "raw");
        for payload in [&b""[..], b"\x00\xff", &[7u8; 4096]] {
            raw.check_payload(payload).unwrap();
        }
        let key = SecretKey::from_bytes(&[3; 32]).unwrap();
        let tx = Transaction::sign(7, 0, Bytes::from_static(&[0xde, 0xad]), &key, 1);
        let forced = ForcedTransaction {
            inbox_index: 9,
            sender: Address::repeat_byte(0x11),
            payload: Bytes::new(),
        };
        let entries = vec![Entry::Signed(tx.clone()), Entry::Forced(forced.clone())];
        let out = raw.render(&entries);
        assert_eq!(out["kind"], "raw");
        let txs = out["transactions"].as_array().unwrap();
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0]["payload"], "0xdead");
        assert_eq!(txs[0]["hash"], tx.hash().to_string());
        assert_eq!(txs[0]["forced"], false);
        assert_eq!(txs[1]["payload"], "0x");
        assert_eq!(txs[1]["hash"], forced.hash().to_string());
        assert_eq!(txs[1]["forced"], true);
        assert_eq!(txs[1]["inbox_index"], 9);
        assert_eq!(raw.render(&[])["transactions"], json!([]));
        assert!(adapter_for("evm").is_none());
    }
}
