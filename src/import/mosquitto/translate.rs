//! Mosquitto directives → a [`Draft`] of robustmq settings, with a note for every line that
//! does not carry over as it is.

use std::path::{Path, PathBuf};

use super::bridge;
use super::keys;
use super::model::{Draft, Listener, Note, Origin};
use super::parse::Directive;

/// MQTT's largest packet (remaining length 268,435,455 plus the fixed header's 5 bytes is
/// more than robustmq takes; it takes this many).
const MQTT_MAX_PACKET_SIZE: u64 = 268_435_455;

/// What a payload limit (`message_size_limit`) leaves for the rest of a PUBLISH: the topic
/// (robustmq's default `max_topic_length` is 1024 bytes) and the headers and properties.
const PUBLISH_OVERHEAD: u64 = 2048;

/// The translation state while the lines are read in order.
struct Reader {
    /// Where relative paths are taken from.
    base: PathBuf,
    per_listener: bool,
    draft: Draft,
    notes: Vec<Note>,
    /// The settings given before any `listener` line: Mosquitto's default listener.
    default_listener: Listener,
    default_listener_used: bool,
    allow_anonymous: Option<bool>,
    /// `password_file`/`acl_file` lines, several only with `per_listener_settings`.
    password_files: Vec<(PathBuf, Origin)>,
    acl_files: Vec<(PathBuf, Origin)>,
    persistence: Option<(bool, Origin)>,
    persistence_location: Option<(PathBuf, Origin)>,
    message_size_limit: Option<(u64, Origin)>,
}

/// Translates `directives` (of the file `config`, whose directory relative paths are taken
/// from). The notes come in line order.
pub fn translate(config: &Path, directives: &[Directive]) -> (Draft, Vec<Note>) {
    let base = config.parent().map(Path::to_path_buf).unwrap_or_default();
    let base = std::path::absolute(&base).unwrap_or(base);
    let per_listener = directives
        .iter()
        .rev()
        .find(|d| d.key == "per_listener_settings")
        .is_some_and(|d| d.value == "true");
    let mut reader = Reader {
        base,
        per_listener,
        draft: Draft::default(),
        notes: Vec::new(),
        default_listener: Listener {
            port: 1883,
            ..Listener::default()
        },
        default_listener_used: false,
        allow_anonymous: None,
        password_files: Vec::new(),
        acl_files: Vec::new(),
        persistence: None,
        persistence_location: None,
        message_size_limit: None,
    };
    for directive in directives {
        reader.directive(directive);
    }
    reader.finish()
}

impl Reader {
    fn note(&mut self, directive: &Directive, why: impl Into<String>) {
        self.notes.push(Note::on(directive, why));
    }

    fn path(&self, value: &str) -> PathBuf {
        let path = PathBuf::from(value);
        if path.is_relative() {
            self.base.join(path)
        } else {
            path
        }
    }

    /// The listener that listener options apply to now.
    fn listener(&mut self, directive: &Directive) -> &mut Listener {
        if self.draft.listeners.is_empty() {
            if !self.default_listener_used {
                self.default_listener_used = true;
                self.default_listener.origin = Origin::of(directive);
            }
            &mut self.default_listener
        } else {
            let last = self.draft.listeners.len() - 1;
            &mut self.draft.listeners[last]
        }
    }

