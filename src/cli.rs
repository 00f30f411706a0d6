//! Command-line definitions (clap derive), shared by the binary and by man/completion generation.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, ArgGroup, Args, Parser, Subcommand};

use crate::protocol::Version;

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
    #[command(name = "pub", disable_help_flag = true, disable_version_flag = true, after_long_help = PUB_EXIT_CODES)]
    Pub(PubArgs),
    /// Subscribe to topics and print the messages (mosquitto_sub style).
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = SUB_EXIT_CODES)]
    Sub(SubArgs),
    /// Load-test any MQTT broker: connections, publishers, subscribers, whole scenarios.
    #[command(after_long_help = BENCH_EXIT_CODES)]
    Bench(BenchArgs),
    /// Manage a password file: add, delete and list users (argon2id; mosquitto_passwd files
    /// work too).
    #[command(after_long_help = PASSWD_EXIT_CODES)]
    Passwd(PasswdArgs),
    /// Make TLS certificates: a local CA, a server and a client certificate, in one step.
    Certs(CertsArgs),
    /// Live terminal dashboard of a broker: robustmq in full, any other broker from its $SYS topics.
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = TOP_HELP)]
    Top(TopArgs),
    /// Write man pages or shell completions (for packagers; the copies in man/ and completions/
    /// come from here).
    #[command(hide = true)]
    Generate(GenerateArgs),
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
/// locked by a running broker, corrupt, empty, not a robustmq store, or written by a newer
/// robustmq.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Entries and bytes per table, file size, schema version, and counts of sessions, queued
    /// deliveries and retained messages.
    #[command(after_long_help = STORE_EXIT_CODES)]
    Stats(StoreStatsArgs),
    /// Check the data file for consistency: exit 0 if clean, 1 if problems were found, 4 if
    /// the file cannot be opened (a damaged page, for one).
    #[command(after_long_help = STORE_VERIFY_EXIT_CODES)]
    Verify(StoreDirArgs),
    /// Write sessions, deliveries, incoming QoS 2 ids and retained messages as NDJSON, one
    /// object per line with a "type" field.
    #[command(after_long_help = STORE_EXPORT_EXIT_CODES)]
    Export(StoreExportArgs),
    /// Give the space of deleted entries back to the file system. A file of an older schema
    /// is migrated first, as the broker would, keeping a copy of it.
    #[command(after_long_help = STORE_EXIT_CODES)]
    Compact(StoreDirArgs),
}

/// Exit codes of `robustmq store stats` and `compact`, shown by `--help`.
const STORE_EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  the output could not be written
  4  the data file cannot be opened: missing, locked by a running broker, corrupt (a damaged
     page, not a redb file, empty), or written by a newer robustmq; it is left untouched";

/// Exit codes of `robustmq store verify`, shown by `--help`.
const STORE_VERIFY_EXIT_CODES: &str = "\
Exit codes:
  0  every check passed
  1  problems were found (each is printed), or the output could not be written
  4  the data file cannot be opened, so nothing could be checked record by record: missing,
     locked by a running broker, corrupt (a damaged page, not a redb file, empty), or written
     by a newer robustmq; the reason is printed";

/// Exit codes of `robustmq store export`, shown by `--help`.
const STORE_EXPORT_EXIT_CODES: &str = "\
Exit codes:
  0  every record was exported
  1  the output could not be written; with --salvage: the file is damaged and what could not be
     read is listed on stderr (everything that could be read was exported)
  4  the data file cannot be opened: missing, locked by a running broker, corrupt (without
     --salvage; with it, only a file redb cannot open at all), empty, or written by a newer
     robustmq; it is left untouched";

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
    /// Export every record that can still be read from a damaged file (one that fails its
    /// integrity check, or with records that do not decode) instead of refusing it; what is
    /// lost is listed on stderr. The file is only read.
    #[arg(long)]
    pub salvage: bool,
}

