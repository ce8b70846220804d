//! An L1 outage as a node sees it, for tests and fault scenarios: a TCP proxy to the L1's RPC
//! port that can cut every open connection and refuse new ones, while the L1 itself goes on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The proxy; it stops when dropped.
pub struct L1Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    task: JoinHandle<()>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl L1Proxy {
    /// Starts a proxy on a free port of 127.0.0.1 to 127.0.0.1:`target`.
    pub async fn start(target: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let down = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let task = tokio::spawn({
            let down = down.clone();
            let conns = conns.clone();
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if down.load(Ordering::SeqCst) {
                        continue;
                    }
                    let conn = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    if let Ok(mut conns) = conns.lock() {
                        conns.retain(|c| !c.is_finished());
                        conns.push(conn);
                    }
                }
            }
        });
        Ok(Self {
            port,
            down,
            task,
            conns,
        })
    }

    /// The URL nodes use instead of the L1's.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Cuts the L1 off (closing every open connection) or restores it.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            if let Ok(mut conns) = self.conns.lock() {
                for conn in conns.drain(..) {
                    conn.abort();
                }
            }
        }
    }
}

impl Drop for L1Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
