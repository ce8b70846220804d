//! A committee of real `ordo` processes: agreement, crashes, restarts, invalid proposals.

use std::time::Duration;

use ordo_types::{CommitCertificate, ValidatorSet};

use crate::harness::Net;

const T: Duration = Duration::from_secs(90);

fn genesis_validators(net: &Net) -> ValidatorSet {
    let text = std::fs::read_to_string(net.dir.path().join("genesis.json")).unwrap();
    let genesis: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(genesis["validators"].clone()).unwrap()
}

async fn min_height(net: &Net, nodes: &[usize]) -> u64 {
    let mut min = u64::MAX;
    for &i in nodes {
        min = min.min(net.height(i).await.unwrap_or(0));
    }
    min
}

#[tokio::test]
async fn four_validators_decide_the_same_certified_chain() {
    // Four validators and a full node (node 4), which follows without voting.
    let net = Net::start(4, 1, |_, _| {});
    net.wait_height(&[0, 1, 2, 3, 4], 20, T).await;
    net.assert_same_chain(&[0, 1, 2, 3, 4], 20).await;
    let full = net.get(4, "/v1/status").await.unwrap();
    assert_eq!(full["is_validator"], false);

    // Every stored certificate carries more than 2/3 of the committee's signatures.
    let validators = genesis_validators(&net);
    for h in 1..=20 {
        let block = net.block(2, h).await.unwrap();
        let cert: CommitCertificate = serde_json::from_value(block["certificate"].clone()).unwrap();
        assert_eq!(cert.height, h);
        assert_eq!(
            format!("{}", cert.block_hash),
            block["hash"].as_str().unwrap()
        );
        cert.verify(1337, &validators).unwrap();
        if h > 1 {
            let parent = net.block_hash(2, h - 1).await.unwrap();
            assert_eq!(block["parent_hash"].as_str().unwrap(), parent);
        }
    }
}

#[tokio::test]
async fn a_killed_validator_catches_up_after_restart() {
    let mut net = Net::start(4, 0, |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 3, T).await;
    net.kill(3);
    let at_kill = min_height(&net, &[0, 1, 2]).await;
    net.wait_height(&[0, 1, 2], at_kill + 10, T).await;
    net.restart(3);
    net.wait_height(&[0, 1, 2, 3], at_kill + 15, T).await;
    net.assert_same_chain(&[0, 1, 2, 3], at_kill + 15).await;
}

#[tokio::test]
async fn two_of_four_down_halts_without_forking_then_resumes() {
    let mut net = Net::start(4, 0, |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 3, T).await;
    net.kill(2);
    net.kill(3);
    // At most the height in flight can still complete with the votes already cast: a decision
    // takes precommits from three of four, and the killed ones voted at most at the height
    // after the last one they logged as decided.
    let in_flight = net.logged_height(2).max(net.logged_height(3)) + 1;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let stalled = net
        .height(0)
        .await
        .unwrap()
        .max(net.height(1).await.unwrap());
    assert!(
        stalled <= in_flight,
        "two of four validators must not make progress: at {stalled}, in flight {in_flight}"
    );
    net.restart(2);
    net.restart(3);
    net.wait_height(&[0, 1, 2, 3], stalled + 5, T).await;
    net.assert_same_chain(&[0, 1, 2, 3], stalled + 5).await;
}

