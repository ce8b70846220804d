//! `ordo`: initialise a network, run a node, or start a local devnet with one command.

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod bench;
mod client;
mod config;
mod devnet;
mod devnet_l1;
mod init;
mod l1;
mod rollup;
mod run;
mod stake;
mod supervisor;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Ordo: a decentralized shared sequencer.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Create keys, a genesis file and one config per node.
    Init(init::InitArgs),
    /// Run one node (a validator if its config names a validator key, else a full node).
    Node {
        /// The node's home directory (holding config.toml).
        #[arg(long)]
        home: PathBuf,
    },
    /// Start a local network: every validator as its own process on 127.0.0.1.
    Devnet(devnet::DevnetArgs),
    /// Rollup tools: follow a namespace with verified blocks.
    #[command(subcommand)]
    Rollup(rollup::RollupArgs),
    /// Key files.
    #[command(subcommand)]
    Keys(client::KeysCommand),
    /// Send transactions and follow them.
    #[command(subcommand)]
    Tx(client::TxCommand),
    /// Send bundles (all of their transactions in one block, or none) and follow them.
    #[command(subcommand)]
    Bundle(client::BundleCommand),
    /// The network's L1 contracts.
    #[command(subcommand)]
    L1(l1::L1Command),
    /// Stake on the L1: register a validator, add stake, unstake, withdraw, status.
    #[command(subcommand)]
    Stake(stake::StakeCommand),
    /// Benchmark the mempool: admission rate vs. signature verification, memory, verifications
    /// per included transaction.
    BenchMempool(bench::BenchArgs),
    /// Open-loop load against a network (`ordo-testnet bench`: finalized tx/s, inclusion
    /// latency, refusals, per-node CPU and memory; `ordo bench --help` for its options).
    #[command(disable_help_flag = true)]
    Bench {
        /// Passed to `ordo-testnet bench`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Local test networks under faults (`ordo-testnet`): `ordo testnet scenario NAME|all`.
    #[command(disable_help_flag = true)]
    Testnet {
        /// Passed to `ordo-testnet`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// Hands over to the `ordo-testnet` binary next to this one (the testnet tools drive `ordo`
/// from the outside, so the node's binary does not link them).
fn hand_over(command: Option<&str>, args: Vec<std::ffi::OsString>) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let tools = std::env::current_exe()?.with_file_name("ordo-testnet");
    anyhow::ensure!(
        tools.is_file(),
        "the testnet tools are a separate binary, not found at {}: build them with \
         `cargo build --release -p ordo-testnet`",
        tools.display()
    );
    let error = std::process::Command::new(&tools)
        .args(command)
        .args(args)
        .exec();
    Err(anyhow::anyhow!("running {}: {error}", tools.display()))
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,libp2p=warn,malachitebft=warn")
    });
    // Logs go to stderr, so commands that print data (JSON lines) keep stdout clean.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// jemalloc rather than glibc's allocator: with many threads allocating and freeing
/// transactions, glibc's per-thread arenas fragment and a node's resident memory creeps up under
/// steady load (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Init(args) => init::run(&args).map(|_| ()),
        Command::Node { home } => run::run_node(&home).await,
        Command::Devnet(args) => devnet::run(args).await,
        Command::Rollup(args) => rollup::run(args).await,
        Command::Keys(command) => client::keys(command),
        Command::Tx(command) => client::tx(command).await,
        Command::Bundle(command) => client::bundle(command).await,
        Command::L1(command) => l1::run(command).await,
        Command::Stake(command) => stake::run(command).await,
        Command::BenchMempool(args) => bench::run(args).await,
        Command::Bench { args } => hand_over(Some("bench"), args),
        Command::Testnet { args } => hand_over(None, args),
    }
}
