//! Arguments of `robustmq sub`.

use clap::Args;

use crate::exit::Exit;

use super::connection::ConnectionArgs;
use super::parse::parse_seconds;

/// `robustmq sub`.
#[derive(Debug, Args)]
pub struct SubArgs {
    /// Where to connect and as whom.
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Topic filter to subscribe to (repeatable; -L may give one more).
    #[arg(short = 't', long = "topic", value_name = "FILTER")]
    pub topics: Vec<String>,
    /// Unsubscribe from FILTER (repeatable), after subscribing to the -t filters; useful with a
    /// session kept by -c.
    #[arg(short = 'U', long = "unsubscribe", value_name = "FILTER")]
    pub unsubscribe: Vec<String>,
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
    /// id, %l length, %x/%X hex payload, %C %D %E %F %R %P %S v5 properties, %j JSON as
    /// mosquitto_sub prints it (tst, topic, qos, retain, payloadlen, mid, properties, payload),
    /// %J the same with the payload parsed as JSON, %I ISO 8601 time, %U Unix time, %% a %, @X
    /// strftime-style time fields, \n \t \\ \0 \e escapes; width and precision as %-10.5t.
    /// Times are UTC (mosquitto_sub prints local time).
    #[arg(
        short = 'F',
        long = "format",
        value_name = "FORMAT",
        conflicts_with = "verbose"
    )]
    pub format: Option<String>,
    /// Print one JSON object per message in robustmq's own schema: topic, payload (or
    /// payload_base64 if it is not UTF-8), qos, retain (true/false) and, with MQTT 5,
    /// properties (snake_case names, user_properties as a list of key/value objects). -F %j
    /// prints mosquitto_sub's JSON instead.
    #[arg(long, conflicts_with_all = ["verbose", "format"])]
    pub json: bool,
    /// Indent the JSON of -F %j, %J and --json (a message then spans several lines).
    #[arg(long)]
    pub pretty: bool,
    /// Print only about PERCENT of the messages, chosen at random (0.1 to 100); those not
    /// printed still count for -C.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub random_filter: Option<f64>,
    /// Do not print a newline after each message.
    #[arg(short = 'N', long = "no-newline")]
    pub no_newline: bool,
    /// Exit after printing N messages.
    #[arg(short = 'C', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Give up if still running after SECS seconds (counted from the connection).
    #[arg(short = 'W', long = "timeout", value_name = "SECS", value_parser = parse_seconds, help = timeout_help())]
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
    /// Exit as soon as the broker has acknowledged the subscriptions (and the -U
    /// unsubscriptions).
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
    /// Exit when the connection is lost, instead of reconnecting (after 1 s, then doubling
    /// up to 30 s between attempts), subscribing again and going on.
    #[arg(long)]
    pub no_reconnect: bool,
}

/// Parses `--random-filter`: a percentage from 0.1 to 100, as mosquitto_sub takes it.
fn parse_percent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.1..=100.0).contains(&v) => Ok(v),
        _ => Err("expected a percentage from 0.1 to 100".into()),
    }
}

/// The help of -W, with its exit code from the table.
fn timeout_help() -> String {
    format!(
        "Exit with code {} if still running after SECS seconds (counted from the connection)",
        Exit::WaitExpired.code()
    )
}
