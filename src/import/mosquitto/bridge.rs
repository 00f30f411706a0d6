//! `connection NAME` sections → `[[bridges]]`: the remote's address, credentials and TLS
//! files, and each `topic` line as a `[[bridges.topics]]` rule.

use std::path::{Path, PathBuf};

use super::keys;
use super::model::{Bridge, Note, Origin, Topic};
use super::parse::Directive;

/// Settings that belong to the last `connection` section.
pub fn is_bridge_key(key: &str) -> bool {
    matches!(
        key,
        "address"
            | "addresses"
            | "topic"
            | "bridge_protocol_version"
            | "remote_clientid"
            | "clientid"
            | "remote_username"
            | "username"
            | "remote_password"
            | "password"
            | "cleansession"
            | "keepalive_interval"
            | "bridge_cafile"
            | "bridge_capath"
            | "bridge_certfile"
            | "bridge_keyfile"
            | "bridge_insecure"
            | "try_private"
            | "local_clientid"
            | "local_username"
            | "local_password"
            | "local_cleansession"
            | "start_type"
            | "restart_timeout"
            | "idle_timeout"
            | "threshold"
            | "notifications"
            | "notification_topic"
            | "notifications_local_only"
            | "round_robin"
            | "bridge_attempt_unsubscribe"
            | "bridge_outgoing_retain"
            | "bridge_max_packet_size"
            | "bridge_bind_address"
            | "bridge_receive_maximum"
            | "bridge_session_expiry_interval"
            | "bridge_psk"
            | "bridge_identity"
            | "bridge_tls_version"
            | "bridge_alpn"
            | "bridge_require_ocsp"
    )
}

/// `connection NAME`: a new bridge, named as robustmq allows (letters, digits, `-`, `_`).
pub fn start(bridges: &mut Vec<Bridge>, d: &Directive, notes: &mut Vec<Note>) {
    let wanted = d.value.as_str();
    let mut name: String = wanted
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        name = "bridge".into();
    }
    let base = name.clone();
    let mut n = 2;
    while bridges.iter().any(|b| b.name == name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    if name != wanted {
        notes.push(Note::on(
            d,
            format!("named {name:?}: a bridge name is letters, digits, '-' and '_', once each"),
        ));
    }
    bridges.push(Bridge {
        origin: Origin::of(d),
        name,
        protocol: 4,
        ..Bridge::default()
    });
}

/// A setting of the last bridge.
pub fn apply(bridges: &mut [Bridge], d: &Directive, base: &Path, notes: &mut Vec<Note>) {
    let Some(bridge) = bridges.last_mut() else {
        return;
    };
    let value = d.value.as_str();
    let mut note = |why: String| notes.push(Note::on(d, why));
    let path = |value: &str| {
        let path = PathBuf::from(value);
        if path.is_relative() {
            base.join(path)
        } else {
            path
        }
    };
    match d.key.as_str() {
        "address" | "addresses" => {
            let words = d.words();
            match words.first() {
                None => note("no address given".into()),
                Some(_) if bridge.address.is_some() => {
                    note("a bridge connects to one address: the first one is used".into())
                }
                Some(first) => {
                    if words.len() > 1 {
                        note(format!(
                            "a bridge connects to one address: {first} is used, {} left out",
                            words[1..].join(" ")
                        ));
                    }
                    bridge.address = Some(((*first).to_owned(), Origin::of(d)));
                }
            }
        }
        "topic" => match topic(value) {
            Ok(rule) => bridge.topics.push(rule),
            Err(why) => note(why.to_string()),
        },
        "bridge_protocol_version" => match value {
            "mqttv50" => bridge.protocol = 5,
            "mqttv311" => bridge.protocol = 4,
            "mqttv31" => {
                bridge.protocol = 4;
                note("MQTT 3.1 is not spoken by robustmq's bridges: 3.1.1 is used".into());
            }
            _ => note(format!("{value:?} is not mqttv50, mqttv311 or mqttv31")),
        },
        "remote_clientid" | "clientid" => bridge.client_id = Some(value.to_owned()),
        "remote_username" | "username" => bridge.username = Some(value.to_owned()),
        "remote_password" | "password" => bridge.password = Some(value.to_owned()),
        "cleansession" => match value {
            "true" => bridge.clean_start = Some(true),
            "false" => bridge.clean_start = Some(false),
            _ => note(format!("{value:?} is not true or false")),
        },
        "keepalive_interval" => match value.parse::<u16>() {
            Ok(n) => bridge.keepalive = Some(n.into()),
            Err(_) => note(format!("{value:?} is not a number of seconds up to 65535")),
        },
        "bridge_cafile" => {
            bridge.cafile = Some(path(value));
            bridge.tls = true;
        }
        "bridge_capath" => {
            bridge.tls = true;
            note(
                "a directory of CA files is not supported: the remote's certificate is \
                 checked against the system's CAs (or set cafile)"
                    .into(),
            );
        }
        "bridge_certfile" => {
            bridge.cert = Some(path(value));
            bridge.tls = true;
        }
        "bridge_keyfile" => bridge.key = Some(path(value)),
        "bridge_insecure" => match value {
            "true" => bridge.insecure = true,
            "false" => bridge.insecure = false,
            _ => note(format!("{value:?} is not true or false")),
        },
        "try_private" => {
            if value == "false" {
                note(
                    "robustmq's 3.1.1 bridges always try it (and v5 bridges use no-local); it \
                     cannot be turned off"
                        .into(),
                );
            }
        }
        key => note(keys::no_equivalent(key).into()),
    }
}

