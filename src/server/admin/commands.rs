//! The admin commands: each reads the broker's state and builds its JSON reply.
//!
//! | command | request | reply |
//! | --- | --- | --- |
//! | `clients/list` | `{"offset": 0, "limit": 1000}` (both optional) | [`ClientList`] |
//! | `sessions/list` | `{"offset": 0, "limit": 1000}` (both optional) | [`SessionList`] |
//! | `topics/top` | `{"limit": 20, "seconds": 10}` (both optional) | [`TopicList`] |
//! | `store/stats` | `{}` | [`StoreReport`] |
//! | `broker/stats` | `{}` | [`BrokerStats`] |
//! | `clients/disconnect` | `{"client_id": "..."}` | [`Disconnected`] |
//!
//! Lists are sorted by client id and paged (`limit` at most [`MAX_PAGE`]) so that a reply
//! stays well under a client's packet size limit. Unknown request fields are an error.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Admin, ADMINISTRATIVE_ACTION};
use crate::server::broker::{Broker, Session};
use crate::server::context::ListenerContext;
use crate::server::handler::ConnState;
use crate::server::metrics::{self, get, HistogramSnapshot};

/// Most rows one list reply carries.
pub const MAX_PAGE: usize = 10_000;
/// Rows a list reply carries when the request does not say.
pub const DEFAULT_PAGE: usize = 1_000;

/// Runs `command` with its parameters (a JSON object); `Err` is the reply's error text.
pub fn run(ctx: &ListenerContext, st: &ConnState, command: &str, params: Value) -> Result<Value, String> {
    let broker = &ctx.broker;
    let admin = &ctx.admin;
    match command {
        "clients/list" => reply(clients_list(broker, parse(params)?)),
        "sessions/list" => reply(sessions_list(broker, parse(params)?)),
        "topics/top" => reply(topics_top(admin, parse(params)?)?),
        "store/stats" => {
            parse::<Empty>(params)?;
            reply(store_stats(broker, admin))
        }
        "broker/stats" => {
            parse::<Empty>(params)?;
            reply(broker_stats(broker))
        }
        "clients/disconnect" => reply(disconnect(broker, st, parse(params)?)),
        "bridges/list" => {
            parse::<Empty>(params)?;
            reply(BridgeList {
                bridges: broker.bridges.figures(),
            })
        }
        other => Err(format!(
            "unknown command {other:?}; known: clients/list, sessions/list, topics/top, store/stats, \
             broker/stats, clients/disconnect, bridges/list"
        )),
    }
}

/// Reply of `bridges/list`.
#[derive(Debug, Serialize)]
struct BridgeList {
    /// Every bridge, in configuration order.
    bridges: Vec<crate::server::bridge::status::BridgeFigures>,
}

fn parse<T: DeserializeOwned>(params: Value) -> Result<T, String> {
    serde_json::from_value(params).map_err(|e| format!("bad request: {e}"))
}

fn reply<T: Serialize>(value: T) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| format!("cannot encode the reply: {e}"))
}

/// A request without parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// Paging of a list request.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Page {
    offset: usize,
    limit: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: DEFAULT_PAGE,
        }
    }
}

/// Sessions sorted by client id, for stable paging.
fn sorted_sessions(broker: &Broker) -> Vec<Arc<Session>> {
    let mut sessions = broker.sessions_snapshot();
    sessions.sort_unstable_by(|a, b| a.client_id.cmp(&b.client_id));
    sessions
}

/// Reply of `clients/list`: the connected clients.
#[derive(Debug, Serialize)]
pub struct ClientList {
    /// Clients connected in all.
    pub total: usize,
    /// Index of the first row in the whole list.
    pub offset: usize,
    /// Rows in this page.
    pub clients: Vec<ClientInfo>,
}

