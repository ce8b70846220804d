//! A local Anvil L1 from the repository's npm toolchain (`npm ci` installs it).

use crate::error::L1Error;
use alloy::node_bindings::{Anvil, AnvilInstance};
use std::path::PathBuf;

/// Environment variable that overrides where the Anvil binary is.
pub const ANVIL_ENV: &str = "ORDO_ANVIL";

/// The Anvil binary: `$ORDO_ANVIL` when set, otherwise `node_modules/.bin/anvil` in the
/// repository this crate was built from.
pub fn anvil_path() -> PathBuf {
    std::env::var_os(ANVIL_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../node_modules/.bin/anvil"
            ))
        })
}

/// Starts Anvil on 127.0.0.1 on a port the OS picks. The process is killed when the returned
/// instance is dropped. Fails with [`L1Error::AnvilNotFound`] (telling to run `npm ci`) when
/// the binary is missing.
pub fn spawn_anvil() -> Result<AnvilInstance, L1Error> {
    spawn_anvil_with(0, &[])
}

/// Starts Anvil on 127.0.0.1:`port` (0: the OS picks) with extra command-line `args` (for
/// example an EVM rollup's execution node: `--no-mining --order fifo --chain-id N`).
pub fn spawn_anvil_with(port: u16, args: &[String]) -> Result<AnvilInstance, L1Error> {
    let path = anvil_path();
    if !path.is_file() {
        return Err(L1Error::AnvilNotFound { path });
    }
    Anvil::at(path)
        .host("127.0.0.1")
        .port(port)
        .args(args)
        .try_spawn()
        .map_err(|e| L1Error::AnvilStart(e.to_string()))
}

/// Like [`spawn_anvil`], with a block mined every `block_time_secs` seconds (fractions allowed)
/// besides the blocks transactions trigger: an L1 whose head moves on its own, as deadlines
/// and confirmations need.
pub fn spawn_anvil_mining(block_time_secs: f64) -> Result<AnvilInstance, L1Error> {
    spawn_anvil_with(0, &["--block-time".into(), block_time_secs.to_string()])
}
