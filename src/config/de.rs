//! Deserialization details: TOML text → `Settings`, unit-bearing values, one-line errors.

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use bytesize::ByteSize;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{Settings, MQTT_MAX_PACKET_SIZE};

/// Why TOML text does not give settings: malformed, or a value of the wrong type or an unknown
/// key. Displays as one line: the position, the key when known, and toml's own description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParseError {
    /// 1-based line and column of the problem, when toml says where it is.
    pub at: Option<(usize, usize)>,
    /// The key path (`limits.max_inflight`, `listeners[1]`), when the position names one.
    pub key: Option<String>,
    /// What is wrong, on one line.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((line, column)) = self.at {
            write!(f, "line {line}, column {column}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses `text` into settings (not yet validated).
pub(super) fn parse(text: &str) -> Result<Settings, ParseError> {
    // Parse the syntax first and keep the spanned document: a later type error only carries
    // a byte offset, and the document is what turns that offset back into a key path.
    let document = DeTable::parse(text).map_err(|e| describe(text, &e, None))?;
    if let Some((span, key, found)) = misplaced_table(document.get_ref()) {
        return Err(ParseError {
            at: Some(line_column(text, span.start)),
            key: Some(key),
            message: format!("invalid type: {found}, expected a table"),
        });
    }
    Settings::deserialize(toml::de::Deserializer::from(document.clone()))
        .map_err(|e| describe(text, &e, Some(document.get_ref())))
}

/// Finds a value that is not a table where the schema has one (`[limits]`, each
/// `[[listeners]]`), returning its span, key and type. Checked before serde because serde
/// reads a struct from an array, field by field in declaration order (so
/// `server = ["/data", "10s"]` would be accepted), and because its own message names the
/// Rust type ("expected struct Limits").
fn misplaced_table(document: &DeTable<'_>) -> Option<(Range<usize>, String, &'static str)> {
    const TABLES: [&str; 5] = ["server", "auth", "limits", "store", "metrics"];
    let not_table = |value: &Spanned<DeValue<'_>>| !matches!(value.get_ref(), DeValue::Table(_));
    for (key, value) in document.iter() {
        let name = key.get_ref();
        if TABLES.contains(&name.as_ref()) && not_table(value) {
            return Some((value.span(), name.to_string(), value.get_ref().type_str()));
        }
        if name == "listeners" {
            // Anything but an array is left to serde, whose message is already clear.
            if let DeValue::Array(listeners) = value.get_ref() {
                let item = listeners.iter().enumerate().find(|(_, item)| not_table(item));
                if let Some((index, item)) = item {
                    let key = format!("listeners[{index}]");
                    return Some((item.span(), key, item.get_ref().type_str()));
                }
            }
        }
    }
    None
}

/// Flattens a toml error (whose Display is a multi-line source excerpt) into its position,
/// the key found there and a one-line message.
fn describe(text: &str, error: &toml::de::Error, document: Option<&DeTable<'_>>) -> ParseError {
    let message = one_line(error.message());
    let Some(span) = error.span() else {
        return ParseError {
            at: None,
            key: None,
            message,
        };
    };
    let key = document
        .map(|document| {
            let mut path = Vec::new();
            find_key(document, span.start, &mut path);
            path.concat()
        })
        .filter(|key| !key.is_empty());
    ParseError {
        at: Some(line_column(text, span.start)),
        key,
        message,
    }
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// 1-based line and column (in characters) of byte offset `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    // The offset comes from toml and should be a char boundary inside `text`, but a wrong
    // offset must not turn an error message into a panic.
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Appends to `path` the segments (`limits`, `.max_inflight`, `[1]`) of the deepest key or
/// value whose span holds `offset`; returns whether one was found.
fn find_key(table: &DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
    for (key, value) in table.iter() {
        let segment = if path.is_empty() {
            key.get_ref().to_string()
        } else {
            format!(".{}", key.get_ref())
        };
        path.push(segment);
        if find_in_value(value, offset, path)
            || key.span().contains(&offset)
            || value.span().contains(&offset)
        {
            return true;
        }
        path.pop();
    }
    false
}

fn find_in_value(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut Vec<String>) -> bool {
    match value.get_ref() {
        DeValue::Table(table) => find_key(table, offset, path),
        DeValue::Array(array) => {
            for (index, item) in array.iter().enumerate() {
                path.push(format!("[{index}]"));
                if find_in_value(item, offset, path) || item.span().contains(&offset) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// A humantime duration string: `"10s"`, `"100ms"`, `"1m 30s"`.
pub(super) fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    struct DurationVisitor;

    impl Visitor<'_> for DurationVisitor {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(r#"a duration with a unit, like "10s" or "100ms""#)
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Duration, E> {
            humantime::parse_duration(value)
                .map_err(|e| E::custom(format!("invalid duration {value:?}: {e}")))
        }

        // A bare number is refused rather than guessed at: "10" could mean seconds or
        // milliseconds depending on who reads it.
        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Duration, E> {
            Err(E::custom(format!(
                r#"a duration needs a unit: write "{value}s" or "{value}ms", in quotes"#
            )))
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Duration, E> {
            Err(E::custom(format!(
                r#"a duration needs a unit: write "{value}s" or "{value}ms", in quotes"#
            )))
        }
    }

    deserializer.deserialize_any(DurationVisitor)
}

/// A byte size: an integer, or a string such as `"1000"`, `"512KiB"`, `"64MiB"`, `"1.5MB"`.
pub(super) fn size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct SizeVisitor;

    impl Visitor<'_> for SizeVisitor {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(r#"a size in bytes, like 1048576 or "1MiB""#)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
            Ok(value)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
            u64::try_from(value).map_err(|_| E::custom(format!("a size cannot be negative ({value})")))
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<u64, E> {
            // ByteSize rounds fractions ("1.5KiB") and saturates at u64::MAX, so any number
            // it accepts fits.
            value.trim().parse::<ByteSize>().map(|size| size.0).map_err(|_| {
                E::custom(format!(
                    r#"invalid size {value:?}: expected bytes or a number with a unit, like "512KiB" or "1MiB" (KiB/MiB/GiB count in 1024s, KB/MB/GB in 1000s)"#
                ))
            })
        }
    }

    deserializer.deserialize_any(SizeVisitor)
}

/// A byte size that must fit a `u32` (an MQTT packet length).
pub(super) fn packet_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let bytes = size(deserializer)?;
    // Larger than MQTT allows is reported by validation; only what u32 cannot hold at all
    // has to be refused here, with the same wording.
    u32::try_from(bytes).map_err(|_| {
        de::Error::custom(format!(
            "{bytes} bytes ({}) is too large (maximum {MQTT_MAX_PACKET_SIZE} bytes, the MQTT limit)",
            ByteSize(bytes)
        ))
    })
}

/// An optional `IP:port` socket address, with a hint when it is not one.
pub(super) fn socket_addr<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SocketAddr>, D::Error> {
    struct AddrVisitor;

    impl Visitor<'_> for AddrVisitor {
        type Value = Option<SocketAddr>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(r#"an address string like "0.0.0.0:1883""#)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            // Host names are refused rather than resolved: a name can stand for several
            // addresses or change while the broker runs, and startup should not wait on DNS.
            text.trim().parse().map(Some).map_err(|_| {
                E::custom(format!(
                    r#"invalid address {text:?}: expected IP:port, like "0.0.0.0:1883" or "[::1]:1883" (host names are not resolved)"#
                ))
            })
        }
    }

    deserializer.deserialize_any(AddrVisitor)
}

/// An integer from 0 to `u16::MAX`.
pub(super) fn u16<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    let value = bounded(deserializer, u16::MAX.into())?;
    u16::try_from(value).map_err(|_| de::Error::custom("out of range"))
}

