//! `ordo l1 deploy` and `ordo stake` against a real Anvil.

use crate::harness::ordo;

#[test]
fn l1_deploy_writes_the_four_contract_addresses() {
    let anvil = ordo_l1::spawn_anvil().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    assert!(ordo()
        .args(["init", "--validators", "4", "--home"])
        .arg(&net)
        .output()
        .unwrap()
        .status
        .success());
    let deployer = dir.path().join("deployer.json");
    let secret = alloy_primitives::B256::from_slice(&anvil.first_key().to_bytes());
    let key = ordo_types::SecretKey::from_bytes(&secret.0).unwrap();
    std::fs::write(
        &deployer,
        serde_json::json!({ "address": key.address(), "secret_key": secret }).to_string(),
    )
    .unwrap();
    let out_file = dir.path().join("l1.json");
    let out = ordo()
        .args(["l1", "deploy", "--rpc", &anvil.endpoint(), "--key"])
        .arg(&deployer)
        .arg("--genesis")
        .arg(net.join("genesis.json"))
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deployment: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    for name in ["StakeTable", "Inbox", "LightClient", "BatchInbox"] {
        let address = deployment[name].as_str().unwrap();
        assert_eq!(address.len(), 42, "{name}: {address}");
    }
    assert_eq!(deployment["chain_id"], 31337);
    // A bad RPC is a clear error, not a crash.
    let out = ordo()
        .args(["l1", "deploy", "--rpc", "http://127.0.0.1:1", "--key"])
        .arg(&deployer)
        .arg("--genesis")
        .arg(net.join("genesis.json"))
        .arg("--out")
        .arg(dir.path().join("never.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
}

/// Runs `ordo stake ARGS --l1-rpc RPC --key KEY --stake-table ST`; returns (success, stdout
/// JSON or stderr text).
fn stake(args: &[&str], rpc: &str, key: &std::path::Path, st: &str) -> (bool, String) {
    let out = ordo()
        .arg("stake")
        .args(args)
        .args(["--l1-rpc", rpc, "--stake-table", st, "--key"])
        .arg(key)
        .output()
        .unwrap();
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    (out.status.success(), text)
}

#[tokio::test]
async fn ordo_stake_registers_adds_unstakes_and_withdraws() {
    let anvil = ordo_l1::spawn_anvil().unwrap();
    let rpc = anvil.endpoint();
    let deployer = ordo_l1::PrivateKeySigner::from(anvil.keys()[0].clone());
    let set = ordo_types::ValidatorSet::new(vec![ordo_types::Validator::new(
        ordo_types::SecretKey::random().public_key(),
        1,
    )])
    .unwrap();
    let mut params = ordo_l1::DeployParams::devnet(1337, &set, deployer.address());
    params.stake_table.exit_delay_secs = 0;
    let deployment = ordo_l1::deploy(&rpc, deployer, &params).await.unwrap();
    let st = deployment.stake_table.to_string();

    // Anvil's second account is operator and consensus key at once.
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.json");
    let secret = alloy_primitives::B256::from_slice(&anvil.keys()[1].to_bytes());
    let address = ordo_types::SecretKey::from_bytes(&secret.0)
        .unwrap()
        .address();
    std::fs::write(
        &key_path,
        serde_json::json!({ "address": address, "secret_key": secret }).to_string(),
    )
    .unwrap();
    let status = |expect: &str| {
        let (ok, text) = stake(&["status"], &rpc, &key_path, &st);
        assert!(ok, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(text.contains(expect), "{expect} not in {v}");
        v
    };
    let v = status("\"registered\": false");
    assert_eq!(v["eligible"], false);

    // Below the minimum stake: a clear refusal.
    let (ok, err) = stake(&["register", "--amount", "0.5"], &rpc, &key_path, &st);
    assert!(!ok && !err.is_empty());
    let (ok, text) = stake(&["register", "--amount", "2"], &rpc, &key_path, &st);
    assert!(ok, "{text}");
    let v = status("\"registered\": true");
    assert_eq!(v["eligible"], true);
    assert_eq!(v["active_stake"], "0x1bc16d674ec80000"); // 2 ETH
    let (ok, text) = stake(&["add", "--amount", "1"], &rpc, &key_path, &st);
    assert!(ok, "{text}");
    assert_eq!(status("true")["active_stake"], "0x29a2241af62c0000"); // 3 ETH

    let (ok, text) = stake(&["unstake"], &rpc, &key_path, &st);
    assert!(ok, "{text}");
    let id: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = id["id"].as_str().unwrap();
    let id = u64::from_str_radix(id.trim_start_matches("0x"), 16).unwrap();
    let v = status("\"eligible\": false");
    assert_eq!(v["active_stake"], "0x0");
    let (ok, text) = stake(&["withdraw", "--id", &id.to_string()], &rpc, &key_path, &st);
    assert!(ok, "{text}");
    // Twice is refused.
    let (ok, _) = stake(&["withdraw", "--id", &id.to_string()], &rpc, &key_path, &st);
    assert!(!ok);
    // Bad input is refused before anything is sent.
    let (ok, err) = stake(&["add", "--amount", "lots"], &rpc, &key_path, &st);
    assert!(!ok && err.contains("not an ETH amount"), "{err}");
}
