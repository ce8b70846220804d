//! Ethereum JSON-RPC for EVM rollups: `POST /v1/rollups/{ns}/rpc`.
//!
//! A wallet (or `cast`) pointed at this URL works for the whole flow:
//! - `eth_sendRawTransaction` goes into Ordo's mempool (the rollup's adapter checks the
//!   encoding, chain id and signature) and answers the Ethereum transaction hash;
//! - `eth_chainId` and `net_version` answer locally, from the rollup's registration;
//! - `eth_getTransactionCount(addr, "pending")` counts what Ordo still holds for the sender,
//!   so back-to-back sends do not reuse nonces;
//! - every other method is forwarded to the rollup's execution node (`[[api.execution_rpc]]`).
//!
//! Errors follow JSON-RPC 2.0: malformed requests get `-32700`/`-32600`, bad parameters
//! `-32602`, and refusals `-32000` with Ordo's code in `data.code`.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use ordo_mempool::MempoolError;
use ordo_types::{Address, ErrorCode, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ApiState;

/// Where an EVM rollup's execution node answers JSON-RPC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionRpc {
    /// The rollup's namespace.
    pub namespace: u64,
    /// Its execution node's JSON-RPC URL.
    pub url: String,
}

/// Most requests in one JSON-RPC batch.
const MAX_RPC_BATCH: usize = 100;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/v1/rollups/{namespace}/rpc", post(rpc))
}

/// A JSON-RPC error object.
struct RpcError {
    code: i64,
    message: String,
    data: Option<Value>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn refused(e: &MempoolError) -> Self {
        Self {
            code: -32000,
            message: e.to_string(),
            data: Some(json!({ "code": e.code() })),
        }
    }

    fn into_value(self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(data), Some(obj)) = (self.data, error.as_object_mut()) {
            obj.insert("data".into(), data);
        }
        error
    }
}

fn response(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(e) => json!({ "jsonrpc": "2.0", "id": id, "error": e.into_value() }),
    }
}

async fn rpc(
    State(s): State<ApiState>,
    Path(namespace): Path<u64>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let Some(chain_id) = s
        .mempool
        .admission()
        .rollups()
        .registration(namespace)
        .filter(|r| r.adapter == "evm")
        .and_then(|r| r.chain_id)
    else {
        let error = RpcError {
            code: -32601,
            message: format!("namespace {namespace} is not an EVM rollup"),
            data: Some(json!({ "code": ErrorCode::UnknownNamespace })),
        };
        return (
            StatusCode::NOT_FOUND,
            Json(response(Value::Null, Err(error))),
        );
    };
    let rollup = Rollup {
        state: &s,
        namespace,
        chain_id,
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let error = RpcError::new(-32700, format!("parse error: {e}"));
            return (StatusCode::OK, Json(response(Value::Null, Err(error))));
        }
    };
    let answer = match parsed {
        Value::Array(calls) if calls.is_empty() || calls.len() > MAX_RPC_BATCH => response(
            Value::Null,
            Err(RpcError::new(
                -32600,
                format!("a batch holds 1 to {MAX_RPC_BATCH} requests"),
            )),
        ),
        Value::Array(calls) => {
            let mut out = Vec::with_capacity(calls.len());
            for call in calls {
                out.push(rollup.call(call).await);
            }
            Value::Array(out)
        }
        call => rollup.call(call).await,
    };
    (StatusCode::OK, Json(answer))
}

#[derive(Deserialize)]
struct Call {
    #[serde(default)]
    id: Value,
    method: String,
    #[serde(default)]
    params: Value,
}

/// One EVM rollup, as seen by one request.
struct Rollup<'a> {
    state: &'a ApiState,
    namespace: u64,
    chain_id: u64,
}

impl Rollup<'_> {
    async fn call(&self, raw: Value) -> Value {
        let call: Call = match serde_json::from_value(raw.clone()) {
            Ok(c) => c,
            Err(e) => {
                let error = RpcError::new(-32600, format!("invalid request: {e}"));
                return response(Value::Null, Err(error));
            }
        };
        let result = match call.method.as_str() {
            "eth_chainId" => Ok(json!(format!("{:#x}", self.chain_id))),
            "net_version" => Ok(json!(self.chain_id.to_string())),
            "eth_sendRawTransaction" => self.send_raw(&call.params).await,
            "eth_getTransactionCount" if param(&call.params, 1) == Some("pending") => {
                self.pending_nonce(&raw, &call.params).await
            }
            _ => return self.forward(&raw, call.id).await,
        };
        response(call.id, result)
    }

    async fn send_raw(&self, params: &Value) -> Result<Value, RpcError> {
        let hex = param(params, 0).ok_or_else(|| {
            RpcError::new(
                -32602,
                "expected one parameter: the signed transaction as hex",
            )
        })?;
        let raw = hex::decode(hex.trim_start_matches("0x"))
            .map_err(|e| RpcError::new(-32602, format!("not hex: {e}")))?;
        let tx = Transaction::ethereum(self.namespace, raw.into()).map_err(|e| RpcError {
            code: -32602,
            message: e.to_string(),
            data: Some(json!({ "code": ErrorCode::Malformed })),
        })?;
        let result = self
            .state
            .mempool
            .admit(vec![tx])
            .await
            .pop()
            .ok_or_else(|| RpcError::new(-32603, "admission did not answer"))?;
        match result {
            Ok(hash) => Ok(json!(hash)),
            Err(e) => Err(RpcError::refused(&e)),
        }
    }

    /// The larger of the execution node's pending count and the next nonce Ordo expects
    /// (counting what its mempool holds and what it decided but the node has not executed).
    async fn pending_nonce(&self, raw: &Value, params: &Value) -> Result<Value, RpcError> {
        let address: Address = param(params, 0)
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| RpcError::new(-32602, "expected an address"))?;
        let ordo = self.state.mempool.next_nonce(&address, self.namespace);
        let engine = match self.forward(raw, Value::Null).await.get("result") {
            Some(Value::String(hex)) => u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok(),
            _ => None,
        };
        Ok(json!(format!("{:#x}", ordo.max(engine.unwrap_or(0)))))
    }

    /// Sends the request to the rollup's execution node and returns its answer as is.
    async fn forward(&self, raw: &Value, id: Value) -> Value {
        let Some(url) = self
            .state
            .execution_rpc
            .iter()
            .find(|e| e.namespace == self.namespace)
            .map(|e| e.url.as_str())
        else {
            let error = RpcError::new(
                -32601,
                "method not served here and no execution node is configured for this rollup",
            );
            return response(id, Err(error));
        };
        let answer = async {
            http()
                .post(url)
                .json(raw)
                .send()
                .await?
                .json::<Value>()
                .await
        };
        match answer.await {
            Ok(v) => v,
            Err(e) => response(
                id,
                Err(RpcError::new(
                    -32603,
                    format!("execution node unreachable: {e}"),
                )),
            ),
        }
    }
}

/// One HTTP client for all forwarding (it pools connections).
fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    })
}

fn param(params: &Value, i: usize) -> Option<&str> {
    params.get(i).and_then(Value::as_str)
}
