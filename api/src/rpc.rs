//! Ethereum JSON-RPC for EVM rollups: `POST /v1/rollups/{ns}/rpc`.
//!
//! A wallet (or `cast`) pointed at this URL works for the whole flow:
//! - `eth_sendRawTransaction` goes into Ordo's mempool (the rollup's adapter checks the
//!   encoding, chain id and signature) and answers the Ethereum transaction hash;
//! - `eth_chainId` and `net_version` answer locally, from the rollup's registration;
//! - `eth_getTransactionCount(addr, "pending")` counts what Ordo still holds for the sender,
//!   so back-to-back sends do not reuse nonces; `eth_fillTransaction` (viem asks it first)
//!   is forwarded with that nonce filled in when the request names a sender but no nonce;
//! - methods that would sign with the execution node's keys, send a transaction or change its
//!   state outside Ordo's order (`eth_sendTransaction`, `eth_sign*`, `anvil_*`, `evm_*`,
//!   `personal_*`, `debug_*`, ...) are refused with `-32601` and never forwarded;
//! - every other method is forwarded to the rollup's execution node (`[[api.execution_rpc]]`).
//!
//! Errors follow JSON-RPC 2.0: malformed requests get `-32700`/`-32600`, bad parameters
//! `-32602`. A refused transaction is answered the way geth answers it (`-32000` and geth's
//! message: `nonce too low: next nonce N, tx nonce M`, `already known`, `replacement
//! transaction underpriced`, ...), because Ethereum clients (ethers, viem, MetaMask) decide
//! what went wrong by matching geth's messages; a busy node answers `-32005` (limit
//! exceeded), which clients retry. Ordo's own code and message stay in `data.code` and
//! `data.reason`. The table is in `docs/ARCHITECTURE.md` ("Ethereum JSON-RPC errors");
//! `refused` is it.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ordo_mempool::MempoolError;
use ordo_types::{Address, ErrorCode, EthereumTx, Transaction};
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

/// JSON-RPC 2.0's own error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const INTERNAL_ERROR: i64 = -32603;
/// The server-error code geth answers every transaction-pool refusal with.
const TX_REFUSED: i64 = -32000;
/// EIP-1474's "limit exceeded": the request was fine, the node is over a limit; clients retry.
const LIMIT_EXCEEDED: i64 = -32005;

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

    fn into_value(self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(data), Some(obj)) = (self.data, error.as_object_mut()) {
            obj.insert("data".into(), data);
        }
        error
    }
}

/// How `eth_sendRawTransaction` answers an admission refusal: geth's code and message for the
/// same situation, so that Ethereum clients classify it, with Ordo's code and message in
/// `data`. `signed_chain` reads the chain id the transaction was signed for (asked only for a
/// wrong-chain refusal, whose geth message depends on it).
fn refused(e: &MempoolError, signed_chain: impl FnOnce() -> Option<u64>) -> RpcError {
    let (code, message) = match e {
        MempoolError::NonceTooLow { nonce, next } => (
            TX_REFUSED,
            format!("nonce too low: next nonce {next}, tx nonce {nonce}"),
        ),
        MempoolError::NonceGapTooLarge {
            nonce,
            next,
            max_gap,
        } => (
            TX_REFUSED,
            format!("nonce too high: next nonce {next}, tx nonce {nonce}, at most {max_gap} ahead"),
        ),
        MempoolError::AlreadyKnown => (TX_REFUSED, "already known".to_owned()),
        // Ordo orders by arrival, not by fee: a pending nonce is never replaced, whatever the
        // new transaction pays. geth's answer for a replacement it will not take.
        MempoolError::NonceTaken { .. } => {
            (TX_REFUSED, "replacement transaction underpriced".to_owned())
        }
        MempoolError::SenderLimit { max } => (
            TX_REFUSED,
            format!("account limit exceeded: {max} pending transactions"),
        ),
        MempoolError::Full => (TX_REFUSED, "txpool is full".to_owned()),
        MempoolError::PayloadTooLarge { size, max } => (
            TX_REFUSED,
            format!("oversized data: transaction size {size}, limit {max}"),
        ),
        MempoolError::BadSignature(_)
        | MempoolError::WrongSender { .. }
        | MempoolError::WrongKey { .. } => (TX_REFUSED, "invalid sender".to_owned()),
        MempoolError::WrongChain { .. } => (TX_REFUSED, "invalid chain id for signer".to_owned()),
        MempoolError::Rollup {
            code: ErrorCode::WrongRollupChain,
            ..
        } => match signed_chain() {
            None => (
                TX_REFUSED,
                "only replay-protected (EIP-155) transactions allowed over RPC".to_owned(),
            ),
            Some(_) => (TX_REFUSED, "invalid chain id for signer".to_owned()),
        },
        // No geth counterpart: Ordo's own message, with geth's refusal code.
        MempoolError::Rollup { .. } | MempoolError::UnknownNamespace(_) => {
            (TX_REFUSED, e.to_string())
        }
        MempoolError::Busy { .. } | MempoolError::ChecksBehind { .. } => {
            (LIMIT_EXCEEDED, e.to_string())
        }
        MempoolError::Journal(_) => (INTERNAL_ERROR, format!("internal error: {e}")),
    };
    RpcError {
        code,
        message,
        data: Some(json!({ "code": e.code(), "reason": e.to_string() })),
    }
}

