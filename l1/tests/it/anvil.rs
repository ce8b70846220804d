//! Deployment to a real Anvil, then a registration, a delegation, a force inclusion, a block
//! certificate, a committee rotation and a slash, all through the generated bindings.

use crate::common::{
    by_address, certificate, header, keys, set_of, set_with_powers, wallet_provider,
};
use alloy::primitives::{Bytes, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use ordo_l1::{
    calldata, deploy, spawn_anvil, DeployParams, Deployment, Inbox, LightClient, StakeTable,
};
use ordo_types::{vote_digest, Encode, VoteType};

const ORDO_CHAIN: u64 = 777;

fn decode<E: SolEvent>(receipt: &TransactionReceipt) -> E {
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| log.log_decode::<E>().ok())
        .map(|log| log.inner.data)
        .unwrap_or_else(|| panic!("no {} event in the receipt", E::SIGNATURE))
}

#[tokio::test]
async fn deploy_register_stake_force_include_and_certify() {
    let anvil = spawn_anvil().expect("anvil (run `npm ci` in the repository root)");
    let endpoint = anvil.endpoint();
    let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let operator = PrivateKeySigner::from(anvil.keys()[1].clone());
    let delegator = PrivateKeySigner::from(anvil.keys()[2].clone());
    let user = PrivateKeySigner::from(anvil.keys()[3].clone());
    let reporter = PrivateKeySigner::from(anvil.keys()[4].clone());

    // Committee of four consensus keys.
    let committee_keys = keys(1, 4);
    let set = set_of(&committee_keys, 10);
    let params = DeployParams::devnet(ORDO_CHAIN, &set, deployer.address());
    let deployment = deploy(&endpoint, deployer.clone(), &params).await.unwrap();
    assert_eq!(deployment.chain_id, anvil.chain_id());
    assert_eq!(deployment.rpc, endpoint);

    // The JSON file round-trips and uses the agreed field names.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deployment.json");
    deployment.write_json(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for field in [
        "\"chain_id\"",
        "\"rpc\"",
        "\"StakeTable\"",
        "\"Inbox\"",
        "\"LightClient\"",
        "\"BatchInbox\"",
    ] {
        assert!(text.contains(field), "{field} missing from {text}");
    }
    assert_eq!(Deployment::read_json(&path).unwrap(), deployment);

    // Every contract has code and reports its parameters.
    let reader = wallet_provider(&endpoint, deployer.clone());
    for address in [
        deployment.stake_table,
        deployment.inbox,
        deployment.light_client,
        deployment.batch_inbox,
    ] {
        assert!(!reader.get_code_at(address).await.unwrap().is_empty());
    }
    // The batch inbox reads the light client just deployed.
    let batch_inbox = ordo_l1::BatchInbox::new(deployment.batch_inbox, reader.clone());
    assert_eq!(
        batch_inbox.lightClient().call().await.unwrap(),
        deployment.light_client
    );
    let lc = LightClient::new(deployment.light_client, reader.clone());
    assert_eq!(lc.committeeHash().call().await.unwrap(), set.hash());
    assert_eq!(lc.totalPower().call().await.unwrap(), 40);

    // --- register a validator with its proof of possession -----------------------------------
    let consensus = &keys(50, 1)[0];
    let as_operator = wallet_provider(&endpoint, operator.clone());
    let st = StakeTable::new(deployment.stake_table, as_operator.clone());
    let on_chain_digest = st
        .possessionDigest(operator.address())
        .call()
        .await
        .unwrap();
    assert_eq!(
        on_chain_digest,
        calldata::possession_digest(
            deployment.chain_id,
            deployment.stake_table,
            operator.address()
        )
    );
    let proof = calldata::possession_proof(
        consensus,
        deployment.chain_id,
        deployment.stake_table,
        operator.address(),
    );
    let min_stake = params.stake_table.min_stake;
    let receipt = st
        .register(
            consensus.address(),
            proof,
            "/ip4/127.0.0.1/tcp/9000".into(),
            "http://127.0.0.1:8080".into(),
        )
        .value(min_stake)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let registered: StakeTable::ValidatorRegistered = decode(&receipt);
    assert_eq!(registered.validator, consensus.address());
    assert_eq!(registered.operator, operator.address());
    assert_eq!(registered.p2pAddress, "/ip4/127.0.0.1/tcp/9000");

    // A proof made out to someone else is refused. Expected refusals are checked with
    // `eth_call` (the same execution, no transaction, no nonce used).
    let stolen = calldata::possession_proof(
        &keys(51, 1)[0],
        deployment.chain_id,
        deployment.stake_table,
        delegator.address(),
    );
    let err = st
        .register(keys(51, 1)[0].address(), stolen, "p".into(), "a".into())
        .value(min_stake)
        .call()
        .await
        .map(|_| ())
        .map_err(ordo_l1::L1Error::from)
        .expect_err("a proof for another registrant must be refused");
    assert!(matches!(
        err.decode_revert::<StakeTable::StakeTableErrors>(),
        Some(StakeTable::StakeTableErrors::InvalidProofOfPossession(_))
    ));

    // --- delegate ------------------------------------------------------------------------------
    let as_delegator = wallet_provider(&endpoint, delegator.clone());
    let st_d = StakeTable::new(deployment.stake_table, as_delegator);
    let amount = U256::from(3u64) * params.stake_table.min_delegation;
    let receipt = st_d
        .stake(consensus.address())
        .value(amount)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let totals: StakeTable::StakeUpdated = decode(&receipt);
    assert_eq!(totals.activeStake, min_stake + amount);
    assert_eq!(totals.selfStake, min_stake);
    assert_eq!(
        st.stakeOf(consensus.address(), delegator.address())
            .call()
            .await
            .unwrap(),
        amount
    );
    assert!(st.isEligible(consensus.address()).call().await.unwrap());

    // --- force-include -------------------------------------------------------------------------
    let as_user = wallet_provider(&endpoint, user.clone());
    let inbox = Inbox::new(deployment.inbox, as_user);
    let fee = inbox.currentFee().call().await.unwrap();
    assert_eq!(fee, params.inbox.base_fee);
    let payload = Bytes::from_static(b"forced transaction for rollup 9");
    let receipt = inbox
        .forceInclude(9, payload.clone())
        .value(fee)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let forced: Inbox::ForcedInclusion = decode(&receipt);
    assert_eq!(forced.index, 0);
    assert_eq!(forced.namespace, 9);
    assert_eq!(forced.sender, user.address());
    assert_eq!(forced.payload, payload);
    assert_eq!(Some(forced.l1Block), receipt.block_number);
    assert_eq!(inbox.count().call().await.unwrap(), 1);
    let item = inbox.item(0).call().await.unwrap();
    assert_eq!(item.payloadHash, alloy::primitives::keccak256(&payload));
    assert_eq!(
        inbox.deadline(0).call().await.unwrap(),
        forced.l1Block + params.inbox.inclusion_delay_blocks
    );

    // --- submit a block certificate --------------------------------------------------------------
    let sorted = by_address(&committee_keys);
    let block = header(ORDO_CHAIN, 7, &set, &set);
    let cert = certificate(ORDO_CHAIN, 7, 0, block.hash(), &sorted[..3]);
    cert.verify(ORDO_CHAIN, &set).unwrap();
    let relayer = wallet_provider(&endpoint, reporter.clone());
    let lc_w = LightClient::new(deployment.light_client, relayer.clone());
    let receipt = lc_w
        .submitBlock(
            cert.height,
            cert.round,
            cert.block_hash,
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
    let submitted: LightClient::BlockSubmitted = decode(&receipt);
    assert_eq!(submitted.signedPower, 30);
    assert_eq!(lc.blockHashAt(7).call().await.unwrap(), block.hash());
    assert_eq!(lc.latestHeight().call().await.unwrap(), 7);
    assert!(!lc.isLagging().call().await.unwrap());

    // Two of four is not more than 2/3: refused, with the contract's own error.
    let short = certificate(ORDO_CHAIN, 8, 0, B256::repeat_byte(8), &sorted[..2]);
    let err = lc_w
        .submitBlock(
            8,
            0,
            short.block_hash,
            calldata::committee(&set),
            calldata::commit_signatures(&short, &set).unwrap(),
        )
        .call()
        .await
        .map(|_| ())
        .map_err(ordo_l1::L1Error::from)
        .expect_err("two of four must be refused");
    assert!(err.is_revert());
    match err.decode_revert::<LightClient::LightClientErrors>() {
        Some(LightClient::LightClientErrors::InsufficientVotingPower(e)) => {
            assert_eq!((e.signed, e.total), (20, 40));
        }
        other => panic!("unexpected revert {other:?}"),
    }

    // --- rotate to a new committee -------------------------------------------------------------
    let next_keys = keys(20, 3);
    let next = set_with_powers(&next_keys, &[3, 4, 5]);
    let rotation = header(ORDO_CHAIN, 9, &set, &next);
    let cert = certificate(ORDO_CHAIN, 9, 2, rotation.hash(), &sorted[1..]);
    let receipt = lc_w
        .rotateCommittee(
            Bytes::from(rotation.encode()),
            2,
            calldata::committee(&set),
            calldata::commit_signatures(&cert, &set).unwrap(),
            calldata::committee(&next),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let rotated: LightClient::CommitteeRotated = decode(&receipt);
    assert_eq!(rotated.committeeHash, next.hash());
    assert_eq!(rotated.epoch, 1);
    assert_eq!(lc.totalPower().call().await.unwrap(), 12);
    // The new committee certifies the next height.
    let by_next = by_address(&next_keys);
    let cert = certificate(ORDO_CHAIN, 10, 0, B256::repeat_byte(10), &by_next);
    lc_w.submitBlock(
        10,
        0,
        cert.block_hash,
        calldata::committee(&next),
        calldata::commit_signatures(&cert, &next).unwrap(),
    )
    .send()
    .await
    .unwrap()
    .get_receipt()
    .await
    .unwrap();
    assert_eq!(lc.latestHeight().call().await.unwrap(), 10);

    // --- slash the registered validator with two conflicting votes signed in Rust ---------------
    let (a, b) = (B256::repeat_byte(0xaa), B256::repeat_byte(0xbb));
    let sign = |hash: B256| {
        consensus.sign_digest(&vote_digest(
            ORDO_CHAIN,
            12,
            0,
            VoteType::Prevote,
            Some(hash),
        ))
    };
    let vote_a = calldata::signed_vote(12, 0, VoteType::Prevote, Some(a), &sign(a));
    let vote_b = calldata::signed_vote(12, 0, VoteType::Prevote, Some(b), &sign(b));
    let st_r = StakeTable::new(deployment.stake_table, relayer.clone());
    let before = relayer.get_balance(reporter.address()).await.unwrap();
    let receipt = st_r
        .slash(vote_a.clone(), vote_b.clone())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let slashed: StakeTable::Slashed = decode(&receipt);
    let stake = min_stake + amount;
    assert_eq!(slashed.amount, stake / U256::from(10u64));
    assert_eq!(slashed.reward, slashed.amount / U256::from(2u64));
    let gas_cost = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    let after = relayer.get_balance(reporter.address()).await.unwrap();
    assert_eq!(after + gas_cost, before + slashed.reward);
    assert!(
        st.getValidator(consensus.address())
            .call()
            .await
            .unwrap()
            .jailed
    );
    assert!(!st.isEligible(consensus.address()).call().await.unwrap());
    // The same evidence again pays nothing.
    let err = st_r
        .slash(vote_a, vote_b)
        .call()
        .await
        .map(|_| ())
        .map_err(ordo_l1::L1Error::from)
        .expect_err("evidence pays once");
    assert!(matches!(
        err.decode_revert::<StakeTable::StakeTableErrors>(),
        Some(StakeTable::StakeTableErrors::AlreadySlashed(_))
    ));
}
