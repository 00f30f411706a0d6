//! Running `robustmq store ...` and building data directories for it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use redb::{Database, TableDefinition};
use robustmq::store::{DeliveryState, Op, StoredDelivery};

use super::store_common::*;

// The file format as an outsider sees it: these must match src/store/tables.rs.
pub const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
pub const DELIVERIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("deliveries");
pub const INCOMING_QOS2: TableDefinition<(&str, u16), &[u8]> = TableDefinition::new("incoming_qos2");
pub const RETAINED: TableDefinition<&str, &[u8]> = TableDefinition::new("retained");
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub const MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("messages");
pub const MESSAGE_REFS: TableDefinition<u64, u64> = TableDefinition::new("message_refs");
pub const SUBSCRIPTIONS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("subscriptions");

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `robustmq store <args...>` to completion.
pub fn store(args: &[&str], dir: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_robustmq"))
        .arg("store")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run robustmq");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!(
        "robustmq store {args:?} -> {:?}\n{}{}",
        run.code, run.stdout, run.stderr
    );
    run
}

/// `stats --json`, parsed.
pub fn stats_json(dir: &Path) -> serde_json::Value {
    let run = store(&["stats", "--json"], dir);
    assert_eq!(run.code, Some(0), "{run:?}");
    serde_json::from_str(&run.stdout).expect("stats --json prints one JSON object")
}

/// `export` to stdout, each line parsed.
pub fn export_lines(dir: &Path) -> Vec<serde_json::Value> {
    let run = store(&["export"], dir);
    assert_eq!(run.code, Some(0), "{run:?}");
    run.stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// A data directory inside a temp dir (so the broker's log file lands in the temp dir too).
pub fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    (tmp, dir)
}

/// A delivery in the given state.
pub fn delivery_in(seq: u64, qos: u8, state: DeliveryState) -> StoredDelivery {
    let mut message = full_message("q/t", &format!("message {seq}"));
    message.qos = qos;
    StoredDelivery {
        message,
        qos,
        retain: false,
        subscription_ids: vec![7],
        state,
    }
}

/// A queued QoS 1 delivery of a QoS 1 message (the fixtures of `store_common` deliver a QoS 0
/// message at QoS 1, which `verify` rightly reports).
pub fn queued(client_id: &str, seq: u64) -> Op {
    Op::PutDelivery {
        client_id: client_id.into(),
        seq,
        delivery: delivery_in(seq, 1, DeliveryState::Queued),
    }
}

/// Stores `ops` in `dir` through the store and closes it.
pub fn write(dir: &Path, ops: Vec<Op>) {
    let (store, _) = open(dir);
    assert!(commit(&store, ops), "commit failed");
    store.close();
}

/// Changes a closed store behind the store's back, with redb directly.
pub fn poke(dir: &Path, change: impl FnOnce(&redb::WriteTransaction)) {
    let db = Database::create(data_file(dir)).unwrap();
    let txn = db.begin_write().unwrap();
    change(&txn);
    txn.commit().unwrap();
}

/// The stored bytes of a delivery record, copied from the file, to plant elsewhere.
pub fn delivery_bytes(dir: &Path, client_id: &str, seq: u64) -> Vec<u8> {
    use redb::{ReadOnlyDatabase, ReadableDatabase};
    let db = ReadOnlyDatabase::open(data_file(dir)).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(DELIVERIES).unwrap();
    let value = table.get((client_id, seq)).unwrap().expect("delivery present");
    value.value().to_vec()
}
