//! Flags shared by every command that connects to a broker: host and port, login, TLS, and
//! MQTT 5 properties.

use std::path::PathBuf;

use clap::{ArgAction, Args};

use super::parse::{parse_protocol_version, parse_seconds, parse_session_expiry};
use crate::protocol::Version;

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
    /// Connect through this Unix domain socket instead of TCP (in place of -h, -p and -L).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["host", "port", "url"], help_heading = "Connection")]
    pub unix: Option<PathBuf>,
    /// Bind the outgoing connection to this local address (or host name).
    #[arg(
        short = 'A',
        long = "bind-address",
        value_name = "ADDRESS",
        help_heading = "Connection"
    )]
    pub bind_address: Option<String>,
    /// Broker as a URL: mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC, or mqtts:// for TLS (ws:// is not supported).
    #[arg(short = 'L', long = "url", value_name = "URL", help_heading = "Connection")]
    pub url: Option<String>,
    /// Client identifier [default: assigned by the broker with MQTT 5, random with 3.1.1].
    #[arg(short = 'i', long = "id", value_name = "ID", help_heading = "Connection")]
    pub id: Option<String>,
    /// Client identifier made of PREFIX and the process id, as mosquitto's clients make it.
    #[arg(
        short = 'I',
        long = "id-prefix",
        value_name = "PREFIX",
        conflicts_with = "id",
        help_heading = "Connection"
    )]
    pub id_prefix: Option<String>,
    /// User name, password and keep alive.
    #[command(flatten)]
    pub login: LoginArgs,
    /// MQTT version: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31). Unlike mosquitto's
    /// clients, which default to 3.1.1, the default is 5.
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION", default_value = "5", value_parser = parse_protocol_version, help_heading = "Connection")]
    pub protocol_version: Version,
    /// Keep the session after disconnecting (no clean start); needs -i, as with mosquitto. With
    /// MQTT 5 the session never expires unless -x says otherwise.
    #[arg(
        short = 'c',
        long = "no-clean",
        alias = "disable-clean-session",
        help_heading = "Connection"
    )]
    pub no_clean: bool,
    /// MQTT 5 session expiry interval in seconds; -1 or ∞ for never. Unlike mosquitto's
    /// clients, a session that outlives the connection (any -x above 0) needs -i: one under an
    /// id the broker made up could not be found again.
    #[arg(short = 'x', long = "session-expiry", value_name = "SECS", allow_negative_numbers = true, value_parser = parse_session_expiry, help_heading = "Connection")]
    pub session_expiry: Option<u32>,
    /// Most QoS 1/2 messages to have unacknowledged at once [default: 100; the broker's receive
    /// maximum lowers it].
    #[arg(short = 'M', long = "max-inflight", value_name = "N", value_parser = clap::value_parser!(u16).range(1..), help_heading = "Connection")]
    pub max_inflight: Option<u16>,
    /// Disable Nagle's algorithm. Accepted for mosquitto's scripts: robustmq always does.
    #[arg(long, help_heading = "Connection")]
    pub nodelay: bool,
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
    /// The TLS flags only pub and sub take.
    #[command(flatten)]
    pub tls_more: MoreTlsArgs,
    /// Print every packet sent and received to stderr.
    #[arg(short = 'd', long)]
    pub debug: bool,
    /// Print no runtime errors (a wrong command line is still reported); the exit code still
    /// says what happened.
    #[arg(long)]
    pub quiet: bool,
    /// Print help (-h is the host, as with mosquitto's clients).
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
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

/// TLS flags of mosquitto_pub/sub that `pub` and `sub` take on top of [`TlsArgs`]. Any of them
/// turns TLS on too.
#[derive(Debug, Args, Clone, Default)]
pub struct MoreTlsArgs {
    /// A directory of PEM CA certificates to trust (each file that holds certificates).
    #[arg(long, value_name = "DIR", help_heading = "TLS")]
    pub capath: Option<PathBuf>,
    /// The TLS version to speak: tlsv1.3 or tlsv1.2 (tlsv1.1 is too old to be supported)
    /// [default: either].
    #[arg(long, value_name = "VERSION", value_parser = ["tlsv1.3", "tlsv1.2", "tlsv1.1"], help_heading = "TLS")]
    pub tls_version: Option<String>,
    /// Trust the system's CA certificates, also with --cafile or --capath (without them they
    /// are trusted anyway).
    #[arg(long, help_heading = "TLS")]
    pub tls_use_os_certs: bool,
}

impl MoreTlsArgs {
    /// Whether any of these flags is given.
    pub fn any(&self) -> bool {
        self.capath.is_some() || self.tls_version.is_some() || self.tls_use_os_certs
    }
}
