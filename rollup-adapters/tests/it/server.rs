//! The HTTP client against a local server that serves a fixture chain, honestly or not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use ordo_rollup_adapters::{
    ClientError, Handover, Handovers, NamespaceBlock, NamespaceRange, RollupClient,
    VerifiedNamespaceBlock, MAX_HANDOVERS,
};
use ordo_types::Error;
use serde::Deserialize;
use serde_json::json;

use crate::fixture::{key, Chain, CHAIN_ID};

/// How the fake node misbehaves.
#[derive(Clone, Default)]
struct Faults {
    /// Replace the slice served at these heights.
    replace: HashMap<u64, NamespaceBlock>,
    /// Close each stream connection after this many events.
    close_after: Option<usize>,
    /// Ignore `from` and always stream from height 1.
    replay_from_start: bool,
    /// Skip this height in streams and ranges.
    skip: Option<u64>,
    /// Serve this committee as the next one in every handover.
    next: Option<ordo_types::ValidatorSet>,
    /// Serve at most this many handovers per answer.
    page: Option<usize>,
}

#[derive(Clone)]
struct Fake {
    chain: Arc<Chain>,
    faults: Arc<Faults>,
    /// `from` of every stream request, in order.
    stream_requests: Arc<Mutex<Vec<u64>>>,
    /// `(from, to)` of every handover request, in order.
    handover_requests: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl Fake {
    fn slice(&self, ns: u64, height: u64) -> Option<NamespaceBlock> {
        if height == 0 || height > self.chain.blocks.len() as u64 {
            return None;
        }
        Some(
            self.faults
                .replace
                .get(&height)
                .cloned()
                .unwrap_or_else(|| self.chain.slice(ns, height)),
        )
    }
}

#[derive(Deserialize)]
struct FromTo {
    from: u64,
    to: Option<u64>,
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"code": "NOT_FOUND", "message": "no such block"})),
    )
        .into_response()
}

async fn one(State(f): State<Fake>, Path((ns, height)): Path<(u64, u64)>) -> Response {
    match f.slice(ns, height) {
        Some(slice) => Json(slice).into_response(),
        None => not_found(),
    }
}

async fn range(State(f): State<Fake>, Path(ns): Path<u64>, Query(q): Query<FromTo>) -> Response {
    let tip = f.chain.blocks.len() as u64;
    let to = q.to.unwrap_or(tip).min(tip);
    let blocks: Vec<NamespaceBlock> = (q.from..=to)
        .filter(|h| Some(*h) != f.faults.skip)
        .filter_map(|h| f.slice(ns, h))
        .collect();
    Json(NamespaceRange {
        namespace: ns,
        from: q.from,
        to: Some(to),
        tip,
        blocks,
    })
    .into_response()
}

/// A finite SSE body: the events from `from` up to the tip (or `close_after` of them).
async fn stream(State(f): State<Fake>, Path(ns): Path<u64>, Query(q): Query<FromTo>) -> Response {
    f.stream_requests.lock().unwrap().push(q.from);
    let start = if f.faults.replay_from_start {
        1
    } else {
        q.from
    };
    let tip = f.chain.blocks.len() as u64;
    let mut body = String::from(": hello\n\n");
    let mut sent = 0;
    for h in start..=tip {
        if Some(h) == f.faults.skip {
            continue;
        }
        if f.faults.close_after.is_some_and(|n| sent >= n) {
            break;
        }
        let data = serde_json::to_string(&f.slice(ns, h).unwrap()).unwrap();
        body.push_str(&format!(
            "id: {h}\nevent: block\ndata: {data}\n\n: keep-alive\n\n"
        ));
        sent += 1;
    }
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}

async fn handovers(State(f): State<Fake>, Query(q): Query<FromTo>) -> Response {
    let tip = f.chain.blocks.len() as u64;
    let mut to = q.to.unwrap_or(tip).min(tip);
    f.handover_requests.lock().unwrap().push((q.from, to));
    let page = f.faults.page.unwrap_or(MAX_HANDOVERS);
    let mut handovers: Vec<Handover> = (q.from..=to)
        .filter_map(|h| f.chain.handover(h))
        .take(page)
        .collect();
    if handovers.len() == page {
        to = handovers[page - 1].header.height;
    }
    if let Some(next) = &f.faults.next {
        for h in &mut handovers {
            h.next = next.clone();
        }
    }
    Json(Handovers {
        from: q.from,
        to,
        handovers,
    })
    .into_response()
}

#[derive(Deserialize)]
struct AtHeight {
    height: u64,
}

async fn committee(State(f): State<Fake>, Query(q): Query<AtHeight>) -> Response {
    let Some(set) = usize::try_from(q.height.saturating_sub(1))
        .ok()
        .and_then(|i| f.chain.sets.get(i))
    else {
        return not_found();
    };
    Json(json!({ "height": q.height, "current": { "validators": set } })).into_response()
}

