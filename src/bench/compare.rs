//! `--compare baseline.json`: each figure of this run against the same figure of an earlier
//! `--json` output, with its change in percent and whether that is better, worse, or the same
//! within `--threshold`; a throughput or latency figure worse beyond it is a regression.

use std::fmt::Write;

use serde_json::Value;

use super::report::percent;

/// Whether more of a figure is better, and whether getting worse beyond the threshold fails
/// the run.
#[derive(Debug, Clone, Copy)]
struct Figure {
    path: &'static str,
    more_is_better: bool,
    /// What the bench is for: throughput and latency up to p99 (of connections only in `bench
    /// conn`; elsewhere a handful of connections is too few samples). Counts follow from the
    /// run's length or fail the run on their own (lost, errors); p99.9, max and CPU rest on too
    /// few samples to hold a run to a few percent.
    gated: bool,
}

const fn figure(path: &'static str, more_is_better: bool, gated: bool) -> Figure {
    Figure {
        path,
        more_is_better,
        gated,
    }
}

/// The figures compared, in the order printed.
const FIGURES: &[Figure] = &[
    figure("connected", true, false),
    figure("connect_failures", false, false),
    figure("connect_rate", true, true),
    figure("connect_latency_us.p50", false, true),
    figure("connect_latency_us.p99", false, true),
    figure("dropped", false, false),
    figure("sent", true, false),
    figure("accepted", true, false),
    figure("refused", false, false),
    figure("unacknowledged", false, false),
    figure("received", true, false),
    figure("lost", false, false),
    figure("not_received", false, false),
    figure("duplicates", false, false),
    figure("reordered", false, false),
    figure("send_rate", true, true),
    figure("accept_rate", true, true),
    figure("send_mb_s", true, true),
    figure("recv_rate", true, true),
    figure("recv_mb_s", true, true),
    figure("latency_us.p50", false, true),
    figure("latency_us.p90", false, true),
    figure("latency_us.p99", false, true),
    figure("latency_us.p999", false, false),
    figure("latency_us.max", false, false),
    figure("ack_latency_us.p50", false, true),
    figure("ack_latency_us.p99", false, true),
    figure("errors", false, false),
    figure("bench_cpu", false, false),
];

/// The default of `--threshold`, in percent.
pub const DEFAULT_THRESHOLD: f64 = 5.0;

/// A figure worse than the baseline by more than the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// Its JSON path: `recv_rate`, `latency_us.p99`.
    pub figure: &'static str,
    /// Its change in percent of the baseline (negative: it went down).
    pub change: f64,
}

/// A run set against its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// What to print: one line per figure.
    pub text: String,
    /// The gated figures worse beyond the threshold, in the order printed.
    pub regressions: Vec<Regression>,
}

/// How one figure changed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    /// Within the threshold (either way).
    Same,
    Better,
    Worse,
}

/// The change from `old` to `new` in percent of `old` (None when `old` is 0), and what it
/// comes to with `threshold` percent taken as noise.
fn change(old: f64, new: f64, more_is_better: bool, threshold: f64) -> (Option<f64>, Change) {
    let percent = (old != 0.0).then(|| (new - old) / old.abs() * 100.0);
    let direction = if (new > old) == more_is_better {
        Change::Better
    } else {
        Change::Worse
    };
    match percent {
        _ if new == old => (percent, Change::Same),
        Some(p) if p.abs() <= threshold => (percent, Change::Same),
        _ => (percent, direction),
    }
}

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

