//! Reading a data directory for the `robustmq store` tools: locked, checked, and never written.
//!
//! [`Inspector::open`] goes through the same steps as [`Store::open`](super::Store::open) — the
//! directory lock, redb's magic header, an open with redb's integrity check through the in-memory
//! overlay, the schema version — but stops there: the file is only ever read, so inspecting the
//! directory of a crashed broker leaves its recovery to the broker. Records are then decoded one
//! at a time by [`Inspector::scan`], which reports a record that does not decode instead of
//! giving up, so `verify` can list every one.

use std::cell::RefCell;
use std::fs::{self, File};
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTableMetadata, TableHandle};

use super::error::StoreError;
use super::open;
use super::scan::{self, BadRecord, Record};
use super::tables::SCHEMA_VERSION;
use super::types::DeliveryState;
use super::Store;

/// A data directory opened read-only, holding its lock so no broker starts on it meanwhile.
pub struct Inspector {
    /// The file as redb sees it through the overlay: writes (recovery) stay in memory.
    db: Database,
    path: PathBuf,
    file_size: u64,
    schema_version: Option<u64>,
    /// `Some` when opened to salvage: what could not be read, noted as scans go.
    losses: Option<RefCell<Vec<String>>>,
    /// Held for as long as the inspector lives; closing it releases the lock.
    _lock: File,
}

/// Entries and size of one redb table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUsage {
    /// Table name as stored in the file.
    pub name: String,
    /// Number of entries.
    pub entries: u64,
    /// Bytes of all keys and values (redb's `stored_bytes`; no index or page overhead).
    pub bytes: u64,
}

/// What `robustmq store stats` reports about a data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStats {
    /// The data file.
    pub path: PathBuf,
    /// Size of the file on disk, in bytes.
    pub file_size: u64,
    /// Bytes of the pages redb has allocated; the rest of the file is free space `compact` can return.
    pub allocated_bytes: u64,
    /// Schema version recorded in the file; `None` when nothing was ever stored.
    pub schema_version: Option<u64>,
    /// Every table of the file, in the order redb lists them.
    pub tables: Vec<TableUsage>,
    /// Persistent sessions.
    pub sessions: u64,
    /// Deliveries not sent yet.
    pub deliveries_queued: u64,
    /// Deliveries sent and awaiting PUBACK/PUBREC.
    pub deliveries_sent: u64,
    /// QoS 2 deliveries awaiting PUBCOMP.
    pub deliveries_released: u64,
    /// Incoming QoS 2 packet ids awaiting PUBREL.
    pub incoming_qos2: u64,
    /// Retained messages.
    pub retained: u64,
    /// Records that do not decode (`robustmq store verify` names them).
    pub bad_records: u64,
}

impl FileStats {
    /// All deliveries, whatever their state.
    pub fn deliveries(&self) -> u64 {
        self.deliveries_queued + self.deliveries_sent + self.deliveries_released
    }
}

impl Inspector {
    /// Opens the data file of `dir` for reading, holding the directory lock.
    ///
    /// Never creates the directory or the data file ([`StoreError::Missing`]); refuses, as the
    /// broker does, a locked directory, a corrupt, empty or foreign file and a newer schema. A
    /// file of an older schema is read as it is: only the broker migrates. The lock file
    /// (`robustmq.lock`) is created if the directory has none.
    pub fn open(dir: &Path) -> Result<Inspector, StoreError> {
        let path = existing_data_file(dir)?;
        let lock = open::lock_dir(dir)?;
        // Measured under the lock, so no broker is writing to it.
        let file_size = data_file_size(&path)?;
        open::check_header(&path)?;
        let (db, schema_version) = open::guarded(&path, "checking the file", || {
            let db = open::open_overlay(&path)?;
            let version = open::schema_version(&read(&db, &path)?, &path)?;
            Ok((db, version))
        })?;
        Ok(Inspector {
            db,
            path,
            file_size,
            schema_version,
            losses: None,
            _lock: lock,
        })
    }

    /// Opens the data file of `dir` to salvage what can still be read from it, holding the
    /// directory lock.
    ///
    /// A file that passes [`Inspector::open`]'s checks opens as it would there. One that fails
    /// redb's integrity check, or whose schema version cannot be read, is opened all the same;
    /// scans then keep what they can read of each table and note the rest in
    /// [`Inspector::losses`]. Refused still: a missing, locked, empty or foreign file, a newer
    /// schema, and a file redb cannot open at all.
    pub fn open_salvage(dir: &Path) -> Result<Inspector, StoreError> {
        let path = existing_data_file(dir)?;
        let lock = open::lock_dir(dir)?;
        let file_size = data_file_size(&path)?;
        open::check_header(&path)?;
        let mut losses = Vec::new();
        let checked = open::guarded(&path, "checking the file", || open::open_overlay(&path));
        let db = match checked {
            Ok(db) => db,
            Err(StoreError::Corrupt { detail, .. }) => {
                losses.push(format!(
                    "the file fails redb's integrity check ({detail}); what is read from a damaged page may be altered without a record showing it"
                ));
                open::guarded(&path, "opening the file unchecked", || {
                    open::open_overlay_checked(&path, false)
                })?
            }
            Err(other) => return Err(other),
        };
        let version = open::guarded(&path, "reading the schema version", || {
            open::schema_version(&read(&db, &path)?, &path)
        });
        let schema_version = match version {
            Ok(version) => version,
            Err(StoreError::Corrupt { detail, .. }) => {
                let guess = guess_schema(&db, &path);
                losses.push(format!(
                    "the schema version cannot be read ({detail}); read as schema {guess}, after its tables"
                ));
                Some(guess)
            }
            Err(other) => return Err(other),
        };
        Ok(Inspector {
            db,
            path,
            file_size,
            schema_version,
            losses: Some(RefCell::new(losses)),
            _lock: lock,
        })
    }

