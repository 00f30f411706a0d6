//! Broker state shared by all connections: sessions, the subscription trie, retained messages.
//!
//! Lock order, to stay free of deadlocks: the sessions map, then the trie, then a session's state.
//! No lock is held across an `.await`.

mod acks;
pub mod aliases;
pub mod bridge_rules;
pub mod bridges;
pub mod clock;
pub mod gate;
pub mod keepalive;
pub mod lifecycle;
pub mod memory;
pub mod message;
mod outbound;
pub mod pressure;
mod publish;
pub mod queue;
mod records;
pub mod removal;
mod restore;
pub mod retain;
pub mod session;
pub mod spill;
mod subscriptions;
#[cfg(test)]
mod test_support;
pub mod timers;
pub mod trie;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use lifecycle::{Action, Event, Phase};
use timers::{Slot, Timers};

pub use acks::{AckKind, PubrecReply, Qos2Received, Released, WrongAck};
pub use gate::{Gate, GateState};
pub use memory::MemoryBudget;
pub use message::{Delivery, Message};
pub use outbound::{Filled, OutPhase, Outgoing};
pub use publish::{AccessCheck, Published};
pub use restore::Restored;
use retain::RetainStore;
pub use session::{ConnLink, Enqueued, QueueLimits, Session, SessionState, Subscription};
use trie::{Subscriber, SubscriptionTrie};

use crate::protocol::{ReasonCode, Will};
use crate::server::metrics::Metrics;
use crate::store::{Op, Store, StoredOwner};

/// How long a new connection waits for the one it takes over to close: it handles what it had
/// already received first. One that does not close in time (its task stuck in a write) is
/// taken over regardless.
const TAKEOVER_WAIT: Duration = Duration::from_secs(2);

/// What the broker needs to know from the configuration.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Per-session queue bounds.
    pub queue_limits: Arc<QueueLimits>,
    /// Bytes of queued messages and connection buffers the whole broker may hold
    /// (`limits.max_memory`).
    pub max_memory: usize,
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
    /// Opens when the session's record is committed; CONNACK waits for it.
    pub gate: Arc<Gate>,
}

/// State changes that must reach the store, gathered while a packet is handled and committed
/// together (or with the message they belong to). Only the broker looks inside.
#[derive(Debug, Default)]
pub struct Changes(Vec<Op>);

