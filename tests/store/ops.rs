//! What each `Op` does to the stored state, and the order submissions and callbacks keep.

use std::sync::{Arc, Mutex};

use robustmq::store::{DeliveryState, Op, StoredDelivery};

use super::common::*;

#[test]
fn delete_session_takes_its_queue_and_qos2_ids_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let mut ops = Vec::new();
    // "c" and "c2": the cascade must not spill over to a client id that extends another.
    for client in ["c", "c2", "b"] {
        ops.push(Op::PutSession(full_session(client)));
        for seq in [0, 5, u64::MAX] {
            ops.push(put_delivery(client, seq));
        }
        for packet_id in [0, 9, u16::MAX] {
            ops.push(Op::PutIncomingQos2 {
                client_id: client.into(),
                packet_id,
            });
        }
    }
    assert!(commit(&store, ops));
    assert!(commit(
        &store,
        vec![Op::DeleteSession {
            client_id: "c".into()
        }]
    ));
    let (store, loaded) = reopen(store, dir.path());
    let mut ids: Vec<&str> = loaded
        .sessions
        .iter()
        .map(|s| s.session.client_id.as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["b", "c2"]);
    for client in ["b", "c2"] {
        assert_eq!(session(&loaded, client).deliveries.len(), 3);
        assert_eq!(session(&loaded, client).incoming_qos2, [0, 9, u16::MAX]);
    }

    // Re-creating "c" must start from an empty queue, not resurrect the old one.
    assert!(commit(&store, vec![Op::PutSession(bare_session("c"))]));
    let (_store, loaded) = reopen(store, dir.path());
    assert!(session(&loaded, "c").deliveries.is_empty());
    assert!(session(&loaded, "c").incoming_qos2.is_empty());
}

#[test]
fn puts_replace_and_deletes_remove() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    assert!(commit(
        &store,
        vec![
            Op::PutRetained(bare_message("r/keep", b"1")),
            Op::PutRetained(bare_message("r/gone", b"1")),
            Op::PutSession(full_session("s")),
            put_delivery("s", 1),
            put_delivery("s", 2),
            Op::PutIncomingQos2 {
                client_id: "s".into(),
                packet_id: 1,
            },
            Op::PutIncomingQos2 {
                client_id: "s".into(),
                packet_id: 2,
            },
        ]
    ));
    let sent = StoredDelivery {
        state: DeliveryState::Sent { packet_id: 42 },
        ..delivery(1)
    };
    assert!(commit(
        &store,
        vec![
            Op::PutRetained(bare_message("r/keep", b"2")),
            Op::DeleteRetained {
                topic: "r/gone".into()
            },
            Op::DeleteRetained {
                topic: "r/never-there".into()
            },
            Op::PutSession(bare_session("s")),
            Op::PutDelivery {
                client_id: "s".into(),
                seq: 1,
                delivery: sent.clone(),
            },
            Op::DeleteDelivery {
                client_id: "s".into(),
                seq: 2,
            },
            Op::DeleteDelivery {
                client_id: "s".into(),
                seq: 99,
            },
            Op::DeleteIncomingQos2 {
                client_id: "s".into(),
                packet_id: 1,
            },
        ]
    ));
    let (_store, loaded) = reopen(store, dir.path());
    assert_eq!(loaded.retained, vec![bare_message("r/keep", b"2")]);
    let s = session(&loaded, "s");
    assert_eq!(s.session, bare_session("s"), "PutSession replaces");
    assert_eq!(s.deliveries, vec![(1, sent)]);
    assert_eq!(s.incoming_qos2, vec![2]);
}

