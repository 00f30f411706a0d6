//! Arguments of `robustmq bench conn|pub|sub|pubsub`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Subcommand};

use super::connection::{LoginArgs, TlsArgs};
use super::parse::{parse_duration, parse_protocol_version, parse_rate};
use crate::exit;
use crate::protocol::Version;

/// Parses `--threshold`: a percentage, `5` or `5%`.
fn parse_threshold(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1000.0).contains(&v) => Ok(v),
        _ => Err("expected a percentage from 0 to 1000, such as 5 or 2.5%".into()),
    }
}

/// `robustmq bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The `robustmq bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Open -c connections at --rate per second, report how many connected and how fast, then hold
    /// them idle for -d (to read the broker's memory per connection).
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = exit::help("bench conn"))]
    Conn(BenchConnCmdArgs),
    /// Publishers only (-c of them, publisher i on -t with %i replaced by i), for a broker that
    /// `bench sub` (or anything else) listens to. Send times are wall-clock nanoseconds.
    #[command(name = "pub", disable_help_flag = true, disable_version_flag = true, after_long_help = exit::help("bench pub"))]
    Pub(BenchPubArgs),
    /// Subscribers only (-c of them on -t): counts, checks and times what `bench pub` sends,
    /// until -d passes, each has -n messages, or Ctrl-C. Start it before `bench pub`.
    #[command(name = "sub", disable_help_flag = true, disable_version_flag = true, after_long_help = exit::help("bench sub"))]
    Sub(BenchSubArgs),
    /// Publishers and subscribers in one run: fanin (N publishers → 1 subscriber), fanout
    /// (1 → N), p2p (N pairs), sharedsub (1 → a shared group of N).
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = exit::help("bench pubsub"))]
    Pubsub(BenchPubsubArgs),
}

/// How bench clients connect. (Not [`ConnectionArgs`]: bench needs `-c` for the number of clients
/// and `-d` for the duration, as emqtt-bench has them.)
#[derive(Debug, Clone, Args)]
pub struct BenchConnArgs {
    /// Broker host name or address.
    #[arg(
        short = 'h',
        long,
        value_name = "HOST",
        default_value = "localhost",
        help_heading = "Connection"
    )]
    pub host: String,
    /// Broker port [default: 1883, or 8883 with TLS].
    #[arg(short = 'p', long, value_name = "PORT", help_heading = "Connection")]
    pub port: Option<u16>,
    /// MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31).
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION", default_value = "5", value_parser = parse_protocol_version, help_heading = "Connection")]
    pub protocol_version: Version,
    /// User name, password and keep alive.
    #[command(flatten)]
    pub login: LoginArgs,
    /// Client identifiers are PREFIX-p0, PREFIX-s0, PREFIX-c0, ... [default: rmqb-PID].
    #[arg(short = 'i', long, value_name = "PREFIX", help_heading = "Connection")]
    pub id_prefix: Option<String>,
    /// Persistent sessions: connect with clean session/start off and this session expiry
    /// (seconds; v5), so the broker keeps (and, if durable, stores) what is queued for them.
    #[arg(short = 'x', long, value_name = "SECS", help_heading = "Connection")]
    pub session_expiry: Option<u32>,
    /// Connection attempts in progress at once.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..), help_heading = "Connection")]
    pub connect_concurrency: u32,
    /// Time allowed for the TCP connection and for the CONNACK, each.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, help_heading = "Connection")]
    pub connect_timeout: std::time::Duration,
    /// TLS flags.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Print help (-h is the host, as with mosquitto's clients).
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

/// Output of every bench subcommand.
#[derive(Debug, Clone, Args)]
pub struct BenchOutputArgs {
    /// Print the results as one JSON object (stable keys) instead of a table; progress goes to
    /// stderr.
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    /// Compare the results with an earlier --json output and print each figure's change; exit 7
    /// if a throughput or latency figure (up to p99) is worse beyond --threshold.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub compare: Option<PathBuf>,
    /// With --compare: changes within this many percent of the baseline are the same (noise),
    /// neither better nor worse.
    #[arg(long, value_name = "PERCENT", default_value = "5", value_parser = parse_threshold, requires = "compare", help_heading = "Output")]
    pub threshold: f64,
    /// Time between progress lines when the output is not a terminal.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, help_heading = "Output")]
    pub interval: std::time::Duration,
    /// No progress output.
    #[arg(long, help_heading = "Output")]
    pub quiet: bool,
    /// Worker threads of the bench [default: one per CPU it may run on].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..), help_heading = "Output")]
    pub threads: Option<u16>,
    /// Process id of the broker, when it runs on this machine (Linux): report its CPU use while
    /// publishing and its memory (VmRSS) before and during the run (`conn`: per connection).
    #[arg(long, value_name = "PID", help_heading = "Output")]
    pub broker_pid: Option<u32>,
}

