//! Ordo's HTTP API (axum): node status, decided blocks with their certificates, per-namespace
//! blocks with proofs, transaction submission and status, mempool summary, Ethereum JSON-RPC
//! for EVM rollups (`/v1/rollups/{ns}/rpc`), force-inclusion items (`/v1/forced`), the
//! committee (`/v1/validators`), Prometheus metrics and the OpenAPI document
//! (`/openapi.json`).
//!
//! Every error is JSON `{"code", "message"}` with a fitting HTTP status; no input can crash the
//! server. Input is read exactly as `openapi.json` describes it (`0x` hex, no `null` for an
//! optional field, no unknown field), and each endpoint answers only the statuses the document
//! lists for it: `node/tests/it/openapi.rs` holds a live node to that with schemathesis. Bodies are size-limited, submissions are rate-limited per client IP, and CORS is open
//! so browser clients can call any node. Connections are capped in total and per client IP,
//! a request's head and body must arrive in time, and rollup streams are capped (the `server`
//! module, `api.max_connections` and the settings after it). Build the router with [`router`] and serve it with
//! [`serve`].

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod bundles;
mod committee;
mod encryption;
mod explorer;
mod forced;
mod hex;
mod rollup;
mod rpc;
mod server;
mod transactions;

pub use rpc::ExecutionRpc;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ordo_consensus::{DecidedBlock, NodeStatus, Store};
use ordo_mempool::Mempool;
use ordo_types::{Address, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::watch;

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    /// Chain id of the network.
    pub chain_id: u64,
    /// This node's validator address, if it has a key.
    pub address: Option<Address>,
    /// Whether this node is in the committee.
    pub is_validator: bool,
    /// Decided blocks.
    pub store: Store,
    /// Live consensus status.
    pub status: watch::Receiver<NodeStatus>,
    /// The latest decided block, as consensus publishes it.
    pub decided: watch::Receiver<Option<Arc<DecidedBlock>>>,
    /// The highest height whose encrypted transactions this node has opened.
    pub opened: watch::Receiver<u64>,
    /// The local mempool.
    pub mempool: Mempool,
    /// Most transactions in one batch submission.
    pub max_batch: usize,
    /// EVM rollups' execution nodes, for JSON-RPC forwarding (from [`ApiConfig`]).
    pub execution_rpc: Arc<Vec<ExecutionRpc>>,
    /// The L1 view, when the network has an L1 (`GET /v1/forced`).
    pub l1: Option<ApiL1>,
    /// The node's supervised tasks (`/v1/health` names one that is down).
    pub tasks: watch::Receiver<Vec<TaskStatus>>,
}

/// A supervised task's state, as `/v1/health` and `/metrics` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskStatus {
    /// The task's name (`api`, `gossip`, `l1-watcher`, ...).
    pub name: &'static str,
    /// Whether it is running.
    pub up: bool,
    /// How many times it was restarted.
    pub restarts: u64,
    /// Why it last stopped.
    pub last_error: Option<String>,
}

/// What the API reads of the L1.
#[derive(Clone)]
pub struct ApiL1 {
    /// The watcher's view.
    pub view: watch::Receiver<ordo_types::L1View>,
    /// L1 blocks from an inbox item's block to its deadline.
    pub inclusion_delay: u64,
}

