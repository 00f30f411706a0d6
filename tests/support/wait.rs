//! Waiting for something a test expects to happen soon: one poll loop, whose panic names what
//! it waited for.

// Each test directory includes this file as a module of its own, and few use every function.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// How often a condition is checked: rarely enough to leave the two cores of a CI runner to
/// the broker, often enough that a test does not sleep long past the moment it could go on.
const POLL: Duration = Duration::from_millis(20);

/// Polls `condition` until it holds, from a tokio test; panics after `timeout` with "timed out
/// waiting until {what}".
pub async fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what} ({timeout:?})"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// [`wait_until`] for a test without a runtime, which blocks its thread between checks.
pub fn wait_until_blocking(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what} ({timeout:?})"
        );
        std::thread::sleep(POLL);
    }
}
