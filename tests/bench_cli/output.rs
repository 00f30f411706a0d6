//! What people and scripts read: the table, the progress lines, the JSON keys, `--compare`.

use crate::harness::{bench, num, Broker};

#[test]
fn table_and_progress_lines_when_stdout_is_not_a_terminal() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    let run = bench(&[
        "pubsub",
        "-p",
        &port,
        "-c",
        "2",
        "-q",
        "1",
        "-d",
        "1200ms",
        "--rate",
        "200",
        "--interval",
        "300ms",
    ]);
    assert_eq!(run.code(), 0, "{run:#?}");
    let out = &run.stdout;
    assert!(
        out.lines()
            .any(|l| l.starts_with("t=") && l.contains("sent=") && l.contains("recv=")),
        "{out}"
    );
    for word in [
        "bench pubsub p2p",
        "sent",
        "received",
        "lost",
        "duplicates",
        "reordered",
        "p99.9",
        "end to end",
    ] {
        assert!(out.contains(word), "no {word:?} in {out}");
    }
    assert!(run.stderr.is_empty(), "{run:#?}");
}

#[test]
fn json_keys_are_stable() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    let v = bench(&["pubsub", "-p", &port, "-c", "1", "-n", "50", "--json"]).json();
    let first = v.as_object().and_then(|o| o.keys().next().cloned());
    assert_eq!(first.as_deref(), Some("passed"), "{v:#}");
    let keys: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "passed",
        "verdict",
        "command",
        "scenario",
        "broker",
        "protocol",
        "qos",
        "payload_size",
        "publishers",
        "subscribers",
        "stalled_subscribers",
        "rate_per_publisher",
        "offered_rate",
        "inflight",
        "clock",
        "threads",
        "elapsed_s",
        "active_s",
        "clients",
        "connected",
        "connect_failures",
        "connect_rate",
        "connect_latency_us",
        "dropped",
        "sent",
        "acked",
        "accepted",
        "refused",
        "refused_reasons",
        "unacknowledged",
        "expected",
        "received",
        "lost",
        "not_received",
        "duplicates",
        "reordered",
        "unrecognized",
        "send_rate",
        "accept_rate",
        "send_mb_s",
        "recv_rate",
        "recv_mb_s",
        "latency_us",
        "ack_latency_us",
        "drain_s",
        "errors",
        "error_kinds",
        "bench_cpu",
        "broker_cpu",
        "broker_rss_kib_before",
        "broker_rss_kib",
        "broker_bytes_per_connection",
    ] {
        assert!(keys.contains(&key), "no {key} in {keys:?}");
    }
    for key in ["count", "mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(v["latency_us"].get(key).is_some(), "no latency_us.{key}");
    }
}

#[test]
fn compare_prints_each_change() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let baseline = dir.path().join("baseline.json");
    let args = ["pubsub", "-p", &port, "-q", "1", "-n", "300", "--quiet"];
    let first = bench(&[&args[..], &["-c", "2", "--json"]].concat());
    let v = first.json();
    assert_eq!(num(&v, "lost"), 0);
    std::fs::write(&baseline, &first.stdout).expect("write the baseline");
    let path = baseline.to_str().expect("utf-8 path");
    let run = bench(&[&args[..], &["-c", "2", "--compare", path]].concat());
    assert_eq!(run.code(), 0, "{run:#?}");
    let out = &run.stdout;
    assert!(out.contains(&format!("compared with {path}")), "{out}");
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("recv_rate"))
        .unwrap_or_else(|| panic!("no recv_rate line in {out}"));
    assert!(line.contains('%'), "{line}");
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("latency_us.p99")),
        "{out}"
    );
    // With --json, stdout stays one object and the comparison goes to stderr.
    let run = bench(&[&args[..], &["--json", "--compare", path, "-c", "3"]].concat());
    run.json();
    assert!(run.stderr.contains("compared with"), "{run:#?}");
    assert!(run.stderr.contains("clients differs"), "{run:#?}");
}
