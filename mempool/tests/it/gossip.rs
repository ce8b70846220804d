//! Gossip over real sockets on 127.0.0.1: delivery, no echo, deduplication, forwarding only what
//! the consumer accepted, strikes and bans, restarts, size limits and garbage connections.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use ordo_mempool::{Gossip, GossipConfig, GossipError, GossipEvent, Ticket};
use tokio::sync::mpsc::Receiver;
use tokio::time::{timeout, Instant};

/// How long any expected condition may take; they normally hold within a second.
const DEADLINE: Duration = Duration::from_secs(10);
/// How long to watch for an event that must not come. Absence can only be checked over a window;
/// the tests first wait for a later marker batch, so anything that would have come before it has.
const QUIET: Duration = Duration::from_millis(300);

struct Node {
    gossip: Gossip,
    events: Receiver<GossipEvent>,
    config: GossipConfig,
    key: [u8; 32],
}

impl Node {
    fn start(port: u16, peers: &[u16], key: u8) -> Node {
        Node::start_with_limit(port, peers, key, GossipConfig::default().max_message_bytes)
    }

    fn start_with_limit(port: u16, peers: &[u16], key: u8, max_message_bytes: usize) -> Node {
        let config = GossipConfig {
            listen: addr(port),
            peers: peers.iter().map(|p| addr(*p)).collect(),
            max_message_bytes,
            ..GossipConfig::default()
        };
        Node::start_config(config, [key; 32])
    }

    fn start_config(config: GossipConfig, key: [u8; 32]) -> Node {
        let (gossip, events) = Gossip::start(config.clone(), key).unwrap();
        Node {
            gossip,
            events,
            config,
            key,
        }
    }

    fn id(&self) -> String {
        self.gossip.peer_id().to_owned()
    }

    /// The next batch, as (the peer that delivered it, bytes), judged good: gossip forwards it.
    async fn next_batch(&mut self) -> (String, Vec<u8>) {
        let (from, bytes, ticket) = self.next_delivery().await;
        self.gossip.accept(ticket);
        (from, bytes)
    }

    /// The next batch, not judged yet.
    async fn next_delivery(&mut self) -> (String, Vec<u8>, Ticket) {
        match timeout(DEADLINE, self.events.recv()).await {
            Ok(Some(GossipEvent::Batch {
                from,
                bytes,
                ticket,
            })) => (from, bytes, ticket),
            Ok(None) => panic!("event channel of {} closed", self.id()),
            Err(_) => panic!("{} received no batch within {DEADLINE:?}", self.id()),
        }
    }

    /// Collects batches until all of `expected` arrived, then checks nothing else comes: the
    /// batches received must be exactly `expected`, each once, in any order.
    async fn expect_exactly(&mut self, expected: &[(&Node, &[u8])]) {
        let mut want: Vec<(String, Vec<u8>)> = expected
            .iter()
            .map(|(from, bytes)| (from.id(), bytes.to_vec()))
            .collect();
        while !want.is_empty() {
            let got = self.next_batch().await;
            let Some(i) = want.iter().position(|w| *w == got) else {
                panic!(
                    "{} received an unexpected batch of {} bytes ({:?}...) from {}",
                    self.id(),
                    got.1.len(),
                    String::from_utf8_lossy(&got.1[..got.1.len().min(32)]),
                    got.0
                );
            };
            want.remove(i);
        }
        self.expect_quiet().await;
    }

    async fn expect_quiet(&mut self) {
        if let Ok(Some(GossipEvent::Batch { from, bytes, .. })) =
            timeout(QUIET, self.events.recv()).await
        {
            panic!(
                "{} received an extra batch of {} bytes from {from}",
                self.id(),
                bytes.len()
            );
        }
    }
}

fn addr(port: u16) -> String {
    format!("/ip4/127.0.0.1/tcp/{port}")
}

/// A port the OS just handed out, free again once the probe listener is dropped.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_peers(nodes: &[(&Node, usize)]) {
    wait_until("every node sees its peers on the topic", || {
        nodes.iter().all(|(node, n)| node.gossip.peers() == *n)
    })
    .await;
}

