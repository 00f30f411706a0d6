//! Refusals: a locked directory, a corrupt file, a newer schema, a record that does not parse.
//! Every refused data file must be left byte for byte as it was.

use std::fs;
use std::path::Path;

use redb::{Database, ReadableDatabase, TableDefinition};
use robustmq::store::{Store, StoreDurability, StoreError, SCHEMA_VERSION};

use super::common::*;

// The file format as an outsider sees it: these must match src/store/tables.rs.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
const DELIVERIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("deliveries");

fn open_err(dir: &Path) -> StoreError {
    match Store::open(dir, StoreDurability::Immediate) {
        Ok(_) => panic!("the store opened, but should have been refused"),
        Err(e) => e,
    }
}

/// Opens expecting `Corrupt`, checks the file is unchanged, returns the detail.
fn assert_corrupt_and_untouched(dir: &Path) -> String {
    let path = data_file(dir);
    let before = file_hash(&path);
    let err = open_err(dir);
    let message = err.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    let detail = match err {
        StoreError::Corrupt { path: p, detail } => {
            assert_eq!(p, path);
            detail
        }
        other => panic!("expected Corrupt, got {other:?}"),
    };
    assert_eq!(file_hash(&path), before, "the refused file was modified");
    eprintln!("refused {}: {message}", path.display());
    // Refusing must not leave the directory locked.
    assert!(matches!(open_err(dir), StoreError::Corrupt { .. }));
    detail
}

#[test]
fn a_second_open_of_the_same_directory_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let err = open_err(dir.path());
    assert!(matches!(&err, StoreError::Locked { dir: d } if d == dir.path()));
    let message = err.to_string();
    assert!(message.contains("robustmq.lock"), "{message}");
    assert!(message.contains("--data-dir"), "{message}");
    store.close();
    let (_store, _) = open(dir.path());
}

#[test]
fn the_lock_is_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    drop(store);
    let (_store, _) = open(dir.path());
}

#[test]
fn random_bytes_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(data_file(dir.path()), noise(64 * 1024, 0x9e37_79b9_7f4a_7c15)).unwrap();
    let detail = assert_corrupt_and_untouched(dir.path());
    assert!(detail.contains("magic"), "{detail}");
}

#[test]
fn a_few_bytes_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(data_file(dir.path()), b"redb").unwrap();
    assert_corrupt_and_untouched(dir.path());
}

#[test]
fn random_bytes_behind_a_redb_header_are_refused_untouched() {
    // Gets past the magic check, so redb itself must refuse it (or panic, which is caught).
    for seed in 1..=4u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = noise(64 * 1024, seed);
        bytes[..9].copy_from_slice(&[b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A]);
        fs::write(data_file(dir.path()), bytes).unwrap();
        assert_corrupt_and_untouched(dir.path());
    }
}

#[test]
fn a_valid_header_over_random_pages_is_refused_untouched() {
    // Gets past redb's header checks, so the damage is only found in the pages behind it.
    let source = populated_dir();
    let original = fs::read(data_file(source.path())).unwrap();
    for seed in 1..=8u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = noise(original.len(), seed);
        bytes[..4096].copy_from_slice(&original[..4096]);
        fs::write(data_file(dir.path()), bytes).unwrap();
        assert_corrupt_and_untouched(dir.path());
    }
}

#[test]
fn truncated_files_are_refused_untouched() {
    let source = populated_dir();
    let original = fs::read(data_file(source.path())).unwrap();
    for len in [9, 100, 512, 4096, original.len() / 2, original.len() - 4096] {
        let dir = tempfile::tempdir().unwrap();
        fs::write(data_file(dir.path()), &original[..len]).unwrap();
        let detail = assert_corrupt_and_untouched(dir.path());
        eprintln!("truncated to {len} of {} bytes: {detail}", original.len());
    }
}

