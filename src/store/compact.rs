//! `robustmq store compact`: give the space of deleted entries back to the file system.
//!
//! The data file is opened exactly as the broker opens it (lock, checks, recovery), so a file the
//! broker would refuse is refused here too and left untouched. redb's compaction then moves pages
//! towards the start of the file and truncates it, under the directory lock the whole time.

use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::inspect::{data_file_size, existing_data_file};
use super::open;

/// Upper bound on compaction passes. redb reports when a pass could not move anything more; this
/// only guards against a pass that keeps reporting progress.
const MAX_PASSES: u32 = 64;

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    /// The data file.
    pub path: PathBuf,
    /// File size before, in bytes.
    pub size_before: u64,
    /// File size after, in bytes.
    pub size_after: u64,
    /// redb compaction passes that moved something.
    pub passes: u32,
}

impl Compaction {
    /// Bytes given back to the file system (0 if the file grew, which a recovery can do).
    pub fn reclaimed(&self) -> u64 {
        self.size_before.saturating_sub(self.size_after)
    }
}

/// Compacts the data file of `dir`, holding the directory lock throughout.
///
/// Refuses a missing data file ([`StoreError::Missing`]; nothing is created), a locked directory,
/// a corrupt, empty or foreign file and a newer schema, leaving the file untouched. A file of an
/// older schema is migrated first, as the broker would (keeping a copy of it).
pub fn compact(dir: &Path) -> Result<Compaction, StoreError> {
    let path = existing_data_file(dir)?;
    let size_before = data_file_size(&path)?;
    let opened = open::open(dir)?;
    let mut db = opened.db;
    let mut passes = 0;
    while passes < MAX_PASSES {
        let progressed = open::guarded(&path, "compacting", || {
            db.compact().map_err(|e| StoreError::Database {
                path: path.clone(),
                detail: format!("compaction failed: {e}"),
            })
        })?;
        if !progressed {
            break;
        }
        passes += 1;
    }
    // Close the database before measuring it and before the lock goes.
    db.close().map_err(|e| open::database(&path, e))?;
    let size_after = data_file_size(&path)?;
    drop(opened.lock);
    Ok(Compaction {
        path,
        size_before,
        size_after,
        passes,
    })
}
