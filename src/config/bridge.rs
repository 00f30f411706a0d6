//! `[[bridges]]`: links to an upstream broker that messages are forwarded to and taken from.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::de;

/// One `[[bridges]]` entry: a connection to a remote broker and the topics it carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeSettings {
    /// Used in logs, `$SYS` and the admin API; letters, digits, `-` and `_`.
    pub name: String,
    /// `mqtt://host[:port]` (1883), `mqtts://host[:port]` (8883), `ws://host[:port][/path]`
    /// (80) or `wss://host[:port][/path]` (443); a WebSocket path defaults to `/mqtt`.
    pub remote: String,
    /// MQTT protocol level spoken to the remote: 5, or 4 for 3.1.1.
    pub protocol: u8,
    /// Client identifier at the remote; default `robustmq-<hostname>-<name>`.
    pub client_id: Option<String>,
    /// User name at the remote.
    pub username: Option<String>,
    /// Password at the remote (or `password_file`).
    pub password: Option<String>,
    /// File whose first line is the password at the remote.
    pub password_file: Option<PathBuf>,
    /// `mqtts`: PEM CA certificates the remote's certificate is verified against (default:
    /// the system's roots).
    pub cafile: Option<PathBuf>,
    /// `mqtts`: PEM client certificate, for a remote that asks for one.
    pub cert: Option<PathBuf>,
    /// `mqtts`: PEM private key of `cert`.
    pub key: Option<PathBuf>,
    /// `mqtts`: accept any certificate the remote presents (testing only).
    pub insecure: bool,
    /// Keep alive towards the remote.
    #[serde(deserialize_with = "de::duration")]
    pub keepalive: Duration,
    /// Start a new remote session on every connect; `false` keeps the remote session (and what
    /// it queued for the "in" topics) across reconnects.
    pub clean_start: bool,
    /// Bytes of messages waiting for the remote that the store keeps for this bridge; past
    /// it, the oldest are dropped (counted, logged once), so that an outage of any length
    /// costs a bounded amount of disk and the newest messages are the ones kept.
    #[serde(deserialize_with = "de::size")]
    pub max_queued_bytes: u64,
    /// What is forwarded, in which direction.
    pub topics: Vec<BridgeTopic>,
}

impl Default for BridgeSettings {
    fn default() -> BridgeSettings {
        BridgeSettings {
            name: String::new(),
            remote: String::new(),
            protocol: 5,
            client_id: None,
            username: None,
            password: None,
            password_file: None,
            cafile: None,
            cert: None,
            key: None,
            insecure: false,
            keepalive: Duration::from_secs(60),
            clean_start: false,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            topics: Vec::new(),
        }
    }
}

/// `max_queued_bytes` when not set: room for a long outage of a busy edge broker (a million
/// 200-byte messages), well within the store's default `max_store_bytes`.
pub const DEFAULT_MAX_QUEUED_BYTES: u64 = 256 * 1024 * 1024;

/// Which way a `[[bridges.topics]]` rule carries messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Local messages matching the filter go to the remote.
    #[default]
    Out,
    /// Remote messages matching the filter are published locally.
    In,
    /// Both, without sending a message back where it came from.
    Both,
}

impl Direction {
    /// Whether local messages go out through this rule.
    pub fn outgoing(self) -> bool {
        matches!(self, Direction::Out | Direction::Both)
    }

    /// Whether remote messages come in through this rule.
    pub fn incoming(self) -> bool {
        matches!(self, Direction::In | Direction::Both)
    }
}

/// One `[[bridges.topics]]` rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeTopic {
    /// Topic filter, without the prefixes: a local filter under `local_prefix` ("out") and a
    /// remote one under `remote_prefix` ("in").
    pub filter: String,
    /// `out`, `in` or `both`.
    pub direction: Direction,
    /// Highest QoS on the bridge for these messages (0, 1 or 2).
    pub qos: u8,
    /// Prefix of the topics on this broker: taken off on the way out, put on on the way in.
    pub local_prefix: String,
    /// Prefix of the topics on the remote: put on on the way out, taken off on the way in.
    pub remote_prefix: String,
}

impl Default for BridgeTopic {
    fn default() -> BridgeTopic {
        BridgeTopic {
            filter: String::new(),
            direction: Direction::Out,
            qos: 1,
            local_prefix: String::new(),
            remote_prefix: String::new(),
        }
    }
}

/// Where a bridge connects, from its `remote`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether the connection is TLS (`mqtts://`, `wss://`).
    pub tls: bool,
    /// The URL path of a WebSocket remote (`ws://`, `wss://`); `None` for plain MQTT.
    pub websocket: Option<String>,
}

