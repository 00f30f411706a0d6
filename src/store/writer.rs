//! The writer thread: applies submitted ops in redb write transactions, with group commit.
//!
//! One thread owns the database for writing. It blocks for the first request, then takes every
//! request already queued behind it and applies them all in ONE transaction, so under load many
//! submissions share one commit and one fsync. Callbacks then run in submission order. A failed
//! commit fails its callbacks and the thread carries on with the next batch.

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use redb::{Database, Durability};

use super::apply::Tables;
use super::types::{Op, StoreDurability, StoreStats, StoredDelivery};

/// Runs once the ops of a submission are committed (`true`) or failed to commit (`false`).
pub(crate) type OnCommit = Box<dyn FnOnce(bool) + Send>;

/// Upper bound on the submissions in one transaction, so a long backlog still commits (and
/// acknowledges) in steps instead of in one huge transaction at the end.
const MAX_BATCH: usize = 4096;

/// What the store handle sends to the writer thread.
pub(crate) enum Request {
    /// Ops to apply together, and what to call when they are committed.
    Submit {
        ops: Vec<Op>,
        on_commit: Option<OnCommit>,
    },
    /// Answered once everything queued before it is durably committed.
    Flush(Sender<()>),
    /// Reads part of a session's queue, after everything queued before it is committed.
    ReadDeliveries {
        client_id: String,
        from: u64,
        limit: usize,
        reply: OnRead,
    },
}

/// Called with the deliveries a [`Request::ReadDeliveries`] found, or why it could not read.
pub type OnRead = Box<dyn FnOnce(Result<Vec<(u64, StoredDelivery)>, String>) + Send>;

/// Counters shared between the writer thread and `Store::stats`.
#[derive(Default)]
pub(crate) struct Stats {
    commits: AtomicU64,
    fsyncs: AtomicU64,
    ops: AtomicU64,
    bytes_put: AtomicU64,
    last_commit_micros: AtomicU64,
}

impl Stats {
    /// A consistent-enough snapshot: each counter is exact, they are just not read atomically together.
    pub(crate) fn snapshot(&self) -> StoreStats {
        StoreStats {
            commits: self.commits.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            ops: self.ops.load(Ordering::Relaxed),
            bytes_put: self.bytes_put.load(Ordering::Relaxed),
            last_commit_micros: self.last_commit_micros.load(Ordering::Relaxed),
        }
    }
}

/// Starts the writer thread. It runs until every sender of the returned channel is dropped,
/// then makes everything durable and closes the database.
pub(crate) fn spawn(
    db: Database,
    path: PathBuf,
    durability: StoreDurability,
    stats: Arc<Stats>,
) -> std::io::Result<(Sender<Request>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel();
    let writer = Writer {
        db,
        path,
        durability,
        stats,
        unsynced: false,
        last_fsync: Instant::now(),
    };
    let handle = thread::Builder::new()
        .name("robustmq-store".into())
        .spawn(move || writer.run(rx))?;
    Ok((tx, handle))
}

struct Writer {
    db: Database,
    path: PathBuf,
    durability: StoreDurability,
    stats: Arc<Stats>,
    /// Periodic mode: some commit since the last fsync was made without one.
    unsynced: bool,
    last_fsync: Instant,
}

impl Writer {
    fn run(mut self, rx: Receiver<Request>) {
        while let Some(first) = self.next_request(&rx) {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            self.process(batch);
        }
        // Every handle is gone: whatever Periodic mode has not synced yet must reach the disk.
        if self.unsynced {
            self.commit(Vec::new(), true);
        }
        if let Err(error) = self.db.close() {
            tracing::error!(path = %self.path.display(), %error, "closing the store failed");
        }
    }