/// API settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most transactions in one `POST /v1/transactions/batch`.
    pub max_batch: usize,
    /// Largest accepted batch body, in bytes.
    pub max_batch_body_bytes: usize,
    /// Submissions per second allowed per client IP (0: unlimited).
    pub rate_limit_per_second: u32,
    /// Submissions a client IP may make in a burst.
    pub rate_limit_burst: u32,
    /// Most open connections; one past it is closed on accept (0: no cap).
    pub max_connections: usize,
    /// Most open connections from one client IP (0: no cap; behind a proxy every client has
    /// its address).
    pub max_connections_per_ip: usize,
    /// Milliseconds a request's head (request line and headers) may take to arrive, counted
    /// from when the connection is ready for it: on connect and after each response, so it is
    /// also the idle keep-alive timeout (0: none).
    pub header_read_timeout_ms: u64,
    /// Milliseconds a request's body may take to arrive after its head; past it the request is
    /// answered `MALFORMED` (0: none).
    pub body_read_timeout_ms: u64,
    /// Most rollup streams (`/v1/namespaces/{ns}/stream`) served at once; one more is refused
    /// with `TOO_MANY_STREAMS` (0: no cap).
    pub max_streams: usize,
    /// EVM rollups' execution nodes: `/v1/rollups/{ns}/rpc` forwards what it does not answer
    /// itself to the one of that namespace.
    pub execution_rpc: Vec<ExecutionRpc>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8650)),
            max_body_bytes: 1024 * 1024,
            max_batch: 2_000,
            max_batch_body_bytes: 8 * 1024 * 1024,
            rate_limit_per_second: 1_000,
            rate_limit_burst: 2_000,
            max_connections: 2_048,
            max_connections_per_ip: 512,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            max_streams: 512,
            execution_rpc: Vec::new(),
        }
    }
}

/// An API error: a stable code and a message, answered with the code's HTTP status.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::Internal, e.to_string())
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status(),
            Json(json!({ "code": self.code, "message": self.message })),
        )
            .into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        match e {
            JsonRejection::BytesRejection(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(ErrorCode::PayloadTooLarge, e.body_text())
            }
            _ => Self::new(ErrorCode::Malformed, e.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        Self::new(ErrorCode::Malformed, e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::new(ErrorCode::Malformed, e.body_text())
    }
}

/// The OpenAPI document describing every endpoint.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The API's routes.
pub fn router(state: ApiState, config: &ApiConfig) -> Router {
    let limiter =
        transactions::RateLimiter::new(config.rate_limit_per_second, config.rate_limit_burst);
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/blocks/{height}/transactions", get(block_transactions))
        .route("/v1/blocks/{height}/raw", get(block_raw))
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { ([("content-type", "application/json")], OPENAPI) }),
        )
        .merge(
            transactions::routes(config.max_batch_body_bytes)
                .merge(bundles::routes())
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    transactions::refuse_when_overloaded,
                )),
        )
        .merge(rollup::routes(config.max_streams))
        .merge(forced::routes())
        .merge(committee::routes())
        .merge(encryption::routes())
        .merge(explorer::routes())
        .merge(rpc::routes())
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            limiter,
            transactions::rate_limit,
        ))
        .layer(tower_http::cors::CorsLayer::permissive())
        .with_state(state)
}

/// Serves the API until the task is dropped, within the connection limits of `config`
/// (the `server` module describes them).
pub async fn serve(state: ApiState, config: ApiConfig) -> std::io::Result<()> {
    server::serve(state, config).await
}

