//! How each op changes the schema 3 tables: every message stored once, with its references counted.
//!
//! The broker puts a message with every op that refers to it: one publish queued for 50 sessions
//! (and retained) arrives as 50 delivery puts (and a retained put) in one submission, so in one
//! transaction. The first stores the message under the next id; the others find it in
//! `Tables::written` by its bytes and only count a reference (a few bytes). A delivery's later
//! states (sent, released) rewrite its row alone, never its message. A message with one
//! reference has no count row; a count row holds 2 or more. Dropping the last reference deletes
//! the message.
//!
//! Ids are handed out in increasing order (one past the highest stored), so new messages go to
//! the end of the table and a commit writes few of its pages, however many messages it holds.
//!
//! A session put writes the session row only if it changed, and of its subscriptions only the
//! rows that were added, changed or removed, so a SUBSCRIBE writes its filters and a reconnect
//! writes the few bytes of the session's scalars.

use std::collections::HashMap;

use redb::{ReadableTable, StorageError, Table, TableError, WriteTransaction};

use super::record::{self, RecordError};
use super::tables::{DELIVERIES, INCOMING_QOS2, MESSAGES, MESSAGE_REFS, RETAINED, SESSIONS, SUBSCRIPTIONS};
use super::types::{Op, StoredDelivery, StoredSession};

/// The tables of one write transaction, and the bytes put into them so far.
pub(crate) struct Tables<'txn> {
    /// The id the next new message gets.
    next_id: u64,
    /// Messages stored in this transaction, by their record: where the other references of the
    /// same publish find them. Hashed with foldhash: the keys are whole messages.
    written: foldhash::HashMap<Vec<u8>, u64>,
    messages: Table<'txn, u64, &'static [u8]>,
    refs: Table<'txn, u64, u64>,
    retained: Table<'txn, &'static str, &'static [u8]>,
    sessions: Table<'txn, &'static str, &'static [u8]>,
    subscriptions: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    deliveries: Table<'txn, (&'static str, u64), &'static [u8]>,
    incoming_qos2: Table<'txn, (&'static str, u16), &'static [u8]>,
    /// Bytes of keys and values inserted, for [`StoreStats::bytes_put`](super::StoreStats).
    pub(crate) bytes_put: u64,
}

/// Why an op could not be applied to the transaction.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApplyError {
    /// redb could not read or write (a full disk among others).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A table could not be opened.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A stored record does not decode.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Every message id was handed out.
    #[error("the store has used every message id")]
    IdsExhausted,
}

impl ApplyError {
    /// The storage error underneath, if redb failed to read or write.
    pub(crate) fn storage(&self) -> Option<&StorageError> {
        match self {
            ApplyError::Storage(e) | ApplyError::Table(TableError::Storage(e)) => Some(e),
            _ => None,
        }
    }
}

impl<'txn> Tables<'txn> {
    /// Opens (creating if needed) every schema 3 table in `txn`.
    pub(crate) fn open(txn: &'txn WriteTransaction) -> Result<Self, ApplyError> {
        let messages = txn.open_table(MESSAGES)?;
        // One past the highest id: an id freed at the top may be used again, which is safe
        // since nothing refers to a deleted message.
        let next_id = messages.last()?.map_or(1, |(id, _)| id.value().saturating_add(1));
        Ok(Tables {
            next_id,
            written: foldhash::HashMap::default(),
            messages,
            refs: txn.open_table(MESSAGE_REFS)?,
            retained: txn.open_table(RETAINED)?,
            sessions: txn.open_table(SESSIONS)?,
            subscriptions: txn.open_table(SUBSCRIPTIONS)?,
            deliveries: txn.open_table(DELIVERIES)?,
            incoming_qos2: txn.open_table(INCOMING_QOS2)?,
            bytes_put: 0,
        })
    }

    /// Applies one op.
    pub(crate) fn apply(&mut self, op: &Op) -> Result<(), ApplyError> {
        match op {
            Op::PutRetained(message) => {
                let id = self.reference(&record::encode_message(message))?;
                let value = record::encode_retained(id);
                self.bytes_put += (message.topic.len() + value.len()) as u64;
                let old = self
                    .retained
                    .insert(message.topic.as_str(), value.as_slice())?
                    .map(|old| record::decode_retained(old.value()));
                if let Some(old) = old {
                    self.release(old?)?;
                }
            }
            Op::DeleteRetained { topic } => {
                let old = self
                    .retained
                    .remove(topic.as_str())?
                    .map(|old| record::decode_retained(old.value()));
                if let Some(old) = old {
                    self.release(old?)?;
                }
            }
            Op::PutSession(session) => self.put_session(session)?,
            Op::DeleteSession { client_id } => self.delete_session(client_id)?,
            Op::PutDelivery {
                client_id,
                seq,
                delivery,
            } => self.put_delivery(client_id, *seq, delivery)?,
            Op::SetDeliveryState {
                client_id,
                seq,
                state,
            } => {
                let key = (client_id.as_str(), *seq);
                let old = self
                    .deliveries
                    .get(key)?
                    .map(|old| record::decode_delivery(old.value()));
                // Absent: the delivery was dropped or its put refused; nothing to update.
                if let Some(old) = old {
                    let mut row = old?;
                    row.state = *state;
                    let value = record::encode_delivery_record(&row);
                    self.bytes_put += (client_id.len() + 8 + value.len()) as u64;
                    self.deliveries.insert(key, value.as_slice())?;
                }
            }
            Op::DeleteDelivery { client_id, seq } => {
                let old = self
                    .deliveries
                    .remove((client_id.as_str(), *seq))?
                    .map(|old| record::decode_delivery(old.value()));
                if let Some(old) = old {
                    self.release(old?.message_id)?;
                }
            }
            Op::PutIncomingQos2 { client_id, packet_id } => {
                let value = record::encode_incoming_qos2();
                self.bytes_put += (client_id.len() + 2 + value.len()) as u64;
                self.incoming_qos2
                    .insert((client_id.as_str(), *packet_id), value.as_slice())?;
            }
            Op::DeleteIncomingQos2 { client_id, packet_id } => {
                self.incoming_qos2.remove((client_id.as_str(), *packet_id))?;
            }
        }
        Ok(())
    }

