//! The writer thread: applies submitted ops in redb write transactions, with group commit.
//!
//! One thread owns the database for writing. It blocks for the first request, then takes every
//! request already queued behind it and applies them all in ONE transaction, so under load many
//! submissions share one commit and one fsync. Callbacks then run in submission order. A failed
//! commit fails its callbacks and the thread carries on with the next batch, on the database
//! opened again if the failure left redb unusable (after an I/O error, redb fails every later
//! transaction until it is reopened).
//!
//! A commit that finds the disk full puts the writer in the full state ([`Space`]): the batch is
//! committed again without its refusable submissions (new messages), which fail, and so is
//! every batch until the disk has room again.

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use redb::{Builder, CommitError, Database, Durability, StorageError, TransactionError};

use super::apply::{ApplyError, Tables};
use super::reserve::{is_out_of_space, Reserve};
use super::space::{mentions_out_of_space, Space};
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
        /// Refused while the disk is full: it adds data rather than freeing or keeping it.
        refusable: bool,
    },
    /// Answered once everything queued before it is durably committed.
    Flush(Sender<()>),
    /// Reads part of a session's queue, after everything queued before it is committed.
    ReadDeliveries {
        client_id: String,
        positions: std::ops::Range<u64>,
        limit: usize,
        reply: OnRead,
    },
}

/// Called with the deliveries a [`Request::ReadDeliveries`] found, or why it could not read.
pub type OnRead = Box<dyn FnOnce(Result<Vec<(u64, StoredDelivery)>, super::ReadError>) + Send>;

/// Counters shared between the writer thread and `Store::stats`.
#[derive(Default)]
pub(crate) struct Stats {
    commits: AtomicU64,
    fsyncs: AtomicU64,
    ops: AtomicU64,
    bytes_put: AtomicU64,
    last_commit_micros: AtomicU64,
    /// Submissions that were not committed: refused while the disk was full, or failed.
    errors: AtomicU64,
    /// Set while the disk is full (see [`Space`]).
    pub(crate) full: AtomicBool,
}

impl Stats {
    /// Counts one submission that was not committed.
    pub(crate) fn count_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A consistent-enough snapshot: each counter is exact, they are just not read atomically together.
    pub(crate) fn snapshot(&self) -> StoreStats {
        StoreStats {
            commits: self.commits.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            ops: self.ops.load(Ordering::Relaxed),
            bytes_put: self.bytes_put.load(Ordering::Relaxed),
            last_commit_micros: self.last_commit_micros.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            full: self.full.load(Ordering::Relaxed),
        }
    }
}

