//! The rollup read side: one namespace's slice of decided blocks, with everything a client
//! needs to verify it offline (the header, the namespace proof against the header's
//! `namespace_root`, and the commit certificate over the header's hash).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use ordo_consensus::DecidedBlock;
use ordo_types::{CommitCertificate, Entry, Header, NamespaceProof, B256};
use serde::Serialize;

use crate::{decided, ApiError, ApiState};

/// The rollup routes, merged into the API's router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route(
        "/v1/namespaces/{namespace}/blocks/{height}",
        get(namespace_block),
    )
}

/// One namespace's slice of a decided block.
#[derive(Serialize)]
struct NamespaceBlock {
    namespace: u64,
    height: u64,
    block_hash: B256,
    namespace_root: B256,
    header: Header,
    certificate: CommitCertificate,
    transactions: Vec<Entry>,
    proof: NamespaceProof,
}

impl NamespaceBlock {
    fn new(d: DecidedBlock, namespace: u64) -> Self {
        let DecidedBlock { block, certificate } = d;
        let proof = block.body.proof(namespace);
        let block_hash = block.hash();
        let transactions = block
            .body
            .namespaces
            .into_iter()
            .find(|g| g.namespace == namespace)
            .map(|g| g.entries)
            .unwrap_or_default();
        Self {
            namespace,
            height: block.header.height,
            block_hash,
            namespace_root: block.header.namespace_root,
            header: block.header,
            certificate,
            transactions,
            proof,
        }
    }
}

async fn namespace_block(
    State(s): State<ApiState>,
    path: Result<Path<(u64, u64)>, PathRejection>,
) -> Result<Json<NamespaceBlock>, ApiError> {
    let Path((namespace, height)) = path?;
    Ok(Json(NamespaceBlock::new(decided(&s, height)?, namespace)))
}
