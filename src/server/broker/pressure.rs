//! The broker at its memory budget: subscribers that stalled give back what their queues hold,
//! so that memory they will not use cannot hold every publisher back for good.
//!
//! Publishers held back at `max_memory` wait for queues to drain. Queues of subscribers that
//! make progress do; those of stalled ones do not, so once a second, while the budget is
//! exceeded, a stalled subscriber's queued QoS 0 messages are shed and, for a session that
//! ends with its connection, its queued QoS 1/2 messages are dropped and counted, as the
//! stalled-subscriber policy says. A persistent session keeps its queue (its messages are in
//! the store).
//!
//! It also gives memory back to the operating system after a burst: glibc's allocator keeps
//! what was freed for reuse, so the broker's RSS stayed at its peak (128 MiB an hour after a
//! QoS 0 flood that queued 180 MiB). When what the broker holds has fallen well below its
//! recent high, and every half minute anyway (connections come and go without touching the
//! queues' figure), the allocator is asked to return its free pages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::Broker;

/// How often the budget is looked at.
const INTERVAL: Duration = Duration::from_secs(1);
/// A fall of the budget's figure by this much since its high asks for memory back at once.
const TRIM_AFTER_FALL: usize = 16 * 1024 * 1024;
/// Ticks between requests for memory back when nothing fell that much.
const TRIM_EVERY: u32 = 30;

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
    let mut high = 0usize;
    let mut ticks = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let used = broker.memory.used();
                high = high.max(used);
                ticks += 1;
                if high - used >= TRIM_AFTER_FALL || ticks >= TRIM_EVERY {
                    high = used;
                    ticks = 0;
                    // It walks the allocator's arenas: not on a runtime thread.
                    tokio::task::spawn_blocking(give_memory_back);
                }
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

/// Asks the allocator to return the free pages it keeps to the operating system.
#[allow(unsafe_code)] // malloc_trim has no safe wrapper.
fn give_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free; it takes its own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
