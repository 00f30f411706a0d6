//! Counting what a receiver got from each publisher: unique, duplicated and out-of-order messages.
//!
//! One bit per sequence number (a growable bitmap starting at the first one seen), so memory is
//! an eighth of a byte per message received and every check is O(1).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Sequence numbers further than this from the first one seen are not tracked (2^31 messages
/// from one publisher, 256 MiB of bitmap); they count as unrecognized.
const MAX_SPAN: u64 = 1 << 31;

/// What one message was, compared with those seen before from the same publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time, after every lower sequence number seen so far.
    InOrder,
    /// First time, but a higher sequence number arrived before it.
    Reordered,
    /// Seen before.
    Duplicate,
    /// Too far from the rest of the stream to track.
    OutOfRange,
}

/// The messages received from one publisher.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// Sequence number of bit 0 of `bits` (a multiple of 64).
    base: u64,
    bits: Vec<u64>,
    /// Highest sequence number seen.
    max: Option<u64>,
    /// Lowest sequence number seen.
    min: u64,
    /// Distinct sequence numbers seen.
    pub unique: u64,
    /// Messages seen again.
    pub duplicates: u64,
    /// Messages that arrived after a higher sequence number.
    pub reordered: u64,
}

impl Stream {
    /// Records sequence number `seq`.
    pub fn record(&mut self, seq: u64) -> Seen {
        let Some(max) = self.max else {
            self.base = seq & !63;
            self.bits = vec![0; 4];
            self.max = Some(seq);
            self.min = seq;
            self.set(seq);
            self.unique = 1;
            return Seen::InOrder;
        };
        if seq.abs_diff(max) >= MAX_SPAN || seq.abs_diff(self.min) >= MAX_SPAN {
            return Seen::OutOfRange;
        }
        if seq < self.base {
            let new_base = seq & !63;
            let words = ((self.base - new_base) / 64) as usize;
            self.bits.splice(0..0, std::iter::repeat_n(0, words));
            self.base = new_base;
        }
        if !self.set(seq) {
            self.duplicates += 1;
            return Seen::Duplicate;
        }
        self.unique += 1;
        self.min = self.min.min(seq);
        if seq > max {
            self.max = Some(seq);
            Seen::InOrder
        } else {
            self.reordered += 1;
            Seen::Reordered
        }
    }

    /// Sets the bit of `seq`; false if it was already set.
    fn set(&mut self, seq: u64) -> bool {
        let index = (seq - self.base) as usize;
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        if word >= self.bits.len() {
            let len = (word + 1).max(self.bits.len() * 2);
            self.bits.resize(len, 0);
        }
        let fresh = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        fresh
    }

    /// True if `seq` was received.
    pub fn contains(&self, seq: u64) -> bool {
        if self.max.is_none() || seq < self.base {
            return false;
        }
        let index = seq - self.base;
        let word = (index / 64) as usize;
        word < self.bits.len() && self.bits[word] & (1u64 << (index % 64)) != 0
    }

    /// Sequence numbers missing between the lowest and the highest seen.
    pub fn gaps(&self) -> u64 {
        match self.max {
            Some(max) => (max - self.min + 1) - self.unique,
            None => 0,
        }
    }

    /// Adds what another receiver saw of the same publisher (a shared subscription's members):
    /// a message both saw counts once more as a duplicate.
    pub fn merge(&mut self, other: &Stream) {
        let Some(other_max) = other.max else { return };
        self.duplicates += other.duplicates;
        self.reordered += other.reordered;
        if self.max.is_none() {
            self.base = other.base;
            self.bits = vec![0; other.bits.len()];
            self.max = Some(other.min);
            self.min = other.min;
        }
        if other.base < self.base {
            let words = ((self.base - other.base) / 64) as usize;
            self.bits.splice(0..0, std::iter::repeat_n(0, words));
            self.base = other.base;
        }
        let offset = ((other.base - self.base) / 64) as usize;
        if self.bits.len() < offset + other.bits.len() {
            self.bits.resize(offset + other.bits.len(), 0);
        }
        let mut unique = 0;
        for (mine, theirs) in self.bits[offset..].iter_mut().zip(&other.bits) {
            self.duplicates += u64::from((*mine & theirs).count_ones());
            *mine |= theirs;
        }
        for word in &self.bits {
            unique += u64::from(word.count_ones());
        }
        self.unique = unique;
        self.min = self.min.min(other.min);
        self.max = self.max.max(Some(other_max));
    }
}

/// A multiplicative hash for stream keys, which are already well spread.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Streams by key (run id and publisher id, see [`super::header::Header::stream`]).
pub type Streams = HashMap<u64, Stream, BuildHasherDefault<KeyHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_duplicates_and_reordering() {
        let mut s = Stream::default();
        assert_eq!(s.record(0), Seen::InOrder);
        assert_eq!(s.record(1), Seen::InOrder);
        assert_eq!(s.record(3), Seen::InOrder);
        assert_eq!(s.record(2), Seen::Reordered);
        assert_eq!(s.record(2), Seen::Duplicate);
        assert_eq!(s.record(1000), Seen::InOrder);
        assert_eq!((s.unique, s.duplicates, s.reordered), (5, 1, 1));
        assert_eq!(s.gaps(), 1001 - 5);
        assert!(s.contains(2) && s.contains(1000));
        assert!(!s.contains(4) && !s.contains(999) && !s.contains(1001) && !s.contains(1 << 20));
        assert!(!Stream::default().contains(0));
    }

    #[test]
    fn starts_anywhere_and_grows_downwards() {
        let mut s = Stream::default();
        assert_eq!(s.record(500), Seen::InOrder);
        assert_eq!(s.record(3), Seen::Reordered);
        assert_eq!(s.record(500), Seen::Duplicate);
        assert_eq!(s.record(3), Seen::Duplicate);
        assert_eq!(s.gaps(), 496);
        assert_eq!(s.record(3 + MAX_SPAN), Seen::OutOfRange);
    }

    #[test]
    fn merging_shared_subscribers() {
        let (mut a, mut b) = (Stream::default(), Stream::default());
        for seq in (0..200).step_by(2) {
            a.record(seq);
        }
        for seq in (1..200).step_by(2) {
            b.record(seq);
        }
        b.record(100);
        let mut all = Stream::default();
        all.merge(&a);
        all.merge(&b);
        assert_eq!((all.unique, all.duplicates, all.gaps()), (200, 1, 0));
        let mut late = Stream::default();
        late.record(130);
        late.merge(&a);
        assert_eq!((late.unique, late.duplicates), (100, 1));
    }
}