/// One connected client.
#[derive(Debug, Serialize)]
pub struct ClientInfo {
    /// Client identifier.
    pub client_id: String,
    /// Peer address, `ip:port`.
    pub address: String,
    /// `"3.1"`, `"3.1.1"` or `"5.0"`.
    pub protocol_version: String,
    /// Protocol level byte: 3, 4 or 5.
    pub protocol_level: u8,
    /// When the connection was accepted, Unix milliseconds.
    pub connected_since_ms: u64,
    /// Keep alive in force, seconds; 0 = none.
    pub keep_alive: u16,
    /// Clean start / clean session flag of CONNECT.
    pub clean_start: bool,
    /// Session expiry interval, seconds (`4294967295`: never).
    pub session_expiry_interval: u32,
    /// Subscriptions of the session.
    pub subscriptions: usize,
    /// QoS 1/2 messages sent and not yet acknowledged.
    pub inflight: usize,
    /// Messages waiting to be sent.
    pub queued: usize,
    /// Bytes of the waiting messages (approximate).
    pub queued_bytes: usize,
    /// PUBLISH packets received from the client on this connection.
    pub messages_in: u64,
    /// PUBLISH packets sent to the client on this connection.
    pub messages_out: u64,
    /// Bytes read from the client on this connection.
    pub bytes_in: u64,
    /// Bytes written to the client on this connection.
    pub bytes_out: u64,
    /// Messages the session could not take (queue full, too large, expired), over its life.
    pub dropped: u64,
}

fn clients_list(broker: &Broker, page: Page) -> ClientList {
    let rows: Vec<ClientInfo> = sorted_sessions(broker)
        .iter()
        .filter_map(|session| {
            let st = session.lock();
            let conn = st.conn()?;
            let stats = &conn.stats;
            Some(ClientInfo {
                client_id: session.client_id.to_string(),
                address: stats.peer.to_string(),
                protocol_version: conn.version.to_string(),
                protocol_level: conn.version.level(),
                connected_since_ms: stats.connected_at_ms,
                keep_alive: stats.keep_alive,
                clean_start: stats.clean_start,
                session_expiry_interval: st.expiry_interval(),
                subscriptions: st.subscription_count(),
                inflight: st.inflight(),
                queued: st.queued(),
                queued_bytes: st.queued_bytes(),
                messages_in: get(&stats.messages_in),
                messages_out: get(&stats.messages_out),
                bytes_in: get(&stats.bytes_in),
                bytes_out: get(&stats.bytes_out),
                dropped: st.dropped(),
            })
        })
        .collect();
    let total = rows.len();
    ClientList {
        total,
        offset: page.offset,
        clients: rows
            .into_iter()
            .skip(page.offset)
            .take(page.limit.min(MAX_PAGE))
            .collect(),
    }
}

/// Reply of `sessions/list`: persistent sessions whose client is offline.
#[derive(Debug, Serialize)]
pub struct SessionList {
    /// Offline sessions in all.
    pub total: usize,
    /// Index of the first row in the whole list.
    pub offset: usize,
    /// Rows in this page.
    pub sessions: Vec<SessionInfo>,
}

/// One offline session.
#[derive(Debug, Serialize)]
pub struct SessionInfo {
    /// Client identifier.
    pub client_id: String,
    /// Messages waiting for the client.
    pub queued: usize,
    /// QoS 1/2 messages sent before it went offline, to be resent.
    pub inflight: usize,
    /// Subscriptions kept.
    pub subscriptions: usize,
    /// When the client went offline, Unix milliseconds.
    pub offline_since_ms: Option<u64>,
    /// Session expiry interval, seconds.
    pub expiry_interval: u32,
    /// When the session ends unless the client returns, Unix milliseconds; `null`: never.
    pub expires_at_ms: Option<u64>,
    /// Messages the session could not take, over its life.
    pub dropped: u64,
}

