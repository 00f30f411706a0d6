//! Group commit: many concurrent submissions share commits and fsyncs, and every callback runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use robustmq::store::Op;

use super::common::*;

const THREADS: u64 = 8;
const PER_THREAD: u64 = 500;

#[test]
fn concurrent_submissions_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let clients: Vec<String> = (0..THREADS).map(|t| format!("client-{t}")).collect();
    assert!(commit(
        &store,
        clients.iter().map(|c| Op::PutSession(bare_session(c))).collect()
    ));
    let before = store.stats();

    let committed = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for client in &clients {
            let (store, committed, failed) = (&store, committed.clone(), failed.clone());
            scope.spawn(move || {
                for seq in 0..PER_THREAD {
                    let (committed, failed) = (committed.clone(), failed.clone());
                    store.submit(
                        vec![put_delivery(client, seq)],
                        Some(Box::new(move |ok| {
                            let counter = if ok { &committed } else { &failed };
                            counter.fetch_add(1, Ordering::SeqCst);
                        })),
                    );
                }
            });
        }
    });
    store.flush();

    let submissions = (THREADS * PER_THREAD) as usize;
    assert_eq!(committed.load(Ordering::SeqCst), submissions);
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    let after = store.stats();
    let commits = after.commits - before.commits;
    let fsyncs = after.fsyncs - before.fsyncs;
    eprintln!(
        "group commit: {submissions} submissions from {THREADS} threads -> {commits} commits, {fsyncs} fsyncs"
    );
    assert!(commits >= 1);
    assert!(
        (commits as usize) < submissions,
        "{commits} commits for {submissions} submissions: no grouping"
    );
    assert_eq!(fsyncs, commits, "immediate durability fsyncs every commit");
    assert_eq!(after.ops - before.ops, THREADS * PER_THREAD);

    let (_store, loaded) = reopen(store, dir.path());
    for client in &clients {
        let seqs: Vec<u64> = session(&loaded, client)
            .deliveries
            .iter()
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(seqs, (0..PER_THREAD).collect::<Vec<_>>());
    }
}

#[test]
fn waiting_submitters_share_fsyncs() {
    // Closed loop, as the broker runs: each thread waits for its commit before the next one, so
    // any grouping comes from threads arriving while an fsync is in progress.
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let before = store.stats();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let store = &store;
            scope.spawn(move || {
                let client = format!("client-{t}");
                for seq in 0..PER_THREAD {
                    assert!(commit(store, vec![put_delivery(&client, seq)]));
                }
            });
        }
    });
    let after = store.stats();
    let submissions = THREADS * PER_THREAD;
    let commits = after.commits - before.commits;
    eprintln!(
        "closed loop: {submissions} submissions from {THREADS} waiting threads -> {commits} commits, {} fsyncs",
        after.fsyncs - before.fsyncs
    );
    // Never more commits than submissions; how many fewer depends on the disk, so no bound here.
    assert!(commits <= submissions);
    assert_eq!(after.ops - before.ops, submissions);
}
