//! TOML configuration file → validated Settings.
//!
//! Loading happens in three steps, each with its own kind of error:
//!
//! 1. parse the TOML syntax,
//! 2. deserialize into [`Settings`] (types, units, unknown keys: every table denies unknown
//!    fields, so a typo is an error instead of a silently ignored setting),
//! 3. [`Settings::validate`] the rules that span several keys (a `mqtts` listener needs a
//!    certificate, two listeners cannot share an address, ...).
//!
//! Every error is a single line naming the file, the key and the problem, so that
//! `robustmq serve --check-config` can print it as it is.

mod bridge;
mod de;
mod diff;
mod paths;
#[cfg(test)]
mod tests;
mod validate;

pub use validate::{log_filter, LogFilterError};

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use bridge::{BridgeSettings, BridgeTopic, Direction as BridgeDirection, Remote, RemoteError};
pub use diff::{diff, listeners_rebind, Diff};
pub use paths::{create_data_dir, system_config, ConfigSource, SYSTEM_CONFIG, SYSTEM_CONFIG_ENV};

/// The commented default configuration file, printed by
/// `robustmq serve --print-default-config`.
///
/// Every key is listed with its default value; keys without a default are commented-out
/// examples. It parses to a [`Settings`] equal to [`Settings::default()`].
pub const DEFAULT_CONFIG: &str = include_str!("default_config.toml");

/// The largest packet MQTT can describe: the remaining length is at most 268,435,455 bytes.
const MQTT_MAX_PACKET_SIZE: u32 = 268_435_455;
/// Smallest packet limit we accept: below this not even a CONNECT with a short client id
/// fits, so every client would be refused.
const MIN_PACKET_SIZE: u32 = 16;

/// Everything the broker reads from its configuration file.
///
/// Build it with [`Settings::from_file`], [`Settings::from_toml_str`] or
/// [`Settings::default()`]; after changing fields (command-line overrides), call
/// [`Settings::validate`] again.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `[server]`: where data lives and how often `$SYS` is published.
    pub server: ServerSettings,
    /// `[[listeners]]`: the sockets clients connect to. A file without any `[[listeners]]`
    /// gets the default listener (plain MQTT on 127.0.0.1:1883).
    pub listeners: Vec<ListenerSettings>,
    /// `[auth]`: password and ACL files.
    pub auth: AuthSettings,
    /// `[limits]`: protection against clients that use too much.
    pub limits: Limits,
    /// `[store]`: how hard the store works to survive a crash.
    pub store: StoreSettings,
    /// `[metrics]`: the Prometheus endpoint.
    pub metrics: MetricsSettings,
    /// `[[bridges]]`: upstream brokers messages are forwarded to and taken from.
    pub bridges: Vec<BridgeSettings>,
}

/// `[server]`: broker-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Directory holding the store (sessions, retained messages). Default:
    /// [`default_data_dir()`].
    pub data_dir: PathBuf,
    /// How often the `$SYS/#` statistics topics are published. Must be more than zero.
    #[serde(deserialize_with = "de::duration")]
    pub sys_interval: Duration,
    /// What the log shows: a level (`error`, `warn`, `info`, `debug`, `trace`) or a filter
    /// such as `info,robustmq=debug`. `serve --log-level` and `RUST_LOG` take precedence.
    pub log_level: String,
}

/// What a listener speaks on its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerProtocol {
    /// MQTT over plain TCP (`"mqtt"`).
    #[default]
    Mqtt,
    /// MQTT over TLS (`"mqtts"`); needs `cert` and `key`.
    Mqtts,
    /// MQTT over WebSocket (`"ws"`), served on `path`.
    Ws,
    /// MQTT over WebSocket over TLS (`"wss"`); needs `cert` and `key`.
    Wss,
    /// MQTT over a Unix domain socket (`"unix"`); takes `path` instead of `bind`.
    Unix,
}