    /// What salvaging found it could not read (see [`Inspector::open_salvage`]), so far: the
    /// integrity failure and the tables that could not be read to their end. Always empty for
    /// an inspector from [`Inspector::open`].
    pub fn losses(&self) -> Vec<String> {
        self.losses
            .as_ref()
            .map(|l| l.borrow().clone())
            .unwrap_or_default()
    }

    /// The data file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the data file when it was opened, in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Schema version of the file; `None` when nothing was ever stored in it.
    pub fn schema_version(&self) -> Option<u64> {
        self.schema_version
    }

    /// Calls `each` with every record in key order: sessions, deliveries, incoming QoS 2 packet
    /// ids, retained messages. A record that does not decode is passed as `Err` and the scan goes
    /// on, unless `each` breaks. `Err` only when the file cannot be read.
    pub fn scan(
        &self,
        mut each: impl FnMut(Result<Record, BadRecord>) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let Some(version) = self.schema_version else {
            return Ok(());
        };
        let path = &self.path;
        open::guarded(path, "reading the records", || {
            let txn = read(&self.db, path)?;
            let src = scan::Source {
                txn: &txn,
                path,
                losses: self.losses.as_ref(),
            };
            scan::scan(&src, version, &mut each)
        })
    }

    /// Counts and sizes per table, and the records by kind.
    pub fn stats(&self) -> Result<FileStats, StoreError> {
        let mut stats = FileStats {
            path: self.path.clone(),
            file_size: self.file_size,
            allocated_bytes: 0,
            schema_version: self.schema_version,
            tables: Vec::new(),
            sessions: 0,
            deliveries_queued: 0,
            deliveries_sent: 0,
            deliveries_released: 0,
            incoming_qos2: 0,
            retained: 0,
            bad_records: 0,
        };
        let path = &self.path;
        let usage = open::guarded(path, "reading table statistics", || {
            let txn = read(&self.db, path)?;
            let mut tables = Vec::new();
            for handle in txn.list_tables().map_err(|e| open::storage(path, e))? {
                let name = handle.name().to_string();
                let table = txn
                    .open_untyped_table(handle)
                    .map_err(|e| open::table_error(path, &name, e))?;
                let entries = table.len().map_err(|e| open::storage(path, e))?;
                let bytes = table.stats().map_err(|e| open::storage(path, e))?.stored_bytes();
                tables.push(TableUsage { name, entries, bytes });
            }
            // Database-wide statistics need a write transaction; through the overlay it writes
            // nothing to the file, and it is dropped (aborted) here.
            let write = self.db.begin_write().map_err(|e| open::database(path, e))?;
            let db_stats = write.stats().map_err(|e| open::storage(path, e))?;
            let allocated = db_stats.allocated_pages() * db_stats.page_size() as u64;
            Ok((tables, allocated))
        })?;
        (stats.tables, stats.allocated_bytes) = usage;
        self.scan(|record| {
            match record {
                Ok(Record::Session(_)) => stats.sessions += 1,
                Ok(Record::Delivery { delivery, .. }) => match delivery.state {
                    DeliveryState::Queued => stats.deliveries_queued += 1,
                    DeliveryState::Sent { .. } => stats.deliveries_sent += 1,
                    DeliveryState::Released { .. } => stats.deliveries_released += 1,
                },
                Ok(Record::IncomingQos2 { .. }) => stats.incoming_qos2 += 1,
                Ok(Record::Retained(_)) => stats.retained += 1,
                Err(_) => stats.bad_records += 1,
            }
            ControlFlow::Continue(())
        })?;
        Ok(stats)
    }

    /// The error [`Store::open`](super::Store::open) gives for this bad record, for tools that
    /// cannot carry on past one (export).
    pub fn refuse(&self, bad: BadRecord) -> StoreError {
        open::corrupt(&self.path, bad.detail)
    }
}

/// The data file of `dir`, which must exist.
pub(crate) fn existing_data_file(dir: &Path) -> Result<PathBuf, StoreError> {
    let path = dir.join(Store::FILE_NAME);
    match fs::symlink_metadata(&path) {
        Ok(_) => Ok(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::Missing { path }),
        Err(source) => Err(open::io_error(&path, source)),
    }
}

/// Size of the data file in bytes.
pub(crate) fn data_file_size(path: &Path) -> Result<u64, StoreError> {
    match fs::metadata(path) {
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::Missing {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(open::io_error(path, source)),
    }
}

/// The schema a file whose version cannot be read most likely has: 3 if it has a table only
/// schema 3 has.
fn guess_schema(db: &Database, path: &Path) -> u64 {
    let has_messages = open::guarded(path, "listing the tables", || {
        let txn = read(db, path)?;
        let mut tables = txn.list_tables().map_err(|e| open::storage(path, e))?;
        Ok(tables.any(|t| t.name() == "messages"))
    });
    if has_messages.unwrap_or(true) {
        SCHEMA_VERSION
    } else {
        1
    }
}

fn read(db: &Database, path: &Path) -> Result<ReadTransaction, StoreError> {
    db.begin_read().map_err(|e| open::database(path, e))
}
