//! The encrypted lane at decision time on real nodes: the precommits that decide a block carry
//! the validators' decryption shares, every node (a full node too) opens the block's encrypted
//! transactions with them, and the rollup's slice shows each one's key and plaintext, or why
//! it did not open. Without more than two thirds of the voting power nothing opens, and the
//! plaintext is nowhere.

use std::path::Path;
use std::time::{Duration, Instant};

use ordo_enc::{encrypt_transaction, DecryptionKey, EncryptionKey, Identities};
use ordo_types::{Bytes, OpenFailure, Opened, OpenedEntry, SecretKey, Transaction};
use rand_010::SeedableRng;

use crate::harness::Net;

const CHAIN_ID: u64 = 1337;
const T: Duration = Duration::from_secs(60);

fn encryption() -> Vec<String> {
    vec!["--encryption".to_owned()]
}

/// The key the committee generated, once it has (node 0 names it).
pub(crate) async fn epoch_key(net: &Net) -> EncryptionKey {
    let info = net.wait_encryption(0, T).await;
    let public = alloy_primitives::hex::decode(info["public_key"].as_str().unwrap()).unwrap();
    EncryptionKey::from_bytes(info["key_id"].as_u64().unwrap(), &public).unwrap()
}

/// The opened entries of namespace 1 at `height`, as node `i` serves them once it has the
/// block and has opened it (a node opens a decided block right after deciding it).
pub(crate) async fn opened(net: &Net, i: usize, height: u64) -> Vec<OpenedEntry> {
    let deadline = Instant::now() + T;
    loop {
        let slice = net
            .get(i, &format!("/v1/namespaces/1/blocks/{height}"))
            .await;
        let opened: Vec<OpenedEntry> = slice
            .map(|s| serde_json::from_value(s["opened"].clone()).unwrap_or_default())
            .unwrap_or_default();
        if !opened.is_empty() {
            return opened;
        }
        assert!(
            Instant::now() < deadline,
            "node {i} never opened height {height}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Seals `payload` from a fresh sender (namespace 1, nonce 0) to `key`, submits it to node `i`
/// once that node has the key too (each learns it when it applies the round's last block) and
/// waits until it sees it included: the transaction, its sender and its height.
async fn send_sealed(
    net: &Net,
    i: usize,
    key: &EncryptionKey,
    payload: &[u8],
) -> (Transaction, SecretKey, u64) {
    net.wait_encryption(i, T).await;
    let sender = SecretKey::random();
    let tx =
        encrypt_transaction(&mut rand_010::rng(), key, CHAIN_ID, 1, 0, payload, &sender).unwrap();
    let (status, body) = net.post(i, "/v1/transactions", &tx).await;
    assert_eq!(status, 202, "{body}");
    let at = net.wait_included(i, &tx.hash().to_string(), T).await;
    (tx, sender, at["height"].as_u64().unwrap())
}

/// Checks `entry` is the opening of `tx` (sent by `sender`): its identity is the one the
/// transaction's visible fields make, and its key is that identity's key under `key`.
pub(crate) fn check_key(
    entry: &OpenedEntry,
    tx: &Transaction,
    sender: &SecretKey,
    key: &EncryptionKey,
) {
    let sealed = tx.sealed().expect("an envelope");
    let identity = sealed.identity(CHAIN_ID, 1, sender.address(), tx.nonce());
    assert_eq!(entry.identity, identity);
    let released = DecryptionKey::from_bytes(&entry.key).expect("a key");
    assert!(ordo_enc::verify_keys(
        &mut rand_010::rng(),
        &key.public,
        &Identities::hash(&[identity]),
        &[released],
    ));
}

#[tokio::test]
async fn an_encrypted_transaction_opens_on_every_node_once_decided_and_a_bad_one_is_delivered_failed(
) {
    // Four validators and a full node, which holds no share and opens all the same.
    let net = Net::start_with(4, 1, &encryption(), |_, _| {});
    net.wait_height(&[0, 1, 2, 3, 4], 1, T).await;
    let key = epoch_key(&net).await;
    let mut rng = rand_010::rngs::StdRng::seed_from_u64(7);
    let sender = SecretKey::random();
    let good =
        encrypt_transaction(&mut rng, &key, CHAIN_ID, 1, 0, b"swap 10 for 20", &sender).unwrap();
    // A ciphertext whose payload was changed after sealing (and signed again): its identity
    // is another, so the released key does not open its encapsulation.
    let bad = {
        let tx = encrypt_transaction(&mut rng, &key, CHAIN_ID, 1, 1, b"tampered", &sender).unwrap();
        let mut sealed = tx.sealed().unwrap();
        let mut dem = sealed.dem.to_vec();
        *dem.last_mut().unwrap() ^= 1;
        sealed.dem = dem.into();
        Transaction::sign_encrypted(1, 1, &sealed, &sender, CHAIN_ID)
    };
    for tx in [&good, &bad] {
        let (status, body) = net.post(0, "/v1/transactions", tx).await;
        assert_eq!(status, 202, "{body}");
    }
    let good_at = net.wait_included(0, &good.hash().to_string(), T).await;
    let bad_at = net.wait_included(0, &bad.hash().to_string(), T).await;

    for (tx, at, outcome) in [
        (
            &good,
            &good_at,
            Opened::Plaintext(Bytes::from_static(b"swap 10 for 20")),
        ),
        (&bad, &bad_at, Opened::Failure(OpenFailure::Kem)),
    ] {
        let height = at["height"].as_u64().unwrap();
        let index = at["index"].as_u64().unwrap();
        for i in 0..5 {
            let entries = opened(&net, i, height).await;
            let entry = entries
                .iter()
                .find(|e| u64::from(e.index) == index)
                .unwrap_or_else(|| {
                    panic!("node {i}: entry {index} at {height} not opened: {entries:?}")
                });
            assert_eq!(entry.outcome, outcome, "node {i}");
            check_key(entry, tx, &sender, &key);
        }
    }
    // The verifying client's stream, trusting the genesis committee and the key the node names,
    // waits for the opening and checks it; the opened entries are delivered first.
    let genesis =
        ordo_rollup_adapters::Genesis::load(&net.dir.path().join("genesis.json")).unwrap();
    let client =
        ordo_rollup_adapters::RollupClient::from_genesis(&net.apis[4], &genesis).with_openings();
    let height = good_at["height"].as_u64().unwrap();
    let mut stream = std::pin::pin!(client.stream(1, height));
    let block = tokio::time::timeout(T, futures_util::StreamExt::next(&mut stream))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!block.opened().is_empty());
    assert!(matches!(
        block.delivered().first(),
        Some(ordo_rollup_adapters::Delivered::Opened(..))
    ));

    // Every validator's shares counted: no node refused any.
    for i in 0..5 {
        assert!(
            !net.log(i).contains("refused decryption shares"),
            "node {i}"
        );
    }
}

#[tokio::test]
async fn with_two_of_four_validators_stopped_nothing_opens_and_the_plaintext_is_nowhere() {
    let mut net = Net::start_with(4, 0, &encryption(), |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 1, T).await;
    let key = epoch_key(&net).await;
    net.kill(2);
    net.kill(3);
    let secret = format!("secret-{:032x}", rand_010::random::<u128>());
    let sender = SecretKey::random();
    let tx = encrypt_transaction(
        &mut rand_010::rng(),
        &key,
        CHAIN_ID,
        1,
        0,
        secret.as_bytes(),
        &sender,
    )
    .unwrap();
    let (status, body) = net.post(0, "/v1/transactions", &tx).await;
    assert_eq!(status, 202, "{body}");
    let hash = tx.hash().to_string();
    // Both live validators hold it (admitted, journaled, gossiped), and cannot decide.
    net.wait_tx(1, &hash, &["pending"], T).await;
    let stalled_at = net.height(0).await.unwrap();

    let hex = alloy_primitives::hex::encode(secret.as_bytes());
    for i in 0..2 {
        for path in [
            format!("/v1/transactions/{hash}"),
            format!("/v1/namespaces/1/blocks/{stalled_at}"),
            "/v1/status".to_owned(),
        ] {
            let body = net
                .get(i, &path)
                .await
                .map(|v| v.to_string())
                .unwrap_or_default();
            assert!(
                !body.contains(&secret) && !body.contains(&hex),
                "{path} on node {i}"
            );
        }
    }
    for i in 0..4 {
        assert_nowhere(net.home(i), &[secret.as_bytes(), hex.as_bytes()]);
    }

    assert_eq!(
        net.height(0).await,
        Some(stalled_at),
        "decided without a quorum"
    );

    // The others return: the block holding it is decided, and it opens.
    net.restart(2);
    net.restart(3);
    let at = net.wait_included(0, &hash, T).await;
    let height = at["height"].as_u64().unwrap();
    let entries = opened(&net, 0, height).await;
    assert_eq!(
        entries.first().map(|e| &e.outcome),
        Some(&Opened::Plaintext(Bytes::from(secret.into_bytes())))
    );
}

/// Asserts no file under `dir` holds any of `needles`.
fn assert_nowhere(dir: &Path, needles: &[&[u8]]) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_nowhere(&path, needles);
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for needle in needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == *needle),
                "{} holds the plaintext",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn a_ciphertext_never_included_is_never_opened_while_later_blocks_are() {
    let net = Net::start_with(4, 0, &encryption(), |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 1, T).await;
    let key = epoch_key(&net).await;
    let secret = format!("never-{:032x}", rand_010::random::<u128>());
    let sender = SecretKey::random();
    // Nonce 1 with no nonce 0: parked in every pool, never in a block.
    let parked = encrypt_transaction(
        &mut rand_010::rng(),
        &key,
        CHAIN_ID,
        1,
        1,
        secret.as_bytes(),
        &sender,
    )
    .unwrap();
    let (status, body) = net.post(0, "/v1/transactions", &parked).await;
    assert_eq!(status, 202, "{body}");
    // Another sender's encrypted transaction is included and opened meanwhile.
    let other = SecretKey::random();
    let opened_one =
        encrypt_transaction(&mut rand_010::rng(), &key, CHAIN_ID, 1, 0, b"opens", &other).unwrap();
    let (status, body) = net.post(0, "/v1/transactions", &opened_one).await;
    assert_eq!(status, 202, "{body}");
    let at = net
        .wait_included(0, &opened_one.hash().to_string(), T)
        .await;
    let height = at["height"].as_u64().unwrap();
    assert_eq!(opened(&net, 0, height).await.len(), 1);
    net.wait_height(&[0, 1, 2, 3], height + 5, T).await;

    let hash = parked.hash().to_string();
    net.wait_tx(0, &hash, &["parked"], T).await;
    let hex = alloy_primitives::hex::encode(secret.as_bytes());
    for i in 0..4 {
        assert_nowhere(net.home(i), &[secret.as_bytes(), hex.as_bytes()]);
    }
    let range = net
        .get(
            0,
            &format!("/v1/namespaces/1/blocks?from=1&to={}", height + 5),
        )
        .await
        .unwrap()
        .to_string();
    assert!(!range.contains(&secret) && !range.contains(&hex));
}

#[tokio::test]
async fn a_flood_of_garbage_envelopes_is_refused_or_delivered_failed_and_the_chain_goes_on() {
    let net = Net::start_with(4, 0, &encryption(), |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 1, T).await;
    let key = epoch_key(&net).await;
    let mut rng = rand_010::rngs::StdRng::seed_from_u64(11);
    let sealed_garbage = |rng: &mut rand_010::rngs::StdRng, sender: &SecretKey| {
        let mut sealed = encrypt_transaction(rng, &key, CHAIN_ID, 1, 0, b"x", sender)
            .unwrap()
            .sealed()
            .unwrap();
        // A payload that fails its tag under any key: admitted, ordered, delivered failed.
        let mut dem = sealed.dem.to_vec();
        dem.iter_mut().for_each(|b| *b = rand_010::random());
        sealed.dem = dem.into();
        Transaction::sign_encrypted(1, 0, &sealed, sender, CHAIN_ID)
    };
    let mut batch = Vec::new();
    for i in 0..300 {
        let sender = SecretKey::random();
        if i % 2 == 0 {
            batch.push(sealed_garbage(&mut rng, &sender));
        } else {
            // Not an encapsulation at all: refused at the door.
            let mut sealed = sealed_garbage(&mut rng, &sender).sealed().unwrap();
            sealed.kem = [0xff; ordo_types::KEM_LEN];
            batch.push(Transaction::sign_encrypted(
                1, 0, &sealed, &sender, CHAIN_ID,
            ));
        }
    }
    let honest = SecretKey::random();
    let plain = Transaction::sign(2, 0, Bytes::from_static(b"honest"), &honest, CHAIN_ID);
    let sealed = encrypt_transaction(&mut rng, &key, CHAIN_ID, 1, 0, b"honest", &honest).unwrap();
    batch.push(plain.clone());
    batch.push(sealed.clone());
    let start = net.height(0).await.unwrap();
    let mut admitted = Vec::new();
    for chunk in batch.chunks(100) {
        let (code, answer) = net.post(0, "/v1/transactions/batch", &chunk).await;
        assert_eq!(code, 200, "{answer}");
        for (tx, result) in chunk.iter().zip(answer["results"].as_array().unwrap()) {
            match result["code"].as_str() {
                None => admitted.push(tx.clone()),
                Some(code) => assert_eq!(code, "INVALID_PAYLOAD", "{result}"),
            }
        }
    }
    assert_eq!(
        admitted.len(),
        152,
        "the 150 well-formed garbage envelopes and the two honest"
    );
    for tx in [&plain, &sealed] {
        net.wait_included(0, &tx.hash().to_string(), T).await;
    }
    // Every admitted envelope lands and is delivered as failed (or, for the honest one, opened).
    for tx in &admitted {
        let at = net.wait_included(0, &tx.hash().to_string(), T).await;
        if tx.sealed().is_none() {
            continue;
        }
        let height = at["height"].as_u64().unwrap();
        let index = at["index"].as_u64().unwrap();
        let entries = opened(&net, 0, height).await;
        let entry = entries
            .iter()
            .find(|e| u64::from(e.index) == index)
            .unwrap();
        let expected = if tx == &sealed {
            Opened::Plaintext(Bytes::from_static(b"honest"))
        } else {
            Opened::Failure(OpenFailure::Kem)
        };
        assert_eq!(entry.outcome, expected);
    }
    net.wait_height(&[0, 1, 2, 3], net.height(0).await.unwrap() + 3, T)
        .await;
    assert!(net.height(0).await.unwrap() > start);
}

#[tokio::test]
async fn a_proposal_with_an_envelope_that_cannot_open_gets_no_vote() {
    crate::consensus::faulty_proposer_gets_no_vote_with(
        "malformed_envelope",
        "malformed key encapsulation",
        &encryption(),
    )
    .await;
}

#[tokio::test]
async fn a_proposal_holding_one_identity_twice_gets_no_vote() {
    // The identity covers the sender, its nonce and the ciphertext: the same identity twice is
    // the same transaction twice (or one nonce twice, which the nonce rule refuses).
    crate::consensus::faulty_proposer_gets_no_vote_with(
        "reused_identity",
        "appears twice",
        &encryption(),
    )
    .await;
}

#[tokio::test]
async fn a_validator_withholding_its_shares_loses_its_precommits_and_the_lane_goes_on() {
    let net = Net::start_with(4, 0, &encryption(), |i, text| {
        if i == 3 {
            text.insert_str(0, "test_fault = \"withhold_shares\"\n");
        }
    });
    net.wait_height(&[0, 1, 2], 1, T).await;
    let key = epoch_key(&net).await;
    let from = net.wait_encryption(0, T).await["from_height"]
        .as_u64()
        .unwrap();
    let (tx, sender, height) = send_sealed(&net, 0, &key, b"still").await;
    let entries = opened(&net, 0, height).await;
    assert_eq!(
        entries.first().map(|e| &e.outcome),
        Some(&Opened::Plaintext(Bytes::from_static(b"still")))
    );
    check_key(&entries[0], &tx, &sender, &key);
    // From the lane's first height on, its precommits never count: no certificate names it.
    let withholder = net.get(3, "/v1/status").await.unwrap()["address"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(net
        .log(3)
        .contains("test fault: withholding decryption shares"));
    for h in from..=height {
        let block = net.block(0, h).await.unwrap();
        let signers: Vec<String> = block["certificate"]["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["signer"].as_str().unwrap().to_lowercase())
            .collect();
        assert_eq!(signers.len(), 3, "height {h}");
        assert!(!signers.contains(&withholder), "height {h}: {signers:?}");
    }
}

#[tokio::test]
async fn a_node_that_catches_up_opens_what_it_missed_and_a_killed_one_keeps_what_it_opened() {
    let mut net = Net::start_with(4, 0, &encryption(), |_, _| {});
    net.wait_height(&[0, 1, 2, 3], 1, T).await;
    let key = epoch_key(&net).await;
    net.kill(3);
    let (tx, sender, height) = send_sealed(&net, 0, &key, b"missed").await;
    let plaintext = Some(Opened::Plaintext(Bytes::from_static(b"missed")));
    // Node 3 gets the block by sync, with the precommits' extensions, and opens it itself.
    net.restart(3);
    net.wait_height(&[3], height, T).await;
    let entries = opened(&net, 3, height).await;
    assert_eq!(entries.first().map(|e| e.outcome.clone()), plaintext);
    check_key(&entries[0], &tx, &sender, &key);
    // Node 0, killed with SIGKILL, still serves what it opened.
    net.kill(0);
    net.restart(0);
    net.wait_height(&[0], height, T).await;
    let entries = opened(&net, 0, height).await;
    assert_eq!(entries.first().map(|e| e.outcome.clone()), plaintext);
}

#[tokio::test]
async fn a_node_stopped_before_opening_a_decided_block_opens_it_after_the_restart() {
    let mut net = Net::start_with(4, 0, &encryption(), |i, text| {
        if i == 0 {
            text.insert_str(0, "test_fault = \"crash_before_opening\"\n");
        }
    });
    net.wait_height(&[0, 1, 2, 3], 1, T).await;
    let key = epoch_key(&net).await;
    let (tx, sender, height) = send_sealed(&net, 1, &key, b"later").await;
    // Node 0 stored the block, then stopped before opening it.
    let exit = net.wait_exit(0, T).await.expect("node 0 stopped");
    assert_eq!(exit.code(), Some(101));
    assert!(net
        .log(0)
        .contains("test fault: stopping before opening a decided block"));
    // Restarted without the fault, it opens the block from the stored extensions.
    let config = net.home(0).join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("test_fault = \"crash_before_opening\"\n", ""),
    )
    .unwrap();
    net.restart(0);
    let entries = opened(&net, 0, height).await;
    assert_eq!(
        entries.first().map(|e| &e.outcome),
        Some(&Opened::Plaintext(Bytes::from_static(b"later")))
    );
    check_key(&entries[0], &tx, &sender, &key);
    assert!(net
        .log(0)
        .contains("opening a block decided before the restart"));
}

#[tokio::test]
async fn a_validator_killed_during_the_key_generation_does_not_stop_it_and_takes_its_shares_back() {
    let mut net = Net::start_with(4, 0, &encryption(), |_, _| {});
    // Into the deal window (heights 9 to 16 with `ordo init`'s window of 8 blocks).
    net.wait_height(&[0, 1, 2, 3], 10, T).await;
    net.kill(3);
    let key = epoch_key(&net).await;
    let from = net.wait_encryption(0, T).await["from_height"]
        .as_u64()
        .unwrap();
    assert!(!net.log(3).contains("generated the encryption key"));
    // Back after the round: it replays the round from the blocks and holds its shares.
    net.restart(3);
    net.wait_height(&[3], from, T).await;
    let deadline = Instant::now() + T;
    while !net.log(3).contains("holding shares of the generated key") {
        assert!(Instant::now() < deadline, "node 3 holds no share");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (tx, sender, height) = send_sealed(&net, 3, &key, b"after the restart").await;
    let entries = opened(&net, 3, height).await;
    assert_eq!(
        entries.first().map(|e| &e.outcome),
        Some(&Opened::Plaintext(Bytes::from_static(b"after the restart")))
    );
    check_key(&entries[0], &tx, &sender, &key);
    // Its shares check on every other node.
    let address = net.get(3, "/v1/status").await.unwrap()["address"]
        .as_str()
        .unwrap()
        .to_lowercase();
    for i in 0..3 {
        let refused = net
            .log(i)
            .to_lowercase()
            .lines()
            .any(|l| l.contains("refused decryption shares") && l.contains(&address));
        assert!(!refused, "node {i} refused node 3's shares");
    }
}

#[tokio::test]
async fn a_later_block_commits_the_released_keys_and_they_open_the_block_without_any_share() {
    use ordo_chain::lane::{decode_keys, KEYS_NAMESPACE};
    use ordo_types::Entry;

    let net = Net::start_with(4, 0, &encryption(), |_, _| {});
    let key = epoch_key(&net).await;
    let (tx, sender, height) = send_sealed(&net, 0, &key, b"kept on the chain").await;
    // What a light client holds: the genesis committee and the epoch key. Each slice it
    // reads is checked against its certificate, the released keys' namespace too.
    let genesis =
        ordo_rollup_adapters::Genesis::load(&net.dir.path().join("genesis.json")).unwrap();
    let mut client = ordo_rollup_adapters::RollupClient::from_genesis(&net.apis[1], &genesis);
    let deadline = Instant::now() + T;
    let (at, committed) = 'found: loop {
        for h in height + 1..=net.height(1).await.unwrap_or(0) {
            let slice = client.block(KEYS_NAMESPACE, h).await.unwrap();
            for entry in slice.entries() {
                let Entry::Signed(release) = entry else {
                    continue;
                };
                if release.nonce() == height {
                    // Signed by the block's proposer.
                    let signer = release.recover_sender(CHAIN_ID).unwrap();
                    assert_eq!(signer, slice.header().proposer);
                    break 'found (h, decode_keys(release.payload()).unwrap());
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no block committed height {height}'s keys"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(at > height);
    // One key, for the transaction's identity under the epoch key, opening it.
    assert_eq!(committed.len(), 1);
    let sealed = tx.sealed().unwrap();
    let identity = sealed.identity(CHAIN_ID, 1, sender.address(), tx.nonce());
    assert!(ordo_enc::verify_keys(
        &mut rand_010::rng(),
        &key.public,
        &Identities::hash(&[identity]),
        &committed,
    ));
    let payload = ordo_enc::open(&committed[0], &sealed).unwrap();
    assert_eq!(payload.as_ref(), b"kept on the chain");
    // Committed once: no later block names the height again.
    for h in at + 1..=net.height(1).await.unwrap() {
        let slice = client.block(KEYS_NAMESPACE, h).await.unwrap();
        assert!(slice
            .entries()
            .iter()
            .all(|e| !matches!(e, Entry::Signed(r) if r.nonce() == height)));
    }
}
