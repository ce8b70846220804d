//! The rollup read side: one namespace's slice of decided blocks, by height, by range and as
//! a live stream, each with everything a client needs to verify it offline (the full header,
//! the namespace proof against the header's `namespace_root`, the commit certificate over the
//! header's hash). The JSON is [`ordo_rollup_adapters::NamespaceBlock`].
//!
//! The stream (Server-Sent Events, `id:` = height) reads one block at a time from the store,
//! only when the client has taken the previous one, so a slow client costs one block of
//! memory, never a backlog. It catches up from the store, then waits on the status channel
//! for the next decided height: no gap, no repeat, and `Last-Event-ID` resumes after a
//! disconnect. At most `api.max_streams` streams are served at once ([`StreamSlots`]); one
//! more is refused with `503 TOO_MANY_STREAMS` and `Retry-After`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ordo_consensus::{DecidedBlock, Store};
use ordo_rollup_adapters::{NamespaceBlock, MAX_RANGE};
use ordo_types::ErrorCode;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::{decided, ApiError, ApiState};

/// A range answer stops adding blocks once it holds this many bytes of JSON (it always holds
/// at least one block); the client continues from the `to` it got.
const RANGE_BUDGET_BYTES: usize = 8 * 1024 * 1024;
/// Interval of SSE keep-alive comments on an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Seconds a client refused for lack of a stream slot is asked to wait.
const STREAM_RETRY_AFTER_S: u64 = 5;

/// The streams the node may still open: a slot is held from the stream's start to its end
/// (`None`: no cap).
#[derive(Clone)]
pub(crate) struct StreamSlots(Option<Arc<Semaphore>>);

impl StreamSlots {
    /// Slots for `max` streams at once (0: no cap).
    pub(crate) fn new(max: usize) -> Self {
        Self((max != 0).then(|| Arc::new(Semaphore::new(max))))
    }

    /// A slot for one more stream, or the refusal.
    fn take(&self) -> Result<Option<OwnedSemaphorePermit>, TooManyStreams> {
        match &self.0 {
            None => Ok(None),
            Some(slots) => slots
                .clone()
                .try_acquire_owned()
                .map(Some)
                .map_err(|_| TooManyStreams),
        }
    }
}

/// Every stream slot is taken: `503 TOO_MANY_STREAMS` with `Retry-After`.
struct TooManyStreams;

impl IntoResponse for TooManyStreams {
    fn into_response(self) -> Response {
        let mut refusal = ApiError::new(
            ErrorCode::TooManyStreams,
            "the node serves as many streams as api.max_streams allows; retry later",
        )
        .into_response();
        refusal
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(STREAM_RETRY_AFTER_S));
        refusal
    }
}

/// The rollup routes, merged into the API's router; at most `max_streams` streams at once
/// (0: no cap).
pub(crate) fn routes(max_streams: usize) -> Router<ApiState> {
    Router::new()
        .route(
            "/v1/namespaces/{namespace}/blocks/{height}",
            get(namespace_block),
        )
        .route("/v1/namespaces/{namespace}/blocks", get(namespace_range))
        .route("/v1/namespaces/{namespace}/stream", get(namespace_stream))
        .layer(Extension(StreamSlots::new(max_streams)))
}

fn bad_range(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRange, message)
}

/// Runs a store read off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

async fn namespace_block(
    State(s): State<ApiState>,
    path: Result<Path<(u64, u64)>, PathRejection>,
) -> Result<Json<NamespaceBlock>, ApiError> {
    let Path((namespace, height)) = path?;
    let d = blocking(move || decided(&s, height)).await?;
    Ok(Json(slice(&d, namespace)))
}

/// Whether `namespace` has encrypted transactions in `d` that this node has not opened yet (it
/// opens each decided block right after deciding it; `opened` in [`ApiState`]).
fn unopened(d: &DecidedBlock, namespace: u64) -> bool {
    let chain_id = d.block.header.chain_id;
    let sealed = d.block.body.namespace(namespace).is_some_and(|g| {
        g.entries.iter().any(|e| match e {
            ordo_types::Entry::Signed(tx) => matches!(tx.auth(), ordo_types::Auth::Encrypted(_)),
            // An envelope sent through the L1 inbox is opened when its sender recovers.
            ordo_types::Entry::Forced(_) => e
                .encrypted(namespace)
                .is_some_and(|tx| tx.recover_sender(chain_id).is_ok()),
        })
    });
    sealed && !d.opened.iter().any(|o| o.namespace == namespace)
}

