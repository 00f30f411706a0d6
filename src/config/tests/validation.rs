//! Semantic checks and their messages.

use super::*;

#[test]
fn listener_validation() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[[listeners]]\nprotocol = \"mqtt\"",
            &["listeners[0]", "protocol \"mqtt\" needs `bind`"],
        ),
        (
            "[[listeners]]\nbind = \"127.0.0.1:1\"\n[[listeners]]\nprotocol = \"unix\"",
            &["listeners[1]", "protocol \"unix\" needs `path`"],
        ),
        (
            "[[listeners]]\nprotocol = \"unix\"\npath = \"\"",
            &["listeners[0].path", "empty"],
        ),
        (
            "[[listeners]]\nprotocol = \"unix\"\npath = \"s\"\nbind = \"127.0.0.1:1\"",
            &["listeners[0]", "not `bind`"],
        ),
        (
            "[[listeners]]\nprotocol = \"mqtts\"\nbind = \"127.0.0.1:1\"",
            &["listeners[0]", "protocol \"mqtts\" needs `cert` and `key`"],
        ),
        (
            "[[listeners]]\nprotocol = \"wss\"\nbind = \"127.0.0.1:1\"\ncert = \"c\"",
            &["listeners[0]", "protocol \"wss\" needs `cert` and `key`"],
        ),
        (
            "[[listeners]]\nprotocol = \"mqtts\"\nbind = \"127.0.0.1:1\"\ncert = \"\"\nkey = \"k\"",
            &["listeners[0].cert", "empty"],
        ),
        (
            "[[listeners]]\nprotocol = \"mqtts\"\nbind = \"127.0.0.1:1\"\ncert = \"c\"\nkey = \"k\"\nrequire_certificate = true",
            &["listeners[0].require_certificate", "client_ca"],
        ),
        (
            "[[listeners]]\nprotocol = \"mqtts\"\nbind = \"127.0.0.1:1\"\ncert = \"c\"\nkey = \"k\"\nuse_identity_as_username = true",
            &["listeners[0].use_identity_as_username", "require_certificate"],
        ),
        (
            "[[listeners]]\nbind = \"127.0.0.1:1\"\ncert = \"c\"",
            &["listeners[0].cert", "\"mqtts\" and \"wss\""],
        ),
        (
            "[[listeners]]\nbind = \"127.0.0.1:1\"\nprotocol = \"ws\"\nrequire_certificate = true",
            &["listeners[0].require_certificate", "\"mqtts\" and \"wss\""],
        ),
        (
            "[[listeners]]\nbind = \"127.0.0.1:1\"\npath = \"/mqtt\"",
            &["listeners[0].path", "\"ws\""],
        ),
        (
            "[[listeners]]\nbind = \"127.0.0.1:1\"\nprotocol = \"ws\"\npath = \"mqtt\"",
            &["listeners[0].path", "must start with \"/\""],
        ),
        (
            "[[listeners]]\nbind = \"127.0.0.1:1883\"\n[[listeners]]\nbind = \"127.0.0.1:1883\"\nprotocol = \"ws\"",
            &["listeners[1]", "127.0.0.1:1883", "listeners[0]"],
        ),
        (
            "[[listeners]]\nbind = \"0.0.0.0:1883\"\n[[listeners]]\nbind = \"127.0.0.1:1883\"",
            &["listeners[1]", "listeners[0]", "0.0.0.0:1883"],
        ),
        (
            "[[listeners]]\nprotocol = \"unix\"\npath = \"a\"\n[[listeners]]\nprotocol = \"unix\"\npath = \"a\"",
            &["listeners[1]", "\"a\"", "listeners[0]"],
        ),
        (
            "listeners = []",
            &["listeners", "no listener"],
        ),
        (
            "[[listeners]]\nbind = \"127.0.0.1:1\"\nmax_connections = 0",
            &["listeners[0].max_connections", "at least 1"],
        ),
    ];
    for (text, parts) in cases {
        refused(text, parts);
    }
}

