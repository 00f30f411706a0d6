//! Arguments of `robustmq import mosquitto FILE`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit;

/// `robustmq import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Which broker's configuration.
    #[command(subcommand)]
    pub from: ImportFrom,
}

/// The brokers `robustmq import` reads the configuration of.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// Translate a mosquitto.conf (and the files its include_dir names) into robustmq.toml.
    ///
    /// Listeners, TLS, allow_anonymous, password_file and acl_file (used as they are: robustmq
    /// reads Mosquitto's password and ACL files), limits, persistence_location and bridges
    /// carry over. Every line that does not, or only in part, is listed on stderr as
    /// FILE:LINE: KEY: why, followed by a summary line. The result is checked with
    /// robustmq's configuration loader before it is written; the files it names are not
    /// opened (`robustmq serve --check-config` does that).
    #[command(after_long_help = exit::help("import mosquitto"))]
    Mosquitto(ImportMosquittoArgs),
}

/// `robustmq import mosquitto`.
#[derive(Debug, Args)]
pub struct ImportMosquittoArgs {
    /// The Mosquitto configuration file, e.g. /etc/mosquitto/mosquitto.conf.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write the robustmq configuration here instead of to standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Replace OUT if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}
