//! Integration tests of the mempool crate, one binary with a module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gossip;
