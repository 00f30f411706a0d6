//! The `config` test binary: configuration files as `robustmq serve --config` loads them
//! (`tests/config`), and what is packaged with the program (`tests/packaging`: man pages,
//! completions, exit codes, the packaged configuration and unit, `--version`).
//! Each directory is a module: `cargo test --test config packaging::`.

#[path = "config/main.rs"]
mod config;
#[path = "packaging/main.rs"]
mod packaging;