#[test]
fn a_damaged_page_is_refused_untouched() {
    let dir = populated_dir();
    let path = data_file(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    // Flip a byte of the retained payload wherever a page holds it: the page checksum breaks.
    let marker = b"PAYLOAD-MARKER-1";
    let mut hits = 0;
    for at in 0..bytes.len() - marker.len() {
        if &bytes[at..at + marker.len()] == marker {
            bytes[at] ^= 0x20;
            hits += 1;
        }
    }
    assert!(hits > 0, "the payload is not in the file");
    fs::write(&path, bytes).unwrap();
    let detail = assert_corrupt_and_untouched(dir.path());
    eprintln!("damaged page: {detail}");
}

#[test]
fn an_empty_file_is_refused_untouched() {
    // A zero-byte data file is what a full disk or a failed copy leaves, not a new store: taking
    // it for one would hide the loss and overwrite the evidence.
    let dir = tempfile::tempdir().unwrap();
    fs::write(data_file(dir.path()), b"").unwrap();
    let detail = assert_corrupt_and_untouched(dir.path());
    assert!(detail.contains("empty (0 bytes)"), "{detail}");
    assert_eq!(fs::metadata(data_file(dir.path())).unwrap().len(), 0);
}

#[test]
fn only_a_missing_file_starts_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, loaded) = open(dir.path());
    assert!(loaded.sessions.is_empty());
    assert!(commit(
        &store,
        vec![robustmq::store::Op::PutSession(bare_session("x"))]
    ));
    let (_store, loaded) = reopen(store, dir.path());
    assert_eq!(loaded.sessions.len(), 1);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let dir = populated_dir();
    let path = data_file(dir.path());
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", SCHEMA_VERSION + 1)
            .unwrap();
        txn.commit().unwrap();
    }
    let before = file_hash(&path);
    let err = open_err(dir.path());
    assert!(!err.to_string().contains('\n'));
    match err {
        StoreError::NewerSchema {
            path: p,
            found,
            supported,
        } => {
            assert_eq!(p, path);
            assert_eq!(found, SCHEMA_VERSION + 1);
            assert_eq!(supported, SCHEMA_VERSION);
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert_eq!(file_hash(&path), before, "the refused file was modified");
    // And it is still the same database, schema and all.
    let db = Database::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    let version = meta.get("schema_version").unwrap().map(|v| v.value());
    assert_eq!(version, Some(SCHEMA_VERSION + 1));
}

#[test]
fn a_redb_file_of_another_program_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::create(data_file(dir.path())).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<u64, u64>::new("theirs"))
            .unwrap()
            .insert(1, 2)
            .unwrap();
        txn.commit().unwrap();
    }
    let detail = assert_corrupt_and_untouched(dir.path());
    assert!(detail.contains("schema version"), "{detail}");
}

/// Writes one raw value into the sessions table of a closed store.
fn poke_session(path: &Path, key: &str, value: &[u8]) {
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(SESSIONS).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

#[test]
fn an_unknown_record_version_is_refused_untouched() {
    let dir = populated_dir();
    poke_session(&data_file(dir.path()), "future-client", &[99, 1, 2, 3]);
    let detail = assert_corrupt_and_untouched(dir.path());
    assert!(detail.contains("sessions"), "names the table: {detail}");
    assert!(detail.contains("future-client"), "names the key: {detail}");
    assert!(detail.contains("version 99"), "{detail}");
}

#[test]
fn a_record_that_does_not_parse_is_refused_untouched() {
    let dir = populated_dir();
    {
        let db = Database::create(data_file(dir.path())).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(DELIVERIES)
            .unwrap()
            .insert(("c1", 77u64), [1u8, 200].as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let detail = assert_corrupt_and_untouched(dir.path());
    assert!(detail.contains("deliveries"), "{detail}");
    assert!(detail.contains("77"), "{detail}");
}

#[test]
fn a_record_under_the_wrong_key_is_refused() {
    let dir = populated_dir();
    let path = data_file(dir.path());
    // A valid session record for "c1" stored under "other".
    let bytes = {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_read().unwrap();
        let value = txn
            .open_table(SESSIONS)
            .unwrap()
            .get("c1")
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        value
    };
    poke_session(&path, "other", &bytes);
    let detail = assert_corrupt_and_untouched(dir.path());
    assert!(detail.contains("other"), "{detail}");
}

#[test]
fn an_unreadable_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the data directory should be.
    let not_a_dir = dir.path().join("file");
    fs::write(&not_a_dir, b"x").unwrap();
    let err = open_err(&not_a_dir);
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("file"));
    // Sanity: a data file that is a directory is not mistaken for an empty store either.
    let dir2 = tempfile::tempdir().unwrap();
    fs::create_dir(data_file(dir2.path())).unwrap();
    assert!(Store::open(dir2.path(), StoreDurability::Immediate).is_err());
}
