//! Only an empty directory starts a new store: a directory without a data file that holds
//! anything else is refused, and left as it was.

use std::fs;

use robustmq::store::{Store, StoreDurability, StoreError};

use super::common::*;

#[test]
fn a_directory_with_other_files_and_no_data_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("robustmq.redb.schema1.bak");
    fs::write(&backup, b"what was left of the old store").unwrap();
    let err = match Store::open(dir.path(), StoreDurability::Immediate) {
        Ok(_) => panic!("a new store was started beside a backup"),
        Err(e) => e,
    };
    let message = err.to_string();
    assert!(
        matches!(&err, StoreError::NotEmpty { file, .. } if *file == backup),
        "{err:?}"
    );
    assert!(message.contains("robustmq.redb.schema1.bak"), "{message}");
    assert!(message.contains("only an empty directory"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(!data_file(dir.path()).exists(), "a data file was created");
    assert_eq!(fs::read(&backup).unwrap(), b"what was left of the old store");
}

#[test]
fn a_directory_with_only_the_lock_and_the_reserve_starts_a_new_store() {
    // What a first start that failed before its data file existed leaves behind.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(Store::LOCK_FILE_NAME), b"123\n").unwrap();
    fs::write(dir.path().join(Store::RESERVE_FILE_NAME), b"").unwrap();
    let (store, loaded) = open(dir.path());
    assert!(loaded.sessions.is_empty());
    store.close();
    assert!(data_file(dir.path()).exists());
}

#[test]
fn a_missing_directory_starts_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir.path().join("new").join("data"));
    store.close();
}
