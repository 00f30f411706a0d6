//! `serve` and `store` choose the same configuration, and so the same data directory:
//! `--config`, else the system configuration (here a temp file named by
//! `ROBUSTMQ_SYSTEM_CONFIG`, never the machine's /etc), else the built-in defaults. `serve`
//! creates a missing data directory and names one it cannot create.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::broker_process;

const WAIT: Duration = Duration::from_secs(20);

/// A configuration with its data in `data_dir` (relative to the file) and one loopback
/// listener on a port of its own.
fn write_config(path: &Path, data_dir: &str) {
    std::fs::write(
        path,
        format!("[server]\ndata_dir = \"{data_dir}\"\n\n[[listeners]]\nbind = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
}

/// `robustmq <args>` with `system` as the system configuration (`None`: there is none).
fn robustmq(args: &[&str], system: Option<&Path>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_robustmq"));
    cmd.args(args)
        .env(
            "ROBUSTMQ_SYSTEM_CONFIG",
            system.map_or(PathBuf::new(), Path::to_owned),
        )
        .stdin(Stdio::null());
    cmd
}

/// Starts `serve`, waits until it serves, and returns the process and its start-up line.
fn serve(cmd: &mut Command, log: &Path) -> (Child, String) {
    let (child, _) =
        broker_process::start(cmd, log, WAIT).unwrap_or_else(|e| panic!("robustmq did not start: {e}"));
    let logged = std::fs::read_to_string(log).unwrap_or_default();
    let started = logged
        .lines()
        .find(|l| l.contains("robustmq started"))
        .expect("the start-up line")
        .to_string();
    (child, started)
}

/// SIGTERM, and waits for the exit, so that the data directory's lock is free.
fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + WAIT;
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the broker did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs to the end (killed after [`WAIT`]): exit code, stdout, stderr.
fn finish(cmd: &mut Command) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run robustmq");
    let deadline = Instant::now() + WAIT;
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The data file `store stats --json` read.
fn stats_path(cmd: &mut Command) -> PathBuf {
    let (code, out, err) = finish(cmd);
    assert_eq!(code, Some(0), "store stats: {out}{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    PathBuf::from(json["path"].as_str().expect("a path"))
}

#[test]
fn store_and_serve_given_the_same_config_use_the_same_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("robustmq.toml");
    write_config(&config, "data");
    let config_arg = config.to_str().unwrap();
    let (child, started) = serve(
        &mut robustmq(&["serve", "--config", config_arg], None),
        &tmp.path().join("broker.log"),
    );
    stop(child);
    let data = tmp.path().join("data");
    assert!(
        started.contains(&format!("data_dir={}", data.display())),
        "{started}"
    );
    let path = stats_path(&mut robustmq(
        &["store", "stats", "--json", "--config", config_arg],
        None,
    ));
    assert_eq!(path, data.join("robustmq.redb"));
}

#[test]
fn without_config_both_use_the_system_config_when_it_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let system = tmp.path().join("system.toml");
    write_config(&system, "system-data");
    let (child, started) = serve(
        &mut robustmq(&["serve"], Some(&system)),
        &tmp.path().join("broker.log"),
    );
    stop(child);
    let data = tmp.path().join("system-data");
    assert!(
        started.contains(&format!("config={} (system configuration)", system.display())),
        "the start-up line names the configuration: {started}"
    );
    assert!(
        started.contains(&format!("data_dir={}", data.display())),
        "{started}"
    );
    let path = stats_path(&mut robustmq(&["store", "stats", "--json"], Some(&system)));
    assert_eq!(path, data.join("robustmq.redb"));
    // --data-dir overrides the configuration's data_dir for store as for serve.
    let (code, _, err) = finish(&mut robustmq(
        &[
            "store",
            "stats",
            "--data-dir",
            tmp.path().join("nowhere").to_str().unwrap(),
        ],
        Some(&system),
    ));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("nowhere"), "names the directory: {err}");
}

#[test]
fn store_names_the_configuration_its_missing_data_dir_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    let system = tmp.path().join("system.toml");
    write_config(&system, "never-served");
    let (code, _, err) = finish(&mut robustmq(&["store", "verify"], Some(&system)));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("never-served"), "names the directory: {err}");
    assert!(
        err.contains(&format!(
            "data_dir from {} (system configuration)",
            system.display()
        )),
        "{err}"
    );
    assert!(
        !tmp.path().join("never-served").exists(),
        "store never creates it"
    );
}

#[test]
fn serve_creates_a_missing_data_dir_for_its_owner_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("robustmq.toml");
    write_config(&config, "not/yet/there");
    let (child, _) = serve(
        &mut robustmq(&["serve", "--config", config.to_str().unwrap()], None),
        &tmp.path().join("broker.log"),
    );
    stop(child);
    let data = tmp.path().join("not/yet/there");
    assert!(
        data.join("robustmq.redb").is_file(),
        "the store is in the new directory"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "mode {mode:o}");
    }
}

#[test]
fn a_data_dir_that_cannot_be_created_is_named_with_exit_code_4() {
    let tmp = tempfile::tempdir().unwrap();
    // A regular file where a parent directory should be: no user, root included, can create it.
    std::fs::write(tmp.path().join("a-file"), "").unwrap();
    let config = tmp.path().join("robustmq.toml");
    write_config(&config, "a-file/data");
    let (code, _, err) = finish(&mut robustmq(
        &["serve", "--config", config.to_str().unwrap()],
        None,
    ));
    assert_eq!(code, Some(4), "{err}");
    let dir = tmp.path().join("a-file/data");
    assert!(
        err.contains(&format!(
            "cannot create data directory {} (data_dir from {})",
            dir.display(),
            config.display()
        )),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.contains("robustmq:")).count(),
        1,
        "one line: {err}"
    );
}
