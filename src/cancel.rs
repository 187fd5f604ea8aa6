//! Cancellation: the one signal mechanism of the program. A leaf beside `exit` (the only
//! module it uses): every module may use it.
//!
//! The command layer listens for SIGINT and SIGTERM while an async command runs
//! ([`Cancel::listen`]) and records the first signal in a process-wide token ([`Cancel`],
//! `Context::cancel`). Commands await ([`Cancel::cancelled`]) or poll
//! ([`Cancel::is_cancelled`]) the token. What happens to a running command:
//!
//! - By default it is dropped at once ([`Cancel::run`]): what it holds is released by its
//!   destructors (a download's temporary file is removed), and the run ends.
//! - A command with clean-up to do over the network (abort multipart uploads, let Terraform
//!   write its state) holds a [`Shield`] while it is in that phase: it then sees the token,
//!   cleans up within its own short deadline, and returns. A second signal drops it anyway.
//!
//! Either way the run ends with exit 130 (SIGINT) or 143 (SIGTERM), as a shell reports a
//! process killed by those signals. Offline commands install no listener: the default
//! action of the signal ends them.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// A clean-up to run if the command is dropped at a signal (an abort of a multipart upload).
pub type CleanupFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

#[derive(Default)]
struct Cleanups {
    next: u64,
    registered: BTreeMap<u64, CleanupFuture>,
}

/// A signal that cancels the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (a CI runner stopping a job, `kill`).
    Terminate,
}

impl Signal {
    /// 128 + the signal's number, as shells report a process the signal ended.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct State {
    /// The first signal received.
    signal: Option<Signal>,
    /// How many signals were received.
    count: u32,
    /// Shields held: phases that finish their own clean-up when cancelled.
    shields: usize,
}

/// The cancellation token: cheap to clone, every clone is the same token.
#[derive(Clone)]
pub struct Cancel {
    state: Arc<watch::Sender<State>>,
    cleanups: Arc<Mutex<Cleanups>>,
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

/// A clean-up registered with [`Cancel::defer`]; [`Deferred::done`] withdraws it once what it
/// would clean up is settled. Dropping it leaves the clean-up registered: a command dropped
/// at a signal drops its `Deferred`s, and their clean-ups must still run.
pub struct Deferred {
    cleanups: Arc<Mutex<Cleanups>>,
    id: u64,
}

impl Deferred {
    /// What the clean-up was for is settled (completed, or cleaned up already).
    pub fn done(&self) {
        lock(&self.cleanups).registered.remove(&self.id);
    }
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Deferred({})", self.id)
    }
}

fn lock(cleanups: &Mutex<Cleanups>) -> std::sync::MutexGuard<'_, Cleanups> {
    cleanups.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel::new()
    }
}

impl Cancel {
    pub fn new() -> Self {
        Cancel {
            state: Arc::new(watch::Sender::new(State::default())),
            cleanups: Arc::default(),
        }
    }

    /// Registers a clean-up that runs if the command is dropped at a signal, until
    /// [`Deferred::done`] withdraws it. The future is not polled before then.
    pub fn defer(&self, cleanup: CleanupFuture) -> Deferred {
        let mut c = lock(&self.cleanups);
        let id = c.next;
        c.next += 1;
        c.registered.insert(id, cleanup);
        Deferred {
            cleanups: self.cleanups.clone(),
            id,
        }
    }

    /// Runs every clean-up still registered, concurrently, for at most `deadline` (best
    /// effort: what does not finish in time is left, e.g. to a bucket's lifecycle rule).
    /// Returns how many there were.
    pub async fn clean_up(&self, deadline: Duration) -> usize {
        let pending: Vec<CleanupFuture> = std::mem::take(&mut lock(&self.cleanups).registered)
            .into_values()
            .collect();
        let count = pending.len();
        if count > 0
            && tokio::time::timeout(deadline, futures_util::future::join_all(pending))
                .await
                .is_err()
        {
            tracing::warn!("clean-up after the signal did not finish within {deadline:?}");
        }
        count
    }

    /// Records a signal: the first one decides the exit code; a second one drops the
    /// command even while it cleans up.
    pub fn cancel(&self, signal: Signal) {
        self.state.send_modify(|s| {
            s.signal.get_or_insert(signal);
            s.count += 1;
        });
    }

    /// The signal that cancelled the run, if one did.
    pub fn signal(&self) -> Option<Signal> {
        self.state.borrow().signal
    }

    pub fn is_cancelled(&self) -> bool {
        self.signal().is_some()
    }

    /// Resolves when the run is cancelled (at once if it already is).
    pub async fn cancelled(&self) -> Signal {
        let mut rx = self.state.subscribe();
        let state = match rx.wait_for(|s| s.signal.is_some()).await {
            Ok(s) => *s,
            // The sender lives as long as `self`: this cannot happen.
            Err(_) => return std::future::pending().await,
        };
        state.signal.unwrap_or(Signal::Interrupt)
    }

    /// Holds off [`Cancel::run`]'s drop while the returned shield lives: the holder sees the
    /// token and cleans up itself (within its own deadline).
    pub fn shield(&self) -> Shield {
        self.state.send_modify(|s| s.shields += 1);
        Shield {
            state: self.state.clone(),
        }
    }

