//! The broker at its memory budget: subscribers that stalled give back what their queues hold,
//! so that memory they will not use cannot hold every publisher back for good.
//!
//! Publishers held back at `max_memory` wait for queues to drain. Queues of subscribers that
//! make progress do; those of stalled ones do not, so once a second, while the budget is
//! exceeded, a stalled subscriber's queued QoS 0 messages are shed and, for a session that
//! ends with its connection, its queued QoS 1/2 messages are dropped and counted, as the
//! stalled-subscriber policy says. A persistent session keeps its queue (its messages are in
//! the store).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::Broker;

/// How often the budget is looked at.
const INTERVAL: Duration = Duration::from_secs(1);

impl Broker {
    /// When memory is over the budget, empties what stalled subscribers hold as described
    /// above; returns how many messages went.
    pub fn shed_stalled(&self, now: Instant) -> usize {
        if !self.memory.over(0) {
            return 0;
        }
        self.sessions_snapshot()
            .iter()
            .map(|session| {
                session
                    .lock()
                    .shed_if_stalled(&session.client_id, &self.metrics, now)
            })
            .sum()
    }
}

/// Looks at the budget every second until shutdown.
pub async fn run(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let shed = broker.shed_stalled(Instant::now());
                if shed > 0 {
                    tracing::warn!(
                        messages = shed,
                        memory_used = broker.memory.used(),
                        max_memory = broker.memory.max(),
                        "at limits.max_memory: dropped what stalled subscribers had queued"
                    );
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