fn sessions_list(broker: &Broker, page: Page) -> SessionList {
    let rows: Vec<SessionInfo> = sorted_sessions(broker)
        .iter()
        .filter_map(|session| {
            let st = session.lock();
            if st.conn().is_some() {
                return None;
            }
            let expires_at_ms = match (st.expiry_interval(), st.offline_since_ms()) {
                (u32::MAX, _) | (_, None) => None,
                (secs, Some(since)) => Some(since.saturating_add(secs as u64 * 1000)),
            };
            Some(SessionInfo {
                client_id: session.client_id.to_string(),
                queued: st.queued(),
                inflight: st.inflight(),
                subscriptions: st.subscription_count(),
                offline_since_ms: st.offline_since_ms(),
                expiry_interval: st.expiry_interval(),
                expires_at_ms,
                dropped: st.dropped(),
            })
        })
        .collect();
    let total = rows.len();
    SessionList {
        total,
        offset: page.offset,
        sessions: rows
            .into_iter()
            .skip(page.offset)
            .take(page.limit.min(MAX_PAGE))
            .collect(),
    }
}

/// Request of `topics/top`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TopRequest {
    /// Most topics to return (at most 1000).
    limit: usize,
    /// Window, in whole seconds (1 ..= 10).
    seconds: usize,
}

impl Default for TopRequest {
    fn default() -> Self {
        TopRequest {
            limit: 20,
            seconds: super::topics::HISTORY,
        }
    }
}

/// Reply of `topics/top`: the busiest topics by messages received from clients.
#[derive(Debug, Serialize)]
pub struct TopicList {
    /// Seconds the figures cover (less than asked for in the broker's first seconds).
    pub window_seconds: f64,
    /// Distinct topics published to in the window.
    pub distinct_topics: usize,
    /// Messages on topics past the tracking limit (16,384 distinct topics per second).
    pub untracked_messages: u64,
    /// 1: every message was counted. N > 1: under load, one message in N was (at random, per
    /// connection) and the figures are estimates.
    pub sampling: u64,
    /// Busiest first.
    pub topics: Vec<TopicInfo>,
}

/// One topic's traffic in the window.
#[derive(Debug, Serialize)]
pub struct TopicInfo {
    /// Topic name.
    pub topic: String,
    /// PUBLISH packets received on it.
    pub messages: u64,
    /// Payload bytes received on it.
    pub bytes: u64,
    /// `messages` per second of the window.
    pub messages_per_second: f64,
    /// `bytes` per second of the window.
    pub bytes_per_second: f64,
}

fn topics_top(admin: &Admin, request: TopRequest) -> Result<TopicList, String> {
    if !(1..=super::topics::HISTORY).contains(&request.seconds) {
        return Err(format!(
            "bad request: seconds must be 1 ..= {}",
            super::topics::HISTORY
        ));
    }
    let top = admin.topics.top(request.seconds, request.limit.min(1000));
    let secs = top.window.as_secs_f64();
    let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    Ok(TopicList {
        window_seconds: secs,
        distinct_topics: top.distinct,
        untracked_messages: top.untracked.messages,
        sampling: top.sampling,
        topics: top
            .topics
            .iter()
            .map(|t| TopicInfo {
                topic: t.topic.to_string(),
                messages: t.count.messages,
                bytes: t.count.bytes,
                messages_per_second: rate(t.count.messages),
                bytes_per_second: rate(t.count.bytes),
            })
            .collect(),
    })
}

