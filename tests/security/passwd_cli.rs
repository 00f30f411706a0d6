//! `robustmq passwd FILE add|delete|list`, run as the built binary.

#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;

use super::common::*;

fn passwd(file: &Path) -> Command {
    let mut cmd = Command::cargo_bin("robustmq").expect("binary");
    cmd.arg("passwd").arg(file);
    cmd
}

fn add(file: &Path, user: &str, password: &str) {
    passwd(file)
        .args(["add", user, "--stdin"])
        .write_stdin(format!("{password}\n"))
        .assert()
        .success();
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn add_creates_a_private_file_with_an_argon2id_hash() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    add(&file, "alice", "correct horse");
    let lines = lines(&file);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("alice:$argon2id$v=19$"), "{}", lines[0]);
    assert!(!lines[0].contains("correct horse"));
    #[cfg(unix)]
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    passwd(&file).arg("list").assert().success().stdout("alice\n");
}

#[test]
fn add_replaces_an_existing_users_hash_and_keeps_other_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    // Start from Mosquitto's file: its lines must survive untouched.
    let mosquitto = std::fs::read_to_string(fixture("mosquitto_passwd")).unwrap();
    std::fs::write(&file, format!("# site users\n{mosquitto}")).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    add(&file, "alice", "one");
    let first = lines(&file);
    add(&file, "alice", "two");
    let second = lines(&file);
    assert_eq!(first.len(), 4);
    assert_eq!(second.len(), 4, "replaced, not appended: {second:?}");
    assert_ne!(first[3], second[3], "a new hash");
    assert_eq!(first[..3], second[..3]);
    assert_eq!(second[0], "# site users");
    assert_eq!(second[1..3].join("\n"), mosquitto.trim_end());
    #[cfg(unix)]
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o640,
        "the file's permissions are kept"
    );
    passwd(&file)
        .arg("list")
        .assert()
        .success()
        .stdout("pbkdf2user\nsha512user\nalice\n");
}

#[test]
fn delete_removes_a_user_and_fails_for_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    add(&file, "alice", "a");
    add(&file, "bob", "b");
    passwd(&file).args(["delete", "alice"]).assert().success();
    passwd(&file).arg("list").assert().success().stdout("bob\n");
    let out = passwd(&file).args(["delete", "alice"]).assert().failure().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("no user \"alice\""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    passwd(&file).arg("list").assert().success().stdout("bob\n");
}

#[test]
fn a_missing_file_is_an_error_for_delete_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent");
    passwd(&file).arg("list").assert().failure().code(1);
    passwd(&file).args(["delete", "x"]).assert().failure().code(1);
    assert!(!file.exists());
}

#[test]
fn bad_user_names_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    for user in ["a:b", "tab\there", "new\nline", "#comment", " padded", ""] {
        let out = passwd(&file)
            .args(["add", user, "--stdin"])
            .write_stdin("pw\n")
            .assert()
            .failure()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains("invalid user name"), "{user:?}: {err}");
    }
    assert!(!file.exists(), "nothing written");
}

#[test]
fn stdin_reads_one_line_and_refuses_an_empty_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    passwd(&file)
        .args(["add", "alice", "--stdin"])
        .write_stdin("\n")
        .assert()
        .failure()
        .code(1);
    passwd(&file)
        .args(["add", "alice", "--stdin"])
        .write_stdin("")
        .assert()
        .failure()
        .code(1);
    assert!(!file.exists());
    // Only the first line counts, CR LF included.
    passwd(&file)
        .args(["add", "alice", "--stdin"])
        .write_stdin("first line\r\nsecond line\n")
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    let file_text = robustmq::auth::password::PasswordFile::parse(&file, &text).unwrap();
    assert!(file_text.verify("alice", b"first line"));
    assert!(!file_text.verify("alice", b"first line\r"));
}

#[tokio::test]
async fn the_broker_accepts_what_passwd_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    add(&file, "erin", "pass word");
    let broker = start(
        Setup::default()
            .passwd(std::fs::read_to_string(&file).unwrap())
            .anonymous(false),
    )
    .await;
    v5::connect_as(&broker, "e", Some(("erin", "pass word"))).await;
    let refused = v3::try_connect(v3::login_options(&broker, "e3", Some(("erin", "password")))).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::BadUserNamePassword));
}
