//! The redb tables of the data file: names, key types and the schema version.
//!
//! Table names and key types are part of the file format. Values are `record.rs` records, kept as
//! raw bytes so a record version this build does not know is reported as such rather than as a
//! redb type mismatch.

use redb::TableDefinition;

/// Schema version this build writes and the highest it reads. Bump it when the set of tables or
/// the meaning of a key changes; record layouts have their own version byte.
pub const SCHEMA_VERSION: u64 = 1;

/// Key of the schema version in [`META`].
pub(crate) const SCHEMA_VERSION_KEY: &str = "schema_version";

/// Facts about the file itself: `schema_version` → u64.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Retained messages: topic → message record.
pub(crate) const RETAINED: TableDefinition<&str, &[u8]> = TableDefinition::new("retained");

/// Persistent sessions: client id → session record.
pub(crate) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");

/// Queued and inflight outgoing messages: (client id, seq) → delivery record. The tuple key keeps
/// each client's deliveries together and in seq order, so a session's queue is one range scan.
pub(crate) const DELIVERIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("deliveries");

/// Incoming QoS 2 packet ids awaiting PUBREL: (client id, packet id) → empty record.
pub(crate) const INCOMING_QOS2: TableDefinition<(&str, u16), &[u8]> = TableDefinition::new("incoming_qos2");