#[tokio::test]
async fn full_mesh_delivers_each_batch_once_to_every_other_node() {
    init_tracing();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    // Every pair connected, each connection dialed from one side only.
    let mut a = Node::start(pa, &[pb, pc], 1);
    let mut b = Node::start(pb, &[pc], 2);
    let mut c = Node::start(pc, &[], 3);
    wait_for_peers(&[(&a, 2), (&b, 2), (&c, 2)]).await;

    // B and C get the batch directly from A and again from each other; they deliver it once.
    a.gossip.publish(b"batch from a".to_vec()).await.unwrap();
    b.expect_exactly(&[(&a, b"batch from a")]).await;
    c.expect_exactly(&[(&a, b"batch from a")]).await;

    // Markers from B and C: A gets them but never its own batch back.
    b.gossip.publish(b"marker from b".to_vec()).await.unwrap();
    c.gossip.publish(b"marker from c".to_vec()).await.unwrap();
    a.expect_exactly(&[(&b, b"marker from b"), (&c, b"marker from c")])
        .await;
    b.expect_exactly(&[(&c, b"marker from c")]).await;
    c.expect_exactly(&[(&b, b"marker from b")]).await;

    // A batch is identified by its bytes: the same bytes from another author are not delivered
    // again while the first copy is remembered.
    c.gossip.publish(b"batch from a".to_vec()).await.unwrap();
    c.gossip.publish(b"marker 2 from c".to_vec()).await.unwrap();
    a.expect_exactly(&[(&c, b"marker 2 from c")]).await;
    b.expect_exactly(&[(&c, b"marker 2 from c")]).await;
}

#[tokio::test]
async fn a_line_of_nodes_forwards_batches_in_both_directions() {
    init_tracing();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    // A - B - C: A and C are not connected, B must forward.
    let mut a = Node::start(pa, &[pb], 11);
    let mut b = Node::start(pb, &[pc], 12);
    let mut c = Node::start(pc, &[], 13);
    wait_for_peers(&[(&a, 1), (&b, 2), (&c, 1)]).await;

    // B forwards a batch once it accepted it; C gets it from B.
    a.gossip.publish(b"from one end".to_vec()).await.unwrap();
    b.expect_exactly(&[(&a, b"from one end")]).await;
    c.expect_exactly(&[(&b, b"from one end")]).await;

    c.gossip
        .publish(b"from the other end".to_vec())
        .await
        .unwrap();
    b.expect_exactly(&[(&c, b"from the other end")]).await;
    a.expect_exactly(&[(&b, b"from the other end")]).await;
    c.expect_quiet().await;
}

#[tokio::test]
async fn a_batch_goes_no_further_than_the_node_that_rejects_it() {
    init_tracing();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    // A - B - C again.
    let a = Node::start(pa, &[pb], 14);
    let mut b = Node::start(pb, &[pc], 15);
    let mut c = Node::start(pc, &[], 16);
    wait_for_peers(&[(&a, 1), (&b, 2), (&c, 1)]).await;

    a.gossip.publish(b"bad".to_vec()).await.unwrap();
    let (from, bytes, ticket) = b.next_delivery().await;
    assert_eq!((from, bytes), (a.id(), b"bad".to_vec()));
    // Unjudged, it waits at B.
    c.expect_quiet().await;
    b.gossip.reject(ticket);
    // Rejected, it never reaches C; the next batch, accepted, does.
    a.gossip.publish(b"good".to_vec()).await.unwrap();
    b.expect_exactly(&[(&a, b"good")]).await;
    c.expect_exactly(&[(&b, b"good")]).await;
}

#[tokio::test]
async fn publishing_without_peers_drops_the_batch_and_keeps_the_actor_alive() {
    init_tracing();
    let (pa, pb) = (free_port(), free_port());
    let mut a = Node::start(pa, &[pb], 21);
    // Nobody listens on pb yet: the batch has nowhere to go.
    a.gossip.publish(b"too early".to_vec()).await.unwrap();

    // B comes up later; A's redial finds it and gossip works, without the early batch.
    let mut b = Node::start(pb, &[], 22);
    wait_for_peers(&[(&a, 1), (&b, 1)]).await;
    a.gossip.publish(b"in time".to_vec()).await.unwrap();
    b.expect_exactly(&[(&a, b"in time")]).await;
    a.expect_quiet().await;
}

