//! What the broker's unit tests share: a broker (with a store or without) and a connection to
//! attach.

use std::sync::Arc;
use std::time::Duration;

use crate::protocol::Version;
use crate::server::broker::{Broker, BrokerConfig, ConnLink, QueueLimits};
use crate::server::metrics::ConnStats;
use crate::server::peer::Peer;
use crate::server::rate::PublishBudget;
use crate::store::Store;

/// A broker with small queue bounds and no store.
pub fn broker() -> Arc<Broker> {
    broker_with(None)
}

/// A broker with small queue bounds and `store`.
pub fn broker_with(store: Option<Store>) -> Arc<Broker> {
    let limits = QueueLimits {
        max_messages: 100,
        max_bytes: 1 << 20,
        max_store_bytes: 1 << 20,
        stalled_after: Duration::from_secs(30),
        drop_oldest: false,
    };
    Broker::new(
        BrokerConfig {
            queue_limits: Arc::new(limits),
            max_memory: 1 << 24,
        },
        store,
    )
}

/// A v5 connection numbered `id` with a receive maximum of 10.
pub fn link(id: u64) -> ConnLink {
    ConnLink {
        id,
        version: Version::V5,
        receive_maximum: 10,
        max_packet_size: usize::MAX,
        stats: ConnStats::new(Peer::Unix, 0, 60, false, PublishBudget::new(0, 0), 0),
        username: None,
        aliases: None,
        rename: None,
    }
}
