//! Every record of a read transaction, decoded, in table order: the one place records are read.
//!
//! Records come out as the broker sees them, whatever the schema: a session with its
//! subscriptions, a delivery with its message. Reading schema 3 resolves message ids and checks
//! every reference count on the way.
//!
//! Used by the broker's load (`open`), which refuses the file at the first bad record, and by the
//! `robustmq store` tools (`inspect`), which go on and report them all.

use std::ops::ControlFlow;
use std::path::Path;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe};

use redb::{ReadTransaction, ReadableTable, TableDefinition, TableError, TableHandle};

use super::error::StoreError;
use super::legacy;
use super::open::{self, OwnedKey};
use super::record::{self, RecordError};
use super::tables::{
    DELIVERIES, INCOMING_QOS2, MESSAGES, MESSAGE_REFS, RETAINED, SCHEMA_VERSION, SESSIONS, SUBSCRIPTIONS,
};
use super::types::{StoredDelivery, StoredMessage, StoredSession, StoredSubscription};
use super::writer::panic_message;

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

/// Where a scan reads: a read transaction of the data file and, when salvaging, where to note
/// what could not be read.
pub(crate) struct Source<'a> {
    pub(crate) txn: &'a ReadTransaction,
    pub(crate) path: &'a Path,
    /// `Some` to salvage: a table that cannot be read to its end (redb fails or panics on a
    /// damaged page) keeps what was read before, the loss is noted here and the scan goes on.
    pub(crate) losses: Option<&'a RefCell<Vec<String>>>,
}

impl Source<'_> {
    /// [`open::for_each`], with what salvaging changes (see [`Source::losses`]). A break of
    /// `each` ends the scan of the table and is returned.
    pub(crate) fn for_each<K: OwnedKey>(
        &self,
        table: TableDefinition<K, &'static [u8]>,
        mut each: impl FnMut(K::Owned, &[u8]) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, StoreError> {
        let mut read = 0u64;
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            open::for_each(self.txn, self.path, table, |key, bytes| {
                read += 1;
                each(key, bytes)
            })
        }));
        let error = match result {
            Ok(Ok(flow)) => return Ok(flow),
            Ok(Err(e)) => e.to_string(),
            Err(payload) => format!("redb panicked: {}", panic_message(&payload)),
        };
        match self.losses {
            Some(losses) => {
                losses.borrow_mut().push(format!(
                    "table `{}`: unreadable after {read} entries, the rest of it is lost ({error})",
                    table.name()
                ));
                Ok(ControlFlow::Continue(()))
            }
            None => Err(open::corrupt(self.path, error)),
        }
    }
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

/// What is wrong with one record, besides the table and key that [`BadRecord`] names.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordProblem {
    /// The value does not decode.
    #[error(transparent)]
    Decode(#[from] RecordError),
    /// A session record whose client id is not its key's.
    #[error("the record names another client")]
    OtherClient,
    /// A schema 1 retained record whose topic is not its key's.
    #[error("the record names another topic")]
    OtherTopic,
    /// The message (by id) the record refers to is there but does not decode.
    #[error("its message {0} does not decode")]
    MessageUndecodable(u64),
    /// The message (by id) the record refers to is not there.
    #[error("its message {0} does not exist")]
    MessageMissing(u64),
    /// A retained record whose message (by id) has a topic other than its key.
    #[error("its message {0} has another topic")]
    MessageTopic(u64),
}

/// Calls `each` with every record of a file of schema `version`, in key order: sessions (with
/// their subscriptions), deliveries, incoming QoS 2 packet ids, retained messages, each delivery
/// and retained message with its message filled in. Sessions come first so a session is known
/// before its queue; within a table, keys are ordered by client id, then seq / packet id. A record
/// that does not decode, disagrees with its key, or refers to a message that is not there is
/// passed as `Err`, as are (last) reference counts that disagree with the references, and the
/// scan goes on unless `each` breaks. `Err` only when the file cannot be read. A table that does
/// not exist is an empty one.
pub(crate) fn scan(
    src: &Source<'_>,
    version: u64,
    each: &mut impl FnMut(Result<Record, BadRecord>) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    if version < SCHEMA_VERSION {
        return legacy::scan(src, each);
    }
    Scan::read(src, each)?.map_or(Ok(()), |mut scan| scan.records(src, each))
}

