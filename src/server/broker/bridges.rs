//! What each bridge is doing, for `$SYS`, the admin API and Prometheus: its link's state, and
//! what it queued, sent, received and dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::Session;
use crate::admin_api::BridgeRow;
use crate::protocol::ReasonCode;
use crate::server::metrics::ConnStats;

/// Where a bridge's link stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected yet, or trying again after `why` it could not.
    Connecting {
        /// Why the last attempt failed, if one did.
        why: Option<String>,
    },
    /// Connected to the remote.
    Connected,
}

/// One bridge's figures.
#[derive(Debug)]
pub struct BridgeStatus {
    /// Its name in the configuration.
    pub name: Arc<str>,
    /// Its remote, as configured.
    pub remote: String,
    state: Mutex<LinkState>,
    /// The bridge's own session here, once it exists.
    session: OnceLock<Arc<Session>>,
    /// The link being served, whose counters are added to those of the links before it.
    link: Mutex<Option<Arc<ConnStats>>>,
    sent_before: AtomicU64,
    received_before: AtomicU64,
}

impl BridgeStatus {
    /// A bridge not connected yet.
    pub fn new(name: Arc<str>, remote: String) -> BridgeStatus {
        BridgeStatus {
            name,
            remote,
            state: Mutex::new(LinkState::Connecting { why: None }),
            session: OnceLock::new(),
            link: Mutex::new(None),
            sent_before: AtomicU64::new(0),
            received_before: AtomicU64::new(0),
        }
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records the bridge's session here.
    pub fn set_session(&self, session: Arc<Session>) {
        let _ = self.session.set(session);
    }

    /// A link is up; its counters are the bridge's from now on.
    pub fn connected(&self, link: Arc<ConnStats>) {
        *Self::lock(&self.link) = Some(link);
        *Self::lock(&self.state) = LinkState::Connected;
    }

    /// Tells the link, if it is up, to close with `code`; whether it was up.
    pub fn close_link(&self, code: ReasonCode) -> bool {
        match &*Self::lock(&self.link) {
            Some(link) => {
                link.kick.send(code);
                true
            }
            None => false,
        }
    }

    /// The link is down (or could not be made, `why`): its counts are kept.
    pub fn disconnected(&self, why: Option<String>) {
        if let Some(link) = Self::lock(&self.link).take() {
            self.sent_before
                .fetch_add(link.messages_out.load(Ordering::Relaxed), Ordering::Relaxed);
            self.received_before
                .fetch_add(link.messages_in.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        *Self::lock(&self.state) = LinkState::Connecting { why };
    }

    /// The figures now, as the admin API's `bridges/list` gives them.
    pub fn figures(&self) -> BridgeRow {
        let (sent_now, received_now) = Self::lock(&self.link).as_ref().map_or((0, 0), |link| {
            (
                link.messages_out.load(Ordering::Relaxed),
                link.messages_in.load(Ordering::Relaxed),
            )
        });
        let (queued, dropped) = self.session.get().map_or((0, 0), |session| {
            let state = session.lock();
            (state.queued() as u64, state.dropped())
        });
        let (state, error) = match &*Self::lock(&self.state) {
            LinkState::Connected => ("connected", None),
            LinkState::Connecting { why } => ("connecting", why.clone()),
        };
        BridgeRow {
            name: self.name.to_string(),
            remote: self.remote.clone(),
            state: state.to_string(),
            error,
            queued,
            sent: self.sent_before.load(Ordering::Relaxed) + sent_now,
            received: self.received_before.load(Ordering::Relaxed) + received_now,
            dropped,
        }
    }
}

/// Every bridge of the broker.
#[derive(Debug, Default)]
pub struct Bridges {
    all: Mutex<Vec<Arc<BridgeStatus>>>,
}

impl Bridges {
    /// Adds a bridge; returns its status to update.
    pub fn add(&self, status: BridgeStatus) -> Arc<BridgeStatus> {
        let status = Arc::new(status);
        BridgeStatus::lock(&self.all).push(status.clone());
        status
    }

    /// Forgets a bridge that was stopped.
    pub fn remove(&self, status: &Arc<BridgeStatus>) {
        BridgeStatus::lock(&self.all).retain(|b| !Arc::ptr_eq(b, status));
    }

    /// The figures of every bridge, in configuration order.
    pub fn figures(&self) -> Vec<BridgeRow> {
        BridgeStatus::lock(&self.all)
            .iter()
            .map(|b| b.figures())
            .collect()
    }
}
