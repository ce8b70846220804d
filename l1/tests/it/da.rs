//! Data availability on a real Anvil: a batch posted to `BatchInbox` in a blob frame and a
//! calldata frame is read back into exactly the blocks posted; a forged batch for the same
//! certified range, posted first, is ignored; a range the light client does not hold is
//! refused by the contract.

use crate::common::{by_address, certificate, keys, set_of, wallet_provider};
use alloy::primitives::{Bytes, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use ordo_batch::{encode_batch, Codec, FRAME_HEADER_LEN};
use ordo_l1::da::{
    blob_sidecar, blobs_for, frame_from_blobs, BlobSource, DaChain, DaReader, MAX_BLOB_FRAME_LEN,
};
use ordo_l1::{deploy, spawn_anvil, BatchInbox, DeployParams, LightClientRelay};
use ordo_types::{
    Address, Block, Body, Decode, Entry, ForcedTransaction, Header, NamespaceEntries, SecretKey,
    ValidatorSet,
};
use std::time::{Duration, Instant};

const ORDO_CHAIN: u64 = 777;

/// The all-zero header of the current header version, whatever its fields.
fn zero_header() -> Header {
    (1..=u8::MAX)
        .find_map(|v| {
            let mut b = vec![0u8; Header::ENCODED_LEN];
            b[0] = v;
            Header::decode(&b).ok()
        })
        .unwrap()
}

/// Blocks 1..=n decided by `set`, each with one forced entry whose payload is `tag` and the
/// height (so two chains with different tags differ everywhere).
fn chain(n: u64, set: &ValidatorSet, tag: u8) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    for height in 1..=n {
        let body = Body::from_entries(vec![NamespaceEntries {
            namespace: 5,
            entries: vec![Entry::Forced(ForcedTransaction {
                inbox_index: height - 1,
                sender: Address::repeat_byte(tag),
                payload: vec![tag; 40 + height as usize].into(),
            })],
        }])
        .unwrap();
        let mut header = zero_header();
        header.chain_id = ORDO_CHAIN;
        header.height = height;
        header.timestamp_ms = 1_750_000_000_000 + height * 200;
        header.parent_hash = blocks.last().map_or(B256::ZERO, Block::hash);
        header.proposer = set.validators()[0].address;
        header.validators_hash = set.hash();
        header.next_validators_hash = set.hash();
        header.inbox_cursor = height;
        header.tx_count = body.tx_count().unwrap();
        header.namespace_root = body.namespace_root();
        let block = Block { header, body };
        block.check_commitments().unwrap();
        blocks.push(block);
    }
    blocks
}

#[test]
fn frames_fit_blobs_and_come_back_out() {
    for len in [
        1,
        1000,
        ordo_l1::da::BLOB_DATA_BYTES - 31,
        MAX_BLOB_FRAME_LEN,
    ] {
        let frame: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let sidecar = blob_sidecar(&frame).unwrap();
        assert_eq!(sidecar.blobs.len(), blobs_for(len), "{len} bytes");
        assert_eq!(frame_from_blobs(&sidecar.blobs).unwrap(), frame);
        for (blob, hash) in sidecar.blobs.iter().zip(sidecar.versioned_hashes()) {
            assert_eq!(
                ordo_l1::da::blob_versioned_hash(blob.as_slice()).unwrap(),
                hash
            );
        }
    }
    assert!(blob_sidecar(&vec![0u8; MAX_BLOB_FRAME_LEN + 1]).is_err());
    assert!(blob_sidecar(&[]).is_err());
}