/// Starts the writer thread. It runs until every sender of the returned channel is dropped,
/// then makes everything durable and closes the database.
pub(crate) fn spawn(
    db: Database,
    path: PathBuf,
    durability: StoreDurability,
    reserve: Reserve,
    stats: Arc<Stats>,
) -> std::io::Result<(Sender<Request>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel();
    let writer = Writer {
        db: Some(db),
        path,
        durability,
        space: Space::start(reserve, stats.clone()),
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
    /// `None` after a failure that left redb unusable, until it is opened again.
    db: Option<Database>,
    path: PathBuf,
    durability: StoreDurability,
    space: Space,
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
            let _ = self.commit(&[], true);
        }
        if let Some(db) = self.db.take() {
            if let Err(error) = db.close() {
                tracing::error!(path = %self.path.display(), %error, "closing the store failed");
            }
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
                    let _ = self.commit(&[], true);
                }
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Commits one batch and answers its callbacks and flushes.
    fn process(&mut self, batch: Vec<Request>) {
        let mut submissions = Vec::new();
        let mut flushes = Vec::new();
        let mut reads = Vec::new();
        for request in batch {
            match request {
                Request::Submit {
                    ops,
                    on_commit,
                    refusable,
                } => submissions.push(Submission {
                    ops,
                    on_commit,
                    refusable,
                }),
                Request::Flush(done) => flushes.push(done),
                Request::ReadDeliveries {
                    client_id,
                    positions,
                    limit,
                    reply,
                } => reads.push((client_id, positions, limit, reply)),
            }
        }
        let durable = match self.durability {
            StoreDurability::Immediate => true,
            StoreDurability::Periodic(interval) => {
                !flushes.is_empty() || self.last_fsync.elapsed() >= interval
            }
        };
        let committed = self.commit_batch(&submissions, durable);
        let failed = committed.iter().filter(|ok| !**ok).count() as u64;
        if failed > 0 {
            self.stats.errors.fetch_add(failed, Ordering::Relaxed);
        }
        for (submission, ok) in submissions.into_iter().zip(committed) {
            let Some(callback) = submission.on_commit else {
                continue;
            };
            if panic::catch_unwind(AssertUnwindSafe(|| callback(ok))).is_err() {
                tracing::error!("a store commit callback panicked; the writer carries on");
            }
        }
        for done in flushes {
            // The flusher may have given up waiting; nothing to do about that.
            let _ = done.send(());
        }
        // After the commit: a read sees every delivery submitted before it.
        for (client_id, positions, limit, reply) in reads {
            let found = match self.database() {
                Ok(db) => panic::catch_unwind(AssertUnwindSafe(|| {
                    super::page::read_deliveries(db, &client_id, positions.clone(), limit)
                }))
                .unwrap_or_else(|payload| Err(super::ReadError::Panicked(panic_message(&payload)))),
                Err(failure) => Err(super::ReadError::Unavailable(failure.detail)),
            };
            if let Err(error) = &found {
                tracing::error!(path = %self.path.display(), %client_id, %error, "reading a queue back from the store failed");
            }
            if panic::catch_unwind(AssertUnwindSafe(|| reply(found))).is_err() {
                tracing::error!("a store read callback panicked; the writer carries on");
            }
        }
    }

    /// Commits a batch's submissions and says, for each, whether it was committed. While the
    /// disk is full, refusable submissions fail and the rest are committed without them.
    fn commit_batch(&mut self, submissions: &[Submission], durable: bool) -> Vec<bool> {
        self.space.check();
        if !self.space.is_full() {
            let ops: Vec<&Op> = submissions.iter().flat_map(|s| &s.ops).collect();
            match self.commit(&ops, durable) {
                Ok(()) => return vec![true; submissions.len()],
                Err(failure) if failure.out_of_space => self.space.enter(),
                Err(failure) => {
                    tracing::error!(
                        path = %self.path.display(),
                        error = %failure.detail,
                        ops = ops.len(),
                        "store commit failed; these changes were not stored"
                    );
                    return vec![false; submissions.len()];
                }
            }
        }
        let ops: Vec<&Op> = submissions
            .iter()
            .filter(|s| !s.refusable)
            .flat_map(|s| &s.ops)
            .collect();
        let ok = match self.commit(&ops, durable) {
            Ok(()) => true,
            Err(failure) => {
                self.space.essential_failed(&failure.detail);
                false
            }
        };
        submissions
            .iter()
            .map(|s| if s.refusable { s.ops.is_empty() } else { ok })
            .collect()
    }

    /// Applies `ops` in one write transaction and commits it, fsynced if `durable`. Without
    /// ops and without an fsync owed there is nothing to do. A failure (a panic inside redb
    /// included) drops the database, to be opened again at its next use.
    fn commit(&mut self, ops: &[&Op], durable: bool) -> Result<(), Failure> {
        if ops.is_empty() && !(durable && self.unsynced) {
            return Ok(());
        }
        let started = Instant::now();
        let count = ops.len() as u64;
        let result = self.database().and_then(|db| {
            panic::catch_unwind(AssertUnwindSafe(|| apply(db, ops, durable)))
                .unwrap_or_else(|payload| Err(Failure::other(format!("panic: {}", panic_message(&payload)))))
        });
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
                Ok(())
            }
            Err(failure) => {
                // After an I/O error redb fails every transaction until it is reopened; a
                // reopen also recovers whatever the failed commit left half written.
                self.db = None;
                Err(failure)
            }
        }
    }

    /// The database, opened again first if a failure dropped it.
    fn database(&mut self) -> Result<&Database, Failure> {
        if self.db.is_none() {
            let path = self.path.clone();
            let opened = panic::catch_unwind(AssertUnwindSafe(|| Builder::new().create(&path)))
                .unwrap_or_else(|payload| {
                    Err(redb::DatabaseError::Storage(StorageError::Io(
                        std::io::Error::other(format!("panic: {}", panic_message(&payload))),
                    )))
                });
            match opened {
                Ok(db) => {
                    tracing::info!(path = %self.path.display(), "the data file was opened again after a failed commit");
                    self.db = Some(db);
                }
                Err(error) => {
                    let out_of_space = match &error {
                        redb::DatabaseError::Storage(StorageError::Io(e)) => is_out_of_space(e),
                        other => mentions_out_of_space(&other.to_string()),
                    };
                    return Err(Failure {
                        detail: format!("opening the data file again failed: {error}"),
                        out_of_space,
                    });
                }
            }
        }
        self.db
            .as_ref()
            .ok_or_else(|| Failure::other("the data file is not open".into()))
    }
}

