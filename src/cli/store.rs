//! Arguments of `robustmq store stats|verify|export|compact`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit;

/// `robustmq store`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// What to do with the data directory.
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// The `robustmq store` subcommands. Each refuses a data file that cannot be opened (missing,
/// locked by a running broker, corrupt, empty, not a robustmq store, or written by a newer
/// robustmq) with [`exit::Exit::DataUnusable`].
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Entries and bytes per table, file size, schema version, and counts of sessions, queued
    /// deliveries and retained messages.
    #[command(after_long_help = exit::help("store stats"))]
    Stats(StoreStatsArgs),
    /// Check the data file for consistency: each problem found is printed, and the exit code
    /// tells a clean file from a damaged one and from one that cannot be opened at all.
    #[command(after_long_help = exit::help("store verify"))]
    Verify(StoreDirArgs),
    /// Write sessions, deliveries, incoming QoS 2 ids and retained messages as NDJSON, one
    /// object per line with a "type" field.
    #[command(after_long_help = exit::help("store export"))]
    Export(StoreExportArgs),
    /// Give the space of deleted entries back to the file system. A file of an older schema
    /// is migrated first, as the broker would, keeping a copy of it.
    #[command(after_long_help = exit::help("store compact"))]
    Compact(StoreDirArgs),
}

/// The data directory a `robustmq store` subcommand works on: the one `robustmq serve` would
/// use with the same --config and --data-dir.
#[derive(Debug, Args)]
pub struct StoreDirArgs {
    /// Configuration file whose data_dir to use [default: /etc/robustmq/robustmq.toml when it
    /// exists (ROBUSTMQ_SYSTEM_CONFIG, for packagers and tests, names another file, or none
    /// when empty), else the built-in defaults], chosen as `robustmq serve` chooses it.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory of the broker, over the configuration's data_dir [default: data_dir of
    /// the configuration; with the built-in defaults, robustmq in the user's data directory,
    /// e.g. ~/.local/share/robustmq]. It is never created.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `robustmq store stats`.
#[derive(Debug, Args)]
pub struct StoreStatsArgs {
    /// The data directory.
    #[command(flatten)]
    pub dir: StoreDirArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `robustmq store export`.
#[derive(Debug, Args)]
pub struct StoreExportArgs {
    /// The data directory.
    #[command(flatten)]
    pub dir: StoreDirArgs,
    /// Write to FILE (created, or replaced once the export is complete) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Export every record that can still be read from a damaged file (one that fails its
    /// integrity check, or with records that do not decode) instead of refusing it; what is
    /// lost is listed on stderr. The file is only read.
    #[arg(long)]
    pub salvage: bool,
}
