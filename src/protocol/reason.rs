//! MQTT 5 reason codes as a type of their own: their descriptions for logs and client errors,
//! and their nearest MQTT 3.1.1 return codes.

use std::fmt;

use super::QoS;

/// A v5 reason code (CONNACK, PUBACK/PUBREC/PUBREL/PUBCOMP, SUBACK, UNSUBACK, DISCONNECT,
/// AUTH). The broker reasons in v5 codes whatever the client speaks; the encoder maps them onto
/// 3.1.1 return codes at the edge.
///
/// `Display` gives the description and the code, `not authorized (0x87)`, as client errors
/// print it. The default is success, as for a DISCONNECT or AUTH that leaves the code out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ReasonCode(u8);

impl ReasonCode {
    /// Success / normal disconnection / granted QoS 0.
    pub const SUCCESS: ReasonCode = ReasonCode(0x00);
    /// Granted QoS 1.
    pub const GRANTED_QOS_1: ReasonCode = ReasonCode(0x01);
    /// Granted QoS 2.
    pub const GRANTED_QOS_2: ReasonCode = ReasonCode(0x02);
    /// DISCONNECT: the client wants its will published.
    pub const DISCONNECT_WITH_WILL: ReasonCode = ReasonCode(0x04);
    /// PUBACK/PUBREC: accepted, but nobody subscribes.
    pub const NO_MATCHING_SUBSCRIBERS: ReasonCode = ReasonCode(0x10);
    /// UNSUBACK: there was no such subscription.
    pub const NO_SUBSCRIPTION_EXISTED: ReasonCode = ReasonCode(0x11);
    /// Unspecified error.
    pub const UNSPECIFIED_ERROR: ReasonCode = ReasonCode(0x80);
    /// Malformed packet.
    pub const MALFORMED_PACKET: ReasonCode = ReasonCode(0x81);
    /// Protocol error.
    pub const PROTOCOL_ERROR: ReasonCode = ReasonCode(0x82);
    /// Implementation specific error.
    pub const IMPLEMENTATION_SPECIFIC_ERROR: ReasonCode = ReasonCode(0x83);
    /// CONNACK: unsupported protocol version.
    pub const UNSUPPORTED_PROTOCOL_VERSION: ReasonCode = ReasonCode(0x84);
    /// CONNACK: client identifier not valid.
    pub const CLIENT_ID_NOT_VALID: ReasonCode = ReasonCode(0x85);
    /// CONNACK: bad user name or password.
    pub const BAD_USERNAME_OR_PASSWORD: ReasonCode = ReasonCode(0x86);
    /// Not authorized.
    pub const NOT_AUTHORIZED: ReasonCode = ReasonCode(0x87);
    /// Server unavailable.
    pub const SERVER_UNAVAILABLE: ReasonCode = ReasonCode(0x88);
    /// Server busy.
    pub const SERVER_BUSY: ReasonCode = ReasonCode(0x89);
    /// CONNACK: banned.
    pub const BANNED: ReasonCode = ReasonCode(0x8A);
    /// DISCONNECT: server shutting down.
    pub const SERVER_SHUTTING_DOWN: ReasonCode = ReasonCode(0x8B);
    /// CONNACK/DISCONNECT: bad authentication method.
    pub const BAD_AUTH_METHOD: ReasonCode = ReasonCode(0x8C);
    /// DISCONNECT: keep alive timeout.
    pub const KEEP_ALIVE_TIMEOUT: ReasonCode = ReasonCode(0x8D);
    /// DISCONNECT: another connection took the session over.
    pub const SESSION_TAKEN_OVER: ReasonCode = ReasonCode(0x8E);
    /// Topic filter invalid.
    pub const TOPIC_FILTER_INVALID: ReasonCode = ReasonCode(0x8F);
    /// Topic name invalid.
    pub const TOPIC_NAME_INVALID: ReasonCode = ReasonCode(0x90);
    /// Packet identifier in use.
    pub const PACKET_ID_IN_USE: ReasonCode = ReasonCode(0x91);
    /// Packet identifier not found.
    pub const PACKET_ID_NOT_FOUND: ReasonCode = ReasonCode(0x92);
    /// Receive maximum exceeded.
    pub const RECEIVE_MAXIMUM_EXCEEDED: ReasonCode = ReasonCode(0x93);
    /// Topic alias invalid.
    pub const TOPIC_ALIAS_INVALID: ReasonCode = ReasonCode(0x94);
    /// Packet too large.
    pub const PACKET_TOO_LARGE: ReasonCode = ReasonCode(0x95);
    /// Message rate too high (DISCONNECT only).
    pub const MESSAGE_RATE_TOO_HIGH: ReasonCode = ReasonCode(0x96);
    /// Quota exceeded.
    pub const QUOTA_EXCEEDED: ReasonCode = ReasonCode(0x97);
    /// DISCONNECT: administrative action.
    pub const ADMINISTRATIVE_ACTION: ReasonCode = ReasonCode(0x98);
    /// Payload format invalid.
    pub const PAYLOAD_FORMAT_INVALID: ReasonCode = ReasonCode(0x99);
    /// Retain not supported.
    pub const RETAIN_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9A);
    /// QoS not supported.
    pub const QOS_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9B);
    /// CONNACK/DISCONNECT: use another server.
    pub const USE_ANOTHER_SERVER: ReasonCode = ReasonCode(0x9C);
    /// CONNACK/DISCONNECT: server moved.
    pub const SERVER_MOVED: ReasonCode = ReasonCode(0x9D);
    /// Shared subscriptions not supported.
    pub const SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9E);
    /// CONNACK/DISCONNECT: connection rate exceeded.
    pub const CONNECTION_RATE_EXCEEDED: ReasonCode = ReasonCode(0x9F);
    /// DISCONNECT: maximum connect time.
    pub const MAXIMUM_CONNECT_TIME: ReasonCode = ReasonCode(0xA0);
    /// Subscription identifiers not supported.
    pub const SUBSCRIPTION_IDS_NOT_SUPPORTED: ReasonCode = ReasonCode(0xA1);
    /// Wildcard subscriptions not supported.
    pub const WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: ReasonCode = ReasonCode(0xA2);

    /// The reason code with this wire value; any byte is one, known or not, so that a code
    /// from a newer peer is passed on rather than refused.
    pub const fn new(code: u8) -> ReasonCode {
        ReasonCode(code)
    }

    /// The wire value.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// True for a failure: 0x80 and above (v5 section 2.4).
    pub const fn is_error(self) -> bool {
        self.0 >= 0x80
    }

    /// The SUBACK code granting `qos`.
    pub const fn granted(qos: QoS) -> ReasonCode {
        ReasonCode(qos as u8)
    }

    /// A short description, for logs.
    pub fn description(self) -> &'static str {
        match self {
            ReasonCode::SUCCESS => "success",
            ReasonCode::DISCONNECT_WITH_WILL => "disconnect with will",
            ReasonCode::NO_MATCHING_SUBSCRIBERS => "no matching subscribers",
            ReasonCode::NO_SUBSCRIPTION_EXISTED => "no subscription existed",
            ReasonCode::UNSPECIFIED_ERROR => "unspecified error",
            ReasonCode::MALFORMED_PACKET => "malformed packet",
            ReasonCode::PROTOCOL_ERROR => "protocol error",
            ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => "unsupported protocol version",
            ReasonCode::CLIENT_ID_NOT_VALID => "client identifier not valid",
            ReasonCode::BAD_USERNAME_OR_PASSWORD => "bad user name or password",
            ReasonCode::NOT_AUTHORIZED => "not authorized",
            ReasonCode::SERVER_UNAVAILABLE => "server unavailable",
            ReasonCode::SERVER_BUSY => "server busy",
            ReasonCode::BANNED => "banned",
            ReasonCode::SERVER_SHUTTING_DOWN => "server shutting down",
            ReasonCode::BAD_AUTH_METHOD => "bad authentication method",
            ReasonCode::KEEP_ALIVE_TIMEOUT => "keep alive timeout",
            ReasonCode::SESSION_TAKEN_OVER => "session taken over",
            ReasonCode::TOPIC_FILTER_INVALID => "topic filter invalid",
            ReasonCode::TOPIC_NAME_INVALID => "topic name invalid",
            ReasonCode::PACKET_ID_IN_USE => "packet identifier in use",
            ReasonCode::PACKET_ID_NOT_FOUND => "packet identifier not found",
            ReasonCode::RECEIVE_MAXIMUM_EXCEEDED => "receive maximum exceeded",
            ReasonCode::TOPIC_ALIAS_INVALID => "topic alias invalid",
            ReasonCode::PACKET_TOO_LARGE => "packet too large",
            ReasonCode::QUOTA_EXCEEDED => "quota exceeded",
            ReasonCode::MESSAGE_RATE_TOO_HIGH => "message rate too high",
            ReasonCode::ADMINISTRATIVE_ACTION => "administrative action",
            ReasonCode::PAYLOAD_FORMAT_INVALID => "payload format invalid",
            ReasonCode::RETAIN_NOT_SUPPORTED => "retain not supported",
            ReasonCode::QOS_NOT_SUPPORTED => "QoS not supported",
            ReasonCode::USE_ANOTHER_SERVER => "use another server",
            ReasonCode::SERVER_MOVED => "server moved",
            ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED => "shared subscriptions not supported",
            ReasonCode::CONNECTION_RATE_EXCEEDED => "connection rate exceeded",
            ReasonCode::MAXIMUM_CONNECT_TIME => "maximum connect time",
            ReasonCode::SUBSCRIPTION_IDS_NOT_SUPPORTED => "subscription identifiers not supported",
            ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED => "wildcard subscriptions not supported",
            _ => "error",
        }
    }

    /// The MQTT 3.1.1 CONNACK return code nearest to this v5 CONNACK reason code [MQTT-3.2.2-3].
    pub fn connack_return_code_v3(self) -> u8 {
        match self {
            ReasonCode::SUCCESS => 0,
            ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => 1,
            ReasonCode::CLIENT_ID_NOT_VALID => 2,
            ReasonCode::SERVER_UNAVAILABLE | ReasonCode::SERVER_BUSY | ReasonCode::SERVER_SHUTTING_DOWN => 3,
            ReasonCode::BAD_USERNAME_OR_PASSWORD | ReasonCode::BAD_AUTH_METHOD => 4,
            ReasonCode::NOT_AUTHORIZED => 5,
            _ => 3,
        }
    }

    /// The v5 reason code nearest to an MQTT 3.1.1 CONNACK return code (a client reading a
    /// 3.1.1 CONNACK sees the same reasons as a v5 one).
    pub fn from_connack_return_code_v3(code: u8) -> ReasonCode {
        match code {
            0 => ReasonCode::SUCCESS,
            1 => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            2 => ReasonCode::CLIENT_ID_NOT_VALID,
            4 => ReasonCode::BAD_USERNAME_OR_PASSWORD,
            5 => ReasonCode::NOT_AUTHORIZED,
            _ => ReasonCode::SERVER_UNAVAILABLE,
        }
    }

    /// The MQTT 3.1.1 SUBACK return code for this v5 reason code: granted QoS or 0x80 failure.
    pub fn suback_return_code_v3(self) -> u8 {
        if self <= ReasonCode::GRANTED_QOS_2 {
            self.0
        } else {
            0x80
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#04x})", self.description(), self.0)
    }
}