/// One submission of a batch.
struct Submission {
    ops: Vec<Op>,
    on_commit: Option<OnCommit>,
    refusable: bool,
}

/// Why a commit failed.
struct Failure {
    detail: String,
    /// The disk (or a quota, or the file size limit) is full.
    out_of_space: bool,
}

impl Failure {
    fn other(detail: String) -> Failure {
        let out_of_space = mentions_out_of_space(&detail);
        Failure { detail, out_of_space }
    }

    /// An op that could not be applied: out of space only if redb's write failed for it.
    fn apply(error: ApplyError) -> Failure {
        match error.storage() {
            Some(e) => Failure::storage(e),
            None => Failure {
                detail: error.to_string(),
                out_of_space: false,
            },
        }
    }

    fn storage(error: &StorageError) -> Failure {
        Failure {
            detail: error.to_string(),
            out_of_space: matches!(error, StorageError::Io(e) if is_out_of_space(e)),
        }
    }
}

impl From<TransactionError> for Failure {
    fn from(error: TransactionError) -> Failure {
        match &error {
            TransactionError::Storage(e) => Failure::storage(e),
            _ => Failure::other(error.to_string()),
        }
    }
}

impl From<CommitError> for Failure {
    fn from(error: CommitError) -> Failure {
        match &error {
            CommitError::Storage(e) => Failure::storage(e),
            _ => Failure::other(error.to_string()),
        }
    }
}

/// One write transaction: every op in order, then the commit. Returns the bytes of keys and
/// values it put.
fn apply(db: &Database, ops: &[&Op], durable: bool) -> Result<u64, Failure> {
    let mut txn = db.begin_write()?;
    let durability = if durable {
        Durability::Immediate
    } else {
        Durability::None
    };
    txn.set_durability(durability)
        .map_err(|e| Failure::other(e.to_string()))?;
    let bytes = {
        let mut tables = Tables::open(&txn).map_err(Failure::apply)?;
        for op in superseded_sessions_dropped(ops) {
            tables.apply(op).map_err(Failure::apply)?;
        }
        tables.bytes_put
    };
    txn.commit()?;
    Ok(bytes)
}

/// Drops each session put that a later put of the same session in the same transaction
/// replaces, with no deletion of the session between them: nobody sees the state in between,
/// and a put compares the session's subscription rows with its list. The broker records a
/// SUBSCRIBE of n filters as n puts of the growing list; this makes that one comparison.
fn superseded_sessions_dropped<'a>(ops: &'a [&'a Op]) -> impl Iterator<Item = &'a Op> {
    let mut later_put: HashSet<&str> = HashSet::new();
    let mut keep = vec![true; ops.len()];
    for (i, op) in ops.iter().enumerate().rev() {
        match op {
            Op::PutSession(session) if !later_put.insert(&session.client_id) => {
                keep[i] = false;
            }
            Op::DeleteSession { client_id } => {
                later_put.remove(client_id.as_str());
            }
            _ => {}
        }
    }
    ops.iter().zip(keep).filter_map(|(op, keep)| keep.then_some(*op))
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
