//! Data availability on a real Anvil: a batch posted to `BatchInbox` in a blob frame and a
//! calldata frame is read back into exactly the blocks posted; a forged batch for the same
//! certified range, posted first, is ignored; a range the light client does not hold is
//! refused by the contract.

use crate::common::{by_address, certificate, keys, set_of, wallet_provider};
use alloy::primitives::{Bytes, B256};
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
    let anvil = spawn_anvil().expect("anvil (run `npm ci` in the repository root)");
    let endpoint = anvil.endpoint();
    let deployer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let committee_keys: Vec<SecretKey> = keys(1, 4);
    let set = set_of(&committee_keys, 10);
    let params = DeployParams::devnet(ORDO_CHAIN, &set, deployer.address());
    let deployment = deploy(&endpoint, deployer.clone(), &params).await.unwrap();

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
