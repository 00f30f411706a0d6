//! The part of a persistent session's queue that lives only in the store.
//!
//! A persistent session's QoS 1/2 deliveries are written to the store when they are queued.
//! Memory keeps only a window of them, the next to be sent: while the client is offline none,
//! while it is connected up to [`WINDOW`], and nothing past the broker's memory budget. What
//! does not fit is *spilled*: counted here, kept in the store only, and read back a page at a
//! time as the window empties ([`crate::store::Store::read_deliveries`]). Once anything is
//! spilled, every later delivery is spilled too until it has all been read back, so the
//! queue keeps its order; spilled deliveries are exactly the session's store records from
//! [`Spill::from`] on.
//!
//! A delivery is spilled when it is queued, before the commit that writes its record (the
//! publisher's, submitted once the message has been offered to every subscriber). A read
//! submitted in between would not find it: one that found later deliveries would move past
//! it, and one that found nothing would count the spilled deliveries as lost. So a read stops
//! short of the first delivery whose commit is under way ([`Spill::pending_from`]), and waits
//! when that is the first to read; that commit wakes the session when it is done. The reads
//! go on while publishers keep committing behind them.

use std::collections::VecDeque;
use std::sync::Arc;

use super::gate::{Gate, GateState};

/// Deliveries of a connected persistent session kept in memory at most.
pub const WINDOW: usize = 1000;
/// The window is refilled once it holds fewer than this many.
pub const REFILL_BELOW: usize = WINDOW / 2;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Spill {
    /// Deliveries in the store only.
    pub count: usize,
    /// Their bytes (by [`super::Message::size`]), for the session's queue bounds.
    pub bytes: usize,
    /// Store position of the first of them.
    pub from: u64,
    /// A read from the store is under way.
    pub reading: bool,
    /// Bumped when the spilled deliveries are given up (the session ended or was discarded),
    /// so that a read under way then is ignored.
    pub epoch: u64,
    /// Bytes of spilled deliveries a read found missing from the store (their commit failed:
    /// the disk was full), still to be taken off the broker's store gauge.
    pub lost: usize,
    /// For a queue that drops its oldest deliveries: the oldest spilled ones read so far,
    /// position and size, the next to go.
    pub oldest: VecDeque<(u64, usize)>,
    /// A read of the oldest is under way.
    pub finding: bool,
    /// The commits of spilled deliveries not known to be done, with the position of the
    /// delivery each writes, in order: as many as the publishes to this session under way.
    pub unsettled: VecDeque<(u64, Arc<Gate>)>,
}

impl Spill {
    /// Counts one more delivery kept only in the store, at position `seq`.
    pub fn push(&mut self, seq: u64, size: usize) {
        if self.count == 0 {
            self.from = seq;
        }
        self.count += 1;
        self.bytes += size;
    }

    /// Counts one more delivery kept only in the store, at position `seq`, whose record is
    /// committed when `gate` opens (none: it is on disk already).
    pub fn push_committed_by(&mut self, seq: u64, size: usize, gate: Option<&Arc<Gate>>) {
        self.push(seq, size);
        if let Some(gate) = gate.filter(|g| g.state() == GateState::Pending) {
            self.unsettled.push_back((seq, gate.clone()));
        }
    }

    /// The position of the first spilled delivery whose commit is not done yet: a read must
    /// stop short of it, everything before it that reached the disk is there to read. `None`
    /// when every commit is done.
    pub fn pending_from(&mut self) -> Option<u64> {
        // Commits may finish in another order than their deliveries were queued.
        self.unsettled.retain(|(_, g)| g.state() == GateState::Pending);
        self.unsettled.front().map(|(seq, _)| *seq)
    }

    /// Counts one delivery read back into memory, at position `seq`.
    pub fn take(&mut self, seq: u64, size: usize) {
        self.count = self.count.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(size);
        self.from = seq + 1;
    }

    /// Forgets every spilled delivery (their records are gone or no longer wanted); returns
    /// how many there were and their bytes.
    pub fn clear(&mut self) -> (usize, usize) {
        self.epoch += 1;
        self.reading = false;
        self.finding = false;
        self.oldest.clear();
        self.unsettled.clear();
        let gone = (self.count, self.bytes);
        self.count = 0;
        self.bytes = 0;
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spill_starts_at_its_first_delivery_and_moves_as_it_is_read_back() {
        let mut spill = Spill::default();
        spill.push(7, 10);
        spill.push(8, 20);
        spill.push(9, 30);
        assert_eq!((spill.count, spill.bytes, spill.from), (3, 60, 7));
        spill.take(7, 10);
        assert_eq!((spill.count, spill.bytes, spill.from), (2, 50, 8));
        let epoch = spill.epoch;
        assert_eq!(spill.clear(), (2, 50));
        assert_ne!(spill.epoch, epoch, "a read under way is told apart");
        spill.push(12, 5);
        assert_eq!((spill.count, spill.from), (1, 12));
    }

    #[test]
    fn reads_stop_short_of_the_first_delivery_whose_commit_is_not_done() {
        let mut spill = Spill::default();
        let (first, second) = (Gate::new(), Gate::new());
        spill.push_committed_by(1, 10, None);
        spill.push_committed_by(2, 10, Some(&first));
        spill.push_committed_by(3, 10, Some(&second));
        spill.push_committed_by(4, 10, Some(&Gate::opened()));
        assert_eq!(spill.unsettled.len(), 2, "only commits under way are kept");
        assert_eq!(spill.pending_from(), Some(2));
        // Commits may finish in another order than their deliveries were queued.
        second.settle(true);
        assert_eq!(spill.pending_from(), Some(2));
        first.settle(false);
        assert_eq!(spill.pending_from(), None, "a failed commit is done too");
    }
}