    fn directive(&mut self, d: &Directive) {
        if d.value.is_empty() && keys::is_known(&d.key) {
            // Mosquitto refuses to start on these; an example file uncommented has them.
            self.note(d, "no value given");
            return;
        }
        // As in Mosquitto, a bridge setting goes to the last `connection` and a listener
        // setting to the last `listener`, whichever of the two sections came last.
        if bridge::is_bridge_key(&d.key) {
            if !self.draft.bridges.is_empty() {
                bridge::apply(&mut self.draft.bridges, d, &self.base, &mut self.notes);
            } else {
                self.note(d, "a bridge setting outside a `connection` section");
            }
            return;
        }
        let value = d.value.as_str();
        match d.key.as_str() {
            "connection" => bridge::start(&mut self.draft.bridges, d, &mut self.notes),
            "per_listener_settings" => {
                if value == "true" {
                    self.note(
                        d,
                        "robustmq has one password file and one ACL file for all listeners; \
                         allow_anonymous stays per listener",
                    );
                }
            }
            "listener" => self.start_listener(d),
            "port" => match parse_port(value) {
                Some(port) => self.listener(d).port = port,
                None => self.note(d, format!("{value:?} is not a port")),
            },
            "bind_address" => {
                if self.draft.listeners.is_empty() {
                    self.listener(d).address = Some(value.to_owned());
                } else {
                    self.note(d, "applies only to the default listener; a `listener` came first");
                }
            }
            "socket_domain" => match value {
                "ipv4" => self.listener(d).ipv6 = Some(false),
                "ipv6" => self.listener(d).ipv6 = Some(true),
                _ => self.note(d, format!("{value:?} is not ipv4 or ipv6")),
            },
            "protocol" => match value {
                "mqtt" => self.listener(d).websockets = false,
                "websockets" => {
                    self.listener(d).websockets = true;
                    self.note(
                        d,
                        "carried over; robustmq serves WebSocket clients on the URL path \
                         /mqtt only, Mosquitto on any path",
                    );
                }
                _ => self.note(d, format!("{value:?} is not mqtt or websockets")),
            },
            "certfile" => {
                let path = self.path(value);
                self.listener(d).certfile = Some(path);
            }
            "keyfile" => {
                let path = self.path(value);
                self.listener(d).keyfile = Some(path);
            }
            "cafile" => {
                let path = self.path(value);
                self.listener(d).cafile = Some(path);
            }
            "require_certificate" => match parse_bool(value) {
                Some(b) => self.listener(d).require_certificate = b,
                None => self.note(d, format!("{value:?} is not true or false")),
            },
            "use_identity_as_username" => match parse_bool(value) {
                Some(b) => self.listener(d).use_identity_as_username = b,
                None => self.note(d, format!("{value:?} is not true or false")),
            },
            "allow_anonymous" => match parse_bool(value) {
                Some(b) if self.per_listener => self.listener(d).allow_anonymous = Some(b),
                Some(b) => self.allow_anonymous = Some(b),
                None => self.note(d, format!("{value:?} is not true or false")),
            },
            "password_file" => {
                let path = self.path(value);
                self.password_files.push((path, Origin::of(d)));
            }
            "acl_file" => {
                let path = self.path(value);
                self.acl_files.push((path, Origin::of(d)));
            }
            "max_connections" => self.max_connections(d),
            "max_inflight_messages" => match value.parse::<u64>() {
                // 0 is Mosquitto's "no limit"; robustmq's largest is what v5 can announce.
                Ok(0) => self.draft.limits.max_inflight = Some(u16::MAX),
                Ok(n) => self.draft.limits.max_inflight = Some(n.min(u16::MAX.into()) as u16),
                Err(_) => self.note(d, format!("{value:?} is not a number")),
            },
            "max_queued_messages" => match value.parse::<u64>() {
                Ok(0) => self.note(
                    d,
                    "0 (no limit) has no equivalent: robustmq bounds every queue; \
                     limits.max_queued_messages keeps its default (10000)",
                ),
                Ok(n) => self.draft.limits.max_queued_messages = Some(n as usize),
                Err(_) => self.note(d, format!("{value:?} is not a number")),
            },
            "max_queued_bytes" => match value.parse::<u64>() {
                Ok(0) => self.note(
                    d,
                    "0 (no limit) has no equivalent: robustmq bounds every queue; \
                     limits.max_queued_bytes keeps its default (64MiB)",
                ),
                Ok(n) => self.draft.limits.max_queued_bytes = Some(n),
                Err(_) => self.note(d, format!("{value:?} is not a number")),
            },
            "max_packet_size" => match value.parse::<u64>() {
                Ok(0) => {}
                Ok(n) if n > MQTT_MAX_PACKET_SIZE => {
                    self.draft.limits.max_packet_size = Some(MQTT_MAX_PACKET_SIZE as u32);
                }
                Ok(n) if n < 16 => self.note(d, "robustmq's smallest max_packet_size is 16"),
                Ok(n) => self.draft.limits.max_packet_size = Some(n as u32),
                Err(_) => self.note(d, format!("{value:?} is not a number")),
            },
            "message_size_limit" => match value.parse::<u64>() {
                Ok(0) => {}
                Ok(n) => self.message_size_limit = Some((n, Origin::of(d))),
                Err(_) => self.note(d, format!("{value:?} is not a number")),
            },
            "max_keepalive" => match value.parse::<u16>() {
                Ok(0) => self.note(d, "0 has no equivalent: robustmq's max_keepalive is 1 to 65535"),
                Ok(n) => self.draft.limits.max_keepalive = Some(n),
                Err(_) => self.note(d, format!("{value:?} is not a number from 0 to 65535")),
            },
            "memory_limit" => match value.parse::<u64>() {
                Ok(0) => {}
                Ok(n) => self.draft.limits.max_memory = Some(n),
                Err(_) => self.note(d, format!("{value:?} is not a number")),
            },
            "persistence" => match parse_bool(value) {
                Some(b) => self.persistence = Some((b, Origin::of(d))),
                None => self.note(d, format!("{value:?} is not true or false")),
            },
            "persistence_location" => {
                let path = self.path(value);
                self.persistence_location = Some((path, Origin::of(d)));
            }
            "sys_interval" => match value.parse::<u64>() {
                Ok(0) => self.note(
                    d,
                    "$SYS cannot be turned off in robustmq; server.sys_interval keeps its \
                     default (10s)",
                ),
                Ok(n) => self.draft.sys_interval = Some(n),
                Err(_) => self.note(d, format!("{value:?} is not a number of seconds")),
            },
            key if keys::is_known(key) => self.note(d, keys::no_equivalent(key)),
            _ => self.note(d, "not a Mosquitto setting robustmq knows"),
        }
    }

