//! The data directory is guarded: a second broker, a corrupt, empty or foreign file or a newer
//! schema is refused with a clear message and exit code 4, and the file is left exactly as it
//! was; a file of an old release is migrated, keeping a copy.

use std::path::Path;

use super::binary::{serve_expecting_failure, Broker};

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

#[test]
fn an_empty_data_file_is_refused_and_left_untouched() {
    // Not a new store: a zero-byte file is what a full disk or a failed copy leaves behind.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("robustmq.redb");
    std::fs::write(&file, b"").unwrap();
    let (code, stderr) = serve_expecting_failure(dir.path(), &[]);
    assert_eq!(code, Some(4), "stderr: {stderr}");
    assert!(
        stderr.contains("robustmq.redb") && stderr.contains("empty (0 bytes)"),
        "stderr: {stderr}"
    );
    assert_eq!(file_bytes(&file), b"", "the file was modified");
}

#[test]
fn a_foreign_redb_file_is_refused_and_left_untouched() {
    use redb::{Database, TableDefinition};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("robustmq.redb");
    {
        let db = Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&str, &str>::new("accounts"))
            .unwrap()
            .insert("alice", "42")
            .unwrap();
        txn.commit().unwrap();
    }
    let before = file_bytes(&file);
    let (code, stderr) = serve_expecting_failure(dir.path(), &[]);
    assert_eq!(code, Some(4), "stderr: {stderr}");
    assert!(
        stderr.contains("robustmq.redb") && stderr.contains("no schema version"),
        "stderr: {stderr}"
    );
    assert_eq!(file_bytes(&file), before, "the file was modified");
}

#[test]
fn a_data_file_of_an_old_release_is_migrated_and_served() {
    use rumqttc::QoS;
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/store/fixtures/v1.redb");
    std::fs::copy(&fixture, dir.path().join("robustmq.redb")).unwrap();
    let broker = Broker::start(dir.path());
    // bob's session came through the migration with its subscription and queue.
    let mut bob = super::mqtt::connect(broker.port(), "bob", false);
    assert!(bob.session_present);
    let quiet = std::time::Duration::from_millis(700);
    let mut got: Vec<String> = bob.drain(quiet).into_iter().map(|(_, p, _)| p).collect();
    got.sort();
    assert_eq!(got, ["21.5", "22.0"]);
    bob.disconnect();
    let mut reader = super::mqtt::connect(broker.port(), "reader", true);
    reader.subscribe("status/#", QoS::AtLeastOnce);
    let retained = reader.drain(quiet);
    assert_eq!(retained, [("status/broker".into(), "up".into(), true)]);
    assert!(broker.stop().success());
    assert_eq!(
        file_bytes(&dir.path().join(robustmq::store::backup_name(1))),
        file_bytes(&fixture),
        "the old file is kept beside the new one"
    );
}

#[test]
fn a_directory_with_other_files_but_no_data_file_is_refused_and_left_untouched() {
    // Only an empty directory starts a new store: here the data file is gone, or this is the
    // wrong directory, and a new store would hide that.
    let dir = tempfile::tempdir().unwrap();
    let stray = dir.path().join("notes.txt");
    std::fs::write(&stray, b"not a store").unwrap();
    let (code, stderr) = serve_expecting_failure(dir.path(), &[]);
    assert_eq!(code, Some(4), "stderr: {stderr}");
    assert!(
        stderr.contains("notes.txt") && stderr.contains("only an empty directory"),
        "stderr: {stderr}"
    );
    assert!(
        !dir.path().join("robustmq.redb").exists(),
        "a data file was created"
    );
    assert_eq!(file_bytes(&stray), b"not a store");
}
