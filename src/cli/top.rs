//! Arguments of `robustmq top`.

use clap::{ArgAction, Args};

use super::connection::{LoginArgs, TlsArgs};
use super::parse::{parse_protocol_version, parse_seconds};
use crate::protocol::Version;

/// The keys, and where the figures come from.
const TOP_HELP: &str = "\
Keys: q quit, ? help, Tab or 1-8 switch views (Overview, Clients, Topics, Sessions, Store,
Bridges, Subs, Retained), arrows or j move, s sort, / filter every list (Esc clears), p pause.
Enter on a client opens its detail (user, address, protocol, keep alive, session expiry, will,
subscriptions with their options, inflight, queued, rates, drops); Esc goes back.
k (or K, x, Del) disconnects the selected client, d (or Del) deletes the selected retained
message or offline session, each after a y/n confirmation.

The header and the Overview come from the broker's $SYS topics, so they work with Mosquitto and
other brokers too; the charts show the header's rates, a sample a second, with their units. The
Clients, Topics, Sessions, Store, Bridges, Subs and Retained views need robustmq's admin API,
which answers clients on loopback (or users the ACL allows). If the broker goes away, top says
so and reconnects. NO_COLOR=1 turns colours off.";

/// What `robustmq top --help` ends with: the keys and where the figures come from, then the
/// exit codes.
pub(super) fn after_long_help() -> String {
    format!("{TOP_HELP}\n\n{}", crate::exit::help("top"))
}

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
