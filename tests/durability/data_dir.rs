//! The data directory is guarded: a second broker, a corrupt file or a newer schema is refused
//! with a clear message and exit code 4, and the file is left exactly as it was.

use std::path::Path;

use crate::binary::{serve_expecting_failure, Broker};

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read data file")
}

#[test]
fn second_broker_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Broker::start(dir.path());
    let (code, stderr) = serve_expecting_failure(dir.path(), &[]);
    assert_eq!(code, Some(4), "stderr: {stderr}");
    assert!(stderr.contains("in use by another robustmq"), "stderr: {stderr}");
    assert!(
        stderr.lines().count() <= 2,
        "one readable line expected, got:\n{stderr}"
    );
    // The first broker is unharmed.
    assert!(std::net::TcpStream::connect(first.addr).is_ok());
    first.stop();
}

#[test]
fn random_bytes_data_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("robustmq.redb");
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &garbage).unwrap();
    let (code, stderr) = serve_expecting_failure(dir.path(), &[]);
    assert_eq!(code, Some(4), "stderr: {stderr}");
    assert!(stderr.contains("robustmq.redb"), "names the file: {stderr}");
    assert_eq!(file_bytes(&file), garbage, "the file was modified");
}

#[test]
fn truncated_data_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    broker.stop();
    let file = dir.path().join("robustmq.redb");
    let full = file_bytes(&file);
    let cut = full[..full.len() / 3].to_vec();
    std::fs::write(&file, &cut).unwrap();
    let (code, stderr) = serve_expecting_failure(dir.path(), &[]);
    assert_eq!(code, Some(4), "stderr: {stderr}");
    assert!(stderr.contains("robustmq.redb"), "names the file: {stderr}");
    assert_eq!(file_bytes(&file), cut, "the file was modified");
}

#[test]
fn data_file_from_a_newer_version_is_refused_and_left_untouched() {
    use redb::{Database, TableDefinition};
    const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    broker.stop();
    let file = dir.path().join("robustmq.redb");
    {
        let db = Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", robustmq::store::SCHEMA_VERSION + 1)
            .unwrap();
        txn.commit().unwrap();
    }
    let before = file_bytes(&file);
    let (code, stderr) = serve_expecting_failure(dir.path(), &[]);
    assert_eq!(code, Some(4), "stderr: {stderr}");
    assert!(
        stderr.contains("robustmq.redb") && stderr.contains("schema"),
        "stderr: {stderr}"
    );
    assert_eq!(file_bytes(&file), before, "the file was modified");
}
