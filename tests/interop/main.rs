//! Interop tests: the built `robustmq` binary driven by independent MQTT clients.
//!
//! Each test starts `robustmq serve` on a free loopback port, talks to it with `mosquitto_pub` /
//! `mosquitto_sub` (MQTT 3.1.1 and 5.0) or with the Python paho-mqtt scripts in
//! `tests/interop/py/`, and stops it at the end. The tools are required, never skipped: run
//! `.ci/setup-test-deps.sh` to install them.
//!
//! Set `INTEROP_REFERENCE_BROKER=mosquitto` to run the same tests against Mosquitto instead, to
//! tell a broken test from a broken broker (only the shutdown test, which checks a behaviour
//! Mosquitto does not have, is expected to fail there).

mod bridge;
#[path = "../support/broker_process.rs"]
mod broker_process;
mod harness;
mod mosquitto;
mod mosquitto_cli;
mod paho;
mod paho_suite;
mod shutdown;
#[path = "../support/versions.rs"]
mod versions;
