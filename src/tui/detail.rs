//! The open client detail: which client, its last `clients/get` reply, and its message rates
//! worked out from two successive replies (the broker sends counters, not rates).

use std::time::Instant;

use crate::admin_api::ClientDetail;

/// The client detail the Clients view shows instead of its list.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// The client asked about.
    pub client_id: String,
    /// The last reply; `None` until the first comes.
    pub data: Option<ClientDetail>,
    /// Why the broker could not describe it (it left, for one); cleared by the next reply.
    pub gone: Option<String>,
    /// PUBLISH packets per second from the client, between the last two replies.
    pub rate_in: Option<f64>,
    /// PUBLISH packets per second to the client, between the last two replies.
    pub rate_out: Option<f64>,
    /// When the last reply came.
    at: Option<Instant>,
}

impl Detail {
    /// A detail waiting for its first reply.
    pub fn new(client_id: impl Into<String>) -> Detail {
        Detail {
            client_id: client_id.into(),
            data: None,
            gone: None,
            rate_in: None,
            rate_out: None,
            at: None,
        }
    }

    /// Takes a reply; replies about another client (a late answer) are ignored.
    pub fn update(&mut self, detail: ClientDetail, now: Instant) {
        if detail.client_id != self.client_id {
            return;
        }
        if let (Some(old), Some(at)) = (&self.data, self.at) {
            let secs = now.saturating_duration_since(at).as_secs_f64();
            // A reconnect restarts the connection's counters: no rate across it.
            let same_connection = old.connected_since_ms == detail.connected_since_ms;
            if secs > 0.0 && same_connection {
                let rate = |new: u64, old: u64| new.checked_sub(old).map(|d| d as f64 / secs);
                self.rate_in = rate(detail.messages_in, old.messages_in);
                self.rate_out = rate(detail.messages_out, old.messages_out);
            } else if !same_connection {
                self.rate_in = None;
                self.rate_out = None;
            }
        }
        self.data = Some(detail);
        self.gone = None;
        self.at = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn reply(id: &str, since: u64, messages_in: u64, messages_out: u64) -> ClientDetail {
        ClientDetail {
            client_id: id.into(),
            connected_since_ms: since,
            messages_in,
            messages_out,
            ..Default::default()
        }
    }

    #[test]
    fn rates_come_from_two_replies_of_one_connection() {
        let t0 = Instant::now();
        let mut d = Detail::new("a");
        d.update(reply("a", 1, 100, 10), t0);
        assert_eq!((d.rate_in, d.rate_out), (None, None));
        d.update(reply("a", 1, 300, 30), t0 + Duration::from_secs(2));
        assert_eq!((d.rate_in, d.rate_out), (Some(100.0), Some(10.0)));
        d.update(reply("b", 1, 900, 90), t0 + Duration::from_secs(3));
        assert_eq!(
            d.data.as_ref().unwrap().messages_in,
            300,
            "another client's reply"
        );
        d.update(reply("a", 2, 5, 0), t0 + Duration::from_secs(4));
        assert_eq!((d.rate_in, d.rate_out), (None, None), "reconnected");
    }
}