    fn start_listener(&mut self, d: &Directive) {
        let words = d.words();
        let Some(port) = words.first().and_then(|p| parse_port(p)) else {
            self.note(d, format!("{:?} does not start with a port", d.value));
            return;
        };
        if self.draft.listeners.is_empty() && self.default_listener_used {
            let default = std::mem::take(&mut self.default_listener);
            self.draft.listeners.push(default);
        }
        self.draft.listeners.push(Listener {
            origin: Origin::of(d),
            port,
            address: words.get(1).map(|a| (*a).to_owned()),
            ..Listener::default()
        });
    }

    fn max_connections(&mut self, d: &Directive) {
        let value = d.value.as_str();
        let Ok(n) = value.parse::<i64>() else {
            self.note(d, format!("{value:?} is not a number"));
            return;
        };
        // Before any `listener`, the whole broker's bound; after one, that listener's (in
        // Mosquitto it is always per listener, but with one listener the two are the same).
        let limit = usize::try_from(n).ok().filter(|n| *n > 0);
        if self.draft.listeners.is_empty() {
            match limit {
                Some(n) => self.draft.limits.max_connections = Some(n),
                None => self.note(
                    d,
                    "no limit has no equivalent: limits.max_connections keeps its default (50000)",
                ),
            }
        } else {
            self.listener(d).max_connections = limit;
        }
    }

    fn finish(mut self) -> (Draft, Vec<Note>) {
        if self.draft.listeners.is_empty() && self.default_listener_used {
            let default = std::mem::take(&mut self.default_listener);
            self.draft.listeners.push(default);
        }
        // Mosquitto 2.0 refuses anonymous clients unless told otherwise once a listener is
        // configured; robustmq's unset value would let them in on loopback, so say it.
        let global_anonymous = self.allow_anonymous;
        for listener in &mut self.draft.listeners {
            if listener.allow_anonymous.is_none() {
                listener.allow_anonymous = Some(global_anonymous.unwrap_or(false));
            }
        }
        if self.draft.listeners.is_empty() {
            if let Some(anonymous) = global_anonymous {
                // Mosquitto's local-only mode, with the one setting it was given.
                self.draft.listeners.push(Listener {
                    port: 1883,
                    address: Some("127.0.0.1".into()),
                    allow_anonymous: Some(anonymous),
                    ..Listener::default()
                });
            }
        }
        self.draft.password_file = self.one_file("password_file", self.password_files.clone());
        self.draft.acl_file = self.one_file("acl_file", self.acl_files.clone());
        self.persistence();
        self.packet_size();
        self.notes
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        (self.draft, self.notes)
    }

