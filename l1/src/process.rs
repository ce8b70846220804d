//! Child processes: starting the repository's Anvil, and stopping processes gracefully
//! (SIGTERM, then SIGKILL if they outlast a grace period).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::anvil_path;

/// The key of Anvil's first development account, funded on every fresh Anvil: the deployer of
/// local networks (and the devnet's funder unless given another). Public knowledge; only for
/// a local Anvil.
pub const ANVIL_DEV_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// The address of [`ANVIL_DEV_KEY`].
pub const ANVIL_DEV_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/// Starts Anvil on 127.0.0.1:`port` mining a block a second, logging to `dir/anvil.log`, with
/// `extra` arguments, as a child of this process (for long-running tools: the devnet, local
/// test networks). The process is killed if the handle is dropped.
pub fn start_anvil(dir: &Path, port: u16, extra: &[&OsStr]) -> std::io::Result<Child> {
    let path = anvil_path();
    if !path.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "anvil not found at {}: run `npm ci` in the repository root",
                path.display()
            ),
        ));
    }
    std::fs::create_dir_all(dir)?;
    let log = std::fs::File::create(dir.join("anvil.log"))?;
    Command::new(&path)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--block-time", "1"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
}

/// How long a process may take to stop after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Sends SIGTERM to `child`, if it is still running.
pub fn terminate(child: &Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: sends a signal to a child this process started and has not reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

/// Waits for `child` to exit for up to [`STOP_GRACE`], then kills it.
pub async fn wait_or_kill(child: &mut Child) -> std::io::Result<()> {
    if tokio::time::timeout(STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        child.start_kill()?;
        child.wait().await?;
    }
    Ok(())
}

/// Stops `child`: SIGTERM, then SIGKILL after [`STOP_GRACE`].
pub async fn stop(child: &mut Child) -> std::io::Result<()> {
    terminate(child);
    wait_or_kill(child).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::process::Command;

    #[tokio::test]
    async fn a_process_that_honours_sigterm_stops_by_it() {
        let mut child = Command::new("sleep").arg("60").spawn().unwrap();
        stop(&mut child).await.unwrap();
        let status = child.try_wait().unwrap().expect("exited");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }
}
