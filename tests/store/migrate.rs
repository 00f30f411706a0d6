//! Files of schema 1, as released robustmq versions wrote them, are migrated to schema 3 on open,
//! once, after a copy of the old file is kept beside it.
//!
//! The fixtures in `fixtures/` were written by the store code of the commits that wrote them
//! (see `fixtures/README.md`), not by this build's encoder: `v1.redb` has session records without
//! an owner, `v2.redb` with one.

use std::fs;
use std::path::Path;

use redb::{ReadableDatabase, TableDefinition};
use robustmq::store::{
    backup_name, DeliveryState, Inspector, Loaded, StoredDelivery, StoredMessage, StoredOwner,
    StoredProperties, StoredSession, StoredSubscription, StoredWill, SCHEMA_VERSION,
};

use super::common::*;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/store/fixtures")
        .join(name)
}

/// The fixture copied into a fresh data directory.
fn data_dir_with(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(fixture(name), data_file(dir.path())).unwrap();
    dir
}

fn schema_version(path: &Path) -> u64 {
    let db = redb::ReadOnlyDatabase::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    let version = meta.get("schema_version").unwrap().unwrap().value();
    version
}

fn message(topic: &str, payload: &[u8], qos: u8, retain: bool) -> StoredMessage {
    StoredMessage {
        topic: topic.into(),
        payload: payload.to_vec(),
        qos,
        retain,
        expires_at_ms: None,
        publisher: None,
        properties: StoredProperties::default(),
    }
}

/// What the fixture generator stored (fixtures/fixgen/src/main.rs), as this build loads it.
fn expected(with_owner: bool) -> Loaded {
    let reading = StoredMessage {
        publisher: Some("thermo".into()),
        ..message("sensors/kitchen/temp", b"21.5", 1, false)
    };
    let reading2 = StoredMessage {
        payload: b"22.0".to_vec(),
        ..reading.clone()
    };
    let command = StoredMessage {
        expires_at_ms: Some(4_102_444_800_000),
        publisher: Some("ctl".into()),
        properties: StoredProperties {
            payload_format_utf8: Some(true),
            content_type: Some("application/json".into()),
            response_topic: Some("reply/alice".into()),
            correlation_data: Some(vec![1, 2, 3]),
            user_properties: vec![("k".into(), "v".into()), ("k".into(), "v2".into())],
        },
        ..message("cmd/alice", &[b'x'; 300], 2, false)
    };
    let sub = |filter: &str, qos: u8, id: Option<u32>| StoredSubscription {
        filter: filter.into(),
        qos,
        no_local: false,
        retain_as_published: false,
        retain_handling: 0,
        id,
    };
    let delivery = |message: &StoredMessage, qos: u8, ids: Vec<u32>, state| StoredDelivery {
        message: message.clone(),
        qos,
        retain: false,
        subscription_ids: ids,
        state,
    };
    let owner = |o: StoredOwner| if with_owner { o } else { StoredOwner::Unknown };
    let alice = StoredSession {
        client_id: "alice".into(),
        expiry_interval: 86_400,
        offline_since_ms: Some(1_780_000_000_000),
        // In filter order, as this build loads them.
        subscriptions: vec![
            StoredSubscription {
                no_local: true,
                retain_as_published: true,
                retain_handling: 2,
                ..sub("$share/g/cmd/#", 2, None)
            },
            sub("cmd/alice", 2, Some(268_435_455)),
            sub("sensors/+/temp", 1, Some(7)),
        ],
        will: Some(StoredWill {
            message: StoredMessage {
                publisher: Some("alice".into()),
                properties: StoredProperties {
                    user_properties: vec![("why".into(), "gone".into())],
                    ..StoredProperties::default()
                },
                ..message("clients/alice/status", b"offline", 1, true)
            },
            delay_interval: 30,
        }),
        owner: owner(StoredOwner::User("alice".into())),
    };
    let bob = StoredSession {
        client_id: "bob".into(),
        expiry_interval: u32::MAX,
        offline_since_ms: None,
        subscriptions: vec![sub("sensors/#", 1, None)],
        will: None,
        owner: owner(StoredOwner::Anonymous),
    };
    Loaded {
        sessions: vec![
            robustmq::store::LoadedSession {
                session: alice,
                deliveries: vec![
                    (
                        1,
                        delivery(&reading, 1, vec![7], DeliveryState::Sent { packet_id: 3 }),
                    ),
                    (
                        2,
                        delivery(
                            &command,
                            2,
                            vec![268_435_455],
                            DeliveryState::Released { packet_id: 4 },
                        ),
                    ),
                    (3, delivery(&reading2, 1, vec![7], DeliveryState::Queued)),
                    (
                        4,
                        delivery(&command, 2, vec![], DeliveryState::Sent { packet_id: 5 }),
                    ),
                ],
                incoming_qos2: vec![9, 10],
            },
            robustmq::store::LoadedSession {
                session: bob,
                deliveries: vec![
                    (1, delivery(&reading, 1, vec![], DeliveryState::Queued)),
                    (2, delivery(&reading2, 1, vec![], DeliveryState::Queued)),
                ],
                incoming_qos2: Vec::new(),
            },
        ],
        retained: vec![
            StoredMessage {
                publisher: Some("thermo".into()),
                ..message("sensors/kitchen/temp", b"21.5", 1, true)
            },
            message("status/broker", b"up", 0, true),
        ],
        load_time: Default::default(),
    }
}