/// So that `{:#04x}` in a message shows the wire value.
impl fmt::LowerHex for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::ReasonCode;

    #[test]
    fn display_names_the_code_in_hex() {
        assert_eq!(ReasonCode::NOT_AUTHORIZED.to_string(), "not authorized (0x87)");
        assert_eq!(ReasonCode::SUCCESS.to_string(), "success (0x00)");
        assert_eq!(ReasonCode::new(0xFF).to_string(), "error (0xff)");
        assert_eq!(format!("{:#04x}", ReasonCode::BANNED), "0x8a");
    }

    #[test]
    fn errors_start_at_0x80() {
        assert!(!ReasonCode::NO_SUBSCRIPTION_EXISTED.is_error());
        assert!(ReasonCode::UNSPECIFIED_ERROR.is_error());
        assert!(ReasonCode::new(0xA2).is_error());
    }

    #[test]
    fn v3_return_codes_map_both_ways() {
        for code in 0..=5 {
            let reason = ReasonCode::from_connack_return_code_v3(code);
            assert_eq!(reason.connack_return_code_v3(), code);
        }
        assert_eq!(ReasonCode::QUOTA_EXCEEDED.connack_return_code_v3(), 3);
        assert_eq!(ReasonCode::GRANTED_QOS_2.suback_return_code_v3(), 2);
        assert_eq!(ReasonCode::NOT_AUTHORIZED.suback_return_code_v3(), 0x80);
    }
}
