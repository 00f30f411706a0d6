//! Opening a data directory: the lock, checks that never write to a bad file, the schema, the load.
//!
//! The order matters for the promise that a corrupt or newer file is left untouched:
//! 1. take `robustmq.lock`, so no other robustmq uses the directory meanwhile;
//! 2. refuse an empty file, and one without redb's magic header, before redb sees it; without a
//!    data file, refuse a directory that holds anything the store did not make;
//! 3. open the file through [`OverlayBackend`] with redb's integrity check, read the schema version
//!    and decode every record: redb may recover the file (after a crash) but only in memory;
//! 4. only if all that passed, open the file for real (redb recovers it on disk, if it must);
//! 5. a file of an older schema is copied beside itself, then migrated in one transaction.
//!
//! Any panic inside redb on a damaged file is caught and reported as `Corrupt`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use redb::{
    Builder, Database, DatabaseError, ReadTransaction, ReadableDatabase, ReadableTable, StorageError,
    TableDefinition, TableError, TableHandle, WriteTransaction,
};

use super::apply::{ApplyError, Tables};
use super::error::StoreError;
use super::legacy;
use super::overlay::OverlayBackend;
use super::scan::{self, Record};
use super::tables::{META, OLDEST_SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use super::types::{Loaded, LoadedSession, Op};
use super::writer::panic_message;
use super::Store;

/// redb's magic header: the first bytes of every redb file (redb's `MAGICNUMBER`).
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// Page cache of the dry-run open. It reads the file once, front to back, so a big cache buys nothing.
const CHECK_CACHE_BYTES: usize = 16 << 20;

/// A data directory opened for writing.
pub(crate) struct Opened {
    /// The database, checked and recovered.
    pub(crate) db: Database,
    /// The data file.
    pub(crate) path: PathBuf,
    /// Held (locked) for as long as the store is open.
    pub(crate) lock: File,
    /// What the file held.
    pub(crate) loaded: Loaded,
}

/// Locks `dir` (creating it if needed), checks and loads its data file, and opens it for writing.
/// A file of an older schema is copied beside itself and then migrated, in one transaction.
pub(crate) fn open(dir: &Path) -> Result<Opened, StoreError> {
    let started = Instant::now();
    fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
    let lock = lock_dir(dir)?;
    let path = dir.join(Store::FILE_NAME);

    let existing = match fs::metadata(&path) {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(source) => return Err(io_error(&path, source)),
    };
    if !existing {
        check_empty(dir)?;
    }
    // `None`: a new file, or a redb file nothing was ever stored in; either needs its schema.
    let contents = if existing {
        check_header(&path)?;
        guarded(&path, "checking the file", || dry_run(&path))?
    } else {
        None
    };
    if let Some((version, _)) = &contents {
        if *version < SCHEMA_VERSION {
            backup(dir, &path, *version)?;
        }
    }

    let db = guarded(&path, "opening the file", || {
        Builder::new()
            .set_check_integrity_on_open(true)
            .create(&path)
            .map_err(|e| open_error(dir, &path, e))
    })?;
    let mut loaded = match contents {
        Some((version, loaded)) => {
            if version < SCHEMA_VERSION {
                guarded(&path, "migrating the file", || {
                    migrate(&db, &path, version, &loaded)
                })?;
            }
            loaded
        }
        None => {
            initialize(&db, &path)?;
            if !existing {
                sync_dir(dir);
            }
            Loaded::default()
        }
    };
    loaded.load_time = started.elapsed();
    Ok(Opened {
        db,
        path,
        lock,
        loaded,
    })
}

/// Name of the copy of a file of schema `version` kept when it is migrated.
pub fn backup_name(version: u64) -> String {
    format!("{}.schema{version}.bak", Store::FILE_NAME)
}

/// Copies the data file beside itself before a migration, durably: written under a temporary
/// name, synced, then renamed, so a crash never leaves half a backup under the final name.
fn backup(dir: &Path, path: &Path, version: u64) -> Result<(), StoreError> {
    let target = dir.join(backup_name(version));
    let partial = dir.join(format!(".{}.partial", backup_name(version)));
    let copied = fs::copy(path, &partial)
        .and_then(|_| File::open(&partial)?.sync_all())
        .and_then(|()| fs::rename(&partial, &target));
    if let Err(source) = copied {
        let _ = fs::remove_file(&partial);
        return Err(io_error(&target, source));
    }
    sync_dir(dir);
    tracing::info!(
        path = %path.display(),
        backup = %target.display(),
        from = version,
        to = SCHEMA_VERSION,
        "migrating the data file to the current schema; the old file is kept as the backup"
    );
    Ok(())
}

/// Rewrites a file of an older schema as the current one, in one transaction: every table is
/// emptied and refilled from what the dry run decoded (`loaded`), so the migration either
/// happens whole or not at all, and a crash during it leaves the old file to migrate again.
fn migrate(db: &Database, path: &Path, version: u64, loaded: &Loaded) -> Result<(), StoreError> {
    let fail = |detail: String| StoreError::Database {
        path: path.to_path_buf(),
        detail: format!("migrating from schema version {version} failed: {detail}"),
    };
    let txn = db.begin_write().map_err(|e| fail(e.to_string()))?;
    legacy::delete_tables(&txn).map_err(|e| fail(e.to_string()))?;
    write_meta(&txn).map_err(|e| fail(e.to_string()))?;
    {
        let mut tables = Tables::open(&txn).map_err(|e| fail(e.to_string()))?;
        for op in loaded_ops(loaded) {
            tables.apply(&op).map_err(|e| fail(e.to_string()))?;
        }
    }
    txn.commit().map_err(|e| fail(e.to_string()))
}

/// The ops that store `loaded` in an empty file.
fn loaded_ops(loaded: &Loaded) -> Vec<Op> {
    let mut ops = Vec::new();
    for ls in &loaded.sessions {
        let client_id = &ls.session.client_id;
        ops.push(Op::PutSession(ls.session.clone()));
        for (seq, delivery) in &ls.deliveries {
            ops.push(Op::PutDelivery {
                client_id: client_id.clone(),
                seq: *seq,
                delivery: delivery.clone(),
            });
        }
        for packet_id in &ls.incoming_qos2 {
            ops.push(Op::PutIncomingQos2 {
                client_id: client_id.clone(),
                packet_id: *packet_id,
            });
        }
    }
    ops.extend(loaded.retained.iter().cloned().map(Op::PutRetained));
    ops
}

/// Writes the schema version of this build.
fn write_meta(txn: &WriteTransaction) -> Result<(), ApplyError> {
    let mut meta = txn.open_table(META)?;
    meta.insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)?;
    Ok(())
}