#[tokio::test]
async fn a_batch_posted_in_blobs_and_calldata_reads_back_and_forgeries_are_ignored() {
    let Deployed {
        anvil: _anvil,
        endpoint,
        deployer,
        committee_keys,
        set,
        deployment,
    } = deployed().await;

    // The chain, and the light client certifying its last block.
    let blocks = chain(6, &set, 0xaa);
    let end_hash = blocks[5].hash();
    let signers = by_address(&committee_keys);
    let cert = certificate(ORDO_CHAIN, 6, 0, end_hash, &signers[..3]);
    LightClientRelay::new(&endpoint, deployer.clone(), deployment.light_client)
        .unwrap()
        .submit_block(&cert, &set)
        .await
        .unwrap();

    let provider = wallet_provider(&endpoint, deployer.clone());
    let inbox = BatchInbox::new(deployment.batch_inbox, provider.clone());

    // A forged batch for the certified range: other blocks, same (start, end, endHash). The
    // contract cannot tell; the reader must.
    let forged = encode_batch(&chain(6, &set, 0xbb), Codec::Brotli).unwrap();
    for frame in forged.frames(64 * 1024).unwrap() {
        let receipt = inbox
            .postCalldata(1, 6, end_hash, Bytes::from(frame.encode()))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
    }

    // The real batch in two frames: the first in a blob, the second in calldata.
    let batch = encode_batch(&blocks, Codec::Brotli).unwrap();
    let half = FRAME_HEADER_LEN + batch.data.len().div_ceil(2);
    let frames = batch.frames(half).unwrap();
    assert_eq!(frames.len(), 2);
    let receipt = inbox
        .post(1, 6, end_hash)
        .sidecar_7594(blob_sidecar(&frames[0].encode()).unwrap())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert!(
        receipt.blob_gas_used.unwrap_or_default() > 0,
        "a blob transaction"
    );
    let receipt = inbox
        .postCalldata(1, 6, end_hash, Bytes::from(frames[1].encode()))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());

    // An uncertified range is refused by the contract (checked with eth_call).
    let err = inbox
        .postCalldata(1, 7, end_hash, Bytes::from(frames[1].encode()))
        .call()
        .await
        .map(|_| ())
        .map_err(ordo_l1::L1Error::from)
        .expect_err("height 7 is not certified");
    assert!(matches!(
        err.decode_revert::<BatchInbox::BatchInboxErrors>(),
        Some(BatchInbox::BatchInboxErrors::NotCertified(_))
    ));

    // The reader, from the deployment block, with the L1 node as blob source.
    let mut reader = DaReader::new(
        &endpoint,
        deployment.batch_inbox,
        deployment.deployment_block,
        0,
        vec![BlobSource::Rpc(endpoint.clone())],
        true,
    )
    .unwrap();
    let read = reader.poll().await.unwrap();
    assert_eq!(
        read, blocks,
        "exactly the posted blocks, the forgery ignored"
    );
    assert_eq!(reader.chain().tip(), (6, end_hash));
    // Nothing new: nothing more.
    assert!(reader.poll().await.unwrap().is_empty());
    // The same posts seen by a batcher's chain (hashes only).
    let mut hashes_only = DaChain::new(false);
    let posts = reader
        .posts(
            deployment.deployment_block,
            provider.get_block_number().await.unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(posts.len(), forged.frames(64 * 1024).unwrap().len() + 2);
    for post in &posts {
        let bytes = ordo_l1::da::frame_of(post, &[BlobSource::Rpc(endpoint.clone())])
            .await
            .unwrap();
        hashes_only.add(post, &bytes);
    }
    assert!(hashes_only.advance().is_empty());
    assert_eq!(hashes_only.tip(), (6, end_hash));
}

/// An Anvil L1 with Ordo's contracts deployed for a committee of four (`keys(1, 4)`, power 10).
struct Deployed {
    anvil: alloy::node_bindings::AnvilInstance,
    endpoint: String,
    deployer: PrivateKeySigner,
    committee_keys: Vec<SecretKey>,
    set: ValidatorSet,
    deployment: ordo_l1::Deployment,
}

async fn deployed() -> Deployed {
    let anvil = spawn_anvil().expect("anvil (run `npm ci` in the repository root)");
    let endpoint = anvil.endpoint();
    let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let committee_keys: Vec<SecretKey> = keys(1, 4);
    let set = set_of(&committee_keys, 10);
    let params = DeployParams::devnet(ORDO_CHAIN, &set, deployer.address());
    let deployment = deploy(&endpoint, deployer.clone(), &params).await.unwrap();
    Deployed {
        anvil,
        endpoint,
        deployer,
        committee_keys,
        set,
        deployment,
    }
}

/// The batcher's settings for `deployment`, posting without waiting for confirmations.
fn batcher_config(endpoint: &str, deployment: &ordo_l1::Deployment) -> ordo_l1::BatcherConfig {
    let mut config = ordo_l1::BatcherConfig::new(
        endpoint,
        deployment.batch_inbox,
        deployment.light_client,
        deployment.deployment_block,
    );
    config.confirmations = 0;
    config
}

/// A chain source for the batcher: blocks in memory, certificates signed by the test keys.
#[derive(Clone)]
struct Source {
    blocks: std::sync::Arc<std::sync::Mutex<Vec<Block>>>,
    keys: Vec<SecretKey>,
    set: ValidatorSet,
    /// From this height on, another committee (its keys and set) decides.
    rotated: Option<(u64, Vec<SecretKey>, ValidatorSet)>,
}

impl Source {
    fn new(blocks: Vec<Block>, keys: Vec<SecretKey>, set: ValidatorSet) -> Self {
        Source {
            blocks: std::sync::Arc::new(std::sync::Mutex::new(blocks)),
            keys,
            set,
            rotated: None,
        }
    }
}

impl ordo_l1::ChainSource for Source {
    async fn tip(&self) -> Result<u64, ordo_l1::L1Error> {
        Ok(self.blocks.lock().unwrap().len() as u64)
    }

    async fn block(&self, height: u64) -> Result<Block, ordo_l1::L1Error> {
        let blocks = self.blocks.lock().unwrap();
        blocks
            .get(height as usize - 1)
            .cloned()
            .ok_or_else(|| ordo_l1::L1Error::Node(format!("no block {height}")))
    }

