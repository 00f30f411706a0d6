//! `robustmq store stats`: the numbers match what was written.

use std::path::Path;

use redb::{ReadOnlyDatabase, ReadableDatabase, ReadableTable, TableDefinition};
use robustmq::store::{DeliveryState, Op, SCHEMA_VERSION};

use super::cli::*;
use super::store_common::*;

/// Entries and key+value bytes of a table, counted with redb directly.
fn measure<K: redb::Key + 'static, V: redb::Value + 'static>(
    dir: &Path,
    table: TableDefinition<K, V>,
) -> (u64, u64) {
    let db = ReadOnlyDatabase::open(data_file(dir)).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(table).unwrap();
    let mut entries = 0;
    let mut bytes = 0;
    for entry in table.iter().unwrap() {
        let (key, value) = entry.unwrap();
        entries += 1;
        bytes += K::as_bytes(&key.value()).as_ref().len() as u64;
        bytes += V::as_bytes(&value.value()).as_ref().len() as u64;
    }
    (entries, bytes)
}

fn table<'a>(stats: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    stats["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name} in {stats}"))
}

#[test]
fn stats_match_what_was_written() {
    let (_tmp, dir) = data_dir();
    let mut ops = Vec::new();
    for i in 0..5 {
        ops.push(Op::PutSession(full_session(&format!("client-{i}"))));
    }
    for seq in 0..40 {
        ops.push(put_delivery("client-0", seq));
    }
    ops.push(Op::PutDelivery {
        client_id: "client-1".into(),
        seq: 1,
        delivery: delivery_in(1, 1, DeliveryState::Sent { packet_id: 1 }),
    });
    for seq in 2..5 {
        ops.push(Op::PutDelivery {
            client_id: "client-1".into(),
            seq,
            delivery: delivery_in(
                seq,
                2,
                DeliveryState::Released {
                    packet_id: seq as u16,
                },
            ),
        });
    }
    for packet_id in [1, 2] {
        ops.push(Op::PutIncomingQos2 {
            client_id: "client-2".into(),
            packet_id,
        });
    }
    for i in 0..7 {
        ops.push(Op::PutRetained(full_message(&format!("r/{i}"), "retained")));
    }
    write(&dir, ops);
    let before = file_hash(&data_file(&dir));

    let stats = stats_json(&dir);
    assert_eq!(stats["sessions"], 5);
    assert_eq!(stats["deliveries"], 44);
    assert_eq!(stats["deliveries_queued"], 40);
    assert_eq!(stats["deliveries_sent"], 1);
    assert_eq!(stats["deliveries_released"], 3);
    assert_eq!(stats["incoming_qos2"], 2);
    assert_eq!(stats["retained"], 7);
    assert_eq!(stats["bad_records"], 0);
    assert_eq!(stats["schema_version"], SCHEMA_VERSION);
    assert_eq!(stats["path"], data_file(&dir).display().to_string());
    let size = std::fs::metadata(data_file(&dir)).unwrap().len();
    assert_eq!(stats["file_size"], size);
    let allocated = stats["allocated_bytes"].as_u64().unwrap();
    assert!(allocated > 0 && allocated <= size, "{stats}");

    let expected = [
        ("sessions", measure(&dir, SESSIONS)),
        ("deliveries", measure(&dir, DELIVERIES)),
        ("incoming_qos2", measure(&dir, INCOMING_QOS2)),
        ("retained", measure(&dir, RETAINED)),
        ("meta", measure(&dir, META)),
        ("messages", measure(&dir, MESSAGES)),
        ("message_refs", measure(&dir, MESSAGE_REFS)),
        ("subscriptions", measure(&dir, SUBSCRIPTIONS)),
    ];
    assert_eq!(expected[0].1 .0, 5);
    for (name, (entries, bytes)) in expected {
        let t = table(&stats, name);
        assert_eq!(t["entries"], entries, "{name}: {t}");
        assert_eq!(t["bytes"], bytes, "{name}: {t}");
    }
    assert_eq!(stats["tables"].as_array().unwrap().len(), 8, "{stats}");
    assert_eq!(
        file_hash(&data_file(&dir)),
        before,
        "stats modified the data file"
    );
}

#[test]
fn the_table_for_people_shows_the_same_numbers() {
    let (_tmp, dir) = data_dir();
    write(
        &dir,
        vec![
            Op::PutSession(full_session("c1")),
            put_delivery("c1", 1),
            put_delivery("c1", 2),
            Op::PutRetained(full_message("r/1", "x")),
        ],
    );
    let run = store(&["stats"], &dir);
    assert_eq!(run.code, Some(0), "{run:?}");
    let out = &run.stdout;
    assert!(out.contains(&data_file(&dir).display().to_string()), "{out}");
    assert!(
        out.contains(&format!("schema version  {SCHEMA_VERSION}")),
        "{out}"
    );
    let row = |label: &str| {
        out.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no line {label:?}:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("  sessions")[1], "1");
    assert_eq!(row("  deliveries")[1], "2");
    assert_eq!(row("  retained messages")[2], "1");
    assert_eq!(row("  incoming QoS 2 ids")[4], "0");
    // The per-table rows: name, entries, bytes.
    assert_eq!(row("deliveries ")[..2], ["deliveries", "2"]);
    assert_eq!(row("retained ")[..2], ["retained", "1"]);
}
