//! Durable store: sessions, queues and retained messages in one redb file, written by one thread.
//!
//! [`Store::open`] locks the data directory, checks the file without writing to it, loads
//! everything into a [`Loaded`], and starts the writer thread. The broker then describes each change
//! as [`Op`]s and [`Store::submit`]s them; the writer commits everything that arrived meanwhile
//! in one transaction (group commit) and calls each submission back once its ops are committed, which
//! is when the broker may acknowledge.
//!
//! Layout: `types` (what is stored), `record` (versioned bytes of each value), `tables` (redb
//! tables and schema version), `open` (lock, checks, load, migration), `legacy` (the schema 1
//! tables), `overlay` (the no-write dry run), `writer` (the thread), `apply` (what each op writes),
//! `reserve` (the space kept for a full disk), `space` (the writer's full state), `error`.
//! Nothing here imports the rest of the crate.
//!
//! `scan` decodes the records for both the load and the `robustmq store` tools, which live in
//! `inspect` (read-only access, stats), `verify` and `compact`.

mod apply;
mod compact;
mod error;
mod inspect;
mod legacy;
mod open;
mod overlay;
mod page;
mod record;
mod reserve;
mod scan;
mod space;
mod tables;
mod types;
mod verify;
mod writer;

use std::ops::Range;
use std::path::Path;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use compact::{compact, Compaction};
pub use error::StoreError;
pub use inspect::{FileStats, Inspector, TableUsage};
pub use open::backup_name;
pub use page::ReadError;
pub use record::RecordError;
pub use scan::{BadRecord, Record};
pub use tables::SCHEMA_VERSION;
pub use types::{
    DeliveryState, Loaded, LoadedSession, Op, StoreDurability, StoreStats, StoredDelivery, StoredMessage,
    StoredOwner, StoredProperties, StoredSession, StoredSubscription, StoredWill,
};
pub use verify::{Check, Verification};

pub use writer::OnRead;
use writer::{Request, Stats};

/// An open data directory. Dropping it (or [`Store::close`]) makes everything submitted durable,
/// stops the writer thread and releases the directory lock.
pub struct Store {
    /// Requests to the writer thread; `None` once shut down.
    tx: Option<Sender<Request>>,
    /// The writer thread, joined on shutdown.
    writer: Option<JoinHandle<()>>,
    stats: Arc<Stats>,
    /// The locked `robustmq.lock`, released only after the database is closed.
    lock: Option<std::fs::File>,
}

impl Store {
    /// Name of the redb data file inside the data directory.
    pub const FILE_NAME: &'static str = "robustmq.redb";
    /// Name of the lock file inside the data directory.
    pub const LOCK_FILE_NAME: &'static str = "robustmq.lock";
    /// Name of the reserve file inside the data directory (see [`Store::open_with_reserve`]).
    pub const RESERVE_FILE_NAME: &'static str = reserve::Reserve::FILE_NAME;

    /// Opens (creating if needed) the store in `dir` and returns everything it holds.
    ///
    /// Refuses, without modifying the data file, a directory locked by another store, a corrupt,
    /// empty or foreign file, a file from a newer schema, and a directory without a data file
    /// that holds anything else (only an empty directory starts a new store). Recovers a file
    /// left by a crash.
    /// Migrates a file of an older schema once, after copying it to [`backup_name`] beside it.
    ///
    /// Keeps no reserve: see [`Store::open_with_reserve`].
    pub fn open(dir: &Path, durability: StoreDurability) -> Result<(Store, Loaded), StoreError> {
        Self::open_with_reserve(dir, durability, 0)
    }

    /// [`Store::open`], keeping `reserve` bytes of the disk allocated in
    /// [`Store::RESERVE_FILE_NAME`]: released when a commit finds the disk full, so that what
    /// frees space (acknowledgements, deletions) and reconnects still commit, and made again
    /// once the disk has room for it. Meanwhile [`Store::submit_refusable`] submissions fail.
    pub fn open_with_reserve(
        dir: &Path,
        durability: StoreDurability,
        reserve: u64,
    ) -> Result<(Store, Loaded), StoreError> {
        let opened = open::open(dir)?;
        let stats = Arc::new(Stats::default());
        let path = opened.path;
        let reserve = reserve::Reserve::new(dir, reserve);
        let (tx, writer) = writer::spawn(opened.db, path.clone(), durability, reserve, stats.clone())
            .map_err(|source| StoreError::Io { path, source })?;
        let store = Store {
            tx: Some(tx),
            writer: Some(writer),
            stats,
            lock: Some(opened.lock),
        };
        Ok((store, opened.loaded))
    }

