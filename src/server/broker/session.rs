//! One client's session: subscriptions, the outbound queue and inflight window, QoS 2 state.
//!
//! The session outlives its connections. Publishers push deliveries into its queue; the
//! connection currently attached drains the queue into its write buffer.

use foldhash::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::aliases::OutAliases;
use super::bridge_rules::Rules;
use super::gate::Gate;
use super::memory::MemoryBudget;
use super::message::Delivery;
use super::outbound::{OutPhase, Outgoing};
use super::queue::OutQueue;
use super::records;
use super::spill::{Spill, REFILL_BELOW, WINDOW};
use crate::protocol::{QoS, ReasonCode, SubscriptionOptions, Version};
use crate::server::metrics::{add, ConnStats, Metrics};
use crate::store::{DeliveryState, Op, ReadError, Store, StoredDelivery, StoredOwner, StoredWill};

/// A subscription as the session remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    /// Options from SUBSCRIBE.
    pub options: SubscriptionOptions,
    /// v5 subscription identifier.
    pub id: Option<u32>,
}

/// Deliveries read at once to find the oldest of a queue that drops its oldest.
const OLDEST_PAGE: usize = 1024;

/// Queue bounds.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Most deliveries waiting in one session's queue.
    pub max_messages: usize,
    /// Most bytes waiting in one session's queue.
    pub max_bytes: usize,
    /// Most bytes of durable deliveries in the store, all sessions together.
    pub max_store_bytes: u64,
    /// How long a connected session may have messages waiting without sending any before it
    /// stops holding publishers back (`limits.stalled_after`).
    pub stalled_after: Duration,
    /// Past the bounds while nobody drains the queue, the oldest deliveries kept in the store
    /// make room for a new one, instead of the new one being dropped: a bridge's queue, where
    /// the newest messages are the ones worth forwarding after a long outage.
    pub drop_oldest: bool,
}

/// The connection a session is attached to. Dropped without being told why (the session
/// ended under it), the connection closes as taken over.
#[derive(Debug)]
pub struct ConnLink {
    /// Broker-wide connection number.
    pub id: u64,
    /// Protocol version of the connection.
    pub version: Version,
    /// The client's receive maximum: QoS 1/2 messages in flight at most.
    pub receive_maximum: u16,
    /// The client's maximum packet size.
    pub max_packet_size: usize,
    /// The connection's figures (address, counters), for the admin API, and its
    /// [`crate::server::kick::Kick`] to tell it to close.
    pub stats: Arc<ConnStats>,
    /// The user name the client authenticated with (`None`: anonymous).
    pub username: Option<Arc<str>>,
    /// Topic aliases given to the client, when it takes them (v5 Topic Alias Maximum > 0).
    pub aliases: Option<Box<OutAliases>>,
    /// A bridge's link to its remote broker: the topic rules that rename what goes out.
    pub rename: Option<Arc<Rules>>,
}

impl Drop for ConnLink {
    fn drop(&mut self) {
        self.stats.kick.send(ReasonCode::SESSION_TAKEN_OVER);
    }
}

