//! Reading part of a session's queue back: the deliveries from a position on, with their
//! messages, so that the broker keeps only a window of a persistent session's queue in memory.

use redb::{Database, ReadableDatabase};

use super::record;
use super::tables::{DELIVERIES, MESSAGES};
use super::types::StoredDelivery;

/// Up to `limit` deliveries of `client_id` from position `from` on, in queue order.
pub(crate) fn read_deliveries(
    db: &Database,
    client_id: &str,
    from: u64,
    limit: usize,
) -> Result<Vec<(u64, StoredDelivery)>, String> {
    let txn = db.begin_read().map_err(|e| e.to_string())?;
    let deliveries = txn.open_table(DELIVERIES).map_err(|e| e.to_string())?;
    let messages = txn.open_table(MESSAGES).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let range = deliveries
        .range((client_id, from)..=(client_id, u64::MAX))
        .map_err(|e| e.to_string())?;
    for entry in range {
        if out.len() >= limit {
            break;
        }
        let (key, value) = entry.map_err(|e| e.to_string())?;
        let seq = key.value().1;
        let delivery = record::decode_delivery(value.value()).map_err(|e| format!("delivery {seq}: {e}"))?;
        let id = delivery.message_id;
        let bytes = messages
            .get(id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("delivery {seq}: its message {id} does not exist"))?;
        let message = record::decode_message(bytes.value()).map_err(|e| format!("message {id}: {e}"))?;
        out.push((seq, delivery.with_message(message)));
    }
    Ok(out)
}