    /// Writes the session row if it changed, and the subscription rows that changed.
    fn put_session(&mut self, session: &StoredSession) -> Result<(), ApplyError> {
        let id = session.client_id.as_str();
        let value = record::encode_session(session);
        let same = self
            .sessions
            .get(id)?
            .is_some_and(|old| old.value() == value.as_slice());
        if !same {
            self.bytes_put += (id.len() + value.len()) as u64;
            self.sessions.insert(id, value.as_slice())?;
        }
        let mut stored: HashMap<String, Vec<u8>> = HashMap::new();
        for entry in self.subscriptions.range((id, "")..)? {
            let (key, value) = entry?;
            let (client, filter) = key.value();
            if client != id {
                break;
            }
            stored.insert(filter.to_string(), value.value().to_vec());
        }
        for sub in &session.subscriptions {
            let value = record::encode_subscription(sub);
            if stored.remove(&sub.filter).as_deref() != Some(value.as_slice()) {
                self.bytes_put += (id.len() + sub.filter.len() + value.len()) as u64;
                self.subscriptions
                    .insert((id, sub.filter.as_str()), value.as_slice())?;
            }
        }
        for filter in stored.keys() {
            self.subscriptions.remove((id, filter.as_str()))?;
        }
        Ok(())
    }

    /// Removes a session with its subscriptions, deliveries (releasing their messages) and
    /// incoming QoS 2 ids.
    fn delete_session(&mut self, id: &str) -> Result<(), ApplyError> {
        self.sessions.remove(id)?;
        let mut filters = Vec::new();
        for entry in self.subscriptions.range((id, "")..)? {
            let (key, _) = entry?;
            let (client, filter) = key.value();
            if client != id {
                break;
            }
            filters.push(filter.to_string());
        }
        for filter in &filters {
            self.subscriptions.remove((id, filter.as_str()))?;
        }
        let mut released = Vec::new();
        for entry in self.deliveries.range((id, 0u64)..=(id, u64::MAX))? {
            let (_, value) = entry?;
            released.push(record::decode_delivery(value.value())?.message_id);
        }
        self.deliveries
            .retain_in((id, 0u64)..=(id, u64::MAX), |_, _| false)?;
        for message_id in released {
            self.release(message_id)?;
        }
        self.incoming_qos2
            .retain_in((id, 0u16)..=(id, u16::MAX), |_, _| false)?;
        Ok(())
    }

    /// Stores a delivery, referring to its message. A delivery is put once, when queued (its
    /// later states go through `Op::SetDeliveryState`), so there is no lookup first: a row it
    /// replaces, if any, gives up its reference afterwards.
    fn put_delivery(
        &mut self,
        client_id: &str,
        seq: u64,
        delivery: &StoredDelivery,
    ) -> Result<(), ApplyError> {
        let id = self.reference(&record::encode_message(&delivery.message))?;
        let value = record::encode_delivery(id, delivery);
        self.bytes_put += (client_id.len() + 8 + value.len()) as u64;
        let old = self
            .deliveries
            .insert((client_id, seq), value.as_slice())?
            .map(|old| record::decode_delivery(old.value()));
        if let Some(old) = old {
            self.release(old?.message_id)?;
        }
        Ok(())
    }

    /// Adds a reference to the message with this record: one stored or referred to earlier in
    /// this transaction, or a new row. Returns its id.
    fn reference(&mut self, encoded: &[u8]) -> Result<u64, ApplyError> {
        if let Some(&id) = self.written.get(encoded) {
            let count = self.refs.get(id)?.map_or(1, |c| c.value());
            self.bytes_put += 16;
            self.refs.insert(id, count + 1)?;
            return Ok(id);
        }
        let id = self.next_id;
        self.next_id = id.checked_add(1).ok_or(ApplyError::IdsExhausted)?;
        // One reference needs no count row: most messages have one subscriber, and this spares
        // them a write and a read.
        self.bytes_put += (8 + encoded.len()) as u64;
        self.messages.insert(id, encoded)?;
        self.written.insert(encoded.to_vec(), id);
        Ok(id)
    }

    /// Drops a reference to message `id`, deleting the message with its last one.
    fn release(&mut self, id: u64) -> Result<(), ApplyError> {
        let count = self.refs.remove(id)?.map_or(1, |c| c.value());
        if count > 2 {
            self.bytes_put += 16;
            self.refs.insert(id, count - 1)?;
        } else if count <= 1 {
            let removed = self.messages.remove(id)?;
            // Gone, so a later put of the same message in this transaction stores it anew.
            // Most releases (acknowledgements) share no transaction with a put: nothing to look up.
            if let Some(row) = removed.filter(|_| !self.written.is_empty()) {
                let bytes = row.value();
                if self.written.get(bytes) == Some(&id) {
                    self.written.remove(bytes);
                }
            }
        }
        Ok(())
    }
}