/// Mutable session state, behind the session's mutex.
#[derive(Debug)]
pub struct SessionState {
    /// The attached connection, `None` while offline.
    pub(super) conn: Option<ConnLink>,
    /// Bumped at each attach, so timers armed for an older connection can tell.
    pub(super) generation: u64,
    /// Subscriptions by full filter (including any `$share/group/` prefix).
    pub(super) subscriptions: HashMap<Arc<str>, Subscription>,
    /// Deliveries not yet sent.
    pub(super) queue: OutQueue,
    /// Sent and unacknowledged QoS 1/2 messages by packet identifier.
    pub(super) outgoing: HashMap<u16, Outgoing>,
    pub(super) next_packet_id: u16,
    pub(super) next_seq: u64,
    /// Incoming QoS 2 packet identifiers awaiting PUBREL.
    pub(super) incoming_qos2: PacketIds,
    /// Session expiry interval in seconds; `u32::MAX` never expires.
    pub(super) expiry_interval: u32,
    /// Messages this session could not take.
    pub(super) dropped: u64,
    pub(super) drop_logged: bool,
    pub(super) limits: Arc<QueueLimits>,
    /// Next key for a durable delivery record.
    pub(super) next_store_seq: u64,
    /// Whether the store holds a record of this session.
    pub(super) stored: bool,
    /// The will as kept in the session record (while connected, or while a delayed will waits).
    pub(super) stored_will: Option<Box<StoredWill>>,
    /// When the session went offline (Unix ms), for its stored record.
    pub(super) offline_since_ms: Option<u64>,
    /// The user its client authenticated as, kept in the stored record so that ACL checks
    /// after a restart, before the client is back, know whose session it is.
    pub(super) owner: StoredOwner,
    /// Outgoing entries not yet sent (waiting on a gate).
    pub(super) unsent: usize,
    /// Publishers held back until this queue has room again (flow control).
    pub(super) waiters: Vec<Arc<Session>>,
    /// When the queue last moved: something was sent, or it went from empty to non-empty.
    pub(super) last_progress: Instant,
    /// Whether the session counts as stalled now (logged and counted once per stall).
    pub(super) stalled: bool,
    /// Durable deliveries kept only in the store (boxed on first use: most sessions never
    /// spill).
    pub(super) spill: Option<Box<Spill>>,
}

/// A client's session, shared between the broker's tables and the attached connection.
/// Packet ids of QoS 2 messages received and not yet released [MQTT-4.3.3-2]; nothing is
/// allocated until the first (most sessions never receive QoS 2).
#[derive(Debug, Default)]
pub struct PacketIds(Option<Box<HashSet<u16>>>);

impl PacketIds {
    /// Adds `id`; false if it was there already.
    pub fn insert(&mut self, id: u16) -> bool {
        self.0.get_or_insert_with(Default::default).insert(id)
    }

    /// Removes `id`; false if it was not there.
    pub fn remove(&mut self, id: &u16) -> bool {
        self.0.as_mut().is_some_and(|ids| ids.remove(id))
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |ids| ids.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Extend<u16> for PacketIds {
    fn extend<I: IntoIterator<Item = u16>>(&mut self, ids: I) {
        let mut ids = ids.into_iter().peekable();
        if ids.peek().is_some() {
            self.0.get_or_insert_with(Default::default).extend(ids);
        }
    }
}

/// A client's session: its identity and a lock over its state ([`SessionState`]), shared by
/// the broker, its connection and the timers.
#[derive(Debug)]
pub struct Session {
    /// Client identifier.
    pub client_id: Arc<str>,
    state: Mutex<SessionState>,
    /// Woken when the queue gains something to send.
    pub notify: Notify,
}

/// Outcome of offering a delivery to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Queued for sending.
    Queued,
    /// Queued past the session's bound or the memory budget: the publisher must wait until
    /// there is room again before it sends anything more (flow control).
    Paced,
    /// Not taken: the session's queue is full and it is offline or stalled, or the store is.
    Dropped,
    /// Not taken: QoS 0 is not kept for an offline session.
    Skipped,
    /// Queued past the bounds of a queue that drops its oldest deliveries to make room
    /// ([`QueueLimits::drop_oldest`]), which must first be read from the store: see
    /// [`Session::find_oldest`].
    QueuedFindOldest,
}

impl Session {
    /// A new, empty, offline session.
    pub fn new(
        client_id: Arc<str>,
        expiry_interval: u32,
        limits: Arc<QueueLimits>,
        memory: Arc<MemoryBudget>,
    ) -> Session {
        Session {
            client_id,
            state: Mutex::new(SessionState {
                conn: None,
                generation: 0,
                subscriptions: HashMap::default(),
                queue: OutQueue::new(memory),
                outgoing: HashMap::default(),
                next_packet_id: 1,
                next_seq: 0,
                incoming_qos2: PacketIds::default(),
                expiry_interval,
                dropped: 0,
                drop_logged: false,
                limits,
                next_store_seq: 1,
                stored: false,
                stored_will: None,
                offline_since_ms: None,
                owner: StoredOwner::Unknown,
                unsent: 0,
                waiters: Vec::new(),
                last_progress: Instant::now(),
                stalled: false,
                spill: None,
            }),
            notify: Notify::new(),
        }
    }

