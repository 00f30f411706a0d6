//! Configuration files as `robustmq serve --config FILE` loads them, through the public API.

use std::path::Path;

mod layout;

use robustmq::config::{ConfigError, ListenerProtocol, Settings, DEFAULT_CONFIG};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_printed_default_config_loads_as_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "robustmq.toml", DEFAULT_CONFIG);
    assert_eq!(Settings::from_file(&path).unwrap(), Settings::default());
}

#[test]
fn a_typical_production_file_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "robustmq.toml",
        r#"
        [server]
        data_dir = "/var/lib/robustmq"

        [[listeners]]
        bind = "0.0.0.0:1883"

        [[listeners]]
        bind = "0.0.0.0:8883"
        protocol = "mqtts"
        cert = "tls/server.crt"
        key = "tls/server.key"

        [auth]
        password_file = "passwd"

        [limits]
        max_packet_size = "256KiB"

        [store]
        durability = "periodic"
        commit_interval = "50ms"
        "#,
    );
    let settings = Settings::from_file(&path).unwrap();
    assert_eq!(settings.listeners.len(), 2);
    assert_eq!(settings.listeners[1].protocol, ListenerProtocol::Mqtts);
    assert_eq!(
        settings.listeners[1].cert.as_deref(),
        Some(dir.path().join("tls/server.crt").as_path())
    );
    assert_eq!(
        settings.auth.password_file.as_deref(),
        Some(dir.path().join("passwd").as_path())
    );
    assert_eq!(settings.limits.max_packet_size, 256 * 1024);
    assert_eq!(settings.server.data_dir, Path::new("/var/lib/robustmq"));
}

#[test]
fn mistakes_are_reported_in_one_line_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[limits]\nmax_inflight = \"lots\"\n",
            "limits.max_inflight",
            "line 2",
        ),
        (
            "[limits]\nmax_infligth = 10\n",
            "limits.max_infligth",
            "unknown field",
        ),
        (
            "[[listeners]]\nprotocol = \"unix\"\n",
            "listeners[0]",
            "needs `path`",
        ),
        ("[limits\n", "line 1", "column"),
    ];
    for (text, key, detail) in cases {
        let path = write(dir.path(), "bad.toml", text);
        let error = Settings::from_file(&path).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with(&path.display().to_string()), "{message}");
        assert!(message.contains(key), "{message}");
        assert!(message.contains(detail), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }

    let missing = dir.path().join("absent.toml");
    let error = Settings::from_file(&missing).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
    assert!(error.to_string().contains("absent.toml"), "{error}");
}
