//! The commit gate: opens once the store has committed what an acknowledgement or a delivery
//! depends on, so that nothing is promised before it is on disk.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

const PENDING: u8 = 0;
const OPEN: u8 = 1;
const FAILED: u8 = 2;

/// Opens once the store has committed what something depends on.
#[derive(Debug)]
pub struct Gate(AtomicU8);

/// Where a gate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateState {
    /// The commit has not happened yet.
    Pending,
    /// Committed: what waited may go.
    Open,
    /// The commit failed: what waited must not be acknowledged.
    Failed,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate(AtomicU8::new(PENDING)))
    }

    /// A gate that is already open, for state that needs no commit.
    pub fn opened() -> Arc<Gate> {
        Arc::new(Gate(AtomicU8::new(OPEN)))
    }

    /// Marks the commit done (`true`) or failed.
    pub fn settle(&self, committed: bool) {
        self.0
            .store(if committed { OPEN } else { FAILED }, Ordering::Release);
    }

    /// Current state.
    pub fn state(&self) -> GateState {
        match self.0.load(Ordering::Acquire) {
            PENDING => GateState::Pending,
            OPEN => GateState::Open,
            _ => GateState::Failed,
        }
    }
}