/// What a schema 3 scan reads before it can hand out records: messages, their counts and the
/// subscriptions, by the keys the other records look them up with.
struct Scan {
    messages: HashMap<u64, StoredMessage>,
    /// Ids of messages that do not decode: references to them are not reported again.
    bad_messages: HashSet<u64>,
    refs: BTreeMap<u64, u64>,
    /// References found so far, by message id.
    counted: HashMap<u64, u64>,
    subscriptions: BTreeMap<String, Vec<StoredSubscription>>,
}

impl Scan {
    /// Reads the messages, counts and subscriptions. `None` if `each` stopped the scan.
    fn read(
        src: &Source<'_>,
        each: &mut impl FnMut(Result<Record, BadRecord>) -> ControlFlow<()>,
    ) -> Result<Option<Scan>, StoreError> {
        let mut scan = Scan {
            messages: HashMap::new(),
            bad_messages: HashSet::new(),
            refs: BTreeMap::new(),
            counted: HashMap::new(),
            subscriptions: BTreeMap::new(),
        };
        let flow = src.for_each(MESSAGES, |id, bytes| match record::decode_message(bytes) {
            Ok(message) => {
                scan.messages.insert(id, message);
                ControlFlow::Continue(())
            }
            Err(e) => {
                scan.bad_messages.insert(id);
                each(Err(bad(MESSAGES, &id, e)))
            }
        })?;
        if flow.is_break() {
            return Ok(None);
        }
        read_refs(src, &mut scan.refs)?;
        let flow = src.for_each(
            SUBSCRIPTIONS,
            |(client_id, filter), bytes| match record::decode_subscription(&filter, bytes) {
                Ok(sub) => {
                    scan.subscriptions.entry(client_id).or_default().push(sub);
                    ControlFlow::Continue(())
                }
                Err(e) => each(Err(bad(SUBSCRIPTIONS, &(client_id, filter), e))),
            },
        )?;
        Ok(flow.is_continue().then_some(scan))
    }

    /// The message a record refers to, counting the reference.
    fn message(&mut self, id: u64) -> Result<StoredMessage, RecordProblem> {
        *self.counted.entry(id).or_default() += 1;
        match self.messages.get(&id) {
            Some(message) => Ok(message.clone()),
            None if self.bad_messages.contains(&id) => Err(RecordProblem::MessageUndecodable(id)),
            None => Err(RecordProblem::MessageMissing(id)),
        }
    }

