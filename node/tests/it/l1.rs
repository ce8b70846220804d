//! `ordo l1 deploy` against a real Anvil.

use crate::harness::ordo;

#[test]
fn l1_deploy_writes_the_three_contract_addresses() {
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
    for name in ["StakeTable", "Inbox", "LightClient"] {
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
