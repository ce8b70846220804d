//! Ethereum wallet libraries against a real network: ethers v6 and viem (npm, pinned in
//! `node/tests/js`, installed by `make deps`) send through an EVM rollup's JSON-RPC and read
//! Ordo's refusals as they read geth's, because Ordo answers with geth's codes and messages.

use std::path::Path;
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use serde_json::{json, Value};

use crate::evm::{Rollup, CHAIN_ID};

/// The JS clients' directory, with its packages installed.
fn js_dir() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    assert!(
        dir.join("node_modules/ethers").is_dir() && dir.join("node_modules/viem").is_dir(),
        "{} has no ethers and viem: run `make deps`",
        dir.display()
    );
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ethers_and_viem_classify_ordos_refusals_as_geths() {
    let js = js_dir();
    let rollup = Rollup::start();
    rollup
        .net
        .wait_height(&[0, 1, 2, 3], 1, Duration::from_secs(60))
        .await;
    let key = |i: usize| PrivateKeySigner::from(rollup.l2.keys()[i].clone()).to_bytes();

    // ethers through node 0, viem through node 1, each with an account of its own.
    let run = tokio::process::Command::new("node")
        .arg(js.join("wallets.mjs"))
        .arg(rollup.rpc_url(0))
        .arg(rollup.rpc_url(1))
        .arg(CHAIN_ID.to_string())
        .arg(key(0).to_string())
        .arg(key(1).to_string())
        .current_dir(&js)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the wallet script did not finish in 240 s")
        .expect("node runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "wallets.mjs failed: {stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    println!("{summary:#}");
    let (ethers, viem) = (&summary["ethers"], &summary["viem"]);

    // Back to back: the second send got the next nonce from Ordo, and both landed.
    assert_eq!(
        ethers["back_to_back"],
        json!([{ "nonce": 0, "status": 1 }, { "nonce": 1, "status": 1 }]),
        "{summary:#}"
    );
    assert_eq!(
        viem["back_to_back"],
        json!([{ "nonce": 0, "status": "success" }, { "nonce": 1, "status": "success" }]),
        "{summary:#}"
    );

    // A replay of a decided transaction: geth's "nonce too low", classified by both.
    let nonce_too_low = json!({
        "code": -32000,
        "message": "nonce too low: next nonce 2, tx nonce 0",
        "data": { "code": "NONCE_TOO_LOW", "reason": "nonce 0 already used; next is 2" },
    });
    assert_eq!(
        ethers["replay"],
        json!({ "same_hash": true, "code": "NONCE_EXPIRED",
                "short_message": "nonce has already been used", "rpc": nonce_too_low }),
        "{summary:#}"
    );
    assert_eq!(viem["replay"]["same_hash"], true, "{summary:#}");
    assert_eq!(viem["replay"]["cause"], "NonceTooLowError", "{summary:#}");
    assert_eq!(viem["replay"]["rpc"], nonce_too_low, "{summary:#}");

    // The held nonce-3 transfer is accepted; sent again it is geth's "already known" (viem's
    // NonceTooLowError; ethers, as with geth, has no class for it and passes the node's answer
    // on under UNKNOWN_ERROR).
    for client in [ethers, viem] {
        assert!(client["held"]["accepted"].is_string(), "{summary:#}");
    }
    for case in ["replay", "duplicate", "replacement"] {
        assert_eq!(
            viem[case]["error"], "TransactionExecutionError",
            "{summary:#}"
        );
    }
    let already_known = json!({
        "code": -32000,
        "message": "already known",
        "data": { "code": "ALREADY_KNOWN", "reason": "transaction already known" },
    });
    assert_eq!(ethers["duplicate"]["code"], "UNKNOWN_ERROR", "{summary:#}");
    assert_eq!(ethers["duplicate"]["rpc"], already_known, "{summary:#}");
    assert_eq!(
        viem["duplicate"]["cause"], "NonceTooLowError",
        "{summary:#}"
    );
    assert_eq!(viem["duplicate"]["rpc"], already_known, "{summary:#}");

    // Another transaction with the held nonce: Ordo never replaces a pending transaction,
    // and says so as geth refuses a replacement (ethers: REPLACEMENT_UNDERPRICED; viem has no
    // class for it and passes the node's -32000 answer on as InvalidInputRpcError).
    let underpriced = json!({
        "code": -32000,
        "message": "replacement transaction underpriced",
        "data": { "code": "ALREADY_KNOWN",
                  "reason": "another pending transaction already uses nonce 3" },
    });
    assert_eq!(
        ethers["replacement"]["code"], "REPLACEMENT_UNDERPRICED",
        "{summary:#}"
    );
    assert_eq!(ethers["replacement"]["rpc"], underpriced, "{summary:#}");
    assert_eq!(
        viem["replacement"]["cause"], "InvalidInputRpcError",
        "{summary:#}"
    );
    assert_eq!(viem["replacement"]["rpc"], underpriced, "{summary:#}");

    // A nonce far ahead: geth's "nonce too high" (viem's NonceTooHighError; no ethers class).
    for client in [ethers, viem] {
        let rpc = &client["far_ahead"]["rpc"];
        assert_eq!(rpc["code"], -32000, "{summary:#}");
        assert_eq!(rpc["data"]["code"], "NONCE_GAP_TOO_LARGE", "{summary:#}");
        let message = rpc["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("nonce too high: next nonce 2, tx nonce 1000"),
            "{summary:#}"
        );
    }
    assert_eq!(ethers["far_ahead"]["code"], "UNKNOWN_ERROR", "{summary:#}");
    assert_eq!(
        viem["far_ahead"]["cause"], "NonceTooHighError",
        "{summary:#}"
    );

    // The gap filled: the pending count answered 2, and both landed with the held transfer
    // as first signed (value 3, not the refused replacement's 4).
    assert_eq!(
        ethers["gap_filled"],
        json!({ "nonce": 2, "status": 1, "held_status": 1, "held_value": "3" }),
        "{summary:#}"
    );
    assert_eq!(
        viem["gap_filled"],
        json!({ "nonce": 2, "status": "success", "held_status": "success", "held_value": "3" }),
        "{summary:#}"
    );
}
