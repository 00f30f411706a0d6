//! Every record of a read transaction, decoded, in table order: the one place records are read.
//!
//! Used by the broker's load (`open`), which refuses the file at the first bad record, and by the
//! `robustmq store` tools (`inspect`), which go on and report them all.

use std::ops::ControlFlow;
use std::path::Path;

use redb::{ReadTransaction, TableDefinition, TableHandle};

use super::error::StoreError;
use super::open::{self, OwnedKey};
use super::record;
use super::tables::{DELIVERIES, INCOMING_QOS2, RETAINED, SESSIONS};
use super::types::{StoredDelivery, StoredMessage, StoredSession};

/// One record of the store, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A persistent session.
    Session(StoredSession),
    /// A message queued for, or in flight to, a session.
    Delivery {
        /// Client id of the session the delivery belongs to (the first half of its key).
        client_id: String,
        /// Position in the session's queue (the second half of its key).
        seq: u64,
        /// The delivery.
        delivery: StoredDelivery,
    },
    /// An incoming QoS 2 packet id awaiting PUBREL.
    IncomingQos2 {
        /// Client id of the publishing session.
        client_id: String,
        /// Packet id of the PUBLISH.
        packet_id: u16,
    },
    /// A retained message.
    Retained(StoredMessage),
}

/// A record that does not decode, or whose key disagrees with its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// Name of its table.
    pub table: String,
    /// What is wrong, naming the table and the key (as [`StoreError::Corrupt`] does).
    pub detail: String,
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// Calls `each` with every record in key order: sessions, deliveries, incoming QoS 2 packet ids,
/// retained messages. Sessions come first so a session is known before its queue; within a table,
/// keys are ordered by client id, then seq / packet id. A record that does not decode, or whose
/// key disagrees with it, is passed as `Err` and the scan goes on unless `each` breaks. `Err` only
/// when the file cannot be read. A table that does not exist is an empty one.
pub(crate) fn scan(
    txn: &ReadTransaction,
    path: &Path,
    each: &mut impl FnMut(Result<Record, BadRecord>) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    let stopped = scan_table(txn, path, SESSIONS, each, |client_id, bytes| {
        let session = record::decode_session(bytes).map_err(|e| e.to_string())?;
        if session.client_id != *client_id {
            return Err("the record names another client".into());
        }
        Ok(Record::Session(session))
    })?;
    if stopped {
        return Ok(());
    }
    let stopped = scan_table(txn, path, DELIVERIES, each, |(client_id, seq), bytes| {
        Ok(Record::Delivery {
            client_id: client_id.clone(),
            seq: *seq,
            delivery: record::decode_delivery(bytes).map_err(|e| e.to_string())?,
        })
    })?;
    if stopped {
        return Ok(());
    }
    let stopped = scan_table(txn, path, INCOMING_QOS2, each, |(client_id, packet_id), bytes| {
        record::decode_incoming_qos2(bytes).map_err(|e| e.to_string())?;
        Ok(Record::IncomingQos2 {
            client_id: client_id.clone(),
            packet_id: *packet_id,
        })
    })?;
    if stopped {
        return Ok(());
    }
    scan_table(txn, path, RETAINED, each, |topic, bytes| {
        let message = record::decode_message(bytes).map_err(|e| e.to_string())?;
        if message.topic != *topic {
            return Err("the record names another topic".into());
        }
        Ok(Record::Retained(message))
    })?;
    Ok(())
}

/// Decodes every entry of one table and hands it to `each`. `Ok(true)` if `each` stopped the scan.
fn scan_table<K: OwnedKey>(
    txn: &ReadTransaction,
    path: &Path,
    table: TableDefinition<K, &'static [u8]>,
    each: &mut impl FnMut(Result<Record, BadRecord>) -> ControlFlow<()>,
    decode: impl Fn(&K::Owned, &[u8]) -> Result<Record, String>,
) -> Result<bool, StoreError> {
    let mut stopped = false;
    let result = open::for_each(txn, path, table, |key, bytes| {
        let record = decode(&key, bytes).map_err(|error| BadRecord {
            table: table.name().to_string(),
            detail: open::bad_record(table, &key, error),
        });
        match each(record) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => {
                stopped = true;
                // `for_each` stops at an error; this one is recognised below by `stopped`.
                Err(String::new())
            }
        }
    });
    match result {
        Err(_) if stopped => Ok(true),
        other => other.map(|()| false),
    }
}
