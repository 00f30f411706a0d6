//! The broker's figures read at one moment, as the metrics table's rows read them: what one
//! `$SYS` tick, one scrape or one `broker/stats` reply publishes.

use super::broker::Broker;
use super::metrics::table::Sources;

/// Reads the broker's figures now (counting the sessions' queues, like [`Broker::census`]).
pub fn read(broker: &Broker) -> Sources<'_> {
    let census = broker.census();
    Sources {
        metrics: &broker.metrics,
        uptime: broker.started.elapsed(),
        sessions: census.sessions as u64,
        subscriptions: census.subscriptions as u64,
        retained: census.retained as u64,
        queued_messages: census.queued_messages as u64,
        memory_used: broker.memory.used() as u64,
        memory_max: broker.memory.max() as u64,
        store: broker.store().map(|store| store.stats()),
    }
}
