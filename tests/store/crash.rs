//! Crashes for real: a child process (this test binary, re-run) is SIGKILLed mid-write.
//!
//! The child role is the `child_process` test below, which does nothing unless the parent set
//! `CHILD_ENV`. Running the same binary keeps the crash tests free of any helper executable.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use robustmq::store::{Op, Store, StoreDurability, StoreError};

use super::common::*;

/// Set in a child's environment: `writer <dir> <client>` or `holder <dir>`.
const CHILD_ENV: &str = "ROBUSTMQ_STORE_TEST_CHILD";

/// A child gives up on its own after this long, in case its parent died without killing it.
const CHILD_LIFETIME: Duration = Duration::from_secs(60);

/// The child role. A plain test run passes through; see the module doc.
#[test]
fn child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let args: Vec<&str> = spec.splitn(3, ' ').collect();
    match args.as_slice() {
        ["writer", dir, client] => child_writer(Path::new(dir), client),
        ["holder", dir] => child_holder(Path::new(dir)),
        _ => panic!("bad {CHILD_ENV}: {spec}"),
    }
}

/// Creates a session, then stores deliveries as fast as it can, printing `ACK <seq>` for each
/// one whose callback said committed, until it is killed.
fn child_writer(dir: &Path, client: &str) {
    let (store, _) = Store::open(dir, StoreDurability::Immediate).expect("child open");
    assert!(commit(&store, vec![Op::PutSession(bare_session(client))]));
    println!("READY");
    let started = Instant::now();
    let mut seq = 0u64;
    while started.elapsed() < CHILD_LIFETIME {
        // Up to 64 submissions in flight, so commits are grouped and a kill lands mid-batch.
        let (tx, rx) = mpsc::channel();
        for _ in 0..64 {
            let tx = tx.clone();
            let this = seq;
            store.submit(
                vec![put_delivery(client, this)],
                Some(Box::new(move |ok| {
                    if ok {
                        // Printed only after the commit is durable: this line is the "ack".
                        println!("ACK {this}");
                    }
                    let _ = tx.send(());
                })),
            );
            seq += 1;
        }
        drop(tx);
        while rx.recv().is_ok() {}
    }
}

/// Holds the store open until killed.
fn child_holder(dir: &Path) {
    let (_store, _) = Store::open(dir, StoreDurability::Immediate).expect("child open");
    println!("READY");
    std::thread::sleep(CHILD_LIFETIME);
}

/// Starts a child with stdout piped back.
fn spawn_child(spec: &str) -> Child {
    // The test's name in this binary: its module path without the crate's name.
    let (_, module) = module_path!().split_once("::").expect("a module path");
    Command::new(std::env::current_exe().expect("test binary path"))
        .arg(format!("{module}::child_process"))
        .args(["--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child")
}

/// Reads the child's stdout lines on a thread, so the parent can wait with a timeout.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for_ready(lines: &mpsc::Receiver<String>) {
    loop {
        let line = lines.recv_timeout(WAIT).expect("the child never got ready");
        // libtest may print "test crash::child_process ... " on the same line first.
        if line.ends_with("READY") {
            return;
        }
    }
}

/// The seq of an `ACK <seq>` line.
fn ack(line: &str) -> Option<u64> {
    let (_, seq) = line.rsplit_once("ACK ")?;
    Some(seq.trim().parse().expect("an ACK line holds a number"))
}

#[test]
fn kill_9_loses_nothing_that_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let dir_str = dir.path().to_str().expect("utf-8 temp path");
    let mut acked_per_client = Vec::new();
    // Kill after a different number of acks each round, so the kill lands at different moments.
    for (round, kill_after) in [150usize, 700, 1777].into_iter().enumerate() {
        let client = format!("crash-{round}");
        let mut child = spawn_child(&format!("writer {dir_str} {client}"));
        let lines = lines_of(&mut child);
        wait_for_ready(&lines);
        let mut acked = BTreeSet::new();
        while acked.len() < kill_after {
            let line = lines.recv_timeout(WAIT).expect("the child stopped acking");
            if let Some(seq) = ack(&line) {
                acked.insert(seq);
            }
        }
        child.kill().expect("SIGKILL the child");
        child.wait().unwrap();
        // Acks already in the pipe when the kill landed count too.
        while let Ok(line) = lines.recv_timeout(WAIT) {
            if let Some(seq) = ack(&line) {
                acked.insert(seq);
            }
        }
        acked_per_client.push((client, acked));

        // Every round reopens the file a crash left, and everything acknowledged so far is there.
        let (store, loaded) = open(dir.path());
        for (client, acked) in &acked_per_client {
            let s = session(&loaded, client);
            let stored: BTreeSet<u64> = s.deliveries.iter().map(|(seq, _)| *seq).collect();
            let missing: Vec<_> = acked.difference(&stored).collect();
            assert!(missing.is_empty(), "{client}: acked but lost: {missing:?}");
            for (seq, d) in &s.deliveries {
                assert_eq!(d, &delivery(*seq), "{client}: a delivery was garbled");
            }
            eprintln!(
                "round {round}: {client} acked {}, stored {}",
                acked.len(),
                stored.len()
            );
        }
        store.close();
    }
}

#[test]
fn another_process_holding_the_directory_locks_it_until_killed() {
    let dir = tempfile::tempdir().unwrap();
    let dir_str = dir.path().to_str().expect("utf-8 temp path");
    let mut child = spawn_child(&format!("holder {dir_str}"));
    let lines = lines_of(&mut child);
    wait_for_ready(&lines);
    let refused = Store::open(dir.path(), StoreDurability::Immediate);
    assert!(
        matches!(refused, Err(StoreError::Locked { .. })),
        "expected Locked"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // The OS dropped the dead process's lock: no stale lock file to clean up by hand.
    let (_store, _) = open(dir.path());
}
