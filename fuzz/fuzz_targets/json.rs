//! JSON the node takes from outside: transactions as `POST /v1/transactions` and
//! `/v1/transactions/batch` carry them, the JSON-RPC bodies of `POST /v1/rollups/{ns}/rpc`
//! (`eth_sendRawTransaction`), signatures and keys, and the saved L1 view
//! (`data/l1-view.json`). The first byte picks which. Checked: no panic; what parses
//! serializes back to JSON that parses to the same value; a parsed transaction's encoding is
//! canonical and its hash the one its encoding gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo_fuzz::canonical;
use ordo_types::{Encode, L1View, PublicKey, Signature, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Parses `bytes` as `T`; if that works, checks the JSON round trip and returns the value.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug>(
    bytes: &[u8],
) -> Option<T> {
    let value: T = serde_json::from_slice(bytes).ok()?;
    let text = serde_json::to_string(&value).expect("a parsed value serializes");
    let again: T = serde_json::from_str(&text).expect("serialized JSON parses");
    assert_eq!(again, value);
    Some(value)
}

fn check_transaction(tx: &Transaction) {
    let again: Option<Transaction> = canonical(&tx.encode());
    assert_eq!(again.as_ref(), Some(tx));
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 6 {
        0 => {
            if let Some(tx) = round_trip::<Transaction>(bytes) {
                check_transaction(&tx);
            }
        }
        1 => {
            // A batch: an array whose items parse (or fail) one by one.
            if let Ok(items) = serde_json::from_slice::<Vec<Value>>(bytes) {
                for item in items {
                    if let Ok(tx) = serde_json::from_value::<Transaction>(item) {
                        check_transaction(&tx);
                    }
                }
            }
        }
        2 => {
            // A JSON-RPC body, one call or a batch; the raw transaction of
            // `eth_sendRawTransaction` is hex in the first parameter.
            let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
                return;
            };
            let calls = match body {
                Value::Array(calls) => calls,
                call => vec![call],
            };
            for call in calls {
                let raw = call
                    .get("params")
                    .and_then(|p| p.get(0))
                    .and_then(Value::as_str);
                if let Some(raw) = raw {
                    if let Ok(raw) = hex::decode(raw.trim_start_matches("0x")) {
                        if let Ok(tx) = Transaction::ethereum(901, raw.into()) {
                            check_transaction(&tx);
                        }
                    }
                }
            }
        }
        3 => {
            if let Some(sig) = round_trip::<Signature>(bytes) {
                assert_eq!(Signature::from_slice(&sig.0), Ok(sig));
            }
        }
        4 => {
            if let Some(key) = round_trip::<PublicKey>(bytes) {
                assert_eq!(PublicKey::from_sec1(&key.to_sec1()), Ok(key));
            }
        }
        _ => {
            if let Some(view) = round_trip::<L1View>(bytes) {
                let _ = view.inbox_item(view.confirmed_number());
                let _ = view.block_hash(view.confirmed_number());
            }
        }
    }
});
