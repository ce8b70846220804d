//! Transaction endpoints: submission (one or a batch), status, next nonce, mempool summary,
//! and the per-client-IP rate limit in front of submission.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ordo_mempool::{Declared, MempoolError, PoolStatus};
use ordo_types::{Address, Bytes, ErrorCode, PublicKey, Transaction, B256};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::hex::{present, Hex, WirePublicKey, WireSignature};
use crate::{ApiError, ApiState};

/// A transaction as clients submit it. `from`, `chain_id` and `public_key` are optional
/// declarations that admission checks against the signature ([`Declared`]): a signature that
/// does not recover to `from` (or to `public_key`) is refused as `BAD_SIGNATURE`, one made for
/// another named `chain_id` as `WRONG_CHAIN`. Without them the transaction is admitted under
/// whatever sender its signature recovers to, as before they existed, and the answer names
/// that sender. The keys declared in one request are checked together, cheaper than
/// recovering each sender.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Submitted {
    namespace: u64,
    nonce: u64,
    payload: Hex<Bytes>,
    signature: WireSignature,
    #[serde(default, deserialize_with = "present")]
    from: Option<Hex<Address>>,
    #[serde(default, deserialize_with = "present")]
    chain_id: Option<u64>,
    /// SEC1, 65 bytes uncompressed or 33 compressed.
    #[serde(default, deserialize_with = "present")]
    public_key: Option<WirePublicKey>,
    /// `"encrypted"`: the payload is a sealed envelope, signed as an encrypted transaction.
    #[serde(default, deserialize_with = "present")]
    auth: Option<SubmittedAuth>,
}

/// The kinds of signed transaction a client may submit besides EIP-712 plaintext.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum SubmittedAuth {
    Encrypted,
}

impl Submitted {
    /// The transaction and what its client declared about it; `BAD_SIGNATURE` for a declared
    /// public key that is no point of the curve (it cannot be the signer's), `INVALID_PAYLOAD`
    /// for an encrypted transaction whose payload is not a sealed envelope.
    pub(crate) fn into_declared(self) -> Result<(Transaction, Declared), ApiError> {
        let (namespace, nonce, payload, signature) =
            (self.namespace, self.nonce, self.payload.0, self.signature.0);
        let tx = match self.auth {
            None => Transaction::eip712(namespace, nonce, payload, signature),
            Some(SubmittedAuth::Encrypted) => {
                Transaction::encrypted(namespace, nonce, payload, signature).map_err(|e| {
                    ApiError::new(
                        ErrorCode::InvalidPayload,
                        format!("not a sealed envelope: {e}"),
                    )
                })?
            }
        };
        let public_key = self
            .public_key
            .map(|k| PublicKey::from_sec1(&k.0))
            .transpose()
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::BadSignature,
                    "public_key is no point of secp256k1",
                )
            })?;
        let declared = Declared {
            from: self.from.map(|f| f.0),
            chain_id: self.chain_id,
            public_key,
        };
        Ok((tx, declared))
    }
}