/// Exit codes of `robustmq pub`, shown by `--help`.
const PUB_EXIT_CODES: &str = "\
Exit codes:
  0  every message was sent (and acknowledged, at QoS 1 and 2)
  1  the connection failed once made (closed by the broker, lost, protocol error), or a file or
     stdin could not be read
  2  usage error: a bad flag or value, an invalid topic, or what is not supported yet (TLS,
     mqtts://, ws://)
  3  cannot connect: host not found, connection refused, unreachable, timed out
  4  the broker refused the connection (the CONNACK reason is printed, e.g. \"not authorized\")
  5  the broker refused a message (MQTT 5 PUBACK/PUBREC reason), or cannot take it (QoS above its
     maximum, retain unavailable, packet too large)
  6  timed out waiting for the broker (CONNACK, PINGRESP)";

/// Exit codes of `robustmq sub`, shown by `--help`.
const SUB_EXIT_CODES: &str = "\
Exit codes:
  0   done: -C messages printed, -E, --retained-only finished, or interrupted (Ctrl-C)
  1   the connection failed once made (closed by the broker, lost, protocol error)
  2   usage error: a bad flag or value, an invalid topic filter, or what is not supported yet
      (TLS, mqtts://, ws://)
  3   cannot connect: host not found, connection refused, unreachable, timed out
  4   the broker refused the connection (the CONNACK reason is printed, e.g. \"not authorized\")
  5   the broker refused a subscription (each refused filter is printed with its reason), or a
      --remove-retained publish
  6   timed out waiting for the broker (CONNACK, PINGRESP)
  27  -W expired (as mosquitto_sub)";

/// Parses `-V`: 5, 311, 31 or mqttv5, mqttv311, mqttv31.
fn parse_protocol_version(s: &str) -> Result<Version, String> {
    match s.to_ascii_lowercase().as_str() {
        "5" | "mqttv5" | "v5" => Ok(Version::V5),
        "311" | "mqttv311" | "v311" => Ok(Version::V3_1_1),
        "31" | "mqttv31" | "v31" => Ok(Version::V3_1),
        _ => Err("expected 5, 311, 31, mqttv5, mqttv311 or mqttv31".into()),
    }
}

/// Parses `-x`: seconds, or -1 / ∞ / never for a session that does not expire.
fn parse_session_expiry(s: &str) -> Result<u32, String> {
    match s {
        "-1" | "∞" | "never" | "inf" => Ok(u32::MAX),
        _ => s
            .parse()
            .map_err(|_| "expected seconds (0 to 4294967295), or -1 / ∞ for never".into()),
    }
}

/// Parses a positive number of seconds, fractions allowed.
fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(v),
        _ => Err("expected a positive number of seconds".into()),
    }
}

/// `-D/--property COMMAND NAME VALUE` (or `COMMAND user-property KEY VALUE`), one entry per
/// occurrence. Written by hand because clap's derive keeps occurrences apart only behind an
/// unstable feature.
#[derive(Debug, Clone, Default)]
pub struct PropertyArgs(pub Vec<Vec<String>>);

impl clap::FromArgMatches for PropertyArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let groups = matches
            .get_occurrences::<String>("property")
            .map(|occurrences| occurrences.map(|values| values.cloned().collect()).collect())
            .unwrap_or_default();
        Ok(PropertyArgs(groups))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for PropertyArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.arg(
            clap::Arg::new("property")
                .short('D')
                .long("property")
                .value_names(["COMMAND", "NAME", "VALUE"])
                .num_args(3..=4)
                .action(ArgAction::Append)
                .help_heading("Connection")
                .help(
                    "MQTT 5 property, as mosquitto: -D COMMAND NAME VALUE, or -D COMMAND user-property KEY \
                     VALUE. COMMAND is connect, will, disconnect, or publish (pub only)",
                ),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// Connection flags shared by every client command (`pub`, `sub`; later `bench`, `top`).
///
/// As with mosquitto's clients, `-h` is the host and `-V` the protocol version: a command that
/// flattens these needs `disable_help_flag = true, disable_version_flag = true` (the `--help`
/// flag is defined here).
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Broker host name or address.
    #[arg(
        short = 'h',
        long,
        value_name = "HOST",
        default_value = "localhost",
        conflicts_with = "url",
        help_heading = "Connection"
    )]
    pub host: String,
    /// Broker port [default: 1883, or 8883 with TLS].
    #[arg(
        short = 'p',
        long,
        value_name = "PORT",
        conflicts_with = "url",
        help_heading = "Connection"
    )]
    pub port: Option<u16>,
    /// Broker as a URL: mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC (mqtts:// and ws:// are not supported yet).
    #[arg(short = 'L', long = "url", value_name = "URL", help_heading = "Connection")]
    pub url: Option<String>,
    /// Client identifier [default: assigned by the broker with MQTT 5, random with 3.1.1].
    #[arg(short = 'i', long = "id", value_name = "ID", help_heading = "Connection")]
    pub id: Option<String>,
    /// User name, password and keep alive.
    #[command(flatten)]
    pub login: LoginArgs,
    /// MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31).
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION", default_value = "5", value_parser = parse_protocol_version, help_heading = "Connection")]
    pub protocol_version: Version,
    /// Keep the session after disconnecting (no clean start); needs -i. With MQTT 5 the session
    /// never expires unless -x says otherwise.
    #[arg(
        short = 'c',
        long = "no-clean",
        alias = "disable-clean-session",
        help_heading = "Connection"
    )]
    pub no_clean: bool,
    /// MQTT 5 session expiry interval in seconds; -1 or ∞ for never.
    #[arg(short = 'x', long = "session-expiry", value_name = "SECS", allow_negative_numbers = true, value_parser = parse_session_expiry, help_heading = "Connection")]
    pub session_expiry: Option<u32>,
    /// Seconds to wait for the TCP connection and for the CONNACK.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds, help_heading = "Connection")]
    pub connect_timeout: f64,
    /// Topic of the will message the broker publishes if this client disappears.
    #[arg(long, value_name = "TOPIC", help_heading = "Will")]
    pub will_topic: Option<String>,
    /// Payload of the will message.
    #[arg(long, value_name = "PAYLOAD", requires = "will_topic", help_heading = "Will")]
    pub will_payload: Option<String>,
    /// QoS of the will message.
    #[arg(long, value_name = "QOS", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2), requires = "will_topic", help_heading = "Will")]
    pub will_qos: u8,
    /// Retain the will message.
    #[arg(long, requires = "will_topic", help_heading = "Will")]
    pub will_retain: bool,
    /// MQTT 5 properties (-D).
    #[command(flatten)]
    pub property: PropertyArgs,
    /// TLS flags.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Print every packet sent and received to stderr.
    #[arg(short = 'd', long)]
    pub debug: bool,
    /// Print help (-h is the host, as with mosquitto's clients).
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