/// How long a busy directory lock is retried before the directory counts as in use.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

/// Takes the directory lock. The OS releases it when the process dies, even by `kill -9`, so a
/// crash never leaves a stale lock behind.
pub(crate) fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let lock_path = dir.join(Store::LOCK_FILE_NAME);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|source| io_error(&lock_path, source))?;
    // An OS lock, so a broker killed with SIGKILL releases it with its process. A lock that was
    // just released can still be held for a moment by a process that forked before it was
    // closed (until that child's exec closes the descriptor), or by a broker that is just
    // exiting as its successor starts: so a busy lock is retried briefly before it counts.
    let deadline = std::time::Instant::now() + LOCK_PATIENCE;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                })
            }
            Err(TryLockError::Error(source)) => return Err(io_error(&lock_path, source)),
        }
    }
    // The pid is for a human wondering who holds the directory; the lock itself is what counts.
    let pid = format!("{}\n", std::process::id());
    if let Err(error) = file.set_len(0).and_then(|()| (&file).write_all(pid.as_bytes())) {
        tracing::warn!(path = %lock_path.display(), %error, "could not write the pid into the lock file");
    }
    Ok(file)
}

/// Refuses an empty file and one that does not start with redb's magic header, reading only
/// those bytes.
///
/// An empty file is not a store nothing was written to (redb writes its header first): it is
/// what a full disk, a failed copy or another program leaves. Taking it for a new store would
/// paper over the loss, so only a missing file starts a new store.
pub(crate) fn check_header(path: &Path) -> Result<(), StoreError> {
    let mut head = Vec::with_capacity(REDB_MAGIC.len());
    File::open(path)
        .and_then(|f| f.take(REDB_MAGIC.len() as u64).read_to_end(&mut head))
        .map_err(|source| io_error(path, source))?;
    if head.is_empty() {
        return Err(corrupt(path, "it is empty (0 bytes), not a redb database"));
    }
    if head != REDB_MAGIC {
        return Err(corrupt(path, "not a redb database: the magic header is missing"));
    }
    Ok(())
}

/// Refuses a directory without a data file that holds anything but the lock and the
/// reserve, which the store makes before its data file: only an empty directory starts a new
/// store. A directory with a backup or other files but no data file is one whose data file
/// was lost or moved, or the wrong directory: a new store there would hide that.
fn check_empty(dir: &Path) -> Result<(), StoreError> {
    let ours = [Store::LOCK_FILE_NAME, Store::RESERVE_FILE_NAME];
    for entry in fs::read_dir(dir).map_err(|source| io_error(dir, source))? {
        let entry = entry.map_err(|source| io_error(dir, source))?;
        if !ours.iter().any(|name| entry.file_name() == *name) {
            return Err(StoreError::NotEmpty {
                dir: dir.to_path_buf(),
                file: entry.path(),
            });
        }
    }
    Ok(())
}

