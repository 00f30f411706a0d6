//! `robustmq store compact`: the file shrinks after many deletions and keeps what was left.

use robustmq::store::{DeliveryState, Op, StoredDelivery};

use super::cli::*;
use super::store_common::*;

fn big_delivery(seq: u64) -> StoredDelivery {
    let mut d = delivery_in(seq, 1, DeliveryState::Queued);
    // Each message different, so each is stored: identical ones would be stored once.
    d.message.payload = vec![b'a' + (seq % 26) as u8; 4096];
    d.message.payload[..8].copy_from_slice(&seq.to_le_bytes());
    d
}

#[test]
fn compact_shrinks_a_store_after_many_deletions_and_keeps_the_rest() {
    let (_tmp, dir) = data_dir();
    let mut ops = vec![
        Op::PutSession(full_session("keep")),
        Op::PutSession(bare_session("drop")),
        Op::PutRetained(full_message("r/keep", "retained")),
    ];
    for seq in 0..2000 {
        ops.push(Op::PutDelivery {
            client_id: "drop".into(),
            seq,
            delivery: big_delivery(seq),
        });
    }
    for seq in 0..10 {
        ops.push(Op::PutDelivery {
            client_id: "keep".into(),
            seq,
            delivery: big_delivery(seq),
        });
    }
    write(&dir, ops);
    write(
        &dir,
        vec![Op::DeleteSession {
            client_id: "drop".into(),
        }],
    );
    let before = std::fs::metadata(data_file(&dir)).unwrap().len();
    let stats = stats_json(&dir);
    assert_eq!(stats["deliveries"], 10);
    assert!(stats["allocated_bytes"].as_u64().unwrap() < before / 2, "{stats}");

    let run = store(&["compact"], &dir);
    assert_eq!(run.code, Some(0), "{run:?}");
    let after = std::fs::metadata(data_file(&dir)).unwrap().len();
    assert!(after < before / 4, "compact left {after} of {before} bytes");
    let path = data_file(&dir).display().to_string();
    assert!(
        run.stdout
            .starts_with(&format!("compacted {path}: {before} -> {after} bytes")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("reclaimed"), "{}", run.stdout);

    // Everything that was kept is still there, and the file is consistent.
    assert_eq!(store(&["verify"], &dir).code, Some(0));
    let (store, loaded) = open(&dir);
    assert_eq!(loaded.sessions.len(), 1);
    let keep = session(&loaded, "keep");
    assert_eq!(keep.session, full_session("keep"));
    let expected: Vec<_> = (0..10).map(|seq| (seq, big_delivery(seq))).collect();
    assert_eq!(keep.deliveries, expected);
    assert_eq!(loaded.retained, [full_message("r/keep", "retained")]);
    // And the store keeps working on the compacted file.
    assert!(commit(&store, vec![queued("keep", 99)]));
    let (_store, loaded) = reopen(store, &dir);
    assert_eq!(session(&loaded, "keep").deliveries.len(), 11);
}

#[test]
fn compacting_a_compact_store_changes_nothing_it_holds() {
    let dir = populated_dir();
    let run = store(&["compact"], dir.path());
    assert_eq!(run.code, Some(0), "{run:?}");
    let again = store(&["compact"], dir.path());
    assert_eq!(again.code, Some(0), "{again:?}");
    let (_store, loaded) = open(dir.path());
    assert_eq!(session(&loaded, "c1").session, full_session("c1"));
    assert_eq!(session(&loaded, "c1").incoming_qos2, [5]);
}