/// The comparison of `current` with `baseline` (both as `--json` writes them): `name` says
/// where the baseline came from, and changes within `threshold` percent count as the same.
pub fn compare(baseline: &Value, current: &Value, name: &str, threshold: f64) -> Comparison {
    let mut out = String::new();
    let mut regressions = Vec::new();
    let _ = writeln!(
        out,
        "compared with {name} (within ±{}% counts as the same):",
        percent(threshold)
    );
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
    let conn = lookup(current, "command").and_then(Value::as_str) == Some("conn");
    for f in FIGURES {
        let gated = f.gated && (conn || !f.path.starts_with("connect_"));
        let (Some(old), Some(new)) = (
            lookup(baseline, f.path).and_then(Value::as_f64),
            lookup(current, f.path).and_then(Value::as_f64),
        ) else {
            continue;
        };
        if old == 0.0 && new == 0.0 {
            continue;
        }
        let (percent_change, what) = change(old, new, f.more_is_better, threshold);
        let shown = percent_change.map_or("new".to_string(), |p| format!("{p:+.1}%"));
        let verdict = match what {
            Change::Same => format!("same (±{}%)", percent(threshold)),
            Change::Better => "better".to_string(),
            Change::Worse => match percent_change {
                // Without a baseline figure there is no percentage to hold it to.
                Some(p) if gated => {
                    regressions.push(Regression {
                        figure: f.path,
                        change: p,
                    });
                    "worse: regression".to_string()
                }
                _ => "worse".to_string(),
            },
        };
        let _ = writeln!(
            out,
            "  {:<22} {:>14} {:>14} {:>9}  {verdict}",
            f.path,
            number(old),
            number(new),
            shown
        );
    }
    Comparison {
        text: out,
        regressions,
    }
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

    fn line<'a>(text: &'a str, key: &str) -> &'a str {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} line in {text}"))
    }

    #[test]
    fn shows_changes_and_direction() {
        let old = json!({"command": "pubsub", "qos": 1, "recv_rate": 1000.0, "lost": 0,
                         "latency_us": {"p99": 200}, "errors": 0});
        let new = json!({"command": "pubsub", "qos": 0, "recv_rate": 1500.0, "lost": 3,
                         "latency_us": {"p99": 100}, "errors": 0});
        let c = compare(&old, &new, "base.json", 5.0);
        let text = &c.text;
        assert!(text.contains("compared with base.json (within ±5%"), "{text}");
        assert!(text.contains("qos differs"), "{text}");
        assert!(line(text, "recv_rate").contains("+50.0%") && line(text, "recv_rate").ends_with("better"));
        assert!(
            line(text, "latency_us.p99").contains("-50.0%")
                && line(text, "latency_us.p99").ends_with("better")
        );
        assert!(line(text, "lost").contains("new") && line(text, "lost").ends_with("worse"));
        assert!(!text.contains("errors"));
        assert!(c.regressions.is_empty(), "{c:?}");
    }

    #[test]
    fn noise_within_the_threshold_is_the_same() {
        let old = json!({"recv_rate": 1000.0, "send_rate": 1000.0, "sent": 500});
        let new = json!({"recv_rate": 1000.4, "send_rate": 960.0, "sent": 500});
        let c = compare(&old, &new, "b", 5.0);
        assert!(
            line(&c.text, "recv_rate").ends_with("+0.0%  same (±5%)"),
            "{}",
            c.text
        );
        assert!(
            line(&c.text, "send_rate").ends_with("-4.0%  same (±5%)"),
            "{}",
            c.text
        );
        assert!(line(&c.text, "sent").ends_with("same (±5%)"), "{}", c.text);
        assert!(
            !c.text.contains("better") && !c.text.contains("worse"),
            "{}",
            c.text
        );
        assert!(c.regressions.is_empty());
        // A tighter threshold makes the same 4% a regression.
        let c = compare(&old, &new, "b", 2.5);
        assert!(
            line(&c.text, "send_rate").ends_with("worse: regression"),
            "{}",
            c.text
        );
        assert_eq!(
            c.regressions,
            vec![Regression {
                figure: "send_rate",
                change: -4.0
            }]
        );
    }

    #[test]
    fn only_throughput_and_latency_regress() {
        let old = json!({"recv_rate": 1000.0, "latency_us": {"p50": 100, "p99": 1000, "max": 2000},
                         "sent": 1000, "refused": 10, "bench_cpu": 0.5});
        let new = json!({"recv_rate": 900.0, "latency_us": {"p50": 100, "p99": 1100, "max": 9000},
                         "sent": 500, "refused": 50, "bench_cpu": 0.9});
        let c = compare(&old, &new, "b", 5.0);
        let figures: Vec<&str> = c.regressions.iter().map(|r| r.figure).collect();
        assert_eq!(figures, vec!["recv_rate", "latency_us.p99"], "{}", c.text);
        assert!((c.regressions[0].change + 10.0).abs() < 1e-9);
        for key in ["sent", "refused", "latency_us.max", "bench_cpu"] {
            assert!(line(&c.text, key).ends_with("  worse"), "{key}: {}", c.text);
        }
        assert!(
            line(&c.text, "latency_us.p50").ends_with("same (±5%)"),
            "{}",
            c.text
        );
    }

    #[test]
    fn connections_regress_only_in_bench_conn() {
        let old = json!({"command": "pubsub", "connect_rate": 400.0,
                         "connect_latency_us": {"p50": 3000, "p99": 5000}});
        let mut new = json!({"command": "pubsub", "connect_rate": 160.0,
                             "connect_latency_us": {"p50": 6000, "p99": 8000}});
        let c = compare(&old, &new, "b", 5.0);
        assert!(c.regressions.is_empty(), "{}", c.text);
        assert!(line(&c.text, "connect_rate").ends_with("  worse"), "{}", c.text);
        new["command"] = json!("conn");
        let c = compare(&old, &new, "b", 5.0);
        let figures: Vec<&str> = c.regressions.iter().map(|r| r.figure).collect();
        assert_eq!(
            figures,
            vec!["connect_rate", "connect_latency_us.p50", "connect_latency_us.p99"]
        );
    }

    #[test]
    fn changes_at_the_threshold_are_the_same() {
        assert_eq!(change(100.0, 105.0, true, 5.0).1, Change::Same);
        assert_eq!(change(100.0, 94.9, true, 5.0).1, Change::Worse);
        assert_eq!(change(100.0, 94.9, false, 5.0).1, Change::Better);
        assert_eq!(change(0.0, 3.0, false, 5.0), (None, Change::Worse));
        assert_eq!(change(7.0, 7.0, true, 0.0).1, Change::Same);
    }
}
