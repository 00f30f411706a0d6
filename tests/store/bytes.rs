//! What each operation writes: a message once however many sessions one publish queues it for,
//! a subscription's row per filter, a few bytes for a reconnect or an acknowledgement.
//!
//! Measured as the bytes of keys and values the writer put ([`StoreStats::bytes_put`]), and for
//! the report, as the growth of the file after `compact`.

use robustmq::store::{
    compact, DeliveryState, Op, Store, StoreStats, StoredDelivery, StoredMessage, StoredSession,
    StoredSubscription,
};

use super::common::*;

/// Bytes put by committing `ops`.
fn bytes_put(store: &Store, ops: Vec<Op>) -> u64 {
    let before: StoreStats = store.stats();
    assert!(commit(store, ops));
    store.stats().bytes_put - before.bytes_put
}

fn subscriptions(range: std::ops::Range<usize>) -> Vec<StoredSubscription> {
    range
        .map(|i| StoredSubscription {
            filter: format!("building/{i}/floor/+/room/+/temperature"),
            qos: 1,
            no_local: false,
            retain_as_published: false,
            retain_handling: 0,
            id: Some(i as u32 + 1),
        })
        .collect()
}

fn subscriber(subscriptions: Vec<StoredSubscription>, offline_since_ms: Option<u64>) -> StoredSession {
    StoredSession {
        subscriptions,
        offline_since_ms,
        will: None,
        ..full_session("subscriber")
    }
}

#[test]
fn a_subscribe_of_100_filters_writes_a_few_kb_and_a_reconnect_a_few_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    bytes_put(&store, vec![Op::PutSession(subscriber(Vec::new(), None))]);

    // The broker records a SUBSCRIBE with one session put per filter, each with the
    // subscriptions so far.
    let subscribe = |range: std::ops::Range<usize>| -> Vec<Op> {
        range
            .map(|i| Op::PutSession(subscriber(subscriptions(0..i + 1), None)))
            .collect()
    };
    let first = bytes_put(&store, subscribe(0..100));
    // The same again: the next 100 cost what the first 100 did, not what all 200 do.
    let second = bytes_put(&store, subscribe(100..200));
    let disconnect = bytes_put(
        &store,
        vec![Op::PutSession(subscriber(
            subscriptions(0..200),
            Some(1_700_000_000_000),
        ))],
    );
    let reconnect = bytes_put(
        &store,
        vec![Op::PutSession(subscriber(subscriptions(0..200), None))],
    );
    let unsubscribe = bytes_put(
        &store,
        vec![Op::PutSession(subscriber(subscriptions(0..199), None))],
    );
    eprintln!(
        "bytes put: SUBSCRIBE 100 filters {first}, 100 more {second}, disconnect {disconnect}, reconnect {reconnect}, UNSUBSCRIBE 1 {unsubscribe}"
    );
    assert!(first <= 6 * 1024, "SUBSCRIBE of 100 filters put {first} bytes");
    assert!(
        second <= first + 200,
        "the next 100 filters put {second} bytes (first 100: {first})"
    );
    assert!(disconnect <= 100, "a disconnect put {disconnect} bytes");
    assert!(reconnect <= 100, "a reconnect put {reconnect} bytes");
    assert!(
        unsubscribe <= 100,
        "an UNSUBSCRIBE of 1 filter put {unsubscribe} bytes"
    );

    let (_store, loaded) = reopen(store, dir.path());
    let mut want = subscriptions(0..199);
    want.sort_by(|a, b| a.filter.cmp(&b.filter));
    assert_eq!(session_of(&loaded).session.subscriptions, want);
}

fn session_of(loaded: &robustmq::store::Loaded) -> &robustmq::store::LoadedSession {
    super::common::session(loaded, "subscriber")
}

fn ten_kb_message() -> StoredMessage {
    StoredMessage {
        payload: noise(10 * 1024, 3),
        qos: 1,
        retain: false,
        ..full_message("plant/line-1/camera", "")
    }
}

fn queued(client: usize, message: &StoredMessage) -> Op {
    Op::PutDelivery {
        client_id: format!("subscriber-{client:02}"),
        seq: 1,
        delivery: StoredDelivery {
            message: message.clone(),
            qos: 1,
            retain: false,
            subscription_ids: vec![1],
            state: DeliveryState::Queued,
        },
    }
}

fn messages_in_file(dir: &std::path::Path) -> u64 {
    let inspector = robustmq::store::Inspector::open(dir).unwrap();
    let stats = inspector.stats().unwrap();
    assert!(inspector.verify().unwrap().is_clean());
    stats
        .tables
        .iter()
        .find(|t| t.name == "messages")
        .unwrap()
        .entries
}