async fn serve(chain: Chain, faults: Faults) -> (String, Fake) {
    let fake = Fake {
        chain: Arc::new(chain),
        faults: Arc::new(faults),
        stream_requests: Arc::default(),
        handover_requests: Arc::default(),
    };
    let app = Router::new()
        .route("/v1/namespaces/{ns}/blocks/{height}", get(one))
        .route("/v1/namespaces/{ns}/blocks", get(range))
        .route("/v1/namespaces/{ns}/stream", get(stream))
        .route("/v1/validators", get(committee))
        .route("/v1/handovers", get(handovers))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/"), fake)
}

fn chain(blocks: usize) -> Chain {
    let mut chain = Chain::new(4);
    chain.extend(blocks);
    chain
}

fn client(url: &str, chain: &Chain) -> RollupClient {
    RollupClient::new(url, CHAIN_ID, chain.set.clone())
}

async fn collect(
    client: &RollupClient,
    ns: u64,
    from: u64,
    max: usize,
) -> Vec<Result<VerifiedNamespaceBlock, ClientError>> {
    let stream = client.stream(ns, from).take(max);
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.collect::<Vec<_>>(),
    )
    .await
    .expect("stream stalled")
}

#[tokio::test]
async fn block_and_range_verify_against_an_honest_node() {
    let chain = chain(8);
    let hashes: Vec<_> = chain.blocks.iter().map(|(b, _)| b.hash()).collect();
    let (url, _) = serve(chain, Faults::default()).await;
    let mut c = client(&url, &Chain::new(4));
    let one = c.block(7, 2).await.unwrap();
    assert_eq!(one.entries().len(), 2);
    assert_eq!(one.block_hash(), hashes[1]);
    assert!(c.block(7, 3).await.unwrap().entries().is_empty());
    let missing = c.block(7, 99).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(!missing.is_verification_failure());

    let range = c.range(7, 2, 6).await.unwrap();
    assert_eq!(
        range.iter().map(|b| b.height()).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6]
    );
    // `to` past the tip: up to the tip.
    let range = c.range(7, 7, 50).await.unwrap();
    assert_eq!(range.iter().map(|b| b.height()).collect::<Vec<_>>(), [7, 8]);
}

#[tokio::test]
async fn the_client_refuses_what_a_lying_node_serves() {
    let chain = chain(6);
    let honest = chain.slice(7, 2);
    let mut weak = honest.clone();
    weak.certificate = chain.certify(&chain.blocks[1].0.header, 0, &[1, 2]);
    let mut forged = honest.clone();
    forged.certificate.signatures[0].signature =
        key(77).sign_digest(&forged.certificate.digest(CHAIN_ID));
    let mut rehashed = honest.clone();
    rehashed.header.inbox_cursor = 5;
    rehashed.block_hash = rehashed.header.hash();
    let mut censored = honest.clone();
    censored.transactions.pop();

    let cases: Vec<(NamespaceBlock, &str)> = vec![
        (weak, "CERTIFICATE_INVALID"),
        (forged, "CERTIFICATE_INVALID"),
        (rehashed, "HEADER_HASH_MISMATCH"),
        (censored, "BAD_PROOF"),
    ];
    for (bad, code) in cases {
        let set = chain.set.clone();
        let mut copy = Chain::new(4);
        copy.extend(6);
        let faults = Faults {
            replace: HashMap::from([(2, bad)]),
            ..Faults::default()
        };
        let (url, _) = serve(copy, faults).await;
        let mut c = RollupClient::new(&url, CHAIN_ID, set);
        let err = c.block(7, 2).await.unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert!(err.is_verification_failure());
        if let ClientError::CertificateInvalid(e) = &err {
            assert!(matches!(
                e,
                Error::InsufficientPower { .. } | Error::BadSignature
            ));
        }
        // The range and the stream refuse it too; the stream hands out height 1 first,
        // then the failure, then ends.
        assert_eq!(c.range(7, 1, 4).await.unwrap_err().code(), code);
        let items = collect(&c, 7, 1, 10).await;
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap().height(), 1);
        assert_eq!(items[1].as_ref().unwrap_err().code(), code);
    }
}

#[tokio::test]
async fn the_stream_resumes_after_disconnects_without_gaps_or_repeats() {
    let chain = chain(10);
    let hashes: Vec<_> = chain.blocks.iter().map(|(b, _)| b.hash()).collect();
    let faults = Faults {
        close_after: Some(3),
        ..Faults::default()
    };
    let (url, fake) = serve(chain, faults).await;
    let c = client(&url, &Chain::new(4));
    let items = collect(&c, 7, 2, 9).await;
    let blocks: Vec<VerifiedNamespaceBlock> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        blocks.iter().map(|b| b.height()).collect::<Vec<_>>(),
        (2..=10).collect::<Vec<_>>()
    );
    for b in &blocks {
        assert_eq!(b.block_hash(), hashes[b.height() as usize - 1]);
    }
    // Each reconnection asked for the height after the last one received.
    assert_eq!(
        fake.stream_requests.lock().unwrap()[..3],
        [2, 5, 8],
        "stream requests"
    );
}

