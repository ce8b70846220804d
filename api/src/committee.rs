//! `GET /v1/validators`: the committee deciding the next height, and the one after it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use ordo_types::ValidatorSet;
use serde_json::json;

use crate::{ApiError, ApiState};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/v1/validators", get(validators))
}

fn set_json(set: Option<&ValidatorSet>) -> serde_json::Value {
    match set {
        None => serde_json::Value::Null,
        Some(set) => json!({
            "hash": set.hash(),
            "total_power": set.total_power(),
            "validators": set.validators(),
        }),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AtHeight {
    height: Option<u64>,
}

async fn validators(
    State(s): State<ApiState>,
    query: Result<Query<AtHeight>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(AtHeight { height }) = query?;
    let Some(height) = height else {
        let st = s.status.borrow().clone();
        return Ok(Json(json!({
            "height": st.height + 1,
            "current": set_json(st.validators.as_ref()),
            "next": set_json(st.next_validators.as_ref()),
        })));
    };
    // The committee that decided a stored block: by the epoch in its header.
    let store = s.store.clone();
    let set = tokio::task::spawn_blocking(move || {
        let block = store
            .block(height)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))?;
        store
            .committee(block.header.epoch)
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::not_found(format!("committee of height {height} not recorded"))
            })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(
        json!({ "height": height, "current": set_json(Some(&set)) }),
    ))
}
