//! What a client needs to connect: the broker's address and the CONNECT it sends.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::protocol::{Connect, Packet, UserProperty, Version, Will};

/// Which way a packet went, for a [`PacketObserver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From this client to the broker.
    Sent,
    /// From the broker to this client.
    Received,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Sent => "sending",
            Direction::Received => "received",
        })
    }
}

/// Called with the client identifier for every packet sent or received (`-d/--debug`). Costs
/// nothing when absent.
pub type PacketObserver = Arc<dyn Fn(&str, Direction, &Packet) + Send + Sync>;

/// How to reach the broker and what to say in CONNECT.
#[derive(Clone)]
pub struct ConnectOptions {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Protocol version to speak.
    pub version: Version,
    /// Client identifier; empty lets a v5 broker assign one.
    pub client_id: Arc<str>,
    /// Clean start (v5) / clean session (3.1.1).
    pub clean_start: bool,
    /// Keep alive in seconds, 0 = off. A broker's server keep alive replaces it.
    pub keep_alive: u16,
    /// v5 session expiry interval in seconds.
    pub session_expiry: u32,
    /// User name.
    pub username: Option<Arc<str>>,
    /// Password.
    pub password: Option<Bytes>,
    /// Will message.
    pub will: Option<Will>,
    /// v5 receive maximum this client announces (how many QoS 1/2 messages the broker may have
    /// unacknowledged towards it).
    pub receive_maximum: u16,
    /// v5 maximum packet size this client accepts (also enforced on what it reads).
    pub maximum_packet_size: Option<u32>,
    /// v5 topic alias maximum this client accepts (the client resolves no aliases: keep 0).
    pub topic_alias_maximum: u16,
    /// v5 request response information.
    pub request_response_info: bool,
    /// v5 request problem information.
    pub request_problem_info: bool,
    /// v5 user properties of CONNECT.
    pub user_properties: Vec<UserProperty>,
    /// Limit for the TCP connection and for the CONNACK, each.
    pub connect_timeout: Duration,
    /// How many QoS 1/2 publishes may be unacknowledged at once (lowered to the broker's
    /// receive maximum).
    pub inflight: u16,
    /// Sees every packet (debug output).
    pub observer: Option<PacketObserver>,
    /// TLS configuration; `None` for plain TCP.
    pub tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    /// Connect through this Unix domain socket instead of `host:port`.
    pub unix_path: Option<PathBuf>,
    /// Local address (or host name) to bind the TCP connection to.
    pub bind_address: Option<String>,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("version", &self.version)
            .field("client_id", &self.client_id)
            .field("clean_start", &self.clean_start)
            .field("keep_alive", &self.keep_alive)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("inflight", &self.inflight)
            .finish_non_exhaustive()
    }
}

impl ConnectOptions {
    /// Defaults like mosquitto's clients: clean start, keep alive 60 s, no session expiry,
    /// a 10 s connect timeout and a window of 100 publishes.
    pub fn new(host: impl Into<String>, port: u16, version: Version) -> ConnectOptions {
        ConnectOptions {
            host: host.into(),
            port,
            version,
            client_id: Arc::from(""),
            clean_start: true,
            keep_alive: 60,
            session_expiry: 0,
            username: None,
            password: None,
            will: None,
            receive_maximum: u16::MAX,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            request_response_info: false,
            request_problem_info: true,
            user_properties: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            inflight: 100,
            observer: None,
            tls: None,
            unix_path: None,
            bind_address: None,
        }
    }

    /// `host:port`, with brackets around an IPv6 address, or the socket path, for messages.
    pub fn address(&self) -> String {
        if let Some(path) = &self.unix_path {
            path.display().to_string()
        } else if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The CONNECT packet these options describe.
    pub fn connect_packet(&self) -> Packet {
        let v5 = self.version.is_v5();
        Packet::Connect(Box::new(Connect {
            version: self.version,
            clean_start: self.clean_start,
            keep_alive: self.keep_alive,
            client_id: self.client_id.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            will: self.will.clone(),
            session_expiry: if v5 { self.session_expiry } else { 0 },
            receive_maximum: self.receive_maximum,
            maximum_packet_size: self.maximum_packet_size,
            topic_alias_maximum: self.topic_alias_maximum,
            request_response_info: self.request_response_info,
            request_problem_info: self.request_problem_info,
            user_properties: self.user_properties.clone(),
            auth_method: None,
            auth_data: None,
            bridge: false,
        }))
    }
}