    /// Blocks for the next request; in Periodic mode wakes up meanwhile to fsync when due.
    /// `None` once the channel is closed and drained.
    fn next_request(&mut self, rx: &Receiver<Request>) -> Option<Request> {
        loop {
            let StoreDurability::Periodic(interval) = self.durability else {
                return rx.recv().ok();
            };
            if !self.unsynced {
                return rx.recv().ok();
            }
            let wait = (self.last_fsync + interval).saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(request) => return Some(request),
                // Should this fsync fail, the next try is an interval later, not at once:
                // `commit` moves `last_fsync` either way.
                Err(RecvTimeoutError::Timeout) => {
                    self.commit(Vec::new(), true);
                }
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Commits one batch and answers its callbacks and flushes.
    fn process(&mut self, batch: Vec<Request>) {
        let mut ops = Vec::new();
        let mut callbacks = Vec::new();
        let mut flushes = Vec::new();
        let mut reads = Vec::new();
        for request in batch {
            match request {
                Request::Submit {
                    ops: submitted,
                    on_commit,
                } => {
                    ops.extend(submitted);
                    callbacks.extend(on_commit);
                }
                Request::Flush(done) => flushes.push(done),
                Request::ReadDeliveries {
                    client_id,
                    from,
                    limit,
                    reply,
                } => reads.push((client_id, from, limit, reply)),
            }
        }
        let durable = match self.durability {
            StoreDurability::Immediate => true,
            StoreDurability::Periodic(interval) => {
                !flushes.is_empty() || self.last_fsync.elapsed() >= interval
            }
        };
        // No ops (only flushes or empty submissions) and no fsync owed: nothing to commit.
        let ok = if ops.is_empty() && !(durable && self.unsynced) {
            true
        } else {
            self.commit(ops, durable)
        };
        for callback in callbacks {
            if panic::catch_unwind(AssertUnwindSafe(|| callback(ok))).is_err() {
                tracing::error!("a store commit callback panicked; the writer carries on");
            }
        }
        for done in flushes {
            // The flusher may have given up waiting; nothing to do about that.
            let _ = done.send(());
        }
        // After the commit: a read sees every delivery submitted before it.
        for (client_id, from, limit, reply) in reads {
            let found = panic::catch_unwind(AssertUnwindSafe(|| {
                super::page::read_deliveries(&self.db, &client_id, from, limit)
            }))
            .unwrap_or_else(|payload| Err(format!("panic: {}", panic_message(&payload))));
            if let Err(error) = &found {
                tracing::error!(path = %self.path.display(), %client_id, %error, "reading a queue back from the store failed");
            }
            if panic::catch_unwind(AssertUnwindSafe(|| reply(found))).is_err() {
                tracing::error!("a store read callback panicked; the writer carries on");
            }
        }
    }

    /// Applies `ops` in one write transaction and commits it, fsynced if `durable`.
    /// Logs and returns `false` on failure, including a panic inside redb.
    fn commit(&mut self, ops: Vec<Op>, durable: bool) -> bool {
        let started = Instant::now();
        let count = ops.len() as u64;
        let result = panic::catch_unwind(AssertUnwindSafe(|| apply(&self.db, ops, durable)))
            .unwrap_or_else(|payload| Err(format!("panic: {}", panic_message(&payload))));
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        if durable {
            // Also after a failure, so a failing disk is retried once per interval, not in a loop.
            self.last_fsync = Instant::now();
        }
        match result {
            Ok(bytes) => {
                self.stats.bytes_put.fetch_add(bytes, Ordering::Relaxed);
                self.stats.commits.fetch_add(1, Ordering::Relaxed);
                self.stats.ops.fetch_add(count, Ordering::Relaxed);
                self.stats.last_commit_micros.store(micros, Ordering::Relaxed);
                if durable {
                    self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
                    self.unsynced = false;
                } else {
                    self.unsynced = true;
                }
                true
            }
            Err(error) => {
                tracing::error!(
                    path = %self.path.display(),
                    %error,
                    ops = count,
                    "store commit failed; these changes were not stored"
                );
                false
            }
        }
    }
}

/// One write transaction: every op in order, then the commit. Returns the bytes of keys and
/// values it put.
fn apply(db: &Database, ops: Vec<Op>, durable: bool) -> Result<u64, String> {
    let mut txn = db.begin_write().map_err(|e| e.to_string())?;
    let durability = if durable {
        Durability::Immediate
    } else {
        Durability::None
    };
    txn.set_durability(durability).map_err(|e| e.to_string())?;
    let bytes = {
        let mut tables = Tables::open(&txn)?;
        for op in superseded_sessions_dropped(ops) {
            tables.apply(op)?;
        }
        tables.bytes_put
    };
    txn.commit().map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Drops each session put that a later put of the same session in the same transaction
/// replaces, with no deletion of the session between them: nobody sees the state in between,
/// and a put compares the session's subscription rows with its list. The broker records a
/// SUBSCRIBE of n filters as n puts of the growing list; this makes that one comparison.
fn superseded_sessions_dropped(ops: Vec<Op>) -> impl Iterator<Item = Op> {
    let mut later_put: HashSet<String> = HashSet::new();
    let mut keep = vec![true; ops.len()];
    for (i, op) in ops.iter().enumerate().rev() {
        match op {
            Op::PutSession(session) if !later_put.insert(session.client_id.clone()) => {
                keep[i] = false;
            }
            Op::DeleteSession { client_id } => {
                later_put.remove(client_id);
            }
            _ => {}
        }
    }
    ops.into_iter()
        .zip(keep)
        .filter_map(|(op, keep)| keep.then_some(op))
}

/// The text of a panic payload, for the log.
pub(crate) fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