impl ListenerProtocol {
    /// The spelling used in the configuration file.
    fn name(self) -> &'static str {
        match self {
            ListenerProtocol::Mqtt => "mqtt",
            ListenerProtocol::Mqtts => "mqtts",
            ListenerProtocol::Ws => "ws",
            ListenerProtocol::Wss => "wss",
            ListenerProtocol::Unix => "unix",
        }
    }

    /// `mqtts` and `wss`: the listener needs a certificate and key.
    pub fn uses_tls(self) -> bool {
        matches!(self, ListenerProtocol::Mqtts | ListenerProtocol::Wss)
    }

    fn uses_websocket(self) -> bool {
        matches!(self, ListenerProtocol::Ws | ListenerProtocol::Wss)
    }
}

/// Displays the configuration file spelling (`mqtt`, `mqtts`, `ws`, `wss`, `unix`).
impl fmt::Display for ListenerProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `[[listeners]]` table: a socket the broker accepts clients on.
///
/// [`Default`] is a plain MQTT listener with no address yet; set `bind` before use, e.g.
/// `ListenerSettings { bind: Some(addr), ..Default::default() }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenerSettings {
    /// Address to listen on; required for every protocol except `unix`. Port 0 picks a free
    /// port (tests use it).
    #[serde(deserialize_with = "de::socket_addr")]
    pub bind: Option<SocketAddr>,
    /// What the listener speaks; default `mqtt`.
    pub protocol: ListenerProtocol,
    /// Whether clients without a username may connect. `None` leaves it to the server, which
    /// allows anonymous clients only on loopback addresses, so a broker exposed to the
    /// network is never open by accident.
    pub allow_anonymous: Option<bool>,
    /// `unix`: the socket file (required). `ws`/`wss`: the URL path, `/mqtt` when unset.
    pub path: Option<String>,
    /// `mqtts`/`wss`: PEM certificate chain presented to clients (required).
    pub cert: Option<PathBuf>,
    /// `mqtts`/`wss`: PEM private key of `cert` (required).
    pub key: Option<PathBuf>,
    /// `mqtts`/`wss`: PEM CA certificates that client certificates are verified against.
    pub client_ca: Option<PathBuf>,
    /// `mqtts`/`wss`: refuse clients that present no valid certificate (needs `client_ca`).
    pub require_certificate: bool,
    /// `mqtts`/`wss`: use the client certificate's Common Name as the username (needs
    /// `require_certificate`, otherwise a client could pick its username by omitting it).
    pub use_identity_as_username: bool,
    /// Connections open at once on this listener; `None` leaves only the global
    /// `limits.max_connections`. Lets a public listener be bounded without starving a local one.
    #[serde(deserialize_with = "de::optional_usize")]
    pub max_connections: Option<usize>,
}

impl ListenerSettings {
    /// The listener every broker gets when the configuration names none.
    fn default_listener() -> ListenerSettings {
        ListenerSettings {
            bind: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 1883))),
            ..ListenerSettings::default()
        }
    }
}

/// `[auth]`: who may connect and what they may do. Without files, only `allow_anonymous`
/// decides who gets in, and everyone may use every topic.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Password file managed by `robustmq passwd` (argon2id hashes).
    pub password_file: Option<PathBuf>,
    /// ACL file in Mosquitto's `acl_file` syntax.
    pub acl_file: Option<PathBuf>,
}

