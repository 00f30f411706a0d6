//! Hostile input against the real `robustmq` binary: each row attacks one connection and checks
//! that it is refused or closed with the right reason, that other clients keep working during
//! and after, that memory stays bounded (VmRSS of the broker process), and that nothing stored
//! is lost (a persistent session's queued QoS 1 messages, after the attack and a restart).
//!
//! Rows: malformed.rs (bad remaining length, reserved flag bits, invalid UTF-8 and U+0000,
//! oversize packets, truncated packets then close), subscriptions.rs (10,000 subscriptions in
//! one client), slow.rs (slowloris CONNECT, 1,000 connections dropped mid-CONNECT),
//! backpressure.rs (a QoS 1 flood that never reads its PUBACKs, a `#` subscriber that never
//! reads).
//!
//! To do, once TLS and WebSocket listeners are in: the same rows over `mqtts` (plus a TLS
//! handshake that stalls or sends garbage, and a client certificate that is refused) and over
//! `ws`/`wss` (plus a WebSocket handshake that never completes, oversize and fragmented
//! frames, non-binary frames).

mod backpressure;
mod clients;
mod harness;
mod malformed;
mod scene;
mod slow;
mod subscriptions;
mod wire;
