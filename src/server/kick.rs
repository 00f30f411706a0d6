//! Telling a connection's task to close, from anywhere in the broker (a takeover, an admin
//! request, keep alive, shutdown): a reason code and a wake-up. Two words in the connection's
//! shared figures, where a channel would be an allocation of its own for every connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// See the module documentation. The code is a v5 DISCONNECT reason; 0 (success) means
/// not told.
#[derive(Debug, Default)]
pub struct Kick {
    code: AtomicU8,
    waker: AtomicWaker,
}

impl Kick {
    /// Tells the connection to close with `code` (not 0); false if it was told already, the
    /// first reason standing.
    pub fn send(&self, code: u8) -> bool {
        debug_assert_ne!(code, 0);
        let first = self
            .code
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first {
            self.waker.wake();
        }
        first
    }

    /// Resolves to the reason once the connection has been told to close.
    pub fn told(&self) -> Told<'_> {
        Told(self)
    }
}

/// See [`Kick::told`].
pub struct Told<'a>(&'a Kick);

impl Future for Told<'_> {
    type Output = u8;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        let kick = self.0;
        // Registered before the second look, so that a send in between still wakes us.
        if kick.code.load(Ordering::Acquire) == 0 {
            kick.waker.register(cx.waker());
        }
        match kick.code.load(Ordering::Acquire) {
            0 => Poll::Pending,
            code => Poll::Ready(code),
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
        assert!(kick.send(0x8E));
        assert!(!kick.send(0x8B));
        assert_eq!(waiter.await.unwrap(), 0x8E);
        assert_eq!(kick.told().await, 0x8E);
    }
}
