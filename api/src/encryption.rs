//! `GET /v1/encryption`: the key encrypted transactions are sealed to, and which rollups take
//! them (docs/ENCRYPTION.md).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use ordo_types::Bytes;
use serde_json::json;

use crate::hex::Hex;
use crate::{ApiError, ApiState, ErrorCode};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/encryption", get(encryption))
        .route("/v1/encryption/keys/{commitment}", get(key_by_commitment))
}

/// A key by the commitment block headers name it with
/// (`encryption_key_hash`), for clients checking openings (they check the commitment).
async fn key_by_commitment(
    State(s): State<ApiState>,
    path: Result<Path<Hex<ordo_types::B256>>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(Hex(commitment)) = path?;
    let key = s
        .mempool
        .admission()
        .key_by_commitment(&commitment)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no key with commitment {commitment} (a node serves the keys it generated or replayed since it started)"
            ))
        })?;
    Ok(Json(json!({
        "key_id": key.key_id,
        "epoch": key.epoch,
        "from_height": key.from_height,
        "public_key": Bytes::copy_from_slice(&key.encryption_key().public_bytes()),
    })))
}

async fn encryption(State(s): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let admission = s.mempool.admission();
    let key = admission.sealing_key().ok_or_else(|| {
        let why = match admission.keygen() {
            Some(_) => "the committee has not generated this epoch's encryption key (or its key generation failed)",
            None => "this chain has no encrypted lane",
        };
        ApiError::new(ErrorCode::EncKeyUnavailable, why)
    })?;
    let rollups = admission.rollups();
    let namespaces: Vec<u64> = rollups
        .namespaces()
        .filter(|&ns| rollups.registration(ns).is_some_and(|r| r.encrypted))
        .collect();
    Ok(Json(json!({
        "key_id": key.key_id,
        // The first height whose encrypted transactions it opens.
        "from_height": key.from_height,
        // The epoch it serves: in an epoch's last key-generation window, the next one's, so
        // what is sealed now is included under it (docs/ENCRYPTION.md).
        "epoch": key.epoch,
        "public_key": Bytes::copy_from_slice(&key.encryption_key().public_bytes()),
        "identity": ordo_types::IDENTITY_RULE,
        "namespaces": namespaces,
    })))
}
