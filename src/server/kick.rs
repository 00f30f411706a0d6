//! Telling a connection's task to close, from anywhere in the broker (a takeover, an admin
//! request, keep alive, shutdown): a reason code and a wake-up. Two words in the connection's
//! shared figures, where a channel would be an allocation of its own for every connection.
//!
//! The same wake-up asks a connection that went quiet to give back its buffers: a busy
//! connection keeps them from one packet to the next (allocating them per message costs more
//! than anything else it does), an idle one holds none. The broker's keep-alive sweep is the
//! clock: a connection that has not been busy for a whole sweep interval is asked.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use crate::protocol::ReasonCode;

/// Buffer states, see [`Kick::mark_busy`] and [`Kick::sweep`].
const NO_BUFFERS: u8 = 0;
const BUSY: u8 = 1;
const QUIET: u8 = 2;
const TRIM: u8 = 3;

/// See the module documentation. The code is a v5 DISCONNECT reason, kept as its wire value
/// to fit an atomic; 0 (success) means not told.
#[derive(Debug, Default)]
pub struct Kick {
    code: AtomicU8,
    buffers: AtomicU8,
    waker: AtomicWaker,
}

/// What a connection is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// Close, with this v5 DISCONNECT reason.
    Close(ReasonCode),
    /// Give back the buffers that are empty: the connection has been quiet a while.
    Trim,
}

impl Kick {
    /// Tells the connection to close with `code` (not success); false if it was told already,
    /// the first reason standing.
    pub fn send(&self, code: ReasonCode) -> bool {
        debug_assert_ne!(code, ReasonCode::SUCCESS);
        let first = self
            .code
            .compare_exchange(0, code.get(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first {
            self.waker.wake();
        }
        first
    }

    /// Resolves once the connection has been told something: to close (the reason stays, so
    /// every later call says it again) or to trim its buffers (said once).
    pub fn told(&self) -> Telling<'_> {
        Telling(self)
    }

    /// Records that the connection holds buffers and used them since the last sweep.
    pub fn mark_busy(&self) {
        if self.buffers.load(Ordering::Relaxed) != BUSY {
            self.buffers.store(BUSY, Ordering::Relaxed);
        }
    }

    /// Records that the connection holds no buffers: sweeps leave it alone.
    pub fn mark_bufferless(&self) {
        self.buffers.store(NO_BUFFERS, Ordering::Relaxed);
    }

    /// One look by the broker's sweep: a connection busy since the last look is now quiet; one
    /// that stayed quiet is asked to trim (true when asked now).
    pub fn sweep(&self) -> bool {
        let next = match self.buffers.load(Ordering::Relaxed) {
            BUSY => QUIET,
            QUIET => TRIM,
            _ => return false,
        };
        // A connection marking itself busy in between wins: it is not quiet.
        let moved = self
            .buffers
            .compare_exchange(next - 1, next, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if moved && next == TRIM {
            self.waker.wake();
        }
        moved && next == TRIM
    }

    fn take_trim(&self) -> bool {
        self.buffers
            .compare_exchange(TRIM, NO_BUFFERS, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }
}

/// See [`Kick::told`].
pub struct Telling<'a>(&'a Kick);

impl Future for Telling<'_> {
    type Output = Told;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Told> {
        let kick = self.0;
        let look = || match kick.code.load(Ordering::Acquire) {
            0 if kick.take_trim() => Some(Told::Trim),
            0 => None,
            code => Some(Told::Close(ReasonCode::new(code))),
        };
        if let Some(told) = look() {
            return Poll::Ready(told);
        }
        // Registered before the second look, so that a send in between still wakes us.
        kick.waker.register(cx.waker());
        match look() {
            Some(told) => Poll::Ready(told),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_stands_and_wakes_the_waiter() {
        let kick = std::sync::Arc::new(Kick::default());
        let waiter = tokio::spawn({
            let kick = kick.clone();
            async move { kick.told().await }
        });
        tokio::task::yield_now().await;
        assert!(kick.send(ReasonCode::SESSION_TAKEN_OVER));
        assert!(!kick.send(ReasonCode::SERVER_SHUTTING_DOWN));
        assert_eq!(waiter.await.unwrap(), Told::Close(ReasonCode::SESSION_TAKEN_OVER));
        assert_eq!(kick.told().await, Told::Close(ReasonCode::SESSION_TAKEN_OVER));
    }

    #[tokio::test]
    async fn a_connection_quiet_for_a_whole_sweep_interval_is_asked_to_trim_once() {
        let kick = std::sync::Arc::new(Kick::default());
        assert!(!kick.sweep(), "a connection without buffers is left alone");
        kick.mark_busy();
        assert!(!kick.sweep(), "busy since the last look");
        kick.mark_busy();
        assert!(!kick.sweep(), "busy again in between");
        let waiter = tokio::spawn({
            let kick = kick.clone();
            async move { kick.told().await }
        });
        tokio::task::yield_now().await;
        assert!(kick.sweep(), "quiet for a whole interval");
        assert_eq!(waiter.await.unwrap(), Told::Trim);
        assert!(!kick.sweep(), "trimmed: nothing more to ask");
        kick.send(ReasonCode::SERVER_SHUTTING_DOWN);
        assert_eq!(kick.told().await, Told::Close(ReasonCode::SERVER_SHUTTING_DOWN));
    }
}