    /// Locks the state. A poisoned lock means a bug already panicked; the state is still usable.
    pub fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers a delivery; wakes the attached connection if it was queued. For a session whose
    /// queue is durable, a QoS 1/2 delivery gets a store key and its record is added to `ops`.
    ///
    /// At the queue's bound or the broker's memory budget, QoS 0 is shed first, oldest first.
    /// A QoS 1/2 delivery that still does not fit is taken anyway when the session is connected
    /// and making progress, and the publisher is held back ([`Enqueued::Paced`]) rather than
    /// acknowledged for a message that is then dropped. A session that is offline, or stalled
    /// (nothing sent for `stalled_after`), holds no one back: what does not fit is dropped
    /// and counted.
    ///
    /// A durable QoS 1/2 delivery past the session's memory window or the broker's memory
    /// budget is kept in the store only (`spill.rs`): memory is no bound for it, the queue's
    /// bounds still are.
    ///
    /// A delivery whose record goes into `ops` waits for their commit: `gate` is created for
    /// it if it is not there yet (the publisher's acknowledgement waits for it too). One to a
    /// session that stores nothing need not wait.
    pub(super) fn enqueue(
        &self,
        mut delivery: Delivery,
        metrics: &Metrics,
        mut ops: Option<&mut Vec<Op>>,
        gate: &mut Option<Arc<Gate>>,
    ) -> Enqueued {
        let mut state = self.lock();
        let online = state.conn.is_some();
        if !online && delivery.qos == QoS::AtMostOnce {
            // QoS 0 is not kept for offline sessions [MQTT-3.1.2-5 leaves it optional]
            return Enqueued::Skipped;
        }
        let size = delivery.message.size();
        let memory_size = delivery.message.memory_size();
        let spillable = ops.is_some() && state.is_durable() && delivery.qos != QoS::AtMostOnce;
        let lacks = |state: &SessionState| match spillable {
            true => state.is_full(size),
            false => state.lacks_room(size, memory_size),
        };
        let mut outcome = Enqueued::Queued;
        if lacks(&state) {
            let shed = &metrics.limits.qos0_shed;
            if delivery.qos == QoS::AtMostOnce {
                // Oldest first: the newest reading is the one worth having.
                let made_room = state.queue.pop_oldest_qos0().is_some();
                state.count_drop(
                    &self.client_id,
                    metrics,
                    shed,
                    "QoS 0 shed at the queue or memory bound",
                );
                if !made_room {
                    return Enqueued::Dropped;
                }
            } else {
                while lacks(&state) && state.queue.pop_oldest_qos0().is_some() {
                    state.count_drop(
                        &self.client_id,
                        metrics,
                        shed,
                        "QoS 0 shed at the queue or memory bound",
                    );
                }
                if lacks(&state) {
                    if online && !state.check_stalled(&self.client_id, metrics, Instant::now()) {
                        outcome = Enqueued::Paced;
                    } else if let (true, Some(ops)) =
                        (spillable && state.limits.drop_oldest, ops.as_deref_mut())
                    {
                        if state.drop_oldest(&self.client_id, size, metrics, ops) {
                            outcome = Enqueued::QueuedFindOldest;
                        }
                    } else {
                        let (counter, why) = if online {
                            (
                                &metrics.limits.stalled_dropped,
                                "queue full and the client stalled",
                            )
                        } else {
                            (&metrics.limits.offline_dropped, "queue full while offline")
                        };
                        state.count_drop(&self.client_id, metrics, counter, why);
                        return Enqueued::Dropped;
                    }
                }
            }
        }
        if let Some(ops) = ops {
            if spillable {
                let stored = metrics.store_bytes.fetch_add(size as u64, Ordering::Relaxed);
                if stored + size as u64 > state.limits.max_store_bytes {
                    metrics.store_bytes.fetch_sub(size as u64, Ordering::Relaxed);
                    state.dropped += 1;
                    add(&metrics.publish_dropped, 1);
                    if !state.drop_logged {
                        state.drop_logged = true;
                        tracing::warn!(
                            client_id = %self.client_id,
                            max_store_bytes = state.limits.max_store_bytes,
                            "store full; dropping messages for persistent sessions (logged once per session)"
                        );
                    }
                    return Enqueued::Dropped;
                }
                let seq = state.next_store_seq;
                state.next_store_seq += 1;
                delivery.seq = Some(seq);
                if delivery.gate.is_none() {
                    delivery.gate = Some(gate.get_or_insert_with(Gate::new).clone());
                }
                ops.push(records::put_delivery(
                    &self.client_id,
                    seq,
                    &delivery,
                    DeliveryState::Queued,
                ));
            }
        }
        if !state.has_waiting() {
            // A stall is measured from when there was something to send.
            state.last_progress = Instant::now();
        }
        match delivery.seq {
            Some(seq) if spillable && state.must_spill(memory_size) => {
                let spill = state.spill.get_or_insert_with(Default::default);
                spill.push_committed_by(seq, size, delivery.gate.as_ref());
            }
            _ => state.queue.push_back(delivery),
        }
        drop(state);
        if online {
            self.notify.notify_one();
        }
        outcome
    }

