//! The OpenAPI document against a live node: schemathesis (PyPI, pinned in
//! `node/tests/schemathesis/requirements.txt`, installed into `target/venv` by `make deps`)
//! generates requests for every operation from `/openapi.json`, valid and invalid, and runs
//! all of its checks on the answers: a schema-valid request is accepted or refused with a code
//! the document lists for it, a schema-violating one gets a 4xx and the documented error body,
//! and every status, content type, header and body is the documented one. The settings (seed,
//! cases per operation, the submissions' semantic refusals) are in
//! `node/tests/schemathesis/schemathesis.toml`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{set, Net};

/// The schemathesis executable: `ORDO_SCHEMATHESIS`, or the one `make deps` installs.
fn schemathesis() -> PathBuf {
    let path = std::env::var_os("ORDO_SCHEMATHESIS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/schemathesis"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{} is missing: run `make deps` (it installs node/tests/schemathesis/requirements.txt)",
        path.display()
    );
    path
}

#[tokio::test]
async fn schemathesis_finds_no_failure_in_any_operation() {
    let bin = schemathesis();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/schemathesis.toml");
    // With an EVM rollup (901, the JSON-RPC example), the encrypted lane (so that
    // `/v1/encryption` has a key to show) and rate limits no test run reaches.
    let args = ["--evm-rollup=901".to_owned(), "--encryption".to_owned()];
    let net = Net::start_with(1, 0, &args, |_, text| {
        set(text, "api", "rate_limit_per_second", 100_000);
        set(text, "api", "rate_limit_burst", 100_000);
    });
    net.wait_encryption(0, Duration::from_secs(60)).await;
    let api = &net.apis[0];
    let run = tokio::process::Command::new(&bin)
        .arg("--config-file")
        .arg(&config)
        .args([
            "--no-color",
            "run",
            &format!("{api}/openapi.json"),
            "--url",
            api,
        ])
        .args(["--checks", "all"])
        .current_dir(net.dir.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("schemathesis did not finish in 300 s")
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The figures: operations tested, cases generated, failures.
    for line in stdout.lines().filter(|l| {
        ["Tested:", "generated", "Seed:", "ST"]
            .iter()
            .any(|w| l.contains(w))
    }) {
        println!("{}", line.trim());
    }
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every operation of the document was tested, but `GET /openapi.json`: schemathesis reads
    // the document from it and leaves it out of the run.
    let doc: serde_json::Value = serde_json::from_str(ordo_api::OPENAPI).unwrap();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| *path != "/openapi.json")
        .map(|(_, methods)| methods.as_object().unwrap().len())
        .sum();
    assert!(
        stdout.contains(&format!("Tested: {operations}\n")),
        "not all {operations} operations tested:\n{stdout}"
    );
    assert!(stdout.contains(" passed"), "{stdout}");
    // The node is still deciding blocks after all of it.
    let now = net.height(0).await.unwrap();
    net.wait_height(&[0], now + 2, Duration::from_secs(30))
        .await;
}
