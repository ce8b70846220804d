//! The web explorer: the single-page app in `explorer/` (built by `make explorer`, embedded at
//! compile time by `build.rs`, so a node needs no network access to serve it), at `/` and
//! under `/explorer/...`, where every page has a stable URL. The app reads the JSON API; this
//! module adds only what the API does not say and a browser needs:
//! `GET /explorer/api/network`, the registered rollups and what the node read of the L1 stake
//! table (stake per validator, jailed ones).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ordo_types::StakeEvent;
use serde_json::json;

use crate::{ApiError, ApiState};

/// The built assets, `(path under explorer/dist, bytes)`, sorted by path.
const ASSETS: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/explorer_assets.rs"));

/// The explorer's routes, merged into the API's router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(index))
        .route("/explorer", get(index))
        .route("/explorer/", get(index))
        .route("/explorer/api/network", get(network))
        .route("/explorer/{*path}", get(asset))
}

fn find(path: &str) -> Option<&'static [u8]> {
    ASSETS
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .and_then(|i| ASSETS.get(i))
        .map(|(_, bytes)| *bytes)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

async fn index() -> Response {
    serve("index.html").unwrap_or_else(|e| e.into_response())
}

/// A built file, or the app's page for any other path (its router draws the page), except
/// under `assets/`, where a missing file is a 404.
async fn asset(Path(path): Path<String>) -> Response {
    let answer = match find(&path) {
        Some(_) => serve(&path),
        None if path.starts_with("assets/") => {
            Err(ApiError::not_found(format!("no explorer asset {path}")))
        }
        None => serve("index.html"),
    };
    answer.unwrap_or_else(|e| e.into_response())
}

fn serve(path: &str) -> Result<Response, ApiError> {
    let bytes =
        find(path).ok_or_else(|| ApiError::not_found(format!("no explorer file {path}")))?;
    // Vite names assets by their content hash, so they never change; the page itself may.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type(path)),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

/// One line per validator of the stake table as this node read it from the L1.
fn stakers(events: &[(u64, StakeEvent)]) -> Vec<serde_json::Value> {
    ordo_chain::stake_table(events, u64::MAX)
        .into_iter()
        .map(|(validator, s)| {
            json!({
                "validator": validator,
                "operator": s.operator,
                "active_stake": s.active_stake,
                "self_stake": s.self_stake,
                "jailed": s.jailed,
            })
        })
        .collect()
}

/// `GET /explorer/api/network`: the registered rollups, and the L1 as this node reads it.
async fn network(State(s): State<ApiState>) -> Json<serde_json::Value> {
    let rollups = s.mempool.admission().rollups();
    let registered: Vec<_> = rollups
        .namespaces()
        .filter_map(|ns| rollups.registration(ns))
        .collect();
    let l1 = s.l1.as_ref().map(|l1| {
        let view = l1.view.borrow();
        json!({
            "confirmed_block": view.confirmed.map(|c| c.number),
            "inclusion_delay": l1.inclusion_delay,
            "error": view.last_error,
            "stakers": stakers(view.stake_events()),
        })
    });
    Json(json!({ "chain_id": s.chain_id, "rollups": registered, "l1": l1 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;
    use ordo_types::Address;

    #[test]
    fn stake_events_fold_into_one_line_per_validator() {
        let (a, b) = (Address::repeat_byte(0xaa), Address::repeat_byte(0x0b));
        let update = |validator, active: u64, own: u64| StakeEvent::StakeUpdated {
            validator,
            active_stake: U256::from(active),
            self_stake: U256::from(own),
        };
        let events = [
            StakeEvent::Registered {
                validator: a,
                operator: Address::repeat_byte(1),
                public_key: None,
            },
            update(a, 5, 3),
            update(b, 7, 7),
            update(a, 9, 4),
            StakeEvent::Jailed { validator: b },
        ]
        .map(|e| (1, e));
        let lines = stakers(&events);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["validator"], json!(b));
        assert_eq!(lines[0]["jailed"], true);
        assert_eq!(lines[0]["active_stake"], json!(U256::from(7)));
        assert_eq!(lines[1]["operator"], json!(Address::repeat_byte(1)));
        assert_eq!(
            (
                &lines[1]["active_stake"],
                &lines[1]["self_stake"],
                &lines[1]["jailed"]
            ),
            (&json!(U256::from(9)), &json!(U256::from(4)), &json!(false))
        );
    }

    #[test]
    fn every_built_file_is_found_and_unknown_pages_fall_back_to_the_app() {
        assert!(
            find("index.html").is_some(),
            "index.html is always embedded"
        );
        for (path, bytes) in ASSETS {
            assert_eq!(find(path), Some(*bytes));
        }
        assert_eq!(
            content_type("assets/index-x.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(find("blocks/12"), None);
    }
}
