//! Where admission's signature work runs: a few threads at a lower CPU priority than the rest
//! of the node, behind a queue bounded in transactions.
//!
//! Under overload this is what keeps a node deciding blocks: when consensus needs a core the
//! kernel gives it one ahead of these threads, and once the queue holds its bound, clients are
//! refused (`BUSY`, retryable) before any signature work is spent on them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use tokio::sync::oneshot;

/// The nice value of the checking threads (the node's other threads keep 0): under contention
/// a thread at 10 gets about a tenth of the CPU a thread at 0 gets.
pub(crate) const NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The checking threads and their queue.
pub(crate) struct Checkers {
    jobs: mpsc::Sender<Job>,
    /// Transactions queued or being checked for clients.
    queued: Arc<AtomicUsize>,
    max_queued: usize,
}

/// Transactions reserved in the queue, released when dropped.
pub(crate) struct Reservation {
    queued: Arc<AtomicUsize>,
    count: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.queued.fetch_sub(self.count, Ordering::AcqRel);
    }
}

impl Checkers {
    /// Starts `threads` checking threads (they end when this is dropped).
    pub(crate) fn start(threads: usize, max_queued: usize) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ordo-check-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting, never while a job runs.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(target: "ordo::mempool", error = %e, "cannot start a checking thread");
            }
        }
        Self {
            jobs,
            queued: Arc::new(AtomicUsize::new(0)),
            max_queued,
        }
    }

    /// Reserves room for `count` client transactions, or `None` (with how many are queued) if
    /// the queue would go past its bound. A batch larger than the bound gets in when the
    /// queue is empty.
    pub(crate) fn reserve(&self, count: usize) -> Result<Reservation, usize> {
        let mut now = self.queued.load(Ordering::Acquire);
        loop {
            if now > 0 && now + count > self.max_queued {
                return Err(now);
            }
            match self.queued.compare_exchange_weak(
                now,
                now + count,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Ok(Reservation {
                        queued: self.queued.clone(),
                        count,
                    })
                }
                Err(actual) => now = actual,
            }
        }
    }

    /// How many client transactions are queued, if that is at the bound.
    pub(crate) fn behind(&self) -> Option<usize> {
        let queued = self.queued.load(Ordering::Acquire);
        (queued >= self.max_queued).then_some(queued)
    }

    /// Runs `f` on a checking thread; `None` if the threads are gone.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.send(job).ok()?;
        rx.await.ok()
    }
}

/// Lowers the calling thread's CPU priority to at least [`NICE`] (Linux keeps a nice value per
/// thread).
fn lower_priority() {
    let tid = Some(rustix::thread::gettid());
    if rustix::process::getpriority_process(tid).is_ok_and(|nice| nice >= NICE) {
        return;
    }
    if let Err(e) = rustix::process::setpriority_process(tid, NICE) {
        tracing::warn!(target: "ordo::mempool", error = %e, "checking thread keeps the normal CPU priority");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reservations_are_bounded_and_released() {
        let checkers = Checkers::start(1, 10);
        let a = checkers.reserve(6).unwrap();
        assert_eq!(checkers.reserve(5).err(), Some(6));
        assert_eq!(checkers.behind(), None);
        let b = checkers.reserve(4).unwrap();
        assert_eq!(checkers.behind(), Some(10));
        drop(a);
        assert!(checkers.reserve(6).is_ok());
        drop(b);
        // An empty queue takes a batch larger than the bound.
        assert!(checkers.reserve(50).is_ok());
    }

    #[tokio::test]
    async fn jobs_run_on_threads_at_lower_priority() {
        let checkers = Checkers::start(2, 10);
        let (name, nice) = checkers
            .run(|| {
                let name = std::thread::current().name().map(str::to_owned);
                let nice = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
                (name, nice.unwrap())
            })
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("ordo-check-"));
        assert!(nice >= NICE, "{nice}");
    }
}