    /// Runs `fut` until it ends or the run is cancelled. Cancelled, `fut` is dropped at once,
    /// unless it holds a [`Shield`]: then it runs on until it ends, its shields are gone, or a
    /// second signal comes. `Err(signal)`: `fut` was dropped.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, Signal> {
        let mut fut = std::pin::pin!(fut);
        let mut rx = self.state.subscribe();
        tokio::select! {
            biased;
            out = &mut fut => return Ok(out),
            _ = rx.wait_for(|s| s.signal.is_some()) => {}
        }
        loop {
            let state = *rx.borrow_and_update();
            if state.shields == 0 || state.count >= 2 {
                return Err(state.signal.unwrap_or(Signal::Interrupt));
            }
            tokio::select! {
                biased;
                out = &mut fut => return Ok(out),
                changed = rx.changed() => {
                    if changed.is_err() {
                        return Err(state.signal.unwrap_or(Signal::Interrupt));
                    }
                }
            }
        }
    }

    /// Starts listening for SIGINT and SIGTERM on the current runtime; each one received
    /// cancels this token. Listening stops when the runtime does. If the handlers cannot be
    /// installed, the signals keep their default action (they end the process).
    pub fn listen(&self) {
        let cancel = self.clone();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut interrupt), Ok(mut terminate)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                tracing::warn!("cannot listen for SIGINT and SIGTERM");
                return;
            };
            tokio::spawn(async move {
                loop {
                    let received = tokio::select! {
                        Some(()) = interrupt.recv() => Signal::Interrupt,
                        Some(()) = terminate.recv() => Signal::Terminate,
                        else => return,
                    };
                    tracing::info!("{} received", received.name());
                    cancel.cancel(received);
                }
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel(Signal::Interrupt);
            }
        });
    }
}

/// While alive, a cancelled [`Cancel::run`] lets its command finish its clean-up.
#[derive(Debug)]
pub struct Shield {
    state: Arc<watch::Sender<State>>,
}

impl Drop for Shield {
    fn drop(&mut self) {
        self.state
            .send_modify(|s| s.shields = s.shields.saturating_sub(1));
    }
}

/// The run was cancelled by a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by {}", .0.name())]
pub struct Cancelled(pub Signal);

impl crate::exit::Classify for Cancelled {
    fn exit(&self) -> crate::exit::Exit {
        match self.0 {
            Signal::Interrupt => crate::exit::Exit::Interrupted,
            Signal::Terminate => crate::exit::Exit::Terminated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn an_unshielded_command_is_dropped_at_the_signal() {
        let cancel = Cancel::new();
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        struct Flag(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let flag = Flag(dropped.clone());
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            c.cancel(Signal::Terminate);
        });
        let out = cancel
            .run(async move {
                let _flag = flag;
                std::future::pending::<()>().await
            })
            .await;
        assert_eq!(out, Err(Signal::Terminate));
        assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(Signal::Interrupt.exit_code(), 130);
    }

    #[tokio::test]
    async fn a_shielded_command_cleans_up_and_ends_itself() {
        let cancel = Cancel::new();
        let c = cancel.clone();
        let out = cancel
            .run(async move {
                let _shield = c.shield();
                let trigger = c.clone();
                tokio::spawn(async move { trigger.cancel(Signal::Interrupt) });
                let signal = c.cancelled().await;
                // Clean-up that takes a while is not cut short.
                tokio::time::sleep(Duration::from_millis(20)).await;
                format!("cleaned up after {}", signal.name())
            })
            .await;
        assert_eq!(out.as_deref(), Ok("cleaned up after SIGINT"));
        assert_eq!(cancel.signal(), Some(Signal::Interrupt));
    }

    #[tokio::test]
    async fn a_second_signal_drops_a_shielded_command() {
        let cancel = Cancel::new();
        let c = cancel.clone();
        let out = cancel
            .run(async move {
                let _shield = c.shield();
                c.cancel(Signal::Interrupt);
                c.cancel(Signal::Terminate);
                std::future::pending::<()>().await
            })
            .await;
        // The first signal decides the exit code.
        assert_eq!(out, Err(Signal::Interrupt));
    }

    #[tokio::test]
    async fn deferred_clean_ups_run_after_the_drop_unless_withdrawn() {
        let cancel = Cancel::new();
        let ran = Arc::new(Mutex::new(Vec::new()));
        let c = cancel.clone();
        let r = ran.clone();
        let out = cancel
            .run(async move {
                let record = |name: &'static str| {
                    let r = r.clone();
                    Box::pin(async move { r.lock().unwrap().push(name) }) as CleanupFuture
                };
                let settled = c.defer(record("settled"));
                let _in_flight = c.defer(record("in flight"));
                settled.done();
                c.cancel(Signal::Terminate);
                std::future::pending::<()>().await
            })
            .await;
        assert_eq!(out, Err(Signal::Terminate));
        assert!(ran.lock().unwrap().is_empty(), "not before the clean-up");
        assert_eq!(cancel.clean_up(Duration::from_secs(1)).await, 1);
        assert_eq!(*ran.lock().unwrap(), vec!["in flight"]);
        // A clean-up that hangs is cut off at the deadline.
        let _hung = cancel.defer(Box::pin(std::future::pending()));
        assert_eq!(cancel.clean_up(Duration::from_millis(10)).await, 1);
    }

    #[tokio::test]
    async fn a_command_whose_shield_is_gone_is_dropped() {
        let cancel = Cancel::new();
        let c = cancel.clone();
        let out = cancel
            .run(async move {
                {
                    let _shield = c.shield();
                    c.cancel(Signal::Interrupt);
                    tokio::task::yield_now().await;
                }
                // Not watching the token: dropped once the shield is released.
                std::future::pending::<()>().await
            })
            .await;
        assert_eq!(out, Err(Signal::Interrupt));
    }
}
