//! Outgoing packet identifiers: which are in use, what each waits for, and the publish window.
//!
//! A flat table indexed by packet identifier (64 KiB, allocated once per connection) makes every
//! operation O(1) without allocating per message.

/// What an outgoing packet identifier is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Awaiting {
    /// Not in use.
    Free,
    /// A QoS 1 PUBLISH waiting for PUBACK.
    Puback,
    /// A QoS 2 PUBLISH waiting for PUBREC.
    Pubrec,
    /// A QoS 2 PUBREL waiting for PUBCOMP.
    Pubcomp,
    /// A SUBSCRIBE waiting for SUBACK.
    Suback,
    /// An UNSUBSCRIBE waiting for UNSUBACK.
    Unsuback,
}

impl Awaiting {
    fn is_publish(self) -> bool {
        matches!(self, Awaiting::Puback | Awaiting::Pubrec | Awaiting::Pubcomp)
    }
}

/// The packet identifiers of one connection.
#[derive(Debug)]
pub struct Inflight {
    /// State per packet identifier; index 0 is never used.
    slots: Box<[Awaiting]>,
    /// Identifiers in use by any packet.
    in_use: usize,
    /// Identifiers in use by QoS 1/2 publishes (what the window limits).
    publishes: usize,
    /// How many QoS 1/2 publishes may be unacknowledged at once.
    window: usize,
    /// Where the search for a free identifier starts.
    next: u16,
}

impl Inflight {
    /// An empty table allowing `window` unacknowledged publishes (at least 1).
    pub fn new(window: u16) -> Inflight {
        Inflight {
            slots: vec![Awaiting::Free; 1 << 16].into_boxed_slice(),
            in_use: 0,
            publishes: 0,
            window: usize::from(window.max(1)),
            next: 1,
        }
    }

    /// Lowers the window, e.g. to the broker's receive maximum.
    pub fn limit_window(&mut self, max: u16) {
        self.window = self.window.min(usize::from(max.max(1)));
    }

    /// The window size.
    pub fn window(&self) -> usize {
        self.window
    }

    /// True when another QoS 1/2 publish fits in the window.
    pub fn has_room(&self) -> bool {
        self.publishes < self.window && self.in_use < usize::from(u16::MAX)
    }

    /// QoS 1/2 publishes not yet completed.
    pub fn publishes(&self) -> usize {
        self.publishes
    }

    /// Packet identifiers in use (publishes, subscribes and unsubscribes).
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// Takes a free identifier for a packet that waits for `what`; `None` when a publish does not
    /// fit in the window or every identifier is taken.
    pub fn acquire(&mut self, what: Awaiting) -> Option<u16> {
        debug_assert_ne!(what, Awaiting::Free);
        if (what.is_publish() && self.publishes >= self.window) || self.in_use >= usize::from(u16::MAX) {
            return None;
        }
        let mut id = self.next;
        while self.slots[usize::from(id)] != Awaiting::Free {
            id = if id == u16::MAX { 1 } else { id + 1 };
        }
        self.next = if id == u16::MAX { 1 } else { id + 1 };
        self.slots[usize::from(id)] = what;
        self.in_use += 1;
        if what.is_publish() {
            self.publishes += 1;
        }
        Some(id)
    }

    /// What `id` is waiting for.
    pub fn get(&self, id: u16) -> Awaiting {
        self.slots[usize::from(id)]
    }

    /// Moves a publish on to its next step (PUBREC received → waiting for PUBCOMP).
    pub fn advance(&mut self, id: u16, what: Awaiting) {
        debug_assert!(self.slots[usize::from(id)].is_publish() && what.is_publish());
        self.slots[usize::from(id)] = what;
    }

    /// Frees `id`; returns what it was waiting for.
    pub fn release(&mut self, id: u16) -> Awaiting {
        let was = std::mem::replace(&mut self.slots[usize::from(id)], Awaiting::Free);
        if was != Awaiting::Free {
            self.in_use -= 1;
            if was.is_publish() {
                self.publishes -= 1;
            }
        }
        was
    }
}

/// A set of packet identifiers (incoming QoS 2 messages waiting for PUBREL), as a 8 KiB bitmap.
#[derive(Debug)]
pub struct IdSet {
    bits: Box<[u64]>,
}

impl Default for IdSet {
    fn default() -> Self {
        IdSet {
            bits: vec![0; (1 << 16) / 64].into_boxed_slice(),
        }
    }
}

impl IdSet {
    /// Adds `id`; false if it was already there.
    pub fn insert(&mut self, id: u16) -> bool {
        let (word, bit) = (usize::from(id) / 64, 1u64 << (id % 64));
        let fresh = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        fresh
    }

    /// Removes `id`; false if it was not there.
    pub fn remove(&mut self, id: u16) -> bool {
        let (word, bit) = (usize::from(id) / 64, 1u64 << (id % 64));
        let present = self.bits[word] & bit != 0;
        self.bits[word] &= !bit;
        present
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_limits_publishes_but_not_subscribes() {
        let mut f = Inflight::new(2);
        let a = f.acquire(Awaiting::Puback).unwrap();
        let b = f.acquire(Awaiting::Pubrec).unwrap();
        assert!(!f.has_room());
        assert_eq!(f.acquire(Awaiting::Puback), None);
        let s = f.acquire(Awaiting::Suback).unwrap();
        assert_eq!((a, b, s), (1, 2, 3));
        assert_eq!(f.release(a), Awaiting::Puback);
        assert!(f.has_room());
        assert_eq!(f.release(a), Awaiting::Free);
        assert_eq!(f.publishes(), 1);
        assert_eq!(f.in_use(), 2);
    }

    #[test]
    fn identifiers_wrap_and_skip_those_in_use() {
        let mut f = Inflight::new(u16::MAX);
        f.next = u16::MAX;
        assert_eq!(f.acquire(Awaiting::Puback), Some(u16::MAX));
        assert_eq!(f.acquire(Awaiting::Puback), Some(1));
        f.next = u16::MAX;
        assert_eq!(f.acquire(Awaiting::Puback), Some(2));
    }

    #[test]
    fn every_identifier_can_be_taken_once() {
        let mut f = Inflight::new(u16::MAX);
        for _ in 0..u16::MAX {
            assert!(f.acquire(Awaiting::Puback).is_some());
        }
        assert_eq!(f.acquire(Awaiting::Suback), None);
        f.release(77);
        assert_eq!(f.acquire(Awaiting::Suback), Some(77));
    }

    #[test]
    fn qos2_advances_without_changing_counts() {
        let mut f = Inflight::new(10);
        let id = f.acquire(Awaiting::Pubrec).unwrap();
        f.advance(id, Awaiting::Pubcomp);
        assert_eq!(f.get(id), Awaiting::Pubcomp);
        assert_eq!(f.publishes(), 1);
        f.release(id);
        assert_eq!(f.publishes(), 0);
    }

    #[test]
    fn id_set() {
        let mut s = IdSet::default();
        assert!(s.insert(65535));
        assert!(!s.insert(65535));
        assert!(s.remove(65535));
        assert!(!s.remove(65535));
    }
}
