//! `robustmq store verify`: clean stores pass, each kind of inconsistency is reported on its own line.

use std::time::{SystemTime, UNIX_EPOCH};

use robustmq::store::{DeliveryState, Op};

use super::cli::*;
use super::store_common::*;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn problems(run: &Run) -> Vec<&str> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("problem: "))
        .collect()
}

#[test]
fn a_good_store_is_clean() {
    let (_tmp, dir) = data_dir();
    write(
        &dir,
        vec![
            Op::PutSession(full_session("c1")),
            queued("c1", 1),
            Op::PutDelivery {
                client_id: "c1".into(),
                seq: 2,
                delivery: delivery_in(2, 2, DeliveryState::Sent { packet_id: 1 }),
            },
            Op::PutDelivery {
                client_id: "c1".into(),
                seq: 3,
                delivery: delivery_in(3, 2, DeliveryState::Released { packet_id: 2 }),
            },
            Op::PutIncomingQos2 {
                client_id: "c1".into(),
                packet_id: 9,
            },
            Op::PutSession(bare_session("c2")),
            Op::PutRetained(full_message("r/1", "x")),
        ],
    );
    let before = file_hash(&data_file(&dir));
    let run = store(&["verify"], &dir);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("redb integrity"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("2 sessions, 3 deliveries, 1 incoming QoS 2 ids, 1 retained messages"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("belongs to a session"), "{}", run.stdout);
    assert!(run.stdout.contains("no packet id twice"), "{}", run.stdout);
    assert!(!run.stdout.contains("FAIL"), "{}", run.stdout);
    assert!(problems(&run).is_empty());
    assert!(run.stdout.trim_end().ends_with("checks passed"), "{}", run.stdout);
    assert_eq!(
        file_hash(&data_file(&dir)),
        before,
        "verify modified the data file"
    );
}

#[test]
fn an_orphan_delivery_is_reported() {
    let (_tmp, dir) = data_dir();
    write(&dir, vec![Op::PutSession(full_session("c1")), queued("c1", 1)]);
    // A valid delivery record under a client that has no session: only redb itself can do that,
    // since the store deletes queues together with their session.
    let bytes = delivery_bytes(&dir, "c1", 1);
    // The record's message id follows its version byte; the copy is one more reference to it.
    let message_id = u64::from_le_bytes(bytes[1..9].try_into().unwrap());
    poke(&dir, |txn| {
        let mut deliveries = txn.open_table(DELIVERIES).unwrap();
        deliveries.insert(("ghost", 7u64), bytes.as_slice()).unwrap();
        let mut refs = txn.open_table(MESSAGE_REFS).unwrap();
        refs.insert(message_id, 2u64).unwrap();
        let mut incoming = txn.open_table(INCOMING_QOS2).unwrap();
        incoming.insert(("ghost", 3u16), [1u8].as_slice()).unwrap();
    });
    let before = file_hash(&data_file(&dir));

    let run = store(&["verify"], &dir);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stdout
            .contains("FAIL  every delivery and incoming QoS 2 id belongs to a session"),
        "{}",
        run.stdout
    );
    assert_eq!(
        problems(&run),
        [
            r#"problem: delivery ("ghost", 7): session "ghost" does not exist"#,
            r#"problem: incoming QoS 2 id ("ghost", 3): session "ghost" does not exist"#,
        ]
    );
    assert!(
        run.stdout.trim_end().ends_with("2 problems found"),
        "{}",
        run.stdout
    );
    assert_eq!(
        file_hash(&data_file(&dir)),
        before,
        "verify modified the data file"
    );

    // The other tools still read it; the orphans are exported as they are.
    assert_eq!(stats_json(&dir)["deliveries"], 2);
    let lines = export_lines(&dir);
    assert!(lines
        .iter()
        .any(|l| l["type"] == "delivery" && l["client_id"] == "ghost" && l["seq"] == 7));
}

#[test]
fn a_packet_id_used_twice_in_a_session_is_reported() {
    let (_tmp, dir) = data_dir();
    let sent = |seq, packet_id| Op::PutDelivery {
        client_id: "c1".into(),
        seq,
        delivery: delivery_in(seq, 2, DeliveryState::Sent { packet_id }),
    };
    write(
        &dir,
        vec![
            Op::PutSession(full_session("c1")),
            Op::PutSession(full_session("c2")),
            sent(1, 5),
            sent(2, 6),
            Op::PutDelivery {
                client_id: "c1".into(),
                seq: 3,
                delivery: delivery_in(3, 2, DeliveryState::Released { packet_id: 5 }),
            },
            // The same packet id in another session, and on a queued delivery, is fine.
            Op::PutDelivery {
                client_id: "c2".into(),
                seq: 1,
                delivery: delivery_in(1, 2, DeliveryState::Sent { packet_id: 5 }),
            },
            queued("c1", 4),
        ],
    );
    let run = store(&["verify"], &dir);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        problems(&run),
        [r#"problem: session "c1": packet id 5 is used by deliveries 1 and 3"#]
    );
}