/// What publishers send.
#[derive(Debug, Clone, Args)]
pub struct BenchLoadArgs {
    /// QoS of publishes and subscriptions: 0, 1 or 2.
    #[arg(short = 'q', long, value_name = "QOS", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2), help_heading = "Load")]
    pub qos: u8,
    /// Payload size in bytes (at least 28: the header with publisher, sequence number and send time).
    #[arg(
        short = 's',
        long,
        value_name = "BYTES",
        default_value_t = 64,
        help_heading = "Load"
    )]
    pub size: usize,
    /// Messages per second per publisher; 0 = as fast as flow control allows.
    #[arg(long, value_name = "MSGS", default_value = "0", value_parser = parse_rate, help_heading = "Load")]
    pub rate: f64,
    /// QoS 1/2 publishes a publisher may have unacknowledged (the broker's receive maximum
    /// lowers it).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..), help_heading = "Load")]
    pub inflight: u16,
    /// Publish for this long [default: 10s unless -n is given].
    #[arg(short = 'd', long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Load")]
    pub duration: Option<std::time::Duration>,
    /// Messages per publisher (with -d: whichever comes first).
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Load")]
    pub count: Option<u64>,
    /// After publishing, how long to wait at most for acknowledgements and deliveries.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration, help_heading = "Load")]
    pub drain: std::time::Duration,
    /// New connections per second while connecting; 0 = no limit.
    #[arg(long, value_name = "N", default_value = "0", value_parser = parse_rate, help_heading = "Connection")]
    pub connect_rate: f64,
}

/// `robustmq bench conn`.
#[derive(Debug, Args)]
pub struct BenchConnCmdArgs {
    /// Where to connect and as whom.
    #[command(flatten)]
    pub conn: BenchConnArgs,
    /// Connections to open.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub clients: u32,
    /// New connections per second; 0 = as fast as --connect-concurrency allows.
    #[arg(long, value_name = "N", default_value = "0", value_parser = parse_rate)]
    pub rate: f64,
    /// How long to hold the connections once every attempt has finished.
    #[arg(short = 'd', long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    /// Before connecting, start a publisher/subscriber pair exchanging MSGS QoS 1 messages of
    /// 64 bytes per second until every attempt has finished, and report its latency: how the
    /// broker serves established clients during a connection storm. 0 = no bystander.
    #[arg(long, value_name = "MSGS", default_value = "0", value_parser = parse_rate)]
    pub bystander_rate: f64,
    /// How to report.
    #[command(flatten)]
    pub output: BenchOutputArgs,
}

/// `robustmq bench pub`.
#[derive(Debug, Args)]
pub struct BenchPubArgs {
    /// Where to connect and as whom.
    #[command(flatten)]
    pub conn: BenchConnArgs,
    /// Publishers.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub clients: u32,
    /// Topic of publisher i, with %i replaced by i.
    #[arg(short = 't', long, value_name = "TOPIC", default_value = "robustmq-bench/%i")]
    pub topic: String,
    /// What to publish, and how fast.
    #[command(flatten)]
    pub load: BenchLoadArgs,
    /// How to report.
    #[command(flatten)]
    pub output: BenchOutputArgs,
}

/// `robustmq bench sub`.
#[derive(Debug, Args)]
pub struct BenchSubArgs {
    /// Where to connect and as whom.
    #[command(flatten)]
    pub conn: BenchConnArgs,
    /// Subscribers.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub clients: u32,
    /// Filter of subscriber i, with %i replaced by i (`$share/GROUP/...` for a shared group).
    #[arg(short = 't', long, value_name = "FILTER", default_value = "robustmq-bench/#")]
    pub topic: String,
    /// Subscription QoS: 0, 1 or 2.
    #[arg(short = 'q', long, value_name = "QOS", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
    /// Stop after this long [default: run until -n or Ctrl-C].
    #[arg(short = 'd', long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Stop once each subscriber has received N messages.
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// New connections per second while connecting; 0 = no limit.
    #[arg(long, value_name = "N", default_value = "0", value_parser = parse_rate, help_heading = "Connection")]
    pub connect_rate: f64,
    /// How to report.
    #[command(flatten)]
    pub output: BenchOutputArgs,
}

/// `robustmq bench pubsub`.
#[derive(Debug, Args)]
pub struct BenchPubsubArgs {
    /// Where to connect and as whom.
    #[command(flatten)]
    pub conn: BenchConnArgs,
    /// fanin, fanout, p2p or sharedsub.
    #[arg(long, value_name = "SCENARIO", default_value = "p2p")]
    pub scenario: crate::bench::scenario::Scenario,
    /// Clients: fanin N publishers → 1 subscriber, fanout 1 → N, p2p N pairs, sharedsub 1 → N.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub clients: u32,
    /// Publishers (instead of what -c gives).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub publishers: Option<u32>,
    /// Subscribers (instead of what -c gives).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub subscribers: Option<u32>,
    /// Also N subscribers that subscribe to the publishers' topics (in turn) and then never
    /// read: what the broker queues for them shows in its memory, and should stay bounded
    /// without slowing the others. Nothing is expected of them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub stalled_subscribers: u32,
    /// Topic prefix: topics are PREFIX/SCENARIO/i.
    #[arg(short = 't', long, value_name = "PREFIX", default_value = "robustmq-bench")]
    pub topic: String,
    /// What to publish, and how fast.
    #[command(flatten)]
    pub load: BenchLoadArgs,
    /// How to report.
    #[command(flatten)]
    pub output: BenchOutputArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_percentages() {
        assert_eq!(parse_threshold("5"), Ok(5.0));
        assert_eq!(parse_threshold("2.5%"), Ok(2.5));
        assert_eq!(parse_threshold("0"), Ok(0.0));
        for bad in ["-1", "five", "NaN", "1e9", ""] {
            assert!(parse_threshold(bad).is_err(), "{bad}");
        }
    }
}
