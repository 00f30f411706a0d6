//! Why a bridge's link could not be made: the text the bridge's status shows (`bridges/list`)
//! and its log line, one variant per way it fails.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio_tungstenite::tungstenite::Error as WsError;

use crate::client::tls::{BadServerName, TlsConfigError};
use crate::protocol::{DecodeError, EncodeError, FrameError, ReasonCode};

/// Why a link to the remote could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// This broker refused the bridge's own session (the text is the refusal's).
    #[error("{0}")]
    LocalSession(String),
    /// The TCP connection was not made in time.
    #[error("no answer from {address} within {after:?}")]
    NoAnswer {
        /// host:port of the remote.
        address: String,
        /// How long it waited.
        after: Duration,
    },
    /// The TCP connection was refused or failed.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// host:port of the remote.
        address: String,
        /// What the system said.
        source: io::Error,
    },
    /// The bridge's TLS settings cannot be used.
    #[error(transparent)]
    TlsConfig(#[from] TlsConfigError),
    /// The remote's host cannot be a TLS server name.
    #[error(transparent)]
    ServerName(#[from] BadServerName),
    /// The TLS handshake did not finish in time.
    #[error("TLS handshake with {address} took longer than {after:?}")]
    TlsTimeout {
        /// host:port of the remote.
        address: String,
        /// How long it waited.
        after: Duration,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake with {address} failed: {source}")]
    TlsHandshake {
        /// host:port of the remote.
        address: String,
        /// What the TLS layer said.
        source: io::Error,
    },
    /// The WebSocket upgrade did not get an answer in time.
    #[error("WebSocket upgrade at {address} failed: no answer within {after:?}")]
    UpgradeTimeout {
        /// host:port of the remote.
        address: String,
        /// How long it waited.
        after: Duration,
    },
    /// The WebSocket upgrade failed.
    #[error("WebSocket upgrade at {address} failed: {source}")]
    Upgrade {
        /// host:port of the remote.
        address: String,
        /// What the WebSocket layer said.
        source: Box<WsError>,
    },
    /// `password_file` cannot be read.
    #[error("cannot read password_file {}: {source}", path.display())]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The CONNECT packet cannot be encoded.
    #[error("cannot encode CONNECT: {0}")]
    EncodeConnect(EncodeError),
    /// The SUBSCRIBE for the "in" rules cannot be encoded.
    #[error("cannot encode SUBSCRIBE: {0}")]
    EncodeSubscribe(EncodeError),
    /// Writing CONNECT failed.
    #[error("cannot send CONNECT: {0}")]
    SendConnect(io::Error),
    /// The remote speaks TLS on a port the bridge uses without it.
    #[error("the remote answered with a TLS record: it is a TLS port, use mqtts://")]
    TlsPort,
    /// The answer to CONNECT is not a packet.
    #[error("bad CONNACK: {0}")]
    BadConnack(FrameError),
    /// The answer to CONNECT cannot be decoded.
    #[error("bad answer to CONNECT: {0}")]
    BadAnswer(DecodeError),
    /// A 3.1.1 remote refused Mosquitto's bridge protocol level (0x84); the next attempt goes
    /// without it.
    #[error("the remote refused the bridge's protocol level")]
    MarkerRefused,
    /// The remote refused the connection.
    #[error("the remote refused the connection: {}{}", reason.description(), reason_string.as_deref().map(|s| format!(" ({s})")).unwrap_or_default())]
    Refused {
        /// The CONNACK's reason code.
        reason: ReasonCode,
        /// Its Reason String, if any.
        reason_string: Option<String>,
    },
    /// The remote answered CONNECT with another packet.
    #[error("the remote answered CONNECT with {0}")]
    Unexpected(&'static str),
    /// The remote closed the connection before CONNACK.
    #[error("the remote closed the connection before CONNACK")]
    ClosedBeforeConnack,
    /// Reading the CONNACK failed.
    #[error("reading CONNACK: {0}")]
    ReadConnack(io::Error),
}
