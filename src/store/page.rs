//! Reading part of a session's queue back: the deliveries in a range of positions, with their
//! messages, so that the broker keeps only a window of a persistent session's queue in memory.

use redb::{Database, ReadableDatabase};

use super::record::{self, RecordError};
use super::tables::{DELIVERIES, MESSAGES};
use super::types::StoredDelivery;

/// Why part of a queue could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store is closed (the broker is stopping).
    #[error("the store is closed")]
    Closed,
    /// The database cannot be used (it could not be reopened after a failure).
    #[error("{0}")]
    Unavailable(String),
    /// redb failed to read.
    #[error(transparent)]
    Database(#[from] redb::Error),
    /// A delivery record does not decode.
    #[error("delivery {seq}: {source}")]
    Delivery {
        /// Its position in the queue.
        seq: u64,
        /// Why.
        source: RecordError,
    },
    /// A delivery refers to a message that is not there.
    #[error("delivery {seq}: its message {id} does not exist")]
    MissingMessage {
        /// Its position in the queue.
        seq: u64,
        /// The message it refers to.
        id: u64,
    },
    /// A message record does not decode.
    #[error("message {id}: {source}")]
    Message {
        /// The message's id.
        id: u64,
        /// Why.
        source: RecordError,
    },
    /// The read panicked (a bug); the writer carries on.
    #[error("panic: {0}")]
    Panicked(String),
}

/// Up to `limit` deliveries of `client_id` at `positions`, in queue order.
pub(crate) fn read_deliveries(
    db: &Database,
    client_id: &str,
    positions: std::ops::Range<u64>,
    limit: usize,
) -> Result<Vec<(u64, StoredDelivery)>, ReadError> {
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let deliveries = txn.open_table(DELIVERIES).map_err(redb::Error::from)?;
    let messages = txn.open_table(MESSAGES).map_err(redb::Error::from)?;
    let mut out = Vec::new();
    let range = deliveries
        .range((client_id, positions.start)..(client_id, positions.end))
        .map_err(redb::Error::from)?;
    for entry in range {
        if out.len() >= limit {
            break;
        }
        let (key, value) = entry.map_err(redb::Error::from)?;
        let seq = key.value().1;
        let delivery =
            record::decode_delivery(value.value()).map_err(|source| ReadError::Delivery { seq, source })?;
        let id = delivery.message_id;
        let bytes = messages
            .get(id)
            .map_err(redb::Error::from)?
            .ok_or(ReadError::MissingMessage { seq, id })?;
        let message =
            record::decode_message(bytes.value()).map_err(|source| ReadError::Message { id, source })?;
        out.push((seq, delivery.with_message(message)));
    }
    Ok(out)
}
