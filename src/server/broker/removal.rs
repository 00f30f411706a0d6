//! What an administrator removes by hand: a retained message, an offline session. Each goes
//! the way the protocol removes it (an empty retained PUBLISH, the session's expiry), so the
//! store follows and the removal survives a restart.

use std::sync::Arc;

use bytes::Bytes;

use super::{records, write, Broker, Message};
use crate::protocol::QoS;

/// Why an offline session could not be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteSessionError {
    /// Its client is connected: the session is in use.
    Connected,
}

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

    /// Ends the offline session of `client_id` now, as its expiry would: its subscriptions,
    /// queue and stored record go, and a will still waiting for its delay is published.
    /// Returns whether there was such a session.
    pub fn delete_offline_session(&self, client_id: &str) -> Result<bool, DeleteSessionError> {
        let Some(session) = self.session(client_id) else {
            return Ok(false);
        };
        let generation = {
            let state = session.lock();
            if state.conn.is_some() {
                return Err(DeleteSessionError::Connected);
            }
            state.generation
        };
        Ok(self.end_session(&session, generation))
    }
}
