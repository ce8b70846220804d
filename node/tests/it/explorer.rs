//! The web explorer a node serves, driven in headless Chromium (explorer/e2e/explorer.mjs,
//! Debian's chromium through playwright-core; `make test` installs both) against a real
//! 4-validator network. Slow: one test for every page.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ordo_rollup_adapters::{Genesis, Verifier};
use ordo_types::{Bytes, SecretKey, Transaction};
use serde_json::Value;

use crate::harness::Net;

const CHAIN_ID: u64 = 1337;
const NAMESPACE: u64 = 5;

#[tokio::test]
async fn explorer_shows_the_chain_a_transaction_and_verifies_a_rollup_block() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("explorer/e2e/explorer.mjs");
    assert!(
        root.join("explorer/node_modules/playwright-core").is_dir(),
        "explorer/node_modules is missing: run `make explorer` (and `make deps` for chromium)"
    );

    let net = Net::start(4, 0, |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(60))
        .await;
    // Served from the binary: the page at `/`, and any explorer URL (the app routes it).
    for path in ["/", "/explorer/blocks/1"] {
        let page = reqwest::get(format!("{}{path}", net.apis[0]))
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        assert!(page
            .text()
            .await
            .unwrap()
            .contains("<title>Ordo explorer</title>"));
    }

    let tx = Transaction::sign(
        NAMESPACE,
        0,
        Bytes::from_static(b"seen in a browser"),
        &SecretKey::random(),
        CHAIN_ID,
    );
    let (status, body) = net.post(1, "/v1/transactions", &tx).await;
    assert_eq!(status, 202, "{body}");
    let hash = tx.hash().to_string();

    // `ORDO_EXPLORER_SCREENSHOTS=docs/explorer` refreshes the committed screenshots; a plain run
    // leaves the tree as it is.
    let screenshots = std::env::var_os("ORDO_EXPLORER_SCREENSHOTS")
        .map_or_else(|| net.dir.path().join("screenshots"), |d| root.join(d));
    let args = [
        "--api".to_owned(),
        net.apis[0].clone(),
        "--tx".to_owned(),
        hash.clone(),
        "--namespace".to_owned(),
        NAMESPACE.to_string(),
        "--screenshots".to_owned(),
        screenshots.display().to_string(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report from the script; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(
        output.status.success(),
        "a browser check failed: {report:#}"
    );
    let checks = &report["checks"];
    for check in [
        "height_advances",
        "tx_included",
        "verify_genuine",
        "verify_refuses_tampered_proof",
        "verify_refuses_tampered_entries",
        "verify_refuses_tampered_header",
        "verify_refuses_tampered_signature",
        "committee_lists_validators",
        "no_console_errors",
    ] {
        assert_eq!(checks[check]["ok"], true, "{check}: {report:#}");
    }
    println!(
        "time to first render of the height: {} ms",
        report["first_render_ms"]
    );

    // The page found the transaction where the API says it is.
    let status = net.wait_included(0, &hash, Duration::from_secs(10)).await;
    assert_eq!(report["tx"]["height"], status["height"]);

    // Differential: the Rust client judges the same block and the same tampering alike.
    let height = status["height"].as_u64().unwrap();
    let slice = net
        .get(0, &format!("/v1/namespaces/{NAMESPACE}/blocks/{height}"))
        .await
        .unwrap();
    let genesis = Genesis::load(&net.dir.path().join("genesis.json")).unwrap();
    let verifier = Verifier::from_genesis(&genesis);
    let verify =
        |json: &Value| verifier.verify_json(NAMESPACE, height, json.to_string().as_bytes());
    verify(&slice).unwrap();
    let mut header = slice.clone();
    header["header"]["timestamp_ms"] =
        (slice["header"]["timestamp_ms"].as_u64().unwrap() + 1).into();
    assert!(verify(&header).is_err());
    let mut entries = slice.clone();
    entries["transactions"][0]["payload"] = format!(
        "{}00",
        slice["transactions"][0]["payload"].as_str().unwrap()
    )
    .into();
    assert!(verify(&entries).is_err());
}
