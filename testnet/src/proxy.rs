//! A user-space TCP proxy between nodes whose links can be cut, healed and slowed.
//!
//! Every node reaches every other node (consensus p2p and transaction gossip alike) through its
//! own listener here, one per ordered pair of nodes and per service. A link is the unordered pair
//! `{a, b}`: cutting it closes every open connection in both directions and refuses new ones
//! until it is healed; a delay holds every chunk of bytes for that long before passing it on,
//! plus a random share of the link's jitter, in order (the kernel's `tc netem` is not available
//! on this machine). Loss is emulated as what it costs TCP: a stream cannot lose bytes, but a
//! lost segment arrives a retransmission timeout late, and everything after it waits (see
//! [`Loss`]). Linux's fast retransmit and tail-loss probes often recover sooner, so the loss
//! figures are an upper bound on its cost.
//!
//! [`Spread`] places validators for a benchmark: the same delay on every link, or one of two
//! presets, a continental and a worldwide spread of validators.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The state of one link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LinkState {
    /// No bytes pass; connections are closed.
    pub(crate) cut: bool,
    /// Added one-way latency.
    pub(crate) delay: Duration,
    /// Up to this much more, drawn for each chunk (order is kept).
    pub(crate) jitter: Duration,
    /// Segments lost.
    pub(crate) loss: Loss,
}

/// Bytes of one TCP segment on a path with a 1,500-byte MTU.
const SEGMENT: usize = 1448;
/// Linux's minimum retransmission timeout: what it adds to the smoothed round trip.
const RTO_MIN: Duration = Duration::from_millis(200);

/// The share of TCP segments a link loses, in parts per million.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loss(u32);

impl Loss {
    /// `PERCENT`, from 0 to 100 (such as `0.5`).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.parse::<f64>() {
            Ok(percent) if (0.0..=100.0).contains(&percent) => {
                Ok(Self((percent * 10_000.0).round() as u32))
            }
            _ => Err(format!("{s:?}: give a loss in percent, from 0 to 100")),
        }
    }
}

impl LinkState {
    /// What a chunk of `len` bytes waits for its lost segments: one retransmission timeout
    /// (the round trip plus [`RTO_MIN`]) if any of them is lost, else nothing.
    fn loss_delay(&self, len: usize) -> Duration {
        if self.loss.0 == 0 {
            return Duration::ZERO;
        }
        let kept = 1.0 - f64::from(self.loss.0) / 1e6;
        let segments = i32::try_from(len.div_ceil(SEGMENT)).unwrap_or(i32::MAX);
        if rand::random::<f64>() < 1.0 - kept.powi(segments) {
            self.delay * 2 + RTO_MIN
        } else {
            Duration::ZERO
        }
    }
}

/// Where a network's validators sit, for the one-way delays between them.
#[derive(Clone, Debug, PartialEq)]
pub enum Spread {
    /// The same one-way delay on every link (none by default).
    Uniform(Duration),
    /// Validators in turn in Frankfurt, London, Paris and Stockholm.
    Continental,
    /// Validators in turn in Virginia, Frankfurt, Tokyo and São Paulo.
    Worldwide,
}

/// Round-trip times between the regions of a preset, ms: typical public figures between cloud
/// regions (rounded), for sites `0..4` in the order [`Spread`] names them.
const CONTINENTAL_RTT_MS: [[u64; 4]; 4] = [
    [0, 15, 10, 25],
    [15, 0, 8, 32],
    [10, 8, 0, 32],
    [25, 32, 32, 0],
];
const WORLDWIDE_RTT_MS: [[u64; 4]; 4] = [
    [0, 90, 150, 115],
    [90, 0, 230, 200],
    [150, 230, 0, 255],
    [115, 200, 255, 0],
];

impl Default for Spread {
    fn default() -> Self {
        Self::Uniform(Duration::ZERO)
    }
}

impl Spread {
    /// `MS` (the one-way delay on every link), `continental` or `worldwide`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "continental" => Ok(Self::Continental),
            "worldwide" => Ok(Self::Worldwide),
            ms => ms
                .parse::<u64>()
                .map(|ms| Self::Uniform(Duration::from_millis(ms)))
                .map_err(|_| format!("{s:?}: give one-way milliseconds, continental or worldwide")),
        }
    }

    /// The link between validators `a` and `b`: half the round trip between their sites (the
    /// validators take the preset's sites in turn; two at one site are 1 ms apart), with a
    /// tenth of that as jitter.
    pub(crate) fn link(&self, a: usize, b: usize) -> LinkState {
        let rtt = |table: &[[u64; 4]; 4]| match table[a % 4][b % 4] {
            0 => 2,
            ms => ms,
        };
        let delay = match self {
            Self::Uniform(delay) => {
                return LinkState {
                    delay: *delay,
                    ..LinkState::default()
                }
            }
            Self::Continental => Duration::from_millis(rtt(&CONTINENTAL_RTT_MS)) / 2,
            Self::Worldwide => Duration::from_millis(rtt(&WORLDWIDE_RTT_MS)) / 2,
        };
        LinkState {
            delay,
            jitter: delay / 10,
            ..LinkState::default()
        }
    }
}

