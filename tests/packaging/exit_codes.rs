//! Every command's `--help` ends with the exit codes the table in `robustmq::exit` gives it,
//! meaning for meaning, and its man page has the same codes under EXIT STATUS; `robustmq
//! --help` and robustmq(1) list every code of the table.
//!
//! The help text and the pages are read as a person would read them, not with the code that
//! writes them.

use std::collections::BTreeSet;

use clap::CommandFactory;
use robustmq::cli::Cli;
use robustmq::exit;

use super::robustmq;

/// `["store", "stats"]` for `robustmq store stats`, for every command below `robustmq`,
/// hidden ones too (their `--help` works all the same).
fn command_paths(cmd: &clap::Command, prefix: &[String], paths: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        command_paths(sub, &path, paths);
        paths.push(path);
    }
}

fn all_command_paths() -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    command_paths(&Cli::command(), &[], &mut paths);
    assert!(paths.len() > 20, "{paths:?}");
    paths
}

/// Whether `robustmq PATH` is hidden from the man pages (`generate` and below).
fn hidden(path: &[String]) -> bool {
    let mut cmd = Cli::command();
    for name in path {
        let Some(sub) = cmd.find_subcommand(name).cloned() else {
            return false;
        };
        if sub.is_hide_set() {
            return true;
        }
        cmd = sub;
    }
    false
}

fn help(path: &[String]) -> String {
    let output = robustmq().args(path).arg("--help").output().unwrap();
    assert!(
        output.status.success(),
        "robustmq {} --help failed: {}",
        path.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The `  CODE  meaning` entries after "Exit codes:", each meaning with its continuation
/// lines joined by single spaces; `None` without such a heading.
fn listed_codes(help: &str) -> Option<Vec<(u8, String)>> {
    let (_, list) = help.split_once("\nExit codes:\n")?;
    let mut entries: Vec<(u8, String)> = Vec::new();
    for line in list.lines() {
        let Some(rest) = line.strip_prefix("  ") else {
            break;
        };
        if rest.starts_with(' ') {
            let (_, meaning) = entries.last_mut()?;
            meaning.push(' ');
            meaning.push_str(rest.trim());
        } else {
            let (code, meaning) = rest.split_once(' ')?;
            entries.push((code.parse().ok()?, meaning.trim().to_owned()));
        }
    }
    Some(entries)
}

fn table(path: &[String]) -> Vec<(u8, String)> {
    exit::codes(&path.join(" "))
        .iter()
        .map(|(exit, meaning)| {
            let words: Vec<&str> = meaning.split_whitespace().collect();
            (exit.code(), words.join(" "))
        })
        .collect()
}

#[test]
fn every_commands_help_lists_the_exit_codes_of_the_table() {
    for path in all_command_paths() {
        let help = help(&path);
        let command = path.join(" ");
        let listed = listed_codes(&help)
            .unwrap_or_else(|| panic!("robustmq {command} --help lists no exit codes:\n{help}"));
        let expected = table(&path);
        assert!(!expected.is_empty(), "the table has no codes for {command}");
        assert_eq!(listed, expected, "robustmq {command} --help:\n{help}");
    }
}

#[test]
fn every_command_of_the_table_exists() {
    let paths: Vec<String> = all_command_paths().iter().map(|path| path.join(" ")).collect();
    for entry in exit::TABLE {
        assert!(
            paths.iter().any(|path| path == entry.command),
            "the table of exit codes names `robustmq {}`, which does not exist",
            entry.command
        );
    }
}

#[test]
fn the_top_level_help_lists_every_code_of_the_table() {
    let help = help(&[]);
    let listed: BTreeSet<u8> = listed_codes(&help)
        .unwrap_or_else(|| panic!("robustmq --help lists no exit codes:\n{help}"))
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    let all: BTreeSet<u8> = exit::TABLE
        .iter()
        .flat_map(|entry| entry.rows.iter().map(|(exit, _)| exit.code()))
        .collect();
    assert_eq!(listed, all, "{help}");
    // The two numbers with two meanings name the commands each meaning is for.
    assert!(
        help.contains("serve: the broker cannot start; pub, sub, bench: cannot connect"),
        "{help}"
    );
}

/// The numbers under EXIT STATUS in a man page: the bold tag after each `.TP`.
fn exit_status_codes(page: &str) -> Option<Vec<u8>> {
    let (_, section) = page.split_once(".SH \"EXIT STATUS\"\n")?;
    let section = section.split("\n.SH ").next().unwrap_or_default();
    let lines: Vec<&str> = section.lines().collect();
    let codes = lines
        .windows(2)
        .filter(|pair| pair[0] == ".TP")
        .filter_map(|pair| pair[1].strip_prefix("\\fB")?.strip_suffix("\\fR")?.parse().ok())
        .collect();
    Some(codes)
}

#[test]
fn every_man_page_has_the_exit_codes_of_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let output = robustmq()
        .args(["generate", "man"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let page = |name: &str| {
        std::fs::read_to_string(dir.path().join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"))
    };
    for path in all_command_paths().into_iter().filter(|p| !hidden(p)) {
        let name = format!("robustmq-{}", path.join("-"));
        let text = page(&name);
        let codes =
            exit_status_codes(&text).unwrap_or_else(|| panic!("{name}.1 has no EXIT STATUS:\n{text}"));
        let expected: Vec<u8> = table(&path).into_iter().map(|(code, _)| code).collect();
        assert_eq!(codes, expected, "{name}.1");
        assert_eq!(
            text.matches(".SH \"EXIT STATUS\"").count(),
            1,
            "{name}.1 has EXIT STATUS twice"
        );
    }
    let root = page("robustmq");
    let codes = exit_status_codes(&root).expect("robustmq.1 has no EXIT STATUS");
    assert!(codes.contains(&27) && codes.contains(&130), "{codes:?}");
}
