//! How `sub` prints a message: the payload, `-v` (topic and payload), `-F FORMAT`, or `--json`.
//!
//! `-F` follows mosquitto_sub: `%` fields with optional `-`/`0` flags, width and `.precision`,
//! `@` time fields (in UTC here) and `\` escapes. The format is parsed once; each message is
//! rendered into one reused buffer.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use super::json::write_json;
use super::mosquitto_json;
use crate::protocol::Publish;

/// A `%` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Topic,
    Payload,
    Qos,
    Retain,
    PacketId,
    Length,
    Hex,
    HexUpper,
    ContentType,
    CorrelationData,
    MessageExpiry,
    PayloadFormat,
    ResponseTopic,
    UserProperties,
    SubscriptionIds,
    TopicAlias,
    IsoTime,
    UnixTime,
    Json,
    JsonParsed,
}

impl Field {
    fn from_char(c: char) -> Option<Field> {
        Some(match c {
            't' => Field::Topic,
            'p' => Field::Payload,
            'q' => Field::Qos,
            'r' => Field::Retain,
            'i' | 'm' => Field::PacketId,
            'l' => Field::Length,
            'x' => Field::Hex,
            'X' => Field::HexUpper,
            'C' => Field::ContentType,
            'D' => Field::CorrelationData,
            'E' => Field::MessageExpiry,
            'F' => Field::PayloadFormat,
            'R' => Field::ResponseTopic,
            'P' => Field::UserProperties,
            'S' => Field::SubscriptionIds,
            'A' => Field::TopicAlias,
            'I' => Field::IsoTime,
            'U' => Field::UnixTime,
            'j' => Field::Json,
            'J' => Field::JsonParsed,
            _ => return None,
        })
    }

    /// Fields the `0` flag pads with zeros.
    fn numeric(self) -> bool {
        matches!(
            self,
            Field::Qos
                | Field::Retain
                | Field::PacketId
                | Field::Length
                | Field::Hex
                | Field::HexUpper
                | Field::MessageExpiry
                | Field::PayloadFormat
                | Field::TopicAlias
        )
    }
}

/// Flags, width and precision of a `%` field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Spec {
    left: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Text(Vec<u8>),
    Field(Field, Spec),
    /// `@X`: a strftime-style time field.
    Time(char),
}

/// Why a `-F` format was refused: the character at fault, where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// `%` followed by a letter that names no field.
    #[error("-F: unknown field %{0}")]
    UnknownField(char),
    /// The format ends after `%` or its flags.
    #[error("-F: the format ends in the middle of a % field")]
    UnfinishedField,
    /// `@` followed by a letter that names no time field.
    #[error("-F: unsupported time field @{0}")]
    UnknownTime(char),
    /// The format ends with `@`.
    #[error("-F: the format ends with a lone @ (write @@ for @)")]
    LoneAt,
    /// `\` followed by a character that is not an escape.
    #[error("-F: unknown escape \\{0}")]
    UnknownEscape(char),
    /// The format ends with `\`.
    #[error("-F: the format ends with a lone \\ (write \\\\ for \\)")]
    LoneBackslash,
}

