//! Test helpers: sample records, opening a store in a temp dir, waiting for a commit, file hashes.

#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use robustmq::store::{
    DeliveryState, Loaded, LoadedSession, Op, Store, StoreDurability, StoredDelivery, StoredMessage,
    StoredOwner, StoredProperties, StoredSession, StoredSubscription, StoredWill,
};

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(30);

/// A message with every optional field set.
pub fn full_message(topic: &str, payload: &str) -> StoredMessage {
    StoredMessage {
        topic: topic.into(),
        payload: payload.as_bytes().to_vec(),
        qos: 2,
        retain: true,
        expires_at_ms: Some(1_900_000_000_000),
        publisher: Some("publisher-1".into()),
        properties: StoredProperties {
            payload_format_utf8: Some(true),
            content_type: Some("text/plain".into()),
            response_topic: Some("reply/to".into()),
            correlation_data: Some(vec![0, 255, 7]),
            user_properties: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
        },
    }
}

/// A message with every optional field empty.
pub fn bare_message(topic: &str, payload: &[u8]) -> StoredMessage {
    StoredMessage {
        topic: topic.into(),
        payload: payload.to_vec(),
        qos: 0,
        retain: false,
        expires_at_ms: None,
        publisher: None,
        properties: StoredProperties::default(),
    }
}

/// A session with subscriptions and a will.
pub fn full_session(client_id: &str) -> StoredSession {
    StoredSession {
        client_id: client_id.into(),
        expiry_interval: u32::MAX,
        offline_since_ms: Some(1_700_000_000_000),
        // In filter order, the order they load in.
        subscriptions: vec![
            StoredSubscription {
                filter: "$share/g/jobs/#".into(),
                qos: 2,
                no_local: true,
                retain_as_published: false,
                retain_handling: 2,
                id: None,
            },
            StoredSubscription {
                filter: "sensors/+/temp".into(),
                qos: 1,
                no_local: false,
                retain_as_published: true,
                retain_handling: 1,
                id: Some(7),
            },
        ],
        will: Some(StoredWill {
            message: full_message("wills/x", "gone"),
            delay_interval: 30,
        }),
        owner: StoredOwner::User("alice".into()),
    }
}

/// A session with no subscriptions and no will.
pub fn bare_session(client_id: &str) -> StoredSession {
    StoredSession {
        client_id: client_id.into(),
        expiry_interval: 0,
        offline_since_ms: None,
        subscriptions: Vec::new(),
        will: None,
        owner: StoredOwner::Anonymous,
    }
}

/// A queued QoS 1 delivery whose payload says which seq it is.
pub fn delivery(seq: u64) -> StoredDelivery {
    StoredDelivery {
        message: bare_message("q/t", format!("message {seq}").as_bytes()),
        qos: 1,
        retain: false,
        subscription_ids: vec![1, 2],
        state: DeliveryState::Queued,
    }
}

pub fn put_delivery(client_id: &str, seq: u64) -> Op {
    Op::PutDelivery {
        client_id: client_id.into(),
        seq,
        delivery: delivery(seq),
    }
}

/// Opens with Immediate durability, panicking with the store's message on failure.
pub fn open(dir: &Path) -> (Store, Loaded) {
    Store::open(dir, StoreDurability::Immediate).unwrap_or_else(|e| panic!("open failed: {e}"))
}

/// Submits `ops` and waits for their commit; returns what the callback said.
pub fn commit(store: &Store, ops: Vec<Op>) -> bool {
    let (tx, rx) = mpsc::channel();
    store.submit(
        ops,
        Some(Box::new(move |ok| {
            let _ = tx.send(ok);
        })),
    );
    rx.recv_timeout(WAIT).expect("the commit callback never ran")
}

/// Closes and reopens the store in `dir`, returning what was loaded.
pub fn reopen(store: Store, dir: &Path) -> (Store, Loaded) {
    store.close();
    open(dir)
}

/// The loaded session with this client id.
pub fn session<'a>(loaded: &'a Loaded, client_id: &str) -> &'a LoadedSession {
    loaded
        .sessions
        .iter()
        .find(|s| s.session.client_id == client_id)
        .unwrap_or_else(|| panic!("session {client_id} not loaded"))
}

/// The data file of a store directory.
pub fn data_file(dir: &Path) -> PathBuf {
    dir.join(Store::FILE_NAME)
}

/// A hash of a file's bytes, to show a refused file was not modified.
pub fn file_hash(path: &Path) -> u64 {
    let bytes = std::fs::read(path).expect("read the data file");
    let mut h = DefaultHasher::new();
    h.write(&bytes);
    h.write_usize(bytes.len());
    h.finish()
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
pub fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// A store directory holding a few records of every kind, closed cleanly.
pub fn populated_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    assert!(commit(
        &store,
        vec![
            Op::PutRetained(full_message("r/1", "PAYLOAD-MARKER-1")),
            Op::PutSession(full_session("c1")),
            put_delivery("c1", 1),
            Op::PutIncomingQos2 {
                client_id: "c1".into(),
                packet_id: 5,
            },
        ]
    ));
    store.close();
    dir
}
