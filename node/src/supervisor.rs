//! Task supervision: every long-running task of a node is either critical or restartable, and
//! none dies unnoticed.
//!
//! - A **critical** task (the API server) is one the node cannot run without: when it ends, for
//!   whatever reason (an error, a panic, or just returning), [`Supervisor::failed`] names it and
//!   the node stops with that error.
//! - A **restartable** task (the gossip relay, the L1 watcher and the saver of its view, the
//!   slasher) is started again after a pause (1 s, doubling up to 30 s, back to 1 s after a
//!   minute of good running); each restart is counted.
//!
//! Each task's state is published ([`TaskStatus`]) for `/v1/health`, which names a task that is
//! down, and for `/metrics`.

use std::future::Future;
use std::time::Duration;

use ordo_api::TaskStatus;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Pause before the first restart.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// Longest pause between restarts.
const MAX_PAUSE: Duration = Duration::from_secs(30);
/// A task that ran this long before ending is restarted after the first pause again.
const GOOD_RUN: Duration = Duration::from_secs(60);

/// Why a task ended: its error, its panic, or that it returned.
async fn outcome(handle: JoinHandle<anyhow::Result<()>>) -> String {
    match handle.await {
        Ok(Ok(())) => "it returned".to_owned(),
        Ok(Err(e)) => format!("{e:#}"),
        Err(e) if e.is_panic() => "it panicked".to_owned(),
        Err(e) => e.to_string(),
    }
}

/// The supervisor of one node's tasks.
pub(crate) struct Supervisor {
    status: watch::Sender<Vec<TaskStatus>>,
    failures: mpsc::UnboundedSender<(&'static str, String)>,
    failed: mpsc::UnboundedReceiver<(&'static str, String)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Supervisor {
    pub(crate) fn new() -> Self {
        let (failures, failed) = mpsc::unbounded_channel();
        Self {
            status: watch::channel(Vec::new()).0,
            failures,
            failed,
            tasks: Vec::new(),
        }
    }

    /// The tasks' states, as they change.
    pub(crate) fn status(&self) -> watch::Receiver<Vec<TaskStatus>> {
        self.status.subscribe()
    }

    fn register(&self, name: &'static str) {
        self.status.send_modify(|tasks| {
            tasks.push(TaskStatus {
                name,
                up: true,
                restarts: 0,
                last_error: None,
            })
        });
    }

    fn update(
        status: &watch::Sender<Vec<TaskStatus>>,
        name: &str,
        f: impl FnOnce(&mut TaskStatus),
    ) {
        status.send_modify(|tasks| {
            if let Some(task) = tasks.iter_mut().find(|t| t.name == name) {
                f(task);
            }
        });
    }

    /// Runs a task the node cannot run without.
    pub(crate) fn critical(
        &mut self,
        name: &'static str,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        self.register(name);
        let (status, failures) = (self.status.clone(), self.failures.clone());
        self.tasks.push(tokio::spawn(async move {
            let why = outcome(tokio::spawn(task)).await;
            tracing::error!(target: "ordo::node", task = name, error = %why, "critical task stopped");
            Self::update(&status, name, |t| {
                t.up = false;
                t.last_error = Some(why.clone());
            });
            let _ = failures.send((name, why));
        }));
    }

    /// Runs a task that `start` begins afresh each time it ends.
    pub(crate) fn restartable<F, Fut>(&mut self, name: &'static str, mut start: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.register(name);
        let status = self.status.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut pause = FIRST_PAUSE;
            loop {
                let started = tokio::time::Instant::now();
                let why = outcome(tokio::spawn(start())).await;
                if started.elapsed() >= GOOD_RUN {
                    pause = FIRST_PAUSE;
                }
                tracing::warn!(target: "ordo::node", task = name, error = %why, ?pause, "task stopped; restarting");
                Self::update(&status, name, |t| {
                    t.up = false;
                    t.last_error = Some(why);
                });
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
                Self::update(&status, name, |t| {
                    t.up = true;
                    t.restarts += 1;
                });
            }
        }));
    }

    /// Waits until a critical task ends: its name and why.
    pub(crate) async fn failed(&mut self) -> (&'static str, String) {
        match self.failed.recv().await {
            Some(failure) => failure,
            // The supervisor holds a sender itself: the channel never closes.
            None => std::future::pending().await,
        }
    }

    /// Stops every task.
    pub(crate) fn shutdown(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn a_critical_task_that_dies_is_named_with_its_error() {
        let mut supervisor = Supervisor::new();
        let status = supervisor.status();
        supervisor.critical("steady", std::future::pending());
        supervisor.critical("api", async { anyhow::bail!("address in use") });
        let (name, why) = supervisor.failed().await;
        assert_eq!((name, why.as_str()), ("api", "address in use"));
        let tasks = status.borrow().clone();
        assert!(tasks.iter().any(|t| t.name == "steady" && t.up));
        assert!(tasks.iter().any(|t| t.name == "api" && !t.up));

        // A panic is a failure too.
        supervisor.critical("panics", async { panic!("boom") });
        assert_eq!(
            supervisor.failed().await,
            ("panics", "it panicked".to_owned())
        );
        supervisor.shutdown();
    }

    #[tokio::test(start_paused = true)]
    async fn a_restartable_task_comes_back_and_is_counted() {
        let mut supervisor = Supervisor::new();
        let mut status = supervisor.status();
        let runs = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&runs);
        supervisor.restartable("relay", move || {
            let run = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match run {
                    0 => anyhow::bail!("peer reset"),
                    1 => panic!("bug"),
                    _ => std::future::pending().await,
                }
            }
        });
        // Down after the first failure, with its error...
        status
            .wait_for(|t| t.first().is_some_and(|t| !t.up))
            .await
            .unwrap();
        assert_eq!(status.borrow()[0].last_error.as_deref(), Some("peer reset"));
        // ...then up again after two restarts, running for good.
        status
            .wait_for(|t| t.first().is_some_and(|t| t.up && t.restarts == 2))
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(
            status.borrow()[0].last_error.as_deref(),
            Some("it panicked")
        );
        supervisor.shutdown();
    }
}