    async fn certified(
        &self,
        height: u64,
    ) -> Result<(Header, ordo_types::CommitCertificate, ValidatorSet), ordo_l1::L1Error> {
        let block = self.block(height).await?;
        let (keys, set) = match &self.rotated {
            Some((from, keys, set)) if height >= *from => (keys, set),
            _ => (&self.keys, &self.set),
        };
        let signers = by_address(keys);
        let cert = certificate(ORDO_CHAIN, height, 0, block.hash(), &signers[..3]);
        Ok((block.header, cert, set.clone()))
    }
}

/// The blocks a fresh reader of the deployment rebuilds from the L1 alone.
async fn rebuild(endpoint: &str, deployment: &ordo_l1::Deployment) -> Vec<Block> {
    rebuild_from(
        endpoint,
        deployment,
        vec![BlobSource::Rpc(endpoint.to_owned())],
    )
    .await
}

/// Runs `batcher`'s passes until the L1 holds its posts up to `height` (its posts are in
/// flight until then).
async fn until_up_to_date<S: ordo_l1::ChainSource>(batcher: &mut ordo_l1::Batcher<S>, height: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while batcher.pass().await.unwrap() != (ordo_l1::Pass::UpToDate { height }) {
        assert!(Instant::now() < deadline, "the L1 never held {height}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The same, taking blobs from `sources`.
async fn rebuild_from(
    endpoint: &str,
    deployment: &ordo_l1::Deployment,
    sources: Vec<BlobSource>,
) -> Vec<Block> {
    let mut reader = DaReader::new(
        endpoint,
        deployment.batch_inbox,
        deployment.deployment_block,
        0,
        sources,
        true,
    )
    .unwrap();
    reader.poll().await.unwrap()
}

#[tokio::test]
async fn the_batcher_certifies_posts_resumes_and_reposts_after_a_reorg() {
    let Deployed {
        anvil,
        endpoint,
        deployer,
        committee_keys,
        set,
        deployment,
    } = deployed().await;
    let poster = PrivateKeySigner::from(anvil.keys()[1].clone());
    let all = chain(30, &set, 0xcc);
    let source = Source::new(all[..12].to_vec(), committee_keys.clone(), set.clone());
    let mut config = batcher_config(&endpoint, &deployment);
    config.max_blocks = 5;
    let new_batcher = |config: ordo_l1::BatcherConfig| {
        ordo_l1::Batcher::new(config, poster.clone(), source.clone()).unwrap()
    };

    // Three passes post 1..=5, 6..=10 and 11..=12 in blobs; the batcher certified each end.
    let mut batcher = new_batcher(config.clone());
    let mut posted = Vec::new();
    loop {
        match batcher.pass().await.unwrap() {
            ordo_l1::Pass::Posted {
                start,
                end,
                frames,
                mode,
            } => {
                assert_eq!((frames, mode), (1, ordo_l1::PostMode::Blobs));
                posted.push((start, end));
            }
            // Below 12 the last post is in flight: the L1 does not hold it yet.
            ordo_l1::Pass::UpToDate { height } => {
                assert!(height <= 12, "{height}");
                break;
            }
            pending @ ordo_l1::Pass::Pending { .. } => panic!("nothing is pending: {pending:?}"),
        }
    }
    until_up_to_date(&mut batcher, 12).await;
    assert_eq!(posted, [(1, 5), (6, 10), (11, 12)]);
    assert_eq!(rebuild(&endpoint, &deployment).await, all[..12]);
    // Each range took one L1 transaction, which certified its end too.
    let light_client =
        LightClientRelay::new(&endpoint, poster.clone(), deployment.light_client).unwrap();
    for height in [5, 10, 12] {
        assert_eq!(
            light_client.block_hash_at(height).await.unwrap(),
            all[height as usize - 1].hash()
        );
    }
    // A beacon node's blob route gives the same chain (Anvil serves one; its blobs are checked
    // against the posted versioned hashes); one that is down is passed over for the next
    // source, and with no other source the posts wait.
    let beacon = |url: &str| BlobSource::Beacon {
        url: url.to_owned(),
        execution: endpoint.clone(),
    };
    assert_eq!(
        rebuild_from(&endpoint, &deployment, vec![beacon(&endpoint)]).await,
        all[..12]
    );
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    assert_eq!(
        rebuild_from(
            &endpoint,
            &deployment,
            BlobSource::l1(&endpoint, Some(&down))
        )
        .await,
        all[..12]
    );
    assert_eq!(
        rebuild_from(&endpoint, &deployment, vec![beacon(&down)]).await,
        []
    );
    assert_eq!(
        wallet_provider(&endpoint, poster.clone())
            .get_transaction_count(poster.address())
            .await
            .unwrap(),
        3
    );
    let metrics = batcher.metrics();
    assert_eq!(
        metrics
            .posted_height
            .load(std::sync::atomic::Ordering::Relaxed),
        12
    );
    assert_eq!(
        metrics
            .posted_blobs
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    assert!(metrics.render().contains("ordo_batcher_posted_height 12\n"));

    // A restarted batcher (a new instance, nothing in memory) finds everything posted.
    let mut restarted = new_batcher(config.clone());
    assert_eq!(
        restarted.pass().await.unwrap(),
        ordo_l1::Pass::UpToDate { height: 12 }
    );

    // A crash between the frames of a batch: frame 0 of 13..=20 is on the L1, frame 1 is not.
    // The batcher does not count the range and posts it whole (as calldata, forced here).
    source
        .blocks
        .lock()
        .unwrap()
        .extend_from_slice(&all[12..20]);
    let partial = encode_batch(&all[12..20], Codec::Brotli).unwrap();
    let frames = partial
        .frames(FRAME_HEADER_LEN + partial.data.len() / 2 + 1)
        .unwrap();
    assert_eq!(frames.len(), 2);
    let signers = by_address(&committee_keys);
    LightClientRelay::new(&endpoint, deployer.clone(), deployment.light_client)
        .unwrap()
        .submit_block(
            &certificate(ORDO_CHAIN, 20, 0, all[19].hash(), &signers[..3]),
            &set,
        )
        .await
        .unwrap();
    let provider = wallet_provider(&endpoint, poster.clone());
    BatchInbox::new(deployment.batch_inbox, provider.clone())
        .postCalldata(13, 20, all[19].hash(), Bytes::from(frames[0].encode()))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let mut calldata = config.clone();
    calldata.mode = Some(ordo_l1::PostMode::Calldata);
    calldata.max_blocks = 100;
    let mut batcher = new_batcher(calldata);
    assert_eq!(
        batcher.pass().await.unwrap(),
        ordo_l1::Pass::Posted {
            start: 13,
            end: 20,
            frames: 1,
            mode: ordo_l1::PostMode::Calldata
        }
    );
    until_up_to_date(&mut batcher, 20).await;
    assert_eq!(rebuild(&endpoint, &deployment).await, all[..20]);

    // An L1 reorg drops the next posts: the batcher notices on its next pass and posts again
    // (it reads posts above its confirmation depth again on every pass; Anvil mines a block
    // per transaction here, so the depth is 10 blocks).
    source
        .blocks
        .lock()
        .unwrap()
        .extend_from_slice(&all[20..30]);
    let snapshot: alloy::primitives::U256 = provider
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    let mut batcher = new_batcher(ordo_l1::BatcherConfig {
        confirmations: 10,
        ..config.clone()
    });
    let first = batcher.pass().await.unwrap();
    assert_eq!(
        first,
        ordo_l1::Pass::Posted {
            start: 21,
            end: 25,
            frames: 1,
            mode: ordo_l1::PostMode::Blobs
        }
    );
    until_up_to_date(&mut batcher, 30).await;
    let reverted: bool = provider
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    // Mine past the reverted height so the chain is really another one.
    let _: serde_json::Value = provider
        .raw_request("anvil_mine".into(), (3u64,))
        .await
        .unwrap();
    assert_eq!(
        rebuild(&endpoint, &deployment).await,
        all[..20],
        "the posts are gone"
    );
    let mut posted = Vec::new();
    while let ordo_l1::Pass::Posted { start, end, .. } = batcher.pass().await.unwrap() {
        posted.push((start, end));
    }
    assert_eq!(
        posted,
        [(21, 25), (26, 30)],
        "the dropped ranges are posted again"
    );
    until_up_to_date(&mut batcher, 30).await;
    assert_eq!(rebuild(&endpoint, &deployment).await, all);
}

#[tokio::test]
async fn a_two_mib_block_is_posted_across_several_blob_transactions_and_rebuilt_exactly() {
    let Deployed {
        anvil,
        endpoint,
        deployer: _,
        committee_keys,
        set,
        deployment,
    } = deployed().await;

    // Block 1 small, block 2 holding 2 MiB of incompressible forced payloads.
    let mut blocks = chain(1, &set, 0xdd);
    let mut seed = [9u8; 32];
    let entries: Vec<Entry> = (0..16u64)
        .map(|i| {
            let mut payload = Vec::with_capacity(128 << 10);
            while payload.len() < 128 << 10 {
                seed = ordo_types::keccak256(seed).0;
                payload.extend_from_slice(&seed);
            }
            Entry::Forced(ForcedTransaction {
                inbox_index: 1 + i,
                sender: Address::repeat_byte(0xdd),
                payload: payload.into(),
            })
        })
        .collect();
    let body = Body::from_entries(vec![NamespaceEntries {
        namespace: 5,
        entries,
    }])
    .unwrap();
    let mut header = blocks[0].header.clone();
    header.height = 2;
    header.parent_hash = blocks[0].hash();
    header.timestamp_ms += 200;
    header.inbox_cursor = 17;
    header.tx_count = body.tx_count().unwrap();
    header.namespace_root = body.namespace_root();
    header.bundle_root = body.bundle_root();
    let big = Block { header, body };
    big.check_commitments().unwrap();
    assert!(ordo_types::Encode::encoded_len(&big) >= 2 << 20);
    blocks.push(big);

    let source = Source::new(blocks.clone(), committee_keys, set);
    let mut config = batcher_config(&endpoint, &deployment);
    config.mode = Some(ordo_l1::PostMode::Blobs);
    let archive = tempfile::tempdir().unwrap();
    config.blob_archive = Some(archive.path().to_owned());
    let poster = PrivateKeySigner::from(anvil.keys()[1].clone());
    let mut batcher = ordo_l1::Batcher::new(config, poster, source).unwrap();
    let pass = batcher.pass().await.unwrap();
    assert_eq!(
        pass,
        ordo_l1::Pass::Posted {
            start: 1,
            end: 2,
            frames: 3,
            mode: ordo_l1::PostMode::Blobs
        }
    );
    let blobs = batcher
        .metrics()
        .posted_blobs
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(blobs >= 17, "{blobs} blobs for 2 MiB");
    until_up_to_date(&mut batcher, 2).await;
    assert_eq!(rebuild(&endpoint, &deployment).await, blocks);

    // The archive alone (as after the L1 pruned its blobs) rebuilds the same; a blob changed
    // in the archive fails its versioned hash and is not used.
    let from_archive = |dir: std::path::PathBuf| {
        DaReader::new(
            &endpoint,
            deployment.batch_inbox,
            deployment.deployment_block,
            0,
            vec![BlobSource::Directory(dir)],
            true,
        )
        .unwrap()
    };
    let mut reader = from_archive(archive.path().to_owned());
    assert_eq!(reader.poll().await.unwrap(), blocks);
    // The same archive over HTTP (a minimal file server), through `BlobSource::parse`.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/blobs/", listener.local_addr().unwrap());
    let served = archive.path().to_owned();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = vec![0u8; 4096];
            let n = socket.read(&mut request).await.unwrap_or(0);
            let line = String::from_utf8_lossy(&request[..n]).to_string();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let name = path.trim_start_matches("/blobs/");
            let reply = match std::fs::read(served.join(name)) {
                Ok(body) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body);
                    r
                }
                Err(_) => {
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_vec()
                }
            };
            let _ = socket.write_all(&reply).await;
        }
    });
    let source = BlobSource::parse(&base);
    assert!(matches!(source, BlobSource::Url(_)));
    let mut reader = DaReader::new(
        &endpoint,
        deployment.batch_inbox,
        deployment.deployment_block,
        0,
        vec![source],
        true,
    )
    .unwrap();
    assert_eq!(reader.poll().await.unwrap(), blocks);
    server.abort();
    let file = std::fs::read_dir(archive.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let mut reader = from_archive(archive.path().to_owned());
    assert!(reader.poll().await.unwrap().is_empty());
    assert_eq!(reader.chain().tip().0, 0, "a changed blob is not used");
}

