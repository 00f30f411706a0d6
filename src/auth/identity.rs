//! Who owns each session: the user name a client authenticated with, kept per client id for
//! the checks made without a connection at hand (a delivery to a subscriber, a will).
//!
//! An entry is tied to one session object through a weak reference, so a later session with
//! the same client id (after a clean start) is never mistaken for the one the entry was made
//! for, and entries of ended sessions are dropped as the table grows. Sessions restored from
//! the store have no entry until their client connects again.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

/// A session, as far as this table is concerned: any shared object, compared by address.
pub type Owner = Arc<dyn Any + Send + Sync>;

/// The address that identifies an owner (an `Arc`'s pointee).
pub fn owner_key<T: ?Sized>(owner: &T) -> *const () {
    owner as *const T as *const ()
}

#[derive(Debug)]
struct Entry {
    owner: Weak<dyn Any + Send + Sync>,
    username: Option<Arc<str>>,
}

impl Entry {
    fn is(&self, key: *const ()) -> bool {
        std::ptr::eq(self.owner.as_ptr() as *const (), key)
    }
}

/// The table.
#[derive(Debug, Default)]
pub struct Identities {
    map: RwLock<Table>,
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Arc<str>, Entry>,
    /// Sweep out dead entries when the table reaches this size.
    prune_at: usize,
}

/// Below this many entries the table is never pruned.
const PRUNE_FLOOR: usize = 1024;

impl Identities {
    /// Records that `owner` (the session of `client_id`) belongs to `username`.
    pub fn register(&self, client_id: &Arc<str>, owner: Owner, username: Option<Arc<str>>) {
        self.insert(client_id, owner, username, false);
    }

    /// As [`register`](Self::register), for a name read from `owner`'s connection earlier,
    /// unless `client_id` has an entry for another live owner meanwhile: that session replaced
    /// `owner` (a takeover) and registered itself, so its entry is the newer one.
    pub fn register_unless_replaced(&self, client_id: &Arc<str>, owner: Owner, username: Option<Arc<str>>) {
        self.insert(client_id, owner, username, true);
    }

    fn insert(&self, client_id: &Arc<str>, owner: Owner, username: Option<Arc<str>>, keep_other: bool) {
        let mut table = self.map.write().unwrap_or_else(|p| p.into_inner());
        let replaced = |e: &Entry| e.owner.strong_count() > 0 && !e.is(owner_key(&*owner));
        if keep_other && table.entries.get(&**client_id).is_some_and(replaced) {
            return;
        }
        if table.entries.len() >= table.prune_at.max(PRUNE_FLOOR) {
            // Amortized: one sweep each time the live entries have doubled.
            table.entries.retain(|_, e| e.owner.strong_count() > 0);
            table.prune_at = 2 * table.entries.len();
        }
        table.entries.insert(
            client_id.clone(),
            Entry {
                owner: Arc::downgrade(&owner),
                username,
            },
        );
    }

    /// The user name `key` (the session of `client_id`) was registered with: `Some(None)` for
    /// an anonymous client, `None` when unknown.
    pub fn username(&self, client_id: &str, key: *const ()) -> Option<Option<Arc<str>>> {
        let table = self.map.read().unwrap_or_else(|p| p.into_inner());
        table
            .entries
            .get(client_id)
            .filter(|e| e.is(key))
            .map(|e| e.username.clone())
    }

    /// The user name that owns the live session of `client_id`, if one is registered:
    /// `Some(None)` for an anonymous owner.
    pub fn current_owner(&self, client_id: &str) -> Option<Option<Arc<str>>> {
        let table = self.map.read().unwrap_or_else(|p| p.into_inner());
        table
            .entries
            .get(client_id)
            .filter(|e| e.owner.strong_count() > 0)
            .map(|e| e.username.clone())
    }

    /// Number of entries (live or not yet pruned).
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).entries.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_tied_to_one_owner() {
        let ids = Identities::default();
        let id: Arc<str> = Arc::from("c1");
        let first: Owner = Arc::new(1u8);
        ids.register(&id, first.clone(), Some(Arc::from("alice")));
        assert_eq!(
            ids.username("c1", Arc::as_ptr(&first) as *const ()),
            Some(Some(Arc::from("alice")))
        );
        let second: Owner = Arc::new(2u8);
        assert_eq!(ids.username("c1", Arc::as_ptr(&second) as *const ()), None);
        ids.register(&id, second.clone(), None);
        assert_eq!(ids.username("c1", Arc::as_ptr(&second) as *const ()), Some(None));
        assert_eq!(ids.username("c1", Arc::as_ptr(&first) as *const ()), None);
        assert_eq!(ids.current_owner("c1"), Some(None));
        drop(second);
        assert_eq!(ids.current_owner("c1"), None);
    }

    #[test]
    fn a_late_registration_never_replaces_a_newer_live_owner() {
        let ids = Identities::default();
        let id: Arc<str> = Arc::from("c1");
        let old: Owner = Arc::new(1u8);
        let old_key = Arc::as_ptr(&old) as *const ();
        // No entry, or one for the same owner: registered.
        ids.register_unless_replaced(&id, old.clone(), Some(Arc::from("alice")));
        assert_eq!(ids.username("c1", old_key), Some(Some(Arc::from("alice"))));
        ids.register_unless_replaced(&id, old.clone(), Some(Arc::from("carol")));
        assert_eq!(ids.username("c1", old_key), Some(Some(Arc::from("carol"))));
        // A newer live owner keeps its entry.
        let new: Owner = Arc::new(2u8);
        ids.register(&id, new.clone(), Some(Arc::from("bob")));
        ids.register_unless_replaced(&id, old.clone(), Some(Arc::from("alice")));
        assert_eq!(ids.current_owner("c1"), Some(Some(Arc::from("bob"))));
        assert_eq!(ids.username("c1", old_key), None);
        // An entry whose owner is gone is replaced.
        drop(new);
        ids.register_unless_replaced(&id, old, Some(Arc::from("alice")));
        assert_eq!(ids.username("c1", old_key), Some(Some(Arc::from("alice"))));
    }

    #[test]
    fn dead_entries_are_pruned_as_the_table_grows() {
        let ids = Identities::default();
        for i in 0..3 * PRUNE_FLOOR {
            let owner: Owner = Arc::new(i);
            ids.register(&Arc::from(format!("c{i}")), owner, None);
        }
        assert!(ids.len() < 2 * PRUNE_FLOOR, "{}", ids.len());
    }
}