#[test]
fn a_delivery_state_change_keeps_the_rest_of_the_delivery_and_ignores_one_absent() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let queued = StoredDelivery {
        subscription_ids: vec![3, 9],
        retain: true,
        ..delivery(1)
    };
    assert!(commit(
        &store,
        vec![
            Op::PutSession(bare_session("s")),
            Op::PutDelivery {
                client_id: "s".into(),
                seq: 1,
                delivery: queued.clone(),
            },
        ]
    ));
    let released = DeliveryState::Released { packet_id: 7 };
    assert!(commit(
        &store,
        vec![
            Op::SetDeliveryState {
                client_id: "s".into(),
                seq: 1,
                state: DeliveryState::Sent { packet_id: 7 },
            },
            Op::SetDeliveryState {
                client_id: "s".into(),
                seq: 1,
                state: released,
            },
            // Dropped or never stored: nothing to change, and nothing is created.
            Op::SetDeliveryState {
                client_id: "s".into(),
                seq: 2,
                state: released,
            },
        ]
    ));
    let (_store, loaded) = reopen(store, dir.path());
    let expected = StoredDelivery {
        state: released,
        ..queued
    };
    assert_eq!(session(&loaded, "s").deliveries, vec![(1, expected)]);
}

#[test]
fn ops_apply_in_order_within_and_across_submissions() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    store.submit(
        vec![
            Op::PutRetained(bare_message("t", b"1")),
            Op::DeleteRetained { topic: "t".into() },
            Op::PutRetained(bare_message("t", b"2")),
        ],
        None,
    );
    store.submit(vec![Op::PutRetained(bare_message("t", b"3"))], None);
    store.submit(vec![Op::DeleteRetained { topic: "u".into() }], None);
    store.submit(vec![Op::PutRetained(bare_message("u", b"4"))], None);
    store.flush();
    let (_store, loaded) = reopen(store, dir.path());
    assert_eq!(
        loaded.retained,
        vec![bare_message("t", b"3"), bare_message("u", b"4")]
    );
}

#[test]
fn callbacks_run_once_each_in_submission_order() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let seen = Arc::new(Mutex::new(Vec::new()));
    for i in 0..2000u64 {
        let seen = seen.clone();
        store.submit(
            vec![put_delivery("c", i)],
            Some(Box::new(move |ok| seen.lock().unwrap().push((i, ok)))),
        );
    }
    store.flush();
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<(u64, bool)> = (0..2000).map(|i| (i, true)).collect();
    assert_eq!(seen, expected);
}

#[test]
fn an_empty_submission_still_gets_its_callback() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    assert!(commit(&store, Vec::new()));
}

#[test]
fn queue_entries_without_a_session_are_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    assert!(commit(
        &store,
        vec![
            put_delivery("ghost", 1),
            Op::PutIncomingQos2 {
                client_id: "ghost".into(),
                packet_id: 1,
            },
        ]
    ));
    let (_store, loaded) = reopen(store, dir.path());
    assert!(loaded.sessions.is_empty());
}

#[test]
fn session_puts_in_one_transaction_end_with_the_last_one() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let full = full_session("c");
    let fewer = robustmq::store::StoredSession {
        subscriptions: full.subscriptions[1..].to_vec(),
        will: None,
        ..full.clone()
    };
    // Put, put with fewer subscriptions: the second wins, rows of the first are gone.
    assert!(commit(
        &store,
        vec![Op::PutSession(full.clone()), Op::PutSession(fewer.clone())]
    ));
    // Put, delete, put of another client and then "d": the delete in between still happens.
    assert!(commit(
        &store,
        vec![
            Op::PutSession(full_session("d")),
            put_delivery("d", 1),
            Op::DeleteSession {
                client_id: "d".into()
            },
            Op::PutSession(bare_session("e")),
            Op::PutSession(bare_session("d")),
        ]
    ));
    let (_store, loaded) = reopen(store, dir.path());
    assert_eq!(session(&loaded, "c").session, fewer);
    assert_eq!(session(&loaded, "d").session, bare_session("d"));
    assert!(session(&loaded, "d").deliveries.is_empty());
    assert_eq!(session(&loaded, "e").session, bare_session("e"));
}