async fn metrics(State(s): State<ApiState>) -> impl IntoResponse {
    let st = s.status.borrow().clone();
    let mut out = String::new();
    s.mempool
        .metrics()
        .render(&mut out, s.mempool.len(), s.mempool.bytes());
    out.push_str(&format!(
        "# HELP ordo_consensus_height Latest decided height.\n# TYPE ordo_consensus_height gauge\nordo_consensus_height {}\n\
         # HELP ordo_p2p_peers Connected consensus peers.\n# TYPE ordo_p2p_peers gauge\nordo_p2p_peers {}\n",
        st.height, st.peers
    ));
    if let Ok(r) = readiness(&s) {
        out.push_str(&format!(
            "# HELP ordo_node_ready 1 when /v1/health answers 200, else 0.\n# TYPE ordo_node_ready gauge\nordo_node_ready {}\n",
            u8::from(r.problems.is_empty())
        ));
        if let Some(age) = r.latest_block_age_ms {
            out.push_str(&format!(
                "# HELP ordo_consensus_latest_block_age_seconds Seconds since the latest decided block's timestamp.\n# TYPE ordo_consensus_latest_block_age_seconds gauge\nordo_consensus_latest_block_age_seconds {:.3}\n",
                age as f64 / 1000.0
            ));
        }
    }
    if let Some(l1) = &s.l1 {
        let (confirmed, items, failing) = {
            let view = l1.view.borrow();
            (
                view.confirmed_number(),
                view.inbox().len(),
                u8::from(view.last_error.is_some()),
            )
        };
        out.push_str(&format!(
            "# HELP ordo_l1_confirmed_block Latest L1 block the watcher has read (confirmed).
# TYPE ordo_l1_confirmed_block gauge
ordo_l1_confirmed_block {confirmed}
             # HELP ordo_l1_inbox_items Inbox items read from the L1.
# TYPE ordo_l1_inbox_items gauge
ordo_l1_inbox_items {items}
             # HELP ordo_l1_read_failing 1 while the last L1 read failed.
# TYPE ordo_l1_read_failing gauge
ordo_l1_read_failing {failing}
"
        ));
    }
    let tasks = s.tasks.borrow().clone();
    if !tasks.is_empty() {
        out.push_str("# HELP ordo_node_task_up 1 while a supervised task runs, 0 while it is down.\n# TYPE ordo_node_task_up gauge\n");
        for t in &tasks {
            out.push_str(&format!(
                "ordo_node_task_up{{task=\"{}\"}} {}\n",
                t.name,
                u8::from(t.up)
            ));
        }
        out.push_str("# HELP ordo_node_task_restarts_total Restarts of a supervised task.\n# TYPE ordo_node_task_restarts_total counter\n");
        for t in &tasks {
            out.push_str(&format!(
                "ordo_node_task_restarts_total{{task=\"{}\"}} {}\n",
                t.name, t.restarts
            ));
        }
    }
    if let Some(set) = &st.validators {
        out.push_str(&format!(
            "# HELP ordo_committee_size Validators in the committee deciding the next height.
# TYPE ordo_committee_size gauge
ordo_committee_size {}
",
            set.len()
        ));
    }
    ([("content-type", "text/plain; version=0.0.4")], out)
}

async fn status(State(s): State<ApiState>) -> Json<serde_json::Value> {
    let st = s.status.borrow().clone();
    Json(json!({
        "chain_id": s.chain_id,
        "height": st.height,
        "latest_block_hash": st.latest_block_hash,
        "round": st.round,
        "address": s.address,
        "is_validator": s.is_validator,
        "peers": st.peers,
        "syncing": st.syncing,
        "mempool_size": s.mempool.len(),
        "pid": std::process::id(),
    }))
}

/// A node is not ready when its latest block is older than this (blocks come every 200 ms by
/// default, empty ones included, so a healthy network is far below it).
pub const HEALTH_STALL_AFTER_MS: u64 = 10_000;

/// Readiness from the node's own view: why it is not ready, or nothing when it is. Pure, so the
/// rules are tested without a node.
pub fn readiness_problems(
    height: u64,
    latest_block_age_ms: Option<u64>,
    syncing: bool,
    peers: usize,
    expect_peers: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    if height == 0 {
        problems.push("no block decided yet".to_owned());
    }
    if let Some(age) = latest_block_age_ms.filter(|a| *a > HEALTH_STALL_AFTER_MS) {
        problems.push(format!(
            "consensus stalled: latest block is {age} ms old (limit {HEALTH_STALL_AFTER_MS} ms)"
        ));
    }
    if syncing {
        problems.push("catching up through sync".to_owned());
    }
    if expect_peers && peers == 0 {
        problems.push("no consensus peers connected".to_owned());
    }
    problems
}

/// What `/v1/health` and `/metrics` say about readiness.
struct Readiness {
    height: u64,
    latest_block_age_ms: Option<u64>,
    problems: Vec<String>,
}

