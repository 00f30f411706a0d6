//! Why a client operation failed, worded for the person who has to fix it.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::protocol::{DecodeError, EncodeError, FrameError, QoS, ReasonCode};

/// A reason code in words, with the code itself: `not authorized (0x87)`.
pub fn reason_text(code: ReasonCode, reason_string: Option<&str>) -> String {
    match reason_string {
        Some(s) if !s.is_empty() => format!("{code}: {s}"),
        _ => code.to_string(),
    }
}

/// Everything that can go wrong between a client and a broker.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The host name does not resolve.
    #[error("cannot resolve host {host}: {detail}")]
    Resolve {
        /// The host name.
        host: String,
        /// What the resolver said.
        detail: String,
    },
    /// No TCP connection could be made.
    #[error("cannot connect to {address}: {detail}")]
    Connect {
        /// `host:port`.
        address: String,
        /// Why, in words ("connection refused").
        detail: String,
    },
    /// The TLS handshake failed; `detail` says which check.
    #[error("TLS with {address}: {detail}")]
    Tls {
        /// `host:port`.
        address: String,
        /// Which check failed, in words.
        detail: String,
    },
    /// The broker did not answer in time.
    #[error("timed out after {} waiting for {what} from {address}", seconds(*after))]
    Timeout {
        /// What was expected ("CONNACK", "PINGRESP", ...).
        what: &'static str,
        /// `host:port`.
        address: String,
        /// How long we waited.
        after: Duration,
    },
    /// The broker answered CONNECT with a refusal.
    #[error("the broker refused the connection: {}", reason_text(*reason, reason_string.as_deref()))]
    Refused {
        /// v5 reason code (3.1.1 return codes are mapped onto v5 ones).
        reason: ReasonCode,
        /// v5 reason string.
        reason_string: Option<Arc<str>>,
    },
    /// The broker sent DISCONNECT.
    #[error("the broker closed the connection: {}", reason_text(*reason, reason_string.as_deref()))]
    Disconnected {
        /// v5 reason code.
        reason: ReasonCode,
        /// v5 reason string.
        reason_string: Option<Arc<str>>,
    },
    /// The connection ended without a DISCONNECT.
    #[error("the broker closed the connection")]
    Closed,
    /// Reading or writing the socket failed.
    #[error("connection lost: {0}")]
    Io(String),
    /// The broker sent something this client cannot accept.
    #[error("protocol error from the broker: {0}")]
    Protocol(String),
    /// A packet could not be encoded (too long a field, ...).
    #[error("cannot encode the packet: {0}")]
    Encode(#[from] EncodeError),
    /// The broker does not accept QoS this high.
    #[error("the broker accepts QoS up to {max}, not {requested}", max = *max as u8, requested = *requested as u8)]
    QosNotSupported {
        /// QoS asked for.
        requested: QoS,
        /// The broker's maximum QoS.
        max: QoS,
    },
    /// The broker does not keep retained messages.
    #[error("the broker does not support retained messages")]
    RetainNotSupported,
    /// The packet is larger than the broker accepts.
    #[error("the message is {size} bytes as a packet, more than the {max} bytes the broker accepts")]
    PacketTooLarge {
        /// Encoded size.
        size: usize,
        /// The broker's maximum packet size.
        max: usize,
    },
    /// A QoS 1/2 publish was attempted with the window full (check `can_publish` first).
    #[error("no room for another unacknowledged publish")]
    WindowFull,
}

impl ClientError {
    /// An I/O error during a session: a reset or broken pipe is the broker going away.
    pub(crate) fn io(e: std::io::Error) -> ClientError {
        use std::io::ErrorKind::*;
        match e.kind() {
            ConnectionReset | BrokenPipe | ConnectionAborted | UnexpectedEof => ClientError::Closed,
            _ => ClientError::Io(io_words(&e)),
        }
    }
}

impl From<DecodeError> for ClientError {
    fn from(e: DecodeError) -> ClientError {
        ClientError::Protocol(e.to_string())
    }
}

impl From<FrameError> for ClientError {
    fn from(e: FrameError) -> ClientError {
        ClientError::Protocol(e.to_string())
    }
}

/// An I/O error in lower-case words, without the `(os error N)` suffix.
pub fn io_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    let words = match e.kind() {
        ConnectionRefused => "connection refused",
        ConnectionReset => "connection reset",
        TimedOut => "timed out",
        HostUnreachable => "host unreachable",
        NetworkUnreachable => "network unreachable",
        AddrNotAvailable => "address not available",
        PermissionDenied => "permission denied",
        _ => {
            let text = e.to_string();
            let text = match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            let mut chars = text.chars();
            return match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => text,
            };
        }
    };
    words.to_string()
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_well() {
        let e = ClientError::Refused {
            reason: ReasonCode::NOT_AUTHORIZED,
            reason_string: None,
        };
        assert_eq!(
            e.to_string(),
            "the broker refused the connection: not authorized (0x87)"
        );
        let e = ClientError::Timeout {
            what: "CONNACK",
            address: "h:1".into(),
            after: Duration::from_millis(1500),
        };
        assert_eq!(
            e.to_string(),
            "timed out after 1.5 s waiting for CONNACK from h:1"
        );
        let e = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(io_words(&e), "connection refused");
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_words(&e), "no such file or directory");
    }
}