/// `[limits]`: bounds that keep one client from exhausting the broker.
///
/// The defaults suit a small machine (a Raspberry Pi) serving a normal fleet: they stop a
/// runaway or hostile client long before memory or CPU run out, without refusing anything a
/// well-behaved client does. Every refusal is counted under `$SYS/broker/limits/`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Connections open at once over all listeners; a further one is refused with a CONNACK
    /// (v5 quota exceeded, 3.1.1 server unavailable). Each listener may have a lower
    /// `max_connections` of its own.
    #[serde(deserialize_with = "de::usize")]
    pub max_connections: usize,
    /// New connections admitted per second over all listeners, with a burst of one second's
    /// worth; beyond it a new connection is refused with a CONNACK (v5 connection rate
    /// exceeded, 3.1.1 server unavailable). 0 (the default) means no limit: a storm of
    /// connections is paced by accepting them as fast as they are served, with the listen
    /// backlog holding the rest, so a fleet reconnecting at once gets in without being
    /// refused. A hard limit for a broker whose clients should not reconnect faster than this.
    #[serde(deserialize_with = "de::u32")]
    pub max_connections_per_second: u32,
    /// Largest MQTT packet in bytes, announced to v5 clients; larger ones are refused.
    /// 16 ..= 268,435,455 (the MQTT maximum).
    #[serde(deserialize_with = "de::packet_size")]
    pub max_packet_size: u32,
    /// QoS 1/2 messages sent to one client and not yet acknowledged (v5 Receive Maximum).
    #[serde(deserialize_with = "de::u16")]
    pub max_inflight: u16,
    /// Messages queued for one session (offline, or online but slow) before new ones are
    /// dropped.
    #[serde(deserialize_with = "de::usize")]
    pub max_queued_messages: usize,
    /// Bytes queued for one session before new messages are dropped. Must hold at least one
    /// `max_packet_size` message.
    #[serde(deserialize_with = "de::size")]
    pub max_queued_bytes: u64,
    /// Bytes of queued messages and connection buffers the whole broker may hold. At it, QoS 0
    /// is shed first, then publishers are held back; messages for offline or stalled
    /// subscribers are dropped and counted.
    #[serde(deserialize_with = "de::memory_limit")]
    pub max_memory: MemoryLimit,
    /// How long a connected subscriber may have messages waiting and send none before it stops
    /// holding publishers back; what does not fit its queue is then dropped and counted.
    #[serde(deserialize_with = "de::duration")]
    pub stalled_after: Duration,
    /// Shortest keep alive granted, in seconds; 0 (the default) allows any, including none. A v5
    /// client asking for less (or for 0 = no keep alive) is told this value as its Server Keep
    /// Alive; a 3.1.1 client, which cannot be told, is refused.
    #[serde(deserialize_with = "de::u16")]
    pub min_keepalive: u16,
    /// Longest keep alive granted, in seconds; a v5 client asking for more is told this value
    /// as its Server Keep Alive, a 3.1.1 client is refused. A keep alive of 0 (none) is bounded
    /// by `min_keepalive`, not by this.
    #[serde(deserialize_with = "de::u16")]
    pub max_keepalive: u16,
    /// How long a new connection may take to send CONNECT before it is dropped.
    #[serde(deserialize_with = "de::duration")]
    pub connect_timeout: Duration,
    /// Topic aliases a v5 client may use towards the broker; 0 disables them.
    #[serde(deserialize_with = "de::u16")]
    pub topic_alias_maximum: u16,
    /// Longest topic name or filter in bytes, for PUBLISH, wills and SUBSCRIBE.
    #[serde(deserialize_with = "de::u16")]
    pub max_topic_length: u16,
    /// Most levels (`/`-separated parts) in a topic name or filter, for PUBLISH, wills and
    /// SUBSCRIBE; a shared subscription's `$share/group/` prefix is not counted.
    #[serde(deserialize_with = "de::u16")]
    pub max_topic_levels: u16,
    /// Subscriptions one session may hold; replacing an existing one does not count twice.
    #[serde(deserialize_with = "de::usize")]
    pub max_subscriptions_per_client: usize,
    /// PUBLISH packets per second one client may send, with a burst of one second's worth;
    /// excess ones are dropped (v5 QoS 1/2: acknowledged with 0x97). 0 means no limit.
    #[serde(deserialize_with = "de::u32")]
    pub max_publish_rate: u32,
    /// Payload bytes per second one client may publish, with a burst of one second's worth;
    /// excess messages are dropped like for `max_publish_rate`. 0 means no limit.
    #[serde(deserialize_with = "de::size")]
    pub max_publish_bytes_rate: u64,
    /// What a client over `max_publish_rate` or `max_publish_bytes_rate` gets.
    pub publish_rate_action: PublishRateAction,
}

/// `limits.max_memory`: a number of bytes, or a share of the machine's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryLimit {
    /// This many bytes.
    Bytes(u64),
    /// This percentage (1 to 100) of the machine's physical memory.
    Percent(u8),
}

