//! Error paths: one line a person can act on, the documented exit code, never a panic.

use super::harness::{bench, free_port, Broker, Run};

fn assert_one_line(run: &Run, code: i32, words: &[&str]) {
    assert_eq!(run.code(), code, "{run:#?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr: {run:#?}");
    for word in words {
        assert!(lines[0].contains(word), "no {word:?} in {:?}", lines[0]);
    }
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

#[test]
fn connection_refused_names_the_address() {
    let port = free_port().to_string();
    for sub in ["conn", "pub", "sub", "pubsub"] {
        let run = bench(&[
            sub,
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-c",
            "2",
            "-d",
            "1s",
            "--quiet",
        ]);
        assert_one_line(
            &run,
            3,
            &[
                "robustmq bench: cannot connect to 127.0.0.1:",
                &port,
                "connection refused",
            ],
        );
        assert!(run.stdout.is_empty(), "{run:#?}");
    }
}

#[test]
fn unknown_host() {
    let run = bench(&["pubsub", "-h", "no-such-host.invalid", "-c", "1", "--quiet"]);
    assert_one_line(&run, 3, &["cannot resolve host no-such-host.invalid"]);
}

#[test]
fn bad_values_are_usage_errors() {
    let run = bench(&["pubsub", "-s", "10"]);
    assert_one_line(&run, 2, &["-s/--size must be 28 bytes"]);
    let run = bench(&[
        "pubsub",
        "--scenario",
        "p2p",
        "--publishers",
        "2",
        "--subscribers",
        "3",
    ]);
    assert_one_line(&run, 2, &["must be equal"]);
    let run = bench(&["sub", "-t", "a/#/b"]);
    assert_one_line(&run, 2, &["invalid topic filter a/#/b"]);
    let run = bench(&["pub", "-t", "a/+"]);
    assert_one_line(&run, 2, &["invalid topic a/+"]);
    let run = bench(&["pubsub", "--scenario", "ring"]);
    assert_eq!(run.code(), 2, "{run:#?}");
    assert!(run.stderr.contains("unknown scenario"), "{run:#?}");
}

#[test]
fn unreadable_baseline() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    let run = bench(&["pubsub", "-p", &port, "--compare", "/nonexistent/base.json"]);
    assert_one_line(&run, 2, &["cannot read the baseline /nonexistent/base.json"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("not.json");
    std::fs::write(&path, "hello").expect("write");
    let run = bench(&["pubsub", "-p", &port, "--compare", path.to_str().expect("utf-8")]);
    assert_one_line(&run, 2, &["is not the JSON of `robustmq bench --json`"]);
}
