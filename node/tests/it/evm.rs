//! An EVM rollup end to end: wallets send through Ordo's Ethereum JSON-RPC, the executor
//! replays the namespace into a real Anvil L2, and the L2 ends up with Ordo's order.

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{keccak256, Address, Signature, TxKind, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use serde_json::{json, Value};

use crate::harness::{ordo, Net};

pub(crate) const CHAIN_ID: u64 = 901;
const NS: u64 = CHAIN_ID;

/// The L2 (Anvil, mining off, FIFO), a 4-validator network with the EVM rollup registered and
/// the L2 as its execution node, and the executor process.
pub(crate) struct Rollup {
    pub(crate) l2: AnvilInstance,
    pub(crate) net: Net,
    executor: Child,
}

impl Drop for Rollup {
    fn drop(&mut self) {
        let _ = self.executor.kill();
        let _ = self.executor.wait();
    }
}

/// The L2: Anvil with mining off, FIFO, chain id 901, its clock earlier than any Ordo block (so
/// every block's timestamp is accepted).
pub(crate) fn spawn_l2() -> AnvilInstance {
    ordo_l1::spawn_anvil_with(
        0,
        &[
            "--no-mining".into(),
            "--order".into(),
            "fifo".into(),
            "--chain-id".into(),
            CHAIN_ID.to_string(),
            "--timestamp".into(),
            "1000000000".into(),
        ],
    )
    .unwrap()
}

/// `ordo init` arguments registering the EVM rollup with `l2` as its execution node.
fn rollup_args(l2: &AnvilInstance) -> [String; 2] {
    [
        format!("--evm-rollup={CHAIN_ID}"),
        format!("--execution-rpc={NS}={}", l2.endpoint()),
    ]
}

/// `ordo rollup run` replaying the namespace from node 1 into `l2`, logging next to the net.
fn spawn_executor(net: &Net, l2: &AnvilInstance) -> Child {
    let log = std::fs::File::create(net.dir.path().join("executor.log")).unwrap();
    ordo()
        .args(["rollup", "run", "--node", &net.apis[1], "--engine"])
        .arg(l2.endpoint())
        .arg("--genesis")
        .arg(net.homes[0].join("genesis.json"))
        .args(["--namespace", &NS.to_string()])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

impl Rollup {
    pub(crate) fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`Self::start`] with more `ordo init` arguments.
    fn start_with(extra: &[&str]) -> Self {
        let l2 = spawn_l2();
        let mut args = rollup_args(&l2).to_vec();
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let net = Net::start_with(4, 0, &args, |_, _| {});
        let executor = spawn_executor(&net, &l2);
        Rollup { l2, net, executor }
    }

    pub(crate) fn rpc_url(&self, node: usize) -> String {
        format!("{}/v1/rollups/{NS}/rpc", self.net.apis[node])
    }

    async fn rpc(&self, node: usize, body: Value) -> (u16, Value) {
        self.net
            .post(node, &format!("/v1/rollups/{NS}/rpc"), &body)
            .await
    }

    async fn send_raw(&self, raw: &[u8]) -> Value {
        let call = json!({"jsonrpc": "2.0", "id": 7, "method": "eth_sendRawTransaction",
            "params": [format!("0x{}", hex::encode(raw))]});
        let (status, answer) = self.rpc(0, call).await;
        assert_eq!(status, 200);
        assert_eq!(answer["id"], 7);
        answer
    }

    /// Every Ethereum transaction hash of the namespace with its height, in Ordo's order, up
    /// to `tip`.
    async fn ordo_order(&self, tip: u64) -> Vec<(u64, B256)> {
        let mut order = Vec::new();
        for h in 1..=tip {
            let block = self
                .net
                .get(0, &format!("/v1/namespaces/{NS}/blocks/{h}"))
                .await
                .unwrap();
            for tx in block["transactions"].as_array().unwrap() {
                assert_eq!(tx["auth"], "ethereum");
                let payload = hex::decode(tx["payload"].as_str().unwrap().trim_start_matches("0x"));
                order.push((h, keccak256(payload.unwrap())));
            }
        }
        order
    }
}

pub(crate) fn transfer(chain_id: u64, nonce: u64, to: Address, value: u64) -> TxEip1559 {
    TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    }
}

