//! The verifying client: fetches a namespace's blocks from any Ordo node and hands out only
//! what verifies against the trusted validator set.

use std::time::Duration;

use futures_util::Stream;
use ordo_types::{ValidatorSet, B256};

use crate::error::ClientError;
use crate::sse::{SseEvent, SseParser};
use crate::verify::{check_link, Genesis, VerifiedNamespaceBlock, Verifier};
use crate::wire::{ApiErrorBody, Handovers, NamespaceBlock, NamespaceRange};

/// Largest single stream event the client accepts (a 2 MiB block is about 4 MiB of JSON).
const MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// A client for one rollup's view of an Ordo node. Every block it returns has been verified by
/// its [`Verifier`]; the node is not trusted for anything.
///
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct RollupClient {
    http: reqwest::Client,
    base: String,
    verifier: Verifier,
}

impl RollupClient {
    /// A client of the node at `base_url` (e.g. `http://127.0.0.1:8650`) that trusts
    /// `validators` for chain `chain_id`.
    pub fn new(base_url: impl Into<String>, chain_id: u64, validators: ValidatorSet) -> Self {
        Self::with_verifier(base_url, Verifier::new(chain_id, validators))
    }

    /// A client that trusts the genesis committee.
    pub fn from_genesis(base_url: impl Into<String>, genesis: &Genesis) -> Self {
        Self::with_verifier(base_url, Verifier::from_genesis(genesis))
    }

    /// A client that trusts the committee hashing to `committee_hash` from height `since` on
    /// (as the L1 `LightClient` holds it: the height after the header that installed it). The
    /// set comes from the node (`GET /v1/validators?height=since`) and must hash to
    /// `committee_hash`.
    pub async fn from_committee_hash(
        base_url: impl Into<String>,
        chain_id: u64,
        committee_hash: B256,
        since: u64,
    ) -> Result<Self, ClientError> {
        #[derive(serde::Deserialize)]
        struct Committee {
            current: CommitteeSet,
        }
        #[derive(serde::Deserialize)]
        struct CommitteeSet {
            validators: ValidatorSet,
        }
        let base = base_url.into().trim_end_matches('/').to_owned();
        let http = reqwest::Client::new();
        let committee: Committee =
            get_json(&http, &base, &format!("/v1/validators?height={since}")).await?;
        let set = committee.current.validators;
        if set.hash() != committee_hash {
            return Err(ClientError::UnknownValidatorSet {
                header: set.hash(),
                trusted: committee_hash,
            });
        }
        Ok(Self {
            http,
            base,
            verifier: Verifier::since(chain_id, set, since),
        })
    }

    /// A client with the given verifier.
    pub fn with_verifier(base_url: impl Into<String>, verifier: Verifier) -> Self {
        let base = base_url.into().trim_end_matches('/').to_owned();
        Self {
            http: reqwest::Client::new(),
            base,
            verifier,
        }
    }

    /// This client, also checking encrypted transactions' openings: each block's against the
    /// key its certified header commits to. It asks the node for a key it does not hold yet
    /// (`GET /v1/encryption/keys/{commitment}`) and takes it only if it matches the
    /// commitment, so it trusts the committee's certificates alone.
    pub fn with_openings(self) -> Self {
        Self {
            verifier: self.verifier.with_openings(),
            ..self
        }
    }

    /// Fetches the key `header` commits to, when openings are checked and the verifier does
    /// not hold it; a key that does not match the commitment is refused.
    async fn fetch_key(&mut self, header: &ordo_types::Header) -> Result<(), ClientError> {
        #[derive(serde::Deserialize)]
        struct Key {
            key_id: u64,
            public_key: ordo_types::Bytes,
        }
        let Some(commitment) = self.verifier.missing_key(header) else {
            return Ok(());
        };
        let key: Key = self
            .get_json(&format!("/v1/encryption/keys/{commitment}"))
            .await?;
        let key = ordo_enc::EncryptionKey::from_bytes(key.key_id, &key.public_key)
            .map_err(|e| ClientError::Malformed(format!("the encryption key: {e}")))?;
        if key.commitment() != commitment {
            return Err(ClientError::BadOpening(format!(
                "the node served key {} for commitment {commitment}",
                key.key_id
            )));
        }
        self.verifier.add_key(key);
        Ok(())
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        get_json(&self.http, &self.base, path).await
    }

