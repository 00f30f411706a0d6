//! Build script: stamps the git commit and its date into `robustmq --version`.
//!
//! Sets `ROBUSTMQ_VERSION` to `0.1.0 (abc1234 2026-11-26)` when the crate is built from a git
//! checkout, and to the plain package version otherwise (a `.crate` tarball, a source archive,
//! a machine without git), so a build never fails for want of git.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let version = env_or_panic("CARGO_PKG_VERSION");
    let manifest_dir = PathBuf::from(env_or_panic("CARGO_MANIFEST_DIR"));
    let long = match git_commit(&manifest_dir) {
        Some((hash, date)) => format!("{version} ({hash} {date})"),
        None => version,
    };
    println!("cargo:rustc-env=ROBUSTMQ_VERSION={long}");
}

fn env_or_panic(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo did not set {name}"))
}

/// The short hash and commit date (YYYY-MM-DD) of HEAD, if this is a git checkout.
fn git_commit(manifest_dir: &Path) -> Option<(String, String)> {
    // Only ask git when the crate itself is the checkout: a crate unpacked from a tarball
    // inside some unrelated repository (a vendor directory, say) must not report that
    // repository's commit. `.git` is a directory, or a file in a worktree or submodule.
    if !manifest_dir.join(".git").exists() {
        return None;
    }
    rerun_when_head_moves(manifest_dir);
    let hash = git(manifest_dir, &["rev-parse", "--short", "HEAD"])?;
    let date = git(manifest_dir, &["log", "-1", "--format=%cs"])?;
    Some((hash, date))
}

/// Runs git in `dir`; `None` if git is missing or fails or prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// Asks cargo to rerun this script when HEAD or the branch it points to moves, and not on
/// every build: cargo reruns a script on every build when a watched file does not exist, so
/// only files that exist are named.
fn rerun_when_head_moves(manifest_dir: &Path) {
    let Some(git_dir) = git(manifest_dir, &["rev-parse", "--git-dir"]) else {
        return;
    };
    let git_dir = manifest_dir.join(git_dir);
    let common_dir = git(manifest_dir, &["rev-parse", "--git-common-dir"])
        .map(|dir| manifest_dir.join(dir))
        .unwrap_or_else(|| git_dir.clone());
    let mut watched = vec![git_dir.join("HEAD")];
    if let Some(branch) = git(manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        // A branch that was just packed has no file of its own; packed-refs changes instead.
        watched.push(common_dir.join(branch));
        watched.push(common_dir.join("packed-refs"));
    }
    for path in watched.into_iter().filter(|path| path.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
