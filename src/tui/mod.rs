//! `robustmq top`: a live terminal dashboard of an MQTT broker.
//!
//! Three parts that only meet through channels, so the screen never waits on the network:
//! - [`collector`]: an MQTT client that reads `$SYS` (any broker) and asks robustmq's admin API
//!   (`$CONTROL/robustmq/v1/...`) for the current view's details; reconnects on its own.
//! - [`app`]: the state (figures, rates, lists, keys, connection) and every rule that changes it,
//!   with no drawing and no I/O.
//! - [`ui`]: drawing only, from the state.
//!
//! [`run`] wires them to the terminal ([`terminal`]) and a key-reading thread. `top` never uses
//! the server's code: it sees robustmq exactly as it sees Mosquitto, from the outside.

pub mod admin;
pub mod app;
pub mod collector;
pub mod detail;
pub mod figures;
pub mod list;
pub mod run;
pub mod terminal;
pub mod ui;

pub use app::{App, Update, View};
pub use run::run;