#[tokio::test]
async fn a_post_whose_blobs_nobody_archived_does_not_hold_up_the_rebuild() {
    let Deployed {
        anvil,
        endpoint,
        deployer,
        committee_keys,
        set,
        deployment,
    } = deployed().await;
    let blocks = chain(3, &set, 0x55);
    let signers = by_address(&committee_keys);
    LightClientRelay::new(&endpoint, deployer.clone(), deployment.light_client)
        .unwrap()
        .submit_block(
            &certificate(ORDO_CHAIN, 3, 0, blocks[2].hash(), &signers[..3]),
            &set,
        )
        .await
        .unwrap();
    // Junk in a blob, for the certified range, posted first and archived by nobody.
    let provider = wallet_provider(&endpoint, deployer.clone());
    let receipt = BatchInbox::new(deployment.batch_inbox, provider)
        .post(1, 3, blocks[2].hash())
        .sidecar_7594(blob_sidecar(b"junk").unwrap())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    // The batcher posts and archives the real batch.
    let archive = tempfile::tempdir().unwrap();
    let mut config = batcher_config(&endpoint, &deployment);
    config.mode = Some(ordo_l1::PostMode::Blobs);
    config.blob_archive = Some(archive.path().to_owned());
    let source = Source::new(blocks.clone(), committee_keys, set);
    let poster = PrivateKeySigner::from(anvil.keys()[1].clone());
    let mut batcher = ordo_l1::Batcher::new(config, poster, source).unwrap();
    assert!(matches!(
        batcher.pass().await.unwrap(),
        ordo_l1::Pass::Posted {
            start: 1,
            end: 3,
            ..
        }
    ));
    until_up_to_date(&mut batcher, 3).await;
    // From the archive alone: the junk post's blobs are nowhere, the real batch rebuilds.
    let mut reader = DaReader::new(
        &endpoint,
        deployment.batch_inbox,
        deployment.deployment_block,
        0,
        vec![BlobSource::Directory(archive.path().to_owned())],
        true,
    )
    .unwrap();
    assert_eq!(reader.poll().await.unwrap(), blocks);
}

