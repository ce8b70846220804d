//! Integration tests of the rollup client: verification of honest and tampered slices, and
//! the HTTP client against a local server that serves them.

// An integration test links every dependency of its package.
#![allow(unused_crate_dependencies)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod fixture;
mod opened;
mod server;
mod verify;