/// Opens the file in memory only (see the module doc) and reads its schema version and
/// everything in it.
fn dry_run(path: &Path) -> Result<Option<(u64, Loaded)>, StoreError> {
    let db = open_overlay(path)?;
    let txn = db.begin_read().map_err(|e| database(path, e))?;
    read_all(&txn, path)
}

/// Opens the file through [`OverlayBackend`] with redb's integrity check (every page checksum),
/// so whatever redb writes, recovery included, stays in memory. Call it inside [`guarded`].
pub(crate) fn open_overlay(path: &Path) -> Result<Database, StoreError> {
    open_overlay_checked(path, true)
}

/// [`open_overlay`], with the integrity check only if `check`: salvaging reads a file that
/// fails it.
pub(crate) fn open_overlay_checked(path: &Path, check: bool) -> Result<Database, StoreError> {
    let file = File::open(path).map_err(|source| io_error(path, source))?;
    let backend = OverlayBackend::new(file).map_err(|source| io_error(path, source))?;
    let dir = path.parent().unwrap_or(path);
    Builder::new()
        .set_check_integrity_on_open(check)
        .set_cache_size(CHECK_CACHE_BYTES)
        .create_with_backend(backend)
        .map_err(|e| open_error(dir, path, e))
}

/// Reads the schema version and every record. `None` when nothing was ever stored.
fn read_all(txn: &ReadTransaction, path: &Path) -> Result<Option<(u64, Loaded)>, StoreError> {
    let Some(version) = schema_version(txn, path)? else {
        return Ok(None);
    };

    let mut loaded = Loaded::default();
    let mut index = HashMap::new();
    let mut orphans = 0usize;
    let mut bad = None;
    // Sessions come first, so each queue entry finds its session; each list comes out ascending.
    let src = scan::Source {
        txn,
        path,
        losses: None,
    };
    scan::scan(&src, version, &mut |record| {
        match record {
            Err(e) => {
                bad = Some(e);
                return ControlFlow::Break(());
            }
            Ok(Record::Session(session)) => {
                index.insert(session.client_id.clone(), loaded.sessions.len());
                loaded.sessions.push(LoadedSession {
                    session,
                    deliveries: Vec::new(),
                    incoming_qos2: Vec::new(),
                });
            }
            Ok(Record::Delivery {
                client_id,
                seq,
                delivery,
            }) => match index.get(&client_id) {
                Some(&i) => loaded.sessions[i].deliveries.push((seq, delivery)),
                None => orphans += 1,
            },
            Ok(Record::IncomingQos2 { client_id, packet_id }) => match index.get(&client_id) {
                Some(&i) => loaded.sessions[i].incoming_qos2.push(packet_id),
                None => orphans += 1,
            },
            Ok(Record::Retained(message)) => loaded.retained.push(message),
        }
        ControlFlow::Continue(())
    })?;
    if let Some(bad) = bad {
        return Err(corrupt(path, bad.detail));
    }
    if orphans > 0 {
        // Harmless (the broker never asks for them) but worth knowing: the broker should delete
        // queues together with their session, which `Op::DeleteSession` does.
        tracing::warn!(path = %path.display(), orphans, "store holds queue entries of sessions that do not exist; they are ignored");
    }
    Ok(Some((version, loaded)))
}

/// The file's schema version, refusing a newer one and a file that has tables but no version.
/// `None` when nothing was ever stored (no tables at all).
pub(crate) fn schema_version(txn: &ReadTransaction, path: &Path) -> Result<Option<u64>, StoreError> {
    let version = match txn.open_table(META) {
        Ok(meta) => meta
            .get(SCHEMA_VERSION_KEY)
            .map_err(|e| storage(path, e))?
            .map(|v| v.value()),
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(table_error(path, META.name(), e)),
    };
    match version {
        None => {
            let mut tables = txn.list_tables().map_err(|e| storage(path, e))?;
            match tables.next() {
                None => Ok(None),
                Some(_) => Err(corrupt(path, "it has tables but no schema version")),
            }
        }
        Some(found) if found > SCHEMA_VERSION => Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(found) if found < OLDEST_SCHEMA_VERSION || found == 2 => Err(corrupt(
            path,
            format!("schema version {found} was never written by robustmq"),
        )),
        Some(found) => Ok(Some(found)),
    }
}