/// Parses a `-F` format.
fn parse(format: &str) -> Result<Vec<Token>, FormatError> {
    let mut tokens = Vec::new();
    let mut text = Vec::new();
    let mut chars = format.chars().peekable();
    let flush = |text: &mut Vec<u8>, tokens: &mut Vec<Token>| {
        if !text.is_empty() {
            tokens.push(Token::Text(std::mem::take(text)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '%' => {
                let mut spec = Spec::default();
                while let Some(&f) = chars.peek() {
                    match f {
                        '-' => spec.left = true,
                        '0' => spec.zero = true,
                        _ => break,
                    }
                    chars.next();
                }
                let number = |chars: &mut std::iter::Peekable<std::str::Chars>| {
                    let mut n: Option<usize> = None;
                    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
                        chars.next();
                    }
                    n
                };
                spec.width = number(&mut chars).unwrap_or(0);
                if chars.peek() == Some(&'.') {
                    chars.next();
                    spec.precision = Some(number(&mut chars).unwrap_or(0));
                }
                match chars.next() {
                    Some('%') if spec == Spec::default() => text.push(b'%'),
                    Some(c) => match Field::from_char(c) {
                        Some(field) => {
                            flush(&mut text, &mut tokens);
                            tokens.push(Token::Field(field, spec));
                        }
                        None => return Err(FormatError::UnknownField(c)),
                    },
                    None => return Err(FormatError::UnfinishedField),
                }
            }
            '@' => match chars.next() {
                Some('@') => text.push(b'@'),
                Some(c) if "YmdHMSsNzZFTjy".contains(c) => {
                    flush(&mut text, &mut tokens);
                    tokens.push(Token::Time(c));
                }
                Some(c) => return Err(FormatError::UnknownTime(c)),
                None => return Err(FormatError::LoneAt),
            },
            '\\' => {
                let byte = match chars.next() {
                    Some('\\') => b'\\',
                    Some('0') => 0,
                    Some('a') => 7,
                    Some('e') => 27,
                    Some('n') => b'\n',
                    Some('r') => b'\r',
                    Some('t') => b'\t',
                    Some('v') => 11,
                    Some(c) => return Err(FormatError::UnknownEscape(c)),
                    None => return Err(FormatError::LoneBackslash),
                };
                text.push(byte);
            }
            c => {
                let mut buf = [0; 4];
                text.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    flush(&mut text, &mut tokens);
    Ok(tokens)
}

/// Calendar date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Writes one time field of `now` (UTC).
fn write_time(out: &mut Vec<u8>, field: char, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (year, month, day) = civil(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    let _ = match field {
        'Y' => write!(out, "{year:04}"),
        'y' => write!(out, "{:02}", year % 100),
        'm' => write!(out, "{month:02}"),
        'd' => write!(out, "{day:02}"),
        'H' => write!(out, "{h:02}"),
        'M' => write!(out, "{m:02}"),
        'S' => write!(out, "{s:02}"),
        's' => write!(out, "{secs}"),
        'N' => write!(out, "{:09}", since.subsec_nanos()),
        'z' => write!(out, "+0000"),
        'Z' => write!(out, "UTC"),
        'F' => write!(out, "{year:04}-{month:02}-{day:02}"),
        'T' => write!(out, "{h:02}:{m:02}:{s:02}"),
        'j' => write!(out, "{:03}", secs.div_euclid(86_400) - days_from_civil(year) + 1),
        _ => Ok(()),
    };
}

/// Days from 1970-01-01 to January 1st of `year`.
fn days_from_civil(year: i64) -> i64 {
    let y = year - 1;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + 306;
    era * 146_097 + doe - 719_468
}

/// mosquitto's `tst`: `2024-05-06T21:48:00.123456Z+0000` (in UTC here).
fn write_tst(out: &mut Vec<u8>, now: SystemTime) {
    write_time(out, 'F', now);
    out.push(b'T');
    write_time(out, 'T', now);
    let micros = now.duration_since(UNIX_EPOCH).unwrap_or_default().subsec_micros();
    let _ = write!(out, ".{micros:06}Z+0000");
}

/// What a field needs besides the message.
struct Context {
    now: SystemTime,
    pretty: bool,
    /// Set when a `%J` payload is not JSON.
    not_json: bool,
}

fn write_hex(out: &mut Vec<u8>, bytes: &[u8], upper: bool) {
    for b in bytes {
        let _ = if upper {
            write!(out, "{b:02X}")
        } else {
            write!(out, "{b:02x}")
        };
    }
}

/// Writes a field's value; an absent property writes nothing. (Writing into a `Vec` cannot
/// fail, so the `io::Result`s of `write!` are ignored.)
fn write_field(out: &mut Vec<u8>, field: Field, msg: &Publish, cx: &mut Context) {
    let (p, now) = (&msg.properties, cx.now);
    match field {
        Field::Topic => out.extend_from_slice(msg.topic.as_bytes()),
        Field::Payload => out.extend_from_slice(&msg.payload),
        Field::Qos => out.push(b'0' + msg.qos as u8),
        Field::Retain => out.push(b'0' + u8::from(msg.retain)),
        Field::PacketId => {
            let _ = write!(out, "{}", msg.packet_id);
        }
        Field::Length => {
            let _ = write!(out, "{}", msg.payload.len());
        }
        Field::Hex => write_hex(out, &msg.payload, false),
        Field::HexUpper => write_hex(out, &msg.payload, true),
        Field::ContentType => out.extend_from_slice(p.content_type.as_deref().unwrap_or("").as_bytes()),
        Field::CorrelationData => out.extend_from_slice(p.correlation_data.as_deref().unwrap_or(b"")),
        Field::MessageExpiry => {
            if let Some(e) = p.message_expiry {
                let _ = write!(out, "{e}");
            }
        }
        Field::PayloadFormat => {
            if let Some(f) = p.payload_format_utf8 {
                out.push(b'0' + u8::from(f));
            }
        }
        Field::ResponseTopic => out.extend_from_slice(p.response_topic.as_deref().unwrap_or("").as_bytes()),
        Field::UserProperties => {
            for (i, (k, v)) in p.user_properties.iter().enumerate() {
                let _ = write!(out, "{}{k}:{v}", if i > 0 { " " } else { "" });
            }
        }
        Field::SubscriptionIds => {
            for (i, id) in msg.subscription_ids.iter().enumerate() {
                let _ = write!(out, "{}{id}", if i > 0 { "," } else { "" });
            }
        }
        Field::TopicAlias => {
            if let Some(a) = msg.topic_alias {
                let _ = write!(out, "{a}");
            }
        }
        Field::IsoTime => {
            write_time(out, 'F', now);
            out.push(b'T');
            write_time(out, 'T', now);
            write_time(out, 'z', now);
        }
        Field::UnixTime => {
            write_time(out, 's', now);
            out.push(b'.');
            write_time(out, 'N', now);
        }
        Field::Json | Field::JsonParsed => {
            let mut tst = Vec::with_capacity(32);
            write_tst(&mut tst, now);
            let tst = String::from_utf8_lossy(&tst);
            let parse = field == Field::JsonParsed;
            if mosquitto_json::write(out, msg, &tst, parse, cx.pretty).is_err() {
                cx.not_json = true;
            }
        }
    }
}

/// Applies precision (a maximum, in characters) and width (a minimum) to `value`.
fn pad(out: &mut Vec<u8>, value: &[u8], spec: Spec, numeric: bool) {
    let text = std::str::from_utf8(value).ok();
    let value = match (spec.precision, text) {
        (Some(max), Some(t)) => t.char_indices().nth(max).map_or(value, |(i, _)| &value[..i]),
        (Some(max), None) => &value[..max.min(value.len())],
        (None, _) => value,
    };
    let len = std::str::from_utf8(value).map_or(value.len(), |t| t.chars().count());
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        out.extend_from_slice(value);
        out.resize(out.len() + fill, b' ');
    } else {
        let byte = if spec.zero && numeric { b'0' } else { b' ' };
        out.resize(out.len() + fill, byte);
        out.extend_from_slice(value);
    }
}

#[derive(Debug)]
enum Style {
    Payload,
    Verbose,
    Json,
    Format(Vec<Token>),
}

/// Renders messages the way the flags ask.
#[derive(Debug)]
pub struct Printer {
    style: Style,
    newline: bool,
    pretty: bool,
    line: Vec<u8>,
    scratch: Vec<u8>,
    /// The last message rendered had a `%J` payload that is not JSON.
    not_json: bool,
}

impl Printer {
    /// Checks the output flags (`-F` is parsed here, so a bad format fails before connecting).
    pub fn new(
        verbose: bool,
        format: Option<&str>,
        json: bool,
        no_newline: bool,
        pretty: bool,
    ) -> Result<Printer, FormatError> {
        let style = match (format, json, verbose) {
            (Some(f), _, _) => Style::Format(parse(f)?),
            (None, true, _) => Style::Json,
            (None, false, true) => Style::Verbose,
            (None, false, false) => Style::Payload,
        };
        Ok(Printer {
            style,
            newline: !no_newline,
            pretty,
            line: Vec::with_capacity(1024),
            scratch: Vec::new(),
            not_json: false,
        })
    }

    /// What the last [`Printer::render`] made.
    pub fn last_line(&self) -> &[u8] {
        &self.line
    }

    /// Whether the last message rendered had a `%J` payload that is not JSON (its field was
    /// left empty, as mosquitto_sub leaves it).
    pub fn payload_was_not_json(&self) -> bool {
        self.not_json
    }

    /// The bytes to print for `msg`, line end included.
    pub fn render(&mut self, msg: &Publish) -> &[u8] {
        self.line.clear();
        match &self.style {
            Style::Payload => self.line.extend_from_slice(&msg.payload),
            Style::Verbose => {
                self.line.extend_from_slice(msg.topic.as_bytes());
                self.line.push(b' ');
                self.line.extend_from_slice(&msg.payload);
            }
            Style::Json => write_json(&mut self.line, msg, self.pretty),
            Style::Format(tokens) => {
                let mut cx = Context {
                    now: SystemTime::now(),
                    pretty: self.pretty,
                    not_json: false,
                };
                for token in tokens {
                    match token {
                        Token::Text(t) => self.line.extend_from_slice(t),
                        Token::Time(c) => write_time(&mut self.line, *c, cx.now),
                        Token::Field(field, spec) if *spec == Spec::default() => {
                            write_field(&mut self.line, *field, msg, &mut cx)
                        }
                        Token::Field(field, spec) => {
                            self.scratch.clear();
                            write_field(&mut self.scratch, *field, msg, &mut cx);
                            pad(&mut self.line, &self.scratch, *spec, field.numeric());
                        }
                    }
                }
                self.not_json = cx.not_json;
            }
        }
        if self.newline {
            self.line.push(b'\n');
        }
        &self.line
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::protocol::{MessageProperties, PropertyFields, QoS};

    fn message() -> Publish {
        Publish {
            dup: false,
            qos: QoS::ExactlyOnce,
            retain: true,
            topic: Arc::from("sensors/t1"),
            packet_id: 42,
            payload: Bytes::from_static(b"21.5"),
            properties: MessageProperties::from(PropertyFields {
                content_type: Some(Arc::from("text/plain")),
                user_properties: vec![(Arc::from("a"), Arc::from("b")), (Arc::from("c"), Arc::from("d"))],
                message_expiry: Some(100),
                ..Default::default()
            }),
            topic_alias: None,
            subscription_ids: Vec::new(),
        }
    }

    fn render(format: &str) -> String {
        let mut p = Printer::new(false, Some(format), false, true, false).unwrap();
        String::from_utf8(p.render(&message()).to_vec()).unwrap()
    }

    #[test]
    fn fields() {
        assert_eq!(render("%t %p %q %r %i %m %l %%"), "sensors/t1 21.5 2 1 42 42 4 %");
        assert_eq!(
            render("%x|%X|%C|%E|%P|%R|%F|%D|%S|%A"),
            "32312e35|32312E35|text/plain|100|a:b c:d|||||"
        );
    }

    #[test]
    fn width_precision_and_flags() {
        assert_eq!(
            render("[%12t][%-12t][%.3t][%05l][%-05l][%05t]"),
            "[  sensors/t1][sensors/t1  ][sen][00004][4    ][sensors/t1]"
        );
    }

    #[test]
    fn escapes_and_time() {
        assert_eq!(render("a\\tb\\\\\\0@@"), "a\tb\\\0@");
        let iso = render("%I");
        assert_eq!(iso.len(), "2016-08-10T09:47:38+0000".len(), "{iso}");
        assert!(iso.ends_with("+0000"));
        let unix = render("%U");
        assert_eq!(unix.split_once('.').unwrap().1.len(), 9);
    }

    #[test]
    fn bad_formats_are_refused() {
        for (bad, why) in [
            ("%z", "unknown field %z"),
            ("%", "ends"),
            ("@k", "@k"),
            ("\\q", "\\q"),
            ("x@", "lone @"),
        ] {
            let e = Printer::new(false, Some(bad), false, false, false)
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn calendar() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_358), (2023, 1, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(days_from_civil(2023), 19_358);
    }

    #[test]
    fn styles() {
        let mut p = Printer::new(true, None, false, false, false).unwrap();
        assert_eq!(p.render(&message()), b"sensors/t1 21.5\n");
        let mut p = Printer::new(false, None, false, false, false).unwrap();
        assert_eq!(p.render(&message()), b"21.5\n");
    }
}