impl MemoryLimit {
    /// The bound in bytes; a share is taken of the memory this machine has (`MemTotal` of
    /// `/proc/meminfo`), or of 1 GiB where that cannot be read.
    pub fn bytes(self) -> u64 {
        match self {
            MemoryLimit::Bytes(n) => n,
            MemoryLimit::Percent(p) => physical_memory().unwrap_or(1 << 30) / 100 * u64::from(p),
        }
    }
}

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryLimit::Bytes(n) => write!(f, "{}", bytesize::ByteSize(*n)),
            MemoryLimit::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// Physical memory in bytes, where the system says.
fn physical_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What happens when a client publishes faster than the limits allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublishRateAction {
    /// The excess messages are dropped (`"drop"`); v5 QoS 1/2 acknowledgements say 0x97,
    /// quota exceeded. The client stays connected.
    #[default]
    Drop,
    /// The client is disconnected (`"disconnect"`): v5 with DISCONNECT 0x96, message rate
    /// too high; 3.1.1 by closing the connection. Its will is published.
    Disconnect,
}

/// `[store]`: how acknowledged messages are written to disk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// When a commit happens relative to the acknowledgement.
    pub durability: Durability,
    /// `periodic` only: time between commits, the window of data a crash can lose.
    #[serde(deserialize_with = "de::duration")]
    pub commit_interval: Duration,
    /// Most bytes of queued messages kept for all persistent sessions together; past it,
    /// new messages for them are dropped (and counted) instead of filling the disk.
    #[serde(deserialize_with = "de::size")]
    pub max_store_bytes: u64,
    /// Disk space kept allocated beside the data file and released when the disk fills, so
    /// that what frees space still commits.
    #[serde(deserialize_with = "de::size")]
    pub reserve: u64,
}

/// The promise made by an acknowledgement (PUBACK, PUBREC, SUBACK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Acknowledged means committed to disk (`"immediate"`): survives `kill -9` and power loss.
    #[default]
    Immediate,
    /// Commit every `commit_interval` (`"periodic"`): faster, but a crash loses what was
    /// acknowledged since the last commit.
    Periodic,
}

/// Displays the configuration file spelling (`immediate`, `periodic`).
impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Durability::Immediate => "immediate",
            Durability::Periodic => "periodic",
        })
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Address serving `/metrics`; `None` (the default) serves no metrics.
    #[serde(deserialize_with = "de::socket_addr")]
    pub listen: Option<SocketAddr>,
}

