//! Arguments of `robustmq passwd FILE add|delete|list`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit;

/// `robustmq passwd FILE add|delete|list`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// The password file, as named by `[auth] password_file` (`add` creates it, mode 0600).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub action: PasswdAction,
}

/// The `robustmq passwd` actions. Every change rewrites the file atomically (a temporary file
/// renamed over it) and keeps its permissions; a running broker reads it again on SIGHUP.
#[derive(Debug, Subcommand)]
pub enum PasswdAction {
    /// Add a user, or set a new password for an existing one (asked twice, not echoed).
    #[command(after_long_help = exit::help("passwd add"))]
    Add {
        /// User name: no ':', no control characters, no leading '#' or surrounding spaces.
        #[arg(value_name = "USER")]
        user: String,
        /// Read the password from one line of standard input instead of asking for it.
        #[arg(long)]
        stdin: bool,
    },
    /// Remove a user (an error if there is no such user).
    #[command(after_long_help = exit::help("passwd delete"))]
    Delete {
        /// User name.
        #[arg(value_name = "USER")]
        user: String,
    },
    /// Print the user names, one per line.
    #[command(after_long_help = exit::help("passwd list"))]
    List,
}
