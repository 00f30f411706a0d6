//! How each op changes the schema 3 tables: every message stored once, with its references counted.
//!
//! A message's id is a hash of its record under the file's seed. Putting a delivery or a retained
//! entry looks the id up: a row with the same bytes gains a reference (a few bytes written),
//! otherwise the message is written. A differing row under the id (a collision) moves the search
//! to the next id; a gap left by a deleted message only means the next copy of a message gets a
//! row of its own, never that a reference is lost, because references hold ids, not hashes.
//! Dropping the last reference deletes the message.
//!
//! A session put writes the session row only if it changed, and of its subscriptions only the
//! rows that were added, changed or removed, so a SUBSCRIBE writes its filters and a reconnect
//! writes the few bytes of the session's scalars.

use std::collections::HashMap;
use std::hash::BuildHasher;

use redb::{ReadableTable, Table, TableError, WriteTransaction};

use super::record;
use super::tables::{DELIVERIES, INCOMING_QOS2, MESSAGES, MESSAGE_REFS, RETAINED, SESSIONS, SUBSCRIPTIONS};
use super::types::{Op, StoredMessage, StoredSession};

/// The tables of one write transaction, and the bytes put into them so far.
pub(crate) struct Tables<'txn> {
    seed: u64,
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

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl<'txn> Tables<'txn> {
    /// Opens (creating if needed) every schema 3 table in `txn`.
    pub(crate) fn open(txn: &'txn WriteTransaction, seed: u64) -> Result<Self, String> {
        let open_err = |e: TableError| e.to_string();
        Ok(Tables {
            seed,
            messages: txn.open_table(MESSAGES).map_err(open_err)?,
            refs: txn.open_table(MESSAGE_REFS).map_err(open_err)?,
            retained: txn.open_table(RETAINED).map_err(open_err)?,
            sessions: txn.open_table(SESSIONS).map_err(open_err)?,
            subscriptions: txn.open_table(SUBSCRIPTIONS).map_err(open_err)?,
            deliveries: txn.open_table(DELIVERIES).map_err(open_err)?,
            incoming_qos2: txn.open_table(INCOMING_QOS2).map_err(open_err)?,
            bytes_put: 0,
        })
    }

    /// Applies one op.
    pub(crate) fn apply(&mut self, op: Op) -> Result<(), String> {
        match op {
            Op::PutRetained(message) => {
                let id = self.reference(&message)?;
                let value = record::encode_retained(id);
                self.bytes_put += (message.topic.len() + value.len()) as u64;
                let old = self
                    .retained
                    .insert(message.topic.as_str(), value.as_slice())
                    .map_err(err)?
                    .map(|old| record::decode_retained(old.value()));
                if let Some(old) = old {
                    self.release(old.map_err(err)?)?;
                }
            }
            Op::DeleteRetained { topic } => {
                let old = self
                    .retained
                    .remove(topic.as_str())
                    .map_err(err)?
                    .map(|old| record::decode_retained(old.value()));
                if let Some(old) = old {
                    self.release(old.map_err(err)?)?;
                }
            }
            Op::PutSession(session) => self.put_session(&session)?,
            Op::DeleteSession { client_id } => self.delete_session(&client_id)?,
            Op::PutDelivery {
                client_id,
                seq,
                delivery,
            } => {
                let key = (client_id.as_str(), seq);
                let old = self
                    .deliveries
                    .get(key)
                    .map_err(err)?
                    .map(|old| record::decode_delivery(old.value()));
                let encoded = record::encode_message(&delivery.message);
                let id = match old {
                    // A new state for a delivery already stored: its message stays as it is.
                    Some(Ok(old)) if self.holds(old.message_id, &encoded)? => old.message_id,
                    old => {
                        let id = self.reference_encoded(&encoded)?;
                        if let Some(old) = old {
                            self.release(old.map_err(err)?.message_id)?;
                        }
                        id
                    }
                };
                let value = record::encode_delivery(id, &delivery);
                self.bytes_put += (client_id.len() + 8 + value.len()) as u64;
                self.deliveries.insert(key, value.as_slice()).map_err(err)?;
            }
            Op::DeleteDelivery { client_id, seq } => {
                let old = self
                    .deliveries
                    .remove((client_id.as_str(), seq))
                    .map_err(err)?
                    .map(|old| record::decode_delivery(old.value()));
                if let Some(old) = old {
                    self.release(old.map_err(err)?.message_id)?;
                }
            }
            Op::PutIncomingQos2 { client_id, packet_id } => {
                let value = record::encode_incoming_qos2();
                self.bytes_put += (client_id.len() + 2 + value.len()) as u64;
                self.incoming_qos2
                    .insert((client_id.as_str(), packet_id), value.as_slice())
                    .map_err(err)?;
            }
            Op::DeleteIncomingQos2 { client_id, packet_id } => {
                self.incoming_qos2
                    .remove((client_id.as_str(), packet_id))
                    .map_err(err)?;
            }
        }
        Ok(())
    }

    /// Writes the session row if it changed, and the subscription rows that changed.
    fn put_session(&mut self, session: &StoredSession) -> Result<(), String> {
        let id = session.client_id.as_str();
        let value = record::encode_session(session);
        let same = self
            .sessions
            .get(id)
            .map_err(err)?
            .is_some_and(|old| old.value() == value.as_slice());
        if !same {
            self.bytes_put += (id.len() + value.len()) as u64;
            self.sessions.insert(id, value.as_slice()).map_err(err)?;
        }
        let mut stored: HashMap<String, Vec<u8>> = HashMap::new();
        for entry in self.subscriptions.range((id, "")..).map_err(err)? {
            let (key, value) = entry.map_err(err)?;
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
                    .insert((id, sub.filter.as_str()), value.as_slice())
                    .map_err(err)?;
            }
        }
        for filter in stored.keys() {
            self.subscriptions.remove((id, filter.as_str())).map_err(err)?;
        }
        Ok(())
    }

    /// Removes a session with its subscriptions, deliveries (releasing their messages) and
    /// incoming QoS 2 ids.
    fn delete_session(&mut self, id: &str) -> Result<(), String> {
        self.sessions.remove(id).map_err(err)?;
        let mut filters = Vec::new();
        for entry in self.subscriptions.range((id, "")..).map_err(err)? {
            let (key, _) = entry.map_err(err)?;
            let (client, filter) = key.value();
            if client != id {
                break;
            }
            filters.push(filter.to_string());
        }
        for filter in &filters {
            self.subscriptions.remove((id, filter.as_str())).map_err(err)?;
        }
        let mut released = Vec::new();
        for entry in self.deliveries.range((id, 0u64)..=(id, u64::MAX)).map_err(err)? {
            let (_, value) = entry.map_err(err)?;
            released.push(record::decode_delivery(value.value()).map_err(err)?.message_id);
        }
        self.deliveries
            .retain_in((id, 0u64)..=(id, u64::MAX), |_, _| false)
            .map_err(err)?;
        for message_id in released {
            self.release(message_id)?;
        }
        self.incoming_qos2
            .retain_in((id, 0u16)..=(id, u16::MAX), |_, _| false)
            .map_err(err)?;
        Ok(())
    }

    /// Adds a reference to `message`, storing it if no row holds it yet; returns its id.
    fn reference(&mut self, message: &StoredMessage) -> Result<u64, String> {
        self.reference_encoded(&record::encode_message(message))
    }

    fn reference_encoded(&mut self, encoded: &[u8]) -> Result<u64, String> {
        let mut id = message_id(self.seed, encoded);
        loop {
            let found = self
                .messages
                .get(id)
                .map_err(err)?
                .map(|row| row.value() == encoded);
            match found {
                Some(true) => {
                    let count = self.refs.get(id).map_err(err)?.map_or(0, |c| c.value());
                    self.bytes_put += 16;
                    self.refs.insert(id, count + 1).map_err(err)?;
                    return Ok(id);
                }
                Some(false) => id = id.wrapping_add(1),
                None => {
                    self.bytes_put += (8 + encoded.len() + 16) as u64;
                    self.messages.insert(id, encoded).map_err(err)?;
                    self.refs.insert(id, 1).map_err(err)?;
                    return Ok(id);
                }
            }
        }
    }

    /// Whether message `id` is stored with exactly these bytes.
    fn holds(&self, id: u64, encoded: &[u8]) -> Result<bool, String> {
        Ok(self
            .messages
            .get(id)
            .map_err(err)?
            .is_some_and(|row| row.value() == encoded))
    }

    /// Drops a reference to message `id`, deleting the message with its last one.
    fn release(&mut self, id: u64) -> Result<(), String> {
        let count = self.refs.get(id).map_err(err)?.map_or(0, |c| c.value());
        if count > 1 {
            self.bytes_put += 16;
            self.refs.insert(id, count - 1).map_err(err)?;
        } else {
            // A missing count (damage) is taken as the last reference: better to lose a row
            // nothing may need than to keep failing every commit that touches it.
            self.refs.remove(id).map_err(err)?;
            self.messages.remove(id).map_err(err)?;
        }
        Ok(())
    }
}

/// The first id tried for a message record.
pub(crate) fn message_id(seed: u64, encoded: &[u8]) -> u64 {
    foldhash::quality::FixedState::with_seed(seed).hash_one(encoded)
}