#[tokio::test]
async fn a_restarted_node_is_redialed_and_receives_later_batches() {
    init_tracing();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let mut a = Node::start(pa, &[pb, pc], 31);
    let mut b = Node::start(pb, &[pc], 32);
    // C dials nobody: after its restart only A's and B's redials can bring it back.
    let mut c = Node::start(pc, &[], 33);
    wait_for_peers(&[(&a, 2), (&b, 2), (&c, 2)]).await;
    a.gossip.publish(b"before".to_vec()).await.unwrap();
    c.expect_exactly(&[(&a, b"before")]).await;
    b.expect_exactly(&[(&a, b"before")]).await;

    // Stop C: handle and task. Every clone of the handle now fails.
    let c_clone = c.gossip.clone();
    c.gossip.shutdown().await;
    let err = c_clone
        .publish(b"from a dead node".to_vec())
        .await
        .unwrap_err();
    assert!(err.is_stopped(), "{err}");
    assert_eq!(c_clone.peers(), 0);
    wait_for_peers(&[(&a, 1), (&b, 1)]).await;

    a.gossip.publish(b"while c is down".to_vec()).await.unwrap();
    b.expect_exactly(&[(&a, b"while c is down")]).await;

    // Same port, same key, still no peers of its own.
    let (config, key) = (c.config.clone(), c.key);
    drop(c);
    let mut c = Node::start_config(config, key);
    wait_for_peers(&[(&a, 2), (&b, 2), (&c, 2)]).await;

    a.gossip.publish(b"after restart".to_vec()).await.unwrap();
    b.gossip
        .publish(b"after restart, from b".to_vec())
        .await
        .unwrap();
    // C missed the batch sent while it was down, and gets the new ones once each.
    c.expect_exactly(&[(&a, b"after restart"), (&b, b"after restart, from b")])
        .await;
    b.expect_exactly(&[(&a, b"after restart")]).await;
    a.expect_exactly(&[(&b, b"after restart, from b")]).await;
}

const LIMIT: usize = 64 * 1024;

/// A and M dial B. M is misconfigured (or hostile): it sends batches up to 1 MiB, where A and B
/// stop at `LIMIT`.
async fn limit_network(keys: u8) -> (Node, Node, Node) {
    let (pa, pb, pm) = (free_port(), free_port(), free_port());
    let b = Node::start_with_limit(pb, &[], keys, LIMIT);
    let a = Node::start_with_limit(pa, &[pb], keys + 1, LIMIT);
    let m = Node::start_with_limit(pm, &[pb], keys + 2, 1024 * 1024);
    wait_for_peers(&[(&a, 1), (&b, 2), (&m, 1)]).await;
    (a, b, m)
}

#[tokio::test]
async fn oversized_batches_are_refused_or_rejected_without_breaking_delivery() {
    init_tracing();
    let (mut a, mut b, mut m) = limit_network(41).await;

    // The handle refuses a batch over the limit...
    let err = a.gossip.publish(vec![1; LIMIT + 1]).await.unwrap_err();
    assert_eq!(
        err,
        GossipError::TooLarge {
            size: LIMIT + 1,
            max: LIMIT
        }
    );
    assert!(err.is_too_large());
    // ...and a batch of exactly the limit fits, envelope included.
    a.gossip.publish(vec![2; LIMIT]).await.unwrap();
    b.expect_exactly(&[(&a, &[2; LIMIT])]).await;
    m.expect_exactly(&[(&b, &[2; LIMIT])]).await;

    // B rejects M's oversized batch and does not forward it to A; the next batch on the same
    // connection arrives as usual.
    m.gossip.publish(vec![3; LIMIT + 1]).await.unwrap();
    m.gossip.publish(b"small, from m".to_vec()).await.unwrap();
    b.expect_exactly(&[(&m, b"small, from m")]).await;
    a.expect_exactly(&[(&b, b"small, from m")]).await;

    a.gossip.publish(b"small, from a".to_vec()).await.unwrap();
    b.expect_exactly(&[(&a, b"small, from a")]).await;
    m.expect_exactly(&[(&b, b"small, from a")]).await;
}

