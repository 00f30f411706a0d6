//! What the translation builds: robustmq settings still in Mosquitto's terms (ports, host
//! names, files), and the notes about what did not carry over.

use std::path::PathBuf;

use super::parse::Directive;

/// A line not carried over (or carried over only in part), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The file the line is in.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// The setting.
    pub key: String,
    /// Why.
    pub why: String,
}

impl Note {
    /// A note about `directive`.
    pub fn on(directive: &Directive, why: impl Into<String>) -> Note {
        Note {
            file: directive.file.clone(),
            line: directive.line,
            key: directive.key.clone(),
            why: why.into(),
        }
    }
}

/// Where a setting came from, for notes written after the whole file was read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// The setting.
    pub key: String,
}

impl Origin {
    /// Where `directive` is.
    pub fn of(directive: &Directive) -> Origin {
        Origin {
            file: directive.file.clone(),
            line: directive.line,
            key: directive.key.clone(),
        }
    }

    /// A note about this line.
    pub fn note(&self, why: impl Into<String>) -> Note {
        Note {
            file: self.file.clone(),
            line: self.line,
            key: self.key.clone(),
            why: why.into(),
        }
    }
}

/// A Mosquitto listener (the default one, or a `listener PORT [ADDRESS]` section).
#[derive(Debug, Clone, Default)]
pub struct Listener {
    /// The `listener` (or first `port`/listener option) line.
    pub origin: Origin,
    /// TCP port; 0 with a socket path for a Unix socket.
    pub port: u16,
    /// Host name, IP address or (Unix socket) path; `None` for every interface.
    pub address: Option<String>,
    /// `socket_domain ipv6`: `Some(true)`; `ipv4`: `Some(false)`.
    pub ipv6: Option<bool>,
    /// `protocol websockets`.
    pub websockets: bool,
    /// `certfile`.
    pub certfile: Option<PathBuf>,
    /// `keyfile`.
    pub keyfile: Option<PathBuf>,
    /// `cafile`.
    pub cafile: Option<PathBuf>,
    /// `require_certificate`.
    pub require_certificate: bool,
    /// `use_identity_as_username`.
    pub use_identity_as_username: bool,
    /// `allow_anonymous` of this listener (`per_listener_settings true`).
    pub allow_anonymous: Option<bool>,
    /// `max_connections` of this listener; `None` for no limit.
    pub max_connections: Option<usize>,
}

/// A `connection NAME` section.
#[derive(Debug, Clone, Default)]
pub struct Bridge {
    /// The `connection` line.
    pub origin: Origin,
    /// The name as Mosquitto had it.
    pub name: String,
    /// The first `address` (`host[:port]`) and where it was given.
    pub address: Option<(String, Origin)>,
    /// `topic` lines.
    pub topics: Vec<Topic>,
    /// 5 or 4; Mosquitto's default is 3.1.1.
    pub protocol: u8,
    /// `remote_clientid`.
    pub client_id: Option<String>,
    /// `remote_username`.
    pub username: Option<String>,
    /// `remote_password`.
    pub password: Option<String>,
    /// `bridge_cafile`.
    pub cafile: Option<PathBuf>,
    /// `bridge_certfile`.
    pub cert: Option<PathBuf>,
    /// `bridge_keyfile`.
    pub key: Option<PathBuf>,
    /// `bridge_insecure`.
    pub insecure: bool,
    /// Whether any TLS setting asked for TLS (Mosquitto turns it on with `bridge_cafile`,
    /// `bridge_capath` or `bridge_certfile`).
    pub tls: bool,
    /// `keepalive_interval` in seconds.
    pub keepalive: Option<u64>,
    /// `cleansession`.
    pub clean_start: Option<bool>,
}

/// One `[[bridges.topics]]` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// Filter without prefixes.
    pub filter: String,
    /// `out`, `in` or `both`.
    pub direction: &'static str,
    /// 0, 1 or 2.
    pub qos: u8,
    /// Local prefix.
    pub local_prefix: String,
    /// Remote prefix.
    pub remote_prefix: String,
}

/// `[limits]` keys that were set.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// `max_connections`.
    pub max_connections: Option<usize>,
    /// `max_packet_size`, bytes.
    pub max_packet_size: Option<u32>,
    /// `max_inflight`.
    pub max_inflight: Option<u16>,
    /// `max_queued_messages`.
    pub max_queued_messages: Option<usize>,
    /// `max_queued_bytes`.
    pub max_queued_bytes: Option<u64>,
    /// `max_keepalive`.
    pub max_keepalive: Option<u16>,
    /// `max_memory`, bytes.
    pub max_memory: Option<u64>,
}

/// The whole translation, before it is written as TOML.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// `server.data_dir`.
    pub data_dir: Option<PathBuf>,
    /// `server.sys_interval`, seconds.
    pub sys_interval: Option<u64>,
    /// `[[listeners]]`, as the broker should have them.
    pub listeners: Vec<Listener>,
    /// `auth.password_file`.
    pub password_file: Option<PathBuf>,
    /// `auth.acl_file`.
    pub acl_file: Option<PathBuf>,
    /// `[limits]`.
    pub limits: Limits,
    /// `[[bridges]]`.
    pub bridges: Vec<Bridge>,
}
