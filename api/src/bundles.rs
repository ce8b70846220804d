//! Bundles over HTTP: `POST /v1/bundles` (field names after Flashbots' `eth_sendBundle`) and
//! `GET /v1/bundles/{hash}`.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ordo_mempool::{BundleOutcome, BundleStatus, Declared};
use ordo_types::{Address, Bundle, BundleTerms, Bytes, ErrorCode, Transaction, B256};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use crate::hex::{present, Hex};
use crate::transactions::Submitted;
use crate::{ApiError, ApiState};

/// Longest `replacementUuid` accepted.
const MAX_REPLACEMENT_LEN: usize = 64;

/// A bundle as clients submit it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SubmittedBundle {
    /// Ordo transaction objects, or `{"namespace", "raw"}` for a signed Ethereum transaction.
    txs: Vec<Value>,
    /// Highest height the bundle may land at.
    #[serde(default, deserialize_with = "quantity")]
    max_height: Option<u64>,
    /// The one height the bundle may land at (Flashbots' `blockNumber`).
    #[serde(default, deserialize_with = "quantity")]
    block_number: Option<u64>,
    /// Earliest block timestamp, unix seconds.
    #[serde(default, deserialize_with = "quantity")]
    min_timestamp: Option<u64>,
    /// Latest block timestamp, unix seconds.
    #[serde(default, deserialize_with = "quantity")]
    max_timestamp: Option<u64>,
    /// Transactions that may fail on their rollup without their part being dropped.
    #[serde(default)]
    reverting_tx_hashes: Vec<Hex<B256>>,
    /// A later bundle with the same id, from the same first sender, replaces this one.
    #[serde(default, deserialize_with = "present")]
    replacement_uuid: Option<String>,
}

/// A signed Ethereum transaction for an EVM rollup's namespace, and optionally its sender.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    namespace: u64,
    raw: Hex<Bytes>,
    #[serde(default, deserialize_with = "present")]
    from: Option<Hex<Address>>,
}

/// A bundle ready for admission: the bundle, its `replacementUuid`, and what the client
/// declared about each transaction.
pub(crate) type Parsed = (Bundle, Option<String>, Vec<Declared>);

/// A number as JSON, or as `0x` and 1 to 16 hex digits (Flashbots' quantities); present, so
/// never `null`.
fn quantity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Quantity {
        Number(u64),
        Text(String),
    }
    match Quantity::deserialize(d)? {
        Quantity::Number(n) => Ok(Some(n)),
        Quantity::Text(t) => t
            .strip_prefix("0x")
            .filter(|h| (1..=16).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .map(Some)
            .ok_or_else(|| {
                serde::de::Error::custom("a quantity is a number, or 0x and 1 to 16 hex digits")
            }),
    }
}

impl SubmittedBundle {
    /// The bundle, its replacement id and each transaction's declarations, or why it is
    /// malformed.
    pub(crate) fn into_bundle(self) -> Result<Parsed, ApiError> {
        let malformed = |m: String| ApiError::new(ErrorCode::Malformed, m);
        let (min_height, max_height) = match (self.block_number, self.max_height) {
            (Some(_), Some(_)) => {
                return Err(malformed("give blockNumber or maxHeight, not both".into()))
            }
            (Some(n), None) => (n, n),
            (None, Some(n)) => (0, n),
            (None, None) => (0, 0),
        };
        if max_height == 0 && self.max_timestamp.unwrap_or(0) == 0 {
            return Err(malformed(
                "a bundle says until when it may land: maxHeight, blockNumber or maxTimestamp"
                    .into(),
            ));
        }
        if let Some(uuid) = self.replacement_uuid.as_ref() {
            if uuid.is_empty() || uuid.len() > MAX_REPLACEMENT_LEN {
                return Err(malformed(format!(
                    "replacementUuid must be 1 to {MAX_REPLACEMENT_LEN} characters"
                )));
            }
        }
        let (txs, declared): (Vec<_>, Vec<_>) = self
            .txs
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                item_to_transaction(item)
                    .map_err(|e| ApiError::new(e.code, format!("transaction {i}: {}", e.message)))
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .unzip();
        let terms = BundleTerms {
            min_height,
            max_height,
            min_timestamp: self.min_timestamp.unwrap_or(0),
            max_timestamp: self.max_timestamp.unwrap_or(0),
            reverting: self.reverting_tx_hashes.into_iter().map(|h| h.0).collect(),
        };
        let bundle = Bundle::new(terms, txs).map_err(|e| malformed(e.to_string()))?;
        Ok((bundle, self.replacement_uuid, declared))
    }
}