    /// Moves trust forward to the committee deciding `height`: walks the handovers the node
    /// serves from the height trust starts from, each checked by [`Verifier::hand_over`], in
    /// as many requests as the node's pages need (up to [`crate::MAX_HANDOVERS`] each). Stops early,
    /// trusting the last committee reached, where the node's chain ends.
    pub async fn catch_up(&mut self, height: u64) -> Result<(), ClientError> {
        let Some(last) = height.checked_sub(1) else {
            return Ok(());
        };
        let mut from = self.verifier.trusted_since();
        while from <= last {
            let answer: Handovers = self
                .get_json(&format!("/v1/handovers?from={from}&to={last}"))
                .await?;
            if answer.to < from {
                break; // the node's chain ends before `from`
            }
            for handover in answer.handovers {
                if !(from..=answer.to.min(last)).contains(&handover.header.height) {
                    return Err(ClientError::Malformed(format!(
                        "a handover at {} in an answer for {from}..={}",
                        handover.header.height, answer.to
                    )));
                }
                self.verifier.hand_over(handover)?;
            }
            from = answer.to.saturating_add(1);
        }
        Ok(())
    }

    /// Verifies `block` as namespace `namespace`'s slice at `height`, first catching up with
    /// the committee deciding it when its header names another committee than the trusted one.
    async fn verify(
        &mut self,
        namespace: u64,
        height: u64,
        block: NamespaceBlock,
    ) -> Result<VerifiedNamespaceBlock, ClientError> {
        if block.header.validators_hash != self.verifier.validators_hash()
            && height > self.verifier.trusted_since()
        {
            self.catch_up(height).await?;
        }
        if !block.opened.is_empty() {
            self.fetch_key(&block.header).await?;
        }
        self.verifier.verify(namespace, height, block)
    }

    /// Namespace `namespace`'s verified slice of the block at `height`.
    pub async fn block(
        &mut self,
        namespace: u64,
        height: u64,
    ) -> Result<VerifiedNamespaceBlock, ClientError> {
        let block: NamespaceBlock = self
            .get_json(&format!("/v1/namespaces/{namespace}/blocks/{height}"))
            .await?;
        self.verify(namespace, height, block).await
    }

    /// The verified slices of heights `from..=to` (at most [`crate::MAX_RANGE`] heights), or
    /// fewer if the node's tip is below `to` or its answer hit its size budget. The blocks are
    /// consecutive from `from` and each extends the previous one.
    pub async fn range(
        &mut self,
        namespace: u64,
        from: u64,
        to: u64,
    ) -> Result<Vec<VerifiedNamespaceBlock>, ClientError> {
        let range: NamespaceRange = self
            .get_json(&format!(
                "/v1/namespaces/{namespace}/blocks?from={from}&to={to}"
            ))
            .await?;
        if range.blocks.len() as u64 > to.saturating_sub(from).saturating_add(1) {
            return Err(ClientError::Malformed(format!(
                "{} blocks for a range of {from}..={to}",
                range.blocks.len()
            )));
        }
        let mut out: Vec<VerifiedNamespaceBlock> = Vec::with_capacity(range.blocks.len());
        for (height, block) in (from..).zip(range.blocks) {
            let verified = self.verify(namespace, height, block).await?;
            if let Some(previous) = out.last() {
                verified.check_follows(previous)?;
            }
            out.push(verified);
        }
        Ok(out)
    }

    /// Namespace `namespace`'s verified slices from height `from` on, one per height with no
    /// gap and no repeat: first the stored ones, then each new block as it is decided.
    ///
    /// Each item is checked like [`RollupClient::block`], and must also extend the previous
    /// one. After a verification failure (or an error event from the node) the stream yields
    /// that error and ends. After a transport failure it yields the error, and polling it
    /// again reconnects (with backoff) and resumes after the last verified height.
    pub fn stream(
        &self,
        namespace: u64,
        from: u64,
    ) -> impl Stream<Item = Result<VerifiedNamespaceBlock, ClientError>> + Send + 'static {
        let state = StreamState {
            client: self.clone(),
            namespace,
            next: from,
            previous: None,
            conn: None,
            backoff: None,
            done: false,
        };
        futures_util::stream::unfold(state, |mut state| async move {
            let item = state.next_item().await?;
            Some((item, state))
        })
    }
}

/// `GET {base}{path}`, parsed as JSON; an error status becomes [`ClientError::Api`].
async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    path: &str,
) -> Result<T, ClientError> {
    let resp = http
        .get(format!("{base}{path}"))
        .timeout(Duration::from_secs(30))
        .send()
        .await?;
    let resp = check_status(resp).await?;
    let bytes = resp.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Malformed(e.to_string()))
}

/// Turns an error status into [`ClientError::Api`].
async fn check_status(resp: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    let (code, message) = match serde_json::from_slice::<ApiErrorBody>(&bytes) {
        Ok(body) => (body.code, body.message),
        Err(_) => (
            "UNKNOWN".to_owned(),
            String::from_utf8_lossy(bytes.get(..bytes.len().min(512)).unwrap_or_default())
                .into_owned(),
        ),
    };
    Err(ClientError::Api {
        status: status.as_u16(),
        code,
        message,
    })
}

