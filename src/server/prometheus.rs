//! The Prometheus endpoint: `GET /metrics` in the text exposition format (version 0.0.4), served
//! by a minimal HTTP/1.1 responder when `[metrics] listen` is set.
//!
//! One read-only resource does not need a web framework: each connection sends one request, gets
//! one response and is closed (`Connection: close`), which every scraper handles. `GET` and
//! `HEAD /metrics` (any query string) answer 200; another path is 404; another method on
//! `/metrics` is 405; a request that is not HTTP/1.x, too long or not sent within
//! [`REQUEST_TIMEOUT`] is 400 (or just closed, if nothing arrived).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use super::admin::Admin;
use super::broker::Broker;
use super::figures;
use super::metrics::output::Number;
use super::metrics::table::METRICS;
use super::metrics::HistogramSnapshot;

/// Longest request head accepted.
const MAX_REQUEST: usize = 8 * 1024;
/// Time a client has to send its request, and the server to write the response.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Scrapes served at once; further connections wait in the accept queue.
const MAX_CONCURRENT: usize = 64;
/// The exposition format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves `/metrics` on `listener` until shutdown.
pub async fn run(
    listener: TcpListener,
    broker: Arc<Broker>,
    admin: Arc<Admin>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = shutdown.changed() => return,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!("metrics endpoint: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let broker = broker.clone();
        let admin = admin.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, serve(stream, peer, &broker, &admin)).await;
            drop(permit);
        });
    }
}

async fn serve(mut stream: TcpStream, peer: SocketAddr, broker: &Broker, admin: &Admin) {
    let mut buf = Vec::with_capacity(1024);
    let response = loop {
        if let Some(end) = find_head_end(&buf) {
            break respond(&buf[..end], broker, admin);
        }
        if buf.len() >= MAX_REQUEST {
            break Response::status(400, "Bad Request", "request head too long\n");
        }
        let mut chunk = [0u8; 1024];
        match stream.read(&mut chunk).await {
            Ok(0) if buf.is_empty() => return,
            Ok(0) => break Response::status(400, "Bad Request", "incomplete request\n"),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return,
        }
    };
    if response.code != 200 {
        tracing::debug!(%peer, code = response.code, "metrics endpoint: request refused");
    }
    let _ = stream.write_all(&response.encode()).await;
    let _ = stream.shutdown().await;
}

/// Where the head of a request ends (`\r\n\r\n`, or a bare `\n\n`).
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = buf.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// An HTTP response about to be written.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub code: u16,
    reason: &'static str,
    content_type: &'static str,
    body: String,
    /// HEAD: send the headers only.
    head_only: bool,
    allow: bool,
}

impl Response {
    fn status(code: u16, reason: &'static str, body: &str) -> Response {
        Response {
            code,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
            head_only: false,
            allow: code == 405,
        }
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.code,
            self.reason,
            self.content_type,
            self.body.len()
        );
        if self.allow {
            head.push_str("Allow: GET, HEAD\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if !self.head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
        out
    }
}

/// Answers one request head (request line and headers, without the blank line).
pub fn respond(head: &[u8], broker: &Broker, admin: &Admin) -> Response {
    let Ok(head) = std::str::from_utf8(head) else {
        return Response::status(400, "Bad Request", "request is not UTF-8\n");
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let parts: Vec<&str> = request_line.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return Response::status(400, "Bad Request", "malformed request line\n");
    };
    let valid_method = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    if !valid_method || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Response::status(400, "Bad Request", "malformed request line\n");
    }
    if lines.any(|header| !header.contains(':')) {
        return Response::status(400, "Bad Request", "malformed header\n");
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if path != "/metrics" {
        return Response::status(404, "Not Found", "not found; metrics are at /metrics\n");
    }
    if method != "GET" && method != "HEAD" {
        return Response::status(405, "Method Not Allowed", "only GET and HEAD are supported\n");
    }
    Response {
        code: 200,
        reason: "OK",
        content_type: CONTENT_TYPE,
        body: render(broker, admin),
        head_only: method == "HEAD",
        allow: false,
    }
}

/// Writes metric families in the text exposition format.
struct Exposition(String);

impl Exposition {
    /// A family: HELP and TYPE lines, then one sample per `(labels, value)`; `labels` is the
    /// text inside the braces, or empty.
    fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(&str, Number)]) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            if labels.is_empty() {
                let _ = writeln!(self.0, "{name} {value}");
            } else {
                let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
            }
        }
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, "gauge", help, &[("", Number::Float(value))]);
    }

    fn histogram(&mut self, name: &str, help: &str, h: &HistogramSnapshot) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} histogram");
        for (bound, count) in &h.buckets {
            let le = *bound as f64 / 1e6;
            let _ = writeln!(self.0, "{name}_bucket{{le=\"{le}\"}} {count}");
        }
        let _ = writeln!(self.0, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(self.0, "{name}_sum {}", h.sum_micros as f64 / 1e6);
        let _ = writeln!(self.0, "{name}_count {}", h.count);
    }
}

/// Every metric, now, in the text exposition format: the build, the metrics table's rows,
/// then what a row cannot express (each bridge's figures, the data file's size, the commit
/// latency histogram).
pub fn render(broker: &Broker, admin: &Admin) -> String {
    let now = figures::read(broker);
    let mut e = Exposition(String::with_capacity(4096));
    e.family(
        "robustmq_build_info",
        "gauge",
        "Always 1; the version label says which robustmq this is.",
        &[(
            &format!("version=\"{}\"", env!("CARGO_PKG_VERSION")),
            Number::Int(1),
        )],
    );
    for metric in METRICS {
        if let Some(f) = metric.prometheus {
            e.family(f.name, f.kind.as_str(), f.help, &metric.samples(f.kind, &now));
        }
    }
    let bridges = broker.bridges.figures();
    if !bridges.is_empty() {
        let labels: Vec<String> = bridges.iter().map(|b| format!("bridge=\"{}\"", b.name)).collect();
        let family = |pick: fn(&crate::admin_api::BridgeRow) -> u64| -> Vec<(&str, Number)> {
            labels
                .iter()
                .zip(&bridges)
                .map(|(l, b)| (l.as_str(), Number::Int(pick(b))))
                .collect()
        };
        e.family(
            "robustmq_bridge_connected",
            "gauge",
            "1 while the bridge is connected to its remote.",
            &family(|b| u64::from(b.state == "connected")),
        );
        e.family(
            "robustmq_bridge_queued",
            "gauge",
            "Messages waiting to go to the bridge's remote, in memory and in the store.",
            &family(|b| b.queued),
        );
        e.family(
            "robustmq_bridge_sent_total",
            "counter",
            "PUBLISH packets written to the bridge's remote.",
            &family(|b| b.sent),
        );
        e.family(
            "robustmq_bridge_received_total",
            "counter",
            "PUBLISH packets the bridge's remote sent.",
            &family(|b| b.received),
        );
        e.family(
            "robustmq_bridge_dropped_total",
            "counter",
            "Messages for the bridge's remote dropped because its queue was full.",
            &family(|b| b.dropped),
        );
    }
    if let Some(len) = admin
        .data_file
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
    {
        e.gauge(
            "robustmq_store_file_bytes",
            "Size of the store's data file.",
            len as f64,
        );
    }
    e.histogram(
        "robustmq_store_commit_seconds",
        "Time from the broker submitting a change to the store until it was committed, fsync included (queueing behind the commit in progress counts); one observation per submission, i.e. per acknowledgement that waits for the store.",
        &broker.metrics.store_commit.snapshot(),
    );
    e.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_is_found_with_crlf_or_lf() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n"), Some(14));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }
}
