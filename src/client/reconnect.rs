//! Coming back after a lost connection: which failures another attempt can cure, and the
//! back-off between attempts (1 s, doubling up to 30 s).

use std::time::Duration;

use tokio::time::sleep;

use super::connection::Client;
use super::error::ClientError;
use super::options::ConnectOptions;
use crate::protocol::{Connack, ReasonCode};

/// The wait before the first attempt after a loss: long enough for a restarting broker to
/// get its listener back, short enough that little is missed.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between attempts, so a broker that is down for an hour is noticed within
/// half a minute of coming back.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// Exponential back-off between connection attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { next: FIRST_DELAY }
    }
}

impl Backoff {
    /// The wait before the next attempt; each call doubles the one after, up to [`MAX_DELAY`].
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX_DELAY);
        delay
    }
}

/// Whether an error ends an established connection in a way a new connection may cure: the
/// broker went away, restarted, or stopped answering. A broker that took our session over for
/// another client, or that calls what we sent an error, would only do it again.
pub fn is_lost(e: &ClientError) -> bool {
    match e {
        ClientError::Closed | ClientError::Io(_) | ClientError::Timeout { .. } => true,
        ClientError::Disconnected { reason, .. } => matches!(
            *reason,
            ReasonCode::SERVER_SHUTTING_DOWN
                | ReasonCode::SERVER_BUSY
                | ReasonCode::SERVER_UNAVAILABLE
                | ReasonCode::KEEP_ALIVE_TIMEOUT
                | ReasonCode::UNSPECIFIED_ERROR
                | ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR
        ),
        _ => false,
    }
}

/// How a lost connection reads after "connection lost": the error without a second
/// "connection lost".
pub fn loss_words(e: &ClientError) -> String {
    match e {
        ClientError::Io(detail) => detail.clone(),
        other => other.to_string(),
    }
}

/// Whether a failed connection attempt is worth repeating: the broker is not there yet, or
/// says it is busy. Refused credentials, a TLS failure or an unknown host stay as they are.
fn is_transient(e: &ClientError) -> bool {
    match e {
        ClientError::Connect { .. }
        | ClientError::Closed
        | ClientError::Io(_)
        | ClientError::Timeout { .. } => true,
        ClientError::Refused { reason, .. } => matches!(
            *reason,
            ReasonCode::SERVER_UNAVAILABLE
                | ReasonCode::SERVER_BUSY
                | ReasonCode::SERVER_SHUTTING_DOWN
                | ReasonCode::QUOTA_EXCEEDED
                | ReasonCode::CONNECTION_RATE_EXCEEDED
        ),
        other => is_lost(other),
    }
}

/// Connects again, waiting the back-off before each attempt, until an attempt succeeds or
/// fails in a way that repeating cannot cure. Cancel-safe: dropping it abandons the attempt.
pub async fn reconnect(
    opts: &ConnectOptions,
    backoff: &mut Backoff,
) -> Result<(Client, Connack), ClientError> {
    loop {
        sleep(backoff.next_delay()).await;
        match Client::connect(opts).await {
            Ok(connected) => return Ok(connected),
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let mut b = Backoff::default();
        let secs: Vec<u64> = (0..8).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn what_is_worth_another_attempt() {
        let shutdown = ClientError::Disconnected {
            reason: ReasonCode::SERVER_SHUTTING_DOWN,
            reason_string: None,
        };
        let taken_over = ClientError::Disconnected {
            reason: ReasonCode::SESSION_TAKEN_OVER,
            reason_string: None,
        };
        assert!(is_lost(&shutdown) && is_lost(&ClientError::Closed));
        assert!(!is_lost(&taken_over) && !is_lost(&ClientError::Protocol("x".into())));
        assert_eq!(
            loss_words(&ClientError::Io("connection reset".into())),
            "connection reset"
        );
        let refused = |reason| ClientError::Refused {
            reason,
            reason_string: None,
        };
        assert!(is_transient(&refused(ReasonCode::SERVER_BUSY)));
        assert!(!is_transient(&refused(ReasonCode::NOT_AUTHORIZED)));
        assert!(is_transient(&ClientError::Connect {
            address: "h:1".into(),
            detail: "connection refused".into()
        }));
    }
}
