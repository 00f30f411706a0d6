//! `robustmq bench`: the built binary against a `robustmq serve` child process (and Mosquitto,
//! when installed): every subcommand's JSON and table output, message accounting per scenario,
//! `--compare`, what the overload benchmark counts (refusals, stalled subscribers, a bystander
//! pair), and the error paths with their exit codes. No assertion on speed.

#[path = "../support/broker_process.rs"]
mod broker_process;
mod errors;
mod harness;
mod output;
mod overload;
mod scenarios;