/// `namespace`'s slice of a decided block, with its encrypted transactions as they opened
/// (none while they are not opened yet: the client then asks again).
fn slice(d: &DecidedBlock, namespace: u64) -> NamespaceBlock {
    let mut slice = ordo_builder::namespace_block(&d.block, &d.certificate, namespace);
    slice.opened = d
        .opened
        .iter()
        .filter(|o| o.namespace == namespace)
        .cloned()
        .collect();
    slice
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    from: u64,
    to: Option<u64>,
}

/// `GET /v1/namespaces/{ns}/blocks?from=H&to=H2`: heights `from..=to` (at most
/// [`MAX_RANGE`]; `to` defaults to `from + 99`), cut at the tip and at the size budget.
async fn namespace_range(
    State(s): State<ApiState>,
    path: Result<Path<u64>, PathRejection>,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(namespace) = path?;
    let Query(RangeQuery { from, to }) = query?;
    let to = check_range(from, to)?;
    let body = blocking(move || range_json(&s.store, namespace, from, to)).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The last height of a range request: `to`, or `from + 99` when absent. Refuses height 0,
/// `to < from` (`BAD_RANGE`) and more than [`MAX_RANGE`] heights (`RANGE_TOO_LARGE`).
fn check_range(from: u64, to: Option<u64>) -> Result<u64, ApiError> {
    if from == 0 {
        return Err(bad_range("heights start at 1"));
    }
    let to = to.unwrap_or_else(|| from.saturating_add(MAX_RANGE - 1));
    if to < from {
        return Err(bad_range(format!("to ({to}) is below from ({from})")));
    }
    let count = to.saturating_sub(from).saturating_add(1);
    if count > MAX_RANGE {
        return Err(ApiError::new(
            ErrorCode::RangeTooLarge,
            format!("at most {MAX_RANGE} heights per request, asked for {count}"),
        ));
    }
    Ok(to)
}

/// The JSON of a [`ordo_rollup_adapters::NamespaceRange`], written block by block so that
/// the size budget is checked on the real bytes.
fn range_json(store: &Store, namespace: u64, from: u64, to: u64) -> Result<Vec<u8>, ApiError> {
    let tip = store.tip_height().map_err(ApiError::internal)?.unwrap_or(0);
    let mut blocks: Vec<u8> = Vec::new();
    let mut last = None;
    for height in from..=to.min(tip) {
        let d = store
            .decided(height)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("height {height} is not stored")))?;
        if unopened(&d, namespace) {
            // Served once opened: the range ends before it, and the client asks again.
            break;
        }
        let json = serde_json::to_vec(&slice(&d, namespace)).map_err(ApiError::internal)?;
        if last.is_some() && blocks.len().saturating_add(json.len()) > RANGE_BUDGET_BYTES {
            break;
        }
        if last.is_some() {
            blocks.push(b',');
        }
        blocks.extend_from_slice(&json);
        last = Some(height);
    }
    let to = last.map_or_else(|| "null".to_owned(), |h| h.to_string());
    let mut out = format!(
        "{{\"namespace\":{namespace},\"from\":{from},\"to\":{to},\"tip\":{tip},\"blocks\":["
    )
    .into_bytes();
    out.extend_from_slice(&blocks);
    out.extend_from_slice(b"]}");
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    from: Option<u64>,
}