    /// Reads the oldest deliveries that a queue dropping its oldest keeps in the store only,
    /// so that the next deliveries queued past its bounds make room by dropping them (see
    /// [`SessionState::drop_oldest`]).
    pub(super) fn find_oldest(self: &Arc<Self>, store: &Store) {
        let (from, epoch) = match self.lock().spill.as_deref() {
            Some(spill) => (spill.from, spill.epoch),
            None => return,
        };
        let session = self.clone();
        store.read_deliveries(
            &self.client_id,
            from..u64::MAX,
            OLDEST_PAGE,
            Box::new(move |found| session.lock().found_oldest(epoch, found)),
        );
    }

    /// Queues a delivery that is sent but never stored (a retained message for a new
    /// subscription: the retained store keeps it), within the queue's bounds like any other.
    pub fn enqueue_unstored(&self, delivery: Delivery, metrics: &Metrics) -> Enqueued {
        self.enqueue(delivery, metrics, None, &mut None)
    }

    /// Whether this session still holds `publisher` back: it is connected, not stalled, and
    /// its queue is over its bound or the broker over its memory budget. If so, `publisher` is
    /// registered to be woken when that changes, and the moment this session would count as
    /// stalled is returned (the publisher looks again then).
    pub fn holds_back(&self, publisher: &Arc<Session>, metrics: &Metrics, now: Instant) -> Option<Instant> {
        let mut state = self.lock();
        // An empty queue took everything; what may still be short is memory, which the
        // publisher's next message will find out.
        if state.conn.is_none() || !state.has_waiting() || state.check_stalled(&self.client_id, metrics, now)
        {
            return None;
        }
        let full = state.is_full(0);
        // A durable queue spills into the store rather than hold anyone back for memory.
        if !full && (state.is_durable() || !state.queue.memory().over(0)) {
            return None;
        }
        if full {
            if !state.waiters.iter().any(|w| Arc::ptr_eq(w, publisher)) {
                state.waiters.push(publisher.clone());
            }
        } else if !state.queue.memory().wait(publisher) {
            return None;
        }
        Some(state.last_progress + state.limits.stalled_after)
    }
}

impl SessionState {
    /// The attached connection, `None` while offline.
    pub fn conn(&self) -> Option<&ConnLink> {
        self.conn.as_ref()
    }

    /// Session expiry interval in seconds; `u32::MAX` never expires.
    pub fn expiry_interval(&self) -> u32 {
        self.expiry_interval
    }