fn readiness(s: &ApiState) -> Result<Readiness, ApiError> {
    let st = s.status.borrow().clone();
    let tip = match s.store.tip_height().map_err(ApiError::internal)? {
        Some(h) => s.store.decided(h).map_err(ApiError::internal)?,
        None => None,
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    let age = tip
        .as_ref()
        .map(|d| now_ms.saturating_sub(d.block.header.timestamp_ms));
    let height = tip.as_ref().map_or(0, |d| d.block.header.height);
    // A node whose latest block was signed by others expects peers.
    let expect_peers = tip
        .as_ref()
        .is_some_and(|d| d.certificate.signatures.len() > 1);
    let mut problems = readiness_problems(height, age, st.syncing, st.peers, expect_peers);
    for task in s.tasks.borrow().iter().filter(|t| !t.up) {
        problems.push(format!(
            "task {} is down ({}); restarting",
            task.name,
            task.last_error.as_deref().unwrap_or("stopped")
        ));
    }
    Ok(Readiness {
        height,
        latest_block_age_ms: age,
        problems,
    })
}

/// `GET /v1/health`: any answer means the process is live; `200` means ready (deciding blocks,
/// not catching up), `503` lists the reasons it is not.
async fn health(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let st = s.status.borrow().clone();
    let r = readiness(&s)?;
    let ready = r.problems.is_empty();
    let body = json!({
        "status": if ready { "ok" } else { "unavailable" },
        "live": true,
        "ready": ready,
        "height": r.height,
        "latest_block_age_ms": r.latest_block_age_ms,
        "peers": st.peers,
        "syncing": st.syncing,
        "reasons": r.problems,
        "tasks": s.tasks.borrow().iter().map(|t| json!({
            "name": t.name, "up": t.up, "restarts": t.restarts,
        })).collect::<Vec<_>>(),
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((code, Json(body)).into_response())
}

fn block_json(d: &DecidedBlock) -> serde_json::Value {
    let h = &d.block.header;
    let namespaces: Vec<_> = d
        .block
        .body
        .namespaces
        .iter()
        .map(|g| json!({ "namespace": g.namespace, "transactions": g.entries.len() }))
        .collect();
    json!({
        "height": h.height,
        "hash": d.block.hash(),
        "parent_hash": h.parent_hash,
        "timestamp_ms": h.timestamp_ms,
        "proposer": h.proposer,
        "chain_id": h.chain_id,
        "epoch": h.epoch,
        "namespace_root": h.namespace_root,
        "validators_hash": h.validators_hash,
        "next_validators_hash": h.next_validators_hash,
        "tx_count": h.tx_count,
        "l1_origin_number": h.l1_origin_number,
        "l1_origin_hash": h.l1_origin_hash,
        "inbox_cursor": h.inbox_cursor,
        "bundle_root": h.bundle_root,
        "encryption_key_hash": h.encryption_key_hash,
        "namespaces": namespaces,
        "certificate": d.certificate,
    })
}

fn decided(s: &ApiState, height: u64) -> Result<DecidedBlock, ApiError> {
    s.store
        .decided(height)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))
}

async fn latest_block(State(s): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let height = s
        .store
        .tip_height()
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("no block decided yet"))?;
    Ok(Json(block_json(&decided(&s, height)?)))
}

async fn block(
    State(s): State<ApiState>,
    path: Result<Path<u64>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(height) = path?;
    Ok(Json(block_json(&decided(&s, height)?)))
}

/// The decided block at `height` in its binary encoding (FORMATS.md, "Block"): what the L1
/// batcher posts, which needs the whole body.
async fn block_raw(
    State(s): State<ApiState>,
    path: Result<Path<u64>, PathRejection>,
) -> Result<([(&'static str, &'static str); 1], Vec<u8>), ApiError> {
    let Path(height) = path?;
    let d = decided(&s, height)?;
    Ok((
        [("content-type", "application/octet-stream")],
        ordo_types::Encode::encode(&d.block),
    ))
}

