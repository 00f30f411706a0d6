//! `robustmq store stats|verify|export|compact`: the built binary on real redb files in temp dirs.

#[path = "../durability/binary.rs"]
mod binary;
#[path = "../support/broker_process.rs"]
mod broker_process;
mod cli;
mod compact;
mod config;
mod export;
#[path = "../durability/mqtt.rs"]
mod mqtt;
mod refuse;
mod salvage;
mod stats;
#[path = "../store/common.rs"]
mod store_common;
mod verify;
