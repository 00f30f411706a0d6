//! Configurations of other brokers → robustmq's: one module per broker.

pub mod mosquitto;
