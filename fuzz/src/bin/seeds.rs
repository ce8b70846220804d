//! Writes the seed corpora (`fuzz/seeds/<target>/`): a few valid inputs per target, so the
//! fuzzers start from real encodings (signed transactions, blocks with proofs, consensus
//! messages, WAL entries, L1 events). It is built with the targets, as a libFuzzer binary that
//! writes the seeds when it runs its first input (`make fuzz-seeds` runs it with `-runs=1`).
//! The first byte of most seeds is the target's type selector.
#![no_main]

use std::path::{Path, PathBuf};

#[path = "seeds/batch.rs"]
mod seeds_batch;

use alloy::primitives::U256;
use alloy::sol_types::SolEvent;
use libfuzzer_sys::fuzz_target;
use ordo_fuzz::{l1, put_chunk};
use ordo_l1::{Inbox, StakeTable};
use ordo_types::{
    bucket_size, vote_digest, Address, Block, Body, Bundle, BundleTerms, Bytes, CommitCertificate,
    CommitSignature, Encode, Entry, ForcedTransaction, Header, NamespaceEntries, Sealed, SecretKey,
    Signature, SyncedBlock, Transaction, Validator, ValidatorSet, VoteType, B256, KEM_LEN, TAG_LEN,
};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("seed directory");
    std::fs::write(dir.join(name), bytes).expect("seed file");
}

fn tagged(tag: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(bytes);
    out
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_bytes(&[n; 32]).expect("a valid secret key")
}

