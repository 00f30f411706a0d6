//! Refusals: a directory locked by a running broker, a corrupt or empty file, a newer schema, a
//! missing file. Exit code 4, the store's message, and the data file byte for byte as it was.

use std::fs;
use std::path::Path;

use robustmq::store::{Op, SCHEMA_VERSION};

use super::binary::Broker;
use super::cli::*;
use super::store_common::*;

const COMMANDS: [&[&str]; 5] = [
    &["stats"],
    &["stats", "--json"],
    &["verify"],
    &["export"],
    &["compact"],
];

/// Runs every command on `dir`, expecting exit 4 with `message` in stderr and the file untouched.
fn assert_all_refused(dir: &Path, message: &str) {
    let path = data_file(dir);
    let before = path.exists().then(|| file_hash(&path));
    for args in COMMANDS {
        let run = store(args, dir);
        assert_eq!(run.code, Some(4), "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?} printed to stdout: {run:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim_end().lines().count(),
            1,
            "one line: {}",
            run.stderr
        );
        assert_eq!(
            path.exists().then(|| file_hash(&path)),
            before,
            "{args:?} changed the data file"
        );
    }
}

/// Waits until the data file has not changed for half a second: a broker's own start-up
/// writes must be over before a test can say a command left the file alone.
fn wait_until_settled(path: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut last = file_hash(path);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let now = file_hash(path);
        if now == last {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the data file keeps changing"
        );
        last = now;
    }
}

#[test]
fn a_directory_locked_by_a_running_broker_is_refused() {
    let (_tmp, dir) = data_dir();
    // No will: one that fell due while the broker was down would be published (and the
    // session record rewritten) as it starts, while the commands run.
    let session = robustmq::store::StoredSession {
        will: None,
        ..full_session("c1")
    };
    write(&dir, vec![Op::PutSession(session)]);
    let broker = Broker::start(&dir);
    wait_until_settled(&data_file(&dir));
    assert_all_refused(&dir, "is in use by another robustmq");
    let run = store(&["verify"], &dir);
    assert!(run.stderr.contains("robustmq.lock"), "{}", run.stderr);
    assert!(broker.stop().success());
    // Once the broker is gone, the same commands work.
    assert_eq!(store(&["verify"], &dir).code, Some(0));
}

#[test]
fn corrupt_files_are_refused_untouched() {
    let source = populated_dir();
    let original = fs::read(data_file(source.path())).unwrap();
    let mut damaged_page = original.clone();
    let marker = b"PAYLOAD-MARKER-1";
    let at = damaged_page
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("payload in the file");
    damaged_page[at] ^= 0x20;
    let cases: [(&str, Vec<u8>); 4] = [
        ("empty", Vec::new()),
        ("random bytes", noise(64 * 1024, 7)),
        ("truncated", original[..original.len() / 2].to_vec()),
        ("damaged page", damaged_page),
    ];
    for (what, bytes) in cases {
        eprintln!("--- {what}");
        let (_tmp, dir) = data_dir();
        fs::write(data_file(&dir), bytes).unwrap();
        assert_all_refused(&dir, "is corrupt");
        let run = store(&["stats"], &dir);
        assert!(
            run.stderr.contains(&data_file(&dir).display().to_string()),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let dir = populated_dir();
    poke(dir.path(), |txn| {
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", SCHEMA_VERSION + 1)
            .unwrap();
    });
    assert_all_refused(dir.path(), "was written by a newer robustmq");
}

#[test]
fn a_missing_data_file_is_refused_and_nothing_is_created() {
    let (tmp, dir) = data_dir();
    assert_all_refused(&dir, "does not exist");
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        0,
        "a store command created files"
    );
    let nowhere = tmp.path().join("no-such-dir");
    assert_all_refused(&nowhere, "does not exist");
    assert!(!nowhere.exists(), "a store command created the data directory");
}

#[test]
fn reading_a_crashed_brokers_store_leaves_recovery_to_the_broker() {
    use super::mqtt::connect;
    use rumqttc::QoS;

    let (_tmp, dir) = data_dir();
    let broker = Broker::start(&dir);
    let mut sub = connect(broker.port(), "sub", false);
    sub.subscribe("t/#", QoS::AtLeastOnce);
    sub.disconnect();
    let mut publisher = connect(broker.port(), "pub", true);
    for i in 0..5 {
        publisher.publish_acked("t/x", QoS::AtLeastOnce, false, &format!("m{i}"));
    }
    broker.kill9();

    let before = file_hash(&data_file(&dir));
    for args in [&["stats"][..], &["verify"], &["export"]] {
        let run = store(args, &dir);
        assert_eq!(run.code, Some(0), "{args:?}: {run:?}");
        assert_eq!(
            file_hash(&data_file(&dir)),
            before,
            "{args:?} changed the data file"
        );
    }
    assert_eq!(stats_json(&dir)["deliveries_queued"], 5);
}

#[test]
fn every_subcommand_lists_the_exit_codes_it_uses() {
    // The codes the tests of these commands see: 0 and 4 from all, 1 from verify (problems) and
    // export --salvage (records lost), 2 from clap for a bad flag.
    for (command, codes) in [
        ("stats", &["0", "1", "2", "4"][..]),
        ("verify", &["0", "1", "2", "4"]),
        ("export", &["0", "1", "2", "4"]),
        ("compact", &["0", "1", "2", "4"]),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_robustmq"))
            .args(["store", command, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        let listed: Vec<&str> = help
            .split_once("Exit codes:\n")
            .unwrap_or_else(|| panic!("store {command} --help lists no exit codes:\n{help}"))
            .1
            .lines()
            .filter_map(|l| l.strip_prefix("  ").filter(|rest| !rest.starts_with(' ')))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(listed, codes, "store {command} --help:\n{help}");
        assert!(help.contains("4  the data file cannot be opened"), "{help}");
    }
    let verify = store(&["verify", "--help"], Path::new("."));
    assert!(
        verify.stdout.contains("1  problems were found"),
        "{}",
        verify.stdout
    );
    // A flag no subcommand has is a usage error, before any file is looked at.
    let usage = store(&["stats", "--no-such-flag"], Path::new("/nonexistent"));
    assert_eq!(usage.code, Some(2), "{}", usage.stderr);
}