#[tokio::test]
async fn a_stream_that_repeats_or_skips_a_height_is_refused() {
    let chain_a = chain(6);
    let faults = Faults {
        close_after: Some(2),
        replay_from_start: true,
        ..Faults::default()
    };
    let (url, _) = serve(chain_a, faults).await;
    let c = client(&url, &Chain::new(4));
    let items = collect(&c, 7, 1, 10).await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(matches!(
        items[2],
        Err(ClientError::HeightMismatch {
            expected: 3,
            got: 1,
            what: "event id"
        })
    ));

    let faults = Faults {
        skip: Some(3),
        ..Faults::default()
    };
    let (url, _) = serve(chain(6), faults).await;
    let mut c = client(&url, &Chain::new(4));
    let items = collect(&c, 7, 1, 10).await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(matches!(
        items[2],
        Err(ClientError::HeightMismatch {
            expected: 3,
            got: 4,
            ..
        })
    ));
    let err = c.range(7, 1, 5).await.unwrap_err();
    assert!(matches!(err, ClientError::HeightMismatch { .. }), "{err}");
}

#[tokio::test]
async fn transport_failures_are_reported_and_the_stream_retries() {
    // Nothing listens on this port (bound, then dropped).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = client(&format!("http://127.0.0.1:{port}"), &Chain::new(4));
    let err = c.block(7, 1).await.unwrap_err();
    assert!(matches!(err, ClientError::Http(_)), "{err}");
    assert!(!err.is_verification_failure());
    // The stream keeps reporting (with backoff) rather than ending.
    let items = collect(&c, 7, 1, 3).await;
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| matches!(i, Err(ClientError::Http(_)))));
}

#[tokio::test]
async fn a_stream_follows_announced_rotations_and_refuses_an_unannounced_committee() {
    // Blocks 1-3 by keys 0-3; block 3 announces keys 10-13, which decide 4-6; block 6
    // announces keys 20-23, which decide 7-8.
    let mut chain = Chain::new(4);
    chain.extend(2);
    chain.rotate_to((10..14).map(key).collect());
    chain.extend(3);
    chain.rotate_to((20..24).map(key).collect());
    chain.extend(3);
    let genesis = Chain::new(4);
    let (url, _) = serve(chain, Faults::default()).await;
    let got = collect(&client(&url, &genesis), 7, 1, 8).await;
    let heights: Vec<u64> = got.iter().map(|r| r.as_ref().unwrap().height()).collect();
    assert_eq!(heights, (1..=8).collect::<Vec<_>>());

    // A node that serves another committee than the one announced is refused.
    let mut chain = Chain::new(4);
    chain.extend(2);
    chain.rotate_to((10..14).map(key).collect());
    chain.extend(3);
    let liar = Chain::new(4); // keys 0-3 again: not the announced committee
    let (url, _) = serve(
        chain,
        Faults {
            next: Some(liar.set.clone()),
            ..Faults::default()
        },
    )
    .await;
    let got = collect(&client(&url, &genesis), 7, 1, 10).await;
    assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 3);
    let err = got.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(
        matches!(err, ClientError::UnknownValidatorSet { .. }),
        "{err}"
    );
    assert_eq!(got.len(), 4, "the stream ends at the refusal");

    // Without the announcement, a block by another committee is refused outright.
    let mut chain = Chain::new(4);
    chain.extend(2);
    chain.keys = (30..34).map(key).collect();
    chain.set = ordo_types::ValidatorSet::new(
        chain
            .keys
            .iter()
            .map(|k| ordo_types::Validator::new(k.public_key(), 100))
            .collect(),
    )
    .unwrap();
    chain.extend(1);
    let (url, _) = serve(chain, Faults::default()).await;
    let got = collect(&client(&url, &genesis), 7, 1, 10).await;
    assert!(matches!(
        got.last(),
        Some(Err(ClientError::UnknownValidatorSet { .. }))
    ));
}

/// Blocks 1-3 by keys 0-3; block 3 hands over to keys 10-13 (4-6), block 6 to keys 20-23
/// (7-9).
fn rotating_chain() -> Chain {
    let mut chain = Chain::new(4);
    chain.extend(2);
    chain.rotate_to((10..14).map(key).collect());
    chain.extend(3);
    chain.rotate_to((20..24).map(key).collect());
    chain.extend(4);
    chain
}

