//! `robustmq store verify`: a full consistency check of a data file, listing every problem.
//!
//! redb's integrity (every page checksum) and the schema version are checked when the
//! [`Inspector`] opens the file; a file failing those cannot be read at all. Everything else is
//! checked in one scan of the records here: each decodes and agrees with its key, queues belong to
//! sessions, packet ids in flight are unique per session, fields hold values the broker can
//! write, and times are plausible. Things that are fine but worth knowing (expired entries the
//! broker drops at its next start) are notes, not problems.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::StoreError;
use super::inspect::Inspector;
use super::scan::{BadRecord, Record};
use super::tables::SCHEMA_VERSION;
use super::types::{DeliveryState, StoredDelivery, StoredMessage, StoredSession};

/// Largest subscription identifier MQTT 5 allows.
const MAX_SUBSCRIPTION_ID: u32 = 268_435_455;
/// Unix milliseconds of 2001-09-09. The broker writes wall-clock milliseconds, so anything earlier
/// is damage or a time in seconds.
const EARLIEST_MS: u64 = 1_000_000_000_000;
/// How far ahead of this machine's clock a time written by the broker may be: clocks get corrected.
const CLOCK_SLACK_MS: u64 = 24 * 3600 * 1000;

/// One thing `verify` checked, and what it found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, as a short sentence.
    pub description: String,
    /// Each problem found, one line each; empty when the check passed.
    pub problems: Vec<String>,
}

/// The result of [`Inspector::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The data file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub file_size: u64,
    /// Every check, in the order it was made.
    pub checks: Vec<Check>,
    /// Facts worth knowing that are not problems.
    pub notes: Vec<String>,
}

impl Verification {
    /// Number of problems over all checks.
    pub fn problem_count(&self) -> usize {
        self.checks.iter().map(|c| c.problems.len()).sum()
    }

    /// `true` if no check found a problem.
    pub fn is_clean(&self) -> bool {
        self.problem_count() == 0
    }
}

impl Inspector {
    /// Checks everything in the file against everything else; see the module doc.
    pub fn verify(&self) -> Result<Verification, StoreError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.verify_at(now_ms)
    }

    /// [`Inspector::verify`] with the clock given, for tests.
    pub(crate) fn verify_at(&self, now_ms: u64) -> Result<Verification, StoreError> {
        let mut v = Verifier::new(now_ms);
        self.scan(|record| {
            v.record(record);
            ControlFlow::Continue(())
        })?;
        Ok(v.finish(self))
    }
}

/// State of one verification scan. Records arrive table by table in key order, so a session's
/// deliveries arrive together and after every session.
struct Verifier {
    now_ms: u64,
    decode: Vec<String>,
    orphans: Vec<String>,
    packet_ids: Vec<String>,
    fields: Vec<String>,
    times: Vec<String>,
    counts: Counts,
    sessions: HashSet<String>,
    /// Client id of the deliveries being read, and the seq using each packet id in flight.
    inflight: (String, HashMap<u16, u64>),
    expired_sessions: u64,
    expired_messages: u64,
}

#[derive(Default)]
struct Counts {
    sessions: u64,
    deliveries: u64,
    incoming_qos2: u64,
    retained: u64,
}

impl Verifier {
    fn new(now_ms: u64) -> Self {
        Verifier {
            now_ms,
            decode: Vec::new(),
            orphans: Vec::new(),
            packet_ids: Vec::new(),
            fields: Vec::new(),
            times: Vec::new(),
            counts: Counts::default(),
            sessions: HashSet::new(),
            inflight: (String::new(), HashMap::new()),
            expired_sessions: 0,
            expired_messages: 0,
        }
    }

