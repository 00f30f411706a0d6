//! Arguments of `robustmq pub`.

use std::path::PathBuf;

use clap::{ArgGroup, Args};

use super::connection::ConnectionArgs;
use super::parse::parse_seconds;

/// `robustmq pub`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("payload").required(true).args(["message", "file", "stdin_line", "stdin_file", "null_message"])))]
pub struct PubArgs {
    /// Where to connect and as whom.
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Topic to publish to (or give it in -L).
    #[arg(short = 't', long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Send this message.
    #[arg(short = 'm', long, value_name = "MESSAGE", allow_hyphen_values = true)]
    pub message: Option<String>,
    /// Send the contents of FILE as one message.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Send each line of stdin as a message (without its line ending), as lines arrive.
    #[arg(short = 'l', long = "stdin-line")]
    pub stdin_line: bool,
    /// Send all of stdin as one message.
    #[arg(short = 's', long = "stdin-file")]
    pub stdin_file: bool,
    /// Send an empty message.
    #[arg(short = 'n', long = "null-message")]
    pub null_message: bool,
    /// Quality of service: 0, 1 or 2.
    #[arg(short = 'q', long, value_name = "QOS", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
    /// Ask the broker to retain the message (an empty retained message clears the topic).
    #[arg(short = 'r', long)]
    pub retain: bool,
    /// Send the message N times (with -m, -f, -s or -n).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeat: u64,
    /// Seconds to wait after each repeated message is delivered before sending the next.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds, requires = "repeat")]
    pub repeat_delay: Option<f64>,
    /// With -l: exit when the connection is lost, instead of reconnecting (after 1 s, then
    /// doubling up to 30 s between attempts) and sending the lines that follow.
    #[arg(long, requires = "stdin_line")]
    pub no_reconnect: bool,
}