#[test]
fn listeners_that_can_coexist_are_accepted() {
    // Port 0 picks a free port per listener; different ports, or v4 and v6, do not clash.
    parse(
        r#"
        [[listeners]]
        bind = "127.0.0.1:0"
        [[listeners]]
        bind = "127.0.0.1:0"
        protocol = "ws"
        [[listeners]]
        bind = "0.0.0.0:1883"
        [[listeners]]
        bind = "[::]:1883"
        [[listeners]]
        bind = "127.0.0.1:1884"
        [[listeners]]
        protocol = "unix"
        path = "a.sock"
        [[listeners]]
        protocol = "unix"
        path = "b.sock"
        [[listeners]]
        bind = "127.0.0.1:8883"
        protocol = "wss"
        cert = "c"
        key = "k"
        client_ca = "ca"
        "#,
    );
}

#[test]
fn limits_validation() {
    let cases: &[(&str, &[&str])] = &[
        (
            "max_packet_size = 10",
            &["limits.max_packet_size", "10 is too small (minimum 16 bytes)"],
        ),
        (
            "max_packet_size = 268435456",
            &["limits.max_packet_size", "too large", "268435455"],
        ),
        (
            "max_packet_size = \"10GiB\"",
            &["limits.max_packet_size", "too large", "268435455"],
        ),
        ("max_inflight = 0", &["limits.max_inflight", "at least 1"]),
        ("max_connections = 0", &["limits.max_connections", "at least 1"]),
        (
            "max_queued_messages = 0",
            &["limits.max_queued_messages", "at least 1"],
        ),
        (
            "max_queued_bytes = \"512KiB\"",
            &["limits.max_queued_bytes", "max_packet_size"],
        ),
        ("max_keepalive = 0", &["limits.max_keepalive", "at least 1"]),
        (
            "connect_timeout = \"0s\"",
            &["limits.connect_timeout", "more than 0"],
        ),
        (
            "min_keepalive = 61\nmax_keepalive = 60",
            &[
                "limits.min_keepalive",
                "61 is more than limits.max_keepalive (60)",
            ],
        ),
        ("max_topic_length = 0", &["limits.max_topic_length", "at least 1"]),
        (
            "max_topic_length = 65536",
            &["limits.max_topic_length", "too large", "65535"],
        ),
        ("max_topic_levels = 0", &["limits.max_topic_levels", "at least 1"]),
        (
            "max_subscriptions_per_client = 0",
            &["limits.max_subscriptions_per_client", "at least 1"],
        ),
        (
            "max_connections_per_second = -1",
            &["limits.max_connections_per_second", "negative"],
        ),
        (
            "max_publish_rate = 4294967296",
            &["limits.max_publish_rate", "too large", "4294967295"],
        ),
        (
            "max_publish_bytes_rate = \"fast\"",
            &["limits.max_publish_bytes_rate", "\"fast\""],
        ),
        (
            "publish_rate_action = \"kick\"",
            &["limits.publish_rate_action", "kick", "drop", "disconnect"],
        ),
    ];
    for (text, parts) in cases {
        refused(&format!("[limits]\n{text}"), parts);
    }
    // The edges themselves are fine.
    let edges =
        limits("max_packet_size = 16\nmax_inflight = 65535\nmax_keepalive = 1\ntopic_alias_maximum = 0");
    assert_eq!(edges.max_packet_size, 16);
    assert_eq!(edges.max_inflight, 65535);
    // 0 switches the rate limits off; equal keep alive bounds pin the keep alive.
    let edges = limits(
        "max_connections_per_second = 0\nmax_publish_rate = 0\nmax_publish_bytes_rate = 0\n\
         min_keepalive = 60\nmax_keepalive = 60\nmax_topic_length = 65535\nmax_topic_levels = 1\n\
         max_subscriptions_per_client = 1",
    );
    assert_eq!(edges.max_connections_per_second, 0);
    assert_eq!(edges.min_keepalive, 60);
    assert_eq!(edges.max_topic_length, 65535);
    assert_eq!(edges.max_topic_levels, 1);
    assert_eq!(edges.max_subscriptions_per_client, 1);
    assert_eq!(
        parse("[[listeners]]\nbind = \"127.0.0.1:1\"\nmax_connections = 1").listeners[0].max_connections,
        Some(1)
    );
}

