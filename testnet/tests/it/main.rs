//! The `ordo-testnet` binary's command line, without a network: it lists its scenarios and
//! refuses bad input with a clear error. (`ordo bench` and `ordo testnet`, which hand over to
//! it, are tested with real networks in `node/tests/it/testnet.rs`.)

// An integration test links every dependency of its package.
#![allow(unused_crate_dependencies)]

use std::process::Command;

fn tools() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ordo-testnet"))
}

#[test]
fn scenarios_are_listed_and_bad_input_is_refused_clearly() {
    let out = tools().args(["scenario", "--list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for (name, _) in ordo_testnet::SCENARIOS {
        assert!(text.contains(name), "{name} missing from {text}");
    }

    let out = tools()
        .args(["scenario", "no-such-scenario"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-scenario"), "{err}");
}
