//! The `store` test binary: the store on real redb files (`tests/store`), `robustmq store` on
//! them (`tests/store_cli`), and what the broker binary keeps across restarts and `kill -9`
//! (`tests/durability`). Each directory is a module: `cargo test --test store durability::`.
//!
//! `store::crash` re-runs this binary as its child, selecting its one child test by name.

// Each directory declares the shared files it uses as modules of its own, as when it was a
// binary of its own: tests/support/broker_process.rs, durability/binary.rs, durability/mqtt.rs
// and store/common.rs are loaded more than once here, each copy private to its directory.
#![allow(clippy::duplicate_mod)]

#[path = "durability/main.rs"]
mod durability;
#[path = "store/main.rs"]
mod store;
#[path = "store_cli/main.rs"]
mod store_cli;
