//! `robustmq store export --salvage`: what can still be read from a damaged file is exported,
//! what cannot is listed, and the file is left as it was.

use robustmq::store::{Op, StoredSession};
use serde_json::Value;

use super::cli::*;
use super::store_common::*;

const VICTIM: &str = "salvage-victim";

fn parse(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

fn count(lines: &[Value], kind: &str) -> usize {
    lines.iter().filter(|l| l["type"] == kind).count()
}

/// 30 sessions with a queued message each, and the victim's session with one too.
fn store_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = data_dir();
    let mut ops = Vec::new();
    for i in 0..30 {
        let client = format!("client-{i:02}");
        ops.push(Op::PutSession(StoredSession {
            will: None,
            ..full_session(&client)
        }));
        ops.push(queued(&client, 1));
    }
    ops.push(Op::PutSession(bare_session(VICTIM)));
    ops.push(queued(VICTIM, 1));
    ops.push(Op::PutRetained(full_message("r/1", "kept")));
    write(&dir, ops);
    (tmp, dir)
}

/// Damages the victim's session record where it lies in the file: its version byte (3, then
/// the client id with its length) becomes one no robustmq wrote.
fn damage_victim(dir: &std::path::Path) {
    let path = data_file(dir);
    let mut bytes = std::fs::read(&path).unwrap();
    let mut needle = vec![3u8, VICTIM.len() as u8];
    needle.extend_from_slice(VICTIM.as_bytes());
    let mut hits = 0;
    for at in 0..bytes.len() - needle.len() {
        if bytes[at..at + needle.len()] == needle[..] {
            bytes[at] = 9;
            hits += 1;
        }
    }
    assert!(hits > 0, "the session record is not in the file");
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn salvage_exports_every_readable_record_of_a_damaged_file_and_lists_the_rest() {
    let (_tmp, dir) = store_dir();
    damage_victim(&dir);
    let before = file_hash(&data_file(&dir));

    // Without --salvage the damaged file is refused, as the broker refuses it.
    let plain = store(&["export"], &dir);
    assert_eq!(plain.code, Some(4), "{plain:?}");
    assert!(plain.stderr.contains("is corrupt"), "{}", plain.stderr);

    let run = store(&["export", "--salvage"], &dir);
    assert_eq!(run.code, Some(1), "{run:?}");
    let lines = parse(&run.stdout);
    assert_eq!(count(&lines, "session"), 30, "every session but the damaged one");
    assert!(lines
        .iter()
        .all(|l| l["client_id"] != VICTIM || l["type"] != "session"));
    assert_eq!(
        count(&lines, "delivery"),
        31,
        "the victim's queue is still readable"
    );
    assert_eq!(count(&lines, "retained"), 1);
    assert!(run.stderr.contains("integrity check"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "skipped: table `sessions`, key {VICTIM:?}: unknown record version 9"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 records skipped"), "{}", run.stderr);
    assert_eq!(file_hash(&data_file(&dir)), before, "salvage modified the file");

    // To a file: the same records, and the file is complete.
    let out = dir.parent().unwrap().join("salvaged.ndjson");
    let to_file = store(&["export", "--salvage", "-o", out.to_str().unwrap()], &dir);
    assert_eq!(to_file.code, Some(1), "{to_file:?}");
    assert_eq!(parse(&std::fs::read_to_string(&out).unwrap()).len(), lines.len());
}

#[test]
fn salvage_of_a_whole_file_exports_everything_and_exits_0() {
    let (_tmp, dir) = store_dir();
    let plain = store(&["export"], &dir);
    let run = store(&["export", "--salvage"], &dir);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, plain.stdout);
    assert!(run.stderr.contains("nothing was lost"), "{}", run.stderr);
}

#[test]
fn salvage_still_refuses_what_is_not_a_store() {
    let (_tmp, dir) = data_dir();
    std::fs::write(data_file(&dir), b"").unwrap();
    let run = store(&["export", "--salvage"], &dir);
    assert_eq!(run.code, Some(4), "{run:?}");
    assert!(run.stderr.contains("empty (0 bytes)"), "{}", run.stderr);
    std::fs::write(data_file(&dir), noise(8192, 1)).unwrap();
    let run = store(&["export", "--salvage"], &dir);
    assert_eq!(run.code, Some(4), "{run:?}");
}