#[test]
fn other_validation() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[server]\nsys_interval = \"0s\"",
            &["server.sys_interval", "more than 0"],
        ),
        (
            "[server]\nlog_level = \"loud\"",
            &["server.log_level", "not a log level"],
        ),
        ("[server]\ndata_dir = \"\"", &["server.data_dir", "empty"]),
        (
            "[server]\ndata_dir = \"~/robustmq\"",
            &["server.data_dir", "`~` is not expanded"],
        ),
        ("[auth]\npassword_file = \"\"", &["auth.password_file", "empty"]),
        ("[auth]\nacl_file = \"~/acl\"", &["auth.acl_file", "`~`"]),
        (
            "[store]\ncommit_interval = \"0ms\"",
            &["store.commit_interval", "more than 0"],
        ),
        (
            "[metrics]\nlisten = \"127.0.0.1:1883\"",
            &["metrics.listen", "listeners[0]"],
        ),
    ];
    for (text, parts) in cases {
        refused(text, parts);
    }
}

#[test]
fn validate_without_a_file_says_so() {
    let mut settings = Settings::default();
    settings.limits.max_inflight = 0;
    let message = settings.validate().unwrap_err().to_string();
    assert_eq!(
        message,
        "invalid configuration: limits.max_inflight: must be at least 1 (and at most 65535)"
    );
    // Fields changed in code (e.g. by command-line flags) are checked the same way.
    let mut settings = Settings::default();
    settings.listeners.push(ListenerSettings {
        bind: Some(addr("127.0.0.1:1883")),
        ..ListenerSettings::default()
    });
    let message = settings.validate().unwrap_err().to_string();
    assert!(message.contains("listeners[1]"), "{message}");
}

