//! `robustmq pub` and `robustmq sub`, run as the built binary (assert_cmd) against a broker
//! started per test: `robustmq serve`, and Mosquitto for interop. Mosquitto's own clients act
//! as independent peers in some tests, and a scripted fake broker produces the refusals and
//! silences a real broker will not produce on demand.
//!
//! Mosquitto (`mosquitto`, `mosquitto_pub`, `mosquitto_sub`) is required, never skipped: run
//! `.ci/setup-test-deps.sh` to install it.

#[path = "../support/broker_process.rs"]
mod broker_process;
mod client;
mod errors;
mod harness;
mod import;
mod interop;
mod lifecycle;
mod mosquitto_flags;
mod mosquitto_json;
mod output;
mod reconnect;
mod roundtrip;
#[path = "../support/wire.rs"]
mod wire;
