//! Hostile input against the real `robustmq` binary: each row attacks one connection and checks
//! that it is refused or closed with the right reason, that other clients keep working during
//! and after, that memory stays bounded (VmRSS of the broker process), and that nothing stored
//! is lost (a persistent session's queued QoS 1 messages, after the attack and a restart).
//!
//! Rows: malformed.rs (bad remaining length, reserved flag bits, invalid UTF-8 and U+0000,
//! oversize packets, truncated packets then close), subscriptions.rs (10,000 subscriptions in
//! one client), slow.rs (slowloris CONNECT, 1,000 connections dropped mid-CONNECT),
//! backpressure.rs (a QoS 1 flood that never reads its PUBACKs, a `#` subscriber that never
//! reads), tls.rs (certificates the `mqtts` listener refuses, garbage and oversize records,
//! stalled handshakes), websocket.rs (what is not an upgrade, frames RFC 6455 forbids,
//! oversize and fragmented messages, a Ping flood that never reads its Pongs, over `ws` and
//! `wss`). transport.rs carries the same raw bytes over TLS and WebSocket.

mod backpressure;
#[path = "../support/broker_process.rs"]
mod broker_process;
mod clients;
mod harness;
mod malformed;
mod scene;
mod slow;
mod subscriptions;
mod tls;
mod transport;
mod websocket;
mod wire;