#[test]
fn validation_error_keeps_key_and_problem() {
    let error = Settings::from_toml_str("[limits]\nmax_packet_size = 10", "x.toml").unwrap_err();
    match error {
        ConfigError::Invalid { origin, key, problem } => {
            assert_eq!(origin.as_deref(), Some("x.toml"));
            assert_eq!(key, "limits.max_packet_size");
            assert_eq!(problem, "10 is too small (minimum 16 bytes)");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn max_memory_takes_a_size_or_a_share_of_the_machine() {
    let limits = |text: &str| Settings::from_toml_str(text, "t.toml").map(|s| s.limits.max_memory);
    assert_eq!(
        limits("[limits]\nmax_memory = \"512MiB\"").expect("a size"),
        MemoryLimit::Bytes(512 * 1024 * 1024)
    );
    assert_eq!(
        limits("[limits]\nmax_memory = \"25%\"").expect("a share"),
        MemoryLimit::Percent(25)
    );
    assert!(MemoryLimit::Percent(25).bytes() > 0);
    for bad in ["\"0%\"", "\"150%\"", "\"a lot\"", "-1"] {
        let err = limits(&format!("[limits]\nmax_memory = {bad}"))
            .expect_err(bad)
            .to_string();
        assert!(err.contains("limits.max_memory"), "{bad}: {err}");
    }
    let err = limits("[limits]\nmax_memory = 1000")
        .expect_err("below max_packet_size")
        .to_string();
    assert!(
        err.contains("limits.max_memory") && err.contains("max_packet_size"),
        "{err}"
    );
    let err = Settings::from_toml_str("[limits]\nstalled_after = \"0s\"", "t.toml")
        .expect_err("zero")
        .to_string();
    assert!(err.contains("limits.stalled_after"), "{err}");
}

#[test]
fn bridge_validation() {
    let ok = "name = \"up\"\nremote = \"mqtt://h\"";
    let rule = "[[bridges.topics]]\nfilter = \"a/#\"";
    let cases: Vec<(String, &[&str])> = vec![
        (
            format!("[[bridges]]\nremote = \"mqtt://h\"\n{rule}"),
            &["bridges[0].name", "required"],
        ),
        (
            format!("[[bridges]]\nname = \"a b\"\nremote = \"mqtt://h\"\n{rule}"),
            &["bridges[0].name"],
        ),
        (
            format!("[[bridges]]\nname = \"up\"\nremote = \"tcp://h\"\n{rule}"),
            &["bridges[0].remote", "not an mqtt://"],
        ),
        (
            format!("[[bridges]]\nname = \"up\"\nremote = \"ws://h/a path\"\n{rule}"),
            &["bridges[0].remote", "bad path"],
        ),
        (
            format!("[[bridges]]\n{ok}\nprotocol = 3\n{rule}"),
            &["bridges[0].protocol", "5 or 4"],
        ),
        (
            format!("[[bridges]]\n{ok}\npassword = \"p\"\npassword_file = \"f\"\n{rule}"),
            &["bridges[0].password_file", "not both"],
        ),
        (
            format!("[[bridges]]\n{ok}\ncafile = \"ca.pem\"\n{rule}"),
            &["bridges[0].cafile", "mqtts://"],
        ),
        (
            format!("[[bridges]]\nname = \"up\"\nremote = \"mqtts://h\"\ncert = \"c\"\n{rule}"),
            &["bridges[0].cert", "together"],
        ),
        (
            format!("[[bridges]]\n{ok}"),
            &["bridges[0].topics", "at least one"],
        ),
        (
            format!("[[bridges]]\n{ok}\nmax_queued_bytes = \"64KiB\"\n{rule}"),
            &["bridges[0].max_queued_bytes", "max_packet_size"],
        ),
        (
            format!("[[bridges]]\n{ok}\n[[bridges.topics]]\nfilter = \"a/#/b\""),
            &["bridges[0].topics[0].filter", "'#'"],
        ),
        (
            format!("[[bridges]]\n{ok}\n[[bridges.topics]]\nfilter = \"$share/g/a\""),
            &["bridges[0].topics[0].filter", "shared"],
        ),
        (
            format!("[[bridges]]\n{ok}\n[[bridges.topics]]\nfilter = \"a\"\nqos = 3"),
            &["bridges[0].topics[0].qos"],
        ),
        (
            format!("[[bridges]]\n{ok}\n[[bridges.topics]]\nfilter = \"a\"\nremote_prefix = \"x/+/\""),
            &["bridges[0].topics[0].remote_prefix", "wildcards"],
        ),
        (
            format!("[[bridges]]\n{ok}\n{rule}\n[[bridges]]\n{ok}\n{rule}"),
            &["bridges[1].name", "bridges[0]"],
        ),
    ];
    for (text, parts) in &cases {
        refused(text, parts);
    }
}

#[test]
fn a_bridge_with_every_key_is_accepted() {
    let settings = parse(
        r#"
        [[bridges]]
        name = "cloud"
        remote = "mqtts://cloud.example:8883"
        protocol = 4
        client_id = "edge-site1"
        username = "u"
        password_file = "secret"
        cafile = "ca.pem"
        cert = "c.pem"
        key = "k.pem"
        keepalive = "30s"
        clean_start = true
        [[bridges.topics]]
        filter = "sensors/#"
        direction = "out"
        qos = 2
        remote_prefix = "site1/"
        [[bridges.topics]]
        filter = "commands/+"
        direction = "both"
        local_prefix = "edge/"
        "#,
    );
    let bridge = &settings.bridges[0];
    assert_eq!((bridge.name.as_str(), bridge.protocol), ("cloud", 4));
    assert_eq!(bridge.topics[1].direction, crate::config::BridgeDirection::Both);
    assert_eq!(bridge.topics[1].qos, 1, "QoS 1 unless said");
}
