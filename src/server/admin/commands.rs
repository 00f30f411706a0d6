//! The admin commands: each reads the broker's state and builds its JSON reply.
//!
//! | command | request | reply |
//! | --- | --- | --- |
//! | `clients/list` | `{"offset": 0, "limit": 1000}` (both optional) | [`ClientList`] |
//! | `sessions/list` | `{"offset": 0, "limit": 1000}` (both optional) | [`SessionList`] |
//! | `topics/top` | `{"limit": 20, "seconds": 10}` (both optional) | [`TopicList`] |
//! | `store/stats` | `{}` | [`StoreStats`] |
//! | `broker/stats` | `{}` | [`broker_stats`] (the `$SYS` figures) |
//! | `clients/disconnect` | `{"client_id": "..."}` | [`Disconnected`] |
//! | `clients/get` | `{"client_id": "..."}` | [`ClientDetail`]; an error if it is not connected |
//! | `bridges/list` | `{}` | [`BridgeList`] |
//! | `subscriptions/list` | `{"offset": 0, "limit": 1000}` (both optional) | [`SubscriptionList`] |
//! | `retained/list` | `{"offset": 0, "limit": 1000}` (both optional) | [`RetainedList`] |
//! | `retained/delete` | `{"topic": "..."}` | [`RetainedDeleted`] |
//! | `sessions/delete` | `{"client_id": "..."}` | [`SessionDeleted`]; an error if its client is connected |
//!
//! Lists are sorted (by client id, filter or topic) and paged (`limit` at most [`MAX_PAGE`]) so that a reply
//! stays well under a client's packet size limit. Unknown request fields are an error.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Admin, Requester};
use crate::admin_api::{
    preview, BridgeList, ClientDetail, ClientIdRequest, ClientList, ClientRow, Disconnected, Latency,
    RetainedDeleted, RetainedList, RetainedRow, SessionDeleted, SessionList, SessionRow, StoreStats,
    SubscriberRow, SubscriptionInfo, SubscriptionList, TopicList, TopicRequest, TopicRow, WillInfo,
    MAX_DETAIL_SUBSCRIPTIONS,
};
use crate::protocol::{ReasonCode, RetainHandling};
use crate::server::broker::removal::DeleteSessionError;
use crate::server::broker::{Broker, Session};
use crate::server::metrics::{self, get, HistogramSnapshot};

/// Most rows one list reply carries.
pub const MAX_PAGE: usize = 10_000;
/// Rows a list reply carries when the request does not say.
pub const DEFAULT_PAGE: usize = 1_000;

/// Why a command has no reply but `{"error": ...}`; its Display is the error text.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No such command (held here).
    #[error(
        "unknown command {0:?}; known: clients/list, clients/get, clients/disconnect, \
         sessions/list, sessions/delete, subscriptions/list, retained/list, retained/delete, \
         topics/top, store/stats, broker/stats, bridges/list"
    )]
    UnknownCommand(String),
    /// The parameters do not fit the command (a missing or unknown field, a wrong type).
    #[error("bad request: {0}")]
    BadRequest(serde_json::Error),
    /// `topics/top` asked for a window the broker does not keep.
    #[error("bad request: seconds must be 1 ..= {}", metrics::topics::HISTORY)]
    Seconds,
    /// `clients/get` of a client id (held here) without a session.
    #[error("no client {0:?} is connected")]
    NoClient(String),
    /// `clients/get` of a client id (held here) whose session is offline.
    #[error("client {0:?} is not connected (its session is offline)")]
    Offline(String),
    /// `sessions/delete` of a client id (held here) that is connected.
    #[error(
        "client {0:?} is connected: only an offline session can be deleted (disconnect it first, \
         with clients/disconnect)"
    )]
    Connected(String),
    /// The reply could not be made JSON.
    #[error("cannot encode the reply: {0}")]
    Encode(serde_json::Error),
}

/// Runs `command` with its parameters (a JSON object); `Err` becomes the reply's error text.
pub fn run(
    broker: &Broker,
    admin: &Admin,
    requester: &Requester,
    command: &str,
    params: Value,
) -> Result<Value, CommandError> {
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
        "clients/disconnect" => reply(disconnect(broker, requester, parse(params)?)),
        "clients/get" => reply(client_get(broker, parse(params)?)?),
        "subscriptions/list" => reply(subscriptions_list(broker, parse(params)?)),
        "retained/list" => reply(retained_list(broker, parse(params)?)),
        "retained/delete" => reply(retained_delete(broker, requester, parse(params)?)),
        "sessions/delete" => reply(session_delete(broker, requester, parse(params)?)?),
        "bridges/list" => {
            parse::<Empty>(params)?;
            reply(BridgeList {
                bridges: broker.bridges.figures(),
            })
        }
        other => Err(CommandError::UnknownCommand(other.to_string())),
    }
}

