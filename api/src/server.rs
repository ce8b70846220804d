//! The API's accept loop: axum's router behind hyper's HTTP/1 connection handling, with the
//! limits a public endpoint needs against clients that hold connections rather than use them.
//!
//! - **Connection caps.** At most `api.max_connections` connections at once, and at most
//!   `api.max_connections_per_ip` from one address. A connection past a cap is closed as soon
//!   as it is accepted, before anything is read from it: it costs the node one `accept` and
//!   one `close`, and an attacker holding its own share of connections leaves the other
//!   addresses theirs.
//! - **Header-read timeout.** A request's head (request line and headers) must arrive whole
//!   within `api.header_read_timeout_ms` of the connection being ready for it, or the
//!   connection is closed (a slowloris client, dribbling its headers). Hyper starts that clock
//!   both on a new connection and after each response, so it is also the keep-alive idle
//!   timeout: a connection that sends nothing for that long is closed.
//! - **Body-read deadline.** A request's body must arrive whole within
//!   `api.body_read_timeout_ms` of its head; past it, reading the body fails and the request
//!   is answered `400 MALFORMED`.
//!
//! The caps are counted by [`Slots`], plain data without I/O; [`serve`] only moves sockets.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::{router, ApiConfig, ApiState};

/// Open connections, in total and per client address, against their caps (0: no cap).
#[derive(Debug)]
pub(crate) struct Slots {
    max_total: usize,
    max_per_ip: usize,
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

impl Slots {
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> Self {
        Self {
            max_total,
            max_per_ip,
            total: 0,
            per_ip: HashMap::new(),
        }
    }

    /// Takes a slot for a connection from `ip`, or refuses when a cap is reached.
    pub(crate) fn take(&mut self, ip: IpAddr) -> Result<(), Refused> {
        if self.max_total != 0 && self.total >= self.max_total {
            return Err(Refused::Total(self.max_total));
        }
        let held = self.per_ip.get(&ip).copied().unwrap_or(0);
        if self.max_per_ip != 0 && held >= self.max_per_ip {
            return Err(Refused::PerIp(self.max_per_ip));
        }
        self.total = self.total.saturating_add(1);
        self.per_ip.insert(ip, held.saturating_add(1));
        Ok(())
    }

    /// Gives back the slot of a closed connection from `ip`.
    pub(crate) fn give_back(&mut self, ip: IpAddr) {
        self.total = self.total.saturating_sub(1);
        if let Some(held) = self.per_ip.get_mut(&ip) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    /// Open connections.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.total
    }
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `api.max_connections` are open.
    Total(usize),
    /// `api.max_connections_per_ip` are open from the client's address.
    PerIp(usize),
}

/// A connection's slot, given back when the connection's task ends.
struct Slot {
    slots: Arc<Mutex<Slots>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .give_back(self.ip);
    }
}

/// A request body that fails once its deadline passes before it has been read whole.
struct Deadline<B> {
    inner: B,
    sleep: Pin<Box<tokio::time::Sleep>>,
    after: Duration,
}

impl<B> HttpBody for Deadline<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            let message = format!(
                "request body not received within {} ms (api.body_read_timeout_ms)",
                this.after.as_millis()
            );
            return Poll::Ready(Some(Err(message.into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn millis(ms: u64) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(ms))
}

/// Serves the API until the returned future is dropped, which also closes every connection.
pub(crate) async fn serve(state: ApiState, config: ApiConfig) -> std::io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    tracing::info!(
        target: "ordo::api",
        addr = %config.listen,
        max_connections = config.max_connections,
        max_connections_per_ip = config.max_connections_per_ip,
        "API listening"
    );
    let app = router(state, &config);
    let slots = Arc::new(Mutex::new(Slots::new(
        config.max_connections,
        config.max_connections_per_ip,
    )));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(millis(config.header_read_timeout_ms));
    let body_deadline = millis(config.body_read_timeout_ms);
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: wait for connections to close rather
                // than spin.
                tracing::warn!(target: "ordo::api", error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let taken = slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(peer.ip());
        if let Err(refused) = taken {
            tracing::debug!(target: "ordo::api", %peer, ?refused, "connection refused");
            drop(stream);
            continue;
        }
        let slot = Slot {
            slots: slots.clone(),
            ip: peer.ip(),
        };
        let _ = stream.set_nodelay(true);
        // Each request carries the client's address (the rate limit reads it) and, with a
        // deadline, a body that must arrive in time.
        let inner = TowerToHyperService::new(app.clone());
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(|body| match body_deadline {
                Some(after) => Body::new(Deadline {
                    inner: body,
                    sleep: Box::pin(tokio::time::sleep(after)),
                    after,
                }),
                None => Body::new(body),
            });
            request.extensions_mut().insert(ConnectInfo(peer));
            hyper::service::Service::call(&inner, request)
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(target: "ordo::api", %peer, error = %e, "connection ended");
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cap_the_total_and_each_address() {
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let mut slots = Slots::new(3, 2);
        assert_eq!(slots.take(a), Ok(()));
        assert_eq!(slots.take(a), Ok(()));
        assert_eq!(slots.take(a), Err(Refused::PerIp(2)));
        assert_eq!(slots.take(b), Ok(()));
        assert_eq!(slots.take(b), Err(Refused::Total(3)));
        slots.give_back(a);
        assert_eq!(slots.open(), 2);
        assert_eq!(slots.take(b), Ok(()));
        assert_eq!(slots.take(b), Err(Refused::Total(3)));
        for ip in [a, b, b] {
            slots.give_back(ip);
        }
        assert_eq!(slots.open(), 0);
        assert!(slots.per_ip.is_empty(), "{slots:?}");
        // 0: no cap.
        let mut open = Slots::new(0, 0);
        for _ in 0..1_000 {
            assert_eq!(open.take(a), Ok(()));
        }
    }
}