fn bytes_field(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

struct Fixture {
    txs: Vec<Transaction>,
    forced: ForcedTransaction,
    set: ValidatorSet,
    next_set: ValidatorSet,
    block: Block,
    rotating: Block,
    cert: CommitCertificate,
}

fn fixture() -> Fixture {
    let chain_id = 7;
    let txs: Vec<Transaction> = (0..3u8)
        .map(|i| {
            let payload = Bytes::from(vec![i; usize::from(i) * 5]);
            Transaction::sign(
                1 + u64::from(i % 2),
                u64::from(i),
                payload,
                &key(i + 1),
                chain_id,
            )
        })
        .collect();
    let forced = ForcedTransaction {
        inbox_index: 0,
        sender: Address::repeat_byte(0xaa),
        payload: Bytes::from_static(b"forced"),
    };
    let set = ValidatorSet::new(
        (1..=4)
            .map(|i| Validator::new(key(i).public_key(), 10))
            .collect(),
    )
    .expect("a valid set");
    let next_set = ValidatorSet::new(
        (2..=5)
            .map(|i| Validator::new(key(i).public_key(), 7))
            .collect(),
    )
    .expect("a valid set");
    let mut body = Body::from_entries(vec![
        NamespaceEntries {
            namespace: 1,
            entries: vec![Entry::Forced(forced.clone()), Entry::Signed(txs[0].clone())],
        },
        NamespaceEntries {
            namespace: 2,
            entries: vec![Entry::Signed(txs[1].clone())],
        },
    ])
    .expect("a valid body");
    // txs[0] (namespace 1, after the forced entry) and txs[1] (namespace 2) are a bundle.
    let bundle = bundle(&txs[..2]);
    body.bundles = vec![bundle.placed(|ns| if ns == 1 { 1 } else { 0 })];
    let header = Header {
        chain_id,
        height: 5,
        epoch: 0,
        timestamp_ms: 1_700_000_000_000,
        parent_hash: B256::repeat_byte(1),
        proposer: key(1).address(),
        namespace_root: body.namespace_root(),
        tx_count: body.tx_count().expect("a small body"),
        validators_hash: set.hash(),
        next_validators_hash: set.hash(),
        l1_origin_number: 0,
        l1_origin_hash: B256::ZERO,
        inbox_cursor: 1,
        bundle_root: body.bundle_root(),
        encryption_key_hash: B256::ZERO,
    };
    let block = Block { header, body };
    let mut rotating = block.clone();
    rotating.header.next_validators_hash = next_set.hash();
    let digest = vote_digest(chain_id, 5, 0, VoteType::Precommit, Some(block.hash()));
    let mut signatures: Vec<CommitSignature> = (1..=3)
        .map(|i| CommitSignature {
            signer: key(i).address(),
            signature: key(i).sign_digest(&digest),
        })
        .collect();
    signatures.sort_by_key(|s| s.signer);
    let cert = CommitCertificate {
        height: 5,
        round: 0,
        block_hash: block.hash(),
        signatures,
    };
    Fixture {
        txs,
        forced,
        set,
        next_set,
        block,
        rotating,
        cert,
    }
}

/// A bundle of `txs`, up to height 9, the first allowed to revert.
fn bundle(txs: &[Transaction]) -> Bundle {
    let terms = BundleTerms {
        max_height: 9,
        reverting: vec![txs[0].hash()],
        ..BundleTerms::default()
    };
    Bundle::new(terms, txs.to_vec()).expect("a valid bundle")
}

fn types(dir: &Path, f: &Fixture) {
    let t = "types";
    for (i, tx) in f.txs.iter().enumerate() {
        write(dir, t, &format!("tx{i}"), &tagged(0, &tx.encode()));
    }
    write(dir, t, "forced", &tagged(1, &f.forced.encode()));
    write(
        dir,
        t,
        "entry-signed",
        &tagged(2, &Entry::Signed(f.txs[2].clone()).encode()),
    );
    write(
        dir,
        t,
        "entry-forced",
        &tagged(2, &Entry::Forced(f.forced.clone()).encode()),
    );
    write(dir, t, "header", &tagged(3, &f.block.header.encode()));
    write(dir, t, "body", &tagged(4, &f.block.body.encode()));
    write(dir, t, "block", &tagged(5, &f.block.encode()));
    let same = SyncedBlock {
        block: f.block.clone(),
        next_validators: None,
    };
    let rotating = SyncedBlock {
        block: f.rotating.clone(),
        next_validators: Some(f.next_set.clone()),
    };
    write(dir, t, "synced", &tagged(6, &same.encode()));
    write(dir, t, "synced-rotating", &tagged(6, &rotating.encode()));
    write(
        dir,
        t,
        "validator",
        &tagged(7, &f.set.validators()[0].encode()),
    );
    write(dir, t, "validator-set", &tagged(8, &f.set.encode()));
    write(
        dir,
        t,
        "proof-inclusion",
        &tagged(9, &f.block.body.proof(1).encode()),
    );
    write(
        dir,
        t,
        "proof-absence-mid",
        &tagged(9, &f.block.body.proof(1_000).encode()),
    );
    write(
        dir,
        t,
        "proof-absence-low",
        &tagged(9, &f.block.body.proof(0).encode()),
    );
    write(dir, t, "certificate", &tagged(11, &f.cert.encode()));
    write(
        dir,
        t,
        "commit-signature",
        &tagged(12, &f.cert.signatures[0].encode()),
    );
    write(
        dir,
        t,
        "signature",
        &tagged(13, &f.cert.signatures[0].signature.encode()),
    );
    write(dir, t, "bundle", &tagged(14, &bundle(&f.txs).encode()));
    write(
        dir,
        t,
        "placed-bundle",
        &tagged(15, &f.block.body.bundles[0].encode()),
    );
    let sealed = Sealed {
        key_id: 1,
        bucket: 6,
        kem: [0x11; KEM_LEN],
        dem: vec![0x22; bucket_size(6) + TAG_LEN].into(),
    };
    write(dir, t, "sealed", &tagged(16, &sealed.encode()));
    let encrypted = Transaction::sign_encrypted(1, 0, &sealed, &key(1), 7);
    write(dir, t, "tx-encrypted", &tagged(0, &encrypted.encode()));
}

fn store(dir: &Path, f: &Fixture) {
    let t = "store";
    write(dir, t, "block", &tagged(0, &f.block.encode()));
    write(dir, t, "certificate", &tagged(1, &f.cert.encode()));
    let sig: Signature = f.cert.signatures[0].signature;
    let mut proposal = vec![2];
    proposal.extend_from_slice(&2u32.to_be_bytes());
    proposal.extend_from_slice(&1u32.to_be_bytes());
    proposal.extend_from_slice(key(1).address().as_slice());
    proposal.push(1);
    proposal.extend_from_slice(&sig.0);
    proposal.push(1);
    proposal.extend_from_slice(&f.block.encode());
    write(dir, t, "proposal-signed", &proposal);
    let mut synced = vec![2];
    synced.extend_from_slice(&0u32.to_be_bytes());
    synced.extend_from_slice(&u32::MAX.to_be_bytes());
    synced.extend_from_slice(key(1).address().as_slice());
    synced.extend_from_slice(&[0, 0]);
    synced.extend_from_slice(&f.block.encode());
    write(dir, t, "proposal-synced", &synced);
    let mut committee = vec![3];
    for v in f.set.validators() {
        v.encode_to(&mut committee);
    }
    write(dir, t, "committee", &committee);
    // An opened record: one entry, namespace 1, index 0, that failed at its encapsulation.
    let mut opened = vec![4];
    opened.extend_from_slice(&1u32.to_be_bytes());
    opened.extend_from_slice(&1u64.to_be_bytes());
    opened.extend_from_slice(&0u32.to_be_bytes());
    opened.extend_from_slice(&[7; 32]);
    opened.extend_from_slice(&48u32.to_be_bytes());
    opened.extend_from_slice(&[0xab; 48]);
    opened.push(1);
    write(dir, t, "opened", &opened);
    // An extensions record that lists none (refused: none is written as no bytes), which the
    // fuzzer once found decoding to what encodes otherwise.
    write(dir, t, "extensions-empty-count", &[5, 0, 0, 0, 0]);
}

fn mempool(dir: &Path, f: &Fixture) {
    let t = "mempool";
    let batch: Vec<_> = f
        .txs
        .iter()
        .enumerate()
        .map(|(i, tx)| (tx.clone(), key(i as u8 + 1).public_key()))
        .collect();
    write(
        dir,
        t,
        "batch",
        &tagged(0, &ordo_mempool::encode_batch(&batch, 42)),
    );
    write(
        dir,
        t,
        "batch-one",
        &tagged(0, &ordo_mempool::encode_batch(&batch[..1], 0)),
    );
    write(
        dir,
        t,
        "bundle",
        &tagged(
            2,
            &ordo_mempool::encode_bundle(&bundle(&f.txs), Some("uuid"), 3),
        ),
    );
    let mut journal = vec![1];
    for (i, tx) in f.txs.iter().enumerate() {
        let mut body = key(i as u8 + 1).address().to_vec();
        tx.encode_to(&mut body);
        journal.push(1);
        journal.extend_from_slice(&(body.len() as u32).to_be_bytes());
        journal.extend_from_slice(&body);
    }
    journal.push(2);
    journal.extend_from_slice(&32u32.to_be_bytes());
    journal.extend_from_slice(f.txs[0].hash().as_slice());
    write(dir, t, "journal", &journal);
}

/// Consensus messages, laid out as docs/FORMATS.md gives them.
fn consensus(dir: &Path, f: &Fixture) {
    let t = "consensus_codec";
    let sig = f.cert.signatures[0].signature.0;
    let addr = key(1).address();
    let hash = f.block.hash();
    // A precommit for the block, without or with an extension (slot 0's shares for a block
    // without encrypted transactions: its index alone, signed apart).
    let vote = |out: &mut Vec<u8>, extension: bool| {
        out.extend_from_slice(&5u64.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.push(2);
        out.push(1);
        out.extend_from_slice(hash.as_slice());
        out.extend_from_slice(addr.as_slice());
        if extension {
            out.push(1);
            bytes_field(out, &0u32.to_be_bytes());
            out.extend_from_slice(&sig);
        } else {
            out.push(0);
        }
        out.extend_from_slice(&sig);
    };
    let mut msg_vote = vec![0];
    vote(&mut msg_vote, false);
    let mut msg_vote_extended = vec![0];
    vote(&mut msg_vote_extended, true);
    let mut msg_proposal = vec![1];
    msg_proposal.extend_from_slice(&5u64.to_be_bytes());
    msg_proposal.extend_from_slice(&1u32.to_be_bytes());
    msg_proposal.extend_from_slice(hash.as_slice());
    msg_proposal.extend_from_slice(&u32::MAX.to_be_bytes());
    msg_proposal.extend_from_slice(addr.as_slice());
    msg_proposal.extend_from_slice(&sig);
    let signed_list = |out: &mut Vec<u8>| {
        out.extend_from_slice(&(f.cert.signatures.len() as u32).to_be_bytes());
        for s in &f.cert.signatures {
            out.extend_from_slice(s.signer.as_slice());
            out.extend_from_slice(&s.signature.0);
        }
    };
    let mut polka = Vec::new();
    polka.extend_from_slice(&5u64.to_be_bytes());
    polka.extend_from_slice(&0u32.to_be_bytes());
    polka.extend_from_slice(hash.as_slice());
    signed_list(&mut polka);
    let mut round_cert = Vec::new();
    round_cert.extend_from_slice(&5u64.to_be_bytes());
    round_cert.extend_from_slice(&1u32.to_be_bytes());
    round_cert.push(1);
    round_cert.extend_from_slice(&1u32.to_be_bytes());
    round_cert.extend_from_slice(&[2, 0]);
    round_cert.extend_from_slice(addr.as_slice());
    round_cert.extend_from_slice(&sig);
    let mut init = vec![0];
    init.extend_from_slice(&5u64.to_be_bytes());
    init.extend_from_slice(&0u32.to_be_bytes());
    init.extend_from_slice(&u32::MAX.to_be_bytes());
    init.extend_from_slice(addr.as_slice());
    let mut data = vec![1];
    bytes_field(&mut data, &f.block.encode());
    let mut keys = vec![3];
    bytes_field(
        &mut keys,
        &[key(1).public_key().to_xy(), key(2).public_key().to_xy()].concat(),
    );
    let fin = tagged(2, &sig);
    let mut stream_id = Vec::new();
    stream_id.extend_from_slice(&5u64.to_be_bytes());
    stream_id.extend_from_slice(&0u32.to_be_bytes());
    stream_id.push(0);
    let stream = |seq: u64, content: &[u8]| {
        let mut out = Vec::new();
        bytes_field(&mut out, &stream_id);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(content);
        out
    };
    // An ed25519 libp2p peer id (identity multihash of the protobuf-encoded key).
    let mut peer = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
    peer.extend_from_slice(&[7u8; 32]);
    let mut status = Vec::new();
    bytes_field(&mut status, &peer);
    status.extend_from_slice(&9u64.to_be_bytes());
    status.extend_from_slice(&1u64.to_be_bytes());
    let mut proof = Vec::new();
    bytes_field(&mut proof, &key(1).public_key().to_sec1());
    bytes_field(&mut proof, &peer);
    proof.extend_from_slice(&sig);
    let mut request = vec![0];
    request.extend_from_slice(&3u64.to_be_bytes());
    request.extend_from_slice(&5u64.to_be_bytes());
    let mut response = vec![0];
    response.extend_from_slice(&5u64.to_be_bytes());
    response.extend_from_slice(&1u32.to_be_bytes());
    let synced = SyncedBlock {
        block: f.block.clone(),
        next_validators: None,
    };
    bytes_field(&mut response, &synced.encode());
    // The certificate: each precommit signature followed by its extension (none here).
    response.extend_from_slice(&5u64.to_be_bytes());
    response.extend_from_slice(&0u32.to_be_bytes());
    response.extend_from_slice(hash.as_slice());
    response.extend_from_slice(&(f.cert.signatures.len() as u32).to_be_bytes());
    for s in &f.cert.signatures {
        response.extend_from_slice(s.signer.as_slice());
        response.extend_from_slice(&s.signature.0);
        response.push(0);
    }
    let mut proposed = Vec::new();
    proposed.extend_from_slice(&5u64.to_be_bytes());
    proposed.extend_from_slice(&0u32.to_be_bytes());
    proposed.extend_from_slice(&u32::MAX.to_be_bytes());
    proposed.extend_from_slice(addr.as_slice());
    proposed.extend_from_slice(hash.as_slice());
    proposed.push(1);
    let wal = |tag: u8, payload: &[u8]| {
        let mut out = vec![tag];
        out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        out.extend_from_slice(payload);
        out
    };
    let mut timeout = vec![2, 2];
    timeout.extend_from_slice(&3i64.to_be_bytes());
    let seeds: Vec<(&str, u8, Vec<u8>)> = vec![
        ("part-init", 0, init.clone()),
        ("part-data", 0, data.clone()),
        ("part-keys", 0, keys),
        ("part-fin", 0, fin.clone()),
        ("msg-vote", 1, msg_vote.clone()),
        ("msg-vote-extended", 1, msg_vote_extended),
        ("msg-proposal", 1, msg_proposal.clone()),
        ("liveness-vote", 2, msg_vote.clone()),
        ("liveness-polka", 2, tagged(1, &polka)),
        ("liveness-round", 2, tagged(2, &round_cert)),
        ("stream-init", 3, stream(0, &tagged(0, &init))),
        ("stream-data", 3, stream(1, &tagged(0, &data))),
        ("stream-fin", 3, stream(2, &tagged(0, &fin))),
        ("stream-end", 3, stream(3, &[1])),
        ("validator-proof", 4, proof),
        ("status", 5, status),
        ("request", 6, request),
        ("response", 7, response),
        ("proposed-value", 8, proposed.clone()),
        ("polka", 9, polka.clone()),
        ("wal-vote", 10, wal(1, &msg_vote)),
        ("wal-proposal", 10, wal(1, &msg_proposal)),
        ("wal-timeout", 10, timeout),
        ("wal-proposed-value", 10, wal(4, &proposed)),
        ("wal-polka", 10, wal(8, &polka)),
    ];
    for (name, kind, bytes) in seeds {
        assert!(
            consensus_decodes(kind, &bytes),
            "consensus seed {name} does not decode"
        );
        write(dir, t, name, &tagged(kind, &bytes));
    }
}

/// Whether a consensus seed decodes as the type its selector names (the target's table).
fn consensus_decodes(kind: u8, bytes: &[u8]) -> bool {
    use malachitebft_app_channel::app::consensus::{LivenessMsg, SignedConsensusMsg};
    use malachitebft_app_channel::app::engine::wal::decode_entry;
    use malachitebft_app_channel::app::streaming::StreamMessage;
    use malachitebft_app_channel::app::types::codec::Codec;
    use malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
    use malachitebft_app_channel::app::types::sync::{Request, Response, Status};
    use malachitebft_app_channel::app::types::ProposedValue;
    use ordo_consensus::context::{OrdoContext, ProposalPart};
    use ordo_consensus::OrdoCodec;

    fn ok<T>(bytes: &[u8]) -> bool
    where
        OrdoCodec: Codec<T>,
    {
        Codec::<T>::decode(&OrdoCodec, bytes.to_vec().into()).is_ok()
    }
    match kind {
        0 => ok::<ProposalPart>(bytes),
        1 => ok::<SignedConsensusMsg<OrdoContext>>(bytes),
        2 => ok::<LivenessMsg<OrdoContext>>(bytes),
        3 => ok::<StreamMessage<ProposalPart>>(bytes),
        4 => ok::<ValidatorProof<OrdoContext>>(bytes),
        5 => ok::<Status<OrdoContext>>(bytes),
        6 => ok::<Request<OrdoContext>>(bytes),
        7 => ok::<Response<OrdoContext>>(bytes),
        8 => ok::<ProposedValue<OrdoContext>>(bytes),
        9 => ok::<PolkaCertificate<OrdoContext>>(bytes),
        _ => decode_entry::<OrdoContext, _, _>(&OrdoCodec, bytes).is_ok(),
    }
}

fn l1_logs(dir: &Path) {
    let topics = l1::event_topics();
    let log = |stake: bool, data: alloy::primitives::LogData, block: u8, index: u8| {
        let topic = data.topics()[0];
        let pick = topics
            .iter()
            .position(|t| *t == topic)
            .expect("a known event") as u8;
        let mut out = vec![u8::from(stake), pick, (data.topics().len() - 1) as u8];
        for t in &data.topics()[1..] {
            out.extend_from_slice(t.as_slice());
        }
        out.push(block);
        out.push(index);
        put_chunk(&mut out, &data.data);
        out
    };
    let forced = |index: u64, block: u8| Inbox::ForcedInclusion {
        index,
        namespace: 1,
        sender: Address::repeat_byte(0xaa),
        payload: Bytes::from_static(b"forced"),
        l1Block: u64::from(block),
        fee: U256::from(1_000u64),
    };
    let inclusion = log(false, forced(0, 3).encode_log_data(), 3, 0);
    let second = log(false, forced(1, 4).encode_log_data(), 4, 1);
    let jailed = StakeTable::Jailed {
        validator: key(1).address(),
    };
    let jailed = log(true, jailed.encode_log_data(), 4, 2);
    let updated = StakeTable::StakeUpdated {
        validator: key(2).address(),
        activeStake: U256::from(10u64).pow(U256::from(18u64)),
        selfStake: U256::from(5u64),
    };
    let updated = log(true, updated.encode_log_data(), 2, 0);
    write(dir, "l1_logs", "forced", &inclusion);
    write(
        dir,
        "l1_logs",
        "mixed",
        &[second, jailed, updated.clone(), inclusion].concat(),
    );
    write(dir, "l1_logs", "stake", &updated);
}

fn json(dir: &Path, f: &Fixture) {
    let t = "json";
    let tx = serde_json::to_vec(&f.txs[0]).expect("JSON");
    write(dir, t, "transaction", &tagged(0, &tx));
    let batch = serde_json::to_vec(&f.txs).expect("JSON");
    write(dir, t, "batch", &tagged(1, &batch));
    let rpc = br#"{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x02f86c8203858084773594008504a817c80082520894000000000000000000000000000000000000004287038d7ea4c6800080c080a0"]}"#;
    write(dir, t, "rpc", &tagged(2, rpc));
    let sig = serde_json::to_vec(&f.cert.signatures[0].signature).expect("JSON");
    write(dir, t, "signature", &tagged(3, &sig));
    let pk = serde_json::to_vec(&key(1).public_key()).expect("JSON");
    write(dir, t, "public-key", &tagged(4, &pk));
    let view = br#"{"confirmed":{"number":4,"hash":"0x0101010101010101010101010101010101010101010101010101010101010101"},"hashes":{"4":"0x0101010101010101010101010101010101010101010101010101010101010101"},"inbox":[{"index":0,"namespace":1,"sender":"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","payload":"0x6869","l1_block":3}],"stake_events":[],"last_error":null}"#;
    write(dir, t, "l1-view", &tagged(5, view));
}

fn crypto(dir: &Path) {
    // mode | digest (32) | secret (32) | adversarial choice | r (32) | s (32)
    let seed = |mode: u8, choice: u8, secret: u8| {
        let mut out = vec![mode];
        out.extend_from_slice(&[0x5a; 32]);
        out.extend_from_slice(&[secret; 32]);
        out.push(choice);
        out.extend_from_slice(&[0x33; 32]);
        out.extend_from_slice(&[0x44; 32]);
        out
    };
    write(dir, "crypto", "valid", &seed(0x80, 0, 1));
    write(dir, "crypto", "high-s", &seed(2, 0x00, 2));
    write(dir, "crypto", "flipped-byte", &seed(2, 0x10, 3));
    write(dir, "crypto", "edge-s", &seed(2, 0x24, 4));
    write(dir, "crypto", "random", &seed(3, 0xf9, 0));
    write(
        dir,
        "crypto",
        "batch",
        &[seed(0x80, 0, 5), seed(2, 0x10, 6), seed(1, 0, 7)].concat(),
    );
}

/// One of each key-generation message, from a round among four one-slot validators: an
/// announcement, a dealing with its shares sealed to the players' validators, the
/// acknowledgement a player posts for it, and the dealer's signed log; and a truncated one.
fn dkg(dir: &Path) {
    use ordo_enc::dkg::{dealing_rng, slot_key, slot_signers, Member, Message, Round};
    let secrets: Vec<[u8; 32]> = (1..=4u8).map(|i| [i; 32]).collect();
    let signers: Vec<_> = secrets.iter().map(|s| slot_signers(s, 0, 1)).collect();
    let slots: Vec<_> = signers.iter().flatten().map(slot_key).collect();
    let round = Round::new(0, slots.clone()).expect("a round");
    let mut rng = dealing_rng(&secrets[0], 0);
    let (mut dealer, dealings) = Member::start(&mut rng, &round, &signers[0]).expect("a dealer");
    let (mut player, _) = Member::start(&mut rng, &round, &signers[1]).expect("a player");
    let sealed = dealings[0].seal(&mut rng, 0, |p| {
        let i = slots.iter().position(|s| s == p)?;
        Some(key(i as u8 + 1).public_key().to_sec1())
    });
    let validator = k256::SecretKey::from_slice(&secrets[1]).expect("a key");
    let acks = player.receive_sealed(0, &sealed, &validator);
    assert_eq!(acks.len(), 1, "the player takes its share");
    dealer.receive_ack(&acks[0]);
    let log = dealer.logs().remove(0);
    let messages = [
        (
            "announce",
            Message::Announce {
                round: 0,
                slots: vec![slots[0].clone()],
            },
        ),
        (
            "deal",
            Message::Deal {
                round: 0,
                dealing: sealed,
            },
        ),
        ("ack", Message::Ack { round: 0, acks }),
        ("log", Message::Log { round: 0, log }),
    ];
    for (name, message) in &messages {
        write(dir, "dkg", name, &message.encode());
    }
    let deal = messages[1].1.encode();
    write(dir, "dkg", "deal-truncated", &deal[..deal.len() - 1]);
    // A proposer's released keys: two valid 48-byte keys.
    let (sharing, shares) = ordo_enc::deal(&mut rng, 1);
    let ids = ordo_enc::Identities::hash(&[B256::ZERO, B256::repeat_byte(1)]);
    let signed = [ordo_enc::sign_shares(&shares[0], &ids)];
    let keys = ordo_enc::combine(&sharing, &signed.iter().collect::<Vec<_>>()).expect("keys");
    let released: Vec<u8> = keys.iter().flat_map(|k| k.to_bytes()).collect();
    write(dir, "dkg", "released-keys", &released);
}

fuzz_target!(|_data: &[u8]| {
    let dir = PathBuf::from(std::env::var("ORDO_FUZZ_SEEDS").unwrap_or_else(|_| "seeds".into()));
    let f = fixture();
    types(&dir, &f);
    store(&dir, &f);
    mempool(&dir, &f);
    consensus(&dir, &f);
    l1_logs(&dir);
    json(&dir, &f);
    crypto(&dir);
    dkg(&dir);
    seeds_batch::batch(&dir, &f.block);
});
