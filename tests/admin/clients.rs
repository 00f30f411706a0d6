//! `clients/list` and `clients/disconnect`.

use serde_json::json;

use super::common::*;
use super::support::*;

#[tokio::test]
async fn clients_list_shows_each_client_with_its_figures() {
    let broker = start().await;
    let before = now_ms();
    let mut o3 = v3::options(&broker, "c3");
    o3.set_keep_alive(std::time::Duration::from_secs(25));
    o3.set_credentials("alice", "secret");
    let (mut c3, _) = v3::connect_with(o3).await;
    c3.subscribe("t/#", v3::QoS::AtLeastOnce).await;
    c3.subscribe("other", v3::QoS::AtMostOnce).await;
    let mut c5 = v5::connect(&broker, "c5").await;
    for i in 0..3 {
        c5.client
            .publish("t/x", v5::QoS::AtLeastOnce, false, vec![b'x'; 10 + i])
            .await
            .unwrap();
        puback(&mut c5).await;
    }
    for _ in 0..3 {
        c3.publish().await;
    }
    let mut admin = Admin5::connect(&broker, "admin").await;
    let after = now_ms();

    let list = eventually(&mut admin, "clients/list", json!({}), "c3 acknowledged", |l| {
        client_row(l, "c3")["inflight"] == 0
    })
    .await;
    assert_eq!(list["total"], 3, "{list}");
    assert_eq!(list["offset"], 0);
    let ids: Vec<&str> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["admin", "c3", "c5"], "sorted by client id");

    let r3 = client_row(&list, "c3");
    assert_eq!(r3["protocol_version"], "3.1.1");
    assert_eq!(r3["protocol_level"], 4);
    assert_eq!(r3["keep_alive"], 25);
    assert_eq!(r3["clean_start"], true);
    assert_eq!(r3["user_name"], "alice");
    assert_eq!(r3["subscriptions"], 2);
    assert_eq!(r3["messages_out"], 3);
    assert_eq!(r3["messages_in"], 0);
    assert_eq!(r3["queued"], 0);
    assert_eq!(r3["dropped"], 0);
    assert!(r3["bytes_in"].as_u64().unwrap() > 0, "SUBSCRIBEs were read: {r3}");
    assert!(
        r3["bytes_out"].as_u64().unwrap() > 3 * 10,
        "three messages written: {r3}"
    );

    let r5 = client_row(&list, "c5");
    assert_eq!(r5["protocol_version"], "5.0");
    assert_eq!(r5["protocol_level"], 5);
    assert_eq!(r5["keep_alive"], 30);
    assert_eq!(r5["subscriptions"], 0);
    assert_eq!(r5["messages_in"], 3);
    assert_eq!(r5["messages_out"], 0);
    assert!(r5["bytes_in"].as_u64().unwrap() >= 10 + 11 + 12, "{r5}");
    assert_eq!(r5["session_expiry_interval"], 0);
    assert_eq!(r5["user_name"], serde_json::Value::Null, "anonymous");

    for row in list["clients"].as_array().unwrap() {
        let address: std::net::SocketAddr = row["address"].as_str().unwrap().parse().unwrap();
        assert!(address.ip().is_loopback(), "{row}");
        assert_ne!(
            address.port(),
            broker.port(),
            "the client's port, not the broker's"
        );
        let since = row["connected_since_ms"].as_u64().unwrap();
        assert!(
            (before..=after).contains(&since),
            "{since} not in {before}..={after}"
        );
    }
    // The admin client's own request counts as a message in.
    assert!(client_row(&list, "admin")["messages_in"].as_u64().unwrap() >= 1);

    let page = admin.ok("clients/list", json!({"offset": 1, "limit": 1})).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["offset"], 1);
    assert_eq!(page["clients"].as_array().unwrap().len(), 1);
    assert_eq!(page["clients"][0]["client_id"], "c3");
    broker.stop().await;
}

#[tokio::test]
async fn clients_list_leaves_out_clients_that_left() {
    let broker = start().await;
    let gone = v5::connect(&broker, "gone").await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    gone.client.disconnect().await.unwrap();
    let list = eventually(&mut admin, "clients/list", json!({}), "gone has left", |l| {
        l["total"] == 1
    })
    .await;
    assert_eq!(list["clients"][0]["client_id"], "admin");
    broker.stop().await;
}

#[tokio::test]
async fn disconnect_closes_a_v5_client_with_administrative_action() {
    let broker = start().await;
    // A raw client, to see the exact DISCONNECT on the wire (rumqttc reports the DISCONNECT
    // and the close that follows it as "connection aborted").
    let mut target = raw_connected_v5(&broker, "target", &[]).await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let reply = admin
        .ok("clients/disconnect", json!({"client_id": "target"}))
        .await;
    assert_eq!(reply, json!({"client_id": "target", "existed": true}));
    assert_eq!(target.disconnect_reason().await, 0x98, "administrative action");
    let list = eventually(&mut admin, "clients/list", json!({}), "target is gone", |l| {
        l["total"] == 1
    })
    .await;
    assert_eq!(list["clients"][0]["client_id"], "admin");
    // No such client (any more): the reply says so.
    let reply = admin
        .ok("clients/disconnect", json!({"client_id": "target"}))
        .await;
    assert_eq!(reply["existed"], false);
    let reply = admin
        .ok("clients/disconnect", json!({"client_id": "never-here"}))
        .await;
    assert_eq!(reply, json!({"client_id": "never-here", "existed": false}));
    broker.stop().await;
}

#[tokio::test]
async fn disconnect_closes_a_rumqttc_v5_client() {
    let broker = start().await;
    let mut target = v5::connect(&broker, "target").await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let reply = admin
        .ok("clients/disconnect", json!({"client_id": "target"}))
        .await;
    assert_eq!(reply["existed"], true);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, target.incoming.recv()).await {
            Ok(Some(v5::Packet::Disconnect(d))) => {
                assert_eq!(
                    d.reason_code,
                    rumqttc::v5::mqttbytes::v5::DisconnectReasonCode::AdministrativeAction
                );
                break;
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => panic!("target still connected"),
        }
    }
    broker.stop().await;
}

#[tokio::test]
async fn disconnect_closes_a_v3_client_and_keeps_its_session() {
    let broker = start().await;
    let mut o = v3::options(&broker, "old");
    o.set_clean_session(false);
    let (mut target, _) = v3::connect_with(o).await;
    target.subscribe("kept/#", v3::QoS::AtLeastOnce).await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let reply = admin.ok("clients/disconnect", json!({"client_id": "old"})).await;
    assert_eq!(reply["existed"], true);
    target.closed().await;
    let sessions = eventually(&mut admin, "sessions/list", json!({}), "old is offline", |l| {
        l["total"] == 1
    })
    .await;
    assert_eq!(sessions["sessions"][0]["client_id"], "old");
    assert_eq!(sessions["sessions"][0]["subscriptions"], 1);
    broker.stop().await;
}

#[tokio::test]
async fn disconnect_needs_a_client_id() {
    let broker = start().await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    for request in [
        json!({}),
        json!({"client_id": 7}),
        json!({"client_id": "x", "force": true}),
    ] {
        let reply = admin.request("clients/disconnect", request.clone()).await;
        let error = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{request}: {reply}"));
        assert!(error.starts_with("bad request"), "{request}: {error}");
    }
    broker.stop().await;
}
