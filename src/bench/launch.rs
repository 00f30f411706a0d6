//! Opening client connections at a set pace with a bound on attempts in flight, recording how
//! long each took and why any failed.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{sleep_until, Instant};

use super::{Shared, Target};
use crate::client::{Client, ClientError, ConnectOptions};

/// Paces connection attempts and bounds how many are in flight.
#[derive(Debug)]
pub struct Launcher {
    start: Instant,
    rate: f64,
    permits: Semaphore,
}

impl Launcher {
    /// A launcher starting now with the pace and bound of `target`.
    pub fn new(target: &Target) -> Arc<Launcher> {
        Arc::new(Launcher {
            start: Instant::now(),
            rate: target.connect_rate,
            permits: Semaphore::new(target.connect_concurrency.max(1)),
        })
    }

    /// Waits until attempt number `n` (over the whole run, from 0) is due.
    pub async fn pace(&self, n: usize) {
        if self.rate > 0.0 {
            sleep_until(self.start + Duration::from_secs_f64(n as f64 / self.rate)).await;
        }
    }

    /// Connects with `options` once a permit is free, counting the outcome in `shared`.
    pub async fn connect(&self, options: &ConnectOptions, shared: &Shared) -> Result<Client, ClientError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let began = Instant::now();
        match Client::connect(options).await {
            Ok((client, _connack)) => {
                let us = began.elapsed().as_micros() as u64;
                shared.connect_latency.record(0, &[us]);
                shared.connected.fetch_add(1, Ordering::Relaxed);
                Ok(client)
            }
            Err(e) => {
                shared.connect_failures.fetch_add(1, Ordering::Relaxed);
                shared.errors.record(e.to_string());
                let _ = shared.first_connect_error.set((&e).into());
                Err(e)
            }
        }
    }
}

/// Disconnects politely, giving up after a few seconds (the broker may be gone).
pub async fn close(client: Client) {
    let _ = tokio::time::timeout(
        Duration::from_secs(3),
        client.disconnect(crate::protocol::Disconnect::default()),
    )
    .await;
}
