//! Keep alive for every connection from one task: a client that sent no control packet for one
//! and a half times its keep alive is told to go [MQTT-3.1.2-24] (v5 DISCONNECT 0x8D).
//!
//! A timer in each connection's task would make every idle connection carry one (over a
//! hundred bytes each, the largest single part of an idle connection's task); a look over the
//! connected sessions a few times a second costs microseconds for thousands of them. The same
//! look asks connections that went quiet to give their buffers back (`kick.rs`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Broker;
use crate::protocol::ReasonCode;

/// How often connections are looked at: how late past its deadline a silent client may go.
const INTERVAL: Duration = Duration::from_millis(250);

impl Broker {
    /// Tells every connection whose keep alive ran out by `now_ms` (on [`Broker::clock_ms`])
    /// to close, and the others that went quiet to trim their buffers; returns how many were
    /// told to close.
    pub fn expire_keep_alives(&self, now_ms: u64) -> usize {
        let mut expired = 0;
        for session in self.sessions_snapshot() {
            let state = session.lock();
            let Some(conn) = state.conn.as_ref() else {
                continue;
            };
            if conn.stats.keep_alive_expired(now_ms) && conn.stats.kick.send(ReasonCode::KEEP_ALIVE_TIMEOUT) {
                expired += 1;
            } else {
                conn.stats.kick.sweep();
            }
        }
        expired
    }
}

/// Looks for silent clients every [`INTERVAL`] until shutdown.
pub async fn run(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                broker.expire_keep_alives(broker.clock_ms());
            }
            _ = shutdown.changed() => return,
        }
    }
}
