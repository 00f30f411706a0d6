//! `-D/--property COMMAND NAME VALUE`: MQTT 5 properties in mosquitto's notation.

use std::sync::Arc;

use bytes::Bytes;

use crate::client::topic::check_topic_name;
use crate::protocol::{MessageProperties, UserProperty};

/// Properties of CONNECT that `-D connect ...` can set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectProperties {
    /// user-property.
    pub user_properties: Vec<UserProperty>,
    /// session-expiry-interval (prefer -x).
    pub session_expiry: Option<u32>,
    /// receive-maximum.
    pub receive_maximum: Option<u16>,
    /// maximum-packet-size.
    pub maximum_packet_size: Option<u32>,
    /// request-problem-information.
    pub request_problem_info: Option<bool>,
    /// request-response-information.
    pub request_response_info: Option<bool>,
}

/// Every property given with `-D`, by packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// `-D connect ...`.
    pub connect: ConnectProperties,
    /// `-D publish ...`: carried by every message `pub` sends.
    pub publish: MessageProperties,
    /// `-D will ...`: carried by the will message.
    pub will: MessageProperties,
    /// `-D will will-delay-interval N`.
    pub will_delay: Option<u32>,
    /// `-D disconnect session-expiry-interval N`.
    pub disconnect_session_expiry: Option<u32>,
}

/// Why a `-D` was refused. `what` is the packet and the property as given
/// (`publish content-type`), which every message names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    /// A packet this subcommand does not send.
    #[error("-D {command}: properties can be given for {allowed} here")]
    Packet {
        /// The packet given.
        command: String,
        /// The packets this subcommand sends, comma separated.
        allowed: String,
    },
    /// `user-property` without both a key and a value.
    #[error("-D {what} needs a key and a value")]
    KeyAndValue {
        /// Packet and property.
        what: String,
    },
    /// A user property on a packet that cannot carry one.
    #[error("-D {what} is not supported")]
    NotSupported {
        /// Packet and property.
        what: String,
    },
    /// Anything but one value.
    #[error("-D {what} takes one value")]
    OneValue {
        /// Packet and property.
        what: String,
    },
    /// A value that is not a number of the property's type.
    #[error("{what} needs a number in its range, not {value:?}")]
    Number {
        /// Packet and property.
        what: String,
        /// The value given.
        value: String,
    },
    /// A flag that is not 0 or 1.
    #[error("{what} is 0 or 1, not {value:?}")]
    Flag {
        /// Packet and property.
        what: String,
        /// The value given.
        value: String,
    },
    /// The same property twice.
    #[error("-D {what} is given twice")]
    Twice {
        /// Packet and property.
        what: String,
    },
    /// A response topic that is not a valid topic name.
    #[error("{what} {value:?} is not a valid topic name: {why}")]
    TopicName {
        /// Packet and property.
        what: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// 0 where the protocol forbids it.
    #[error("-D {what} must be at least 1")]
    Zero {
        /// Packet and property.
        what: String,
    },
    /// A CONNECT property this client does not know or send.
    #[error("-D {what}: unknown or unsupported CONNECT property")]
    UnknownConnect {
        /// Packet and property.
        what: String,
    },
    /// Any other property this client does not know or send.
    #[error("-D {what}: unknown or unsupported property")]
    Unknown {
        /// Packet and property.
        what: String,
    },
}

fn number<T: std::str::FromStr>(value: &str, what: &str) -> Result<T, PropertyError> {
    value.parse().map_err(|_| PropertyError::Number {
        what: what.to_string(),
        value: value.to_string(),
    })
}

fn flag(value: &str, what: &str) -> Result<bool, PropertyError> {
    match value {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(PropertyError::Flag {
            what: what.to_string(),
            value: value.to_string(),
        }),
    }
}

fn set<T>(slot: &mut Option<T>, value: T, what: &str) -> Result<(), PropertyError> {
    if slot.is_some() {
        return Err(PropertyError::Twice {
            what: what.to_string(),
        });
    }
    *slot = Some(value);
    Ok(())
}

