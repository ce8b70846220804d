//! Integration tests of the `ordo` binary: real processes on 127.0.0.1.

mod api;
mod consensus;
mod harness;
