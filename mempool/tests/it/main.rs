//! Integration tests of the mempool crate, one binary with a module per area.

// An integration test links every dependency of its package.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gossip;
