//! Admin API and Prometheus tests: the real broker in-process, the admin topics driven by
//! rumqttc (3.1.1 and 5), the metrics endpoint scraped over raw TCP.

#[path = "../broker/common.rs"]
#[allow(unused_imports)]
mod common;

mod clients;
mod commands;
mod detail;
#[path = "../support/in_process.rs"]
mod in_process;
mod names;
mod prometheus;
mod retained;
#[path = "../support/rumqttc.rs"]
mod rumqttc;
mod sessions;
mod subscriptions;
mod support;
#[path = "../support/wait.rs"]
mod wait;
#[path = "../support/wire.rs"]
mod wire;