/// `robustmq pub`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("payload").required(true).args(["message", "file", "stdin_line", "stdin_file", "null_message"])))]
pub struct PubArgs {
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
}

/// `robustmq sub`.
#[derive(Debug, Args)]
pub struct SubArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Topic filter to subscribe to (repeatable; -L may give one more).
    #[arg(short = 't', long = "topic", value_name = "FILTER")]
    pub topics: Vec<String>,
    /// Do not print messages whose topic matches FILTER (repeatable).
    #[arg(short = 'T', long = "filter-out", value_name = "FILTER")]
    pub filter_out: Vec<String>,
    /// Maximum QoS to receive messages with: 0, 1 or 2.
    #[arg(short = 'q', long, value_name = "QOS", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
    /// Print the topic, a space, then the payload.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Print each message with FORMAT: %t topic, %p payload, %q QoS, %r retain, %i or %m packet
    /// id, %l length, %x/%X hex payload, %C %D %E %F %R %P %S v5 properties, %j JSON, %I ISO
    /// 8601 time, %U Unix time, %% a %, @X strftime-style time fields (UTC), \n \t \\ \0 \e escapes;
    /// width and precision as %-10.5t.
    #[arg(
        short = 'F',
        long = "format",
        value_name = "FORMAT",
        conflicts_with = "verbose"
    )]
    pub format: Option<String>,
    /// Print one JSON object per message: topic, payload (or payload_base64 if it is not
    /// UTF-8), qos, retain and, with MQTT 5, properties.
    #[arg(long, conflicts_with_all = ["verbose", "format"])]
    pub json: bool,
    /// Do not print a newline after each message.
    #[arg(short = 'N', long = "no-newline")]
    pub no_newline: bool,
    /// Exit after printing N messages.
    #[arg(short = 'C', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Exit with code 27 if still running after SECS seconds (counted from the connection).
    #[arg(short = 'W', long = "timeout", value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<f64>,
    /// Skip messages that arrive with the retain flag set (stale ones).
    #[arg(short = 'R', long = "no-retained", conflicts_with = "retained_only")]
    pub no_retained: bool,
    /// Print only retained messages, then exit at the first message that is not retained or
    /// when none has arrived for half a second.
    #[arg(long)]
    pub retained_only: bool,
    /// Clear each retained message received (publish an empty retained message to its topic).
    #[arg(long)]
    pub remove_retained: bool,
    /// Exit as soon as the broker has acknowledged the subscriptions.
    #[arg(short = 'E', long = "exit-after-subscribe")]
    pub exit_after_subscribe: bool,
    /// MQTT 5: do not receive messages this client publishes.
    #[arg(long)]
    pub no_local: bool,
    /// MQTT 5: keep the retain flag as the publisher set it on forwarded messages.
    #[arg(long)]
    pub retain_as_published: bool,
    /// MQTT 5 retain handling: 0 send retained messages on subscribe, 1 only for a new
    /// subscription, 2 never.
    #[arg(long, value_name = "0|1|2", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub retain_handling: Option<u8>,
}