    fn record(&mut self, record: Result<Record, BadRecord>) {
        match record {
            Err(bad) => self.decode.push(bad.detail),
            Ok(Record::Session(session)) => {
                self.counts.sessions += 1;
                self.session(&session);
                self.sessions.insert(session.client_id);
            }
            Ok(Record::Delivery {
                client_id,
                seq,
                delivery,
            }) => {
                self.counts.deliveries += 1;
                self.delivery(&client_id, seq, &delivery);
            }
            Ok(Record::IncomingQos2 { client_id, packet_id }) => {
                self.counts.incoming_qos2 += 1;
                let at = format!("incoming QoS 2 id ({client_id:?}, {packet_id})");
                if !self.sessions.contains(&client_id) {
                    self.orphans
                        .push(format!("{at}: session {client_id:?} does not exist"));
                }
                if packet_id == 0 {
                    self.fields
                        .push(format!("{at}: packet id 0 is not a valid packet id"));
                }
            }
            Ok(Record::Retained(message)) => {
                self.counts.retained += 1;
                let at = format!("retained message {:?}", message.topic);
                self.message(&at, &message);
            }
        }
    }

    fn session(&mut self, session: &StoredSession) {
        let at = format!("session {:?}", session.client_id);
        let mut filters = HashSet::new();
        for sub in &session.subscriptions {
            if !filters.insert(sub.filter.as_str()) {
                self.fields
                    .push(format!("{at}: subscribes to {:?} more than once", sub.filter));
            }
            if let Some(id) = sub.id {
                self.subscription_id(&at, id);
            }
        }
        if let Some(since) = session.offline_since_ms {
            self.time(&at, "offline since", since, self.now_ms + CLOCK_SLACK_MS);
            let expires = since.saturating_add(u64::from(session.expiry_interval).saturating_mul(1000));
            if session.expiry_interval != u32::MAX && expires <= self.now_ms {
                self.expired_sessions += 1;
            }
        }
        if let Some(will) = &session.will {
            self.message(&format!("{at}, will"), &will.message);
        }
    }

    fn delivery(&mut self, client_id: &str, seq: u64, delivery: &StoredDelivery) {
        let at = format!("delivery ({client_id:?}, {seq})");
        if !self.sessions.contains(client_id) {
            self.orphans
                .push(format!("{at}: session {client_id:?} does not exist"));
        }
        if self.inflight.0 != client_id {
            self.inflight = (client_id.to_string(), HashMap::new());
        }
        let packet_id = match delivery.state {
            DeliveryState::Queued => None,
            DeliveryState::Sent { packet_id } => {
                if delivery.qos == 0 {
                    self.fields
                        .push(format!("{at}: sent and awaiting an ack, but QoS 0"));
                }
                Some(packet_id)
            }
            DeliveryState::Released { packet_id } => {
                if delivery.qos != 2 {
                    self.fields
                        .push(format!("{at}: released (QoS 2 phase) but QoS {}", delivery.qos));
                }
                Some(packet_id)
            }
        };
        if let Some(packet_id) = packet_id {
            if packet_id == 0 {
                self.fields
                    .push(format!("{at}: packet id 0 is not a valid packet id"));
            } else if let Some(other) = self.inflight.1.insert(packet_id, seq) {
                self.packet_ids.push(format!(
                    "session {client_id:?}: packet id {packet_id} is used by deliveries {other} and {seq}"
                ));
            }
        }
        if delivery.qos > delivery.message.qos {
            self.fields.push(format!(
                "{at}: QoS {} is above the message's QoS {}",
                delivery.qos, delivery.message.qos
            ));
        }
        for id in &delivery.subscription_ids {
            self.subscription_id(&at, *id);
        }
        self.message(&format!("{at}, message"), &delivery.message);
    }

    fn subscription_id(&mut self, at: &str, id: u32) {
        if id == 0 || id > MAX_SUBSCRIPTION_ID {
            self.fields.push(format!(
                "{at}: subscription id {id} is outside 1..={MAX_SUBSCRIPTION_ID}"
            ));
        }
    }

    fn message(&mut self, at: &str, message: &StoredMessage) {
        if let Some(expires) = message.expires_at_ms {
            // The longest MQTT message expiry interval is u32::MAX seconds from publication.
            let latest = self
                .now_ms
                .saturating_add(u64::from(u32::MAX) * 1000)
                .saturating_add(CLOCK_SLACK_MS);
            self.time(at, "expires at", expires, latest);
            if expires <= self.now_ms {
                self.expired_messages += 1;
            }
        }
    }

