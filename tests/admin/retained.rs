//! `retained/list` and `retained/delete`.

use serde_json::{json, Value};

use super::common::*;
use super::support::*;

/// The rows of a `retained/list` reply outside `$SYS`, which the broker retains for itself.
fn user_rows(list: &Value) -> Vec<Value> {
    list["messages"]
        .as_array()
        .expect("messages array")
        .iter()
        .filter(|m| !m["topic"].as_str().unwrap().starts_with("$SYS/"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn retained_list_previews_payloads_sorted_by_topic_and_pages() {
    let broker = start().await;
    let mut p = v5::connect(&broker, "p").await;
    p.publish_acked("b/text", v5::QoS::AtLeastOnce, true, b"21.5")
        .await;
    p.publish_acked("a/binary", v5::QoS::AtMostOnce, true, &[0, 1, 0xff])
        .await;
    p.publish_acked("c/long", v5::QoS::AtLeastOnce, true, &[b'x'; 100])
        .await;
    p.publish_acked("d/not-retained", v5::QoS::AtLeastOnce, false, b"x")
        .await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let list = eventually(&mut admin, "retained/list", json!({}), "three retained", |l| {
        user_rows(l).len() == 3
    })
    .await;
    assert_eq!(
        user_rows(&list),
        [
            json!({"topic": "a/binary", "qos": 0, "payload_bytes": 3, "preview": "0001ff", "preview_hex": true}),
            json!({"topic": "b/text", "qos": 1, "payload_bytes": 4, "preview": "21.5", "preview_hex": false}),
            json!({"topic": "c/long", "qos": 1, "payload_bytes": 100, "preview": "x".repeat(64), "preview_hex": false}),
        ]
    );
    let total = list["total"].as_u64().unwrap();
    assert_eq!(total as usize, list["messages"].as_array().unwrap().len());
    let page = admin.ok("retained/list", json!({"offset": 1, "limit": 1})).await;
    assert_eq!(page["total"].as_u64(), Some(total));
    assert_eq!(page["offset"], 1);
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(page["messages"][0]["topic"], list["messages"][1]["topic"]);
    let reply = admin.request("retained/list", json!({"topic": "a"})).await;
    assert!(
        reply["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("bad request"),
        "unknown fields are an error: {reply}"
    );
    broker.stop().await;
}

#[tokio::test]
async fn retained_delete_clears_the_topic_for_new_subscribers_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let broker = start_with(|s| s.server.data_dir = data.clone()).await;
    let mut p = v5::connect(&broker, "p").await;
    p.publish_acked("keep", v5::QoS::AtLeastOnce, true, b"kept").await;
    p.publish_acked("drop", v5::QoS::AtLeastOnce, true, b"dropped")
        .await;
    let mut watcher = v5::connect(&broker, "watcher").await;
    watcher.subscribe("drop", v5::QoS::AtLeastOnce).await;
    assert_eq!(&watcher.publish().await.payload[..], b"dropped");
    let mut admin = Admin5::connect(&broker, "admin").await;

    let reply = admin.ok("retained/delete", json!({"topic": "drop"})).await;
    assert_eq!(reply, json!({"topic": "drop", "existed": true}));
    watcher.no_publish().await;
    let again = admin.ok("retained/delete", json!({"topic": "drop"})).await;
    assert_eq!(again, json!({"topic": "drop", "existed": false}));
    let mut late = v5::connect(&broker, "late").await;
    late.subscribe("drop", v5::QoS::AtLeastOnce).await;
    late.no_publish().await;
    for bad in [json!({}), json!({"topic": "drop", "qos": 1}), json!({"topic": 1})] {
        let reply = admin.request("retained/delete", bad.clone()).await;
        let error = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{bad}: {reply}"));
        assert!(error.starts_with("bad request"), "{bad}: {error}");
    }
    drop((p, watcher, late, admin));
    broker.stop().await;

    let broker = start_with(|s| s.server.data_dir = data.clone()).await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let list = admin.ok("retained/list", json!({})).await;
    let topics: Vec<String> = user_rows(&list)
        .iter()
        .map(|m| m["topic"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(topics, ["keep"], "the deletion was stored: {list}");
    let mut fresh = v5::connect(&broker, "fresh").await;
    fresh.subscribe("drop", v5::QoS::AtLeastOnce).await;
    fresh.no_publish().await;
    fresh.subscribe("keep", v5::QoS::AtLeastOnce).await;
    assert_eq!(&fresh.publish().await.payload[..], b"kept");
    broker.stop().await;
}
