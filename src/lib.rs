//! robustmq: a single-node MQTT 3.1.1/5.0 broker and the toolkit around it.

pub mod admin_api;
pub mod auth;
pub mod bench;
pub mod certs;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod config;
pub mod exit;
pub mod import;
pub mod protocol;
pub mod server;
pub mod store;
pub mod tui;
