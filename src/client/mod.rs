//! A small async MQTT 3.1.1/5.0 client over the protocol layer, for `pub`, `sub`, `bench` and `top`.
//!
//! A [`Client`] owns one TCP connection and is driven by its caller, with no task or channel in
//! between: [`Client::publish`] and [`Client::subscribe`] encode into a write buffer, and
//! [`Client::poll`] writes, reads, acknowledges incoming messages, completes QoS 1/2 flows,
//! keeps the connection alive and returns the next [`Event`]. Publishes pipeline up to a window
//! (our `inflight` option, lowered to the broker's receive maximum); packet identifiers live in
//! a flat table, so the steady state allocates nothing per message beyond the payload.
//!
//! The protocol itself is a [`Session`], which does no I/O (bytes and the time in, events and
//! bytes out, as the server's `handler` is to its `connection`); [`Client`] adds the socket.
//!
//! ```no_run
//! # async fn demo() -> Result<(), robustmq::client::ClientError> {
//! use robustmq::client::{Client, ConnectOptions, Event};
//! use robustmq::protocol::{Disconnect, Version};
//! let (mut client, _connack) = Client::connect(&ConnectOptions::new("localhost", 1883, Version::V5)).await?;
//! // ... client.publish(&mut message)?; while client.unacknowledged() > 0 { client.poll().await?; }
//! client.disconnect(Disconnect::default()).await
//! # }
//! ```

pub mod connection;
pub mod debug;
pub mod error;
pub mod inflight;
pub mod options;
pub mod reconnect;
pub mod session;
mod socket;
pub mod tls;
pub mod topic;

pub use connection::{Acked, Client, Event};
pub use error::{reason_text, ClientError};
pub use options::{ConnectOptions, Direction, PacketObserver};
pub use session::Session;
