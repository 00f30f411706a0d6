//! Command-line definitions (clap derive), one file per subcommand's arguments, shared by the
//! binary and by man page and completion generation.

mod bench;
mod certs;
mod connection;
mod generate;
mod parse;
mod passwd;
mod pub_cmd;
mod serve;
mod store;
mod sub;
mod top;

use clap::{Parser, Subcommand};

pub use bench::*;
pub use certs::*;
pub use connection::*;
pub use generate::*;
pub use passwd::*;
pub use pub_cmd::*;
pub use serve::*;
pub use store::*;
pub use sub::*;
pub use top::*;

/// One binary that is an MQTT broker and the toolkit around it.
#[derive(Debug, Parser)]
#[command(name = "robustmq", version = env!("ROBUSTMQ_VERSION"), about, propagate_version = true)]
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
    /// Publish messages to a broker (mosquitto_pub style).
    #[command(name = "pub", disable_help_flag = true, disable_version_flag = true, after_long_help = pub_cmd::PUB_EXIT_CODES)]
    Pub(PubArgs),
    /// Subscribe to topics and print the messages (mosquitto_sub style).
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = sub::SUB_EXIT_CODES)]
    Sub(SubArgs),
    /// Load-test any MQTT broker: connections, publishers, subscribers, whole scenarios.
    #[command(after_long_help = bench::BENCH_EXIT_CODES)]
    Bench(BenchArgs),
    /// Manage a password file: add, delete and list users (argon2id; mosquitto_passwd files
    /// work too).
    #[command(after_long_help = passwd::PASSWD_EXIT_CODES)]
    Passwd(PasswdArgs),
    /// Make TLS certificates: a local CA, a server and a client certificate, in one step.
    Certs(CertsArgs),
    /// Live terminal dashboard of a broker: robustmq in full, any other broker from its $SYS topics.
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = top::TOP_HELP)]
    Top(TopArgs),
    /// Write man pages or shell completions (for packagers; the copies in man/ and completions/
    /// come from here).
    #[command(hide = true)]
    Generate(GenerateArgs),
}
