//! Schema 1, the layout written before schema 3: read to migrate a file, and by the store tools.
//!
//! Its tables have the names and key types of schema 3's `sessions`, `deliveries`,
//! `incoming_qos2` and `retained`, but every delivery and retained record holds a whole message
//! and each session record its subscriptions.

use std::ops::ControlFlow;

use redb::{TableError, WriteTransaction};

use super::error::StoreError;
use super::record;
use super::scan::{scan_incoming_qos2, scan_table, BadRecord, Record, RecordProblem, Source};
use super::tables::{DELIVERIES, INCOMING_QOS2, RETAINED, SESSIONS};

/// Drops every schema 1 table, in the transaction that migrates the file.
pub(crate) fn delete_tables(txn: &WriteTransaction) -> Result<(), TableError> {
    txn.delete_table(SESSIONS)?;
    txn.delete_table(DELIVERIES)?;
    txn.delete_table(INCOMING_QOS2)?;
    txn.delete_table(RETAINED)?;
    Ok(())
}

/// [`scan`](super::scan::scan) for a schema 1 file: the same records, in the same order.
pub(crate) fn scan(
    src: &Source<'_>,
    each: &mut impl FnMut(Result<Record, BadRecord>) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    let stopped = scan_table(src, SESSIONS, each, |client_id, bytes| {
        let session = record::decode_legacy_session(bytes)?;
        if session.client_id != *client_id {
            return Err(RecordProblem::OtherClient);
        }
        Ok(Record::Session(session))
    })?;
    if stopped {
        return Ok(());
    }
    let stopped = scan_table(src, DELIVERIES, each, |(client_id, seq), bytes| {
        Ok(Record::Delivery {
            client_id: client_id.clone(),
            seq: *seq,
            delivery: record::decode_legacy_delivery(bytes)?,
        })
    })?;
    if stopped {
        return Ok(());
    }
    let stopped = scan_incoming_qos2(src, each)?;
    if stopped {
        return Ok(());
    }
    scan_table(src, RETAINED, each, |topic, bytes| {
        let message = record::decode_message(bytes)?;
        if message.topic != *topic {
            return Err(RecordProblem::OtherTopic);
        }
        Ok(Record::Retained(message))
    })?;
    Ok(())
}
