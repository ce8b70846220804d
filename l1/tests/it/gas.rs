//! Gas of `LightClient.submitBlock` from Anvil receipts (the whole transaction: 21000, calldata
//! and execution) for committees of 4, 20 and 100 equal-power validators with just above 2/3
//! signing. Prints the figures (`--nocapture`) and checks the 100-validator goal.

use crate::common::{by_address, certificate, keys, set_of, wallet_provider};
use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use ordo_l1::{calldata, spawn_anvil, LightClient};

const CHAIN: u64 = 4242;
const GOAL_AT_100: u64 = 594_533;

#[tokio::test]
async fn submit_block_gas_on_anvil() {
    let anvil = spawn_anvil().expect("anvil (run `npm ci` in the repository root)");
    let signer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let provider = wallet_provider(&anvil.endpoint(), signer);
    let mut at_100 = 0;
    for n in [4u32, 20, 100] {
        let ks = keys(1000 * n, n);
        let set = set_of(&ks, 100);
        let lc = LightClient::deploy(
            provider.clone(),
            CHAIN,
            0,
            set.validators().iter().map(|v| v.address).collect(),
            set.validators().iter().map(|v| v.voting_power).collect(),
            100,
        )
        .await
        .unwrap();
        let quorum = (2 * n as usize) / 3 + 1;
        let sorted = by_address(&ks);
        let mut gas = 0;
        // Height 1 pays for the first write of the latest-height slot; height 2 is the steady
        // state a live light client is in.
        for height in [1u64, 2] {
            let hash = B256::with_last_byte(height as u8);
            let cert = certificate(CHAIN, height, 0, hash, &sorted[..quorum]);
            let receipt = lc
                .submitBlock(
                    height,
                    0,
                    hash,
                    calldata::committee(&set),
                    calldata::commit_signatures(&cert, &set).unwrap(),
                )
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(receipt.status());
            gas = receipt.gas_used;
        }
        println!("submitBlock on anvil: validators={n} signers={quorum} gas={gas}");
        if n == 100 {
            at_100 = gas;
        }
    }
    assert!(
        at_100 < GOAL_AT_100,
        "{at_100} gas at 100 validators, goal < {GOAL_AT_100}"
    );
}