fn parse<T: DeserializeOwned>(params: Value) -> Result<T, CommandError> {
    serde_json::from_value(params).map_err(CommandError::BadRequest)
}

fn reply<T: Serialize>(value: T) -> Result<Value, CommandError> {
    serde_json::to_value(value).map_err(CommandError::Encode)
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

impl Page {
    /// This page of `rows`: at most `limit` (and [`MAX_PAGE`]) from `offset` on.
    fn of<T>(&self, rows: impl IntoIterator<Item = T>) -> impl Iterator<Item = T> {
        rows.into_iter().skip(self.offset).take(self.limit.min(MAX_PAGE))
    }
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

fn clients_list(broker: &Broker, page: Page) -> ClientList {
    let rows: Vec<ClientRow> = sorted_sessions(broker)
        .iter()
        .filter_map(|session| {
            let state = session.lock();
            let conn = state.conn()?;
            let stats = &conn.stats;
            Some(ClientRow {
                client_id: session.client_id.to_string(),
                user_name: conn.username.as_deref().map(str::to_string),
                address: stats.peer.to_string(),
                protocol_version: conn.version.to_string(),
                protocol_level: conn.version.level(),
                connected_since_ms: stats.connected_at_ms,
                keep_alive: stats.keep_alive,
                clean_start: stats.clean_start,
                session_expiry_interval: state.expiry_interval(),
                subscriptions: state.subscription_count(),
                inflight: state.inflight(),
                queued: state.queued(),
                queued_bytes: state.queued_bytes(),
                messages_in: get(&stats.messages_in),
                messages_out: get(&stats.messages_out),
                bytes_in: get(&stats.bytes_in),
                bytes_out: get(&stats.bytes_out),
                dropped: state.dropped(),
            })
        })
        .collect();
    let total = rows.len();
    ClientList {
        total,
        offset: page.offset,
        clients: page.of(rows).collect(),
    }
}

fn sessions_list(broker: &Broker, page: Page) -> SessionList {
    let rows: Vec<SessionRow> = sorted_sessions(broker)
        .iter()
        .filter_map(|session| {
            let state = session.lock();
            if state.conn().is_some() {
                return None;
            }
            let expires_at_ms = match (state.expiry_interval(), state.offline_since_ms()) {
                (u32::MAX, _) | (_, None) => None,
                (secs, Some(since)) => Some(since.saturating_add(secs as u64 * 1000)),
            };
            Some(SessionRow {
                client_id: session.client_id.to_string(),
                queued: state.queued(),
                inflight: state.inflight(),
                subscriptions: state.subscription_count(),
                offline_since_ms: state.offline_since_ms(),
                expiry_interval: state.expiry_interval(),
                expires_at_ms,
                dropped: state.dropped(),
            })
        })
        .collect();
    let total = rows.len();
    SessionList {
        total,
        offset: page.offset,
        sessions: page.of(rows).collect(),
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
            seconds: metrics::topics::HISTORY,
        }
    }
}

fn topics_top(admin: &Admin, request: TopRequest) -> Result<TopicList, CommandError> {
    if !(1..=metrics::topics::HISTORY).contains(&request.seconds) {
        return Err(CommandError::Seconds);
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
            .map(|t| TopicRow {
                topic: t.topic.to_string(),
                messages: t.count.messages,
                bytes: t.count.bytes,
                messages_per_second: rate(t.count.messages),
                bytes_per_second: rate(t.count.bytes),
            })
            .collect(),
    })
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

fn store_stats(broker: &Broker, admin: &Admin) -> StoreStats {
    let stats = broker.store().map(|s| s.stats()).unwrap_or_default();
    let file_bytes = admin
        .data_file
        .as_ref()
        .and_then(|path| std::fs::metadata(path).ok())
        .map(|m| m.len());
    StoreStats {
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
        queued_messages: broker.census().queued_messages as u64,
        commit_latency: broker.metrics.store_commit.snapshot().into(),
    }
}

/// Reply of `broker/stats`: the `$SYS` figures, read now. Its fields are `version`, then the
/// `broker/stats` field of each row of [`metrics::table::METRICS`] that has one, in the table's
/// order (`limits.<name>` is field `<name>` of object `limits`);
/// [`crate::admin_api::BrokerStats`] names those `top` reads.
pub fn broker_stats(broker: &Broker) -> serde_json::Map<String, Value> {
    metrics::output::stats(&crate::server::figures::read(broker))
}

/// Request of `clients/disconnect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisconnectRequest {
    client_id: String,
}