/// The links between `n` nodes and the listeners that carry them.
pub(crate) struct Links {
    n: usize,
    /// Where the listeners listen.
    bind: IpAddr,
    states: HashMap<(usize, usize), watch::Sender<LinkState>>,
    tasks: Vec<JoinHandle<()>>,
}

fn key(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Links {
    /// Links between `n` nodes, all up.
    pub(crate) fn new(n: usize) -> Self {
        let mut states = HashMap::new();
        for a in 0..n {
            for b in a + 1..n {
                states.insert((a, b), watch::channel(LinkState::default()).0);
            }
        }
        Self {
            n,
            bind: Ipv4Addr::LOCALHOST.into(),
            states,
            tasks: Vec::new(),
        }
    }

    /// The same links, listening on `ip` instead of 127.0.0.1.
    pub(crate) fn on(mut self, ip: IpAddr) -> Self {
        self.bind = ip;
        self
    }

    /// Starts a listener (on 127.0.0.1 unless [`Links::on`] said otherwise) that carries
    /// `from`'s connections to `to`, which listens at `target`; returns the listener's port.
    pub(crate) async fn listen(
        &mut self,
        from: usize,
        to: usize,
        target: SocketAddr,
    ) -> anyhow::Result<u16> {
        let state = self
            .states
            .get(&key(from, to))
            .ok_or_else(|| anyhow::anyhow!("no link {from}-{to}"))?
            .subscribe();
        let listener = TcpListener::bind((self.bind, 0)).await?;
        let port = listener.local_addr()?.port();
        self.tasks
            .push(tokio::spawn(accept_loop(listener, target, state)));
        Ok(port)
    }

    /// Sets the state of link `{a, b}`.
    pub(crate) fn set(&self, a: usize, b: usize, state: LinkState) {
        if let Some(s) = self.states.get(&key(a, b)) {
            s.send_replace(state);
        }
    }

    /// Cuts every link between `group` and the other nodes, keeping links inside each side.
    pub(crate) fn partition(&self, groups: &[&[usize]]) {
        let side = |x: usize| groups.iter().position(|g| g.contains(&x));
        for a in 0..self.n {
            for b in a + 1..self.n {
                let cut = side(a) != side(b);
                self.set(
                    a,
                    b,
                    LinkState {
                        cut,
                        ..self.get(a, b)
                    },
                );
            }
        }
    }

    /// The state of link `{a, b}`.
    pub(crate) fn get(&self, a: usize, b: usize) -> LinkState {
        self.states
            .get(&key(a, b))
            .map(|s| *s.borrow())
            .unwrap_or_default()
    }

    /// Every link as `spread` places validators, losing `loss`.
    pub(crate) fn spread(&self, spread: &Spread, loss: Loss) {
        for a in 0..self.n {
            for b in a + 1..self.n {
                self.set(
                    a,
                    b,
                    LinkState {
                        loss,
                        ..spread.link(a, b)
                    },
                );
            }
        }
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, state: watch::Receiver<LinkState>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        if state.borrow().cut {
            drop(inbound);
            continue;
        }
        connections.spawn(carry(inbound, target, state.clone()));
    }
}

/// Carries one connection until either side closes it or the link is cut.
async fn carry(inbound: TcpStream, target: SocketAddr, mut state: watch::Receiver<LinkState>) {
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (ri, wi) = inbound.into_split();
    let (ro, wo) = outbound.into_split();
    let (a, b) = (state.clone(), state.clone());
    let cut = async {
        loop {
            if state.borrow_and_update().cut {
                return;
            }
            if state.changed().await.is_err() {
                return;
            }
        }
    };
    let both = async {
        tokio::join!(pump(ri, wo, a), pump(ro, wi, b));
    };
    tokio::select! {
        _ = both => {}
        _ = cut => {}
    }
}

/// Copies bytes from `r` to `w`, each chunk held for the link's current delay.
async fn pump(
    mut r: tokio::net::tcp::OwnedReadHalf,
    mut w: tokio::net::tcp::OwnedWriteHalf,
    state: watch::Receiver<LinkState>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut last = tokio::time::Instant::now();
        loop {
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let link = *state.borrow();
            let jitter = link.jitter.mul_f64(rand::random::<f64>());
            // Never before an earlier chunk: a stream keeps its order.
            let lost = link.loss_delay(n);
            let due = (tokio::time::Instant::now() + link.delay + jitter + lost).max(last);
            last = due;
            if tx.send((due, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if w.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    /// Two nodes' link, node 1 an echo server: the links, node 0's port for it, a connection.
    async fn linked_echo() -> (Links, u16, TcpStream) {
        let echo = echo_server().await;
        let mut links = Links::new(2);
        let port = links.listen(0, 1, echo).await.unwrap();
        let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        (links, port, s)
    }

    async fn round_trip(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut buf))
            .await
            .map_err(|_| std::io::Error::other("timed out"))??;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn carries_cuts_heals_and_delays() {
        let (links, port, mut s) = linked_echo().await;
        assert_eq!(round_trip(&mut s).await.unwrap(), b"ping");

        // Cut: the open connection is closed and a new one gets nothing through.
        links.set(
            1,
            0,
            LinkState {
                cut: true,
                ..LinkState::default()
            },
        );
        assert!(round_trip(&mut s).await.is_err());
        let mut again = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert!(round_trip(&mut again).await.is_err());

        // Healed: new connections work.
        links.spread(&Spread::default(), Loss::default());
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(round_trip(&mut s).await.unwrap(), b"ping");

        // Delayed: the echo comes back no sooner than twice the one-way delay.
        links.set(
            0,
            1,
            LinkState {
                delay: Duration::from_millis(100),
                ..LinkState::default()
            },
        );
        let started = std::time::Instant::now();
        assert_eq!(round_trip(&mut s).await.unwrap(), b"ping");
        assert!(started.elapsed() >= Duration::from_millis(200));

        // Jittered: bytes still come back in the order they were sent.
        links.set(
            0,
            1,
            LinkState {
                delay: Duration::from_millis(5),
                jitter: Duration::from_millis(30),
                ..LinkState::default()
            },
        );
        let sent: Vec<u8> = (0..200u8).collect();
        for chunk in sent.chunks(4) {
            s.write_all(chunk).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut echoed = vec![0u8; sent.len()];
        tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut echoed))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(echoed, sent);
    }

    #[tokio::test]
    async fn a_lost_segment_arrives_a_retransmission_timeout_late() {
        let (links, _, mut s) = linked_echo().await;
        let delay = Duration::from_millis(10);
        links.set(
            0,
            1,
            LinkState {
                delay,
                loss: Loss::parse("100").unwrap(),
                ..LinkState::default()
            },
        );
        let started = std::time::Instant::now();
        assert_eq!(round_trip(&mut s).await.unwrap(), b"ping");
        // Each way: the delay, then a round trip and Linux's minimum timeout for the loss.
        assert!(started.elapsed() >= (delay + delay * 2 + RTO_MIN) * 2);
    }

    #[test]
    fn loss_is_a_percentage_of_segments() {
        assert_eq!(Loss::parse("0.5"), Ok(Loss(5_000)));
        assert_eq!(Loss::parse("100"), Ok(Loss(1_000_000)));
        for bad in ["-1", "100.5", "one", "NaN"] {
            assert!(Loss::parse(bad).is_err(), "{bad}");
        }
        let lossless = LinkState::default();
        assert_eq!(lossless.loss_delay(1 << 20), Duration::ZERO);
    }

    #[test]
    fn spreads_place_validators_at_their_sites() {
        assert_eq!(
            Spread::parse("50").unwrap().link(0, 3),
            LinkState {
                delay: Duration::from_millis(50),
                ..LinkState::default()
            }
        );
        // Virginia to Tokyo: 150 ms round trip.
        let link = Spread::parse("worldwide").unwrap().link(0, 2);
        assert_eq!(
            (link.delay, link.jitter),
            (Duration::from_millis(75), Duration::from_micros(7_500))
        );
        // The fifth validator sits in Virginia again, next to the first.
        assert_eq!(Spread::Worldwide.link(4, 0).delay, Duration::from_millis(1));
        assert_eq!(
            Spread::Continental.link(1, 3).delay,
            Duration::from_millis(16)
        );
        assert!(Spread::parse("mars").is_err());
    }

    #[test]
    fn partition_cuts_only_across_groups() {
        let links = Links::new(4);
        links.partition(&[&[0, 1], &[2, 3]]);
        assert!(!links.get(0, 1).cut && !links.get(2, 3).cut);
        assert!(links.get(0, 2).cut && links.get(1, 3).cut && links.get(3, 0).cut);
        links.partition(&[&[0, 1, 2], &[3]]);
        assert!(!links.get(0, 2).cut && links.get(2, 3).cut);
        links.spread(&Spread::default(), Loss::default());
        assert!(!links.get(2, 3).cut);
    }
}