    /// robustmq has one file of each kind; with `per_listener_settings`, Mosquitto may have
    /// had one per listener.
    fn one_file(&mut self, what: &str, files: Vec<(PathBuf, Origin)>) -> Option<PathBuf> {
        if !self.per_listener {
            // Without per_listener_settings, Mosquitto takes the last line.
            let (last, last_origin) = files.last()?.clone();
            for (path, origin) in &files[..files.len() - 1] {
                if *path != last {
                    self.notes.push(origin.note(format!(
                        "replaced by the {what} on line {}, as in Mosquitto",
                        last_origin.line
                    )));
                }
            }
            return Some(last);
        }
        let (first, first_origin) = files.first()?.clone();
        for (other, origin) in &files[1..] {
            if *other != first {
                self.notes.push(origin.note(format!(
                    "robustmq has one {what} for all listeners: the one on line {} is used",
                    first_origin.line
                )));
            }
        }
        Some(first)
    }

    fn persistence(&mut self) {
        let location = self.persistence_location.take();
        match (self.persistence.take(), location) {
            (Some((true, _)), Some((dir, origin))) => {
                // The Mosquitto directory holds mosquitto.db, and robustmq starts a store
                // only in an empty directory (or its own).
                let data_dir = dir.join("robustmq");
                self.notes.push(origin.note(format!(
                    "server.data_dir = {}: robustmq needs a directory of its own; the \
                     Mosquitto database is not imported (a different format), so retained \
                     messages and sessions start empty",
                    data_dir.display()
                )));
                self.draft.data_dir = Some(data_dir);
            }
            (Some((true, origin)), None) => self.notes.push(origin.note(
                "carried over: robustmq always stores sessions and retained messages, in its \
                 default data directory (or --data-dir); the Mosquitto database is not \
                 imported",
            )),
            (Some((false, origin)), location) => {
                self.notes.push(origin.note(
                    "robustmq always stores sessions and retained messages, in its default \
                     data directory (or --data-dir)",
                ));
                if let Some((_, origin)) = location {
                    self.notes
                        .push(origin.note("not used: persistence is false in Mosquitto"));
                }
            }
            (None, Some((_, origin))) => {
                self.notes
                    .push(origin.note("not used: persistence is off in Mosquitto (the default)"));
            }
            (None, None) => {}
        }
    }