/// Subscriptions sorted by filter, for comparing a load of schema 1 (in the order they were made).
fn normalized(mut loaded: Loaded) -> Loaded {
    for s in &mut loaded.sessions {
        s.session.subscriptions.sort_by(|a, b| a.filter.cmp(&b.filter));
    }
    loaded
}

fn assert_loaded(got: Loaded, want: &Loaded) {
    let got = normalized(got);
    assert_eq!(got.sessions, want.sessions);
    assert_eq!(got.retained, want.retained);
}

fn migrates_once_keeping_a_copy(name: &str, with_owner: bool) {
    let dir = data_dir_with(name);
    let path = data_file(dir.path());
    let original = fs::read(fixture(name)).unwrap();
    assert_eq!(schema_version(&path), 1, "the fixture is a schema 1 file");

    // The tools read the old file as it is, and leave it so.
    let inspector = Inspector::open(dir.path()).unwrap();
    assert_eq!(inspector.schema_version(), Some(1));
    let stats = inspector.stats().unwrap();
    assert_eq!((stats.sessions, stats.deliveries(), stats.retained), (2, 6, 2));
    assert!(inspector.verify().unwrap().is_clean());
    drop(inspector);
    assert_eq!(fs::read(&path).unwrap(), original, "a tool modified the old file");

    let (store, loaded) = open(dir.path());
    let want = expected(with_owner);
    assert_loaded(loaded, &want);
    store.close();

    let backup = dir.path().join(backup_name(1));
    assert_eq!(backup_name(1), "robustmq.redb.schema1.bak");
    assert_eq!(
        fs::read(&backup).unwrap(),
        original,
        "the backup is the old file, byte for byte"
    );
    assert_eq!(schema_version(&path), SCHEMA_VERSION);

    // Schema 3: each message once, with its references counted.
    let inspector = Inspector::open(dir.path()).unwrap();
    let stats = inspector.stats().unwrap();
    assert_eq!(stats.schema_version, Some(SCHEMA_VERSION));
    let entries = |table: &str| {
        stats
            .tables
            .iter()
            .find(|t| t.name == table)
            .unwrap_or_else(|| panic!("no table {table}: {stats:?}"))
            .entries
    };
    // reading, reading2, command (each queued twice or more) and the two retained messages.
    assert_eq!(entries("messages"), 5, "{stats:?}");
    // Counted only where two or more refer to a message: the three queued more than once.
    assert_eq!(entries("message_refs"), 3, "{stats:?}");
    assert_eq!(entries("subscriptions"), 4, "{stats:?}");
    assert_eq!(entries("deliveries"), 6, "{stats:?}");
    let verification = inspector.verify().unwrap();
    assert!(verification.is_clean(), "{verification:#?}");
    drop(inspector);

    // Once: the next open loads the migrated file and makes no new copy.
    fs::remove_file(&backup).unwrap();
    let (store, loaded) = open(dir.path());
    assert_loaded(loaded, &want);
    store.close();
    assert!(!backup.exists(), "a second migration ran");
}

#[test]
fn a_schema_1_file_without_owners_is_migrated_once_keeping_a_copy() {
    migrates_once_keeping_a_copy("v1.redb", false);
}

#[test]
fn a_schema_1_file_with_owners_is_migrated_once_keeping_a_copy() {
    migrates_once_keeping_a_copy("v2.redb", true);
}

#[test]
fn a_migrated_store_keeps_working() {
    let dir = data_dir_with("v2.redb");
    let (store, _) = open(dir.path());
    // Acknowledging both of bob's deliveries and alice's: the messages they shared go with
    // the last reference, the retained copy of the reading stays.
    let mut ops = Vec::new();
    for (client, seqs) in [("alice", &[1u64, 2, 3, 4][..]), ("bob", &[1, 2])] {
        for seq in seqs {
            ops.push(robustmq::store::Op::DeleteDelivery {
                client_id: client.into(),
                seq: *seq,
            });
        }
    }
    assert!(commit(&store, ops));
    let (store, loaded) = reopen(store, dir.path());
    assert!(loaded.sessions.iter().all(|s| s.deliveries.is_empty()));
    assert_eq!(loaded.retained.len(), 2);
    store.close();
    let inspector = Inspector::open(dir.path()).unwrap();
    let stats = inspector.stats().unwrap();
    let messages = stats.tables.iter().find(|t| t.name == "messages").unwrap();
    assert_eq!(messages.entries, 2, "only the retained messages are left");
    assert!(inspector.verify().unwrap().is_clean());
}

#[test]
fn a_failed_backup_leaves_the_old_file_unmigrated() {
    let dir = data_dir_with("v1.redb");
    let path = data_file(dir.path());
    // A directory where the copy must go: the backup cannot be written.
    fs::create_dir(dir.path().join(backup_name(1))).unwrap();
    let before = file_hash(&path);
    let err = robustmq::store::Store::open(dir.path(), robustmq::store::StoreDurability::Immediate)
        .err()
        .expect("the open must fail");
    let message = err.to_string();
    assert!(message.contains(&backup_name(1)), "{message}");
    assert_eq!(file_hash(&path), before, "the old file was modified");
    assert_eq!(schema_version(&path), 1);
}