/// Why a `topic` line has no robustmq rule; the message becomes the line's note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Nothing after `topic`.
    #[error("no topic pattern")]
    NoPattern,
    /// A direction word (held here) other than out, in or both.
    #[error("{0:?} is not out, in or both")]
    Direction(String),
    /// A QoS word (held here) other than 0, 1 or 2.
    #[error("QoS {0:?} is not 0, 1 or 2")]
    Qos(String),
    /// More than five words.
    #[error("more words than pattern, direction, QoS and two prefixes")]
    TooManyWords,
    /// A prefix (held here) with `+` or `#`.
    #[error("prefix {0:?}: a prefix has no wildcards")]
    WildcardPrefix(String),
    /// A pattern (held here) that is not a valid topic filter.
    #[error("{0:?} is not a valid topic filter")]
    Filter(String),
    /// An empty pattern whose local and remote topics share no last levels to make a filter.
    #[error(
        "an empty pattern mapping {local:?} to {remote:?} has no equivalent: a rule's local and \
         remote topics end in the same filter"
    )]
    NoCommonFilter {
        /// LOCAL_PREFIX.
        local: String,
        /// REMOTE_PREFIX.
        remote: String,
    },
}

/// One `topic PATTERN [out|in|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]` line. Mosquitto's
/// local topic is LOCAL_PREFIX + PATTERN, the remote one REMOTE_PREFIX + PATTERN: the same
/// split as robustmq's rules. `""` stands for an empty word.
pub fn topic(value: &str) -> Result<Topic, TopicError> {
    let words: Vec<&str> = value
        .split_whitespace()
        .map(|w| if w == "\"\"" { "" } else { w })
        .collect();
    let Some(&pattern) = words.first() else {
        return Err(TopicError::NoPattern);
    };
    let direction = match words.get(1).copied() {
        None | Some("out") => "out",
        Some("in") => "in",
        Some("both") => "both",
        Some(other) => return Err(TopicError::Direction(other.to_owned())),
    };
    let qos = match words.get(2).copied() {
        // Mosquitto's default QoS for a bridge topic.
        None => 0,
        Some(q @ ("0" | "1" | "2")) => q.parse().unwrap_or(0),
        Some(other) => return Err(TopicError::Qos(other.to_owned())),
    };
    let local = words.get(3).copied().unwrap_or("");
    let remote = words.get(4).copied().unwrap_or("");
    if words.len() > 5 {
        return Err(TopicError::TooManyWords);
    }
    for prefix in [local, remote] {
        if prefix.contains(['+', '#']) {
            return Err(TopicError::WildcardPrefix(prefix.to_owned()));
        }
    }
    if pattern.is_empty() {
        return single_topic(direction, qos, local, remote);
    }
    let levels: Vec<&str> = pattern.split('/').collect();
    let bad = levels.iter().enumerate().any(|(i, level)| {
        (level.contains('#') && (*level != "#" || i + 1 != levels.len()))
            || (level.contains('+') && *level != "+")
    });
    if bad {
        return Err(TopicError::Filter(pattern.to_owned()));
    }
    Ok(Topic {
        filter: pattern.to_owned(),
        direction,
        qos,
        local_prefix: local.to_owned(),
        remote_prefix: remote.to_owned(),
    })
}