#[test]
fn bad_records_bad_fields_and_implausible_times_are_each_reported() {
    let (_tmp, dir) = data_dir();
    let mut in_the_future = full_session("future");
    in_the_future.offline_since_ms = Some(now_ms() + 10 * 24 * 3600 * 1000);
    let mut in_seconds = bare_session("seconds");
    in_seconds.offline_since_ms = Some(now_ms() / 1000);
    let mut old_message = full_message("r/old", "x");
    old_message.expires_at_ms = Some(5);
    write(
        &dir,
        vec![
            Op::PutSession(full_session("c1")),
            Op::PutSession(in_the_future),
            Op::PutSession(in_seconds),
            Op::PutRetained(old_message),
            Op::PutDelivery {
                client_id: "c1".into(),
                seq: 1,
                // QoS 1 cannot be in the PUBREL phase, and packet id 0 does not exist.
                delivery: delivery_in(1, 1, DeliveryState::Released { packet_id: 0 }),
            },
        ],
    );
    poke(&dir, |txn| {
        let mut sessions = txn.open_table(SESSIONS).unwrap();
        sessions.insert("broken", [1u8, 200].as_slice()).unwrap();
    });
    let before = file_hash(&data_file(&dir));

    let run = store(&["verify"], &dir);
    assert_eq!(run.code, Some(1), "{run:?}");
    let found = problems(&run);
    let has = |needle: &str| {
        assert!(
            found.iter().any(|p| p.contains(needle)),
            "no problem mentioning {needle:?} in {found:#?}"
        )
    };
    has(r#"table `sessions`, key "broken""#);
    has(r#"delivery ("c1", 1): released (QoS 2 phase) but QoS 1"#);
    has(r#"delivery ("c1", 1): packet id 0"#);
    has(r#"session "future": offline since"#);
    has("days from now");
    has(r#"session "seconds": offline since"#);
    has("before 2001");
    has(r#"retained message "r/old": expires at 5 ms"#);
    assert_eq!(found.len(), 6, "{found:#?}");
    assert!(run.stdout.contains("6 problems found"), "{}", run.stdout);
    assert_eq!(
        file_hash(&data_file(&dir)),
        before,
        "verify modified the data file"
    );

    // stats counts the bad record; export refuses the file like the broker does.
    assert_eq!(stats_json(&dir)["bad_records"], 1);
    let export = store(&["export"], &dir);
    assert_eq!(export.code, Some(4), "{export:?}");
    assert!(export.stderr.contains("is corrupt"), "{}", export.stderr);
    assert!(export.stderr.contains("broken"), "{}", export.stderr);
    assert_eq!(
        file_hash(&data_file(&dir)),
        before,
        "export modified the data file"
    );
}

#[test]
fn expired_entries_are_notes_not_problems() {
    let (_tmp, dir) = data_dir();
    let mut expired = bare_session("gone");
    expired.expiry_interval = 60;
    expired.offline_since_ms = Some(now_ms() - 3600 * 1000);
    let mut message = full_message("r/expired", "x");
    message.expires_at_ms = Some(now_ms() - 1000);
    write(&dir, vec![Op::PutSession(expired), Op::PutRetained(message)]);
    let run = store(&["verify"], &dir);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout
            .contains("note: 1 sessions and 1 messages have expired"),
        "{}",
        run.stdout
    );
}

#[test]
fn wrong_reference_counts_and_missing_messages_are_reported() {
    let (_tmp, dir) = data_dir();
    // The same message queued for two sessions: one message row, counted twice.
    write(
        &dir,
        vec![
            Op::PutSession(full_session("c1")),
            Op::PutSession(full_session("c2")),
            queued("c1", 1),
            queued("c2", 1),
            queued("c2", 2),
        ],
    );
    assert_eq!(store(&["verify"], &dir).code, Some(0));
    let shared = delivery_bytes(&dir, "c1", 1);
    let shared_id = u64::from_le_bytes(shared[1..9].try_into().unwrap());
    let alone = delivery_bytes(&dir, "c2", 2);
    let alone_id = u64::from_le_bytes(alone[1..9].try_into().unwrap());
    poke(&dir, |txn| {
        let mut refs = txn.open_table(MESSAGE_REFS).unwrap();
        refs.insert(shared_id, 5u64).unwrap();
        let mut messages = txn.open_table(MESSAGES).unwrap();
        messages.remove(alone_id).unwrap();
    });
    let run = store(&["verify"], &dir);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        problems(&run),
        [
            format!(
                r#"problem: table `deliveries`, key ("c2", 2): its message {alone_id} does not exist"#
            ),
            format!(
                "problem: table `message_refs`, key {shared_id}: counts 5 references, but 2 deliveries and retained messages refer to the message"
            ),
        ]
    );
    // The broker refuses it as it refuses any damaged record.
    let (store_result, path) = (
        robustmq::store::Store::open(&dir, robustmq::store::StoreDurability::Immediate),
        data_file(&dir),
    );
    match store_result {
        Err(robustmq::store::StoreError::Corrupt { path: p, detail }) => {
            assert_eq!(p, path);
            assert!(detail.contains("does not exist"), "{detail}");
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|_| ())),
    }
}
