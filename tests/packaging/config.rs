//! The packaged /etc/robustmq/robustmq.toml: loaded by the program's own loader, every key of
//! the built-in default file, safe to start with; and `serve --check-config` on it.
//!
//! It is the built-in default file with `data_dir` set to the service's state directory, so
//! its comments never drift from the program's.

use std::path::Path;

use robustmq::config::{Settings, DEFAULT_CONFIG};

use super::{config_keys, read, repo_file, robustmq};

const PACKAGED: &str = "packaging/robustmq.toml";

/// The one line of the default file that the packaged file changes, and what it becomes.
const DATA_DIR_EXAMPLE: &str = "# data_dir = \"/var/lib/robustmq\"\n";
const DATA_DIR_SET: &str = "data_dir = \"/var/lib/robustmq\"\n";

/// How to bring the packaged file up to date.
const REGENERATE: &str = "cargo run -q -- serve --print-default-config | \
     sed 's|^# data_dir = \"/var/lib/robustmq\"$|data_dir = \"/var/lib/robustmq\"|' > packaging/robustmq.toml";

#[test]
fn the_packaged_config_is_the_default_config_with_the_service_data_dir() {
    assert_eq!(
        DEFAULT_CONFIG.matches(DATA_DIR_EXAMPLE).count(),
        1,
        "src/config/default_config.toml no longer has the line {DATA_DIR_EXAMPLE:?} that the \
         packaged file sets"
    );
    let expected = DEFAULT_CONFIG.replacen(DATA_DIR_EXAMPLE, DATA_DIR_SET, 1);
    assert!(
        read(PACKAGED) == expected,
        "{PACKAGED} is stale: it must be the default configuration with data_dir set. \
         Regenerate it with:\n  {REGENERATE}\n"
    );
}

#[test]
fn the_packaged_config_loads_with_the_programs_loader() {
    let settings = Settings::from_file(&repo_file(PACKAGED)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.server.data_dir, Path::new("/var/lib/robustmq"));
    assert!(!settings.listeners.is_empty());
    for listener in &settings.listeners {
        let loopback = listener.bind.is_some_and(|addr| addr.ip().is_loopback());
        assert!(
            loopback || listener.allow_anonymous != Some(true),
            "a packaged listener open to anonymous clients off loopback: {listener:?}"
        );
    }
    // Apart from where the data lives, a fresh install behaves as the built-in defaults.
    let mut defaults = Settings::default();
    defaults.server.data_dir = settings.server.data_dir.clone();
    assert_eq!(settings, defaults);
}

#[test]
fn the_packaged_config_lists_the_same_keys_as_the_default_config() {
    let packaged = config_keys(&read(PACKAGED));
    let defaults = config_keys(DEFAULT_CONFIG);
    assert!(defaults.len() > 20, "{defaults:?}");
    assert_eq!(
        packaged, defaults,
        "{PACKAGED} and src/config/default_config.toml must describe the same keys, in the same order"
    );
}

#[test]
fn check_config_accepts_the_packaged_file() {
    let output = robustmq()
        .args(["serve", "--check-config"])
        .arg(repo_file(PACKAGED))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("configuration is valid"), "{stdout}");
}

#[test]
fn check_config_also_takes_the_file_from_config() {
    let output = robustmq()
        .args(["serve", "--config"])
        .arg(repo_file(PACKAGED))
        .arg("--check-config")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("robustmq.toml: configuration is valid"));
}

#[test]
fn check_config_refuses_a_bad_file_with_one_line_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, "[limits]\nmax_conections = 5\n").unwrap();
    let output = robustmq()
        .args(["serve", "--check-config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(i32::from(robustmq::exit::Exit::Usage.code()))
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&*path.to_string_lossy()), "{stderr}");
    assert!(stderr.contains("max_conections"), "{stderr}");
    assert!(output.stdout.is_empty());
}