/// Kills every validator at once with SIGKILL: after restart each node still holds every block
/// it had reported decided, with unchanged hashes, and the chain continues.
#[tokio::test]
async fn all_validators_killed_at_once_lose_no_decided_block() {
    let mut net = Net::start(4, 0, |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 8, T).await;
    let mut reported = Vec::new();
    for i in 0..4 {
        reported.push(net.height(i).await.unwrap());
    }
    let upto = *reported.iter().min().unwrap();
    let mut before = Vec::new();
    for h in 1..=upto {
        before.push(net.block_hash(0, h).await.unwrap());
    }
    for i in 0..4 {
        net.kill(i);
    }
    for i in 0..4 {
        net.restart(i);
    }
    for (i, &had) in reported.iter().enumerate() {
        // The first answer after restart comes from the node's own store.
        let deadline = std::time::Instant::now() + T;
        let first = loop {
            if let Some(h) = net.height(i).await {
                break h;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "node {i} did not come back"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(
            first >= had,
            "node {i} reported {had} before the kill, {first} after"
        );
    }
    net.wait_height(&[0, 1, 2, 3], upto + 5, T).await;
    for (h, hash) in (1..=upto).zip(&before) {
        for i in 0..4 {
            assert_eq!(
                net.block_hash(i, h).await.as_ref(),
                Some(hash),
                "node {i} height {h}"
            );
        }
    }
    net.assert_same_chain(&[0, 1, 2, 3], upto + 5).await;
}

/// Restarts every validator one after the other (SIGKILL): the chain keeps its history.
#[tokio::test]
async fn rolling_kill_and_restart_keeps_history() {
    let mut net = Net::start(4, 0, |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 6, T).await;
    let upto = min_height(&net, &[0, 1, 2, 3]).await;
    let mut before = Vec::new();
    for h in 1..=upto {
        before.push(net.block_hash(1, h).await.unwrap());
    }
    for i in 0..4 {
        net.kill(i);
        net.restart(i);
        let others: Vec<usize> = (0..4).filter(|&j| j != i).collect();
        let now = min_height(&net, &others).await;
        net.wait_height(&[0, 1, 2, 3], now + 2, T).await;
    }
    for (h, hash) in (1..=upto).zip(&before) {
        for i in 0..4 {
            assert_eq!(
                net.block_hash(i, h).await.as_ref(),
                Some(hash),
                "node {i} height {h}"
            );
        }
    }
}

/// Runs a network in which validator 3 proposes invalid blocks, and checks that none of its
/// blocks is decided while the others keep the chain going.
async fn faulty_proposer_gets_no_vote(fault: &str, reason: &str) {
    faulty_proposer_gets_no_vote_with(fault, reason, &[]).await;
}

/// [`faulty_proposer_gets_no_vote`] on a network made with extra `ordo init` arguments.
pub(crate) async fn faulty_proposer_gets_no_vote_with(fault: &str, reason: &str, init: &[String]) {
    let net = Net::start_with(4, 0, init, |i, text| {
        if i == 3 {
            // Top-level key: it must precede the first [table].
            text.insert_str(0, &format!("test_fault = \"{fault}\"\n"));
        }
    });
    let faulty = {
        let key: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(net.home(3).join("validator_key.json")).unwrap(),
        )
        .unwrap();
        key["address"].as_str().unwrap().to_lowercase()
    };
    // Wait until the faulty validator has had its turns and been refused.
    let deadline = std::time::Instant::now() + T;
    // Wait until an honest validator has received one of its proposals and refused it. (A
    // proposal made while validator 3 lagged behind is dropped unread, so keep waiting for one
    // that arrives in time.)
    let refused = |net: &Net| {
        (0..3).any(|i| {
            net.log(i)
                .lines()
                .any(|l| l.contains("invalid proposal") && l.contains(reason))
        })
    };
    while !refused(&net) {
        assert!(
            std::time::Instant::now() < deadline,
            "no honest validator refused a {fault} proposal ({reason}); validator 3 proposed: {}",
            net.log(3)
                .contains("test fault: proposing an invalid block")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let target = net.height(0).await.unwrap() + 5;
    net.wait_height(&[0, 1, 2], target, T).await;
    net.assert_same_chain(&[0, 1, 2], target).await;
    for h in 1..=target {
        let block = net.block(0, h).await.unwrap();
        assert_ne!(
            block["proposer"].as_str().unwrap().to_lowercase(),
            faulty,
            "a block proposed by the faulty validator was decided at height {h}"
        );
    }
}

#[tokio::test]
async fn a_proposal_naming_the_wrong_proposer_gets_no_vote() {
    faulty_proposer_gets_no_vote("wrong_proposer", "header field proposer").await;
}

#[tokio::test]
async fn a_proposal_with_the_wrong_parent_gets_no_vote() {
    faulty_proposer_gets_no_vote("wrong_parent", "header field parent_hash").await;
}

#[tokio::test]
async fn a_proposal_with_a_bad_transaction_signature_gets_no_vote() {
    faulty_proposer_gets_no_vote("bad_transaction_signature", "bad signature").await;
}

#[tokio::test]
async fn an_oversized_proposal_gets_no_vote() {
    faulty_proposer_gets_no_vote("oversized_body", "exceeds").await;
}