/// Figures for docs/DA.md: how fast a rebuild reads 100,000 EVM transfers back from a local
/// L1 (logs, blobs with their KZG check, decompression, every header recomputed and chained).
/// `cargo test --release -p ordo-l1 --test it da::bench_rebuild_rate -- --ignored --nocapture`
#[tokio::test]
#[ignore = "benchmark: run explicitly"]
async fn bench_rebuild_rate() {
    let Deployed {
        anvil,
        endpoint,
        deployer: _,
        committee_keys,
        set,
        deployment,
    } = deployed().await;

    const BLOCKS: u64 = 100;
    const PER_BLOCK: u64 = 1000;
    let senders: Vec<SecretKey> = (0..2000u32)
        .map(|i| SecretKey::from_bytes(&ordo_types::keccak256(i.to_be_bytes()).0).unwrap())
        .collect();
    let mut nonces = vec![0u64; senders.len()];
    let mut blocks: Vec<Block> = Vec::new();
    let started = std::time::Instant::now();
    for height in 1..=BLOCKS {
        let entries: Vec<Entry> = (0..PER_BLOCK)
            .map(|i| {
                let s = ((height * PER_BLOCK + i) * 7919 % senders.len() as u64) as usize;
                let to = Address::from_slice(
                    &ordo_types::keccak256(((height * PER_BLOCK + i) % 5000).to_be_bytes())[12..],
                );
                let tx = alloy::consensus::TxEip1559 {
                    chain_id: 901,
                    nonce: nonces[s],
                    gas_limit: 21_000,
                    max_fee_per_gas: 1_000_000_000,
                    max_priority_fee_per_gas: 1_000_000,
                    to: alloy::primitives::TxKind::Call(to),
                    value: U256::from((i % 1000 + 1) * 1_000_000_000_000_000),
                    ..Default::default()
                };
                nonces[s] += 1;
                let raw = ordo_types::EthereumTx::sign(tx.into(), &senders[s]);
                Entry::Signed(ordo_types::Transaction::ethereum(901, raw).unwrap())
            })
            .collect();
        let body = Body::from_entries(vec![NamespaceEntries {
            namespace: 901,
            entries,
        }])
        .unwrap();
        let mut header = zero_header();
        header.chain_id = ORDO_CHAIN;
        header.height = height;
        header.timestamp_ms = 1_750_000_000_000 + height * 200;
        header.parent_hash = blocks.last().map_or(B256::ZERO, Block::hash);
        header.proposer = set.validators()[(height % 4) as usize].address;
        header.validators_hash = set.hash();
        header.next_validators_hash = set.hash();
        header.tx_count = body.tx_count().unwrap();
        header.namespace_root = body.namespace_root();
        header.bundle_root = body.bundle_root();
        blocks.push(Block { header, body });
    }
    eprintln!(
        "signed {} transfers in {:?}",
        BLOCKS * PER_BLOCK,
        started.elapsed()
    );
    let source = Source::new(blocks.clone(), committee_keys, set);
    let mut config = batcher_config(&endpoint, &deployment);
    config.max_blocks = BLOCKS;
    config.mode = Some(ordo_l1::PostMode::Blobs);
    let poster = PrivateKeySigner::from(anvil.keys()[1].clone());
    let mut batcher = ordo_l1::Batcher::new(config, poster, source).unwrap();
    let started = std::time::Instant::now();
    let pass = batcher.pass().await.unwrap();
    let metrics = batcher.metrics();
    let blobs = metrics
        .posted_blobs
        .load(std::sync::atomic::Ordering::Relaxed);
    let bytes = metrics
        .posted_bytes
        .load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "posted {pass:?} in {:?}: {bytes} bytes, {blobs} blobs, {:.1} B/transfer, {:.3} blobs/1000 transfers",
        started.elapsed(),
        bytes as f64 / (BLOCKS * PER_BLOCK) as f64,
        blobs as f64 * 1000.0 / (BLOCKS * PER_BLOCK) as f64
    );
    let started = std::time::Instant::now();
    let rebuilt = rebuild(&endpoint, &deployment).await;
    let elapsed = started.elapsed();
    assert_eq!(rebuilt, blocks);
    eprintln!(
        "rebuilt {} blocks, {} transfers from the L1 in {elapsed:?}: {:.0} tx/s",
        rebuilt.len(),
        BLOCKS * PER_BLOCK,
        (BLOCKS * PER_BLOCK) as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test]
