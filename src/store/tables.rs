//! The redb tables of the data file: names, key types and the schema version.
//!
//! Table names and key types are part of the file format. Values are `record.rs` records, kept as
//! raw bytes so a record version this build does not know is reported as such rather than as a
//! redb type mismatch.
//!
//! Schema 3 stores each message once, in [`MESSAGES`], under an id; deliveries and retained
//! entries hold only that id, and [`MESSAGE_REFS`] counts them so the message goes with its last
//! reference. Counts live in their own table so that adding a reference to a 10 KB message writes
//! a few bytes, not the message again. Subscriptions are rows of their own, so a SUBSCRIBE writes
//! the filters it adds and a reconnect rewrites only the session's scalars.
//!
//! Schema 1 (the only one written before; there is no schema 2 on disk) kept whole messages in
//! every delivery and retained record and the subscriptions inside the session record; `legacy.rs`
//! reads it and `open.rs` migrates it.

use redb::TableDefinition;

/// Schema version this build writes and the highest it reads. Bump it when the set of tables or
/// the meaning of a key changes; record layouts have their own version byte.
pub const SCHEMA_VERSION: u64 = 3;

/// The oldest schema version this build migrates.
pub(crate) const OLDEST_SCHEMA_VERSION: u64 = 1;

/// Key of the schema version in [`META`].
pub(crate) const SCHEMA_VERSION_KEY: &str = "schema_version";

/// Facts about the file itself: `schema_version` → u64.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Messages: id → message record, in the order they were stored. A message queued for many
/// sessions, or retained as well, is stored once (see `apply.rs`).
pub(crate) const MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("messages");

/// How many deliveries and retained entries refer to each message: id → count, only for
/// messages with two or more (a message without a row here has one).
pub(crate) const MESSAGE_REFS: TableDefinition<u64, u64> = TableDefinition::new("message_refs");

/// Retained messages: topic → retained record (the message id).
pub(crate) const RETAINED: TableDefinition<&str, &[u8]> = TableDefinition::new("retained");

/// Persistent sessions: client id → session record (its scalars and its will).
pub(crate) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");

/// Subscriptions of persistent sessions: (client id, filter) → subscription options record.
pub(crate) const SUBSCRIPTIONS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("subscriptions");

/// Queued and inflight outgoing messages: (client id, seq) → delivery record (message id, QoS,
/// state). The tuple key keeps each client's deliveries together and in seq order, so any part
/// of a session's queue is one range read.
pub(crate) const DELIVERIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("deliveries");

/// Incoming QoS 2 packet ids awaiting PUBREL: (client id, packet id) → empty record.
pub(crate) const INCOMING_QOS2: TableDefinition<(&str, u16), &[u8]> = TableDefinition::new("incoming_qos2");