    /// Checks a unix-millisecond time lies between [`EARLIEST_MS`] and `latest`.
    fn time(&mut self, at: &str, what: &str, ms: u64, latest: u64) {
        if ms < EARLIEST_MS {
            self.times.push(format!(
                "{at}: {what} {ms} ms is before 2001, not a unix time in milliseconds"
            ));
        } else if ms > latest {
            let ahead_days = (ms - self.now_ms) / (24 * 3600 * 1000);
            self.times.push(format!(
                "{at}: {what} {ms} ms is {ahead_days} days from now, later than the broker could have written"
            ));
        }
    }

    fn finish(self, inspector: &Inspector) -> Verification {
        let c = &self.counts;
        let schema = match inspector.schema_version() {
            Some(version) if version < SCHEMA_VERSION => format!(
                "schema version {version} (this build reads up to {SCHEMA_VERSION}; the broker migrates the file when it next opens it)"
            ),
            Some(version) => format!("schema version {version} (this build reads up to {SCHEMA_VERSION})"),
            None => "schema: nothing was ever stored in this file".to_string(),
        };
        let check = |description: String, problems: Vec<String>| Check {
            description,
            problems,
        };
        let checks = vec![
            check(
                format!("redb integrity: checksums of every page ({} bytes)", inspector.file_size()),
                Vec::new(),
            ),
            check(schema, Vec::new()),
            check(
                format!(
                    "every record decodes, matches its key and finds its message, and every message is counted right: {} sessions, {} deliveries, {} incoming QoS 2 ids, {} retained messages",
                    c.sessions, c.deliveries, c.incoming_qos2, c.retained
                ),
                self.decode,
            ),
            check(
                "every delivery and incoming QoS 2 id belongs to a session".into(),
                self.orphans,
            ),
            check(
                "no packet id twice among a session's sent and released deliveries".into(),
                self.packet_ids,
            ),
            check(
                "QoS, packet ids, subscription ids and filters hold valid values".into(),
                self.fields,
            ),
            check("expiry and offline times are plausible".into(), self.times),
        ];
        let mut notes = Vec::new();
        if self.expired_sessions > 0 || self.expired_messages > 0 {
            notes.push(format!(
                "{} sessions and {} messages have expired; the broker drops them at its next start",
                self.expired_sessions, self.expired_messages
            ));
        }
        Verification {
            path: inspector.path().to_path_buf(),
            file_size: inspector.file_size(),
            checks,
            notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Op, Store, StoreDurability};

    const DAY_MS: u64 = 24 * 3600 * 1000;
    const NOW: u64 = 1_800_000_000_000;

    fn session(client_id: &str, offline_since_ms: u64, expiry_interval: u32) -> StoredSession {
        StoredSession {
            client_id: client_id.into(),
            expiry_interval,
            offline_since_ms: Some(offline_since_ms),
            subscriptions: Vec::new(),
            will: None,
            owner: crate::store::StoredOwner::Unknown,
        }
    }

    fn store_with(ops: Vec<Op>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), StoreDurability::Immediate).unwrap();
        store.submit(ops, None);
        store.close();
        dir
    }

    #[test]
    fn times_are_judged_against_the_clock_given() {
        let dir = store_with(vec![Op::PutSession(session("c", NOW + 2 * DAY_MS, 60))]);
        let inspector = Inspector::open(dir.path()).unwrap();
        let today = inspector.verify_at(NOW).unwrap();
        assert_eq!(today.problem_count(), 1, "{today:#?}");
        assert!(
            today.checks[6].problems[0].contains("2 days from now"),
            "{today:#?}"
        );
        // Two days later the same time is plausible, and the session has expired since.
        let later = inspector.verify_at(NOW + 2 * DAY_MS + 61_000).unwrap();
        assert!(later.is_clean(), "{later:#?}");
        assert_eq!(later.notes.len(), 1, "{later:#?}");
    }

    #[test]
    fn a_session_that_never_expires_is_never_expired() {
        let dir = store_with(vec![Op::PutSession(session("c", NOW - 400 * DAY_MS, u32::MAX))]);
        let verification = Inspector::open(dir.path()).unwrap().verify_at(NOW).unwrap();
        assert!(verification.is_clean(), "{verification:#?}");
        assert!(verification.notes.is_empty(), "{verification:#?}");
    }
}