async fn posts_are_pipelined_and_those_the_l1_drops_are_posted_again() {
    let Deployed {
        anvil,
        endpoint,
        deployer,
        committee_keys,
        set,
        deployment,
    } = deployed().await;
    let blocks = chain(6, &set, 0xab);
    let source = Source::new(blocks[..3].to_vec(), committee_keys, set);
    let mut config = batcher_config(&endpoint, &deployment);
    config.mode = Some(ordo_l1::PostMode::Blobs);
    let poster = PrivateKeySigner::from(anvil.keys()[1].clone());
    let mut batcher = ordo_l1::Batcher::new(config, poster.clone(), source.clone()).unwrap();

    // The L1 does not mine: a second range goes out behind the first, both in the pool.
    let provider = wallet_provider(&endpoint, deployer.clone());
    let _: serde_json::Value = provider
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let posted = |start, end| ordo_l1::Pass::Posted {
        start,
        end,
        frames: 1,
        mode: ordo_l1::PostMode::Blobs,
    };
    assert_eq!(batcher.pass().await.unwrap(), posted(1, 3));
    source
        .blocks
        .lock()
        .unwrap()
        .extend_from_slice(&blocks[3..]);
    assert_eq!(batcher.pass().await.unwrap(), posted(4, 6));
    let count = |tag: alloy::eips::BlockNumberOrTag| {
        let provider = provider.clone();
        let account = poster.address();
        async move {
            provider
                .get_transaction_count(account)
                .block_id(tag.into())
                .await
                .unwrap()
        }
    };
    assert_eq!(count(alloy::eips::BlockNumberOrTag::Pending).await, 2);

    // The pool loses both: the batcher forgets them and posts the whole range again.
    let _: serde_json::Value = provider
        .raw_request("anvil_dropAllTransactions".into(), ())
        .await
        .unwrap();
    assert_eq!(count(alloy::eips::BlockNumberOrTag::Pending).await, 0);
    assert_eq!(batcher.pass().await.unwrap(), posted(1, 6));
    let _: serde_json::Value = provider
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .unwrap();
    let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await.unwrap();
    until_up_to_date(&mut batcher, 6).await;
    assert_eq!(rebuild(&endpoint, &deployment).await, blocks);
    assert_eq!(count(alloy::eips::BlockNumberOrTag::Latest).await, 1);
}

