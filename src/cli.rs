//! Command-line definitions (clap derive), shared by the binary and by man/completion generation.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// One binary that is an MQTT broker and the toolkit around it.
#[derive(Debug, Parser)]
#[command(name = "robustmq", version, about, propagate_version = true)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the MQTT broker.
    Serve(ServeArgs),
    /// Inspect, check, export or compact a data directory (never while a broker uses it).
    Store(StoreArgs),
}

/// `robustmq serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file; flags given here override it.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address for a plain MQTT listener, e.g. 0.0.0.0:1883 (repeatable; replaces the file's listeners).
    #[arg(short, long, value_name = "ADDR")]
    pub listen: Vec<SocketAddr>,
    /// Directory for the broker's data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log level: error, warn, info, debug or trace (RUST_LOG, when set, takes precedence).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
    /// Print a commented default configuration file and exit.
    #[arg(long)]
    pub print_default_config: bool,
    /// Check a configuration file (FILE, else --config, else the built-in defaults) and exit:
    /// 0 if it is valid, 2 with the reason if not.
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub check_config: Option<Option<PathBuf>>,
}

/// `robustmq store`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// What to do with the data directory.
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// The `robustmq store` subcommands. Each exits 4 if the data file cannot be opened: missing,
/// locked by a running broker, corrupt, or written by a newer robustmq.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Entries and bytes per table, file size, schema version, and counts of sessions, queued
    /// deliveries and retained messages.
    Stats(StoreStatsArgs),
    /// Check the data file for consistency: exit 0 if clean, 1 if problems were found.
    Verify(StoreDirArgs),
    /// Write sessions, deliveries, incoming QoS 2 ids and retained messages as NDJSON, one
    /// object per line with a "type" field.
    Export(StoreExportArgs),
    /// Give the space of deleted entries back to the file system.
    Compact(StoreDirArgs),
}

/// The data directory a `robustmq store` subcommand works on.
#[derive(Debug, Args)]
pub struct StoreDirArgs {
    /// Data directory of the broker [default: robustmq in the user's data directory, e.g.
    /// ~/.local/share/robustmq].
    #[arg(
        long,
        value_name = "DIR",
        default_value_os_t = crate::config::default_data_dir(),
        hide_default_value = true
    )]
    pub data_dir: PathBuf,
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
}