fn item_to_transaction(item: Value) -> Result<(Transaction, Declared), ApiError> {
    let malformed = |e: serde_json::Error| ApiError::new(ErrorCode::Malformed, e.to_string());
    if item.get("raw").is_some() {
        let raw: RawItem = serde_json::from_value(item).map_err(malformed)?;
        let tx = Transaction::ethereum(raw.namespace, raw.raw.0)
            .map_err(|e| ApiError::new(ErrorCode::Malformed, e.to_string()))?;
        let declared = Declared {
            from: raw.from.map(|f| f.0),
            ..Declared::default()
        };
        Ok((tx, declared))
    } else {
        let submitted: Submitted = serde_json::from_value(item).map_err(malformed)?;
        submitted.into_declared()
    }
}

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/bundles", post(submit))
        .route("/v1/bundles/{hash}", get(status))
}

async fn submit(
    State(s): State<ApiState>,
    body: Result<Json<SubmittedBundle>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(submitted) = body?;
    let (bundle, replacement, declared) = submitted.into_bundle()?;
    let hash = s
        .mempool
        .admit_bundle(bundle, replacement, declared)
        .await
        .map_err(|(index, e)| {
            let message = match index {
                Some(i) => format!("transaction {i}: {e}"),
                None => e.to_string(),
            };
            ApiError::new(e.code(), message)
        })?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "hash": hash }))))
}

async fn status(
    State(s): State<ApiState>,
    path: Result<Path<Hex<B256>>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(Hex(hash)) = path?;
    if let Some(height) = s.store.bundle_height(&hash).map_err(ApiError::internal)? {
        let decided = s
            .store
            .decided(height)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal(format!("bundle index names height {height}")))?;
        let (placed, proof) = decided
            .block
            .body
            .bundle(&hash)
            .ok_or_else(|| ApiError::internal(format!("block {height} lacks bundle {hash}")))?;
        let parts: Vec<Value> = placed
            .parts
            .iter()
            .map(|p| json!({ "namespace": p.namespace, "index": p.start, "count": p.hashes.len() }))
            .collect();
        return Ok(Json(json!({
            "hash": hash, "status": "included", "height": height,
            "block_hash": decided.block.hash(), "parts": parts,
            "bundle": placed, "proof": proof,
        })));
    }
    Ok(Json(match s.mempool.bundle_status(&hash) {
        BundleStatus::Pending => json!({ "hash": hash, "status": "pending" }),
        // Decided but not yet indexed here: the store is written first, so this is rare.
        BundleStatus::Gone(BundleOutcome::Included { height }) => {
            json!({ "hash": hash, "status": "included", "height": height })
        }
        BundleStatus::Gone(BundleOutcome::Expired) => json!({ "hash": hash, "status": "expired" }),
        BundleStatus::Gone(BundleOutcome::Replaced { by }) => {
            json!({ "hash": hash, "status": "replaced", "by": by })
        }
        BundleStatus::Gone(BundleOutcome::Dropped { reason }) => json!({
            "hash": hash, "status": "refused", "code": ErrorCode::NonceTooLow, "message": reason,
        }),
        BundleStatus::Unknown => json!({ "hash": hash, "status": "unknown" }),
    }))
}
