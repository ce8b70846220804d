//! The web explorer: the single-page app in `explorer/` (built by `make explorer`, embedded at
//! compile time by `build.rs`, so a node needs no network access to serve it), at `/` and
//! under `/explorer/...`, where every page has a stable URL. The app reads the JSON API; this
//! module adds only what the API does not say and a browser needs:
//! `GET /explorer/api/network`, the registered rollups and what the node read of the L1 stake
//! table (stake per validator, jailed ones).

use std::collections::BTreeMap;

use alloy_primitives::U256;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ordo_types::{Address, StakeEvent};
use serde::Serialize;
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

/// A validator as the stake-table events the node read describe it.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
struct Staker {
    validator: Address,
    operator: Option<Address>,
    active_stake: U256,
    self_stake: U256,
    jailed: bool,
}

/// Folds stake-table events (in chain order) into one line per validator, by address.
fn stakers<'a>(events: impl IntoIterator<Item = &'a StakeEvent>) -> Vec<Staker> {
    let mut by_address: BTreeMap<Address, Staker> = BTreeMap::new();
    for event in events {
        let validator = match event {
            StakeEvent::Registered { validator, .. }
            | StakeEvent::StakeUpdated { validator, .. }
            | StakeEvent::Jailed { validator } => *validator,
        };
        let staker = by_address.entry(validator).or_insert_with(|| Staker {
            validator,
            ..Staker::default()
        });
        match event {
            StakeEvent::Registered { operator, .. } => staker.operator = Some(*operator),
            StakeEvent::StakeUpdated {
                active_stake,
                self_stake,
                ..
            } => (staker.active_stake, staker.self_stake) = (*active_stake, *self_stake),
            StakeEvent::Jailed { .. } => staker.jailed = true,
        }
    }
    by_address.into_values().collect()
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
            "stakers": stakers(view.stake_events().iter().map(|(_, e)| e)),
        })
    });
    Json(json!({ "chain_id": s.chain_id, "rollups": registered, "l1": l1 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stake_events_fold_into_one_line_per_validator() {
        let (a, b) = (Address::repeat_byte(0xaa), Address::repeat_byte(0x0b));
        let events = [
            StakeEvent::Registered {
                validator: a,
                operator: Address::repeat_byte(1),
                public_key: None,
            },
            StakeEvent::StakeUpdated {
                validator: a,
                active_stake: U256::from(5),
                self_stake: U256::from(3),
            },
            StakeEvent::StakeUpdated {
                validator: b,
                active_stake: U256::from(7),
                self_stake: U256::from(7),
            },
            StakeEvent::StakeUpdated {
                validator: a,
                active_stake: U256::from(9),
                self_stake: U256::from(4),
            },
            StakeEvent::Jailed { validator: b },
        ];
        let lines = stakers(&events);
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].validator, lines[0].jailed), (b, true));
        assert_eq!(lines[0].active_stake, U256::from(7));
        assert_eq!(lines[1].operator, Some(Address::repeat_byte(1)));
        assert_eq!(
            (lines[1].active_stake, lines[1].self_stake, lines[1].jailed),
            (U256::from(9), U256::from(4), false)
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
