//! Value parsers for flags clap has no type for: protocol versions, seconds, durations, rates.
//!
//! They return `String` errors, clap's convention for value parsers: clap prints the text after
//! its own "invalid value ... for ..." and no other code sees it, so a type would tell no one
//! anything (the same goes for the few parsers beside their flags in `sub.rs` and `bench.rs`).

use crate::protocol::Version;

/// Parses `-V`: 5, 311, 31 or mqttv5, mqttv311, mqttv31.
pub(super) fn parse_protocol_version(s: &str) -> Result<Version, String> {
    match s.to_ascii_lowercase().as_str() {
        "5" | "mqttv5" | "v5" => Ok(Version::V5),
        "311" | "mqttv311" | "v311" => Ok(Version::V3_1_1),
        "31" | "mqttv31" | "v31" => Ok(Version::V3_1),
        _ => Err("expected 5, 311, 31, mqttv5, mqttv311 or mqttv31".into()),
    }
}

/// Parses `-x`: seconds, or -1 / ∞ / never for a session that does not expire.
pub(super) fn parse_session_expiry(s: &str) -> Result<u32, String> {
    match s {
        "-1" | "∞" | "never" | "inf" => Ok(u32::MAX),
        _ => s
            .parse()
            .map_err(|_| "expected seconds (0 to 4294967295), or -1 / ∞ for never".into()),
    }
}

/// Parses a positive number of seconds, fractions allowed.
pub(super) fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(v),
        _ => Err("expected a positive number of seconds".into()),
    }
}

/// Parses a duration: `10s`, `500ms`, `2m`, or plain seconds (`1.5`).
pub(super) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    if let Ok(secs) = s.parse::<f64>() {
        return if (0.0..1e9).contains(&secs) {
            Ok(std::time::Duration::from_secs_f64(secs))
        } else {
            Err("expected a duration such as 10s, 500ms, 2m, or seconds".into())
        };
    }
    humantime::parse_duration(s).map_err(|e| format!("{e}: expected a duration such as 10s, 500ms, 2m"))
}

/// Parses a rate per second: 0 or more.
pub(super) fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("expected a number of messages (or connections) per second, 0 for no limit".into()),
    }
}
