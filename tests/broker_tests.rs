//! The `broker` test binary: the real broker started in-process (`robustmq::server`) and driven
//! over TCP by rumqttc and raw bytes. One binary so that the crate is linked once for these
//! directories; each directory is a module, so `cargo test --test broker admin::` runs one.
//!
//! `limits::storm` raises this process's soft limit on open files (it never lowers it); the
//! other tests here only gain from that.

// Each directory declares the shared files it uses as modules of its own, as when it was a
// binary of its own: tests/broker/common.rs is loaded twice here (admin, broker), and the
// tests/support files once per directory that uses them, each copy private to its directory.
#![allow(clippy::duplicate_mod)]

#[path = "admin/main.rs"]
mod admin;
#[path = "broker/main.rs"]
mod broker;
#[path = "limits/main.rs"]
mod limits;
#[path = "security/main.rs"]
mod security;