pub(crate) fn sign(tx: TxEip1559, key: &PrivateKeySigner) -> Vec<u8> {
    let sig = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wallets_send_through_ordo_and_the_l2_executes_in_ordos_order() {
    let rollup = Rollup::start();
    rollup
        .net
        .wait_height(&[0, 1, 2, 3], 1, Duration::from_secs(60))
        .await;
    let keys: Vec<PrivateKeySigner> = rollup.l2.keys()[..4]
        .iter()
        .map(|k| PrivateKeySigner::from(k.clone()))
        .collect();
    let recipients: Vec<Address> = (1..=4u8).map(Address::repeat_byte).collect();

    // Four wallets, 25 back-to-back transfers each, each through a different node. A fresh
    // nonce lookup per send: only Ordo's pending count keeps them from reusing nonces.
    let sends = keys.iter().enumerate().map(|(i, key)| {
        let url = rollup.rpc_url(i);
        let key = key.clone();
        let recipients = recipients.clone();
        async move {
            let provider = ProviderBuilder::new()
                .with_simple_nonce_management()
                .wallet(EthereumWallet::from(key))
                .connect_http(url.parse().unwrap());
            let mut hashes = Vec::new();
            for j in 0..25u64 {
                let tx = TransactionRequest::default()
                    .with_to(recipients[(i + j as usize) % 4])
                    .with_value(U256::from(1_000 + j));
                let pending = provider.send_transaction(tx).await.unwrap();
                hashes.push(*pending.tx_hash());
            }
            hashes
        }
    });
    let sent: Vec<B256> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(sent.len(), 100);

    // Every receipt arrives from the L2 (through Ordo's forwarding), successful.
    let l2 = ProviderBuilder::new().connect_http(rollup.l2.endpoint_url());
    let deadline = Instant::now() + Duration::from_secs(120);
    for hash in &sent {
        loop {
            if let Some(receipt) = l2.get_transaction_receipt(*hash).await.unwrap() {
                assert!(receipt.status(), "{hash} reverted");
                break;
            }
            assert!(Instant::now() < deadline, "{hash} never executed on the L2");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // The L2's transactions, block by block, are exactly Ordo's, in Ordo's order.
    let l2_tip = l2.get_block_number().await.unwrap();
    let mut l2_order = Vec::new();
    for n in 1..=l2_tip {
        let block = l2.get_block_by_number(n.into()).await.unwrap().unwrap();
        l2_order.extend(block.transactions.hashes());
    }
    // Node 0 reads as far as the executor's node 1 had decided when the receipts arrived.
    let ordo_tip = rollup.net.height(1).await.unwrap();
    rollup
        .net
        .wait_height(&[0], ordo_tip, Duration::from_secs(30))
        .await;
    let ordo_order = rollup.ordo_order(ordo_tip).await;
    let ordo_hashes: Vec<B256> = ordo_order.iter().map(|(_, hash)| *hash).collect();
    assert_eq!(l2_order, ordo_hashes);
    let mut sorted_sent = sent.clone();
    sorted_sent.sort();
    let mut sorted_l2 = l2_order.clone();
    sorted_l2.sort();
    assert_eq!(sorted_l2, sorted_sent);

    // Final balances: each recipient got exactly what was sent to it.
    let mut expected: HashMap<Address, u64> = HashMap::new();
    for i in 0..4usize {
        for j in 0..25u64 {
            *expected
                .entry(recipients[(i + j as usize) % 4])
                .or_default() += 1_000 + j;
        }
    }
    let through_ordo = ProviderBuilder::new().connect_http(rollup.rpc_url(2).parse().unwrap());
    for (address, value) in &expected {
        assert_eq!(
            through_ordo.get_balance(*address).await.unwrap(),
            U256::from(*value)
        );
    }
    for key in &keys {
        assert_eq!(
            through_ordo
                .get_transaction_count(key.address())
                .await
                .unwrap(),
            25
        );
    }

    // A second executor, restarted with a state file naming the first height it applied:
    // it verifies the chain from height 1 again but replays only the later blocks, and those
    // change nothing (every transaction is already executed, no L2 block is mined).
    let first = ordo_order[0].0;
    let last = ordo_order[ordo_order.len() - 1].0;
    let later = ordo_order.iter().filter(|(h, _)| *h > first).count();
    let state = rollup.net.dir.path().join("evm.height");
    std::fs::write(&state, first.to_string()).unwrap();
    let mut replay = ordo()
        .args(["rollup", "run", "--node", &rollup.net.apis[3], "--engine"])
        .arg(rollup.l2.endpoint())
        .arg("--genesis")
        .arg(rollup.net.homes[0].join("genesis.json"))
        .args(["--namespace", &NS.to_string(), "--state"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The state file moves past the last block with transactions once it is replayed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let applied: u64 = std::fs::read_to_string(&state).unwrap().parse().unwrap();
        if applied >= last {
            break;
        }
        if Instant::now() > deadline {
            replay.kill().unwrap();
            panic!("the replay stopped at height {applied}, before {last}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    replay.kill().unwrap();
    let output = replay.wait_with_output().unwrap();
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["height"].as_u64().unwrap() > first));
    assert!(lines.iter().all(|l| l["executed"] == json!([])));
    let replayed: usize = lines
        .iter()
        .map(|l| l["already_executed"].as_array().unwrap().len())
        .sum();
    assert_eq!(replayed, later);
    assert_eq!(l2.get_block_number().await.unwrap(), l2_tip);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_ethereum_transactions_and_rpc_calls_are_refused() {
    let rollup = Rollup::start();
    rollup
        .net
        .wait_height(&[0], 1, Duration::from_secs(60))
        .await;
    let key = PrivateKeySigner::from(rollup.l2.keys()[5].clone());
    let to = Address::repeat_byte(9);

    // Local answers.
    let (_, chain) = rollup
        .rpc(
            0,
            json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}),
        )
        .await;
    assert_eq!(chain["result"], format!("{CHAIN_ID:#x}"));
    let (_, version) = rollup
        .rpc(
            0,
            json!({"jsonrpc": "2.0", "id": 2, "method": "net_version"}),
        )
        .await;
    assert_eq!(version["result"], CHAIN_ID.to_string());

    // Signed for another chain.
    let answer = rollup.send_raw(&sign(transfer(902, 0, to, 1), &key)).await;
    assert_eq!(
        answer["error"]["data"]["code"], "WRONG_ROLLUP_CHAIN",
        "{answer}"
    );
    // A legacy transaction without a chain id (pre-EIP-155) names no chain.
    let legacy = alloy::consensus::TxLegacy {
        chain_id: None,
        nonce: 0,
        gas_price: 10_000_000_000,
        gas_limit: 21_000,
        to: TxKind::Call(to),
        value: U256::from(1),
        input: Default::default(),
    };
    let sig = key.sign_hash_sync(&legacy.signature_hash()).unwrap();
    let raw = TxEnvelope::from(legacy.into_signed(sig)).encoded_2718();
    let answer = rollup.send_raw(&raw).await;
    assert_eq!(
        answer["error"]["data"]["code"], "WRONG_ROLLUP_CHAIN",
        "{answer}"
    );
    // A signature whose r is no curve point recovers no sender.
    let tx = transfer(CHAIN_ID, 0, to, 1);
    let good = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    let forged = Signature::new(U256::from(5), good.s(), good.v());
    let raw = TxEnvelope::from(tx.clone().into_signed(forged)).encoded_2718();
    let answer = rollup.send_raw(&raw).await;
    assert_eq!(answer["error"]["data"]["code"], "BAD_SIGNATURE", "{answer}");
    // Not a transaction; not hex; no parameter.
    let answer = rollup.send_raw(&[0x02, 0xc3, 0x01, 0x02, 0x03]).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert_eq!(answer["error"]["data"]["code"], "MALFORMED", "{answer}");
    for params in [json!(["0xzz"]), json!([]), json!([42])] {
        let call = json!({"jsonrpc": "2.0", "id": 3, "method": "eth_sendRawTransaction",
            "params": params});
        let (_, answer) = rollup.rpc(0, call).await;
        assert_eq!(answer["error"]["code"], -32602, "{answer}");
    }
    // What would have the L2 node sign, send or change state outside Ordo is not forwarded.
    for call in [
        json!({"jsonrpc": "2.0", "id": 6, "method": "anvil_setBalance",
            "params": [to, "0x1000"]}),
        json!({"jsonrpc": "2.0", "id": 7, "method": "eth_sendTransaction",
            "params": [{"from": rollup.l2.addresses()[0], "to": to, "value": "0x1"}]}),
        json!({"jsonrpc": "2.0", "id": 8, "method": "evm_mine", "params": []}),
    ] {
        let (_, answer) = rollup.rpc(0, call).await;
        assert_eq!(answer["error"]["code"], -32601, "{answer}");
    }
    let provider = ProviderBuilder::new().connect_http(rollup.l2.endpoint_url());
    assert_eq!(provider.get_balance(to).await.unwrap(), U256::ZERO);
    // Malformed JSON-RPC: parse error, invalid request, empty batch.
    let resp = reqwest::Client::new()
        .post(rollup.rpc_url(0))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["error"]["code"], -32700);
    let (_, answer) = rollup.rpc(0, json!({"jsonrpc": "2.0", "id": 4})).await;
    assert_eq!(answer["error"]["code"], -32600);
    let (_, answer) = rollup.rpc(0, json!([])).await;
    assert_eq!(answer["error"]["code"], -32600);
    // A raw namespace has no Ethereum RPC.
    let (status, answer) = rollup
        .net
        .post(
            0,
            "/v1/rollups/1/rpc",
            &json!({"jsonrpc": "2.0", "id": 5, "method": "eth_chainId"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["data"]["code"], "UNKNOWN_NAMESPACE");
    // An EIP-712 transaction cannot enter the EVM namespace, nor an Ethereum one a raw one.
    let ordo_key = ordo_types::SecretKey::random();
    let eip712 = ordo_types::Transaction::sign(NS, 0, vec![1].into(), &ordo_key, 1337);
    let (status, answer) = rollup.net.post(0, "/v1/transactions", &eip712).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("WRONG_TX_KIND"))
    );

    // Nothing refused reached a block: a good transaction still takes nonce 0, in a batch
    // with a forwarded read.
    let raw = sign(transfer(CHAIN_ID, 0, to, 1), &key);
    let batch = json!([
        {"jsonrpc": "2.0", "id": 10, "method": "eth_sendRawTransaction",
         "params": [format!("0x{}", hex::encode(&raw))]},
        {"jsonrpc": "2.0", "id": 11, "method": "eth_blockNumber", "params": []},
    ]);
    let (_, answers) = rollup.rpc(0, batch).await;
    assert_eq!(answers[0]["result"], json!(keccak256(&raw)), "{answers}");
    assert!(answers[1]["result"].as_str().unwrap().starts_with("0x"));
    // Replaying it is refused (as held, or as included by now).
    let answer = rollup.send_raw(&raw).await;
    let code = answer["error"]["data"]["code"].as_str();
    assert!(
        matches!(code, Some("ALREADY_KNOWN" | "NONCE_TOO_LOW")),
        "{answer}"
    );

    // A well-signed transfer from an account the L2 never funded: Ordo sequences it (it checks
    // no balances), the L2 refuses it, and the executor goes on with what follows.
    let unfunded = PrivateKeySigner::random();
    let broke = sign(transfer(CHAIN_ID, 0, to, 1), &unfunded);
    let answer = rollup.send_raw(&broke).await;
    assert_eq!(answer["result"], json!(keccak256(&broke)), "{answer}");
    let wait = rollup
        .net
        .wait_included(0, &keccak256(&broke).to_string(), Duration::from_secs(30))
        .await;
    assert_eq!(wait["status"], "included");
    let after = sign(transfer(CHAIN_ID, 1, to, 1), &key);
    let answer = rollup.send_raw(&after).await;
    assert_eq!(answer["result"], json!(keccak256(&after)), "{answer}");
    let l2 = ProviderBuilder::new().connect_http(rollup.l2.endpoint_url());
    let deadline = Instant::now() + Duration::from_secs(60);
    while l2
        .get_transaction_receipt(keccak256(&after))
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the executor stopped after a refusal"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(l2
        .get_transaction_by_hash(keccak256(&broke))
        .await
        .unwrap()
        .is_none());
    let log = std::fs::read_to_string(rollup.net.dir.path().join("executor.log")).unwrap();
    assert!(
        log.contains("refused a sequenced transaction")
            && log.contains(&keccak256(&broke).to_string()),
        "{log}"
    );
}

/// A forced (L1 inbox) Ethereum transaction uses its sender's L2 nonce on every node, so the
/// sender's next JSON-RPC transaction carries the next nonce, lands, and the L2 executes both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forced_ethereum_transaction_then_the_senders_next_json_rpc_one_both_execute() {
    let l2 = spawn_l2();
    let l1 =
        crate::force::l1_net_init(&rollup_args(&l2), 0, json!({}), &[0, 1, 2, 3], |_, _| {}).await;
    let mut executor = spawn_executor(&l1.net, &l2);
    let key = PrivateKeySigner::from(l2.keys()[5].clone());
    let to = Address::repeat_byte(0x77);

    // Nonce 0 through the L1 inbox (paid by an L1 account of its own).
    let forced = sign(transfer(CHAIN_ID, 0, to, 5), &key);
    let (index, _) = l1.force_include(3, NS, forced.clone()).await;

    // Once a node has included it, that node counts it: it expects nonce 1 next.
    let path = format!("/v1/accounts/{}/nonce?namespace={NS}", key.address());
    for node in 0..4 {
        l1.wait_forced(node, NS, index).await;
        let answer = l1.net.get(node, &path).await.unwrap();
        assert_eq!(answer["next_nonce"], 1, "node {node}: {answer}");
    }
    let next = sign(transfer(CHAIN_ID, 1, to, 7), &key);
    let send = json!({"jsonrpc": "2.0", "id": 2, "method": "eth_sendRawTransaction",
        "params": [format!("0x{}", hex::encode(&next))]});
    let (status, answer) = l1
        .net
        .post(2, &format!("/v1/rollups/{NS}/rpc"), &send)
        .await;
    assert_eq!(status, 200, "{answer}");
    let hash = answer["result"].as_str().unwrap().to_owned();
    l1.net
        .wait_included(2, &hash, Duration::from_secs(60))
        .await;

    // The L2 executes both, in order.
    let provider = ProviderBuilder::new().connect_http(l2.endpoint_url());
    let deadline = Instant::now() + Duration::from_secs(60);
    for raw in [&forced, &next] {
        let hash = keccak256(raw);
        loop {
            if let Some(receipt) = provider.get_transaction_receipt(hash).await.unwrap() {
                assert!(receipt.status(), "{hash} reverted");
                break;
            }
            assert!(Instant::now() < deadline, "{hash} never executed on the L2");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(
        provider.get_transaction_count(key.address()).await.unwrap(),
        2
    );
    assert_eq!(provider.get_balance(to).await.unwrap(), U256::from(12));
    let _ = executor.kill();
    let _ = executor.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bundle_sent_with_ordo_send_bundle_spans_the_evm_rollup_and_a_raw_one_in_one_block() {
    let rollup = Rollup::start();
    rollup
        .net
        .wait_height(&[0, 1, 2, 3], 1, Duration::from_secs(60))
        .await;
    let keys: Vec<PrivateKeySigner> = rollup.l2.keys()[..2]
        .iter()
        .map(|k| PrivateKeySigner::from(k.clone()))
        .collect();
    let swap = sign(transfer(CHAIN_ID, 0, Address::repeat_byte(7), 5), &keys[0]);
    let pay = sign(transfer(CHAIN_ID, 0, Address::repeat_byte(8), 6), &keys[1]);
    // Its part on raw rollup 2: an Ordo transaction, as POST /v1/transactions takes it.
    let ordo_key = ordo_types::SecretKey::random();
    let note = ordo_types::Transaction::sign(
        2,
        0,
        ordo_types::Bytes::from_static(b"the other side"),
        &ordo_key,
        1337,
    );
    let tip = rollup.net.height(0).await.unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "ordo_sendBundle", "params": [{
        "txs": [format!("0x{}", hex::encode(&swap)), note, format!("0x{}", hex::encode(&pay))],
        "blockNumber": null,
        "maxHeight": format!("{:#x}", tip + 300),
    }]});
    let (status, answer) = rollup.rpc(2, call).await;
    assert_eq!(status, 200);
    let hash = answer["result"]["bundleHash"].as_str().unwrap().to_owned();

    // Both parts land at one height: the EVM part is the two transfers in submitted order.
    let deadline = Instant::now() + Duration::from_secs(60);
    let included = loop {
        let status = rollup.net.get(0, &format!("/v1/bundles/{hash}")).await;
        if let Some(s) = status.filter(|s| s["status"] == "included") {
            break s;
        }
        assert!(Instant::now() < deadline, "bundle {hash} not included");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let height = included["height"].as_u64().unwrap();
    let order = rollup.ordo_order(height).await;
    let at_height: Vec<B256> = order
        .iter()
        .filter(|(h, _)| *h == height)
        .map(|(_, t)| *t)
        .collect();
    let (swap_hash, pay_hash) = (keccak256(&swap), keccak256(&pay));
    let start = at_height.iter().position(|t| *t == swap_hash).unwrap();
    assert_eq!(at_height.get(start + 1), Some(&pay_hash));
    let note_status = rollup
        .net
        .wait_included(0, &note.hash().to_string(), Duration::from_secs(30))
        .await;
    assert_eq!(note_status["height"].as_u64(), Some(height));

    // The executor runs both transfers on the L2.
    let l2 = ProviderBuilder::new().connect_http(rollup.l2.endpoint_url());
    for tx in [swap_hash, pay_hash] {
        loop {
            if let Some(receipt) = l2.get_transaction_receipt(tx).await.unwrap() {
                assert!(receipt.status());
                break;
            }
            assert!(Instant::now() < deadline, "{tx} never executed on the L2");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // A bundle whose EVM part reuses a nonce already used is refused whole, as
    // eth_sendRawTransaction refuses it.
    let reuse = sign(transfer(CHAIN_ID, 0, Address::repeat_byte(9), 1), &keys[0]);
    let call = json!({"jsonrpc": "2.0", "id": 4, "method": "ordo_sendBundle", "params": [{
        "txs": [format!("0x{}", hex::encode(&reuse))], "maxHeight": tip + 300,
    }]});
    let (_, answer) = rollup.rpc(0, call).await;
    assert_eq!(answer["error"]["code"], -32000, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("transaction 0: nonce too low"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_executor_drops_a_bundle_part_whose_transaction_fails_unless_it_may_revert() {
    let rollup = Rollup::start();
    rollup
        .net
        .wait_height(&[0, 1, 2, 3], 1, Duration::from_secs(60))
        .await;
    let keys: Vec<PrivateKeySigner> = rollup.l2.keys()[..5]
        .iter()
        .map(|k| PrivateKeySigner::from(k.clone()))
        .collect();
    // A contract creation whose init code is INVALID (0xfe): it executes and fails.
    let failing = |key: &PrivateKeySigner| {
        let tx = TxEip1559 {
            gas_limit: 100_000,
            to: TxKind::Create,
            input: alloy::primitives::Bytes::from_static(&[0xfe]),
            value: U256::ZERO,
            ..transfer(CHAIN_ID, 0, Address::ZERO, 0)
        };
        sign(tx, key)
    };
    let (dropped_to, kept_to) = (Address::repeat_byte(0x0d), Address::repeat_byte(0x0e));
    let dropped = [
        sign(transfer(CHAIN_ID, 0, dropped_to, 5), &keys[0]),
        failing(&keys[1]),
    ];
    let kept = [
        sign(transfer(CHAIN_ID, 0, kept_to, 6), &keys[2]),
        failing(&keys[3]),
    ];
    let hex_of = |raw: &[u8]| format!("0x{}", hex::encode(raw));
    let tip = rollup.net.height(0).await.unwrap();
    let mut hashes = Vec::new();
    for (txs, reverting) in [(&dropped, vec![]), (&kept, vec![keccak256(&kept[1])])] {
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "ordo_sendBundle", "params": [{
            "txs": [hex_of(&txs[0]), hex_of(&txs[1])],
            "maxHeight": tip + 300,
            "revertingTxHashes": reverting,
        }]});
        let (_, answer) = rollup.rpc(0, call).await;
        hashes.push(answer["result"]["bundleHash"].as_str().unwrap().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for hash in &hashes {
        loop {
            let status = rollup.net.get(0, &format!("/v1/bundles/{hash}")).await;
            if status.is_some_and(|s| s["status"] == "included") {
                break;
            }
            assert!(Instant::now() < deadline, "bundle {hash} not included");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // A transfer sent after both landed: once it executes, the executor is past both.
    let after = sign(
        transfer(CHAIN_ID, 0, Address::repeat_byte(0x0f), 1),
        &keys[4],
    );
    rollup.send_raw(&after).await;
    let l2 = ProviderBuilder::new().connect_http(rollup.l2.endpoint_url());
    let receipt = |hash: B256| {
        let l2 = l2.clone();
        async move { l2.get_transaction_receipt(hash).await.unwrap() }
    };
    while receipt(keccak256(&after)).await.is_none() {
        assert!(Instant::now() < deadline, "the executor never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The part with a failing transaction outside revertingTxHashes: neither executed.
    for raw in &dropped {
        assert!(
            receipt(keccak256(raw)).await.is_none(),
            "a dropped part executed"
        );
    }
    assert_eq!(l2.get_balance(dropped_to).await.unwrap(), U256::ZERO);
    assert_eq!(
        l2.get_transaction_count(keys[0].address()).await.unwrap(),
        0
    );
    // The part whose failing transaction may revert: both executed, the creation failed.
    assert!(receipt(keccak256(&kept[0])).await.unwrap().status());
    assert!(!receipt(keccak256(&kept[1])).await.unwrap().status());
    assert_eq!(l2.get_balance(kept_to).await.unwrap(), U256::from(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sealed_ethereum_transaction_is_ordered_hidden_then_executed_by_the_rollup() {
    let rollup = Rollup::start_with(&["--encryption"]);
    let info = rollup.net.wait_encryption(0, Duration::from_secs(60)).await;
    assert!(info["namespaces"].as_array().unwrap().contains(&json!(NS)));
    let wallet = PrivateKeySigner::from(rollup.l2.keys()[0].clone());
    let to = Address::repeat_byte(0x5e);
    let raw = sign(transfer(CHAIN_ID, 0, to, 7), &wallet);
    // The key file of the wallet's account, which signs the envelope.
    let key_file = rollup.net.dir.path().join("wallet.json");
    std::fs::write(
        &key_file,
        json!({
            "address": wallet.address(),
            "secret_key": B256::from_slice(&wallet.credential().to_bytes()),
        })
        .to_string(),
    )
    .unwrap();
    let sent = ordo()
        .args([
            "tx",
            "send",
            "--encrypt",
            "--wait",
            "--node",
            &rollup.net.apis[0],
        ])
        .arg("--key")
        .arg(&key_file)
        .args(["--namespace", &NS.to_string()])
        .args(["--data", &format!("0x{}", hex::encode(&raw))])
        .output()
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let out = String::from_utf8_lossy(&sent.stdout).to_string();
    let height: u64 = out
        .split("included at height ")
        .nth(1)
        .and_then(|h| h.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    // The block holds the envelope, not the transaction: its bytes are nowhere in the slice.
    let slice = rollup
        .net
        .get(0, &format!("/v1/namespaces/{NS}/blocks/{height}"))
        .await
        .unwrap();
    assert!(!slice["transactions"]
        .to_string()
        .contains(&hex::encode(&raw)));
    // The executor applies the opened transaction: the transfer lands on the L2.
    let l2 = ProviderBuilder::new().connect_http(rollup.l2.endpoint_url());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(receipt) = l2.get_transaction_receipt(keccak256(&raw)).await.unwrap() {
            assert!(receipt.status());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sealed transfer never executed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(l2.get_balance(to).await.unwrap(), U256::from(7));
    // A key file of another account cannot seal the wallet's transaction.
    let other = rollup.net.dir.path().join("other.json");
    let made = ordo()
        .args(["keys", "new", "--out"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success());
    let refused = ordo()
        .args(["tx", "send", "--encrypt", "--node", &rollup.net.apis[0]])
        .arg("--key")
        .arg(&other)
        .args(["--namespace", &NS.to_string()])
        .args([
            "--data",
            &format!(
                "0x{}",
                hex::encode(sign(transfer(CHAIN_ID, 1, to, 1), &wallet))
            ),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is signed by"));
}