    /// How many subscriptions the session holds.
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.len()
    }

    /// QoS 1/2 messages sent (or about to be) and not yet acknowledged.
    pub fn inflight(&self) -> usize {
        self.outgoing.len()
    }

    /// When the session went offline (Unix ms).
    pub fn offline_since_ms(&self) -> Option<u64> {
        self.offline_since_ms
    }

    /// Messages this session could not take, over its life.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The will the client left, while it has not been published or discarded.
    pub fn will(&self) -> Option<&StoredWill> {
        self.stored_will.as_deref()
    }

    /// Every subscription, by filter, in no particular order.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&Arc<str>, &Subscription)> {
        self.subscriptions.iter()
    }
}

impl SessionState {
    /// Whether the queue is at its bounds for one more message of `size` bytes.
    pub fn is_full(&self, size: usize) -> bool {
        let (spilled, spilled_bytes) = self.spilled();
        self.queue.len() + spilled >= self.limits.max_messages
            || self.queue.bytes() + spilled_bytes + size > self.limits.max_bytes
    }

    /// Deliveries kept in the store only, and their bytes.
    pub fn spilled(&self) -> (usize, usize) {
        self.spill.as_ref().map_or((0, 0), |s| (s.count, s.bytes))
    }

    /// Whether anything waits to be sent, in memory or in the store.
    fn has_waiting(&self) -> bool {
        !self.queue.is_empty() || self.spilled().0 > 0
    }

    /// Whether a durable delivery goes to the store only: something already is (order), the
    /// client is offline, the window is full, or the broker is at its memory budget.
    fn must_spill(&self, memory_size: usize) -> bool {
        self.spilled().0 > 0
            || self.conn.is_none()
            || self.queue.len() >= WINDOW
            || self.queue.memory().over(memory_size)
    }

    /// Starts reading spilled deliveries back once the window has room for a page of them.
    pub(super) fn page_in(&mut self, session: &Arc<Session>, store: &Store) {
        let Some(spill) = self.spill.as_deref_mut() else {
            return;
        };
        if spill.count == 0 || spill.reading || self.queue.len() >= REFILL_BELOW {
            return;
        }
        let until = spill.pending_from();
        if until.is_some_and(|until| until <= spill.from) {
            // The commit under way wakes the session when it is done (see `spill.rs`).
            return;
        }
        spill.reading = true;
        let (from, epoch) = (spill.from, spill.epoch);
        let limit = WINDOW - self.queue.len();
        let reader = session.clone();
        store.read_deliveries(
            &session.client_id,
            from..until.unwrap_or(u64::MAX),
            limit,
            Box::new(move |found| {
                if reader.lock().paged_in(epoch, until, limit, found) {
                    reader.notify.notify_one();
                }
            }),
        );
    }

    /// Takes back what a read from the store found, up to `until` (not included) when it
    /// stopped short of a commit under way, `limit` at most; true when there is something new
    /// to send. A failed read is tried again at the next chance to send.
    fn paged_in(
        &mut self,
        epoch: u64,
        until: Option<u64>,
        limit: usize,
        found: Result<Vec<(u64, StoredDelivery)>, ReadError>,
    ) -> bool {
        let Some(spill) = self.spill.as_deref_mut() else {
            return false;
        };
        if spill.epoch != epoch {
            return false;
        }
        spill.reading = false;
        let Ok(found) = found else {
            return false;
        };
        if found.is_empty() && until.is_none() {
            // Nothing in the store from there on, and no commit under way: whatever the count
            // says is gone (their commit failed), and comes off the store gauge at the next
            // fill.
            let (_, bytes) = spill.clear();
            spill.lost += bytes;
            return bytes > 0;
        }
        let exhausted = found.len() < limit;
        for (seq, record) in found {
            if seq < spill.from {
                continue;
            }
            let (delivery, _) = records::delivery_from_record(seq, record);
            spill.take(seq, delivery.message.size());
            self.queue.push_back(delivery);
        }
        if let Some(until) = until.filter(|_| exhausted) {
            // What is missing before `until` never reached the disk (its commit failed). It
            // stays counted until a read with no commit under way finds nothing at all.
            spill.from = spill.from.max(until);
        }
        true
    }