/// Why a configuration was refused. Displays as one line naming the file, the key and the
/// problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    // The io::Error is part of the message rather than a `#[source]`, so that printing the
    // error chain does not repeat it.
    #[error("cannot read config file {}: {error}", path.display())]
    Read {
        /// The file as given.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The TOML is malformed, or a value has the wrong type or an unknown key.
    #[error("{origin}: {message}")]
    Parse {
        /// The file name (or other origin) the text came from.
        origin: String,
        /// Position, key and toml's own description, on one line.
        message: String,
    },
    /// The TOML is well-formed but a value is not acceptable.
    #[error("{}{key}: {problem}", origin_prefix(.origin))]
    Invalid {
        /// The file the settings came from; `None` when [`Settings::validate`] is called
        /// on settings built or changed in code.
        origin: Option<String>,
        /// The offending key, e.g. `limits.max_packet_size` or `listeners[1]` (0-based).
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

fn origin_prefix(origin: &Option<String>) -> String {
    match origin {
        Some(origin) => format!("{origin}: "),
        None => "invalid configuration: ".to_owned(),
    }
}

impl ConfigError {
    /// Attributes a validation error to the file the settings were loaded from.
    fn with_origin(self, origin: &str) -> ConfigError {
        match self {
            ConfigError::Invalid { key, problem, .. } => ConfigError::Invalid {
                origin: Some(origin.to_owned()),
                key,
                problem,
            },
            other => other,
        }
    }
}

impl Settings {
    /// Reads, parses and validates a configuration file.
    ///
    /// Relative paths in the file (`data_dir`, `cert`, `key`, `client_ca`, `password_file`,
    /// `acl_file`, a unix listener's `path`) are taken relative to the file's directory, so
    /// the same file works whatever directory the broker is started from.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        let mut settings = Settings::from_toml_str(&text, &path.display().to_string())?;
        if let Some(dir) = path.parent() {
            settings.resolve_paths(dir);
        }
        Ok(settings)
    }

    /// Parses and validates configuration text; `origin` (usually the file name) starts
    /// every error message. Relative paths are kept as written.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Settings, ConfigError> {
        let settings = de::parse(text).map_err(|error| ConfigError::Parse {
            origin: origin.to_owned(),
            message: error.to_string(),
        })?;
        settings.validate().map_err(|e| e.with_origin(origin))?;
        Ok(settings)
    }

    /// Checks the rules that types alone cannot express: ranges, required keys per listener
    /// protocol, clashing addresses. Run by the loaders; run it again after changing fields.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::settings(self)
    }

    /// Makes relative paths relative to `dir` instead of the working directory.
    fn resolve_paths(&mut self, dir: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        };
        resolve(&mut self.server.data_dir);
        for path in [&mut self.auth.password_file, &mut self.auth.acl_file]
            .into_iter()
            .flatten()
        {
            resolve(path);
        }
        for listener in &mut self.listeners {
            for path in [&mut listener.cert, &mut listener.key, &mut listener.client_ca]
                .into_iter()
                .flatten()
            {
                resolve(path);
            }
            if listener.protocol == ListenerProtocol::Unix {
                if let Some(socket) = &mut listener.path {
                    if Path::new(socket).is_relative() {
                        *socket = dir.join(&*socket).to_string_lossy().into_owned();
                    }
                }
            }
        }
        for bridge in &mut self.bridges {
            for path in [
                &mut bridge.password_file,
                &mut bridge.cafile,
                &mut bridge.cert,
                &mut bridge.key,
            ]
            .into_iter()
            .flatten()
            {
                resolve(path);
            }
        }
    }
}

/// The embedded defaults: one plain MQTT listener on 127.0.0.1:1883 (anonymous clients
/// allowed, since it is loopback), data in [`default_data_dir()`].
impl Default for Settings {
    fn default() -> Settings {
        Settings {
            server: ServerSettings::default(),
            listeners: vec![ListenerSettings::default_listener()],
            auth: AuthSettings::default(),
            limits: Limits::default(),
            store: StoreSettings::default(),
            metrics: MetricsSettings::default(),
            bridges: Vec::new(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> ServerSettings {
        ServerSettings {
            data_dir: default_data_dir(),
            sys_interval: Duration::from_secs(10),
            log_level: "info".to_owned(),
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 50_000,
            max_connections_per_second: 0,
            max_packet_size: 1024 * 1024,
            max_inflight: 100,
            max_queued_messages: 10_000,
            max_queued_bytes: 64 * 1024 * 1024,
            max_memory: MemoryLimit::Bytes(256 * 1024 * 1024),
            stalled_after: Duration::from_secs(30),
            min_keepalive: 0,
            max_keepalive: u16::MAX,
            connect_timeout: Duration::from_secs(10),
            topic_alias_maximum: u16::MAX,
            max_topic_length: 1024,
            max_topic_levels: 32,
            max_subscriptions_per_client: 10_000,
            max_publish_rate: 0,
            max_publish_bytes_rate: 0,
            publish_rate_action: PublishRateAction::Drop,
        }
    }
}

impl Default for StoreSettings {
    fn default() -> StoreSettings {
        StoreSettings {
            durability: Durability::Immediate,
            commit_interval: Duration::from_millis(100),
            max_store_bytes: 1024 * 1024 * 1024,
            reserve: 16 * 1024 * 1024,
        }
    }
}

/// Where data lives when neither the file nor `--data-dir` says: the user's data directory
/// plus `robustmq` (e.g. `~/.local/share/robustmq`), or `./robustmq-data` on a system
/// without one.
pub fn default_data_dir() -> PathBuf {
    match dirs::data_dir() {
        Some(dir) => dir.join("robustmq"),
        None => PathBuf::from("./robustmq-data"),
    }
}
