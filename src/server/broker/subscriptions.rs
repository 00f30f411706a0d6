//! Subscriptions: a session's filters and the trie kept in step, their records, and the
//! retained messages a new subscription gets.

use std::sync::Arc;

use super::trie::Subscriber;
use super::{read, write, Broker, Changes, Message, Session, Subscription};
use crate::protocol::{topic, RetainHandling, SubscriptionOptions};

impl Broker {
    /// Takes an ended session out of the trie; the publishers it held back go on.
    pub(super) fn drop_subscriptions(&self, session: &Arc<Session>) {
        let filters: Vec<Arc<str>> = {
            let mut state = session.lock();
            state.wake_waiters();
            state.subscriptions.drain().map(|(f, _)| f).collect()
        };
        let mut trie = write(&self.trie);
        for filter in filters {
            if let Some(parsed) = topic::parse_filter(&filter) {
                trie.remove(parsed.filter, parsed.share_group, session);
            }
        }
    }

    /// Adds or replaces a subscription; returns whether one existed for that filter. The
    /// record of the change goes into `changes`.
    pub fn subscribe(
        &self,
        session: &Arc<Session>,
        filter: &Arc<str>,
        subscription: Subscription,
        changes: &mut Changes,
    ) -> bool {
        let Some(parsed) = topic::parse_filter(filter) else {
            return false;
        };
        let (existed, op) = {
            let mut state = session.lock();
            let existed = state.subscriptions.insert(filter.clone(), subscription).is_some();
            let op = if state.is_durable() {
                self.session_op(session, &mut state)
            } else {
                None
            };
            (existed, op)
        };
        write(&self.trie).insert(
            parsed.filter,
            parsed.share_group,
            Subscriber {
                session: session.clone(),
                subscription,
            },
        );
        changes.0.extend(op);
        existed
    }

    /// Removes a subscription; returns whether it existed. The record of the change goes
    /// into `changes`.
    pub fn unsubscribe(&self, session: &Arc<Session>, filter: &Arc<str>, changes: &mut Changes) -> bool {
        let Some(parsed) = topic::parse_filter(filter) else {
            return false;
        };
        let (existed, op) = {
            let mut state = session.lock();
            let existed = state.subscriptions.remove(filter).is_some();
            let op = if existed && state.is_durable() {
                self.session_op(session, &mut state)
            } else {
                None
            };
            (existed, op)
        };
        write(&self.trie).remove(parsed.filter, parsed.share_group, session);
        changes.0.extend(op);
        existed
    }

    /// Retained messages to send for a new subscription, per its retain handling
    /// [MQTT-3.3.1-9], [MQTT-3.8.4-4].
    pub fn retained_for(
        &self,
        filter: &str,
        options: &SubscriptionOptions,
        existed: bool,
    ) -> Vec<Arc<Message>> {
        match (options.retain_handling, existed) {
            (RetainHandling::Never, _) | (RetainHandling::SendIfNew, true) => Vec::new(),
            _ => match topic::parse_filter(filter) {
                // [MQTT-3.8.4-] retained messages are not sent for shared subscriptions
                Some(p) if p.share_group.is_none() => read(&self.retained).matching(p.filter),
                _ => Vec::new(),
            },
        }
    }
}
