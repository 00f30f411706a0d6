//! The `process` test binary: the built `robustmq` run as a child process (assert_cmd,
//! `robustmq serve`) and driven by its own CLIs, Mosquitto, paho-mqtt and MQTT.js. One binary
//! so that the crate is linked once for these directories; each directory is a module, so
//! `cargo test --test process interop::` runs one.

// Each directory declares the shared files it uses as modules of its own, as when it was a
// binary of its own: the tests/support files are loaded once per directory that uses them
// here, each copy private to its directory.
#![allow(clippy::duplicate_mod)]

#[path = "bench_cli/main.rs"]
mod bench_cli;
#[path = "cli/main.rs"]
mod cli;
#[path = "hostile/main.rs"]
mod hostile;
#[path = "interop/main.rs"]
mod interop;
#[path = "listeners/main.rs"]
mod listeners;
