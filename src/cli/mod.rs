//! Command-line definitions (clap derive), one file per subcommand's arguments, shared by the
//! binary and by man page and completion generation.

mod bench;
mod certs;
mod connection;
mod generate;
mod import;
mod parse;
mod passwd;
mod pub_cmd;
mod serve;
mod store;
mod sub;
mod top;

use clap::{Parser, Subcommand};

use crate::exit;

pub use bench::*;
pub use certs::*;
pub use connection::*;
pub use generate::*;
pub use import::*;
pub use passwd::*;
pub use pub_cmd::*;
pub use serve::*;
pub use store::*;
pub use sub::*;
pub use top::*;

/// One binary that is an MQTT broker and the toolkit around it.
#[derive(Debug, Parser)]
#[command(name = "robustmq", version = env!("ROBUSTMQ_VERSION"), about, propagate_version = true, after_long_help = exit::summary())]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the MQTT broker.
    #[command(after_long_help = exit::help("serve"))]
    Serve(ServeArgs),
    /// Inspect, check, export or compact a data directory (never while a broker uses it).
    #[command(after_long_help = exit::help("store"))]
    Store(StoreArgs),
    /// Publish messages to a broker (mosquitto_pub style).
    #[command(name = "pub", disable_help_flag = true, disable_version_flag = true, after_long_help = exit::help("pub"))]
    Pub(PubArgs),
    /// Subscribe to topics and print the messages (mosquitto_sub style).
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = exit::help("sub"))]
    Sub(SubArgs),
    /// Load-test any MQTT broker: connections, publishers, subscribers, whole scenarios.
    #[command(after_long_help = exit::help("bench"))]
    Bench(BenchArgs),
    /// Manage a password file: add, delete and list users (argon2id; mosquitto_passwd files
    /// work too).
    #[command(after_long_help = exit::help("passwd"))]
    Passwd(PasswdArgs),
    /// Make TLS certificates: a local CA, a server and a client certificate, in one step.
    #[command(after_long_help = exit::help("certs"))]
    Certs(CertsArgs),
    /// Turn another broker's configuration into robustmq.toml, listing what did not carry over.
    #[command(after_long_help = exit::help("import"))]
    Import(ImportArgs),
    /// Live terminal dashboard of a broker: robustmq in full, any other broker from its $SYS topics.
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = top::after_long_help())]
    Top(TopArgs),
    /// Write man pages or shell completions (for packagers; the copies in man/ and completions/
    /// come from here).
    #[command(hide = true, after_long_help = exit::help("generate"))]
    Generate(GenerateArgs),
}
