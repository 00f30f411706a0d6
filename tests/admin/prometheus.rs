//! The Prometheus endpoint: scraped over raw TCP, parsed line by line as the text exposition
//! format, checked before and after traffic; the error paths; bind failure; shutdown.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::common::*;
use super::support::*;

/// A broker with the metrics endpoint on an ephemeral loopback port.
async fn start_with_metrics() -> (TestBroker, SocketAddr) {
    let broker = start_with(|s| s.metrics.listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let addr = broker.server().metrics_addr().expect("metrics endpoint bound");
    (broker, addr)
}

/// An HTTP response: status code, headers (lower-case names), body.
struct Http {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

/// Sends `request` as is and reads the response until the server closes.
async fn http(addr: SocketAddr, request: &[u8]) -> Http {
    let mut stream = TcpStream::connect(addr).await.expect("connect to metrics");
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("response within WAIT")
        .unwrap();
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
    let status = parts.next().unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header");
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect::<HashMap<_, _>>();
    let length: usize = headers["content-length"].parse().unwrap();
    if !request.starts_with(b"HEAD") {
        assert_eq!(length, body.len(), "Content-Length");
    }
    Http {
        status,
        headers,
        body: body.to_string(),
    }
}

/// One parsed exposition: family → (type, help), and every sample by `name{labels}`.
#[derive(Debug, Default)]
pub struct Exposition {
    pub types: HashMap<String, String>,
    pub helps: HashMap<String, String>,
    pub samples: BTreeMap<String, f64>,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Checks `{k="v",k="v"}` and returns it unchanged.
fn check_labels(labels: &str, line: &str) {
    let inner = labels
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or_else(|| panic!("labels not in braces: {line}"));
    for pair in inner.split(',') {
        let (k, v) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("label without =: {line}"));
        assert!(is_name(k), "label name {k:?}: {line}");
        assert!(
            v.len() >= 2 && v.starts_with('"') && v.ends_with('"') && !v[1..v.len() - 1].contains('"'),
            "label value {v:?}: {line}"
        );
    }
}

/// The family a sample belongs to (histograms add `_bucket`, `_sum`, `_count`).
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> &'a str {
    if types.contains_key(name) {
        return name;
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.get(base).is_some_and(|t| t == "histogram") {
                return base;
            }
        }
    }
    panic!("sample {name} has no TYPE line before it");
}

/// Parses the text format line by line, asserting its rules as it goes.
fn parse(body: &str) -> Exposition {
    let mut e = Exposition::default();
    assert!(body.ends_with('\n'), "the exposition ends with a newline");
    for line in body.lines() {
        assert!(!line.is_empty(), "no blank lines");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(is_name(name) && !help.is_empty(), "{line}");
            assert!(
                e.helps.insert(name.into(), help.into()).is_none(),
                "HELP twice: {line}"
            );
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(is_name(name), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(e.helps.contains_key(name), "HELP before TYPE: {line}");
            assert!(
                e.types.insert(name.into(), kind.into()).is_none(),
                "TYPE twice: {line}"
            );
        } else {
            assert!(!line.starts_with('#'), "unexpected comment: {line}");
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("sample: {line}"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("value {v:?}: {line}")),
            };
            let name = match series.find('{') {
                Some(i) => {
                    check_labels(&series[i..], line);
                    &series[..i]
                }
                None => series,
            };
            assert!(is_name(name), "metric name {name:?}: {line}");
            let family = family_of(name, &e.types);
            if e.types[family] == "counter" {
                assert!(family.ends_with("_total"), "counter {family} must end in _total");
                assert!(value >= 0.0, "{line}");
            }
            assert!(
                e.samples.insert(series.into(), value).is_none(),
                "sample twice: {line}"
            );
        }
    }
    for name in e.helps.keys() {
        assert!(e.types.contains_key(name), "{name} has HELP but no TYPE");
    }
    e
}