/// An integer from 0 to `u32::MAX`.
pub(super) fn u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let value = bounded(deserializer, u32::MAX.into())?;
    u32::try_from(value).map_err(|_| de::Error::custom("out of range"))
}

/// An integer from 0 to `usize::MAX`.
pub(super) fn usize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
    let value = bounded(deserializer, max)?;
    usize::try_from(value).map_err(|_| de::Error::custom("out of range"))
}

/// An optional integer from 0 to `usize::MAX` (a key that is absent stays `None`).
pub(super) fn optional_usize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    usize(deserializer).map(Some)
}

/// An integer from 0 to `max`, with messages that give the range instead of a Rust type
/// name ("expected u16").
fn bounded<'de, D: Deserializer<'de>>(deserializer: D, max: u64) -> Result<u64, D::Error> {
    struct BoundedVisitor(u64);

    impl Visitor<'_> for BoundedVisitor {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a whole number from 0 to {}", self.0)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
            if value > self.0 {
                return Err(E::custom(format!("{value} is too large (maximum {})", self.0)));
            }
            Ok(value)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
            match u64::try_from(value) {
                Ok(value) => self.visit_u64(value),
                Err(_) => Err(E::custom(format!("{value} is negative (minimum 0)"))),
            }
        }
    }

    deserializer.deserialize_any(BoundedVisitor(max))
}

/// `limits.max_memory`: a byte size like [`size`], or a share of the machine's memory as a
/// string such as `"25%"`.
pub(super) fn memory_limit<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<super::MemoryLimit, D::Error> {
    struct MemoryVisitor;

    impl Visitor<'_> for MemoryVisitor {
        type Value = super::MemoryLimit;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(r#"a size in bytes, like "256MiB", or a share of the machine's memory, like "25%""#)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
            Ok(super::MemoryLimit::Bytes(value))
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
            u64::try_from(value)
                .map(super::MemoryLimit::Bytes)
                .map_err(|_| E::custom(format!("a size cannot be negative ({value})")))
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            let value = value.trim();
            if let Some(percent) = value.strip_suffix('%') {
                return match percent.trim().parse::<u8>() {
                    Ok(p @ 1..=100) => Ok(super::MemoryLimit::Percent(p)),
                    _ => Err(E::custom(format!(
                        "invalid share {value:?}: expected a whole percentage from 1% to 100%"
                    ))),
                };
            }
            value.parse::<ByteSize>().map(|size| super::MemoryLimit::Bytes(size.0)).map_err(|_| {
                E::custom(format!(
                    r#"invalid size {value:?}: expected bytes, a number with a unit like "256MiB", or a share of the machine's memory like "25%""#
                ))
            })
        }
    }

    deserializer.deserialize_any(MemoryVisitor)
}
