//! `ordo-testnet`: load and fault scenarios against local networks of real `ordo` processes.
//! `ordo bench` and `ordo testnet` hand over to this binary when it sits next to `ordo`, so the
//! node's binary does not link the tools that drive it.

// A thin front of the library: the package's dependencies are the library's.
#![allow(unused_crate_dependencies)]

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Ordo's testnet tools: open-loop load and fault scenarios.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open-loop load against a network: finalized tx/s, inclusion latency, refusals, per-node
    /// CPU and memory, against this machine's verification rate (JSON result and SVG plot).
    Bench(ordo_testnet::BenchArgs),
    /// A peer outside the committee that sends a network's nodes garbage, oversized, replayed
    /// and outsider-signed messages on both p2p networks, and reports what the nodes did.
    Hostile(ordo_testnet::HostileArgs),
    #[command(flatten)]
    Testnet(ordo_testnet::TestnetCommand),
}

/// The `ordo` binary the networks run: `$ORDO_BIN`, or the one next to this binary.
fn ordo() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("ORDO_BIN") {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::current_exe()?.with_file_name("ordo");
    anyhow::ensure!(
        path.is_file(),
        "no `ordo` binary next to this one ({}); build it, or set ORDO_BIN",
        path.display()
    );
    Ok(path)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Hostile(args) = cli.command {
        return ordo_testnet::hostile(args).await;
    }
    let ordo = ordo().context("finding the ordo binary")?;
    match cli.command {
        Command::Bench(args) => ordo_testnet::bench(args, &ordo).await,
        Command::Testnet(command) => ordo_testnet::testnet(command, &ordo).await,
        Command::Hostile(_) => Ok(()),
    }
}