#[tokio::test]
async fn a_peer_sending_frames_beyond_the_read_limit_recovers_by_reconnecting() {
    init_tracing();
    let (a, mut b, m) = limit_network(44).await;

    // Far beyond what B reads: gossipsub drops the frame unread and M's stream to B is dead.
    m.gossip.publish(vec![4; 8 * LIMIT]).await.unwrap();
    // A's connection is not affected.
    a.gossip
        .publish(b"from a, meanwhile".to_vec())
        .await
        .unwrap();
    b.expect_exactly(&[(&a, b"from a, meanwhile")]).await;

    // M's batches to B time out, M reconnects, and its batches flow again. M keeps sending
    // small batches, as the mempool's re-gossip would, until one arrives.
    let start = Instant::now();
    let mut attempt = 0u32;
    loop {
        assert!(
            start.elapsed() < DEADLINE * 2,
            "no batch from M got through after its oversized one"
        );
        attempt += 1;
        m.gossip
            .publish(format!("retry {attempt}").into_bytes())
            .await
            .unwrap();
        if let Ok(Some(GossipEvent::Batch { from, bytes, .. })) =
            timeout(Duration::from_millis(250), b.events.recv()).await
        {
            assert_eq!(from, m.id());
            assert!(
                bytes.starts_with(b"retry "),
                "B delivered the oversized batch"
            );
            break;
        }
    }
    wait_for_peers(&[(&b, 2), (&m, 1)]).await;
    a.gossip.publish(b"from a, after".to_vec()).await.unwrap();
    loop {
        let (from, bytes) = b.next_batch().await;
        if from == a.id() {
            assert_eq!(bytes, b"from a, after");
            break;
        }
        // Later retries from M.
        assert!(
            bytes.starts_with(b"retry "),
            "B delivered the oversized batch"
        );
    }
}

#[tokio::test]
async fn garbage_connections_do_not_disturb_the_node() {
    init_tracing();
    let (pa, pb) = (free_port(), free_port());
    let mut b = Node::start(pb, &[], 51);
    let a = Node::start(pa, &[pb], 52);
    wait_for_peers(&[(&a, 1), (&b, 1)]).await;

    let junk: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 + 3) as u8).collect();
    let handshakes: [&[u8]; 3] = [
        // Not a libp2p protocol at all.
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        // A valid multistream-select header, then a bogus protocol and noise.
        b"\x13/multistream/1.0.0\n\x0c/noise/bogus\n",
        // Raw bytes.
        &junk,
    ];
    for bytes in handshakes {
        let mut stream = TcpStream::connect(("127.0.0.1", pb)).unwrap();
        // The node may hang up before reading everything; that is fine.
        let _ = stream.write_all(bytes);
        let _ = stream.write_all(&junk);
        drop(stream);
    }

    a.gossip.publish(b"still here".to_vec()).await.unwrap();
    b.expect_exactly(&[(&a, b"still here")]).await;
    assert_eq!(b.gossip.peers(), 1);
}

#[tokio::test]
async fn dropping_every_handle_stops_the_actor_and_frees_the_port() {
    init_tracing();
    let port = free_port();
    let node = Node::start(port, &[], 61);
    let config = node.config.clone();
    let mut events = node.events;
    drop(node.gossip);
    // The event channel closes once the actor has stopped.
    let closed = timeout(DEADLINE, events.recv()).await.unwrap();
    assert!(closed.is_none());
    // And the port can be bound again.
    let again = Node::start_config(config, [61; 32]);
    assert_eq!(again.gossip.peers(), 0);
}