/// Reply of `store/stats`.
#[derive(Debug, Serialize)]
pub struct StoreReport {
    /// Whether the broker has a store at all.
    pub durable: bool,
    /// `immediate` or `periodic`.
    pub durability: String,
    /// Path of the data file.
    pub file: Option<String>,
    /// Size of the data file in bytes (`null` if it cannot be read).
    pub file_bytes: Option<u64>,
    /// Write transactions committed since start (a group commit counts once).
    pub commits: u64,
    /// Commits that were fsynced.
    pub fsyncs: u64,
    /// Changes applied in those commits.
    pub ops: u64,
    /// Duration of the last commit, fsync included, microseconds.
    pub last_commit_us: u64,
    /// Submissions not committed: refused while the disk was full, or failed.
    pub errors: u64,
    /// Whether the disk is full now: new messages that must be stored are refused.
    pub full: bool,
    /// Bytes of queued messages the store holds for persistent sessions.
    pub store_bytes: u64,
    /// The configured bound of `store_bytes`.
    pub max_store_bytes: u64,
    /// Messages queued or in flight, all sessions.
    pub queued_messages: usize,
    /// Submit-to-commit latency of the broker's changes (see `robustmq_store_commit_seconds`).
    pub commit_latency: Latency,
}

/// A latency histogram in JSON.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Observations.
    pub count: u64,
    /// Sum of the observations, seconds.
    pub sum_seconds: f64,
    /// Cumulative counts: `[upper bound in seconds, observations ≤ bound]`.
    pub buckets: Vec<(f64, u64)>,
}

impl From<HistogramSnapshot> for Latency {
    fn from(h: HistogramSnapshot) -> Self {
        Latency {
            count: h.count,
            sum_seconds: h.sum_micros as f64 / 1e6,
            buckets: h
                .buckets
                .into_iter()
                .map(|(bound, n)| (bound as f64 / 1e6, n))
                .collect(),
        }
    }
}

fn store_stats(broker: &Broker, admin: &Admin) -> StoreReport {
    let stats = broker.store().map(|s| s.stats()).unwrap_or_default();
    let file_bytes = admin
        .data_file
        .as_ref()
        .and_then(|path| std::fs::metadata(path).ok())
        .map(|m| m.len());
    StoreReport {
        durable: broker.store().is_some(),
        durability: admin.durability.clone(),
        file: admin.data_file.as_ref().map(|p| p.display().to_string()),
        file_bytes,
        commits: stats.commits,
        fsyncs: stats.fsyncs,
        ops: stats.ops,
        last_commit_us: stats.last_commit_micros,
        errors: stats.errors,
        full: stats.full,
        store_bytes: get(&broker.metrics.store_bytes),
        max_store_bytes: admin.max_store_bytes,
        queued_messages: broker.census().queued_messages,
        commit_latency: broker.metrics.store_commit.snapshot().into(),
    }
}

/// Reply of `broker/stats`: the `$SYS` figures, read now. Its fields are `version`, then the
/// `broker/stats` field of each row of [`metrics::table::METRICS`] that has one, in the table's
/// order (`limits.<name>` is field `<name>` of object `limits`).
pub type BrokerStats = serde_json::Map<String, Value>;

/// The `broker/stats` reply, read now.
pub fn broker_stats(broker: &Broker) -> BrokerStats {
    metrics::output::stats(&crate::server::figures::read(broker))
}

/// Request of `clients/disconnect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisconnectRequest {
    client_id: String,
}

/// Reply of `clients/disconnect`.
#[derive(Debug, Serialize)]
pub struct Disconnected {
    /// The client id asked for.
    pub client_id: String,
    /// Whether a client with that id was connected (and is now told to go, with v5 reason
    /// 0x98 administrative action). Its session, if persistent, stays.
    pub existed: bool,
}

fn disconnect(broker: &Broker, requester: &ConnState, request: DisconnectRequest) -> Disconnected {
    let told = broker.session(&request.client_id).and_then(|session| {
        let st = session.lock();
        st.conn().map(|conn| conn.stats.kick.send(ADMINISTRATIVE_ACTION))
    });
    let existed = told.is_some();
    if told == Some(true) {
        tracing::info!(
            client_id = %request.client_id,
            by = %requester.client_id,
            "disconnecting client at an admin request (administrative action)"
        );
    }
    Disconnected {
        client_id: request.client_id,
        existed,
    }
}