#[test]
fn a_10_kb_message_to_50_subscribers_is_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let sessions: Vec<Op> = (0..50)
        .map(|i| {
            Op::PutSession(StoredSession {
                client_id: format!("subscriber-{i:02}"),
                ..subscriber(subscriptions(0..1), Some(1_700_000_000_000))
            })
        })
        .collect();
    bytes_put(&store, sessions);
    store.close();
    let size_before = compact(dir.path()).unwrap().size_after;

    let (store, _) = open(dir.path());
    let message = ten_kb_message();
    let other = StoredMessage {
        topic: "plant/line-2/camera".into(),
        ..message.clone()
    };
    let to_one = bytes_put(&store, vec![queued(0, &other)]);
    // The broker submits the deliveries of one publish together: one transaction.
    let to_50 = bytes_put(&store, (0..50).map(|i| queued(i, &message)).collect());
    // A delivery sent (state change) and acknowledged (deleted).
    let sent = bytes_put(
        &store,
        vec![Op::SetDeliveryState {
            client_id: "subscriber-00".into(),
            seq: 1,
            state: DeliveryState::Sent { packet_id: 1 },
        }],
    );
    store.close();
    let size_after = compact(dir.path()).unwrap().size_after;
    eprintln!(
        "bytes put: 10 KB QoS 1 message to 1 subscriber {to_one}, to 50 subscribers {to_50}, a delivery marked sent {sent}; file growth after compaction for 50: {}",
        size_after - size_before
    );
    assert!(to_one <= 11 * 1024, "to 1 subscriber: {to_one} bytes");
    assert!(to_50 <= 15 * 1024, "to 50 subscribers: {to_50} bytes");
    assert!(sent <= 100, "marking a delivery sent put {sent} bytes");
    assert_eq!(messages_in_file(dir.path()), 1);

    // The message goes with its last reference, not before.
    let (store, loaded) = open(dir.path());
    assert_eq!(
        loaded.sessions.iter().map(|s| s.deliveries.len()).sum::<usize>(),
        50
    );
    let acks: Vec<Op> = (0..49)
        .map(|i| Op::DeleteDelivery {
            client_id: format!("subscriber-{i:02}"),
            seq: 1,
        })
        .collect();
    let acked = bytes_put(&store, acks);
    assert!(acked <= 49 * 20, "49 acknowledgements put {acked} bytes");
    store.close();
    assert_eq!(messages_in_file(dir.path()), 1);
    let (store, _) = open(dir.path());
    assert!(commit(
        &store,
        vec![Op::DeleteSession {
            client_id: "subscriber-49".into()
        }]
    ));
    store.close();
    assert_eq!(messages_in_file(dir.path()), 0);
}

#[test]
fn a_retained_message_shares_the_row_of_its_queued_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let message = StoredMessage {
        retain: true,
        ..ten_kb_message()
    };
    bytes_put(&store, vec![Op::PutSession(bare_session("subscriber-00"))]);
    let put = bytes_put(
        &store,
        vec![Op::PutRetained(message.clone()), queued(0, &message)],
    );
    assert!(put <= 11 * 1024, "{put} bytes");
    // Replacing the retained message drops its reference; the queued copy keeps the message.
    let replaced = StoredMessage {
        payload: b"new".to_vec(),
        ..message.clone()
    };
    bytes_put(&store, vec![Op::PutRetained(replaced.clone())]);
    let (store, loaded) = reopen(store, dir.path());
    assert_eq!(loaded.retained, vec![replaced]);
    assert_eq!(session(&loaded, "subscriber-00").deliveries[0].1.message, message);
    store.close();
    assert_eq!(messages_in_file(dir.path()), 2);
    let (store, _) = open(dir.path());
    assert!(commit(
        &store,
        vec![
            Op::DeleteDelivery {
                client_id: "subscriber-00".into(),
                seq: 1
            },
            Op::DeleteRetained {
                topic: message.topic.clone()
            },
        ]
    ));
    store.close();
    assert_eq!(messages_in_file(dir.path()), 0);
}

#[test]
fn message_ids_grow_so_new_messages_go_to_the_end_of_their_table() {
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};
    const MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("messages");
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    bytes_put(&store, vec![Op::PutSession(bare_session("subscriber-00"))]);
    for i in 0..5u64 {
        let message = StoredMessage {
            payload: format!("reading {i}").into_bytes(),
            ..ten_kb_message()
        };
        let op = Op::PutDelivery {
            client_id: "subscriber-00".into(),
            seq: i,
            delivery: StoredDelivery {
                message,
                qos: 1,
                retain: false,
                subscription_ids: Vec::new(),
                state: DeliveryState::Queued,
            },
        };
        bytes_put(&store, vec![op]);
    }
    store.close();
    let db = redb::ReadOnlyDatabase::open(data_file(dir.path())).unwrap();
    let txn = db.begin_read().unwrap();
    let ids: Vec<u64> = txn
        .open_table(MESSAGES)
        .unwrap()
        .iter()
        .unwrap()
        .map(|entry| entry.unwrap().0.value())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
}
