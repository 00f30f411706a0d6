//! A session's life across its connections as one state machine: what a close (DISCONNECT or
//! not), a new connection (resuming or clean), a will delay and an expiry do. Pure decisions;
//! the broker carries them out (mod.rs) and the timer index keeps the deadlines (timers.rs).
//!
//! A takeover is not a transition of its own: the old connection is told to go, handles what
//! it had already received (a DISCONNECT among it counts [MQTT-3.14.4-3]), closes, and only
//! then does the new one attach. So a takeover is a `Close` followed by an `Attach`.

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A connection is attached.
    Connected {
        /// Its session expiry interval now (v5 DISCONNECT may have changed it).
        expiry: u32,
    },
    /// No connection; the session waits for its client or its expiry.
    Offline {
        /// A will waits for its delay to run out.
        will_pending: bool,
    },
    /// Gone: discarded, or expired.
    Ended,
}

/// What happens to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The connection closed. `will_delay` is the delay of the will it still holds (`None`: no
    /// will, or DISCONNECT 0x00 discarded it [MQTT-3.1.2-10]); `expiry` the session expiry
    /// interval in force (0: ends with the connection, `u32::MAX`: never).
    Closed {
        /// Delay of the will the connection still holds.
        will_delay: Option<u32>,
        /// Session expiry interval in force.
        expiry: u32,
    },
    /// A connection for the client arrives.
    Attach {
        /// Clean Start / CleanSession 1.
        clean_start: bool,
        /// The new connection's session expiry interval.
        expiry: u32,
    },
    /// The will's delay ran out.
    WillDue,
    /// The session's expiry interval ran out.
    ExpiryDue,
}

/// What the broker does for a transition, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Publish the will now.
    PublishWill,
    /// Publish the will after this many seconds, unless the client is back.
    ArmWill(u32),
    /// End the session after this many seconds offline, unless the client is back.
    ArmExpiry(u32),
    /// Forget the session's timers: its client is back or it ended.
    CancelTimers,
    /// Throw the old session away (subscriptions, queue, record) and start a new one.
    Discard,
    /// The connection continues the session: Session Present 1.
    Resume,
    /// The connection gets a new session: Session Present 0.
    Fresh,
    /// Remove the session.
    End,
}

