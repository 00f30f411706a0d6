//! Loading from files, and robustness against arbitrary input.

use std::path::{Path, PathBuf};

use super::*;

#[test]
fn from_file_reads_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("robustmq.toml");
    std::fs::write(&path, DEFAULT_CONFIG).unwrap();
    assert_eq!(Settings::from_file(&path).unwrap(), Settings::default());

    std::fs::write(&path, "[limits]\nmax_inflight = 0\n").unwrap();
    let message = Settings::from_file(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("{}: limits.max_inflight: ", path.display())),
        "{message}"
    );

    let missing = dir.path().join("missing.toml");
    let message = Settings::from_file(&missing).unwrap_err().to_string();
    assert!(message.contains("missing.toml"), "{message}");
    assert!(!message.contains('\n'), "{message}");

    std::fs::write(&path, b"\xff\xfe not utf-8").unwrap();
    let message = Settings::from_file(&path).unwrap_err().to_string();
    assert!(message.contains("robustmq.toml"), "{message}");
}

#[test]
fn from_file_resolves_relative_paths_next_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("robustmq.toml");
    std::fs::write(
        &path,
        r#"
        [server]
        data_dir = "data"
        [[listeners]]
        bind = "127.0.0.1:8883"
        protocol = "mqtts"
        cert = "tls/server.crt"
        key = "/abs/server.key"
        client_ca = "ca.crt"
        [[listeners]]
        protocol = "unix"
        path = "robustmq.sock"
        [[listeners]]
        bind = "127.0.0.1:8080"
        protocol = "ws"
        path = "/mqtt"
        [auth]
        password_file = "passwd"
        acl_file = "/etc/acl"
        "#,
    )
    .unwrap();
    let settings = Settings::from_file(&path).unwrap();
    let base = dir.path();
    assert_eq!(settings.server.data_dir, base.join("data"));
    let tls = &settings.listeners[0];
    assert_eq!(tls.cert, Some(base.join("tls/server.crt")));
    assert_eq!(tls.key, Some(PathBuf::from("/abs/server.key")));
    assert_eq!(tls.client_ca, Some(base.join("ca.crt")));
    let unix_path = settings.listeners[1].path.as_deref().unwrap();
    assert_eq!(Path::new(unix_path), base.join("robustmq.sock"));
    // A WebSocket path is a URL path, not a file.
    assert_eq!(settings.listeners[2].path.as_deref(), Some("/mqtt"));
    assert_eq!(settings.auth.password_file, Some(base.join("passwd")));
    assert_eq!(settings.auth.acl_file, Some(PathBuf::from("/etc/acl")));
}

// ---- robustness ---------------------------------------------------------------------------

/// Every prefix and a few thousand corruptions of a real file load without panicking.
#[test]
fn never_panics() {
    let sample = format!(
        "{DEFAULT_CONFIG}\n[[listeners]]\nbind = \"[::1]:8883\"\nprotocol = \"wss\"\ncert = \"é.crt\"\nkey = \"k\"\n"
    );
    for (index, _) in sample.char_indices() {
        let _ = Settings::from_toml_str(&sample[..index], ORIGIN);
    }
    let replacements = [
        "", "\"", "[", "]", "=", "\n", "#", "0", "-1", "é", "{", "}", ",", "'''", "\\", " ",
    ];
    let boundaries: Vec<usize> = sample.char_indices().map(|(i, _)| i).collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        // xorshift: deterministic, so a failure can be reproduced.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % 1_000_003).unwrap()
    };
    for _ in 0..3000 {
        let at = boundaries[next() % boundaries.len()];
        let replacement = replacements[next() % replacements.len()];
        let mut text = sample.clone();
        let end = boundaries.iter().copied().find(|&b| b > at).unwrap_or(text.len());
        text.replace_range(at..end, replacement);
        if let Err(e) = Settings::from_toml_str(&text, ORIGIN) {
            let message = e.to_string();
            assert!(!message.contains('\n'), "multi-line: {message}");
        }
    }
}