    fn records(
        &mut self,
        src: &Source<'_>,
        each: &mut impl FnMut(Result<Record, BadRecord>) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let mut subscriptions = std::mem::take(&mut self.subscriptions);
        let stopped = scan_table(src, SESSIONS, each, |client_id, bytes| {
            let mut session = record::decode_session(bytes)?;
            if session.client_id != *client_id {
                return Err(RecordProblem::OtherClient);
            }
            session.subscriptions = subscriptions.remove(client_id).unwrap_or_default();
            Ok(Record::Session(session))
        })?;
        if stopped {
            return Ok(());
        }
        for (client_id, subs) in subscriptions {
            for sub in subs {
                let key = (client_id.clone(), sub.filter);
                let bad = bad(
                    SUBSCRIPTIONS,
                    &key,
                    format!("session {client_id:?} does not exist"),
                );
                if each(Err(bad)).is_break() {
                    return Ok(());
                }
            }
        }
        let stopped = scan_table(src, DELIVERIES, each, |(client_id, seq), bytes| {
            let delivery = record::decode_delivery(bytes)?;
            let message = self.message(delivery.message_id)?;
            Ok(Record::Delivery {
                client_id: client_id.clone(),
                seq: *seq,
                delivery: delivery.with_message(message),
            })
        })?;
        if stopped {
            return Ok(());
        }
        let stopped = scan_incoming_qos2(src, each)?;
        if stopped {
            return Ok(());
        }
        let stopped = scan_table(src, RETAINED, each, |topic, bytes| {
            let id = record::decode_retained(bytes)?;
            let message = self.message(id)?;
            if message.topic != *topic {
                return Err(RecordProblem::MessageTopic(id));
            }
            Ok(Record::Retained(message))
        })?;
        if stopped {
            return Ok(());
        }
        for problem in self.count_problems() {
            if each(Err(problem)).is_break() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Reference counts that disagree with the references found, and messages nothing refers to.
    fn count_problems(&self) -> Vec<BadRecord> {
        let mut ids: Vec<u64> = self
            .messages
            .keys()
            .chain(self.bad_messages.iter())
            .copied()
            .collect();
        ids.extend(self.refs.keys().copied());
        ids.sort_unstable();
        ids.dedup();
        let mut problems = Vec::new();
        for id in ids {
            let row = self.refs.get(&id).copied();
            // No count row means one reference; a row says two or more.
            let stored = row.unwrap_or(1);
            let counted = self.counted.get(&id).copied().unwrap_or(0);
            let exists = self.messages.contains_key(&id) || self.bad_messages.contains(&id);
            let detail = if !exists {
                format!("counts {stored} references to a message that does not exist")
            } else if counted == 0 {
                "the message is referred to by nothing (it should have been deleted)".to_string()
            } else if row.is_some_and(|n| n < 2) {
                format!("counts {stored} references; a count row holds 2 or more")
            } else if stored != counted {
                format!("counts {stored} references, but {counted} deliveries and retained messages refer to the message")
            } else {
                continue;
            };
            problems.push(bad(MESSAGE_REFS, &id, detail));
        }
        problems
    }
}

/// Reads the reference counts; salvaging, as many as can be read.
fn read_refs(src: &Source<'_>, refs: &mut BTreeMap<u64, u64>) -> Result<(), StoreError> {
    let path = src.path;
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let table = match src.txn.open_table(MESSAGE_REFS) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(open::table_error(path, MESSAGE_REFS.name(), e)),
        };
        for entry in table.iter().map_err(|e| open::storage(path, e))? {
            let (key, value) = entry.map_err(|e| open::storage(path, e))?;
            refs.insert(key.value(), value.value());
        }
        Ok(())
    }));
    let error = match result {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(e)) => e,
        Err(payload) => open::corrupt(path, format!("redb panicked: {}", panic_message(&payload))),
    };
    match src.losses {
        Some(losses) => {
            losses.borrow_mut().push(format!(
                "table `{}`: unreadable after {} entries, the rest of it is lost ({error})",
                MESSAGE_REFS.name(),
                refs.len()
            ));
            Ok(())
        }
        None => Err(error),
    }
}

fn bad(
    table: TableDefinition<impl redb::Key, impl redb::Value>,
    key: &dyn std::fmt::Debug,
    error: impl std::fmt::Display,
) -> BadRecord {
    BadRecord {
        table: table.name().to_string(),
        detail: open::bad_record(table, key, error),
    }
}

/// Decodes every entry of one table and hands it to `each`. `Ok(true)` if `each` stopped the scan.
/// Scans the QoS 2 packet ids received and not yet released (the same table in every schema).
pub(crate) fn scan_incoming_qos2(
    src: &Source<'_>,
    each: &mut impl FnMut(Result<Record, BadRecord>) -> ControlFlow<()>,
) -> Result<bool, StoreError> {
    scan_table(src, INCOMING_QOS2, each, |(client_id, packet_id), bytes| {
        record::decode_incoming_qos2(bytes)?;
        Ok(Record::IncomingQos2 {
            client_id: client_id.clone(),
            packet_id: *packet_id,
        })
    })
}

pub(crate) fn scan_table<K: OwnedKey>(
    src: &Source<'_>,
    table: TableDefinition<K, &'static [u8]>,
    each: &mut impl FnMut(Result<Record, BadRecord>) -> ControlFlow<()>,
    mut decode: impl FnMut(&K::Owned, &[u8]) -> Result<Record, RecordProblem>,
) -> Result<bool, StoreError> {
    let flow = src.for_each(table, |key, bytes| {
        let record = decode(&key, bytes).map_err(|error| BadRecord {
            table: table.name().to_string(),
            detail: open::bad_record(table, &key, error),
        });
        each(record)
    })?;
    Ok(flow.is_break())
}