fn disconnect(broker: &Broker, requester: &Requester, request: DisconnectRequest) -> Disconnected {
    let told = broker.session(&request.client_id).and_then(|session| {
        let state = session.lock();
        state
            .conn()
            .map(|conn| conn.stats.kick.send(ReasonCode::ADMINISTRATIVE_ACTION))
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

fn client_get(broker: &Broker, request: ClientIdRequest) -> Result<ClientDetail, CommandError> {
    let id = request.client_id;
    let session = broker
        .session(&id)
        .ok_or_else(|| CommandError::NoClient(id.clone()))?;
    let state = session.lock();
    let conn = state.conn().ok_or_else(|| CommandError::Offline(id.clone()))?;
    let stats = &conn.stats;
    let mut subscriptions: Vec<SubscriptionInfo> = state
        .subscriptions()
        .map(|(filter, sub)| SubscriptionInfo {
            filter: filter.to_string(),
            qos: sub.options.qos as u8,
            no_local: sub.options.no_local,
            retain_as_published: sub.options.retain_as_published,
            retain_handling: match sub.options.retain_handling {
                RetainHandling::SendAlways => 0,
                RetainHandling::SendIfNew => 1,
                RetainHandling::Never => 2,
            },
            subscription_id: sub.id,
        })
        .collect();
    let subscriptions_total = subscriptions.len();
    subscriptions.sort_unstable_by(|a, b| a.filter.cmp(&b.filter));
    subscriptions.truncate(MAX_DETAIL_SUBSCRIPTIONS);
    Ok(ClientDetail {
        client_id: id,
        user_name: conn.username.as_deref().map(str::to_string),
        address: stats.peer.to_string(),
        protocol_version: conn.version.to_string(),
        connected_since_ms: stats.connected_at_ms,
        keep_alive: stats.keep_alive,
        clean_start: stats.clean_start,
        session_expiry_interval: state.expiry_interval(),
        will: state.will().map(|w| WillInfo {
            topic: w.message.topic.clone(),
            qos: w.message.qos,
            retain: w.message.retain,
            delay_interval: w.delay_interval,
            payload_bytes: w.message.payload.len(),
        }),
        subscriptions,
        subscriptions_total,
        inflight: state.inflight(),
        queued: state.queued(),
        queued_bytes: state.queued_bytes(),
        messages_in: get(&stats.messages_in),
        messages_out: get(&stats.messages_out),
        bytes_in: get(&stats.bytes_in),
        bytes_out: get(&stats.bytes_out),
        dropped: state.dropped(),
    })
}

fn subscriptions_list(broker: &Broker, page: Page) -> SubscriptionList {
    let mut rows: Vec<SubscriberRow> = Vec::new();
    for session in broker.sessions_snapshot() {
        let state = session.lock();
        let connected = state.conn().is_some();
        rows.extend(state.subscriptions().map(|(filter, sub)| SubscriberRow {
            filter: filter.to_string(),
            client_id: session.client_id.to_string(),
            connected,
            qos: sub.options.qos as u8,
            subscription_id: sub.id,
        }));
    }
    rows.sort_unstable_by(|a, b| (&a.filter, &a.client_id).cmp(&(&b.filter, &b.client_id)));
    let total = rows.len();
    SubscriptionList {
        total,
        offset: page.offset,
        subscriptions: page.of(rows).collect(),
    }
}

fn retained_list(broker: &Broker, page: Page) -> RetainedList {
    let mut messages = broker.retained_snapshot();
    messages.sort_unstable_by(|a, b| a.topic.cmp(&b.topic));
    RetainedList {
        total: messages.len(),
        offset: page.offset,
        messages: page
            .of(&messages)
            .map(|m| {
                let (preview, preview_hex) = preview(&m.payload);
                RetainedRow {
                    topic: m.topic.to_string(),
                    qos: m.qos as u8,
                    payload_bytes: m.payload.len(),
                    preview,
                    preview_hex,
                }
            })
            .collect(),
    }
}

fn retained_delete(broker: &Broker, requester: &Requester, request: TopicRequest) -> RetainedDeleted {
    let existed = broker.clear_retained(&request.topic);
    if existed {
        tracing::info!(topic = %request.topic, by = %requester.client_id, "retained message deleted at an admin request");
    }
    RetainedDeleted {
        topic: request.topic,
        existed,
    }
}

fn session_delete(
    broker: &Broker,
    requester: &Requester,
    request: ClientIdRequest,
) -> Result<SessionDeleted, CommandError> {
    match broker.delete_offline_session(&request.client_id) {
        Err(DeleteSessionError::Connected) => Err(CommandError::Connected(request.client_id)),
        Ok(existed) => {
            if existed {
                tracing::info!(client_id = %request.client_id, by = %requester.client_id, "offline session deleted at an admin request");
            }
            Ok(SessionDeleted {
                client_id: request.client_id,
                existed,
            })
        }
    }
}
