//! `GET /v1/validators`: the committee deciding the next height, and the one after it.
//! `GET /v1/handovers`: the certified headers where one committee hands over to the next, for a
//! light client to move its trust from genesis (or any trusted committee) to a later height.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use ordo_rollup_adapters::{Handover, Handovers, MAX_HANDOVERS};
use ordo_types::ValidatorSet;
use serde_json::json;

use crate::{ApiError, ApiState, ErrorCode};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/validators", get(validators))
        .route("/v1/handovers", get(handovers))
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

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Span {
    from: Option<u64>,
    to: Option<u64>,
}

/// `GET /v1/handovers?from=H&to=H2`: the handovers at heights `from..=to` (`from` defaults to
/// 1, `to` to the tip and is cut at it; none when `to` is below `from`), at most
/// [`MAX_HANDOVERS`]; a full answer ends at its last handover, to be asked again from there.
async fn handovers(
    State(s): State<ApiState>,
    query: Result<Query<Span>, QueryRejection>,
) -> Result<Json<Handovers>, ApiError> {
    let Query(Span { from, to }) = query?;
    let from = from.unwrap_or(1);
    if from == 0 || to == Some(0) {
        return Err(ApiError::new(ErrorCode::BadRange, "heights start at 1"));
    }
    let store = s.store.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let tip = store.tip_height().map_err(ApiError::internal)?.unwrap_or(0);
        let mut to = to.unwrap_or(tip).min(tip);
        let heights = store
            .handovers(from, to, MAX_HANDOVERS)
            .map_err(ApiError::internal)?;
        if heights.len() == MAX_HANDOVERS {
            to = heights[MAX_HANDOVERS - 1];
        }
        let handovers = heights
            .into_iter()
            .map(|height| {
                let d = store
                    .decided(height)
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::internal(format!("handover {height} not stored")))?;
                let header = d.block.header;
                let next = store
                    .committee(header.epoch + 1)
                    .map_err(ApiError::internal)?
                    .filter(|set| set.hash() == header.next_validators_hash)
                    .ok_or_else(|| {
                        ApiError::internal(format!("the committee after {height} is not recorded"))
                    })?;
                Ok(Handover {
                    header,
                    certificate: d.certificate,
                    next,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok::<_, ApiError>(Handovers {
            from,
            to,
            handovers,
        })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(answer))
}