#[tokio::test]
async fn a_stuck_post_is_replaced_with_higher_fees() {
    let Deployed {
        anvil,
        endpoint,
        deployer,
        committee_keys,
        set,
        deployment,
    } = deployed().await;
    let blocks = chain(3, &set, 0xee);
    let signers = by_address(&committee_keys);
    LightClientRelay::new(&endpoint, deployer.clone(), deployment.light_client)
        .unwrap()
        .submit_block(
            &certificate(ORDO_CHAIN, 3, 0, blocks[2].hash(), &signers[..3]),
            &set,
        )
        .await
        .unwrap();

    // The L1 stops mining: the post sits in the pool past `stuck_after`.
    let provider = wallet_provider(&endpoint, deployer.clone());
    let _: serde_json::Value = provider
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let source = Source::new(blocks.clone(), committee_keys, set);
    let mut config = batcher_config(&endpoint, &deployment);
    config.mode = Some(ordo_l1::PostMode::Blobs);
    config.stuck_after = Duration::from_secs(1);
    let poster = PrivateKeySigner::from(anvil.keys()[1].clone());
    let mut batcher = ordo_l1::Batcher::new(config, poster.clone(), source).unwrap();
    let metrics = batcher.metrics();
    // Mining resumes once the batcher has replaced its transaction.
    let miner = {
        let provider = provider.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while metrics
                .replacements
                .load(std::sync::atomic::Ordering::Relaxed)
                == 0
            {
                assert!(Instant::now() < deadline, "no replacement within 60 s");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // Let the replacement reach the pool, then mine.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await.unwrap();
            let _: serde_json::Value = provider
                .raw_request("evm_setAutomine".into(), (true,))
                .await
                .unwrap();
        })
    };
    let pass = batcher.pass().await.unwrap();
    assert_eq!(
        pass,
        ordo_l1::Pass::Posted {
            start: 1,
            end: 3,
            frames: 1,
            mode: ordo_l1::PostMode::Blobs
        }
    );
    // Later passes wait for it (nothing new to post), replace it once stuck, and see it land.
    let deadline = Instant::now() + Duration::from_secs(60);
    while metrics
        .transactions
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        assert!(Instant::now() < deadline, "the post never landed");
        assert!(matches!(
            batcher.pass().await.unwrap(),
            ordo_l1::Pass::UpToDate { .. }
        ));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    miner.await.unwrap();
    assert!(
        metrics
            .replacements
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    // One post on the L1 (the replacement), and the chain reads back.
    let reader = DaReader::new(
        &endpoint,
        deployment.batch_inbox,
        deployment.deployment_block,
        0,
        vec![],
        true,
    )
    .unwrap();
    let head = provider.get_block_number().await.unwrap();
    let posts = reader
        .posts(deployment.deployment_block, head)
        .await
        .unwrap();
    assert_eq!(posts.len(), 1);
    assert_eq!(rebuild(&endpoint, &deployment).await, blocks);
}