impl Changes {
    /// Whether there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// All broker state.
pub struct Broker {
    /// The queue bounds new sessions get; SIGHUP replaces them ([`Broker::set_queue_limits`]).
    queue_limits: std::sync::RwLock<Arc<QueueLimits>>,
    sessions: Mutex<HashMap<Arc<str>, Arc<Session>>>,
    trie: RwLock<SubscriptionTrie>,
    retained: RwLock<RetainStore>,
    store: Option<Store>,
    /// What queues and connection buffers hold against `limits.max_memory`.
    pub memory: Arc<MemoryBudget>,
    /// Broker-wide counters.
    pub metrics: Metrics,
    next_connection: AtomicU64,
    next_client_id: AtomicU64,
    /// Set, under the sessions lock, once the server is shutting down: a connection attached
    /// after that is told to go at once.
    closing: AtomicBool,
    /// When the broker started.
    pub started: Instant,
    /// The ACL's say on deliveries and wills, when one is configured.
    access: std::sync::OnceLock<Arc<dyn AccessCheck>>,
    /// Will delays and session expiries of offline sessions.
    pub timers: Timers,
    /// Woken each time a connection detaches, for the takeovers that wait for one.
    detached: tokio::sync::Notify,
    /// The bridges' figures.
    pub bridges: bridges::Bridges,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("durable", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Broker {
    /// An empty broker; with a store, every state change that must survive is committed there.
    pub fn new(config: BrokerConfig, store: Option<Store>) -> Arc<Broker> {
        Arc::new(Broker {
            memory: MemoryBudget::new(config.max_memory),
            queue_limits: std::sync::RwLock::new(config.queue_limits),
            sessions: Mutex::new(HashMap::new()),
            trie: RwLock::new(SubscriptionTrie::default()),
            retained: RwLock::new(RetainStore::default()),
            store,
            metrics: Metrics::default(),
            next_connection: AtomicU64::new(1),
            next_client_id: AtomicU64::new(1),
            closing: AtomicBool::new(false),
            started: Instant::now(),
            access: std::sync::OnceLock::new(),
            timers: Timers::default(),
            detached: tokio::sync::Notify::new(),
            bridges: Default::default(),
        })
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<Arc<str>, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store, when the broker is durable.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Commits `changes`, then wakes `notify`'s connection; returns the gate to wait on when
    /// there was something to commit.
    pub fn commit_changes(&self, changes: Changes, notify: Option<&Arc<Session>>) -> Option<Arc<Gate>> {
        let gate = (!changes.is_empty()).then(Gate::new);
        self.commit(changes.0, gate.clone(), notify.cloned());
        gate
    }

    /// Commits `ops`; then settles `gate` and wakes the connections of `notify`. Without ops
    /// (or without a store) that happens at once.
    fn commit<N>(&self, ops: Vec<Op>, gate: Option<Arc<Gate>>, notify: N)
    where
        N: IntoIterator<Item = Arc<Session>> + Send + 'static,
    {
        self.commit_as(ops, gate, notify, false);
    }

    /// [`Broker::commit`] for what adds data (a new message): while the disk is full the
    /// store refuses it at once, and `gate` fails.
    fn commit_refusable<N>(&self, ops: Vec<Op>, gate: Option<Arc<Gate>>, notify: N)
    where
        N: IntoIterator<Item = Arc<Session>> + Send + 'static,
    {
        self.commit_as(ops, gate, notify, true);
    }

    fn commit_as<N>(&self, ops: Vec<Op>, gate: Option<Arc<Gate>>, notify: N, refusable: bool)
    where
        N: IntoIterator<Item = Arc<Session>> + Send + 'static,
    {
        match &self.store {
            Some(store) if !ops.is_empty() => {
                let submitted = Instant::now();
                let latency = self.metrics.store_commit.clone();
                let submit = if refusable {
                    Store::submit_refusable
                } else {
                    Store::submit
                };
                submit(
                    store,
                    ops,
                    Some(Box::new(move |ok| {
                        if ok {
                            latency.observe(submitted.elapsed());
                        }
                        if let Some(gate) = gate {
                            gate.settle(ok);
                        }
                        for session in notify {
                            session.notify.notify_one();
                        }
                    })),
                )
            }
            _ => {
                if let Some(gate) = gate {
                    gate.settle(true);
                }
                for session in notify {
                    session.notify.notify_one();
                }
            }
        }
    }

    /// Whether the store's disk is full, so that new messages that must be stored are refused.
    pub fn store_full(&self) -> bool {
        self.store.as_ref().is_some_and(Store::is_full)
    }

    /// Blocks until everything submitted to the store so far is on disk.
    pub fn flush_store(&self) {
        if let Some(store) = &self.store {
            store.flush();
        }
    }

    /// Milliseconds since the broker started: the clock of keep alive.
    pub fn clock_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
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

    /// Marks the session as no longer in the store and takes its queued bytes off the store
    /// gauge; true if it was stored (its record must then be deleted).
    fn unstore(&self, state: &mut SessionState) -> bool {
        if !std::mem::take(&mut state.stored) {
            return false;
        }
        let bytes = state.forget_durable();
        self.metrics.store_bytes.fetch_sub(bytes, Ordering::Relaxed);
        true
    }

    /// The op that brings the session's record up to date: put while it is durable, delete
    /// once it no longer is.
    fn session_op(&self, session: &Session, state: &mut SessionState) -> Option<Op> {
        self.store.as_ref()?;
        // What the session spilled into the store is read back from its records: they stay
        // until it has been, even once the session no longer outlives its connection.
        if state.expiry_interval > 0 || state.spilled().0 > 0 {
            state.stored = true;
            Some(records::put_session(&session.client_id, state))
        } else if self.unstore(state) {
            Some(records::delete_session(&session.client_id))
        } else {
            None
        }
    }

    /// Tells the connection holding `client_id`'s session, if any, to go, and waits until it
    /// has detached: what it had already received (a DISCONNECT, say) is handled before a new
    /// connection attaches [MQTT-3.14.4-3], and so decides the will and whether the session
    /// outlives it [MQTT-3.1.2-6]. Gives up after [`TAKEOVER_WAIT`].
    pub async fn take_over(&self, client_id: &str) {
        let deadline = tokio::time::Instant::now() + TAKEOVER_WAIT;
        loop {
            let detached = self.detached.notified();
            tokio::pin!(detached);
            // Registered before the look, so that a detach right after it still wakes us.
            detached.as_mut().enable();
            {
                let Some(session) = self.session(client_id) else {
                    return;
                };
                let state = session.lock();
                let Some(conn) = state.conn.as_ref() else {
                    return;
                };
                conn.stats.kick.send(ReasonCode::SESSION_TAKEN_OVER);
            }
            if tokio::time::timeout_at(deadline, detached).await.is_err() {
                return;
            }
        }
    }

    /// Attaches a connection to the client's session, resuming it or starting a new one as
    /// [`lifecycle::step`] decides: discarded on clean start [MQTT-3.1.2-4], and never resumed
    /// from a connection it was to end with [MQTT-3.1.2-6]. A connection still holding the
    /// session (see [`Broker::take_over`]) is told to go [MQTT-3.1.4-3].
    pub fn attach(
        &self,
        client_id: &Arc<str>,
        clean_start: bool,
        expiry_interval: u32,
        will: Option<&Will>,
        link: ConnLink,
    ) -> Attached {
        let mut ops = Vec::new();
        let mut sessions = self.sessions();
        let existing = sessions.get(client_id).cloned();
        let mut pending_will = None;
        let phase = match &existing {
            None => Phase::Ended,
            Some(old) => {
                let mut state = old.lock();
                match state.conn.take() {
                    Some(conn) => {
                        // Its will goes out when it closes, as a takeover's does.
                        conn.stats.kick.send(ReasonCode::SESSION_TAKEN_OVER);
                        Phase::Connected {
                            expiry: state.expiry_interval,
                        }
                    }
                    None => {
                        let generation = state.generation;
                        drop(state);
                        // The client is back or the session ends: either way its timers go
                        // now, and whether a will was waiting decides the step.
                        pending_will = self.timers.cancel(old, generation);
                        Phase::Offline {
                            will_pending: pending_will.is_some(),
                        }
                    }
                }
            }
        };
        let mut resume = false;
        let mut due_will = None;
        for action in lifecycle::step(
            phase,
            Event::Attach {
                clean_start,
                expiry: expiry_interval,
            },
        )
        .1
        {
            match action {
                Action::PublishWill => due_will = pending_will.take(),
                Action::Discard => {
                    if let Some(old) = &existing {
                        if self.unstore(&mut old.lock()) {
                            ops.push(records::delete_session(client_id));
                        }
                        self.drop_subscriptions(old);
                    }
                }
                Action::Resume => resume = true,
                Action::CancelTimers | Action::Fresh => {}
                Action::ArmWill(_) | Action::ArmExpiry(_) | Action::End => {}
            }
        }
        let mut discarded = None;
        let (session, present) = match existing {
            Some(old) if resume => (old, true),
            other => {
                discarded = other;
                let fresh = Arc::new(Session::new(
                    client_id.clone(),
                    expiry_interval,
                    self.queue_limits(),
                    self.memory.clone(),
                ));
                sessions.insert(client_id.clone(), fresh.clone());
                (fresh, false)
            }
        };
        // Linked before the sessions lock goes, so that `disconnect_all` either finds the
        // connection here or the connection finds `closing` set.
        let generation = {
            let mut state = session.lock();
            state.generation += 1;
            state.expiry_interval = expiry_interval;
            state.owner = match &link.username {
                Some(name) => StoredOwner::User(name.to_string()),
                None => StoredOwner::Anonymous,
            };
            if self.closing.load(Ordering::Relaxed) {
                link.stats.kick.send(ReasonCode::SERVER_SHUTTING_DOWN);
            }
            state.conn = Some(link);
            state.queue.set_offline(false);
            state.offline_since_ms = None;
            state.stored_will = will.map(|w| Box::new(records::will_record(w, client_id)));
            ops.extend(self.session_op(&session, &mut state));
            state.generation
        };
        drop(sessions);
        if let (Some(will), Some(old)) = (due_will, &discarded) {
            // Published as the ended session's: the ACL knows whose it was.
            self.release_will(old, will);
        }
        // Its queue and state go now, not when some timer would have fired.
        drop(discarded);
        let gate = Gate::new();
        self.commit(ops, Some(gate.clone()), vec![session.clone()]);
        Attached {
            session,
            session_present: present,
            generation,
            gate,
        }
    }

    /// Tells every connected client, and any that attaches from now on, to go with `code`
    /// (server shutdown). Connections watch their session rather than a shutdown signal
    /// of their own: an idle connection's task is smaller for it.
    pub fn disconnect_all(&self, code: ReasonCode) {
        let sessions = self.sessions();
        self.closing.store(true, Ordering::Relaxed);
        for session in sessions.values() {
            if let Some(conn) = session.lock().conn.as_ref() {
                conn.stats.kick.send(code);
            }
        }
    }

    /// Bounds `session`'s queue by `max_bytes` alone and has the oldest deliveries make room
    /// past it while nobody drains the queue (a bridge's queue for its remote, whose newest
    /// messages are the ones worth keeping through an outage); the other bounds stay the
    /// broker's.
    pub fn bound_queue_dropping_oldest(&self, session: &Session, max_bytes: u64) {
        session.lock().limits = Arc::new(QueueLimits {
            max_messages: usize::MAX,
            max_bytes: max_bytes.min(usize::MAX as u64) as usize,
            drop_oldest: true,
            ..*self.queue_limits()
        });
    }

    /// The queue bounds a new session gets.
    pub fn queue_limits(&self) -> Arc<QueueLimits> {
        self.queue_limits
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Bounds for the sessions created from now on (SIGHUP); existing sessions keep theirs.
    pub fn set_queue_limits(&self, limits: QueueLimits) {
        *self.queue_limits.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(limits);
    }

    /// Detaches a closed connection. `will` is the will it still holds (none after DISCONNECT
    /// 0x00). As [`lifecycle::step`] decides, the will goes out now or after its delay, and the
    /// session ends now (expiry 0) or waits offline for its client or its expiry.
    pub fn detach(&self, session: &Arc<Session>, connection_id: u64, will: Option<Will>) {
        let mut will = will;
        let mut state = session.lock();
        if state.conn.as_ref().map(|c| c.id) != Some(connection_id) {
            // Taken over without waiting for this close: the session is the new connection's
            // and no delay can be cancelled by it any more.
            drop(state);
            if let Some(will) = will {
                self.release_will(session, will);
            }
            self.detached.notify_waiters();
            return;
        }
        state.conn = None;
        state.queue.set_offline(true);
        // An offline session holds no publisher back.
        state.wake_waiters();
        state.offline_since_ms = Some(clock::now_ms());
        let generation = state.generation;
        let expiry = state.expiry_interval;
        let closed = Event::Closed {
            will_delay: will.as_ref().map(|w| w.delay_interval),
            expiry,
        };
        let (_, actions) = lifecycle::step(Phase::Connected { expiry }, closed);
        if !actions.iter().any(|a| matches!(a, Action::ArmWill(_))) {
            state.stored_will = None;
        }
        let ops: Vec<Op> = if expiry > 0 {
            self.session_op(session, &mut state).into_iter().collect()
        } else {
            Vec::new()
        };
        // Armed before the session lock goes: a new connection for the client, which looks
        // at the session under that lock, then finds them to cancel, instead of their being
        // armed after it attached (the timers' lock comes after a session's).
        for action in &actions {
            match *action {
                Action::ArmWill(secs) => self.timers.arm(
                    session,
                    generation,
                    Slot::Will,
                    Duration::from_secs(secs.into()),
                    will.take(),
                ),
                Action::ArmExpiry(secs) => self.timers.arm(
                    session,
                    generation,
                    Slot::Expiry,
                    Duration::from_secs(secs.into()),
                    None,
                ),
                _ => {}
            }
        }
        drop(state);
        self.commit(ops, None, Vec::new());
        for action in actions {
            match action {
                Action::PublishWill => {
                    if let Some(will) = will.take() {
                        self.release_will(session, will);
                    }
                }
                Action::End => {
                    self.end_session(session, generation);
                }
                Action::ArmWill(_)
                | Action::ArmExpiry(_)
                | Action::CancelTimers
                | Action::Discard
                | Action::Resume
                | Action::Fresh => {}
            }
        }
        self.detached.notify_waiters();
    }

    /// Removes a session if it is still offline at `generation`, with its timers; a will still
    /// waiting for its delay goes out, the session having ended (v5 3.1.3.2.2). Returns
    /// whether it did.
    fn end_session(&self, session: &Arc<Session>, generation: u64) -> bool {
        let mut sessions = self.sessions();
        let stored = {
            let mut state = session.lock();
            if state.generation != generation || state.conn.is_some() {
                return false;
            }
            self.unstore(&mut state)
        };
        if sessions
            .get(&session.client_id)
            .is_some_and(|s| Arc::ptr_eq(s, session))
        {
            sessions.remove(&session.client_id);
        }
        drop(sessions);
        let pending_will = self.timers.cancel(session, generation);
        self.drop_subscriptions(session);
        if stored {
            let op = records::delete_session(&session.client_id);
            self.commit(vec![op], None, Vec::new());
        }
        let phase = Phase::Offline {
            will_pending: pending_will.is_some(),
        };
        if lifecycle::step(phase, Event::ExpiryDue)
            .1
            .contains(&Action::PublishWill)
        {
            if let Some(will) = pending_will {
                self.release_will(session, will);
            }
        }
        true
    }

    /// Publishes `session`'s will now, if the ACL allows its topic.
    fn release_will(&self, session: &Arc<Session>, will: Will) {
        let message = Message::from_will(will, Some(session.client_id.clone()));
        if self.will_allowed(session, &message.topic) {
            self.publish(message, Changes::default(), None);
        }
    }

    /// Publishes the will whose delay ran out, and takes it out of the session's record.
    fn will_due(&self, session: &Arc<Session>, will: Will) {
        let op = {
            let mut state = session.lock();
            state.stored_will = None;
            if state.is_durable() {
                self.session_op(session, &mut state)
            } else {
                None
            }
        };
        let message = Message::from_will(will, Some(session.client_id.clone()));
        // The ACL may have changed (SIGHUP) while the will waited.
        if self.will_allowed(session, &message.topic) {
            self.publish(message, Changes(op.into_iter().collect()), None);
        } else {
            self.commit(op.into_iter().collect(), None, Vec::new());
        }
    }

    /// Drops expired retained messages; returns how many went.
    pub fn prune_retained(&self) -> usize {
        write(&self.retained).prune_expired()
    }

    /// Every retained message not expired, in no particular order (the lock is held only to
    /// copy the handles).
    pub fn retained_snapshot(&self) -> Vec<Arc<Message>> {
        read(&self.retained).all()
    }

    /// The session of `client_id`, online or offline.
    pub fn session(&self, client_id: &str) -> Option<Arc<Session>> {
        self.sessions().get(client_id).cloned()
    }

    /// Every session at this moment (the map's lock is held only to copy the handles).
    pub fn sessions_snapshot(&self) -> Vec<Arc<Session>> {
        self.sessions().values().cloned().collect()
    }

    /// Figures for `$SYS` that are read from the tables rather than counted.
    pub fn census(&self) -> Census {
        let sessions = self.sessions_snapshot();
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