/// Exit codes of `robustmq bench`, shown by `--help`.
const BENCH_EXIT_CODES: &str = "\
Exit codes:
  0  the run finished without errors (the figures are printed)
  1  the run finished, but clients hit errors (connections lost, publishes refused or never
     acknowledged); the figures are printed and the errors counted in them
  2  usage error: a bad flag or value, an unreadable --compare file
  3  clients cannot connect: host not found, connection refused, unreachable
  4  the broker refused connections (CONNACK)
  5  the broker refused a subscription
  6  timed out waiting for the broker (CONNACK, SUBACK)";

/// Parses a duration: `10s`, `500ms`, `2m`, or plain seconds (`1.5`).
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        return if (0.0..1e9).contains(&secs) {
            Ok(std::time::Duration::from_secs_f64(secs))
        } else {
            Err("expected a duration such as 10s, 500ms, 2m, or seconds".into())
        };
    }
    humantime::parse_duration(s).map_err(|e| format!("{e}: expected a duration such as 10s, 500ms, 2m"))
}

/// Parses a rate per second: 0 or more.
fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("expected a number of messages (or connections) per second, 0 for no limit".into()),
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
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = BENCH_EXIT_CODES)]
    Conn(BenchConnCmdArgs),
    /// Publishers only (-c of them, publisher i on -t with %i replaced by i), for a broker that
    /// `bench sub` (or anything else) listens to. Send times are wall-clock nanoseconds.
    #[command(name = "pub", disable_help_flag = true, disable_version_flag = true, after_long_help = BENCH_EXIT_CODES)]
    Pub(BenchPubArgs),
    /// Subscribers only (-c of them on -t): counts, checks and times what `bench pub` sends,
    /// until -d passes, each has -n messages, or Ctrl-C. Start it before `bench pub`.
    #[command(name = "sub", disable_help_flag = true, disable_version_flag = true, after_long_help = BENCH_EXIT_CODES)]
    Sub(BenchSubArgs),
    /// Publishers and subscribers in one run: fanin (N publishers → 1 subscriber), fanout
    /// (1 → N), p2p (N pairs), sharedsub (1 → a shared group of N).
    #[command(disable_help_flag = true, disable_version_flag = true, after_long_help = BENCH_EXIT_CODES)]
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
    /// Compare the results with an earlier --json output and print each figure's change.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub compare: Option<PathBuf>,
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
    #[command(flatten)]
    pub output: BenchOutputArgs,
}

/// `robustmq bench pub`.
#[derive(Debug, Args)]
pub struct BenchPubArgs {
    #[command(flatten)]
    pub conn: BenchConnArgs,
    /// Publishers.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub clients: u32,
    /// Topic of publisher i, with %i replaced by i.
    #[arg(short = 't', long, value_name = "TOPIC", default_value = "robustmq-bench/%i")]
    pub topic: String,
    #[command(flatten)]
    pub load: BenchLoadArgs,
    #[command(flatten)]
    pub output: BenchOutputArgs,
}

/// `robustmq bench sub`.
#[derive(Debug, Args)]
pub struct BenchSubArgs {
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
    #[command(flatten)]
    pub output: BenchOutputArgs,
}

/// `robustmq bench pubsub`.
#[derive(Debug, Args)]
pub struct BenchPubsubArgs {
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
    #[command(flatten)]
    pub load: BenchLoadArgs,
    #[command(flatten)]
    pub output: BenchOutputArgs,
}

/// User name, password and keep alive, shared by every command that connects to a broker.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// User name.
    #[arg(short = 'u', long, value_name = "USER", help_heading = "Connection")]
    pub username: Option<String>,
    /// Password.
    #[arg(
        short = 'P',
        long = "pw",
        value_name = "PASSWORD",
        help_heading = "Connection"
    )]
    pub password: Option<String>,
    /// Keep alive interval in seconds (0 = off).
    #[arg(
        short = 'k',
        long,
        value_name = "SECS",
        default_value_t = 60,
        help_heading = "Connection"
    )]
    pub keepalive: u16,
}