#[tokio::test]
async fn the_batcher_rotates_the_light_client_to_certify_a_range_a_new_committee_decided() {
    let anvil = spawn_anvil().expect("anvil (run `npm ci` in the repository root)");
    let endpoint = anvil.endpoint();
    let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let old_keys: Vec<SecretKey> = keys(1, 4);
    let old = set_of(&old_keys, 10);
    let new_keys: Vec<SecretKey> = keys(11, 4);
    let new = set_of(&new_keys, 10);
    let params = DeployParams::devnet(ORDO_CHAIN, &old, deployer.address());
    let deployment = deploy(&endpoint, deployer.clone(), &params).await.unwrap();
    // Blocks 1..=6: block 3 announces the new committee, which decides 4..=6.
    let mut blocks = chain(6, &old, 0x77);
    for i in 0..6 {
        if i == 2 {
            blocks[i].header.next_validators_hash = new.hash();
        }
        if i >= 3 {
            blocks[i].header.validators_hash = new.hash();
            blocks[i].header.next_validators_hash = new.hash();
        }
        if i > 0 {
            blocks[i].header.parent_hash = blocks[i - 1].hash();
        }
    }
    let source = Source {
        rotated: Some((4, new_keys, new.clone())),
        ..Source::new(blocks.clone(), old_keys, old)
    };
    let config = batcher_config(&endpoint, &deployment);
    let poster = PrivateKeySigner::from(anvil.keys()[1].clone());
    let mut batcher = ordo_l1::Batcher::new(config, poster, source).unwrap();
    assert!(matches!(
        batcher.pass().await.unwrap(),
        ordo_l1::Pass::Posted {
            start: 1,
            end: 6,
            ..
        }
    ));
    let relay = LightClientRelay::new(&endpoint, deployer, deployment.light_client).unwrap();
    let state = relay.state().await.unwrap();
    assert_eq!(
        (state.committee_hash, state.rotation_height),
        (new.hash(), 3)
    );
    assert_eq!(relay.block_hash_at(6).await.unwrap(), blocks[5].hash());
    // The post itself may still be in flight.
    until_up_to_date(&mut batcher, 6).await;
    assert_eq!(rebuild(&endpoint, &deployment).await, blocks);
}

#[tokio::test]
async fn ranges_behind_a_light_client_another_relay_rotated_end_where_it_holds_hashes() {
    let anvil = spawn_anvil().expect("anvil (run `npm ci` in the repository root)");
    let endpoint = anvil.endpoint();
    let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let old_keys: Vec<SecretKey> = keys(1, 4);
    let old = set_of(&old_keys, 10);
    let new_keys: Vec<SecretKey> = keys(11, 4);
    let new = set_of(&new_keys, 10);
    let params = DeployParams::devnet(ORDO_CHAIN, &old, deployer.address());
    let deployment = deploy(&endpoint, deployer.clone(), &params).await.unwrap();
    let mut blocks = chain(6, &old, 0x66);
    for i in 0..6 {
        if i == 2 {
            blocks[i].header.next_validators_hash = new.hash();
        }
        if i >= 3 {
            blocks[i].header.validators_hash = new.hash();
            blocks[i].header.next_validators_hash = new.hash();
        }
        if i > 0 {
            blocks[i].header.parent_hash = blocks[i - 1].hash();
        }
    }
    // Another relay already rotated the light client at height 3: heights 1 and 2 can no
    // longer be certified.
    let relay = LightClientRelay::new(&endpoint, deployer, deployment.light_client).unwrap();
    let signers = by_address(&old_keys);
    relay
        .rotate(
            &blocks[2].header,
            &certificate(ORDO_CHAIN, 3, 0, blocks[2].hash(), &signers[..3]),
            &old,
            &new,
        )
        .await
        .unwrap();
    let source = Source {
        rotated: Some((4, new_keys, new)),
        ..Source::new(blocks.clone(), old_keys, old)
    };
    let mut config = batcher_config(&endpoint, &deployment);
    config.max_blocks = 2;
    let poster = PrivateKeySigner::from(anvil.keys()[1].clone());
    let mut batcher = ordo_l1::Batcher::new(config, poster, source).unwrap();
    let mut posted = Vec::new();
    while let ordo_l1::Pass::Posted { start, end, .. } = batcher.pass().await.unwrap() {
        posted.push((start, end));
    }
    assert_eq!(posted, [(1, 3), (4, 5), (6, 6)]);
    assert_eq!(rebuild(&endpoint, &deployment).await, blocks);
}
