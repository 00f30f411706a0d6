//! Arguments of `robustmq passwd FILE add|delete|list`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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
    Add {
        /// User name: no ':', no control characters, no leading '#' or surrounding spaces.
        #[arg(value_name = "USER")]
        user: String,
        /// Read the password from one line of standard input instead of asking for it.
        #[arg(long)]
        stdin: bool,
    },
    /// Remove a user (exit code 1 if there is no such user).
    Delete {
        /// User name.
        #[arg(value_name = "USER")]
        user: String,
    },
    /// Print the user names, one per line.
    List,
}

/// Exit codes of `robustmq passwd`, shown by `--help`.
pub(super) const PASSWD_EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  the file cannot be read or written, the user to delete does not exist, or the password
     is empty, was typed differently twice, or cannot be read
  2  usage error, or a user name that cannot go in the file";
