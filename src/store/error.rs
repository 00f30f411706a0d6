//! Why the store could not be opened, each as one line that names the file and what to do.

use std::path::PathBuf;

/// An error opening the store. Every variant names the file or directory involved; its
/// `Display` is a single line a user can act on, so the broker can print it and exit.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another `Store` in this one) holds the data directory's lock.
    #[error(
        "data directory {} is in use by another robustmq (lock file {}); stop it or use --data-dir",
        dir.display(),
        dir.join(super::Store::LOCK_FILE_NAME).display()
    )]
    Locked {
        /// The data directory.
        dir: PathBuf,
    },
    /// The data file is not a readable robustmq store. It was not modified.
    #[error(
        "data file {} is corrupt ({detail}); it was left untouched: move it away to start with an empty store, or restore a backup",
        path.display()
    )]
    Corrupt {
        /// The data file.
        path: PathBuf,
        /// What is wrong, e.g. the table and key of a record that does not parse.
        detail: String,
    },
    /// The data file was written by a newer robustmq. It was not modified.
    #[error(
        "data file {} was written by a newer robustmq (schema version {found}, this build reads up to {supported}); it was left untouched: run a newer robustmq, or move the file away to start with an empty store",
        path.display()
    )]
    NewerSchema {
        /// The data file.
        path: PathBuf,
        /// Schema version recorded in the file.
        found: u64,
        /// Highest schema version this build understands.
        supported: u64,
    },
    /// The data directory has no data file but holds something else: not an empty directory,
    /// so not one to start a new store in (a data file lost or moved, or the wrong directory).
    #[error(
        "data directory {} holds {} but no {}: only an empty directory starts a new store; it was left untouched: restore the data file, or point --data-dir at an empty directory",
        dir.display(),
        file.display(),
        super::Store::FILE_NAME
    )]
    NotEmpty {
        /// The data directory.
        dir: PathBuf,
        /// The first file found in it that the store did not make.
        file: PathBuf,
    },
    /// There is no data file where a tool (`robustmq store ...`) expected one. Tools never create it.
    #[error(
        "data file {} does not exist; check --data-dir (robustmq serve creates the file on its first start)",
        path.display()
    )]
    Missing {
        /// The data file that was looked for.
        path: PathBuf,
    },
    /// The operating system refused an operation on a file or directory.
    #[error("cannot use {}: {source}; check that it exists, is writable and the disk is not full", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// redb failed for a reason other than a corrupt file (for example an unsupported file format).
    #[error("data file {} could not be opened: {detail}; check the disk and permissions, or move the file away to start with an empty store", path.display())]
    Database {
        /// The data file.
        path: PathBuf,
        /// redb's error.
        detail: String,
    },
}