/// `robustmq generate` (hidden): files generated from these definitions.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to write.
    #[command(subcommand)]
    pub what: GenerateWhat,
}

/// The `robustmq generate` subcommands.
#[derive(Debug, Subcommand)]
pub enum GenerateWhat {
    /// Man pages: robustmq(1), one robustmq-COMMAND(1) per subcommand, and robustmq.toml(5).
    Man {
        /// Directory to write the pages to (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Shell completions for bash, zsh, fish, elvish and PowerShell.
    Completions {
        /// Directory to write the scripts to (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

const TOP_HELP: &str = "\
Keys: q quit, ? help, Tab or 1-5 switch views, arrows or j/k move, s sort, / filter, p pause,
K (or x, Del) disconnect the selected client after a y/n confirmation.

The header and the Overview come from the broker's $SYS topics, so they work with Mosquitto and
other brokers too; the Clients, Topics, Sessions and Store views need robustmq's admin API, which
answers clients on loopback (or users the ACL allows). If the broker goes away, top says so and
reconnects. NO_COLOR=1 turns colours off.

Exit codes: 0 quit, 1 terminal error, 2 usage.";

/// `robustmq top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Broker host name or address.
    #[arg(short = 'h', long, value_name = "HOST", default_value = "localhost")]
    pub host: String,
    /// Broker port [default: 1883, or 8883 with TLS].
    #[arg(short = 'p', long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Client identifier [default: robustmq- and a random suffix].
    #[arg(short = 'i', long = "id", value_name = "ID")]
    pub id: Option<String>,
    /// User name, password and keep alive.
    #[command(flatten)]
    pub login: LoginArgs,
    /// MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31).
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION", default_value = "5", value_parser = parse_protocol_version)]
    pub protocol_version: Version,
    /// Seconds between requests for details (robustmq only; $SYS figures come as the broker publishes them).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_seconds)]
    pub interval: f64,
    /// TLS flags.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Print help (-h is the host, as with mosquitto's clients).
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

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
const PASSWD_EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  the file cannot be read or written, the user to delete does not exist, or the password
     is empty, was typed differently twice, or cannot be read
  2  usage error, or a user name that cannot go in the file";

/// `robustmq certs`.
#[derive(Debug, Args)]
pub struct CertsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CertsCommand,
}

/// The `robustmq certs` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Write DIR/ca.crt, ca.key, server.crt, server.key, client.crt and client.key (keys mode
    /// 0600), signed by the new CA, and print a listener configuration that uses them.
    Init(CertsInitArgs),
}

/// `robustmq certs init`.
#[derive(Debug, Args)]
pub struct CertsInitArgs {
    /// Directory for the files (created if missing). Existing files are never replaced
    /// without --force.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// DNS name the server certificate is valid for; repeatable [default: localhost and this
    /// machine's host name].
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// IP address the server certificate is valid for; repeatable [default: 127.0.0.1 and ::1].
    #[arg(long = "ip", value_name = "ADDR")]
    pub ips: Vec<std::net::IpAddr>,
    /// Common Name of the client certificate (its user name with use_identity_as_username).
    #[arg(long, value_name = "NAME", default_value = "robustmq-client")]
    pub client_name: String,
    /// Days the certificates are valid.
    #[arg(long, value_name = "DAYS", default_value_t = 825)]
    pub days: u32,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
}

/// TLS flags of the client commands, as mosquitto_pub/sub name them. Any of them (or an
/// `mqtts://` URL) turns TLS on.
#[derive(Debug, Args, Clone, Default)]
pub struct TlsArgs {
    /// PEM CA certificates to trust [default: the system's trusted CAs].
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub cafile: Option<PathBuf>,
    /// PEM client certificate, for brokers that ask for one.
    #[arg(long, value_name = "FILE", requires = "key", help_heading = "TLS")]
    pub cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert", help_heading = "TLS")]
    pub key: Option<PathBuf>,
    /// Do not check that the broker's certificate is valid for the host name (it must still be
    /// signed by a trusted CA).
    #[arg(long, help_heading = "TLS")]
    pub insecure: bool,
}

impl TlsArgs {
    /// Whether any TLS flag is given.
    pub fn any(&self) -> bool {
        self.cafile.is_some() || self.cert.is_some() || self.key.is_some() || self.insecure
    }

    /// The port to use when none is given: 8883 with TLS, 1883 without, as mosquitto's clients do.
    pub fn default_port(&self) -> u16 {
        if self.any() {
            8883
        } else {
            1883
        }
    }
}
