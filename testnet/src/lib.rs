//! Ordo's testnet tooling: local multi-node networks of real `ordo` processes, an open-loop
//! load generator with the figures a rollup cares about, and fault scenarios with verdicts.
//!
//! Everything here drives nodes from the outside, as an operator would: processes started with
//! `ordo init` / `ordo node`, the HTTP API, `/proc` for CPU and memory, and a user-space TCP
//! proxy between nodes for partitions and slow links. So this crate depends on `ordo-types` (to
//! sign transactions) and `ordo-l1` (to start a local Anvil), and, for the hostile peer
//! (`ordo-testnet hostile`, a libp2p peer outside the committee that sends the nodes bad
//! input), on the consensus codec and the mempool's batch encoding. Its binary,
//! `ordo-testnet`, runs it; `ordo bench` and `ordo testnet` hand over to that binary when it
//! sits next to `ordo`.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use clap::Parser;
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     bench: ordo_testnet::BenchArgs,
//! }
//! let cli = Cli::parse_from(["bench", "--spawn", "4", "--rate", "500", "--duration", "10"]);
//! ordo_testnet::bench(cli.bench, &std::env::current_exe()?).await
//! # }
//! ```

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod bench;
mod client;
mod hostile;
mod load;
mod localnet;
mod netns;
mod plot;
mod procstat;
mod proxy;
mod scenario;

pub use bench::{measure_verify_rate, run as bench, BenchArgs, VerifyRate};
pub use hostile::{
    attack as hostile_attack, run as hostile, HostileArgs, HostileReport, LinkReport,
};
pub use load::{EncryptedLoad, LoadReport, NodeUsage, Percentiles, Second, Target};
pub use proxy::{Loss, Spread};
pub use scenario::{testnet, ScenarioArgs, TestnetCommand, Verdict, SCENARIOS};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The Grafana dashboard is valid JSON and queries only documented metrics.
    #[test]
    fn dashboard_queries_documented_metrics() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../grafana-dashboard.json")).unwrap();
        let doc = include_str!("../../docs/METRICS.md");
        let panels = dashboard["panels"].as_array().unwrap();
        assert!(panels.len() >= 10);
        let mut queried = 0;
        for panel in panels {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for part in expr.split("ordo_").skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    assert!(
                        doc.contains(&format!("`ordo_{name}`")),
                        "{expr}: ordo_{name} is not a documented metric"
                    );
                    queried += 1;
                }
            }
        }
        assert!(queried >= 10);
    }
}
