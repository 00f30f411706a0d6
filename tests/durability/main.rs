//! Durability: what the broker acknowledged survives a restart and `kill -9` of the real binary.

mod binary;
#[path = "../support/broker_process.rs"]
mod broker_process;
mod crash;
mod data_dir;
mod full_disk;
mod mqtt;
mod refused_qos2;
mod restart;
mod small_disk;
#[path = "../support/wire.rs"]
mod wire;
