//! `robustmq --version`: the package version, and the commit when built from a git checkout.

use std::process::Command;

use super::{repo, robustmq};

fn version_line() -> String {
    let output = robustmq().arg("--version").output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim_end().to_owned()
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo())
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn version_names_the_commit_and_its_date() {
    let line = version_line();
    let plain = format!("robustmq {}", env!("CARGO_PKG_VERSION"));
    let commit = repo()
        .join(".git")
        .exists()
        .then(|| {
            Some((
                git(&["rev-parse", "--short", "HEAD"])?,
                git(&["log", "-1", "--format=%cs"])?,
            ))
        })
        .flatten();
    match commit {
        Some((hash, date)) => assert_eq!(line, format!("{plain} ({hash} {date})")),
        // Built from a source tarball, or git is not installed: the version alone.
        None => assert_eq!(line, plain),
    }
}

#[test]
fn subcommands_show_the_same_version() {
    let top = version_line();
    let output = robustmq().args(["serve", "--version"]).output().unwrap();
    let serve = String::from_utf8(output.stdout).unwrap();
    let version = top.strip_prefix("robustmq ").unwrap();
    assert_eq!(serve.trim_end(), format!("robustmq-serve {version}"));
}
