//! Broker state shared by all connections: sessions, the subscription trie, retained messages.
//!
//! Lock order, to stay free of deadlocks: the sessions map, then the trie, then a session's state.
//! No lock is held across an `.await`.

pub mod message;
pub mod retain;
pub mod session;
pub mod trie;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

pub use message::{Delivery, Message};
use retain::RetainStore;
pub use session::{ConnLink, Enqueued, QueueLimits, Session, Subscription};
use trie::{Subscriber, SubscriptionTrie};

use crate::protocol::{reason, topic, QoS, RetainHandling, SubscriptionOptions, Will};
use crate::server::metrics::Metrics;

/// What the broker needs to know from the configuration.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Per-session queue bounds.
    pub queue_limits: QueueLimits,
}

/// Result of attaching a connection to its session.
#[derive(Debug)]
pub struct Attached {
    /// The session, new or resumed.
    pub session: Arc<Session>,
    /// Whether an existing session was resumed [MQTT-3.2.2-2].
    pub session_present: bool,
    /// The session's generation for this connection.
    pub generation: u64,
}

/// All broker state.
#[derive(Debug)]
pub struct Broker {
    config: BrokerConfig,
    sessions: Mutex<HashMap<Arc<str>, Arc<Session>>>,
    trie: RwLock<SubscriptionTrie>,
    retained: RwLock<RetainStore>,
    /// Broker-wide counters.
    pub metrics: Metrics,
    next_connection: AtomicU64,
    next_client_id: AtomicU64,
    /// When the broker started.
    pub started: Instant,
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Broker {
    /// An empty broker.
    pub fn new(config: BrokerConfig) -> Arc<Broker> {
        Arc::new(Broker {
            config,
            sessions: Mutex::new(HashMap::new()),
            trie: RwLock::new(SubscriptionTrie::default()),
            retained: RwLock::new(RetainStore::default()),
            metrics: Metrics::default(),
            next_connection: AtomicU64::new(1),
            next_client_id: AtomicU64::new(1),
            started: Instant::now(),
        })
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<Arc<str>, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A number for a new connection, unique for the broker's life.
    pub fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// A client identifier for a client that sent an empty one [MQTT-3.1.3-6].
    pub fn assign_client_id(&self) -> Arc<str> {
        let n = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        let nanos = self.started.elapsed().as_nanos() as u64;
        format!("auto-{:x}-{n}", nanos ^ (std::process::id() as u64) << 32).into()
    }

    /// Attaches a connection to the client's session, taking it over from any connection that
    /// holds it [MQTT-3.1.4-3], and discarding it first on clean start [MQTT-3.1.2-4].
    pub fn attach(
        &self,
        client_id: &Arc<str>,
        clean_start: bool,
        expiry_interval: u32,
        link: ConnLink,
    ) -> Attached {
        let mut sessions = self.sessions();
        let existing = sessions.get(client_id).cloned();
        if let Some(old) = &existing {
            let mut st = old.lock();
            if let Some(mut conn) = st.conn.take() {
                if let Some(kick) = conn.kick.take() {
                    let _ = kick.send(reason::SESSION_TAKEN_OVER);
                }
            }
        }
        let (session, present) = match existing {
            Some(old) if !clean_start => (old, true),
            other => {
                if let Some(old) = other {
                    self.drop_subscriptions(&old);
                }
                let fresh = Arc::new(Session::new(
                    client_id.clone(),
                    expiry_interval,
                    self.config.queue_limits,
                ));
                sessions.insert(client_id.clone(), fresh.clone());
                (fresh, false)
            }
        };
        let generation = {
            let mut st = session.lock();
            st.generation += 1;
            st.expiry_interval = expiry_interval;
            st.conn = Some(link);
            st.generation
        };
        Attached {
            session,
            session_present: present,
            generation,
        }
    }

    /// Detaches a closed connection. A session with no expiry interval ends now; others wait
    /// offline until their interval runs out or the client comes back.
    pub fn detach(self: &Arc<Self>, session: &Arc<Session>, connection_id: u64) {
        let (expiry, generation) = {
            let mut st = session.lock();
            if st.conn.as_ref().map(|c| c.id) != Some(connection_id) {
                // Taken over: the session now belongs to a newer connection.
                return;
            }
            st.conn = None;
            (st.expiry_interval, st.generation)
        };
        match expiry {
            0 => self.end_session(session, generation),
            u32::MAX => {}
            secs => {
                let broker = self.clone();
                let session = session.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(secs as u64)).await;
                    broker.end_session(&session, generation);
                });
            }
        }
    }

    /// Removes a session if it is still offline at `generation`.
    fn end_session(&self, session: &Arc<Session>, generation: u64) {
        let mut sessions = self.sessions();
        {
            let st = session.lock();
            if st.generation != generation || st.conn.is_some() {
                return;
            }
        }
        if sessions
            .get(&session.client_id)
            .is_some_and(|s| Arc::ptr_eq(s, session))
        {
            sessions.remove(&session.client_id);
        }
        drop(sessions);
        self.drop_subscriptions(session);
    }

    fn drop_subscriptions(&self, session: &Arc<Session>) {
        let filters: Vec<Arc<str>> = session.lock().subscriptions.drain().map(|(f, _)| f).collect();
        let mut trie = write(&self.trie);
        for filter in filters {
            if let Some(parsed) = topic::parse_filter(&filter) {
                trie.remove(parsed.filter, parsed.share_group, session);
            }
        }
    }

    /// Adds or replaces a subscription; returns whether one existed for that filter.
    pub fn subscribe(&self, session: &Arc<Session>, filter: &Arc<str>, subscription: Subscription) -> bool {
        let Some(parsed) = topic::parse_filter(filter) else {
            return false;
        };
        let existed = session
            .lock()
            .subscriptions
            .insert(filter.clone(), subscription)
            .is_some();
        write(&self.trie).insert(
            parsed.filter,
            parsed.share_group,
            Subscriber {
                session: session.clone(),
                subscription,
            },
        );
        existed
    }

    /// Removes a subscription; returns whether it existed.
    pub fn unsubscribe(&self, session: &Arc<Session>, filter: &Arc<str>) -> bool {
        let Some(parsed) = topic::parse_filter(filter) else {
            return false;
        };
        let existed = session.lock().subscriptions.remove(filter).is_some();
        write(&self.trie).remove(parsed.filter, parsed.share_group, session);
        existed
    }

    /// Retained messages to send for a new subscription, per its retain handling
    /// [MQTT-3.3.1-9], [MQTT-3.8.4-4].
    pub fn retained_for(
        &self,
        filter: &str,
        options: &SubscriptionOptions,
        existed: bool,
    ) -> Vec<Arc<Message>> {
        match (options.retain_handling, existed) {
            (RetainHandling::Never, _) | (RetainHandling::SendIfNew, true) => Vec::new(),
            _ => match topic::parse_filter(filter) {
                // [MQTT-3.8.4-] retained messages are not sent for shared subscriptions
                Some(p) if p.share_group.is_none() => read(&self.retained).matching(p.filter),
                _ => Vec::new(),
            },
        }
    }

    /// Publishes a message: updates the retained store and delivers it to every matching
    /// session once, at the highest QoS of its matching subscriptions, with all their
    /// identifiers. Returns how many sessions took it.
    pub fn publish(&self, message: Message) -> usize {
        let message = Arc::new(message);
        if message.retain {
            write(&self.retained).apply(&message);
        }
        let trie = read(&self.trie);
        let mut targets: Vec<(&Arc<Session>, QoS, bool, Option<u32>)> = Vec::new();
        let mut delivered = 0;
        trie.for_each_match(&message.topic, |m| {
            let sub = m.subscriber.subscription;
            let session = &m.subscriber.session;
            // [MQTT-3.8.3-3] no local: not back to the publisher
            if sub.options.no_local && message.publisher.as_deref() == Some(&*session.client_id) {
                return;
            }
            let qos = message.qos.min(sub.options.qos);
            // [MQTT-3.3.1-12]/[MQTT-3.3.1-13] RETAIN is kept only with retain-as-published
            let retain = sub.options.retain_as_published && message.retain;
            if m.shared {
                let delivery = Delivery {
                    message: message.clone(),
                    qos,
                    retain,
                    subscription_ids: sub.id.into_iter().collect(),
                };
                if session.enqueue(delivery, &self.metrics) == Enqueued::Queued {
                    delivered += 1;
                }
            } else {
                targets.push((session, qos, retain, sub.id));
            }
        });
        if targets.len() > 1 {
            targets.sort_by_key(|t| Arc::as_ptr(t.0));
        }
        let mut i = 0;
        while i < targets.len() {
            let (session, mut qos, mut retain, id) = targets[i];
            let mut ids: Vec<u32> = id.into_iter().collect();
            let mut j = i + 1;
            // Overlapping subscriptions: one copy, the highest QoS, every identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3]
            while j < targets.len() && Arc::ptr_eq(targets[j].0, session) {
                qos = qos.max(targets[j].1);
                retain |= targets[j].2;
                ids.extend(targets[j].3);
                j += 1;
            }
            let delivery = Delivery {
                message: message.clone(),
                qos,
                retain,
                subscription_ids: ids,
            };
            if session.enqueue(delivery, &self.metrics) == Enqueued::Queued {
                delivered += 1;
            }
            i = j;
        }
        delivered
    }

    /// Publishes a will message, now or after its delay if the session is still offline then
    /// [MQTT-3.1.3-9].
    pub fn publish_will(self: &Arc<Self>, will: Will, session: &Arc<Session>, generation: u64) {
        let delay = {
            let st = session.lock();
            will.delay_interval.min(st.expiry_interval)
        };
        let message = Message::from_will(will, Some(session.client_id.clone()));
        if delay == 0 {
            self.publish(message);
            return;
        }
        let broker = self.clone();
        let session = session.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(delay as u64)).await;
            let reconnected = {
                let st = session.lock();
                st.generation != generation || st.conn.is_some()
            };
            if !reconnected {
                broker.publish(message);
            }
        });
    }

    /// Drops expired retained messages; returns how many went.
    pub fn prune_retained(&self) -> usize {
        write(&self.retained).prune_expired()
    }

    /// Figures for `$SYS` that are read from the tables rather than counted.
    pub fn census(&self) -> Census {
        let sessions: Vec<Arc<Session>> = self.sessions().values().cloned().collect();
        let queued = sessions.iter().map(|s| s.lock().pending()).sum();
        Census {
            sessions: sessions.len(),
            subscriptions: read(&self.trie).len(),
            retained: read(&self.retained).len(),
            queued_messages: queued,
        }
    }
}

/// Table sizes at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Census {
    /// Sessions, online and offline.
    pub sessions: usize,
    /// Subscriptions over all sessions.
    pub subscriptions: usize,
    /// Retained messages.
    pub retained: usize,
    /// Messages queued or in flight over all sessions.
    pub queued_messages: usize,
}
