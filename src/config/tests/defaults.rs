//! Embedded defaults, DEFAULT_CONFIG, and a file that sets every key.

use std::path::PathBuf;
use std::time::Duration;

use super::*;

#[test]
fn defaults_are_the_documented_ones() {
    let settings = Settings::default();
    assert_eq!(settings.server.data_dir, default_data_dir());
    assert_eq!(settings.server.sys_interval, Duration::from_secs(10));
    assert_eq!(
        settings.listeners,
        vec![ListenerSettings {
            bind: Some(addr("127.0.0.1:1883")),
            protocol: ListenerProtocol::Mqtt,
            allow_anonymous: None,
            path: None,
            cert: None,
            key: None,
            client_ca: None,
            require_certificate: false,
            use_identity_as_username: false,
            max_connections: None,
        }]
    );
    assert_eq!(settings.auth, AuthSettings::default());
    assert_eq!(settings.auth.password_file, None);
    assert_eq!(settings.auth.acl_file, None);
    let limits = &settings.limits;
    assert_eq!(limits.max_connections, 50_000);
    assert_eq!(
        limits.max_connections_per_second, 0,
        "no connection rate limit by default"
    );
    assert_eq!(limits.max_packet_size, 1_048_576);
    assert_eq!(limits.max_inflight, 100);
    assert_eq!(limits.max_queued_messages, 10_000);
    assert_eq!(limits.max_queued_bytes, 64 * 1_048_576);
    assert_eq!(limits.min_keepalive, 0);
    assert_eq!(limits.max_keepalive, 65_535);
    assert_eq!(limits.connect_timeout, Duration::from_secs(10));
    assert_eq!(limits.topic_alias_maximum, 65_535);
    assert_eq!(limits.max_topic_length, 1024);
    assert_eq!(limits.max_topic_levels, 32);
    assert_eq!(limits.max_subscriptions_per_client, 10_000);
    assert_eq!(limits.max_publish_rate, 0, "no publish rate limit by default");
    assert_eq!(limits.max_publish_bytes_rate, 0);
    assert_eq!(limits.publish_rate_action, PublishRateAction::Drop);
    assert_eq!(settings.store.durability, Durability::Immediate);
    assert_eq!(settings.store.commit_interval, Duration::from_millis(100));
    assert_eq!(settings.metrics.listen, None);
    settings.validate().unwrap();
}

#[test]
fn default_data_dir_is_named_after_the_broker() {
    let dir = default_data_dir();
    let name = dir.file_name().unwrap().to_str().unwrap();
    assert!(name == "robustmq" || name == "robustmq-data", "{dir:?}");
}

#[test]
fn empty_file_gives_the_defaults() {
    assert_eq!(parse(""), Settings::default());
    assert_eq!(parse("# nothing but a comment\n"), Settings::default());
    assert_eq!(
        parse("[server]\n[auth]\n[limits]\n[store]\n[metrics]\n"),
        Settings::default()
    );
}

#[test]
fn listener_default_is_plain_mqtt_without_address() {
    let listener = ListenerSettings::default();
    assert_eq!(listener.bind, None);
    assert_eq!(listener.protocol, ListenerProtocol::Mqtt);
}

// ---- DEFAULT_CONFIG -----------------------------------------------------------------------

#[test]
fn default_config_parses_to_the_defaults() {
    assert_eq!(parse(DEFAULT_CONFIG), Settings::default());
}

/// Every key of every table, as written in the file.
const ALL_KEYS: &[&str] = &[
    "data_dir",
    "sys_interval",
    "log_level",
    "bind",
    "protocol",
    "allow_anonymous",
    "path",
    "cert",
    "key",
    "client_ca",
    "require_certificate",
    "use_identity_as_username",
    "max_connections",
    "password_file",
    "acl_file",
    "max_connections_per_second",
    "max_packet_size",
    "max_inflight",
    "max_queued_messages",
    "max_queued_bytes",
    "stalled_after",
    "max_memory",
    "min_keepalive",
    "max_keepalive",
    "connect_timeout",
    "topic_alias_maximum",
    "max_topic_length",
    "max_topic_levels",
    "max_subscriptions_per_client",
    "max_publish_rate",
    "max_publish_bytes_rate",
    "publish_rate_action",
    "durability",
    "commit_interval",
    "max_store_bytes",
    "reserve",
    "listen",
];

