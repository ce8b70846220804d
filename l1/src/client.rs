//! An L1 RPC client over several endpoints: a timeout on every request, retries with
//! exponential backoff, and failover to the next URL when one fails.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::RootProvider;
use serde::{Deserialize, Serialize};

use crate::error::L1Error;

/// How an [`L1Client`] talks to its endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RpcConfig {
    /// L1 JSON-RPC URLs, tried in order; the client stays on the last one that answered.
    pub urls: Vec<String>,
    /// Time allowed for one request, milliseconds.
    pub request_timeout_ms: u64,
    /// Passes over all URLs before a request fails (at least 1).
    pub attempts: u32,
    /// Pause after the first failed pass, milliseconds; doubles after each further pass.
    pub backoff_ms: u64,
    /// Longest pause between passes, milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            request_timeout_ms: 2_000,
            attempts: 3,
            backoff_ms: 100,
            max_backoff_ms: 2_000,
        }
    }
}

struct Endpoint {
    url: String,
    provider: RootProvider,
}

/// A cloneable client for one L1 over one or more RPC URLs.
#[derive(Clone)]
pub struct L1Client {
    endpoints: Arc<[Endpoint]>,
    /// Index of the endpoint that answered last.
    current: Arc<AtomicUsize>,
    config: RpcConfig,
}

impl std::fmt::Debug for L1Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L1Client")
            .field("urls", &self.config.urls)
            .field("current", &self.current.load(Ordering::Relaxed))
            .finish()
    }
}

impl L1Client {
    /// A client for `config.urls` (at least one, each a valid URL).
    pub fn new(config: RpcConfig) -> Result<Self, L1Error> {
        if config.urls.is_empty() {
            return Err(L1Error::InvalidRpcUrl {
                url: String::new(),
                reason: "no L1 RPC URL given".into(),
            });
        }
        let endpoints = config
            .urls
            .iter()
            .map(|url| {
                let parsed = crate::error::parse_rpc_url(url)?;
                Ok(Endpoint {
                    url: url.clone(),
                    provider: RootProvider::new_http(parsed),
                })
            })
            .collect::<Result<Vec<_>, L1Error>>()?;
        Ok(Self {
            endpoints: endpoints.into(),
            current: Arc::new(AtomicUsize::new(0)),
            config,
        })
    }

    /// A client for one URL with the default timeouts and retries.
    pub fn single(url: &str) -> Result<Self, L1Error> {
        Self::new(RpcConfig {
            urls: vec![url.to_owned()],
            ..RpcConfig::default()
        })
    }

    /// The URL requests currently go to first.
    pub fn current_url(&self) -> &str {
        let i = self.current.load(Ordering::Relaxed) % self.endpoints.len();
        &self.endpoints[i].url
    }

    /// The L1's chain id.
    pub async fn chain_id(&self) -> Result<u64, L1Error> {
        self.request("eth_chainId", |p| async move {
            alloy::providers::Provider::get_chain_id(&p).await
        })
        .await
    }

    /// Runs `call` against the endpoints: the current one first, then the others in order,
    /// each under the request timeout; after a pass in which all failed, waits (doubling from
    /// `backoff_ms`) and tries again, `attempts` passes in all. Fails with
    /// [`L1Error::Unavailable`] carrying the last error.
    pub async fn request<T, E, F, Fut>(&self, what: &'static str, call: F) -> Result<T, L1Error>
    where
        F: Fn(RootProvider) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let n = self.endpoints.len();
        let timeout = Duration::from_millis(self.config.request_timeout_ms.max(1));
        let mut backoff = self.config.backoff_ms;
        let mut last = String::new();
        let passes = self.config.attempts.max(1);
        for pass in 0..passes {
            let start = self.current.load(Ordering::Relaxed);
            for k in 0..n {
                let i = (start + k) % n;
                let endpoint = &self.endpoints[i];
                match tokio::time::timeout(timeout, call(endpoint.provider.clone())).await {
                    Ok(Ok(value)) => {
                        if i != start % n {
                            tracing::info!(target: "ordo::l1", url = %endpoint.url, "failed over to L1 endpoint");
                        }
                        self.current.store(i, Ordering::Relaxed);
                        return Ok(value);
                    }
                    Ok(Err(e)) => last = format!("{}: {e}", endpoint.url),
                    Err(_) => last = format!("{}: timed out after {timeout:?}", endpoint.url),
                }
                tracing::debug!(target: "ordo::l1", what, error = %last, "L1 request failed");
            }
            if pass + 1 < passes {
                tokio::time::sleep(Duration::from_millis(backoff)).await;
                backoff = backoff.saturating_mul(2).min(self.config.max_backoff_ms);
            }
        }
        Err(L1Error::Unavailable {
            what,
            attempts: passes,
            last,
        })
    }
}