    /// Whether a message of `size` bytes does not fit: the queue or the broker's memory is
    /// full (for an offline session, its share of the memory).
    /// (`size` by [`super::Message::size`], `memory_size` by [`super::Message::memory_size`]).
    fn lacks_room(&self, size: usize, memory_size: usize) -> bool {
        let memory = self.queue.memory();
        self.is_full(size)
            || match self.conn {
                Some(_) => memory.over(memory_size),
                None => memory.offline_full(memory_size),
            }
    }

    /// Makes room for a delivery of `size` bytes in a queue that drops its oldest deliveries,
    /// by dropping those kept in the store only, oldest first, as far as they are known (read
    /// by [`Session::find_oldest`]); their records go with `ops`, in the same commit as the
    /// new delivery's. True when more must be read: none are known and no read is under way.
    /// Until a read comes back the queue holds more than its bound, by what arrives meanwhile.
    fn drop_oldest(&mut self, client_id: &str, size: usize, metrics: &Metrics, ops: &mut Vec<Op>) -> bool {
        let counter = match self.conn {
            Some(_) => &metrics.limits.stalled_dropped,
            None => &metrics.limits.offline_dropped,
        };
        while self.is_full(size) {
            let Some(spill) = self.spill.as_deref_mut() else {
                return false;
            };
            let Some((seq, bytes)) = spill.oldest.pop_front() else {
                let find = !spill.finding && spill.count > 0;
                spill.finding |= find;
                return find;
            };
            if seq < spill.from {
                // Read back to be sent meanwhile: no longer the store's alone.
                continue;
            }
            spill.take(seq, bytes);
            ops.push(records::delete_delivery(client_id, seq));
            metrics.store_bytes.fetch_sub(bytes as u64, Ordering::Relaxed);
            self.count_drop(
                client_id,
                metrics,
                counter,
                "its queue is over max_queued_bytes: the oldest messages make room",
            );
        }
        false
    }

    /// Takes what a read of the oldest spilled deliveries found (see [`Session::find_oldest`]).
    fn found_oldest(&mut self, epoch: u64, found: Result<Vec<(u64, StoredDelivery)>, ReadError>) {
        let Some(spill) = self.spill.as_deref_mut() else {
            return;
        };
        if spill.epoch != epoch {
            return;
        }
        spill.finding = false;
        // A failed read is tried again by the next delivery past the bound.
        let Ok(found) = found else { return };
        let known = spill.oldest.back().map(|(seq, _)| *seq);
        for (seq, record) in found {
            if seq < spill.from || known.is_some_and(|k| seq <= k) {
                continue;
            }
            let (delivery, _) = records::delivery_from_record(seq, record);
            spill.oldest.push_back((seq, delivery.message.size()));
        }
    }

    /// Whether the session has had messages waiting and sent none for `stalled_after`; the
    /// first time it is seen so, it is counted and logged.
    fn check_stalled(&mut self, client_id: &str, metrics: &Metrics, now: Instant) -> bool {
        if !self.has_waiting()
            || now.saturating_duration_since(self.last_progress) < self.limits.stalled_after
        {
            return false;
        }
        if !self.stalled {
            self.stalled = true;
            add(&metrics.limits.subscribers_stalled, 1);
            tracing::warn!(
                client_id,
                queued = self.queue.len(),
                stalled_after = ?self.limits.stalled_after,
                "subscriber made no progress within limits.stalled_after: it no longer holds publishers back, and what does not fit its queue is dropped"
            );
            self.wake_waiters();
        }
        true
    }