#[test]
fn default_config_lists_every_key_with_a_comment() {
    for table in [
        "[server]",
        "[[listeners]]",
        "[auth]",
        "[limits]",
        "[store]",
        "[metrics]",
    ] {
        assert!(DEFAULT_CONFIG.contains(table), "{table} missing");
    }
    let lines: Vec<&str> = DEFAULT_CONFIG.lines().collect();
    for key in ALL_KEYS {
        let position = lines
            .iter()
            .position(|line| {
                let line = line.trim_start_matches('#').trim_start();
                line.starts_with(&format!("{key} ="))
            })
            .unwrap_or_else(|| panic!("DEFAULT_CONFIG does not list `{key}`"));
        // Prose explains the setting, right above it or above the group it belongs to
        // (`cert` and `key` share one comment).
        let is_setting = |line: &str| line.trim_start_matches("# ").contains(" = ");
        let above = lines[..position].iter().rev().find(|line| !is_setting(line));
        assert!(
            above.is_some_and(|line| line.starts_with("# ") && line.len() > 10),
            "`{key}` has no comment above it"
        );
    }
}

/// Guards ALL_KEYS against new fields: a file setting every listed key must set every field
/// (compared against a struct literal, which stops compiling when a field is added).
#[test]
fn every_key_is_parsed() {
    let text = r#"
        [server]
        data_dir = "/var/lib/robustmq"
        sys_interval = "30s"
        log_level = "warn,robustmq=debug"

        [[listeners]]
        bind = "0.0.0.0:8883"
        protocol = "mqtts"
        allow_anonymous = false
        cert = "server.crt"
        key = "server.key"
        client_ca = "ca.crt"
        require_certificate = true
        use_identity_as_username = true

        [[listeners]]
        bind = "[::1]:8080"
        protocol = "ws"
        path = "/ws"
        max_connections = 50

        [[listeners]]
        protocol = "unix"
        path = "/run/robustmq.sock"
        allow_anonymous = true

        [auth]
        password_file = "/etc/robustmq/passwd"
        acl_file = "/etc/robustmq/acl"

        [limits]
        max_connections = 5
        max_connections_per_second = 40
        max_packet_size = "512KiB"
        max_inflight = 20
        max_queued_messages = 30
        max_queued_bytes = "2MiB"
        stalled_after = "5s"
        max_memory = "25%"
        min_keepalive = 30
        max_keepalive = 600
        connect_timeout = "3s"
        topic_alias_maximum = 0
        max_topic_length = 256
        max_topic_levels = 8
        max_subscriptions_per_client = 50
        max_publish_rate = 100
        max_publish_bytes_rate = "64KiB"
        publish_rate_action = "disconnect"

        [store]
        durability = "periodic"
        commit_interval = "250ms"
        max_store_bytes = "2GiB"
        reserve = "1MiB"

        [metrics]
        listen = "127.0.0.1:9100"
    "#;
    for key in ALL_KEYS {
        assert!(text.contains(&format!("{key} =")), "{key} not set");
    }
    let expected = Settings {
        server: ServerSettings {
            data_dir: PathBuf::from("/var/lib/robustmq"),
            sys_interval: Duration::from_secs(30),
            log_level: "warn,robustmq=debug".to_owned(),
        },
        listeners: vec![
            ListenerSettings {
                bind: Some(addr("0.0.0.0:8883")),
                protocol: ListenerProtocol::Mqtts,
                allow_anonymous: Some(false),
                path: None,
                cert: Some(PathBuf::from("server.crt")),
                key: Some(PathBuf::from("server.key")),
                client_ca: Some(PathBuf::from("ca.crt")),
                require_certificate: true,
                use_identity_as_username: true,
                max_connections: None,
            },
            ListenerSettings {
                bind: Some(addr("[::1]:8080")),
                protocol: ListenerProtocol::Ws,
                path: Some("/ws".to_owned()),
                max_connections: Some(50),
                ..ListenerSettings::default()
            },
            ListenerSettings {
                protocol: ListenerProtocol::Unix,
                path: Some("/run/robustmq.sock".to_owned()),
                allow_anonymous: Some(true),
                ..ListenerSettings::default()
            },
        ],
        auth: AuthSettings {
            password_file: Some(PathBuf::from("/etc/robustmq/passwd")),
            acl_file: Some(PathBuf::from("/etc/robustmq/acl")),
        },
        limits: Limits {
            max_connections: 5,
            max_connections_per_second: 40,
            max_packet_size: 512 * 1024,
            max_inflight: 20,
            max_queued_messages: 30,
            max_queued_bytes: 2 * 1_048_576,
            stalled_after: Duration::from_secs(5),
            max_memory: MemoryLimit::Percent(25),
            min_keepalive: 30,
            max_keepalive: 600,
            connect_timeout: Duration::from_secs(3),
            topic_alias_maximum: 0,
            max_topic_length: 256,
            max_topic_levels: 8,
            max_subscriptions_per_client: 50,
            max_publish_rate: 100,
            max_publish_bytes_rate: 64 * 1024,
            publish_rate_action: PublishRateAction::Disconnect,
        },
        store: StoreSettings {
            durability: Durability::Periodic,
            commit_interval: Duration::from_millis(250),
            max_store_bytes: 2 * 1024 * 1024 * 1024,
            reserve: 1024 * 1024,
        },
        metrics: MetricsSettings {
            listen: Some(addr("127.0.0.1:9100")),
        },
        bridges: Vec::new(),
    };
    assert_eq!(parse(text), expected);
}