impl From<MempoolError> for ApiError {
    fn from(e: MempoolError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

pub(crate) fn routes(max_batch_body_bytes: usize) -> Router<ApiState> {
    Router::new()
        .route("/v1/transactions", post(submit))
        .route(
            "/v1/transactions/batch",
            post(submit_batch).layer(DefaultBodyLimit::max(max_batch_body_bytes)),
        )
        .route("/v1/transactions/{hash}", get(status))
        .route("/v1/accounts/{address}/nonce", get(next_nonce))
        .route("/v1/mempool", get(summary))
}

async fn submit(
    State(s): State<ApiState>,
    body: Result<Json<Submitted>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(submitted) = body?;
    let (tx, declared) = submitted.into_declared()?;
    let result = s
        .mempool
        .admit_declared(vec![(tx.clone(), declared)])
        .await
        .pop()
        .ok_or_else(|| ApiError::internal("admission did not answer"))?;
    let hash = result?;
    Ok((StatusCode::ACCEPTED, Json(accepted(&s, hash, &tx))))
}

/// The answer for an admitted transaction: its hash and the sender it was admitted under (from
/// the cache of verified senders: no signature work).
fn accepted(s: &ApiState, hash: B256, tx: &Transaction) -> Value {
    match s.mempool.sender(tx) {
        Ok(from) => json!({ "hash": hash, "from": from }),
        Err(_) => json!({ "hash": hash }),
    }
}

async fn submit_batch(
    State(s): State<ApiState>,
    body: Result<Json<Vec<Value>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(items) = body?;
    if items.len() > s.max_batch {
        return Err(ApiError::new(
            ErrorCode::BatchTooLarge,
            format!(
                "{} transactions; at most {} per batch",
                items.len(),
                s.max_batch
            ),
        ));
    }
    // A malformed item refuses the request whole (the client sent something other than the
    // API takes); well-formed items are admitted together, each with its own result (an
    // encrypted item whose payload is no envelope is refused alone, as admission would).
    let mut items_declared = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let submitted: Submitted = serde_json::from_value(item)
            .map_err(|e| ApiError::new(ErrorCode::Malformed, format!("item {i}: {e}")))?;
        items_declared.push(submitted.into_declared());
    }
    let admissible: Vec<(Transaction, Declared)> = items_declared
        .iter()
        .filter_map(|item| item.as_ref().ok().cloned())
        .collect();
    let mut txs: Vec<Transaction> = admissible.iter().map(|(tx, _)| tx.clone()).collect();
    txs.reverse();
    let mut admitted = s.mempool.admit_declared(admissible).await.into_iter();
    let results: Vec<Value> = items_declared
        .into_iter()
        .map(|item| {
            let refusal =
                |code: ErrorCode, message: String| json!({ "code": code, "message": message });
            if let Err(e) = item {
                return refusal(e.code, e.message);
            }
            match (admitted.next(), txs.pop()) {
                (Some(Ok(hash)), Some(tx)) => accepted(&s, hash, &tx),
                (Some(Err(e)), _) => refusal(e.code(), e.to_string()),
                _ => refusal(ErrorCode::Internal, "admission did not answer".into()),
            }
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

async fn status(
    State(s): State<ApiState>,
    path: Result<Path<Hex<B256>>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(Hex(hash)) = path?;
    if let Some((height, namespace, index)) = s
        .store
        .transaction_location(&hash)
        .map_err(ApiError::internal)?
    {
        return Ok(Json(json!({
            "hash": hash, "status": "included",
            "height": height, "namespace": namespace, "index": index,
        })));
    }
    Ok(Json(match s.mempool.status(&hash) {
        PoolStatus::Pending { namespace } => {
            json!({ "hash": hash, "status": "pending", "namespace": namespace })
        }
        PoolStatus::Parked { namespace } => {
            json!({ "hash": hash, "status": "parked", "namespace": namespace })
        }
        PoolStatus::Dropped { reason } => {
            json!({ "hash": hash, "status": "dropped", "reason": reason })
        }
        PoolStatus::Unknown => json!({ "hash": hash, "status": "unknown" }),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NonceQuery {
    namespace: u64,
}

async fn next_nonce(
    State(s): State<ApiState>,
    path: Result<Path<Hex<Address>>, PathRejection>,
    query: Result<Query<NonceQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(Hex(address)) = path?;
    let Query(q) = query?;
    let next = s.mempool.next_nonce(&address, q.namespace);
    Ok(Json(
        json!({ "address": address, "namespace": q.namespace, "next_nonce": next }),
    ))
}

async fn summary(State(s): State<ApiState>) -> Json<Value> {
    Json(json!({
        "transactions": s.mempool.len(),
        "bytes": s.mempool.bytes(),
        "namespaces": s.mempool.summary(),
    }))
}

/// A token bucket per client IP, in front of submission.
pub(crate) struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Most client IPs tracked at once (the oldest are forgotten first when full).
const MAX_TRACKED_CLIENTS: usize = 100_000;

impl RateLimiter {
    pub(crate) fn new(per_second: u32, burst: u32) -> Arc<Self> {
        Arc::new(Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        })
    }

    /// `Ok` if `ip` may make a request now, else the seconds until it may.
    fn check(&self, ip: IpAddr) -> Result<(), u64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED_CLIENTS && !buckets.contains_key(&ip) {
            let oldest = buckets.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                buckets.remove(&oldest);
            }
        }
        let (tokens, last) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Refuses submissions with `503 BUSY` and `Retry-After` before their body is read while the
/// node cannot take more ([`ordo_mempool::Mempool::overloaded`]): under overload, clients'
/// retries cost the node almost nothing. Such a refusal counts once in the metrics, whatever
/// the request held.
pub(crate) async fn refuse_when_overloaded(
    State(s): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == axum::http::Method::POST {
        if let Some(e) = s.mempool.refuse_unread() {
            return refused_unread(ApiError::from(e).into_response(), 1);
        }
    }
    next.run(request).await
}

/// Refuses submissions (and JSON-RPC calls) past the client's rate with `429 RATE_LIMITED` and `Retry-After`.
pub(crate) async fn rate_limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let limited = (path.starts_with("/v1/transactions")
        || path.starts_with("/v1/bundles")
        || path.ends_with("/rpc"))
        && request.method() == axum::http::Method::POST;
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let (true, Some(ip)) = (limited, ip) {
        if let Err(retry_after) = limiter.check(ip) {
            let message = format!("too many requests from {ip}; retry in {retry_after} s");
            let refusal = if path.ends_with("/rpc") {
                crate::rpc::rate_limited(message)
            } else {
                ApiError::new(ErrorCode::RateLimited, message).into_response()
            };
            return refused_unread(refusal, retry_after);
        }
    }
    next.run(request).await
}

/// A refusal sent before the request's body is read. It asks the client to retry after
/// `retry_after` seconds and to close the connection: the unread body is never drained, so the
/// server closes it, and a client that kept it for its next request would see that request fail.
fn refused_unread(mut response: Response, retry_after: u64) -> Response {
    let headers = response.headers_mut();
    headers.insert("retry-after", HeaderValue::from(retry_after));
    headers.insert("connection", HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refills_at_the_configured_rate() {
        let limiter = RateLimiter::new(10, 3);
        let ip = IpAddr::from([127, 0, 0, 1]);
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
        }
        assert_eq!(limiter.check(ip), Err(1));
        // Another client has its own bucket.
        assert!(limiter.check(IpAddr::from([127, 0, 0, 2])).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(250));
        assert!(limiter.check(ip).is_ok());
        assert!(
            RateLimiter::new(0, 0).check(ip).is_ok(),
            "0 disables the limit"
        );
    }
}