async fn block_transactions(
    State(s): State<ApiState>,
    path: Result<Path<u64>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(height) = path?;
    let d = decided(&s, height)?;
    let hashes: Vec<_> = d
        .block
        .body
        .namespaces
        .iter()
        .flat_map(|g| g.entries.iter().map(ordo_types::Entry::hash))
        .collect();
    Ok(Json(json!({
        "height": height,
        "hash": d.block.hash(),
        "timestamp_ms": d.block.header.timestamp_ms,
        "transactions": hashes,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric name the code emits is documented in docs/METRICS.md.
    #[test]
    fn metrics_doc_lists_every_metric() {
        let doc = include_str!("../../docs/METRICS.md");
        let source = [
            include_str!("lib.rs"),
            include_str!("../../mempool/src/metrics.rs"),
        ]
        .concat();
        let mut names = std::collections::BTreeSet::new();
        for part in source.split("ordo_").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            // Names the code emits as metrics (a TYPE line or a quoted name), not crate paths.
            let emitted = source.contains(&format!("# TYPE ordo_{name} "))
                || source.contains(&format!("\"ordo_{name}\""));
            if emitted && !name.is_empty() {
                names.insert(format!("ordo_{name}"));
            }
        }
        assert!(names.len() >= 12, "found {names:?}");
        for name in names {
            assert!(
                doc.contains(&format!("`{name}`")),
                "{name} is not in docs/METRICS.md"
            );
        }
    }

    #[test]
    fn readiness_rules() {
        assert!(readiness_problems(5, Some(100), false, 3, true).is_empty());
        assert!(readiness_problems(5, Some(100), false, 0, false).is_empty());
        let not_started = readiness_problems(0, None, false, 3, false);
        assert_eq!(not_started, vec!["no block decided yet".to_owned()]);
        let stalled = readiness_problems(5, Some(HEALTH_STALL_AFTER_MS + 1), false, 3, true);
        assert!(stalled[0].starts_with("consensus stalled"), "{stalled:?}");
        assert_eq!(readiness_problems(5, Some(10), true, 3, true).len(), 1);
        assert_eq!(readiness_problems(5, Some(10), false, 0, true).len(), 1);
    }

    /// The OpenAPI document's error codes are exactly [`ErrorCode::ALL`], in its order.
    #[test]
    fn openapi_lists_every_error_code() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        let documented: Vec<ErrorCode> = serde_json::from_value(
            doc["components"]["schemas"]["Error"]["properties"]["code"]["enum"].clone(),
        )
        .unwrap();
        assert_eq!(documented, ErrorCode::ALL);
    }

    /// The README's error list names every code, and docs/METRICS.md every code the refusal
    /// counter has a series for.
    #[test]
    fn docs_name_every_error_code() {
        let readme = include_str!("../../README.md");
        let metrics = include_str!("../../docs/METRICS.md");
        for code in ErrorCode::ALL {
            let quoted = format!("`{code}`");
            assert!(readme.contains(&quoted), "{code} is not in README.md");
            if code.is_admission_refusal() {
                assert!(
                    metrics.contains(&quoted),
                    "{code} is not in docs/METRICS.md"
                );
            }
        }
    }

    /// Every route the router serves is described in the OpenAPI document, and vice versa.
    #[test]
    fn openapi_lists_every_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        let documented: std::collections::BTreeSet<String> =
            doc["paths"].as_object().unwrap().keys().cloned().collect();
        let source = [
            include_str!("lib.rs"),
            include_str!("transactions.rs"),
            include_str!("bundles.rs"),
            include_str!("rollup.rs"),
            include_str!("forced.rs"),
            include_str!("committee.rs"),
            include_str!("encryption.rs"),
            include_str!("rpc.rs"),
        ]
        .concat();
        let routed: std::collections::BTreeSet<String> = source
            .split(".route(")
            .skip(1)
            .filter_map(|s| s.trim_start().strip_prefix('"'))
            .filter_map(|s| s.split('"').next())
            .filter(|s| s.starts_with('/'))
            .map(str::to_owned)
            .collect();
        assert!(routed.len() >= 10, "found routes: {routed:?}");
        assert_eq!(routed, documented);
    }
}
