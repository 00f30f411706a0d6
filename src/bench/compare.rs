//! `--compare baseline.json`: each figure of this run against the same figure of an earlier
//! `--json` output, with its change in percent and whether that is better or worse.

use std::fmt::Write;

use serde_json::Value;

/// A figure worse than the baseline by more than the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// Its JSON path: `recv_rate`, `latency_us.p99`.
    pub figure: &'static str,
    /// Its change in percent of the baseline (negative: it went down).
    pub change: f64,
}

/// The figures compared, by JSON path, and whether more is better.
const FIGURES: &[(&str, bool)] = &[
    ("connected", true),
    ("connect_failures", false),
    ("connect_rate", true),
    ("connect_latency_us.p50", false),
    ("connect_latency_us.p99", false),
    ("dropped", false),
    ("sent", true),
    ("refused", false),
    ("unacknowledged", false),
    ("received", true),
    ("lost", false),
    ("duplicates", false),
    ("reordered", false),
    ("send_rate", true),
    ("send_mb_s", true),
    ("recv_rate", true),
    ("recv_mb_s", true),
    ("latency_us.p50", false),
    ("latency_us.p90", false),
    ("latency_us.p99", false),
    ("latency_us.p999", false),
    ("latency_us.max", false),
    ("ack_latency_us.p50", false),
    ("ack_latency_us.p99", false),
    ("errors", false),
    ("bench_cpu", false),
];

/// Settings that make two runs comparable; a difference is pointed out.
const SETTINGS: &[&str] = &[
    "command",
    "scenario",
    "protocol",
    "qos",
    "payload_size",
    "publishers",
    "subscribers",
    "rate_per_publisher",
    "inflight",
    "clients",
];

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

/// The comparison of `current` with `baseline` (both as `--json` writes them), as text;
/// `name` says where the baseline came from.
pub fn compare(baseline: &Value, current: &Value, name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "compared with {name}:");
    for key in SETTINGS {
        let (old, new) = (lookup(baseline, key), lookup(current, key));
        if old.is_some() && old != new {
            let show = |v: Option<&Value>| v.map_or("-".to_string(), Value::to_string);
            let _ = writeln!(
                out,
                "  note: {key} differs (baseline {}, now {})",
                show(old),
                show(new)
            );
        }
    }
    let _ = writeln!(
        out,
        "  {:<22} {:>14} {:>14} {:>9}",
        "figure", "baseline", "now", "change"
    );
    for &(path, more_is_better) in FIGURES {
        let (Some(old), Some(new)) = (
            lookup(baseline, path).and_then(Value::as_f64),
            lookup(current, path).and_then(Value::as_f64),
        ) else {
            continue;
        };
        if old == 0.0 && new == 0.0 {
            continue;
        }
        let change = if old == 0.0 {
            "new".to_string()
        } else {
            format!("{:+.1}%", (new - old) / old.abs() * 100.0)
        };
        let verdict = if new == old {
            ""
        } else if (new > old) == more_is_better {
            "better"
        } else {
            "worse"
        };
        let _ = writeln!(
            out,
            "  {:<22} {:>14} {:>14} {:>9}  {verdict}",
            path,
            number(old),
            number(new),
            change
        );
    }
    out
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shows_changes_and_direction() {
        let old = json!({"command": "pubsub", "qos": 1, "recv_rate": 1000.0, "lost": 0,
                         "latency_us": {"p99": 200}, "errors": 0});
        let new = json!({"command": "pubsub", "qos": 0, "recv_rate": 1500.0, "lost": 3,
                         "latency_us": {"p99": 100}, "errors": 0});
        let text = compare(&old, &new, "base.json");
        assert!(text.contains("compared with base.json"), "{text}");
        assert!(text.contains("qos differs"), "{text}");
        let line = |key: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(key))
                .unwrap()
                .to_string()
        };
        assert!(line("recv_rate").contains("+50.0%") && line("recv_rate").ends_with("better"));
        assert!(line("latency_us.p99").contains("-50.0%") && line("latency_us.p99").ends_with("better"));
        assert!(line("lost").contains("new") && line("lost").ends_with("worse"));
        assert!(!text.contains("errors"));
    }
}