/// A JSON-RPC client past its rate: `429` (with the `Retry-After` the caller adds) and a
/// JSON-RPC error `-32005` ("limit exceeded", as Ethereum providers answer), Ordo's
/// `RATE_LIMITED` in `error.data.code`. The request was not read, so its id is unknown.
pub(crate) fn rate_limited(message: String) -> Response {
    let error = RpcError {
        code: LIMIT_EXCEEDED,
        data: Some(json!({ "code": ErrorCode::RateLimited, "reason": message.clone() })),
        message,
    };
    let body = response(Value::Null, Err(error));
    (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
}

fn response(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(e) => json!({ "jsonrpc": "2.0", "id": id, "error": e.into_value() }),
    }
}

async fn rpc(
    State(s): State<ApiState>,
    path: Result<Path<u64>, PathRejection>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let namespace = match path {
        Ok(Path(namespace)) => namespace,
        Err(e) => {
            let error = RpcError {
                code: INVALID_REQUEST,
                message: format!("invalid request: {}", e.body_text()),
                data: Some(json!({ "code": ErrorCode::Malformed, "reason": e.body_text() })),
            };
            return (
                StatusCode::BAD_REQUEST,
                Json(response(Value::Null, Err(error))),
            );
        }
    };
    let Some(chain_id) = s
        .mempool
        .admission()
        .rollups()
        .registration(namespace)
        .filter(|r| r.adapter == "evm")
        .and_then(|r| r.chain_id)
    else {
        let error = RpcError {
            code: METHOD_NOT_FOUND,
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
            let error = RpcError::new(PARSE_ERROR, format!("parse error: {e}"));
            return (StatusCode::OK, Json(response(Value::Null, Err(error))));
        }
    };
    let answer = match parsed {
        Value::Array(calls) if calls.is_empty() || calls.len() > MAX_RPC_BATCH => response(
            Value::Null,
            Err(RpcError::new(
                INVALID_REQUEST,
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
                let error = RpcError::new(INVALID_REQUEST, format!("invalid request: {e}"));
                return response(Value::Null, Err(error));
            }
        };
        let result = match call.method.as_str() {
            "eth_chainId" => Ok(json!(format!("{:#x}", self.chain_id))),
            "net_version" => Ok(json!(self.chain_id.to_string())),
            "eth_sendRawTransaction" => self.send_raw(&call.params).await,
            "ordo_sendBundle" => self.send_bundle(&call.params).await,
            "eth_getTransactionCount" if param(&call.params, 1) == Some("pending") => {
                self.pending_nonce(&call.params).await
            }
            "eth_fillTransaction" => return self.fill(raw, call.id).await,
            method if bypasses_ordo(method) => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("the method {method} does not exist/is not available"),
            )),
            _ => return self.forward(&raw, call.id).await,
        };
        response(call.id, result)
    }

    async fn send_raw(&self, params: &Value) -> Result<Value, RpcError> {
        let hex = param(params, 0).ok_or_else(|| {
            RpcError::new(
                INVALID_PARAMS,
                "expected one parameter: the signed transaction as hex",
            )
        })?;
        let raw = hex::decode(hex.trim_start_matches("0x"))
            .map_err(|e| RpcError::new(INVALID_PARAMS, format!("not hex: {e}")))?;
        let tx = Transaction::ethereum(self.namespace, raw.into()).map_err(|e| {
            let (code, message) = match e {
                // geth's answer for a type its pool does not take (blobs and EIP-7702 here).
                ordo_types::Error::UnsupportedEthereumType(_) => {
                    (TX_REFUSED, "transaction type not supported".to_owned())
                }
                _ => (INVALID_PARAMS, e.to_string()),
            };
            RpcError {
                code,
                message,
                data: Some(json!({ "code": ErrorCode::Malformed, "reason": e.to_string() })),
            }
        })?;
        let payload = tx.payload().clone();
        let result = self
            .state
            .mempool
            .admit(vec![tx])
            .await
            .pop()
            .ok_or_else(|| RpcError::new(INTERNAL_ERROR, "admission did not answer"))?;
        match result {
            Ok(hash) => Ok(json!(hash)),
            Err(e) => Err(refused(&e, || {
                EthereumTx::decode(&payload).ok().and_then(|t| t.chain_id)
            })),
        }
    }

    /// `ordo_sendBundle(bundle)`: `POST /v1/bundles` with Flashbots' `eth_sendBundle` params, a
    /// bare hex string in `txs` being a signed transaction for this rollup. Answers
    /// `{"bundleHash"}`; a refused part answers as `eth_sendRawTransaction` would, its index
    /// in the message.
    async fn send_bundle(&self, params: &Value) -> Result<Value, RpcError> {
        let mut bundle = params
            .get(0)
            .filter(|b| b.is_object())
            .cloned()
            .ok_or_else(|| RpcError::new(INVALID_PARAMS, "expected one parameter: the bundle"))?;
        // JSON-RPC clients write an absent optional parameter as null; the REST body does not.
        if let Some(fields) = bundle.as_object_mut() {
            fields.retain(|_, v| !v.is_null());
        }
        if let Some(txs) = bundle.get_mut("txs").and_then(Value::as_array_mut) {
            for item in txs.iter_mut() {
                if let Some(raw) = item.as_str() {
                    *item = json!({ "namespace": self.namespace, "raw": raw });
                }
            }
        }
        let invalid = |code: ErrorCode, message: String| RpcError {
            code: INVALID_PARAMS,
            data: Some(json!({ "code": code, "reason": message.clone() })),
            message,
        };
        let submitted: crate::bundles::SubmittedBundle = serde_json::from_value(bundle)
            .map_err(|e| invalid(ErrorCode::Malformed, e.to_string()))?;
        let (bundle, replacement, declared) = submitted
            .into_bundle()
            .map_err(|e| invalid(e.code, e.message))?;
        let admitted = self
            .state
            .mempool
            .admit_bundle(bundle, replacement, declared)
            .await;
        match admitted {
            Ok(hash) => Ok(json!({ "bundleHash": hash })),
            Err((index, e)) => {
                let mut error = refused(&e, || None);
                if let Some(i) = index {
                    error.message = format!("transaction {i}: {}", error.message);
                }
                Err(error)
            }
        }
    }

    /// `eth_getTransactionCount(address, "pending")`: [`Self::next_nonce`].
    async fn pending_nonce(&self, params: &Value) -> Result<Value, RpcError> {
        let address: Address = param(params, 0)
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| RpcError::new(INVALID_PARAMS, "expected an address"))?;
        Ok(json!(format!("{:#x}", self.next_nonce(&address).await)))
    }

    /// The nonce `address` should sign with next: the larger of the execution node's pending
    /// count and the next nonce Ordo expects (counting what its mempool holds and what it
    /// decided but the node has not executed).
    async fn next_nonce(&self, address: &Address) -> u64 {
        let ordo = self.state.mempool.next_nonce(address, self.namespace);
        let ask = json!({ "jsonrpc": "2.0", "id": 0, "method": "eth_getTransactionCount",
            "params": [address, "pending"] });
        let engine = match self.forward(&ask, Value::Null).await.get("result") {
            Some(Value::String(hex)) => u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok(),
            _ => None,
        };
        ordo.max(engine.unwrap_or(0))
    }

    /// `eth_fillTransaction`, forwarded: the execution node fills gas, fees and type, but it
    /// does not know what Ordo holds for the sender, so a request with a sender and no nonce
    /// gets Ordo's next nonce first.
    async fn fill(&self, mut raw: Value, id: Value) -> Value {
        let from = raw
            .pointer("/params/0/from")
            .and_then(Value::as_str)
            .and_then(|a| a.parse::<Address>().ok());
        let unset = raw.pointer("/params/0/nonce").is_none_or(Value::is_null);
        if let (Some(from), true) = (from, unset) {
            let nonce = self.next_nonce(&from).await;
            if let Some(tx) = raw.pointer_mut("/params/0").and_then(Value::as_object_mut) {
                tx.insert("nonce".into(), json!(format!("{nonce:#x}")));
            }
        }
        self.forward(&raw, id).await
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
                METHOD_NOT_FOUND,
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
                    INTERNAL_ERROR,
                    format!("execution node unreachable: {e}"),
                )),
            ),
        }
    }
}

