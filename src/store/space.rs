//! Whether the store's disk is full: entering that state, leaving it, and saying so once each.
//!
//! The writer thread asks [`Space`] before each batch. While the disk is full, submissions
//! that would add data (new messages) are refused at once, without a commit that is bound to
//! fail, and the rest (acknowledgements, deletions, reconnects) commit in the space the
//! released reserve gave back. The state is left once the reserve can be made again.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::reserve::{is_out_of_space, Reserve};
use super::writer::Stats;

/// The disk's state as the writer sees it.
pub(crate) struct Space {
    reserve: Reserve,
    full: bool,
    /// A commit of what frees space failed during this full spell; logged once per spell.
    essential_failure_logged: bool,
    stats: Arc<Stats>,
}

impl Space {
    /// Makes the reserve. A disk without room for it and as much again to use starts out
    /// full: the rule for leaving that state, so that a broker restarted on a full disk does
    /// not take the reserve back and fill the rest at once.
    pub(crate) fn start(reserve: Reserve, stats: Arc<Stats>) -> Space {
        let mut space = Space {
            reserve,
            full: false,
            essential_failure_logged: false,
            stats,
        };
        match space.reserve.fill() {
            Ok(true) if space.reserve.has_spare() => {}
            Ok(_) => space.enter(),
            Err(error) => tracing::warn!(
                path = %space.reserve.path().display(),
                %error,
                "could not make the store reserve; a full disk may then refuse acknowledgements too"
            ),
        }
        space
    }

    /// Whether new data is refused for now.
    pub(crate) fn is_full(&self) -> bool {
        self.full
    }

    /// While full: leaves that state if the disk has room for the reserve again, which is
    /// made anew. Cheap when it has not (one `statvfs`).
    pub(crate) fn check(&mut self) {
        if !self.full || !self.reserve.may_fit() {
            return;
        }
        match self.reserve.fill() {
            Ok(true) => {}
            Ok(false) => return,
            // The disk has room (statvfs says so) but the reserve cannot be made for another
            // reason: new messages are stored again all the same, without a reserve.
            Err(error) => tracing::warn!(
                path = %self.reserve.path().display(),
                %error,
                "could not make the store reserve again; a full disk may then refuse acknowledgements too"
            ),
        }
        self.full = false;
        self.essential_failure_logged = false;
        self.stats.full.store(false, Ordering::Relaxed);
        tracing::info!(
            reserve = %self.reserve.path().display(),
            "the store's disk has room again: new messages are stored again"
        );
    }

    /// A commit found the disk full: gives the reserve back to the disk, refuses new data
    /// from now on, and says so once, with what to do.
    pub(crate) fn enter(&mut self) {
        if self.full {
            return;
        }
        self.full = true;
        self.stats.full.store(true, Ordering::Relaxed);
        let released = self.reserve.release();
        let dir = self.reserve.path().parent().unwrap_or(self.reserve.path());
        tracing::error!(
            data_dir = %dir.display(),
            reserve_bytes = self.reserve.size(),
            reserve_released = released.is_ok(),
            "the disk holding the store is full: new messages that must be stored are refused \
             (MQTT 5 publishers get reason 0x97, 3.1.1 publishers are disconnected unacknowledged), nothing \
             already acknowledged is lost, and the reserve was released so that \
             acknowledgements, reconnects and deletions still commit. Free space on that disk; \
             the broker stores new messages again by itself once {} bytes are free",
            self.reserve.room_needed()
        );
    }

    /// A commit of what frees space failed while the disk is full: logged once per spell, as
    /// every commit after it is likely to fail the same way until space is freed.
    pub(crate) fn essential_failed(&mut self, detail: &str) {
        if !self.essential_failure_logged {
            self.essential_failure_logged = true;
            tracing::error!(
                %detail,
                "the store cannot commit even acknowledgements and deletions: the disk is full \
                 beyond the reserve (store.reserve); free space on it now"
            );
        }
    }
}

/// Whether a failure's text (redb hands errors of its tables on as text) names an
/// out-of-space error of the operating system.
pub(crate) fn mentions_out_of_space(detail: &str) -> bool {
    #[cfg(unix)]
    {
        [libc::ENOSPC, libc::EDQUOT, libc::EFBIG].iter().any(|&code| {
            let e = std::io::Error::from_raw_os_error(code);
            is_out_of_space(&e) && detail.contains(&e.to_string())
        })
    }
    #[cfg(not(unix))]
    {
        let _ = detail;
        false
    }
}
