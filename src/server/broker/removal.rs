//! What an administrator removes by hand: a retained message. It goes the way the protocol
//! removes it (an empty retained PUBLISH), so the store follows and the removal survives a
//! restart.

use std::sync::Arc;

use bytes::Bytes;

use super::{records, write, Broker, Message};
use crate::protocol::QoS;

impl Broker {
    /// Clears the retained message of `topic` as a retained PUBLISH with an empty payload
    /// does [MQTT-3.3.1-10], in memory and in the store, but without delivering that empty
    /// message to subscribers. Returns whether the topic had one.
    pub fn clear_retained(&self, topic: &str) -> bool {
        let empty = Arc::new(Message {
            topic: Arc::from(topic),
            payload: Bytes::new(),
            qos: QoS::AtMostOnce,
            retain: true,
            properties: Default::default(),
            expires_at: None,
            publisher: None,
        });
        let existed = {
            let mut retained = write(&self.retained);
            let existed = retained.contains(topic);
            retained.apply(&empty);
            existed
        };
        if existed && self.store.is_some() {
            self.commit(vec![records::retained(&empty)], None, Vec::new());
        }
        existed
    }
}
