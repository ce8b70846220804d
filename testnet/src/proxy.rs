//! A user-space TCP proxy between nodes whose links can be cut, healed and slowed.
//!
//! Every node reaches every other node (consensus p2p and transaction gossip alike) through its
//! own listener here, one per ordered pair of nodes and per service. A link is the unordered pair
//! `{a, b}`: cutting it closes every open connection in both directions and refuses new ones
//! until it is healed; a delay holds every chunk of bytes for that long before passing it on
//! (the kernel's `tc netem` is not available on this machine).

use std::collections::HashMap;
use std::net::SocketAddr;
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
}

/// The links between `n` nodes and the listeners that carry them.
pub(crate) struct Links {
    n: usize,
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
            states,
            tasks: Vec::new(),
        }
    }

    /// Starts a listener on `127.0.0.1` that carries `from`'s connections to `to`, which
    /// listens at `target`; returns the listener's port.
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
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
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
                let delay = self.get(a, b).delay;
                self.set(a, b, LinkState { cut, delay });
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

    /// Every link up, without delay.
    pub(crate) fn heal_all(&self) {
        for s in self.states.values() {
            s.send_replace(LinkState::default());
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
        loop {
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let due = tokio::time::Instant::now() + state.borrow().delay;
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
        let echo = echo_server().await;
        let mut links = Links::new(2);
        let port = links.listen(0, 1, echo).await.unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(round_trip(&mut s).await.unwrap(), b"ping");

        // Cut: the open connection is closed and a new one gets nothing through.
        links.set(
            1,
            0,
            LinkState {
                cut: true,
                delay: Duration::ZERO,
            },
        );
        assert!(round_trip(&mut s).await.is_err());
        let mut again = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert!(round_trip(&mut again).await.is_err());

        // Healed: new connections work.
        links.heal_all();
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(round_trip(&mut s).await.unwrap(), b"ping");

        // Delayed: the echo comes back no sooner than twice the one-way delay.
        links.set(
            0,
            1,
            LinkState {
                cut: false,
                delay: Duration::from_millis(100),
            },
        );
        let started = std::time::Instant::now();
        assert_eq!(round_trip(&mut s).await.unwrap(), b"ping");
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn partition_cuts_only_across_groups() {
        let links = Links::new(4);
        links.partition(&[&[0, 1], &[2, 3]]);
        assert!(!links.get(0, 1).cut && !links.get(2, 3).cut);
        assert!(links.get(0, 2).cut && links.get(1, 3).cut && links.get(3, 0).cut);
        links.partition(&[&[0, 1, 2], &[3]]);
        assert!(!links.get(0, 2).cut && links.get(2, 3).cut);
        links.heal_all();
        assert!(!links.get(2, 3).cut);
    }
}
