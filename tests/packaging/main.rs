//! Packaging: the committed man pages and completions are current, every command's help and
//! page lists the exit codes of the one table, the packaged configuration, systemd unit and
//! package metadata agree with the program, the broker tells systemd when it is ready, and
//! `--version` names the commit.
//!
//! Nothing here needs root or packaging tools; `.ci/package.sh` builds and installs the .deb.

mod config;
mod exit_codes;
mod generated;
mod metadata;
mod notify;
mod version;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file in the repository.
fn repo_file(path: &str) -> PathBuf {
    repo().join(path)
}

fn read(path: &str) -> String {
    let path = repo_file(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The built binary.
fn robustmq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_robustmq"))
}

/// `(table, key)` for every key a commented configuration file names, set or commented out,
/// in file order: `[server] data_dir` is `("server", "data_dir")`. Commented-out example
/// tables (a `# [[listeners]]` line up to the next blank line) are skipped.
///
/// Written independently of the man page generator, which these tests check.
fn config_keys(text: &str) -> Vec<(String, String)> {
    let mut keys = Vec::new();
    let mut table = String::new();
    let mut in_example = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            in_example = false;
            continue;
        }
        let (commented, body) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        if body.starts_with('[') && body.ends_with(']') && !body.contains(' ') {
            if commented {
                in_example = true;
            } else {
                table = body.trim_matches(|c| c == '[' || c == ']').to_owned();
            }
            continue;
        }
        if in_example || table.is_empty() {
            continue;
        }
        if let Some((name, value)) = body.split_once(" = ") {
            let bare = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if bare && !value.is_empty() {
                keys.push((table.clone(), name.to_owned()));
            }
        }
    }
    keys
}
