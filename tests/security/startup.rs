//! A password or ACL file with an error is a configuration error: `serve` and
//! `serve --check-config` exit with code 2 and one line naming the file and the line.

use std::process::Command;

use super::common::*;

fn config(dir: &std::path::Path, passwd: &str, acl: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("passwd"), passwd).unwrap();
    std::fs::write(dir.join("acl"), acl).unwrap();
    let path = dir.join("robustmq.toml");
    std::fs::write(
        &path,
        "[server]\ndata_dir = \"data\"\n\n[[listeners]]\nbind = \"127.0.0.1:0\"\n\n[auth]\npassword_file = \"passwd\"\nacl_file = \"acl\"\n",
    )
    .unwrap();
    path
}

fn serve(args: &[&str], config: &std::path::Path) -> (Option<i32>, String, String) {
    run(Command::new(env!("CARGO_BIN_EXE_robustmq"))
        .arg("serve")
        .args(args)
        .arg(config)
        .env("RUST_LOG", "error")
        .env("NO_COLOR", "1"))
}

#[test]
fn a_bad_acl_file_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &user_line("alice", "a"),
        "user alice\npattern read dev-%c/x\n",
    );
    for args in [&["--config"][..], &["--check-config"][..]] {
        let (code, out, err) = serve(args, &config);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        let line = err.trim();
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(
            line.contains("acl, line 2: %u and %c must be a whole topic level"),
            "{line}"
        );
    }
}

#[test]
fn a_bad_password_file_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "alice:secret\n", "topic #\n");
    for args in [&["--config"][..], &["--check-config"][..]] {
        let (code, out, err) = serve(args, &config);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        assert!(
            err.contains("passwd, line 1: user \"alice\": unsupported hash"),
            "{err}"
        );
        assert!(!err.contains("secret"), "the file's content is not echoed: {err}");
    }
}

#[test]
fn valid_files_pass_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let mosquitto = std::fs::read_to_string(fixture("mosquitto_passwd")).unwrap();
    let config = config(
        dir.path(),
        &mosquitto,
        "topic read $SYS/#\npattern readwrite %u/#\n",
    );
    let (code, out, err) = serve(&["--check-config"], &config);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn a_missing_password_file_fails_check_config_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "", "topic #\n");
    std::fs::remove_file(dir.path().join("passwd")).unwrap();
    let (code, out, err) = serve(&["--check-config"], &config);
    assert_eq!(code, Some(2), "{out}{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "cannot read password file {} ([auth] password_file)",
            dir.path().join("passwd").display()
        )),
        "{err}"
    );
}
