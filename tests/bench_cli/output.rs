//! What people and scripts read: the table, the progress lines, the JSON keys, `--compare`.

use serde_json::{json, Value};

use super::harness::{bench, num, Broker};

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

/// Gated figures (throughput, latency up to p99) of `v` made far worse than any run, so that
/// a run compared with it can only be better there, however noisy the machine.
fn slow(mut v: Value) -> Value {
    for key in [
        "connect_rate",
        "send_rate",
        "accept_rate",
        "send_mb_s",
        "recv_rate",
        "recv_mb_s",
    ] {
        v[key] = json!(0.001);
    }
    for histogram in ["connect_latency_us", "latency_us", "ack_latency_us"] {
        for p in ["p50", "p90", "p99"] {
            v[histogram][p] = json!(3_600_000_000u64);
        }
    }
    v
}

/// The comparison's line on figure `key`.
fn line<'a>(out: &'a str, key: &str) -> &'a str {
    let from = out
        .find("compared with")
        .unwrap_or_else(|| panic!("no comparison in {out}"));
    out[from..]
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no {key} line in {out}"))
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
    std::fs::write(&baseline, slow(v).to_string()).expect("write the baseline");
    let path = baseline.to_str().expect("utf-8 path");
    let run = bench(&[&args[..], &["-c", "2", "--compare", path]].concat());
    assert_eq!(run.code(), 0, "{run:#?}");
    let out = &run.stdout;
    assert!(out.starts_with("PASS: "), "{out}");
    assert!(
        out.contains(&format!("compared with {path} (within ±5% counts as the same)")),
        "{out}"
    );
    let recv = line(out, "recv_rate");
    assert!(recv.contains('%') && recv.ends_with("better"), "{recv}");
    assert!(line(out, "latency_us.p99").ends_with("better"), "{out}");
    // The same count is the same, not "+0.0% better".
    assert!(line(out, "sent").ends_with("+0.0%  same (±5%)"), "{out}");
    // With --json, stdout stays one object and the comparison goes to stderr.
    let run = bench(&[&args[..], &["--json", "--compare", path, "-c", "3"]].concat());
    run.json();
    assert!(run.stderr.contains("compared with"), "{run:#?}");
    assert!(run.stderr.contains("clients differs"), "{run:#?}");
}

#[test]
fn a_regression_beyond_the_threshold_fails_the_run() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let baseline = dir.path().join("baseline.json");
    let args = [
        "pubsub", "-p", &port, "-c", "2", "-q", "1", "-n", "300", "--quiet",
    ];
    let v = bench(&[&args[..], &["--json"]].concat()).json();
    // A baseline that received 50 times as fast as this broker can: now is about 98% slower.
    let mut fast = slow(v.clone());
    fast["recv_rate"] = json!(v["recv_rate"].as_f64().expect("recv_rate") * 50.0);
    std::fs::write(&baseline, fast.to_string()).expect("write the baseline");
    let path = baseline.to_str().expect("utf-8 path");
    let run = bench(&[&args[..], &["--compare", path]].concat());
    assert_eq!(run.code(), 7, "{run:#?}");
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("FAIL: worse than the baseline beyond ±5%: recv_rate -"),
        "{}",
        run.stdout
    );
    assert!(
        line(&run.stdout, "recv_rate").ends_with("worse: regression"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.contains("recv_rate -"), "{run:#?}");
    // The JSON says the same.
    let json = bench(&[&args[..], &["--json", "--compare", path]].concat());
    assert_eq!(json.code(), 7, "{json:#?}");
    let out: Value = serde_json::from_str(json.stdout.trim()).expect("one JSON object");
    assert_eq!(out["passed"], false, "{out:#}");
    // Within a wide enough threshold the same drop is noise.
    let run = bench(&[&args[..], &["--compare", path, "--threshold", "99.9%"]].concat());
    assert_eq!(run.code(), 0, "{run:#?}");
    assert!(
        line(&run.stdout, "recv_rate").ends_with("same (±99.9%)"),
        "{}",
        run.stdout
    );
    // Without --compare there is nothing to hold a threshold to.
    assert_eq!(bench(&["pubsub", "-p", &port, "--threshold", "5"]).code(), 2);
}
