//! man/ and completions/ hold what `robustmq generate` writes today, and what it writes is
//! complete: a page per visible subcommand, every configuration key in robustmq.toml(5).

use std::collections::BTreeMap;
use std::path::Path;

use clap::CommandFactory;
use robustmq::cli::Cli;
use robustmq::config::DEFAULT_CONFIG;

use super::{config_keys, repo_file, robustmq};

/// How to bring the committed copies up to date.
const REGENERATE: &str = "cargo run -- generate man man && cargo run -- generate completions completions";

/// Runs `robustmq generate WHAT` into a new temporary directory.
fn generate(what: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let output = robustmq()
        .args(["generate", what])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "robustmq generate {what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir
}

/// File name → contents of every file in `dir`.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// Fails, naming every difference and the command that fixes it, when `committed` differs from
/// what was just generated into `fresh`.
fn assert_current(committed: &str, fresh: &Path) {
    let old = files(&repo_file(committed));
    let new = files(fresh);
    let mut problems = Vec::new();
    for (name, text) in &new {
        match old.get(name) {
            None => problems.push(format!("{committed}/{name} is missing")),
            Some(old_text) if old_text != text => problems.push(format!("{committed}/{name} is out of date")),
            Some(_) => {}
        }
    }
    for name in old.keys().filter(|name| !new.contains_key(*name)) {
        problems.push(format!("{committed}/{name} is no longer generated (delete it)"));
    }
    assert!(
        problems.is_empty(),
        "the committed {committed}/ is stale:\n  {}\nRegenerate it with:\n  {REGENERATE}\n",
        problems.join("\n  ")
    );
}

#[test]
fn committed_man_pages_are_current() {
    let fresh = generate("man");
    assert_current("man", fresh.path());
}

#[test]
fn committed_completions_are_current() {
    let fresh = generate("completions");
    assert_current("completions", fresh.path());
}

/// `robustmq-store-stats` for `robustmq store stats`, for every subcommand not hidden.
fn visible_page_names(cmd: &clap::Command, prefix: &str, names: &mut Vec<String>) {
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let name = format!("{prefix}-{}", sub.get_name());
        visible_page_names(sub, &name, names);
        names.push(name);
    }
}

#[test]
fn there_is_a_page_per_visible_subcommand_and_none_for_hidden_ones() {
    let dir = generate("man");
    let mut expected = vec!["robustmq.1".to_owned(), "robustmq.toml.5".to_owned()];
    let mut names = Vec::new();
    visible_page_names(&Cli::command(), "robustmq", &mut names);
    expected.extend(names.iter().map(|name| format!("{name}.1")));
    expected.sort();
    let written: Vec<String> = files(dir.path()).into_keys().collect();
    assert_eq!(written, expected);
    assert!(
        names.iter().any(|n| n == "robustmq-store-stats"),
        "nested subcommands get pages: {names:?}"
    );
    assert!(!written.iter().any(|n| n.contains("generate")), "{written:?}");

    let root = std::fs::read_to_string(dir.path().join("robustmq.1")).unwrap();
    for name in names.iter().filter(|n| n.matches('-').count() == 1) {
        let reference = format!("{}(1)", name.replace('-', "\\-"));
        assert!(root.contains(&reference), "robustmq(1) does not list {reference}");
    }
}

#[test]
fn the_config_page_describes_every_key_of_the_default_config() {
    let dir = generate("man");
    let page = std::fs::read_to_string(dir.path().join("robustmq.toml.5")).unwrap();
    assert!(page.contains(".TH robustmq.toml 5 "), "{page}");
    let keys = config_keys(DEFAULT_CONFIG);
    assert!(keys.len() > 20, "{keys:?}");
    for (table, key) in keys {
        let entry = format!("\\fB{key}\\fR = ");
        assert!(
            page.contains(&entry),
            "robustmq.toml(5) does not describe {table}.{key}"
        );
    }
    for table in [
        "[server]",
        "[[listeners]]",
        "[auth]",
        "[limits]",
        "[store]",
        "[metrics]",
    ] {
        assert!(page.contains(&format!(".SS {table}")), "no section for {table}");
    }
}

#[test]
fn the_serve_page_documents_check_config_and_exit_status() {
    let dir = generate("man");
    let page = std::fs::read_to_string(dir.path().join("robustmq-serve.1")).unwrap();
    assert!(page.contains("\\fB\\-\\-check\\-config\\fR"), "{page}");
    assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
    assert!(page.contains("/etc/robustmq/robustmq.toml"), "{page}");
}

#[test]
fn pages_do_not_depend_on_the_commit_or_the_date() {
    let dir = generate("man");
    let version = format!("\"robustmq {}\"", env!("CARGO_PKG_VERSION"));
    for (name, text) in files(dir.path()) {
        let title = text.lines().find(|l| l.starts_with(".TH ")).unwrap_or_default();
        assert!(title.contains(&version), "{name}: {title}");
        // An empty date is written as "" so that the fields after it keep their place.
        assert!(title.contains(" \"\" "), "{name}: {title}");
    }
}

#[test]
fn completions_cover_every_shell_and_leave_out_hidden_commands() {
    let dir = generate("completions");
    let written = files(dir.path());
    let names: Vec<&str> = written.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "_robustmq",
            "_robustmq.ps1",
            "robustmq.bash",
            "robustmq.elv",
            "robustmq.fish"
        ]
    );
    for (name, text) in &written {
        assert!(text.contains("bench"), "{name} does not complete subcommands");
        assert!(
            !text.contains("generate"),
            "{name} offers the hidden generate command"
        );
    }
}

#[test]
fn generating_into_a_file_fails_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let output = robustmq().args(["generate", "man"]).arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&*file.to_string_lossy()), "{stderr}");
}
