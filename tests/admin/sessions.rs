//! `sessions/delete`: an offline session removed, for good.

use serde_json::json;

use super::common::*;
use super::support::*;

#[tokio::test]
async fn sessions_delete_removes_an_offline_session_and_its_queue_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let broker = start_with(|s| s.server.data_dir = data.clone()).await;
    for id in ["gone", "kept"] {
        let mut o = v5::options(&broker, id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(3600));
        let (mut c, _) = v5::connect_with(o).await;
        c.subscribe("news", v5::QoS::AtLeastOnce).await;
        c.client.disconnect().await.unwrap();
    }
    let mut admin = Admin5::connect(&broker, "admin").await;
    eventually(&mut admin, "sessions/list", json!({}), "both offline", |l| {
        l["total"] == 2
    })
    .await;
    let mut p = v5::connect(&broker, "p").await;
    p.publish_acked("news", v5::QoS::AtLeastOnce, false, b"queued")
        .await;
    let list = admin.ok("sessions/list", json!({})).await;
    assert_eq!(list["sessions"][0]["client_id"], "gone");
    assert_eq!(list["sessions"][0]["queued"], 1, "{list}");

    let reply = admin.ok("sessions/delete", json!({"client_id": "gone"})).await;
    assert_eq!(reply, json!({"client_id": "gone", "existed": true}));
    let list = admin.ok("sessions/list", json!({})).await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["sessions"][0]["client_id"], "kept");
    let subs = admin.ok("subscriptions/list", json!({})).await;
    assert!(
        subs["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["client_id"] != "gone"),
        "its subscriptions went with it: {subs}"
    );
    let again = admin.ok("sessions/delete", json!({"client_id": "gone"})).await;
    assert_eq!(again, json!({"client_id": "gone", "existed": false}));
    drop((p, admin));
    broker.stop().await;

    let broker = start_with(|s| s.server.data_dir = data.clone()).await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let list = admin.ok("sessions/list", json!({})).await;
    let ids: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["kept"], "the deletion was stored: {list}");
    let mut o = v5::options(&broker, "gone");
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(3600));
    let (mut back, connack) = v5::connect_with(o).await;
    assert!(!connack.session_present, "no session to resume");
    back.no_publish().await;
    broker.stop().await;
}

#[tokio::test]
async fn sessions_delete_refuses_a_connected_client() {
    let broker = start().await;
    let mut o = v5::options(&broker, "online");
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(3600));
    let (mut online, _) = v5::connect_with(o).await;
    online.subscribe("news", v5::QoS::AtLeastOnce).await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let reply = admin
        .request("sessions/delete", json!({"client_id": "online"}))
        .await;
    assert_eq!(
        reply,
        json!({"error": "client \"online\" is connected: only an offline session can be deleted \
                         (disconnect it first, with clients/disconnect)"})
    );
    let mut p = v5::connect(&broker, "p").await;
    p.publish_acked("news", v5::QoS::AtLeastOnce, false, b"still here")
        .await;
    assert_eq!(&online.publish().await.payload[..], b"still here");
    for bad in [json!({}), json!({"client_id": "online", "force": true})] {
        let reply = admin.request("sessions/delete", bad.clone()).await;
        let error = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{bad}: {reply}"));
        assert!(error.starts_with("bad request"), "{bad}: {error}");
    }
    broker.stop().await;
}
