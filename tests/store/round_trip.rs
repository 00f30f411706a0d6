//! Every record type survives a close and reopen exactly, and loads in the promised order.

use robustmq::store::{DeliveryState, Op, Store, StoreDurability, StoredDelivery};

use super::common::*;

#[test]
fn a_new_directory_opens_empty_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("not/yet/there");
    let (store, loaded) = open(&sub);
    assert!(loaded.sessions.is_empty());
    assert!(loaded.retained.is_empty());
    assert!(data_file(&sub).exists());
    let (_store, loaded) = reopen(store, &sub);
    assert!(loaded.sessions.is_empty() && loaded.retained.is_empty());
}

#[test]
fn every_record_type_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let retained = vec![
        full_message("a/full", "héllo"),
        bare_message("b/bare", &[0, 159, 146, 150]),
        bare_message("c/empty", b""),
    ];
    let sessions = [full_session("full"), bare_session("bare")];
    let states = [
        DeliveryState::Queued,
        DeliveryState::Sent { packet_id: 1 },
        DeliveryState::Released { packet_id: u16::MAX },
    ];
    let deliveries: Vec<(u64, StoredDelivery)> = states
        .iter()
        .enumerate()
        .map(|(i, state)| {
            let seq = i as u64 + 10;
            let delivery = StoredDelivery {
                message: full_message("d/t", &format!("d{i}")),
                qos: 2,
                retain: i % 2 == 0,
                subscription_ids: vec![i as u32, u32::MAX],
                state: *state,
            };
            (seq, delivery)
        })
        .collect();

    let mut ops: Vec<Op> = retained.iter().cloned().map(Op::PutRetained).collect();
    ops.extend(sessions.iter().cloned().map(Op::PutSession));
    for (seq, delivery) in &deliveries {
        ops.push(Op::PutDelivery {
            client_id: "full".into(),
            seq: *seq,
            delivery: delivery.clone(),
        });
    }
    for packet_id in [1, 300, u16::MAX] {
        ops.push(Op::PutIncomingQos2 {
            client_id: "full".into(),
            packet_id,
        });
    }
    assert!(commit(&store, ops));

    let (_store, loaded) = reopen(store, dir.path());
    assert_eq!(loaded.retained, retained, "retained, in topic order");
    let full = session(&loaded, "full");
    assert_eq!(full.session, sessions[0]);
    assert_eq!(full.deliveries, deliveries);
    assert_eq!(full.incoming_qos2, vec![1, 300, u16::MAX]);
    let bare = session(&loaded, "bare");
    assert_eq!(bare.session, sessions[1]);
    assert!(bare.deliveries.is_empty() && bare.incoming_qos2.is_empty());
    assert_eq!(loaded.sessions.len(), 2);
}

#[test]
fn deliveries_load_in_seq_order_per_client() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    // Seqs whose byte order differs from their numeric order, and client ids that prefix
    // each other, so a wrong key encoding would show.
    let seqs = [300u64, 2, u64::MAX, 256, 1, 10, 0];
    let mut ops = vec![
        Op::PutSession(bare_session("a")),
        Op::PutSession(bare_session("ab")),
    ];
    for seq in seqs {
        ops.push(put_delivery("ab", seq));
        ops.push(put_delivery("a", seq));
    }
    assert!(commit(&store, ops));
    let (_store, loaded) = reopen(store, dir.path());
    let mut sorted = seqs.to_vec();
    sorted.sort_unstable();
    for client in ["a", "ab"] {
        let got: Vec<u64> = session(&loaded, client)
            .deliveries
            .iter()
            .map(|(seq, _)| *seq)
            .collect();
        assert_eq!(got, sorted, "client {client}");
        for (seq, d) in &session(&loaded, client).deliveries {
            assert_eq!(d, &delivery(*seq));
        }
    }
}

#[test]
fn a_store_dropped_without_close_reopens_with_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    assert!(commit(
        &store,
        vec![Op::PutSession(full_session("s")), put_delivery("s", 1)]
    ));
    // Submitted but not waited for: drop must still finish it.
    store.submit(vec![put_delivery("s", 2)], None);
    drop(store);
    let (_store, loaded) = open(dir.path());
    let s = session(&loaded, "s");
    assert_eq!(s.session, full_session("s"));
    assert_eq!(s.deliveries.len(), 2);
}

#[test]
fn many_restarts_keep_accumulating() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..5u64 {
        let (store, loaded) = open(dir.path());
        assert_eq!(loaded.retained.len() as u64, round);
        assert!(commit(
            &store,
            vec![Op::PutRetained(bare_message(&format!("t/{round}"), b"x"))]
        ));
        if round % 2 == 0 {
            store.close();
        } else {
            drop(store);
        }
    }
}

#[test]
fn periodic_durability_keeps_data_after_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // An interval far longer than the test: only flush and close can make it durable.
    let periodic = StoreDurability::Periodic(std::time::Duration::from_secs(3600));
    let (store, _) = Store::open(dir.path(), periodic).unwrap();
    assert!(commit(&store, vec![Op::PutSession(bare_session("p"))]));
    for seq in 0..200 {
        assert!(commit(&store, vec![put_delivery("p", seq)]));
    }
    let stats = store.stats();
    assert_eq!(stats.commits, 201);
    assert_eq!(stats.fsyncs, 0, "periodic commits do not fsync");
    store.flush();
    assert_eq!(store.stats().fsyncs, 1, "flush fsyncs once");
    assert!(commit(&store, vec![put_delivery("p", 200)]));
    store.close(); // the last one becomes durable here

    let (store, loaded) = Store::open(dir.path(), periodic).unwrap();
    assert_eq!(session(&loaded, "p").deliveries.len(), 201);
    // Dropped without close or flush: still made durable on the way out.
    assert!(commit(&store, vec![put_delivery("p", 201)]));
    drop(store);
    let (_store, loaded) = open(dir.path());
    assert_eq!(session(&loaded, "p").deliveries.len(), 202);
}

#[test]
fn periodic_durability_fsyncs_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let periodic = StoreDurability::Periodic(std::time::Duration::from_millis(20));
    let (store, _) = Store::open(dir.path(), periodic).unwrap();
    assert!(commit(&store, vec![Op::PutSession(bare_session("p"))]));
    let deadline = std::time::Instant::now() + WAIT;
    while store.stats().fsyncs == 0 {
        assert!(std::time::Instant::now() < deadline, "no periodic fsync happened");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Nothing written since: the timer goes quiet instead of fsyncing forever.
    let fsyncs = store.stats().fsyncs;
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(store.stats().fsyncs, fsyncs);
}
