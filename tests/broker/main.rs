//! Broker integration tests: the real broker in-process, driven over TCP by rumqttc and raw bytes.

mod ack_rules;
mod aliases;
mod closing;
mod common;
mod conformance;
mod connect_rules;
mod delivery_rules;
mod expiry_rules;
#[path = "../support/in_process.rs"]
mod in_process;
mod keepalive;
mod lifecycle;
mod limits;
mod malformed;
mod pipelined;
mod publish_rules;
mod qos;
mod replace_rules;
mod retain_rules;
mod retained;
#[path = "../support/rumqttc.rs"]
mod rumqttc;
mod session;
mod shared;
mod shared_rules;
mod smoke;
mod statements;
mod subscribe_rules;
mod sys;
mod topic_rules;
mod topics;
mod v5_connect;
mod v5_flow;
mod v5_properties;
mod v5_subscribe;
#[path = "../support/versions.rs"]
mod versions;
#[path = "../support/wait.rs"]
mod wait;
mod will;
#[path = "../support/wire.rs"]
mod wire;
