//! MQTT 5 reason codes, and their nearest MQTT 3.1.1 return codes.

/// Success / normal disconnection / granted QoS 0.
pub const SUCCESS: u8 = 0x00;
/// Granted QoS 1.
pub const GRANTED_QOS_1: u8 = 0x01;
/// Granted QoS 2.
pub const GRANTED_QOS_2: u8 = 0x02;
/// DISCONNECT: the client wants its will published.
pub const DISCONNECT_WITH_WILL: u8 = 0x04;
/// PUBACK/PUBREC: accepted, but nobody subscribes.
pub const NO_MATCHING_SUBSCRIBERS: u8 = 0x10;
/// UNSUBACK: there was no such subscription.
pub const NO_SUBSCRIPTION_EXISTED: u8 = 0x11;
/// Unspecified error.
pub const UNSPECIFIED_ERROR: u8 = 0x80;
/// Malformed packet.
pub const MALFORMED_PACKET: u8 = 0x81;
/// Protocol error.
pub const PROTOCOL_ERROR: u8 = 0x82;
/// Implementation specific error.
pub const IMPLEMENTATION_SPECIFIC_ERROR: u8 = 0x83;
/// CONNACK: unsupported protocol version.
pub const UNSUPPORTED_PROTOCOL_VERSION: u8 = 0x84;
/// CONNACK: client identifier not valid.
pub const CLIENT_ID_NOT_VALID: u8 = 0x85;
/// CONNACK: bad user name or password.
pub const BAD_USERNAME_OR_PASSWORD: u8 = 0x86;
/// Not authorized.
pub const NOT_AUTHORIZED: u8 = 0x87;
/// Server unavailable.
pub const SERVER_UNAVAILABLE: u8 = 0x88;
/// Server busy.
pub const SERVER_BUSY: u8 = 0x89;
/// DISCONNECT: server shutting down.
pub const SERVER_SHUTTING_DOWN: u8 = 0x8B;
/// CONNACK/DISCONNECT: bad authentication method.
pub const BAD_AUTH_METHOD: u8 = 0x8C;
/// DISCONNECT: keep alive timeout.
pub const KEEP_ALIVE_TIMEOUT: u8 = 0x8D;
/// DISCONNECT: another connection took the session over.
pub const SESSION_TAKEN_OVER: u8 = 0x8E;
/// Topic filter invalid.
pub const TOPIC_FILTER_INVALID: u8 = 0x8F;
/// Topic name invalid.
pub const TOPIC_NAME_INVALID: u8 = 0x90;
/// Packet identifier in use.
pub const PACKET_ID_IN_USE: u8 = 0x91;
/// Packet identifier not found.
pub const PACKET_ID_NOT_FOUND: u8 = 0x92;
/// Receive maximum exceeded.
pub const RECEIVE_MAXIMUM_EXCEEDED: u8 = 0x93;
/// Topic alias invalid.
pub const TOPIC_ALIAS_INVALID: u8 = 0x94;
/// Packet too large.
pub const PACKET_TOO_LARGE: u8 = 0x95;
/// Message rate too high (DISCONNECT only).
pub const MESSAGE_RATE_TOO_HIGH: u8 = 0x96;
/// Quota exceeded.
pub const QUOTA_EXCEEDED: u8 = 0x97;
/// Payload format invalid.
pub const PAYLOAD_FORMAT_INVALID: u8 = 0x99;
/// QoS not supported.
pub const QOS_NOT_SUPPORTED: u8 = 0x9B;
/// Shared subscriptions not supported.
pub const SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: u8 = 0x9E;
/// CONNACK/DISCONNECT: connection rate exceeded.
pub const CONNECTION_RATE_EXCEEDED: u8 = 0x9F;
/// Subscription identifiers not supported.
pub const SUBSCRIPTION_IDS_NOT_SUPPORTED: u8 = 0xA1;