    /// Queues `ops` to be applied together, in order, in one transaction. Never blocks.
    ///
    /// `on_commit(true)` runs on the writer thread once the ops are committed (fsynced with
    /// [`StoreDurability::Immediate`]); `on_commit(false)` if the commit failed, which is logged.
    /// Callbacks run in submission order and should be quick (e.g. send on a channel): the next
    /// commit waits for them. A callback must not call [`Store::flush`] or drop the last handle
    /// to the store: both wait for the writer thread, which is the thread running the callback.
    pub fn submit(&self, ops: Vec<Op>, on_commit: Option<Box<dyn FnOnce(bool) + Send>>) {
        self.send(Request::Submit {
            ops,
            on_commit,
            refusable: false,
        });
    }

    /// [`Store::submit`] for ops that add data (a new message) rather than keep or free it:
    /// while the disk is full they fail at once, `on_commit(false)`, so the space left goes
    /// to what frees space.
    pub fn submit_refusable(&self, ops: Vec<Op>, on_commit: Option<Box<dyn FnOnce(bool) + Send>>) {
        self.send(Request::Submit {
            ops,
            on_commit,
            refusable: true,
        });
    }

    /// Reads up to `limit` of `client_id`'s queued deliveries at `positions`, in order, once
    /// everything submitted before the call is committed; `reply` runs on the writer thread
    /// with what was found (see [`Store::submit`] on what a callback may do).
    pub fn read_deliveries(&self, client_id: &str, positions: Range<u64>, limit: usize, reply: OnRead) {
        self.send(Request::ReadDeliveries {
            client_id: client_id.to_string(),
            positions,
            limit,
            reply,
        });
    }

    /// Blocks until everything submitted before the call is durably committed (fsynced, also
    /// with [`StoreDurability::Periodic`]). Returns at once if the writer thread is gone.
    pub fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (done_tx, done_rx) = mpsc::channel();
        if tx.send(Request::Flush(done_tx)).is_ok() {
            // An error means the writer dropped the request: it is gone, nothing to wait for.
            let _ = done_rx.recv();
        }
    }

    /// Flushes, stops the writer thread and releases the directory lock. Dropping the store does
    /// the same; `close` just makes the moment explicit.
    pub fn close(mut self) {
        self.shutdown();
    }

    /// Hands `request` to the writer thread, or fails it if the thread is gone.
    fn send(&self, request: Request) {
        let Some(tx) = &self.tx else {
            fail(request);
            return;
        };
        if let Err(mpsc::SendError(request)) = tx.send(request) {
            tracing::error!("the store writer thread is gone; a request to it failed");
            fail(request);
        }
    }

    /// Counters of the writer thread.
    pub fn stats(&self) -> StoreStats {
        self.stats.snapshot()
    }

    /// Whether the disk is full: [`Store::submit_refusable`] submissions fail until it has room.
    pub fn is_full(&self) -> bool {
        self.stats.full.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a change the caller did not submit because the disk is full, with the
    /// submissions the store refused ([`StoreStats::errors`]).
    pub fn count_refusal(&self) {
        self.stats.count_error();
    }

    fn shutdown(&mut self) {
        // Closing the channel tells the writer to finish the queue, sync and close the database.
        drop(self.tx.take());
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("the store writer thread panicked");
            }
        }
        // Only now that the database is closed may another process have the directory; closing
        // the lock file releases its lock.
        drop(self.lock.take());
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Answers a submission the writer will never see.
fn fail(request: Request) {
    match request {
        Request::Submit {
            on_commit: Some(on_commit),
            ..
        } => on_commit(false),
        Request::ReadDeliveries { reply, .. } => reply(Err(ReadError::Closed)),
        _ => {}
    }
}

// The broker shares one store between tasks.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
};
