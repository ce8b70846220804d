//! `GET /v1/validators`: the committee deciding the next height, and the one after it.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ordo_types::ValidatorSet;
use serde_json::json;

use crate::ApiState;

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

async fn validators(State(s): State<ApiState>) -> Json<serde_json::Value> {
    let st = s.status.borrow().clone();
    Json(json!({
        "height": st.height + 1,
        "current": set_json(st.validators.as_ref()),
        "next": set_json(st.next_validators.as_ref()),
    }))
}