#[tokio::test]
async fn a_client_trusting_genesis_reads_anywhere_after_rotations_in_one_request_per_page() {
    let genesis = Chain::new(4);
    let (url, fake) = serve(rotating_chain(), Faults::default()).await;
    let requests = || fake.handover_requests.lock().unwrap().clone();

    // A single block: one request walks both handovers.
    let mut c = client(&url, &genesis);
    assert_eq!(c.block(7, 8).await.unwrap().height(), 8);
    assert_eq!(requests(), vec![(1, 7)]);
    assert_eq!(c.verifier().trusted_since(), 7);
    // Already trusted: no request.
    assert_eq!(c.block(7, 9).await.unwrap().height(), 9);
    assert_eq!(requests().len(), 1);

    // A range across both rotations, and a stream starting after them.
    let mut c = client(&url, &genesis);
    let heights: Vec<u64> = c
        .range(7, 2, 9)
        .await
        .unwrap()
        .iter()
        .map(|b| b.height())
        .collect();
    assert_eq!(heights, (2..=9).collect::<Vec<_>>());
    let got = collect(&client(&url, &genesis), 7, 8, 2).await;
    let heights: Vec<u64> = got.iter().map(|r| r.as_ref().unwrap().height()).collect();
    assert_eq!(heights, vec![8, 9]);

    // A node that pages its answers one handover at a time is followed page by page.
    let (url, fake) = serve(
        rotating_chain(),
        Faults {
            page: Some(1),
            ..Faults::default()
        },
    )
    .await;
    let mut c = client(&url, &genesis);
    assert_eq!(c.block(7, 9).await.unwrap().height(), 9);
    assert_eq!(
        *fake.handover_requests.lock().unwrap(),
        vec![(1, 8), (4, 8), (7, 8)]
    );
}

#[tokio::test]
async fn a_handover_the_trusted_committee_did_not_certify_is_refused_and_changes_nothing() {
    let chain = rotating_chain();
    let genesis = Chain::new(4);
    let good = chain.handover(3).unwrap();
    let trusting = || ordo_rollup_adapters::Verifier::new(CHAIN_ID, genesis.set.clone());
    let refused = |handover: Handover| {
        let mut v = trusting();
        let err = v.hand_over(handover).unwrap_err();
        assert_eq!(v.validators_hash(), genesis.set.hash(), "trust moved");
        assert_eq!(v.trusted_since(), 1);
        err
    };

    // Signed by one validator of four: below 2/3 of the power.
    let mut weak = good.clone();
    weak.certificate = genesis.certify(&weak.header, 0, &[0]);
    assert!(matches!(refused(weak), ClientError::CertificateInvalid(_)));
    // Certified by the next committee instead of the trusted one.
    let mut foreign = chain.handover(6).unwrap();
    assert!(matches!(
        refused(foreign.clone()),
        ClientError::UnknownValidatorSet { .. }
    ));
    // A committee other than the one the header names.
    foreign = good.clone();
    foreign.next = genesis.set.clone();
    assert!(matches!(
        refused(foreign),
        ClientError::UnknownValidatorSet { .. }
    ));
    // A header that is not the certified one.
    let mut altered = good.clone();
    altered.header.timestamp_ms += 1;
    assert!(matches!(
        refused(altered),
        ClientError::HeaderHashMismatch { .. }
    ));
    // A certificate for another height.
    let mut shifted = good.clone();
    shifted.certificate.height += 1;
    assert!(matches!(
        refused(shifted),
        ClientError::HeightMismatch { .. }
    ));

    // The good one moves trust; replaying it (now below the trusted height) is refused.
    let mut v = trusting();
    v.hand_over(good.clone()).unwrap();
    assert_eq!(v.trusted_since(), 4);
    assert!(matches!(
        v.hand_over(good),
        Err(ClientError::HeightMismatch { .. })
    ));
}

#[tokio::test]
async fn a_client_trusting_a_later_committee_by_its_hash_reads_from_its_height_only() {
    let chain = rotating_chain();
    let later = chain.sets[6].clone(); // keys 20-23, deciding from height 7
    let (url, fake) = serve(chain, Faults::default()).await;
    let mut c = RollupClient::from_committee_hash(&url, CHAIN_ID, later.hash(), 7)
        .await
        .unwrap();
    assert_eq!(c.block(7, 8).await.unwrap().height(), 8);
    assert!(fake.handover_requests.lock().unwrap().is_empty());
    // Trust does not walk back: an earlier committee's block is refused.
    assert!(matches!(
        c.block(7, 5).await,
        Err(ClientError::UnknownValidatorSet { .. })
    ));
    // The node's committee at a height must hash to the trusted hash.
    assert!(matches!(
        RollupClient::from_committee_hash(&url, CHAIN_ID, later.hash(), 4).await,
        Err(ClientError::UnknownValidatorSet { .. })
    ));
}
