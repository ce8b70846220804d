//! Integration tests of the `ordo` binary: real processes on 127.0.0.1.

// An integration test links every dependency of its package.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod api;
mod bundles;
mod consensus;
mod da;
mod devnet;
mod election;
mod encryption;
mod evm;
mod explorer;
mod force;
mod harness;
mod hostile;
mod l1;
mod mempool;
mod openapi;
mod opening;
mod rollup;
mod senders;
mod supervision;
mod testnet;
mod wallets;