/// An empty pattern maps one topic to another (LOCAL_PREFIX here, REMOTE_PREFIX there).
/// robustmq's rules always have a filter; the common trailing levels of both topics become it.
fn single_topic(direction: &'static str, qos: u8, local: &str, remote: &str) -> Result<Topic, TopicError> {
    let local_levels: Vec<&str> = local.split('/').collect();
    let remote_levels: Vec<&str> = remote.split('/').collect();
    let common = local_levels
        .iter()
        .rev()
        .zip(remote_levels.iter().rev())
        .take_while(|(a, b)| a == b && !a.is_empty())
        .count();
    // At least one level of each side must stay outside the filter for a prefix to end in
    // '/'; a topic equal on both sides needs no prefix at all.
    if local == remote && !local.is_empty() {
        return Ok(Topic {
            filter: local.to_owned(),
            direction,
            qos,
            local_prefix: String::new(),
            remote_prefix: String::new(),
        });
    }
    if common == 0 || common == local_levels.len() || common == remote_levels.len() {
        return Err(TopicError::NoCommonFilter {
            local: local.to_owned(),
            remote: remote.to_owned(),
        });
    }
    let split = |levels: &[&str]| -> (String, String) {
        let cut = levels.len() - common;
        (format!("{}/", levels[..cut].join("/")), levels[cut..].join("/"))
    };
    let (local_prefix, filter) = split(&local_levels);
    let (remote_prefix, _) = split(&remote_levels);
    Ok(Topic {
        filter,
        direction,
        qos,
        local_prefix,
        remote_prefix,
    })
}

/// Why a `connection` section is not carried over; the message becomes its note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LeftOut {
    /// No `address` line.
    #[error("no address: the bridge is left out")]
    NoAddress,
    /// No `topic` line became a rule.
    #[error("no topic carried over: the bridge is left out")]
    NoTopics,
    /// A TLS bridge with a certificate and no key, or a key and no certificate.
    #[error("bridge_certfile and bridge_keyfile go together: the bridge is left out")]
    CertWithoutKey,
}

/// The `remote` URL of a finished bridge, or why the bridge cannot be carried over.
pub fn remote(bridge: &Bridge) -> Result<String, LeftOut> {
    let Some((address, _)) = &bridge.address else {
        return Err(LeftOut::NoAddress);
    };
    if bridge.topics.is_empty() {
        return Err(LeftOut::NoTopics);
    }
    if bridge.tls && bridge.cert.is_some() != bridge.key.is_some() {
        return Err(LeftOut::CertWithoutKey);
    }
    let scheme = if bridge.tls { "mqtts" } else { "mqtt" };
    // Mosquitto writes host[:port], 1883 by default even over TLS (robustmq's mqtts://
    // default is 8883), so the port is always written; an IPv6 address alone has colons too.
    let host_port = if address.starts_with('[') {
        if address.contains("]:") {
            address.clone()
        } else {
            format!("{address}:1883")
        }
    } else if address.matches(':').count() > 1 {
        format!("[{address}]:1883")
    } else if address.contains(':') {
        address.clone()
    } else {
        format!("{address}:1883")
    };
    Ok(format!("{scheme}://{host_port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_lines_keep_mosquitto_defaults_and_prefixes() {
        let t = topic("sensors/# both 2 local/ remote/").unwrap();
        assert_eq!((t.filter.as_str(), t.direction, t.qos), ("sensors/#", "both", 2));
        assert_eq!(
            (t.local_prefix.as_str(), t.remote_prefix.as_str()),
            ("local/", "remote/")
        );
        let t = topic("#").unwrap();
        assert_eq!((t.direction, t.qos), ("out", 0));
        let t = topic("a/# in 1 \"\" site1/").unwrap();
        assert_eq!(
            (t.local_prefix.as_str(), t.remote_prefix.as_str()),
            ("", "site1/")
        );
        assert!(topic("x sideways").is_err());
        assert!(topic("x out 3").is_err());
    }

    #[test]
    fn an_empty_pattern_becomes_the_common_last_levels() {
        let t = topic("\"\" out 1 here/temp there/temp").unwrap();
        assert_eq!(
            (
                t.filter.as_str(),
                t.local_prefix.as_str(),
                t.remote_prefix.as_str()
            ),
            ("temp", "here/", "there/")
        );
        assert!(topic("\"\" out 1 a/b c/d").is_err());
    }

    #[test]
    fn remotes_are_urls_and_tls_follows_the_ca_file() {
        let mut b = Bridge {
            address: Some(("broker.example:8883".into(), Origin::default())),
            tls: true,
            ..Bridge::default()
        };
        assert!(remote(&b).is_err(), "no topics");
        b.topics.push(topic("#").unwrap());
        assert_eq!(remote(&b).unwrap(), "mqtts://broker.example:8883");
        b.address = Some(("::1".into(), Origin::default()));
        b.tls = false;
        assert_eq!(remote(&b).unwrap(), "mqtt://[::1]:1883");
        b.address = Some(("tls.example".into(), Origin::default()));
        b.tls = true;
        assert_eq!(remote(&b).unwrap(), "mqtts://tls.example:1883");
    }
}
