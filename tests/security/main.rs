//! Authentication and authorization tests: the real broker (in-process, and the built binary
//! for SIGHUP) with password and ACL files, driven by rumqttc in both protocol versions, raw
//! bytes for exact codes, Mosquitto's own tools, and `robustmq passwd`. Every connection is to
//! a loopback address.

mod acl;
mod anonymous;
#[path = "../support/broker_process.rs"]
mod broker_process;
mod common;
mod config_reload;
#[path = "../support/in_process.rs"]
mod in_process;
mod interop;
mod login;
mod passwd_cli;
mod reload;
mod restart;
#[path = "../support/rumqttc.rs"]
mod rumqttc;
mod startup;
#[path = "../support/wait.rs"]
mod wait;
#[path = "../support/wire.rs"]
mod wire;
