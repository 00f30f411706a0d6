//! Every published name pinned: the Prometheus families (with their TYPE, HELP text and series),
//! the `$SYS` topics (with the shape of their values) and the `broker/stats` fields, read from a
//! running broker and compared with `published_names.txt`. Dashboards, bench scripts and
//! `robustmq top` read these names, so a change must be deliberate: set `ROBUSTMQ_BLESS=1` to
//! rewrite the file, and review its diff.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use super::common::*;
use super::prometheus::scrape;
use super::support::*;

/// The committed list.
fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/admin/published_names.txt")
}

/// The version in a name or value, so that a release does not change the list.
fn unversioned(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "{version}")
}

/// `prom ...` lines: each family's HELP and TYPE lines, and each sample's series without its
/// value.
async fn prometheus_lines(broker: &TestBroker, out: &mut BTreeSet<String>) {
    let addr = broker.server().metrics_addr().expect("metrics endpoint bound");
    let exposition = scrape(addr).await;
    for (name, help) in &exposition.helps {
        out.insert(format!("prom # HELP {name} {help}"));
    }
    for (name, kind) in &exposition.types {
        out.insert(format!("prom # TYPE {name} {kind}"));
    }
    for series in exposition.samples.keys() {
        out.insert(format!("prom sample {}", unversioned(series)));
    }
}

/// The shape of a `$SYS` value: what a reader parses, not the figure itself.
fn shape(value: &str) -> &'static str {
    let is_int = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if is_int(value) {
        "integer"
    } else if value
        .split_once('.')
        .is_some_and(|(int, frac)| is_int(int) && frac.len() == 2 && is_int(frac))
    {
        "decimal"
    } else if value.strip_suffix(" seconds").is_some_and(is_int) {
        "seconds"
    } else {
        "text"
    }
}

/// `sys ...` lines: every topic of a whole tick, and the retained ones sent at SUBSCRIBE, with the
/// shape of the value.
async fn sys_lines(broker: &TestBroker, out: &mut BTreeSet<String>) {
    // The last topic of a tick: after it twice, the tick in between was seen whole.
    const LAST: &str = "$SYS/broker/load/connections/15min";
    let mut sub = v5::connect(broker, "names-sys").await;
    sub.subscribe("$SYS/#", v5::QoS::AtMostOnce).await;
    let mut ends = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while ends < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no two $SYS ticks in time"
        );
        let p = sub.publish().await;
        let topic = String::from_utf8(p.topic.to_vec()).expect("UTF-8 topic");
        let value = String::from_utf8(p.payload.to_vec()).expect("UTF-8 value");
        if topic == LAST && !p.retain {
            ends += 1;
        }
        out.insert(format!("sys {} {}", unversioned(&topic), shape(&value)));
    }
}

/// `stats ...` lines: every field of the `broker/stats` reply (nested ones with a dot) and its
/// JSON type.
async fn stats_lines(broker: &TestBroker, out: &mut BTreeSet<String>) {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeSet<String>) {
        let kind = match value {
            Value::Object(fields) => {
                for (name, field) in fields {
                    let path = if prefix.is_empty() {
                        name.clone()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    walk(&path, field, out);
                }
                return;
            }
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(n) if n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(items) => {
                out.insert(format!("stats {prefix} array of {}", items.len()));
                return;
            }
        };
        out.insert(format!("stats {prefix} {kind}"));
    }
    let mut admin = Admin5::connect(broker, "names-admin").await;
    let stats = admin.ok("broker/stats", json!({})).await;
    walk("", &stats, out);
}

#[tokio::test]
async fn published_names_match_the_committed_list() {
    let broker = start_with(|s| {
        s.server.sys_interval = Duration::from_millis(200);
        s.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
        // A bridge to nowhere: its figures are published all the same.
        s.bridges.push(robustmq::config::BridgeSettings {
            name: "edge".into(),
            remote: "mqtt://127.0.0.1:1".into(),
            topics: vec![robustmq::config::BridgeTopic {
                filter: "up/#".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
    })
    .await;
    let mut seen = BTreeSet::new();
    prometheus_lines(&broker, &mut seen).await;
    sys_lines(&broker, &mut seen).await;
    stats_lines(&broker, &mut seen).await;
    broker.stop().await;

    let path = golden_path();
    let actual: String = seen.iter().map(|l| format!("{l}\n")).collect();
    if std::env::var_os("ROBUSTMQ_BLESS").is_some() {
        std::fs::write(&path, &actual).expect("write the list");
        return;
    }
    let committed = std::fs::read_to_string(&path).expect("the committed list");
    let expected: BTreeSet<String> = committed.lines().map(str::to_string).collect();
    let missing: Vec<_> = expected.difference(&seen).collect();
    let extra: Vec<_> = seen.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "published names differ from {}\nno longer published: {missing:#?}\nnewly published: {extra:#?}",
        path.display()
    );
}