/// `GET /v1/namespaces/{ns}/stream?from=H`: SSE `block` events (`id:` = height, `data:` a
/// [`NamespaceBlock`]) for every height from `H` on. A `Last-Event-ID` header wins over `from`
/// and resumes after that height; with neither, the stream starts at the next block.
async fn namespace_stream(
    State(s): State<ApiState>,
    Extension(slots): Extension<StreamSlots>,
    path: Result<Path<u64>, PathRejection>,
    query: Result<Query<StreamQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(namespace) = path?;
    let Query(StreamQuery { from }) = query?;
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::Malformed,
                        "Last-Event-ID must be the height of the last event received",
                    )
                })?
                .saturating_add(1),
        ),
    };
    let next = match (resume, from) {
        (Some(next), _) => next,
        (None, Some(0)) => return Err(bad_range("heights start at 1")),
        (None, Some(from)) => from,
        (None, None) => {
            let store = s.store.clone();
            let tip = blocking(move || store.tip_height().map_err(ApiError::internal)).await?;
            tip.unwrap_or(0).saturating_add(1)
        }
    };
    let slot = match slots.take() {
        Ok(slot) => slot,
        Err(refusal) => return Ok(refusal.into_response()),
    };
    tracing::debug!(target: "ordo::api", namespace, from = next, "rollup stream opened");
    let follow = Follow {
        _slot: slot,
        store: s.store.clone(),
        decided: s.decided.clone(),
        opened: s.opened.clone(),
        namespace,
        next,
        done: false,
    };
    let events = futures_util::stream::unfold(follow, |mut follow| async move {
        let event = follow.next_event().await?;
        Some((Ok::<_, Infallible>(event), follow))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// One stream's position: the next height to send.
struct Follow {
    /// The stream's slot among `api.max_streams`, given back when the stream ends.
    _slot: Option<OwnedSemaphorePermit>,
    store: Store,
    decided: watch::Receiver<Option<Arc<DecidedBlock>>>,
    opened: watch::Receiver<u64>,
    namespace: u64,
    next: u64,
    done: bool,
}

impl Drop for Follow {
    fn drop(&mut self) {
        tracing::debug!(target: "ordo::api", namespace = self.namespace, next = self.next, "rollup stream closed");
    }
}

impl Follow {
    /// The event for height `next`, waiting until it is decided (and, if the namespace has
    /// encrypted transactions in it, opened). `None` ends the stream (after an error event, or
    /// when the node shuts down). A stream at the tip takes the block consensus publishes,
    /// decoded, and wakes only when a height is decided; one that is behind, or waiting for
    /// an opening, reads the store.
    async fn next_event(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        loop {
            let latest = self.decided.borrow_and_update().clone();
            let tip = latest.as_ref().map_or(0, |d| d.block.header.height);
            let read = match latest {
                _ if tip < self.next => Ok(None),
                Some(d) if tip == self.next && !unopened(&d, self.namespace) => {
                    block_event(&d, self.namespace).map(Some)
                }
                _ => {
                    let (store, namespace, height) =
                        (self.store.clone(), self.namespace, self.next);
                    let waits = {
                        let store = store.clone();
                        tokio::task::spawn_blocking(move || store.decided(height))
                            .await
                            .is_ok_and(|d| {
                                d.is_ok_and(|d| d.is_some_and(|d| unopened(&d, namespace)))
                            })
                    };
                    if waits && self.opened.wait_for(|h| *h >= height).await.is_err() {
                        return None;
                    }
                    tokio::task::spawn_blocking(move || read_event(&store, namespace, height))
                        .await
                        .unwrap_or_else(|e| Err(error_event(ErrorCode::Internal, &e.to_string())))
                }
            };
            match read {
                Ok(Some(event)) => {
                    self.next = self.next.saturating_add(1);
                    return Some(event);
                }
                Ok(None) => {}
                Err(event) => {
                    self.done = true;
                    return Some(event);
                }
            }
            if self.decided.changed().await.is_err() {
                return None;
            }
        }
    }
}

/// The `block` event of a decided block for `namespace`.
fn block_event(d: &DecidedBlock, namespace: u64) -> Result<Event, Event> {
    let slice = slice(d, namespace);
    Event::default()
        .id(d.block.header.height.to_string())
        .event("block")
        .json_data(&slice)
        .map_err(|e| error_event(ErrorCode::Internal, &e.to_string()))
}

fn error_event(code: ErrorCode, message: &str) -> Event {
    tracing::warn!(target: "ordo::api", code = code.as_str(), message, "rollup stream failed");
    Event::default()
        .event("error")
        .data(json!({ "code": code, "message": message }).to_string())
}

/// The `block` event for `height`, `None` if it is not decided yet, or an error event.
fn read_event(store: &Store, namespace: u64, height: u64) -> Result<Option<Event>, Event> {
    match store.decided(height) {
        Ok(Some(d)) => block_event(&d, namespace).map(Some),
        Ok(None) => match store.tip_height() {
            Ok(Some(tip)) if tip >= height => Err(error_event(
                ErrorCode::NotFound,
                &format!("height {height} is no longer stored"),
            )),
            Ok(_) => Ok(None),
            Err(e) => Err(error_event(ErrorCode::Internal, &e.to_string())),
        },
        Err(e) => Err(error_event(ErrorCode::Internal, &e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn ranges_are_bounded() {
        assert_eq!(check_range(1, Some(1)).map_err(|e| e.code), Ok(1));
        assert_eq!(check_range(5, Some(104)).map_err(|e| e.code), Ok(104));
        assert_eq!(check_range(5, None).map_err(|e| e.code), Ok(104));
        assert_eq!(
            check_range(u64::MAX - 3, None).map_err(|e| e.code),
            Ok(u64::MAX)
        );
        for (from, to, code) in [
            (5, Some(105), ErrorCode::RangeTooLarge),
            (1, Some(u64::MAX), ErrorCode::RangeTooLarge),
            (0, Some(10), ErrorCode::BadRange),
            (0, None, ErrorCode::BadRange),
            (10, Some(9), ErrorCode::BadRange),
        ] {
            let err = check_range(from, to).unwrap_err();
            assert_eq!((err.code, err.status()), (code, StatusCode::BAD_REQUEST));
            assert!(!err.message.is_empty());
        }
    }
}