#[test]
fn missing_keys_keep_their_defaults() {
    let settings = parse("[limits]\nmax_inflight = 7\n");
    assert_eq!(settings.limits.max_inflight, 7);
    assert_eq!(settings.limits.max_connections, 50_000);
    assert_eq!(settings.listeners, Settings::default().listeners);
}

#[test]
fn listeners_replace_the_default_listener() {
    let settings = parse("[[listeners]]\nbind = \"0.0.0.0:1884\"\n");
    assert_eq!(settings.listeners.len(), 1);
    assert_eq!(settings.listeners[0].bind, Some(addr("0.0.0.0:1884")));
    assert_eq!(settings.listeners[0].protocol, ListenerProtocol::Mqtt);
    assert_eq!(settings.listeners[0].allow_anonymous, None);
}

#[test]
fn every_protocol_is_spelled_in_lowercase() {
    for (name, protocol) in [
        ("mqtt", ListenerProtocol::Mqtt),
        ("mqtts", ListenerProtocol::Mqtts),
        ("ws", ListenerProtocol::Ws),
        ("wss", ListenerProtocol::Wss),
        ("unix", ListenerProtocol::Unix),
    ] {
        let text = match protocol {
            ListenerProtocol::Unix => format!("[[listeners]]\nprotocol = \"{name}\"\npath = \"s\""),
            _ => format!(
                "[[listeners]]\nprotocol = \"{name}\"\nbind = \"127.0.0.1:1\"\ncert = \"c\"\nkey = \"k\""
            ),
        };
        // cert/key are refused on plain protocols; keep them only where they belong.
        let text = if protocol.uses_tls() || protocol == ListenerProtocol::Unix {
            text
        } else {
            text.replace("\ncert = \"c\"\nkey = \"k\"", "")
        };
        assert_eq!(parse(&text).listeners[0].protocol, protocol);
        assert_eq!(protocol.to_string(), name);
    }
    refused(
        "[[listeners]]\nprotocol = \"MQTT\"",
        &["listeners[0].protocol", "MQTT"],
    );
}

#[test]
fn durability_is_spelled_in_lowercase() {
    let settings = parse("[store]\ndurability = \"periodic\"");
    assert_eq!(settings.store.durability, Durability::Periodic);
    assert_eq!(Durability::Periodic.to_string(), "periodic");
    assert_eq!(Durability::Immediate.to_string(), "immediate");
    refused(
        "[store]\ndurability = \"sometimes\"",
        &["store.durability", "sometimes", "immediate", "periodic"],
    );
}

#[test]
fn ipv6_and_wildcard_addresses_are_accepted() {
    let settings = parse("[[listeners]]\nbind = \"[::]:1883\"\n[[listeners]]\nbind = \"0.0.0.0:1883\"\n");
    assert_eq!(settings.listeners[0].bind, Some(addr("[::]:1883")));
    assert_eq!(settings.listeners[1].bind, Some(addr("0.0.0.0:1883")));
}