struct Connection {
    resp: reqwest::Response,
    parser: SseParser,
}

struct StreamState {
    client: RollupClient,
    namespace: u64,
    /// The next height to hand out.
    next: u64,
    /// Hash of the last verified block (height `next - 1`).
    previous: Option<B256>,
    conn: Option<Connection>,
    /// Wait before the next connection attempt (set after a failure).
    backoff: Option<Duration>,
    done: bool,
}

impl StreamState {
    async fn next_item(&mut self) -> Option<Result<VerifiedNamespaceBlock, ClientError>> {
        if self.done {
            return None;
        }
        loop {
            let conn = match &mut self.conn {
                Some(conn) => conn,
                None => match self.connect().await {
                    Ok(conn) => self.conn.insert(conn),
                    Err(e) => return Some(Err(self.fail(e))),
                },
            };
            match conn.parser.next_event() {
                Ok(Some(event)) => {
                    if let Some(item) = self.handle(event).await {
                        return Some(item);
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => return Some(Err(self.fail(e))),
            }
            match conn.resp.chunk().await {
                Ok(Some(bytes)) => {
                    if let Err(e) = conn.parser.push(&bytes) {
                        return Some(Err(self.fail(e)));
                    }
                }
                Ok(None) => {
                    tracing::debug!(target: "ordo::rollup", next = self.next, "stream closed by the node; reconnecting");
                    self.conn = None;
                    self.backoff = Some(self.backoff.map_or(FIRST_BACKOFF, |b| b));
                }
                Err(e) => return Some(Err(self.fail(e.into()))),
            }
        }
    }

    /// Records a failure: drops the connection (a verification failure or error event also
    /// ends the stream) and returns the error to hand out.
    fn fail(&mut self, e: ClientError) -> ClientError {
        self.conn = None;
        if e.is_verification_failure()
            || matches!(
                e,
                ClientError::StreamError { .. }
                    | ClientError::Api {
                        status: 400..=499,
                        ..
                    }
            )
        {
            self.done = true;
        } else {
            let next = self
                .backoff
                .map_or(FIRST_BACKOFF, |b| b.saturating_mul(2).min(MAX_BACKOFF));
            self.backoff = Some(next);
        }
        e
    }

    async fn connect(&mut self) -> Result<Connection, ClientError> {
        if let Some(wait) = self.backoff {
            tokio::time::sleep(wait).await;
        }
        let c = &self.client;
        let resp = c
            .http
            .get(format!(
                "{}/v1/namespaces/{}/stream?from={}",
                c.base, self.namespace, self.next
            ))
            .header("accept", "text/event-stream")
            .send()
            .await?;
        let resp = check_status(resp).await?;
        tracing::debug!(target: "ordo::rollup", namespace = self.namespace, from = self.next, "stream connected");
        Ok(Connection {
            resp,
            parser: SseParser::new(MAX_EVENT_BYTES),
        })
    }

    /// Handles one event: a verified block or a failure to hand out, or `None` to skip it.
    async fn handle(
        &mut self,
        event: SseEvent,
    ) -> Option<Result<VerifiedNamespaceBlock, ClientError>> {
        match event.event.as_str() {
            "block" => {
                let result = self.block_event(&event).await;
                Some(result.map_err(|e| self.fail(e)))
            }
            "error" => {
                let body: ApiErrorBody =
                    serde_json::from_str(&event.data).unwrap_or_else(|_| ApiErrorBody {
                        code: "UNKNOWN".into(),
                        message: event.data.clone(),
                    });
                Some(Err(self.fail(ClientError::StreamError {
                    code: body.code,
                    message: body.message,
                })))
            }
            _ => None,
        }
    }

    async fn block_event(
        &mut self,
        event: &SseEvent,
    ) -> Result<VerifiedNamespaceBlock, ClientError> {
        let id = event
            .id
            .as_deref()
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or_else(|| ClientError::Malformed("a block event without a numeric id".into()))?;
        if id != self.next {
            return Err(ClientError::HeightMismatch {
                expected: self.next,
                got: id,
                what: "event id",
            });
        }
        let block: NamespaceBlock =
            serde_json::from_str(&event.data).map_err(|e| ClientError::Malformed(e.to_string()))?;
        let verified = self.client.verify(self.namespace, self.next, block).await?;
        if let Some(previous) = self.previous {
            check_link(self.next.saturating_sub(1), previous, verified.header())?;
        }
        self.previous = Some(verified.block_hash());
        self.next = self.next.saturating_add(1);
        self.backoff = None;
        Ok(verified)
    }
}