/// Owned form of a table key, for error messages and for handing to `each`.
pub(crate) trait OwnedKey: redb::Key + 'static {
    /// The key with owned strings.
    type Owned: std::fmt::Debug;
    /// Copies a borrowed key.
    fn to_owned_key(key: Self::SelfType<'_>) -> Self::Owned;
}

impl OwnedKey for &'static str {
    type Owned = String;
    fn to_owned_key(key: &str) -> String {
        key.to_string()
    }
}

impl OwnedKey for (&'static str, u64) {
    type Owned = (String, u64);
    fn to_owned_key(key: (&str, u64)) -> (String, u64) {
        (key.0.to_string(), key.1)
    }
}

impl OwnedKey for (&'static str, &'static str) {
    type Owned = (String, String);
    fn to_owned_key(key: (&str, &str)) -> (String, String) {
        (key.0.to_string(), key.1.to_string())
    }
}

impl OwnedKey for u64 {
    type Owned = u64;
    fn to_owned_key(key: u64) -> u64 {
        key
    }
}

impl OwnedKey for (&'static str, u16) {
    type Owned = (String, u16);
    fn to_owned_key(key: (&str, u16)) -> (String, u16) {
        (key.0.to_string(), key.1)
    }
}

/// Calls `each` with every entry of a table in key order, until it breaks (which is returned);
/// a missing table is an empty one.
pub(crate) fn for_each<K: OwnedKey>(
    txn: &ReadTransaction,
    path: &Path,
    table: TableDefinition<K, &'static [u8]>,
    mut each: impl FnMut(K::Owned, &[u8]) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, StoreError> {
    let table = match txn.open_table(table) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(ControlFlow::Continue(())),
        Err(e) => return Err(table_error(path, table.name(), e)),
    };
    for entry in table.iter().map_err(|e| storage(path, e))? {
        let (key, value) = entry.map_err(|e| storage(path, e))?;
        if each(K::to_owned_key(key.value()), value.value()).is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Writes the schema version into a new file and creates every table.
fn initialize(db: &Database, path: &Path) -> Result<(), StoreError> {
    let fail = |detail: String| StoreError::Database {
        path: path.to_path_buf(),
        detail,
    };
    let txn = db.begin_write().map_err(|e| fail(e.to_string()))?;
    write_meta(&txn).map_err(|e| fail(e.to_string()))?;
    // Opening them creates them, so tools see every table of the schema from the start.
    drop(Tables::open(&txn).map_err(|e| fail(e.to_string()))?);
    txn.commit().map_err(|e| fail(e.to_string()))
}

/// Makes a new file's directory entry durable, so a power loss right after the first commit
/// cannot lose the whole file. Best effort: not every platform can sync a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(error) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(path = %dir.display(), %error, "could not sync the data directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Runs `f`, turning a panic (redb may panic on a damaged file) into `Corrupt`.
pub(crate) fn guarded<T>(
    path: &Path,
    doing: &str,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(corrupt(
            path,
            format!("redb panicked while {doing}: {}", panic_message(&payload)),
        ))
    })
}

pub(crate) fn corrupt(path: &Path, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

pub(crate) fn io_error(path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn bad_record(
    table: TableDefinition<impl redb::Key, impl redb::Value>,
    key: &dyn std::fmt::Debug,
    error: impl std::fmt::Display,
) -> String {
    format!("table `{}`, key {key:?}: {error}", table.name())
}

pub(crate) fn table_error(path: &Path, table: &str, error: TableError) -> StoreError {
    match error {
        TableError::Storage(e) => storage(path, e),
        other => corrupt(path, format!("table `{table}`: {other}")),
    }
}

/// A storage error while reading: damage unless the OS itself failed.
pub(crate) fn storage(path: &Path, error: StorageError) -> StoreError {
    match error {
        StorageError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            corrupt(path, "it ends too early to be a whole redb database: truncated")
        }
        StorageError::Io(e) if e.kind() != io::ErrorKind::InvalidData => io_error(path, e),
        other => corrupt(path, other.to_string()),
    }
}

pub(crate) fn database(path: &Path, error: impl std::fmt::Display) -> StoreError {
    StoreError::Database {
        path: path.to_path_buf(),
        detail: error.to_string(),
    }
}

/// Maps a failed redb open to what the user should hear.
fn open_error(dir: &Path, path: &Path, error: DatabaseError) -> StoreError {
    match error {
        DatabaseError::Storage(e) => storage(path, e),
        // Some other program has the file open with redb; same advice as our own lock.
        DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
            dir: dir.to_path_buf(),
        },
        DatabaseError::UpgradeRequired(format) => database(
            path,
            format!("it uses redb file format {format}, which this build cannot read"),
        ),
        other => database(path, other),
    }
}
