//! Rebuilding the broker from the store at start: sessions, their queues and subscriptions,
//! retained messages; expired state is dropped and wills that fell due are published.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::clock;
use super::records::{self, message_from_record};
use super::timers::Slot;
use super::{write, Broker, Message, Session, Subscriber};
use crate::protocol::topic;
use crate::store::Loaded;

/// What a restore brought back, for the start-up log line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Restored {
    /// Sessions resumed.
    pub sessions: usize,
    /// Messages queued or in flight for them.
    pub queued: usize,
    /// Retained messages.
    pub retained: usize,
    /// Sessions, messages and retained messages dropped because they expired meanwhile.
    pub expired: usize,
    /// Wills published because their delay or session ended while the broker was down, or
    /// waiting for the rest of their delay.
    pub wills: usize,
}

fn remaining_secs(since_ms: u64, interval_secs: u32, now_ms: u64) -> Option<u64> {
    let end = since_ms.saturating_add(interval_secs as u64 * 1000);
    end.checked_sub(now_ms)
        .filter(|left| *left > 0)
        .map(|left| left.div_ceil(1000))
}

impl Broker {
    /// Loads what the store kept. Call once, before the listeners start.
    pub fn restore(self: &Arc<Self>, loaded: Loaded) -> Restored {
        let now_ms = clock::now_ms();
        let mut restored = Restored::default();
        let mut cleanup = Vec::new();
        let mut due_wills = Vec::new();
        for ls in loaded.sessions {
            let record = ls.session;
            let client_id: Arc<str> = record.client_id.as_str().into();
            // A session whose connection was open when the broker stopped went offline then.
            let offline_since = record.offline_since_ms.unwrap_or(now_ms);
            let will = record.will.clone();
            let left = match record.expiry_interval {
                u32::MAX => Some(u64::MAX),
                secs => remaining_secs(offline_since, secs, now_ms),
            };
            let Some(left) = left else {
                restored.expired += 1;
                cleanup.push(records::delete_session(&record.client_id));
                if let Some(w) = will {
                    due_wills.push(Message::from_will(records::will_from_record(w), Some(client_id)));
                }
                continue;
            };
            let session = Arc::new(Session::new(
                client_id.clone(),
                record.expiry_interval,
                self.queue_limits(),
                self.memory.clone(),
            ));
            {
                let mut state = session.lock();
                state.stored = true;
                state.offline_since_ms = Some(offline_since);
                state.stored_will = record.will.map(Box::new);
                state.owner = record.owner;
                for sub in record.subscriptions {
                    let (filter, subscription) = records::subscription_from_record(sub);
                    if let Some(parsed) = topic::parse_filter(&filter) {
                        write(&self.trie).insert(
                            parsed.filter,
                            parsed.share_group,
                            Subscriber {
                                session: session.clone(),
                                subscription,
                            },
                        );
                        state.subscriptions.insert(filter, subscription);
                    }
                }
                let now = std::time::Instant::now();
                for (seq, d) in ls.deliveries {
                    let (delivery, flow) = records::delivery_from_record(seq, d);
                    if delivery.message.is_expired(now) {
                        restored.expired += 1;
                        cleanup.push(records::delete_delivery(&record.client_id, seq));
                        continue;
                    }
                    self.metrics
                        .store_bytes
                        .fetch_add(delivery.message.size() as u64, Ordering::Relaxed);
                    state.restore_delivery(delivery, flow);
                    restored.queued += 1;
                }
                state.incoming_qos2.extend(ls.incoming_qos2);
            }
            if let Some(w) = will {
                let delay = w.delay_interval.min(record.expiry_interval);
                let will = records::will_from_record(w);
                match remaining_secs(offline_since, delay, now_ms) {
                    Some(secs) => {
                        restored.wills += 1;
                        self.timers
                            .arm(&session, 0, Slot::Will, Duration::from_secs(secs), Some(will));
                    }
                    None => {
                        // Its delay ran out while the broker was down: out now, and out of the record.
                        let mut state = session.lock();
                        state.stored_will = None;
                        cleanup.extend(self.session_op(&session, &mut state));
                        due_wills.push(Message::from_will(will, Some(client_id.clone())));
                    }
                }
            }
            if left != u64::MAX {
                self.timers
                    .arm(&session, 0, Slot::Expiry, Duration::from_secs(left), None);
            }
            self.sessions().insert(client_id, session);
            restored.sessions += 1;
        }
        let now = std::time::Instant::now();
        for record in loaded.retained {
            let message = message_from_record(record);
            if message.is_expired(now) {
                restored.expired += 1;
                cleanup.push(records::delete_retained(&message.topic));
                continue;
            }
            write(&self.retained).apply(&Arc::new(message));
            restored.retained += 1;
        }
        self.commit(cleanup, None, Vec::new());
        // Wills go out once every session is back, so their subscribers receive them.
        for message in due_wills {
            restored.wills += 1;
            self.publish(message, super::Changes::default(), None);
        }
        restored
    }
}

#[cfg(test)]
mod tests {
    use super::remaining_secs;

    #[test]
    fn remaining_time_rounds_up_and_ends_at_zero() {
        assert_eq!(remaining_secs(1_000, 10, 1_000), Some(10));
        assert_eq!(remaining_secs(1_000, 10, 10_500), Some(1));
        assert_eq!(remaining_secs(1_000, 10, 11_000), None);
        assert_eq!(remaining_secs(1_000, 0, 1_000), None);
    }
}