/// The relay end to end: a peer's batches are admitted after one batch check of the sender keys
/// it sent, and a batch carrying a false key is still admitted, its senders recovered one by one.
#[tokio::test]
async fn relayed_sender_keys_are_checked_in_batches_and_false_ones_cost_only_their_batch() {
    use ordo_mempool::{encode_batch, run_gossip, Mempool, MempoolConfig};
    use ordo_types::{Bytes, SecretKey, Transaction};

    init_tracing();
    let (pa, pb) = (free_port(), free_port());
    let a = Node::start(pa, &[], 1);
    let b = Node::start(pb, &[pa], 2);
    wait_for_peers(&[(&a, 1), (&b, 1)]).await;
    let admission = ordo_chain::Admission::new(7, ordo_rollup_adapters::Rollups::raw([1]));
    let nonces = std::sync::Arc::new(ordo_chain::NonceTable::default());
    let pool = Mempool::in_memory(admission, MempoolConfig::default(), nonces);
    let max = a.config.max_message_bytes;
    tokio::spawn(run_gossip(pool.clone(), a.gossip.clone(), a.events, max));

    let keys: Vec<SecretKey> = (0..8).map(|_| SecretKey::random()).collect();
    let signed = |nonce: u64| -> Vec<(Transaction, ordo_types::PublicKey)> {
        keys.iter()
            .map(|k| {
                let tx = Transaction::sign(1, nonce, Bytes::from_static(b"relayed"), k, 7);
                (tx, k.public_key())
            })
            .collect()
    };

    let honest = signed(0);
    b.gossip.publish(encode_batch(&honest, 1)).await.unwrap();
    wait_until("the honest batch is admitted", || pool.len() == 8).await;
    assert_eq!(pool.metrics().signatures_batch_verified(), 8);
    assert_eq!(pool.metrics().signatures_recovered(), 0);
    assert_eq!(pool.metrics().false_claim_batches(), 0);

    // One key in the next batch belongs to another sender.
    let mut lying = signed(1);
    lying[3].1 = keys[4].public_key();
    b.gossip.publish(encode_batch(&lying, 2)).await.unwrap();
    wait_until("the lying batch is admitted", || pool.len() == 16).await;
    assert_eq!(pool.metrics().false_claim_batches(), 1);
    assert_eq!(pool.metrics().signatures_batch_verified(), 8);
    assert_eq!(pool.metrics().signatures_recovered(), 8);
    // Every transaction is filed under its real sender: the false key changed nothing.
    for (tx, _) in &lying {
        assert_eq!(pool.sender(tx).unwrap(), tx.recover_sender(7).unwrap());
    }
}

#[tokio::test]
async fn a_peer_that_delivered_three_rejected_batches_is_cut_off_and_refused() {
    init_tracing();
    let (pa, pb) = (free_port(), free_port());
    let mut a = Node::start(pa, &[], 41);
    // B dials A, and dials it again whenever the connection drops.
    let b = Node::start(pb, &[pa], 42);
    wait_for_peers(&[(&a, 1), (&b, 1)]).await;
    // B publishes, A rejects.
    async fn reject(a: &mut Node, b: &Node, bytes: &[u8]) {
        b.gossip.publish(bytes.to_vec()).await.unwrap();
        let (from, got, ticket) = a.next_delivery().await;
        assert_eq!((from, got), (b.id(), bytes.to_vec()));
        a.gossip.reject(ticket);
    }
    // Two strikes: B stays connected and its batches still arrive.
    reject(&mut a, &b, b"bad 1").await;
    reject(&mut a, &b, b"bad 2").await;
    b.gossip.publish(b"still heard".to_vec()).await.unwrap();
    a.expect_exactly(&[(&b, b"still heard")]).await;
    // The third cuts it off; A refuses it however often B dials again.
    reject(&mut a, &b, b"bad 3").await;
    wait_for_peers(&[(&a, 0), (&b, 0)]).await;
    let _ = b.gossip.publish(b"unheard".to_vec()).await;
    a.expect_quiet().await;
    assert_eq!(a.gossip.peers(), 0);
    assert!(a.gossip.publish(b"alive".to_vec()).await.is_ok());
}