/// The phase after `event`, and what to do.
pub fn step(phase: Phase, event: Event) -> (Phase, Vec<Action>) {
    use Action::*;
    match (phase, event) {
        (Phase::Connected { .. }, Event::Closed { will_delay, expiry }) => {
            // [MQTT-3.1.3-9] the will waits for its delay, but never outlives the session
            // (v5 3.1.3.2.2: published when the delay has passed or the session ends).
            let will_delay = will_delay.map(|d| d.min(expiry));
            let mut actions = Vec::new();
            if will_delay == Some(0) {
                actions.push(PublishWill);
            }
            if expiry == 0 {
                actions.push(End);
                return (Phase::Ended, actions);
            }
            if let Some(delay) = will_delay.filter(|d| *d > 0) {
                actions.push(ArmWill(delay));
            }
            if expiry != u32::MAX {
                actions.push(ArmExpiry(expiry));
            }
            let will_pending = will_delay.is_some_and(|d| d > 0);
            (Phase::Offline { will_pending }, actions)
        }
        // A connection that was never told to go (the old one did not close in time):
        // its session ends with it when it has no expiry [MQTT-3.1.2-6], v5 3.1.2.11.2.
        (Phase::Connected { expiry: old }, Event::Attach { clean_start, expiry }) => {
            let next = Phase::Connected { expiry };
            if clean_start || old == 0 {
                (next, vec![Discard, Fresh])
            } else {
                (next, vec![Resume])
            }
        }
        (Phase::Offline { will_pending }, Event::Attach { clean_start, expiry }) => {
            let mut actions = vec![CancelTimers];
            if clean_start {
                // [MQTT-3.1.2-4] the session ends, and with it the wait of its will
                // (v5 3.1.3.2.2: published when the session ends, if that comes first).
                if will_pending {
                    actions.push(PublishWill);
                }
                actions.extend([Discard, Fresh]);
            } else {
                // [MQTT-3.1.3-9] the client is back before the delay ran out: no will.
                actions.push(Resume);
            }
            (Phase::Connected { expiry }, actions)
        }
        (Phase::Ended, Event::Attach { expiry, .. }) => (Phase::Connected { expiry }, vec![Fresh]),
        (Phase::Offline { will_pending: true }, Event::WillDue) => {
            (Phase::Offline { will_pending: false }, vec![PublishWill])
        }
        (Phase::Offline { will_pending }, Event::ExpiryDue) => {
            let mut actions = vec![CancelTimers];
            if will_pending {
                actions.push(PublishWill);
            }
            actions.push(End);
            (Phase::Ended, actions)
        }
        // Timers of a phase that has passed, and closes of connections already gone.
        (phase, _) => (phase, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::Action::*;
    use super::*;

    const CONNECTED: Phase = Phase::Connected { expiry: 60 };

    fn attach(clean_start: bool) -> Event {
        Event::Attach {
            clean_start,
            expiry: 60,
        }
    }

    fn closed(will_delay: Option<u32>, expiry: u32) -> Event {
        Event::Closed { will_delay, expiry }
    }

    #[test]
    fn a_close_without_expiry_ends_the_session_and_publishes_the_will_now() {
        // Even a will with a delay: the session ends at once, and the will with it.
        assert_eq!(
            step(CONNECTED, closed(Some(30), 0)),
            (Phase::Ended, vec![PublishWill, End])
        );
        assert_eq!(step(CONNECTED, closed(None, 0)), (Phase::Ended, vec![End]));
    }

    #[test]
    fn a_close_with_expiry_keeps_the_session_and_delays_the_will() {
        assert_eq!(
            step(CONNECTED, closed(Some(30), 60)),
            (
                Phase::Offline { will_pending: true },
                vec![ArmWill(30), ArmExpiry(60)]
            )
        );
        assert_eq!(
            step(CONNECTED, closed(Some(0), 60)),
            (
                Phase::Offline { will_pending: false },
                vec![PublishWill, ArmExpiry(60)]
            )
        );
        assert_eq!(
            step(CONNECTED, closed(None, u32::MAX)),
            (Phase::Offline { will_pending: false }, vec![])
        );
    }

    #[test]
    fn the_will_delay_never_outlasts_the_session() {
        assert_eq!(
            step(CONNECTED, closed(Some(300), 10)),
            (
                Phase::Offline { will_pending: true },
                vec![ArmWill(10), ArmExpiry(10)]
            )
        );
    }

    #[test]
    fn a_resumed_session_cancels_its_pending_will() {
        let offline = Phase::Offline { will_pending: true };
        let (phase, actions) = step(offline, attach(false));
        assert_eq!(actions, vec![CancelTimers, Resume]);
        assert_eq!(phase, CONNECTED);
    }

    #[test]
    fn a_clean_start_ends_the_session_and_releases_its_pending_will() {
        let offline = Phase::Offline { will_pending: true };
        let (_, actions) = step(offline, attach(true));
        assert_eq!(actions, vec![CancelTimers, PublishWill, Discard, Fresh]);
        let (_, actions) = step(Phase::Offline { will_pending: false }, attach(true));
        assert_eq!(actions, vec![CancelTimers, Discard, Fresh]);
    }

    #[test]
    fn a_session_whose_connection_has_no_expiry_is_never_resumed() {
        let (_, actions) = step(Phase::Connected { expiry: 0 }, attach(false));
        assert_eq!(actions, vec![Discard, Fresh]);
        let (_, actions) = step(Phase::Connected { expiry: 60 }, attach(false));
        assert_eq!(actions, vec![Resume]);
        let (_, actions) = step(Phase::Ended, attach(false));
        assert_eq!(actions, vec![Fresh]);
    }

    #[test]
    fn timers_publish_the_will_then_end_the_session() {
        let (phase, actions) = step(Phase::Offline { will_pending: true }, Event::WillDue);
        assert_eq!(actions, vec![PublishWill]);
        assert_eq!(phase, Phase::Offline { will_pending: false });
        assert_eq!(
            step(phase, Event::ExpiryDue),
            (Phase::Ended, vec![CancelTimers, End])
        );
        // A will still waiting when the session expires goes out then.
        assert_eq!(
            step(Phase::Offline { will_pending: true }, Event::ExpiryDue),
            (Phase::Ended, vec![CancelTimers, PublishWill, End])
        );
    }

    #[test]
    fn stale_events_do_nothing() {
        assert_eq!(step(CONNECTED, Event::WillDue), (CONNECTED, vec![]));
        assert_eq!(step(CONNECTED, Event::ExpiryDue), (CONNECTED, vec![]));
        assert_eq!(step(Phase::Ended, Event::ExpiryDue), (Phase::Ended, vec![]));
        let offline = Phase::Offline { will_pending: false };
        assert_eq!(step(offline, Event::WillDue), (offline, vec![]));
        assert_eq!(step(offline, closed(None, 60)), (offline, vec![]));
    }
}