    /// `message_size_limit` bounds the payload, robustmq bounds the packet; and the queue
    /// and memory bounds must hold one packet of the largest size.
    fn packet_size(&mut self) {
        if let Some((limit, origin)) = self.message_size_limit.take() {
            if self.draft.limits.max_packet_size.is_some() {
                self.notes
                    .push(origin.note("max_packet_size is set too and is used instead"));
            } else {
                let size = (limit + PUBLISH_OVERHEAD).min(MQTT_MAX_PACKET_SIZE);
                self.draft.limits.max_packet_size = Some(size as u32);
                self.notes.push(origin.note(format!(
                    "a payload limit; robustmq limits whole packets: limits.max_packet_size = \
                     {size} (the payload plus {PUBLISH_OVERHEAD} bytes for topic and headers)"
                )));
            }
        }
        let Some(packet) = self.draft.limits.max_packet_size.map(u64::from) else {
            return;
        };
        let queued = self.draft.limits.max_queued_bytes.unwrap_or(64 << 20);
        if queued < packet {
            self.draft.limits.max_queued_bytes = Some(packet);
        }
        let memory = self.draft.limits.max_memory.unwrap_or(256 << 20);
        if memory < packet {
            self.draft.limits.max_memory = Some(packet);
        }
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parse_port(value: &str) -> Option<u16> {
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Draft, Vec<Note>) {
        let file = Path::new("/etc/mosquitto/mosquitto.conf");
        let directives: Vec<Directive> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let (key, value) = l.trim().split_once(' ').unwrap_or((l.trim(), ""));
                Directive {
                    file: file.to_owned(),
                    line: i + 1,
                    key: key.into(),
                    value: value.trim().into(),
                }
            })
            .collect();
        translate(file, &directives)
    }

    #[test]
    fn listener_options_apply_to_the_listener_above_them() {
        let (draft, notes) = run(
            "allow_anonymous true\nlistener 1883\nlistener 8883 10.0.0.1\ncertfile s.crt\n\
             keyfile /k/s.key\nmax_connections 10",
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(draft.listeners.len(), 2);
        assert_eq!(draft.listeners[0].certfile, None);
        assert_eq!(draft.listeners[0].allow_anonymous, Some(true));
        let tls = &draft.listeners[1];
        assert_eq!(tls.address.as_deref(), Some("10.0.0.1"));
        assert_eq!(tls.certfile.as_deref(), Some(Path::new("/etc/mosquitto/s.crt")));
        assert_eq!(tls.max_connections, Some(10));
    }

    #[test]
    fn port_before_listeners_makes_the_default_listener_first() {
        let (draft, _) = run("port 1884\nlistener 9001\nprotocol websockets");
        let ports: Vec<u16> = draft.listeners.iter().map(|l| l.port).collect();
        assert_eq!(ports, [1884, 9001]);
        assert!(draft.listeners[1].websockets);
        assert_eq!(draft.listeners[0].allow_anonymous, Some(false));
    }

    #[test]
    fn limits_are_carried_and_zero_means_no_limit() {
        let (draft, notes) = run(
            "max_inflight_messages 0\nmax_queued_messages 0\nmax_queued_bytes 1000\n\
             message_size_limit 100000000\nmax_keepalive 300",
        );
        assert_eq!(draft.limits.max_inflight, Some(u16::MAX));
        assert_eq!(draft.limits.max_queued_messages, None);
        assert_eq!(draft.limits.max_packet_size, Some(100_002_048));
        assert_eq!(draft.limits.max_queued_bytes, Some(100_002_048));
        assert_eq!(draft.limits.max_memory, None);
        assert_eq!(draft.limits.max_keepalive, Some(300));
        let lines: Vec<usize> = notes.iter().map(|n| n.line).collect();
        assert_eq!(lines, [2, 4]);
    }

    #[test]
    fn persistence_location_gets_a_directory_of_our_own() {
        let (draft, notes) = run("persistence true\npersistence_location /var/lib/mosquitto/");
        assert_eq!(
            draft.data_dir.as_deref(),
            Some(Path::new("/var/lib/mosquitto/robustmq"))
        );
        assert!(notes[0].why.contains("not imported"), "{notes:?}");
    }

    #[test]
    fn settings_without_an_equivalent_say_why() {
        let (_, notes) = run("log_dest syslog\nmount_point x/\nfoo bar");
        assert_eq!(notes.len(), 3);
        assert!(notes[0].why.contains("--log-level"));
        assert!(notes[2].why.contains("not a Mosquitto setting"));
    }

    #[test]
    fn per_listener_auth_files_collapse_to_the_first_with_a_note() {
        let (draft, notes) = run(
            "per_listener_settings true\nlistener 1883\npassword_file a\nallow_anonymous true\n\
             listener 1884\npassword_file b",
        );
        assert_eq!(
            draft.password_file.as_deref(),
            Some(Path::new("/etc/mosquitto/a"))
        );
        assert_eq!(draft.listeners[0].allow_anonymous, Some(true));
        assert_eq!(draft.listeners[1].allow_anonymous, Some(false));
        let lines: Vec<usize> = notes.iter().map(|n| n.line).collect();
        assert_eq!(lines, [1, 6]);
        // Without per_listener_settings, the last line wins, as in Mosquitto.
        let (draft, notes) = run("password_file a\npassword_file b");
        assert_eq!(
            draft.password_file.as_deref(),
            Some(Path::new("/etc/mosquitto/b"))
        );
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn sections_interleave_as_in_mosquitto() {
        let (draft, notes) = run(
            "topic early/#\nlistener 8883\nconnection up\naddress h:1883\ncertfile s.crt\n\
             keyfile s.key\ntopic a/# in",
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].why.contains("outside a `connection`"));
        assert!(
            draft.listeners[0].certfile.is_some(),
            "listener options after a connection"
        );
        assert_eq!(draft.bridges[0].topics.len(), 1);
        assert_eq!(draft.bridges[0].topics[0].direction, "in");
    }
}