/// Sets one property of an application message (PUBLISH or will).
fn message_property(
    props: &mut MessageProperties,
    name: &str,
    value: &str,
    what: &str,
) -> Result<bool, PropertyError> {
    match name {
        "payload-format-indicator" => set(&mut props.payload_format_utf8, flag(value, what)?, what)?,
        "message-expiry-interval" => set(&mut props.message_expiry, number(value, what)?, what)?,
        "content-type" => set(&mut props.content_type, Arc::from(value), what)?,
        "response-topic" => {
            check_topic_name(value).map_err(|why| PropertyError::TopicName {
                what: what.to_string(),
                value: value.to_string(),
                why,
            })?;
            set(&mut props.response_topic, Arc::from(value), what)?
        }
        "correlation-data" => set(
            &mut props.correlation_data,
            Bytes::copy_from_slice(value.as_bytes()),
            what,
        )?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Parses every `-D` occurrence; `commands` lists the packets this subcommand sends.
pub fn parse(raw: &[Vec<String>], commands: &[&str]) -> Result<Properties, PropertyError> {
    let mut props = Properties::default();
    for values in raw {
        let command = values[0].to_ascii_lowercase();
        let name = values[1].as_str();
        if !commands.contains(&command.as_str()) {
            return Err(PropertyError::Packet {
                command,
                allowed: commands.join(", "),
            });
        }
        let what = format!("{command} {name}");
        if name == "user-property" {
            let [_, _, key, value] = values.as_slice() else {
                return Err(PropertyError::KeyAndValue { what });
            };
            let pair: UserProperty = (Arc::from(key.as_str()), Arc::from(value.as_str()));
            match command.as_str() {
                "connect" => props.connect.user_properties.push(pair),
                "publish" => props.publish.user_properties.push(pair),
                "will" => props.will.user_properties.push(pair),
                _ => return Err(PropertyError::NotSupported { what }),
            }
            continue;
        }
        let [_, _, value] = values.as_slice() else {
            return Err(PropertyError::OneValue { what });
        };
        let known = match command.as_str() {
            "connect" => {
                let c = &mut props.connect;
                match name {
                    "session-expiry-interval" => set(&mut c.session_expiry, number(value, &what)?, &what)?,
                    "receive-maximum" => match number(value, &what)? {
                        0 => return Err(PropertyError::Zero { what }),
                        n => set(&mut c.receive_maximum, n, &what)?,
                    },
                    "maximum-packet-size" => match number(value, &what)? {
                        0 => return Err(PropertyError::Zero { what }),
                        n => set(&mut c.maximum_packet_size, n, &what)?,
                    },
                    "request-problem-information" => {
                        set(&mut c.request_problem_info, flag(value, &what)?, &what)?
                    }
                    "request-response-information" => {
                        set(&mut c.request_response_info, flag(value, &what)?, &what)?
                    }
                    _ => return Err(PropertyError::UnknownConnect { what }),
                }
                true
            }
            "publish" => message_property(&mut props.publish, name, value, &what)?,
            "will" if name == "will-delay-interval" => {
                set(&mut props.will_delay, number(value, &what)?, &what)?;
                true
            }
            "will" => message_property(&mut props.will, name, value, &what)?,
            "disconnect" if name == "session-expiry-interval" => {
                set(&mut props.disconnect_session_expiry, number(value, &what)?, &what)?;
                true
            }
            _ => false,
        };
        if !known {
            return Err(PropertyError::Unknown { what });
        }
    }
    Ok(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|v| v.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    const PUB: &[&str] = &["connect", "publish", "will", "disconnect"];

    #[test]
    fn publish_properties() {
        let p = parse(
            &args(&[
                &["publish", "user-property", "k", "v"],
                &["PUBLISH", "user-property", "k", "w"],
                &["publish", "content-type", "text/plain"],
                &["publish", "response-topic", "re/ply"],
                &["publish", "correlation-data", "abc"],
                &["publish", "message-expiry-interval", "60"],
                &["publish", "payload-format-indicator", "1"],
                &["connect", "user-property", "who", "me"],
                &["will", "will-delay-interval", "5"],
            ]),
            PUB,
        )
        .unwrap();
        assert_eq!(p.publish.user_properties.len(), 2);
        assert_eq!(p.publish.content_type.as_deref(), Some("text/plain"));
        assert_eq!(p.publish.response_topic.as_deref(), Some("re/ply"));
        assert_eq!(p.publish.correlation_data.as_deref(), Some(&b"abc"[..]));
        assert_eq!(p.publish.message_expiry, Some(60));
        assert_eq!(p.publish.payload_format_utf8, Some(true));
        assert_eq!(p.connect.user_properties.len(), 1);
        assert_eq!(p.will_delay, Some(5));
    }

    #[test]
    fn mistakes_are_named() {
        let e = |list: &[&[&str]]| parse(&args(list), PUB).unwrap_err().to_string();
        assert!(e(&[&["publish", "content-type", "a", "b"]]).contains("takes one value"));
        assert!(e(&[&["publish", "bogus", "1"]]).contains("unknown"));
        assert!(e(&[&["subscribe", "user-property", "a", "b"]]).contains("can be given for"));
        assert!(e(&[&["publish", "message-expiry-interval", "x"]]).contains("needs a number"));
        assert!(e(&[&["publish", "payload-format-indicator", "2"]]).contains("0 or 1"));
        assert!(e(&[&["publish", "response-topic", "a/#"]]).contains("not a valid topic name"));
        assert!(e(&[
            &["publish", "content-type", "a"],
            &["publish", "content-type", "b"]
        ])
        .contains("twice"));
    }
}
