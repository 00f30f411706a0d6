//! The broker's `[limits]`: each limit is exceeded on purpose, in both protocol versions where
//! they differ, and the test checks the reason code the client gets, that what was refused had
//! no effect, and the counter under `$SYS/broker/limits/` that says so.
//!
//! Rows: connections.rs (max_connections, global and per listener;
//! max_connections_per_second), storm.rs (10,000 clients at once with the defaults; accepting
//! paced by the connections before CONNECT), keepalive.rs (min_keepalive, max_keepalive),
//! publish_rate.rs (max_publish_rate, max_publish_bytes_rate), topics.rs (max_topic_length,
//! max_topic_levels on PUBLISH, wills and SUBSCRIBE), subscriptions.rs
//! (max_subscriptions_per_client), inflight.rs (max_inflight as the receive maximum),
//! flow_control.rs (slow and stalled subscribers, QoS 0 shedding, max_memory), counters.rs
//! (the counters in `$SYS`, Prometheus and `broker/stats`).

#[path = "../support/broker_process.rs"]
mod broker_process;
mod common;
mod connections;
mod counters;
mod flow_control;
#[path = "../support/in_process.rs"]
mod in_process;
mod inflight;
mod keepalive;
mod packets;
mod publish_rate;
mod storm;
mod subscriptions;
mod topics;
#[path = "../support/versions.rs"]
mod versions;
#[path = "../support/wait.rs"]
mod wait;
#[path = "../support/wire.rs"]
mod wire;