/// One HTTP client for all forwarding (it pools connections).
/// Methods the execution node must never get from the public: they would sign with its keys,
/// send a transaction or change its state outside Ordo's order (Anvil's and Hardhat's test
/// methods among them), or trace at length. Refused as geth refuses a method it does not serve.
fn bypasses_ordo(method: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "anvil_",
        "hardhat_",
        "evm_",
        "personal_",
        "admin_",
        "miner_",
        "debug_",
        "eth_sign",
    ];
    matches!(
        method,
        "eth_sendTransaction" | "eth_submitWork" | "eth_submitHashrate"
    ) || PREFIXES.iter().any(|p| method.starts_with(p))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_would_bypass_ordo_is_never_forwarded_and_reads_are() {
        for method in [
            "eth_sendTransaction",
            "eth_sign",
            "eth_signTransaction",
            "eth_signTypedData_v4",
            "anvil_setBalance",
            "hardhat_impersonateAccount",
            "evm_mine",
            "personal_unlockAccount",
            "admin_addPeer",
            "miner_start",
            "debug_traceTransaction",
        ] {
            assert!(bypasses_ordo(method), "{method}");
        }
        for method in [
            "eth_call",
            "eth_getBalance",
            "eth_estimateGas",
            "eth_syncing",
            "eth_getLogs",
            "eth_blockNumber",
            "web3_clientVersion",
        ] {
            assert!(!bypasses_ordo(method), "{method}");
        }
    }

    /// Every admission refusal, with the chain id its transaction was signed for: the code and
    /// message geth gives for the same situation (what clients match on), and Ordo's own in
    /// `data`.
    #[test]
    fn refusals_answer_as_geth_with_ordos_code_in_data() {
        let wrong_chain = || MempoolError::Rollup {
            code: ErrorCode::WrongRollupChain,
            reason: "signed for another chain".into(),
        };
        let cases = [
            (
                MempoolError::NonceTooLow { nonce: 3, next: 5 },
                None,
                -32000,
                "nonce too low: next nonce 5, tx nonce 3",
            ),
            (
                MempoolError::NonceGapTooLarge {
                    nonce: 90,
                    next: 5,
                    max_gap: 64,
                },
                None,
                -32000,
                "nonce too high: next nonce 5, tx nonce 90, at most 64 ahead",
            ),
            (MempoolError::AlreadyKnown, None, -32000, "already known"),
            (
                MempoolError::NonceTaken { nonce: 5 },
                None,
                -32000,
                "replacement transaction underpriced",
            ),
            (
                MempoolError::SenderLimit { max: 64 },
                None,
                -32000,
                "account limit exceeded: 64 pending transactions",
            ),
            (MempoolError::Full, None, -32000, "txpool is full"),
            (
                MempoolError::PayloadTooLarge {
                    size: 200_000,
                    max: 131_072,
                },
                None,
                -32000,
                "oversized data: transaction size 200000, limit 131072",
            ),
            (
                MempoolError::BadSignature(ordo_types::Error::InvalidSignatureScalar),
                None,
                -32000,
                "invalid sender",
            ),
            (
                MempoolError::WrongSender {
                    from: Address::repeat_byte(1),
                    recovered: Address::repeat_byte(2),
                    chain_id: 7,
                    named_chain: false,
                },
                None,
                -32000,
                "invalid sender",
            ),
            (
                MempoolError::WrongChain {
                    signed: 8,
                    chain: 7,
                },
                None,
                -32000,
                "invalid chain id for signer",
            ),
            (
                wrong_chain(),
                Some(902),
                -32000,
                "invalid chain id for signer",
            ),
            (
                wrong_chain(),
                None,
                -32000,
                "only replay-protected (EIP-155) transactions allowed over RPC",
            ),
            (
                MempoolError::Rollup {
                    code: ErrorCode::WrongTxKind,
                    reason:
                        "refused by the rollup: an evm rollup does not take EIP-712 transactions"
                            .into(),
                },
                None,
                -32000,
                "refused by the rollup: an evm rollup does not take EIP-712 transactions",
            ),
            (
                MempoolError::UnknownNamespace(4),
                None,
                -32000,
                "namespace 4 is not registered",
            ),
            (
                MempoolError::Busy {
                    ready: 9000,
                    bytes: 1_800_000,
                },
                None,
                -32005,
                "node busy: 9000 transactions (1800000 payload bytes) waiting for blocks; retry later",
            ),
            (
                MempoolError::ChecksBehind { queued: 8192 },
                None,
                -32005,
                "node busy: 8192 transactions waiting for signature checks; retry later",
            ),
            (
                MempoolError::Journal("disk full".into()),
                None,
                -32603,
                "internal error: journal write failed: disk full",
            ),
        ];
        for (e, chain, code, message) in cases {
            let answer = refused(&e, || chain);
            assert_eq!((answer.code, answer.message.as_str()), (code, message));
            assert_eq!(
                answer.data,
                Some(json!({ "code": e.code(), "reason": e.to_string() }))
            );
        }
    }
}