impl Remote {
    /// Parses `mqtt://host[:port]`, `mqtts://host[:port]`, `ws://host[:port][/path]` or
    /// `wss://host[:port][/path]`; `Err` says what is wrong.
    pub fn parse(url: &str) -> Result<Remote, RemoteError> {
        let (tls, websocket, default_port, rest) = if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, false, 1883, rest)
        } else if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, false, 8883, rest)
        } else if let Some(rest) = url.strip_prefix("ws://") {
            (false, true, 80, rest)
        } else if let Some(rest) = url.strip_prefix("wss://") {
            (true, true, 443, rest)
        } else {
            return Err(RemoteError::Scheme(url.to_string()));
        };
        // EMQX, HiveMQ and robustmq serve MQTT over WebSocket at /mqtt; Mosquitto at any path.
        let (rest, path) = match rest.find('/') {
            Some(at) if websocket => (&rest[..at], rest[at..].to_string()),
            _ if websocket => (rest, "/mqtt".to_string()),
            _ => (rest.strip_suffix('/').unwrap_or(rest), String::new()),
        };
        if websocket && (path.contains(char::is_whitespace) || path.contains('#')) {
            return Err(RemoteError::Path {
                url: url.to_string(),
                path,
            });
        }
        if rest.contains('/') || rest.contains('@') {
            return Err(RemoteError::NotHostPort(url.to_string()));
        }
        let (host, port) = match rest.rsplit_once(':') {
            // An IPv6 address in brackets, with or without a port.
            _ if rest.starts_with('[') => match rest.split_once(']') {
                Some((host, "")) => (&host[1..], default_port),
                Some((host, port)) => match port.strip_prefix(':').and_then(|p| p.parse().ok()) {
                    Some(port) => (&host[1..], port),
                    None => return Err(RemoteError::port(url, port)),
                },
                None => return Err(RemoteError::UnclosedBracket(url.to_string())),
            },
            Some((host, port)) => match port.parse() {
                Ok(port) => (host, port),
                Err(_) => return Err(RemoteError::port(url, port)),
            },
            None => (rest, default_port),
        };
        if host.is_empty() {
            return Err(RemoteError::NoHost(url.to_string()));
        }
        if port == 0 {
            return Err(RemoteError::PortZero(url.to_string()));
        }
        Ok(Remote {
            host: host.to_string(),
            port,
            tls,
            websocket: websocket.then_some(path),
        })
    }
}

/// Why a bridge's `remote` is not an address it can connect to. Each variant holds the URL
/// as written, which starts the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The scheme is not one of the four a bridge speaks.
    #[error("{0:?} is not an mqtt://, mqtts://, ws:// or wss:// address")]
    Scheme(String),
    /// A WebSocket path with white space or a `#`.
    #[error("{url:?}: bad path {path:?}")]
    Path {
        /// The URL.
        url: String,
        /// The path in it.
        path: String,
    },
    /// A path after an MQTT address, or user info (`u:p@`) anywhere.
    #[error("{0:?}: only a host and a port may follow the scheme")]
    NotHostPort(String),
    /// The port is not a number from 0 to 65535.
    #[error("{url:?}: bad port {port:?}")]
    Port {
        /// The URL.
        url: String,
        /// What stands where the port should be.
        port: String,
    },
    /// An IPv6 address without its `]`.
    #[error("{0:?}: unclosed '['")]
    UnclosedBracket(String),
    /// Nothing between the scheme and the port.
    #[error("{0:?}: no host")]
    NoHost(String),
    /// Port 0, which nothing listens on.
    #[error("{0:?}: port 0")]
    PortZero(String),
}

impl RemoteError {
    fn port(url: &str, port: &str) -> RemoteError {
        RemoteError::Port {
            url: url.to_string(),
            port: port.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_addresses_parse_with_their_default_ports() {
        let r = |host: &str, port, tls| Remote {
            host: host.into(),
            port,
            tls,
            websocket: None,
        };
        let ws = |host: &str, port, tls, path: &str| Remote {
            host: host.into(),
            port,
            tls,
            websocket: Some(path.into()),
        };
        assert_eq!(Remote::parse("ws://h"), Ok(ws("h", 80, false, "/mqtt")));
        assert_eq!(Remote::parse("wss://h:8084"), Ok(ws("h", 8084, true, "/mqtt")));
        assert_eq!(Remote::parse("ws://h:8083/"), Ok(ws("h", 8083, false, "/")));
        assert_eq!(
            Remote::parse("wss://[::1]:9001/ws/mqtt"),
            Ok(ws("::1", 9001, true, "/ws/mqtt"))
        );
        assert_eq!(
            Remote::parse("mqtt://cloud.example"),
            Ok(r("cloud.example", 1883, false))
        );
        assert_eq!(
            Remote::parse("mqtts://cloud.example"),
            Ok(r("cloud.example", 8883, true))
        );
        assert_eq!(
            Remote::parse("mqtt://10.0.0.1:1884/"),
            Ok(r("10.0.0.1", 1884, false))
        );
        assert_eq!(Remote::parse("mqtts://[::1]:8884"), Ok(r("::1", 8884, true)));
        assert_eq!(Remote::parse("mqtt://[::1]"), Ok(r("::1", 1883, false)));
    }

    #[test]
    fn bad_remote_addresses_say_what_is_wrong() {
        for (url, says) in [
            ("tcp://x", "not an mqtt://"),
            ("ws://x/a b", "bad path"),
            ("ws://u@x/mqtt", "only a host and a port"),
            ("mqtt://", "no host"),
            ("mqtt://x:port", "bad port"),
            ("mqtt://x:0", "port 0"),
            ("mqtt://u:p@x", "only a host and a port"),
            ("mqtt://x/path", "only a host and a port"),
        ] {
            let err = Remote::parse(url).unwrap_err().to_string();
            assert!(err.contains(says), "{url}: {err}");
        }
    }
}