    /// Counts one message this session could not take, under `counter` as well as the totals.
    fn count_drop(&mut self, client_id: &str, metrics: &Metrics, counter: &AtomicU64, why: &str) {
        self.dropped += 1;
        add(&metrics.publish_dropped, 1);
        add(counter, 1);
        if !self.drop_logged {
            self.drop_logged = true;
            tracing::warn!(
                client_id,
                queued = self.queue.len(),
                queued_bytes = self.queue.bytes(),
                memory_used = self.queue.memory().used(),
                "dropping messages for this client ({why}; logged once per session)"
            );
        }
    }

    /// For a connected session that is stalled: sheds its queued QoS 0 messages and, unless
    /// it is durable, its queued QoS 1/2 ones too, each counted; returns how many went.
    pub(super) fn shed_if_stalled(&mut self, client_id: &str, metrics: &Metrics, now: Instant) -> usize {
        if self.conn.is_none() || !self.check_stalled(client_id, metrics, now) {
            return 0;
        }
        let mut shed = 0;
        while self.queue.pop_oldest_qos0().is_some() {
            self.count_drop(
                client_id,
                metrics,
                &metrics.limits.qos0_shed,
                "stalled at limits.max_memory",
            );
            shed += 1;
        }
        if !self.is_durable() {
            let n = self.queue.clear();
            for _ in 0..n {
                self.count_drop(
                    client_id,
                    metrics,
                    &metrics.limits.stalled_dropped,
                    "stalled at limits.max_memory",
                );
            }
            shed += n;
        }
        shed
    }

    /// Wakes every publisher held back by this session.
    pub(super) fn wake_waiters(&mut self) {
        for publisher in self.waiters.drain(..) {
            publisher.notify.notify_one();
        }
    }

    /// Deliveries waiting to be sent.
    pub fn queued(&self) -> usize {
        self.queue.len() + self.spilled().0
    }

    /// Bytes of the deliveries waiting to be sent.
    pub fn queued_bytes(&self) -> usize {
        self.queue.bytes() + self.spilled().1
    }

    /// Whether this session's queue and state are kept in the store.
    pub fn is_durable(&self) -> bool {
        // A session whose expiry became 0 keeps its store record until what it spilled there
        // has been read back.
        self.stored && (self.expiry_interval > 0 || self.spilled().0 > 0)
    }

    /// Puts back a delivery loaded from the store, queued or in flight as it was.
    pub(super) fn restore_delivery(&mut self, delivery: Delivery, state: DeliveryState) {
        if let Some(seq) = delivery.seq {
            self.next_store_seq = self.next_store_seq.max(seq + 1);
        }
        let (packet_id, phase) = match state {
            DeliveryState::Queued => {
                // Restored offline: the queue stays in the store until the client is back.
                match delivery.seq {
                    Some(seq) if self.must_spill(delivery.message.memory_size()) => {
                        let size = delivery.message.size();
                        self.spill.get_or_insert_with(Default::default).push(seq, size);
                    }
                    _ => self.queue.push_back(delivery),
                }
                return;
            }
            DeliveryState::Sent { packet_id } => (packet_id, OutPhase::Published),
            DeliveryState::Released { packet_id } => (packet_id, OutPhase::Released),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.outgoing.insert(
            packet_id,
            Outgoing {
                delivery,
                phase,
                seq,
                sent: true,
            },
        );
    }

    /// Turns every durable delivery back into an in-memory one (its records are being deleted
    /// with the session's), and returns the bytes they held in the store.
    pub(super) fn forget_durable(&mut self) -> u64 {
        let (_, spilled_bytes) = self.spill.as_deref_mut().map_or((0, 0), |spill| {
            let (count, bytes) = spill.clear();
            (count, bytes + std::mem::take(&mut spill.lost))
        });
        let mut bytes = spilled_bytes as u64;
        let deliveries = self
            .queue
            .iter_mut()
            .chain(self.outgoing.values_mut().map(|o| &mut o.delivery));
        for d in deliveries {
            if d.seq.take().is_some() {
                bytes += d.message.size() as u64;
            }
        }
        bytes
    }

    /// Number of deliveries waiting or in flight.
    pub fn pending(&self) -> usize {
        self.queued() + self.outgoing.len()
    }
}
