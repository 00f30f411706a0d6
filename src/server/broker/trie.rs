//! The subscription trie: filter levels → subscribers, matched once per published topic.

use foldhash::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::session::{Session, Subscription};

/// One session's subscription on a trie node.
#[derive(Debug, Clone)]
pub struct Subscriber {
    /// The subscribing session.
    pub session: Arc<Session>,
    /// Its options and identifier.
    pub subscription: Subscription,
}

#[derive(Debug, Default)]
struct SharedGroup {
    members: Vec<Subscriber>,
    next: AtomicUsize,
}

/// One filter level. The `+` and `#` children are kept apart from the named ones, since every
/// level of every published topic looks them up.
#[derive(Debug, Default)]
struct Node {
    children: HashMap<Box<str>, Node>,
    plus: Option<Box<Node>>,
    hash: Option<Box<Node>>,
    subscribers: Vec<Subscriber>,
    shared: HashMap<Box<str>, SharedGroup>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty()
            && self.plus.is_none()
            && self.hash.is_none()
            && self.subscribers.is_empty()
            && self.shared.is_empty()
    }

    fn child_mut(&mut self, level: &str) -> Option<&mut Node> {
        match level {
            "+" => self.plus.as_deref_mut(),
            "#" => self.hash.as_deref_mut(),
            _ => self.children.get_mut(level),
        }
    }

    fn child_or_insert(&mut self, level: &str) -> &mut Node {
        match level {
            "+" => self.plus.get_or_insert_with(Box::default),
            "#" => self.hash.get_or_insert_with(Box::default),
            _ => self.children.entry(level.into()).or_default(),
        }
    }

    fn remove_child(&mut self, level: &str) {
        match level {
            "+" => self.plus = None,
            "#" => self.hash = None,
            _ => {
                self.children.remove(level);
            }
        }
    }
}

/// A subscriber picked for one published message.
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    /// The matching subscription.
    pub subscriber: &'a Subscriber,
    /// True when picked from a shared subscription group.
    pub shared: bool,
}

/// Every subscription of every session, by filter level.
#[derive(Debug, Default)]
pub struct SubscriptionTrie {
    root: Node,
    count: usize,
}

impl SubscriptionTrie {
    /// Number of subscriptions held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nobody subscribes to anything.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds or replaces a subscription; returns true if it replaced an existing one.
    pub fn insert(&mut self, filter: &str, group: Option<&str>, subscriber: Subscriber) -> bool {
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = node.child_or_insert(level);
        }
        let list = match group {
            Some(g) => &mut node.shared.entry(g.into()).or_default().members,
            None => &mut node.subscribers,
        };
        match list
            .iter_mut()
            .find(|s| Arc::ptr_eq(&s.session, &subscriber.session))
        {
            Some(existing) => {
                *existing = subscriber;
                true
            }
            None => {
                list.push(subscriber);
                self.count += 1;
                false
            }
        }
    }

    /// Removes a session's subscription; returns true if there was one.
    pub fn remove(&mut self, filter: &str, group: Option<&str>, session: &Arc<Session>) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        let removed = Self::remove_at(&mut self.root, &levels, group, session);
        if removed {
            self.count -= 1;
        }
        removed
    }

    fn remove_at(node: &mut Node, levels: &[&str], group: Option<&str>, session: &Arc<Session>) -> bool {
        let Some((first, rest)) = levels.split_first() else {
            let removed = match group {
                Some(g) => {
                    let Some(shared) = node.shared.get_mut(g) else {
                        return false;
                    };
                    let before = shared.members.len();
                    shared.members.retain(|s| !Arc::ptr_eq(&s.session, session));
                    let removed = shared.members.len() != before;
                    if shared.members.is_empty() {
                        node.shared.remove(g);
                    }
                    removed
                }
                None => {
                    let before = node.subscribers.len();
                    node.subscribers.retain(|s| !Arc::ptr_eq(&s.session, session));
                    node.subscribers.len() != before
                }
            };
            return removed;
        };
        let Some(child) = node.child_mut(first) else {
            return false;
        };
        let removed = Self::remove_at(child, rest, group, session);
        if child.is_empty() {
            node.remove_child(first);
        }
        removed
    }

    /// Calls `visit` for every subscription matching `topic`: each plain subscriber, and one
    /// member per shared group (round robin, preferring members that are online).
    pub fn for_each_match<'a>(&'a self, topic: &str, mut visit: impl FnMut(Match<'a>)) {
        // [MQTT-4.7.2-1] a leading wildcard does not match topics that start with '$'
        let dollar = topic.starts_with('$');
        Self::walk(&self.root, topic, dollar, &mut visit);
    }

    fn walk<'a>(node: &'a Node, rest: &str, skip_wildcards: bool, visit: &mut impl FnMut(Match<'a>)) {
        // A byte loop, not a search: topic levels are short, and '/' is ASCII so the split is
        // on a character boundary.
        let (level, tail) = match rest.bytes().position(|b| b == b'/') {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        if !skip_wildcards {
            if let Some(all) = node.hash.as_deref() {
                Self::visit_node(all, visit);
            }
            if let Some(one) = node.plus.as_deref() {
                match tail {
                    Some(t) => Self::walk(one, t, false, visit),
                    None => Self::visit_leaf(one, visit),
                }
            }
        }
        // A topic name has no wildcards [MQTT-4.7.0-1]: only named children can match it.
        if let Some(exact) = node.children.get(level) {
            match tail {
                Some(t) => Self::walk(exact, t, false, visit),
                None => Self::visit_leaf(exact, visit),
            }
        }
    }

    /// The topic ended at `node`: its own subscribers match, and so does a `#` child
    /// ("sport/#" matches "sport" [MQTT-4.7.1-2]).
    fn visit_leaf<'a>(node: &'a Node, visit: &mut impl FnMut(Match<'a>)) {
        Self::visit_node(node, visit);
        if let Some(all) = node.hash.as_deref() {
            Self::visit_node(all, visit);
        }
    }

    fn visit_node<'a>(node: &'a Node, visit: &mut impl FnMut(Match<'a>)) {
        for subscriber in &node.subscribers {
            visit(Match {
                subscriber,
                shared: false,
            });
        }
        for group in node.shared.values() {
            if let Some(subscriber) = Self::pick(group) {
                visit(Match {
                    subscriber,
                    shared: true,
                });
            }
        }
    }

    fn pick(group: &SharedGroup) -> Option<&Subscriber> {
        let n = group.members.len();
        if n == 0 {
            return None;
        }
        let start = group.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &group.members[(start + i) % n])
            .find(|s| s.session.lock().conn.is_some())
            .or_else(|| group.members.get(start % n))
    }
}