/// The MQTT 3.1.1 CONNACK return code nearest to a v5 CONNACK reason code [MQTT-3.2.2-3].
pub fn connack_return_code_v3(reason: u8) -> u8 {
    match reason {
        SUCCESS => 0,
        UNSUPPORTED_PROTOCOL_VERSION => 1,
        CLIENT_ID_NOT_VALID => 2,
        SERVER_UNAVAILABLE | SERVER_BUSY | SERVER_SHUTTING_DOWN => 3,
        BAD_USERNAME_OR_PASSWORD | BAD_AUTH_METHOD => 4,
        NOT_AUTHORIZED => 5,
        _ => 3,
    }
}

/// The v5 reason code nearest to an MQTT 3.1.1 CONNACK return code (a client reading a 3.1.1
/// CONNACK sees the same reasons as a v5 one).
pub fn connack_reason_from_v3(code: u8) -> u8 {
    match code {
        0 => SUCCESS,
        1 => UNSUPPORTED_PROTOCOL_VERSION,
        2 => CLIENT_ID_NOT_VALID,
        4 => BAD_USERNAME_OR_PASSWORD,
        5 => NOT_AUTHORIZED,
        _ => SERVER_UNAVAILABLE,
    }
}

/// The MQTT 3.1.1 SUBACK return code for a v5 reason code: granted QoS or 0x80 failure.
pub fn suback_return_code_v3(reason: u8) -> u8 {
    if reason <= GRANTED_QOS_2 {
        reason
    } else {
        0x80
    }
}

/// A short description of a reason code, for logs.
pub fn describe(reason: u8) -> &'static str {
    match reason {
        SUCCESS => "success",
        DISCONNECT_WITH_WILL => "disconnect with will",
        NO_MATCHING_SUBSCRIBERS => "no matching subscribers",
        NO_SUBSCRIPTION_EXISTED => "no subscription existed",
        UNSPECIFIED_ERROR => "unspecified error",
        MALFORMED_PACKET => "malformed packet",
        PROTOCOL_ERROR => "protocol error",
        UNSUPPORTED_PROTOCOL_VERSION => "unsupported protocol version",
        CLIENT_ID_NOT_VALID => "client identifier not valid",
        BAD_USERNAME_OR_PASSWORD => "bad user name or password",
        NOT_AUTHORIZED => "not authorized",
        SERVER_UNAVAILABLE => "server unavailable",
        SERVER_BUSY => "server busy",
        0x8A => "banned",
        SERVER_SHUTTING_DOWN => "server shutting down",
        BAD_AUTH_METHOD => "bad authentication method",
        KEEP_ALIVE_TIMEOUT => "keep alive timeout",
        SESSION_TAKEN_OVER => "session taken over",
        TOPIC_FILTER_INVALID => "topic filter invalid",
        TOPIC_NAME_INVALID => "topic name invalid",
        PACKET_ID_IN_USE => "packet identifier in use",
        PACKET_ID_NOT_FOUND => "packet identifier not found",
        RECEIVE_MAXIMUM_EXCEEDED => "receive maximum exceeded",
        TOPIC_ALIAS_INVALID => "topic alias invalid",
        PACKET_TOO_LARGE => "packet too large",
        QUOTA_EXCEEDED => "quota exceeded",
        0x96 => "message rate too high",
        0x98 => "administrative action",
        PAYLOAD_FORMAT_INVALID => "payload format invalid",
        0x9A => "retain not supported",
        QOS_NOT_SUPPORTED => "QoS not supported",
        0x9C => "use another server",
        0x9D => "server moved",
        SHARED_SUBSCRIPTIONS_NOT_SUPPORTED => "shared subscriptions not supported",
        CONNECTION_RATE_EXCEEDED => "connection rate exceeded",
        0xA0 => "maximum connect time",
        SUBSCRIPTION_IDS_NOT_SUPPORTED => "subscription identifiers not supported",
        0xA2 => "wildcard subscriptions not supported",
        _ => "error",
    }
}
