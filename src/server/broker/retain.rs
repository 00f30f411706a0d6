//! Retained messages: one per topic, replaced or cleared by later retained publishes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::message::Message;
use crate::protocol::topic;

/// The retained message of every topic that has one.
#[derive(Debug, Default)]
pub struct RetainStore {
    by_topic: HashMap<Arc<str>, Arc<Message>>,
}

impl RetainStore {
    /// Stores `message` as its topic's retained message, or clears it for an empty payload
    /// [MQTT-3.3.1-6], [MQTT-3.3.1-10].
    pub fn apply(&mut self, message: &Arc<Message>) {
        if message.payload.is_empty() {
            self.by_topic.remove(&message.topic);
        } else {
            self.by_topic.insert(message.topic.clone(), message.clone());
        }
    }

    /// Retained messages whose topic matches `filter`, leaving out expired ones.
    pub fn matching(&self, filter: &str) -> Vec<Arc<Message>> {
        let now = Instant::now();
        if !topic::has_wildcard(filter) {
            return self
                .by_topic
                .get(filter)
                .filter(|m| !m.is_expired(now))
                .cloned()
                .into_iter()
                .collect();
        }
        self.by_topic
            .values()
            .filter(|m| !m.is_expired(now) && topic::matches(filter, &m.topic))
            .cloned()
            .collect()
    }

    /// Every retained message not expired.
    pub fn all(&self) -> Vec<Arc<Message>> {
        let now = Instant::now();
        self.by_topic
            .values()
            .filter(|m| !m.is_expired(now))
            .cloned()
            .collect()
    }

    /// Whether `topic` has a retained message.
    pub fn contains(&self, topic: &str) -> bool {
        self.by_topic.contains_key(topic)
    }

    /// Drops expired messages; returns how many went.
    pub fn prune_expired(&mut self) -> usize {
        let now = Instant::now();
        let before = self.by_topic.len();
        self.by_topic.retain(|_, m| !m.is_expired(now));
        before - self.by_topic.len()
    }

    /// Number of retained messages.
    pub fn len(&self) -> usize {
        self.by_topic.len()
    }

    /// True when nothing is retained.
    pub fn is_empty(&self) -> bool {
        self.by_topic.is_empty()
    }
}