impl Exposition {
    fn get(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no sample {series}"))
    }

    /// Checks a histogram: buckets cumulative, ending in +Inf equal to _count.
    fn check_histogram(&self, name: &str) {
        assert_eq!(self.types[name], "histogram");
        let prefix = format!("{name}_bucket{{le=\"");
        let mut buckets: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter_map(|(k, v)| {
                let le = k.strip_prefix(&prefix)?.strip_suffix("\"}")?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                Some((le, *v))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(buckets.len() > 2, "{name} buckets");
        assert!(
            buckets.windows(2).all(|w| w[0].1 <= w[1].1),
            "{name} buckets are cumulative"
        );
        let (last_le, last) = *buckets.last().unwrap();
        assert_eq!(last_le, f64::INFINITY);
        assert_eq!(last, self.get(&format!("{name}_count")));
        assert!(self.get(&format!("{name}_sum")) >= 0.0);
    }
}

/// Scrapes `/metrics` and parses it, checking the exposition format.
pub async fn scrape(addr: SocketAddr) -> Exposition {
    let response = http(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n",
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse(&response.body)
}

const EXPECTED: [(&str, &str); 16] = [
    ("robustmq_connections", "gauge"),
    ("robustmq_connections_total", "counter"),
    ("robustmq_messages_received_total", "counter"),
    ("robustmq_messages_sent_total", "counter"),
    ("robustmq_bytes_received_total", "counter"),
    ("robustmq_bytes_sent_total", "counter"),
    ("robustmq_publish_dropped_total", "counter"),
    ("robustmq_subscriptions", "gauge"),
    ("robustmq_retained_messages", "gauge"),
    ("robustmq_queued_messages", "gauge"),
    ("robustmq_store_commits_total", "counter"),
    ("robustmq_store_fsyncs_total", "counter"),
    ("robustmq_store_bytes", "gauge"),
    ("robustmq_store_commit_seconds", "histogram"),
    ("robustmq_sessions", "gauge"),
    ("robustmq_uptime_seconds", "gauge"),
];

#[tokio::test]
async fn metrics_are_valid_exposition_and_move_with_traffic() {
    let (broker, addr) = start_with_metrics().await;
    let before = scrape(addr).await;
    for (name, kind) in EXPECTED {
        assert_eq!(before.types.get(name).map(String::as_str), Some(kind), "{name}");
    }
    assert_eq!(before.get("robustmq_connections"), 0.0);
    assert_eq!(before.get("robustmq_messages_received_total{qos=\"1\"}"), 0.0);
    before.check_histogram("robustmq_store_commit_seconds");

    let mut o = v5::options(&broker, "sub");
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(60));
    let (mut sub, _) = v5::connect_with(o).await;
    sub.subscribe("m/#", v5::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "pub").await;
    for i in 0..5 {
        publisher
            .client
            .publish("m/t", v5::QoS::AtLeastOnce, i == 0, "payload")
            .await
            .unwrap();
        puback(&mut publisher).await;
    }
    publisher
        .client
        .publish("m/t", v5::QoS::AtMostOnce, false, "zero")
        .await
        .unwrap();
    for _ in 0..6 {
        sub.publish().await;
    }
    let after = scrape(addr).await;
    assert_eq!(after.get("robustmq_connections"), 2.0);
    assert_eq!(after.get("robustmq_connections_total"), 2.0);
    assert_eq!(after.get("robustmq_sessions"), 2.0);
    assert_eq!(after.get("robustmq_messages_received_total{qos=\"1\"}"), 5.0);
    assert_eq!(after.get("robustmq_messages_received_total{qos=\"0\"}"), 1.0);
    assert_eq!(after.get("robustmq_messages_received_total{qos=\"2\"}"), 0.0);
    assert_eq!(after.get("robustmq_messages_sent_total{qos=\"1\"}"), 5.0);
    assert_eq!(after.get("robustmq_messages_sent_total{qos=\"0\"}"), 1.0);
    assert_eq!(after.get("robustmq_subscriptions"), 1.0);
    assert!(after.get("robustmq_retained_messages") >= 1.0);
    for counter in [
        "robustmq_bytes_received_total",
        "robustmq_bytes_sent_total",
        "robustmq_store_commits_total",
        "robustmq_store_fsyncs_total",
        "robustmq_store_commit_seconds_count",
        "robustmq_packets_received_total",
    ] {
        assert!(after.get(counter) > before.get(counter), "{counter} did not move");
    }
    assert!(after.get("robustmq_store_file_bytes") > 0.0);
    after.check_histogram("robustmq_store_commit_seconds");
    assert!(after.get("robustmq_uptime_seconds") >= before.get("robustmq_uptime_seconds"));
    assert_eq!(
        after.get(&format!(
            "robustmq_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    broker.stop().await;
}

#[tokio::test]
async fn other_requests_get_404_405_or_400() {
    let (broker, addr) = start_with_metrics().await;
    let cases: [(&[u8], u16); 9] = [
        (b"GET / HTTP/1.1\r\n\r\n", 404),
        (b"GET /metricsx HTTP/1.1\r\n\r\n", 404),
        (b"GET /metrics/ HTTP/1.0\r\n\r\n", 404),
        (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
        (b"HELLO\r\n\r\n", 400),
        (b"GET /metrics SPDY/3\r\n\r\n", 400),
        (b"GET metrics HTTP/1.1\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"\xff\xfe /metrics HTTP/1.1\r\n\r\n", 400),
    ];
    for (request, status) in cases {
        let response = http(addr, request).await;
        assert_eq!(response.status, status, "{:?}", String::from_utf8_lossy(request));
        assert!(!response.body.contains("robustmq_"), "no metrics on an error");
    }
    let post = http(addr, b"POST /metrics HTTP/1.1\r\n\r\n").await;
    assert_eq!(post.headers["allow"], "GET, HEAD");

    // A head that never ends is cut off at 8 KiB.
    let mut long = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 10_000));
    assert_eq!(http(addr, &long).await.status, 400);

    // A query string and HTTP/1.0 are fine; HEAD sends no body.
    let ok = http(addr, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n").await;
    assert_eq!(ok.status, 200);
    parse(&ok.body);
    let head = http(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n").await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert!(head.headers["content-length"].parse::<usize>().unwrap() > 0);

    // A client that connects and says nothing, or closes at once, harms no one.
    drop(TcpStream::connect(addr).await.unwrap());
    let _idle = TcpStream::connect(addr).await.unwrap();
    scrape(addr).await;
    broker.stop().await;
}

#[tokio::test]
async fn a_busy_metrics_address_is_a_clear_startup_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = robustmq::config::Settings::default();
    settings.server.data_dir = dir.path().to_path_buf();
    settings.listeners[0].bind = Some("127.0.0.1:0".parse().unwrap());
    settings.metrics.listen = Some(busy);
    let error = robustmq::server::start(&settings)
        .await
        .expect_err("the metrics address is in use");
    assert!(
        matches!(error, robustmq::server::ServerError::MetricsBind { addr, .. } if addr == busy),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&busy.to_string()) && message.contains("[metrics] listen"),
        "{message}"
    );
    // The data directory is free again: a broker starts on it.
    settings.metrics.listen = None;
    let server = robustmq::server::start(&settings).await.expect("starts");
    server.shutdown(std::time::Duration::from_secs(1)).await;
}

#[tokio::test]
async fn the_endpoint_stops_with_the_broker() {
    let (broker, addr) = start_with_metrics().await;
    scrape(addr).await;
    broker.stop().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}

#[tokio::test]
async fn no_endpoint_unless_configured() {
    let broker = start().await;
    assert_eq!(broker.server().metrics_addr(), None);
    broker.stop().await;
}
