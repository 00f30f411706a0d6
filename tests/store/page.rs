//! Reading part of a session's queue back (`Store::read_deliveries`), as the broker does to
//! keep only a window of a persistent session's queue in memory.

use std::sync::mpsc;

use robustmq::store::{Op, ReadError, Store, StoredDelivery};

use super::common::*;

/// What one read returns, waited for.
fn read(
    store: &Store,
    client_id: &str,
    from: u64,
    limit: usize,
) -> Result<Vec<(u64, StoredDelivery)>, ReadError> {
    let (tx, rx) = mpsc::channel();
    store.read_deliveries(
        client_id,
        from..u64::MAX,
        limit,
        Box::new(move |found| {
            let _ = tx.send(found);
        }),
    );
    rx.recv_timeout(WAIT).expect("the read was answered")
}

#[test]
fn a_read_returns_the_window_from_a_position_in_order_with_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let mut ops = Vec::new();
    // "c" and "c2": a read must not run over into a client id that extends another.
    for client in ["c", "c2"] {
        ops.push(Op::PutSession(full_session(client)));
        for seq in 0..10 {
            ops.push(put_delivery(client, seq));
        }
    }
    // Submitted, not waited for: the read comes after it, so it sees it.
    store.submit(ops, None);
    let found = read(&store, "c", 3, 4).unwrap();
    let seqs: Vec<u64> = found.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, [3, 4, 5, 6]);
    for (seq, delivery) in &found {
        assert_eq!(delivery, &self::delivery(*seq), "delivery {seq} and its message");
    }
    let tail: Vec<u64> = read(&store, "c", 8, 100)
        .unwrap()
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(tail, [8, 9]);
    assert!(read(&store, "c", 10, 100).unwrap().is_empty());
    assert!(read(&store, "nobody", 0, 100).unwrap().is_empty());
    // Acknowledged deliveries are gone from what a read finds.
    assert!(commit(
        &store,
        vec![Op::DeleteDelivery {
            client_id: "c".into(),
            seq: 0
        }]
    ));
    assert_eq!(read(&store, "c", 0, 1).unwrap()[0].0, 1);
}
