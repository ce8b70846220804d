//! `GET /v1/forced?namespace=N`: a namespace's inbox items, queued and included.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use ordo_types::B256;
use serde::Deserialize;
use serde_json::json;

use crate::{ApiError, ApiState};

/// Most items one response lists (the latest ones).
const MAX_ITEMS: usize = 1_000;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/v1/forced", get(forced))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForcedQuery {
    namespace: u64,
}

async fn forced(
    State(s): State<ApiState>,
    query: Result<Query<ForcedQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(ForcedQuery { namespace }) = query?;
    let Some(l1) = &s.l1 else {
        return Ok(Json(json!({
            "namespace": namespace,
            "l1": false,
            "items": [],
        })));
    };
    let (confirmed, error, mut items) = {
        let view = l1.view.borrow();
        let items: Vec<_> = view
            .inbox()
            .iter()
            .rev()
            .filter(|i| i.namespace == namespace)
            .take(MAX_ITEMS)
            .cloned()
            .collect();
        (view.confirmed, view.last_error.clone(), items)
    };
    items.reverse();
    let delay = l1.inclusion_delay;
    let store = s.store.clone();
    let listed = tokio::task::spawn_blocking(move || {
        items
            .into_iter()
            .map(|item| {
                let hash: B256 = item.to_forced().hash();
                let location = store
                    .transaction_location(&hash)
                    .map_err(ApiError::internal)?;
                Ok(json!({
                    "index": item.index,
                    "namespace": item.namespace,
                    "sender": item.sender,
                    "payload": item.payload,
                    "l1_block": item.l1_block,
                    "deadline": item.deadline(delay),
                    "hash": hash,
                    "status": if location.is_some() { "included" } else { "queued" },
                    "height": location.map(|(h, _, _)| h),
                }))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(json!({
        "namespace": namespace,
        "l1": true,
        "confirmed_l1_block": confirmed.map(|c| c.number),
        "inclusion_delay": delay,
        "l1_error": error,
        "items": listed,
    })))
}
