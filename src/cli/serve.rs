//! Arguments of `robustmq serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::exit::Exit;

/// `robustmq serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// TOML configuration file; flags given here override it. Without it:
    /// /etc/robustmq/robustmq.toml when that exists (ROBUSTMQ_SYSTEM_CONFIG, for packagers and
    /// tests, names another file, or none when empty), else the built-in defaults. The
    /// start-up line says which was used; `robustmq store` chooses the same way.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address for a plain MQTT listener, e.g. 0.0.0.0:1883 (repeatable; replaces the file's listeners).
    #[arg(short, long, value_name = "ADDR")]
    pub listen: Vec<SocketAddr>,
    /// Let clients without a user name connect on every listener, from --listen and from the
    /// file alike (like mosquitto's global allow_anonymous true). Without it a listener takes
    /// the file's allow_anonymous, and one that sets none accepts anonymous clients only on
    /// loopback and Unix sockets.
    #[arg(long)]
    pub allow_anonymous: bool,
    /// Directory for the broker's data, created (mode 0700) when missing [default: data_dir of
    /// the configuration; with the built-in defaults, robustmq in the user's data directory,
    /// e.g. ~/.local/share/robustmq].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log level: error, warn, info, debug or trace, or a filter such as info,robustmq=debug
    /// [default: server.log_level of the configuration, info]. Given here, it stays through
    /// SIGHUP reloads; RUST_LOG, when set, takes precedence over both.
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Print a commented default configuration file and exit.
    #[arg(long)]
    pub print_default_config: bool,
    /// Check a configuration file (FILE, else the one --config chooses) and exit.
    #[arg(long, value_name = "FILE", num_args = 0..=1, help = check_config_help())]
    pub check_config: Option<Option<PathBuf>>,
}

/// The help of --check-config, with its exit codes from the table.
fn check_config_help() -> String {
    format!(
        "Check a configuration file (FILE, else the one --config chooses), and open the password, \
         ACL, certificate and key files it names, then exit: {} if all is valid, {} with the \
         first problem and its file if not",
        Exit::Success.code(),
        Exit::Usage.code()
    )
}
