//! `clients/get`: one client in detail.

use serde_json::json;

use super::common::*;
use super::support::*;

#[tokio::test]
async fn clients_get_describes_the_user_will_and_subscriptions_with_their_options() {
    let broker = start().await;
    let mut o = v5::options(&broker, "detailed");
    o.set_credentials("alice", "secret");
    o.set_session_expiry_interval(Some(600));
    o.set_last_will(v5::LastWill::new(
        "status/detailed",
        b"gone".to_vec(),
        v5::QoS::AtLeastOnce,
        true,
        Some(v5::LastWillProperties {
            delay_interval: Some(7),
            payload_format_indicator: None,
            message_expiry_interval: None,
            content_type: None,
            response_topic: None,
            correlation_data: None,
            user_properties: Vec::new(),
        }),
    ));
    let (mut c, _) = v5::connect_with(o).await;
    let mut filter = v5::Filter::new("cmd/#", v5::QoS::ExactlyOnce);
    filter.nolocal = true;
    filter.preserve_retain = true;
    filter.retain_forward_rule = v5::RetainForwardRule::Never;
    c.client
        .subscribe_many_with_properties(
            [filter],
            v5::SubscribeProperties {
                id: Some(42),
                user_properties: Vec::new(),
            },
        )
        .await
        .unwrap();
    c.next(|p| matches!(p, v5::Packet::SubAck(_)).then_some(())).await;
    c.subscribe("a/b", v5::QoS::AtMostOnce).await;
    for _ in 0..2 {
        c.publish_acked("up", v5::QoS::AtLeastOnce, false, b"12345").await;
    }
    let mut admin = Admin5::connect(&broker, "admin").await;

    let d = admin.ok("clients/get", json!({"client_id": "detailed"})).await;
    assert_eq!(d["client_id"], "detailed");
    assert_eq!(d["user_name"], "alice");
    assert_eq!(d["protocol_version"], "5.0");
    assert_eq!(d["keep_alive"], 30);
    assert_eq!(d["session_expiry_interval"], 600);
    assert_eq!(
        d["will"],
        json!({"topic": "status/detailed", "qos": 1, "retain": true, "delay_interval": 7, "payload_bytes": 4}),
        "the will, without its payload"
    );
    assert_eq!(d["subscriptions_total"], 2);
    assert_eq!(
        d["subscriptions"],
        json!([
            {"filter": "a/b", "qos": 0, "no_local": false, "retain_as_published": false,
             "retain_handling": 0, "subscription_id": null},
            {"filter": "cmd/#", "qos": 2, "no_local": true, "retain_as_published": true,
             "retain_handling": 2, "subscription_id": 42},
        ]),
        "sorted by filter, with their options"
    );
    assert_eq!(d["messages_in"], 2);
    assert_eq!(d["inflight"], 0);
    assert_eq!(d["queued"], 0);
    assert_eq!(d["dropped"], 0);
    let address: std::net::SocketAddr = d["address"].as_str().unwrap().parse().unwrap();
    assert!(address.ip().is_loopback());

    let plain = admin.ok("clients/get", json!({"client_id": "admin"})).await;
    assert_eq!(plain["user_name"], serde_json::Value::Null, "anonymous");
    assert_eq!(plain["will"], serde_json::Value::Null, "no will");
    broker.stop().await;
}

#[tokio::test]
async fn clients_get_says_when_the_client_is_offline_or_unknown_and_checks_its_request() {
    let broker = start().await;
    let mut o = v5::options(&broker, "away");
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(600));
    let (away, _) = v5::connect_with(o).await;
    away.client.disconnect().await.unwrap();
    let mut admin = Admin5::connect(&broker, "admin").await;
    eventually(&mut admin, "sessions/list", json!({}), "away is offline", |l| {
        l["total"] == 1
    })
    .await;
    let reply = admin.request("clients/get", json!({"client_id": "away"})).await;
    assert_eq!(
        reply,
        json!({"error": "client \"away\" is not connected (its session is offline)"})
    );
    let reply = admin.request("clients/get", json!({"client_id": "nobody"})).await;
    assert_eq!(reply, json!({"error": "no client \"nobody\" is connected"}));
    for bad in [
        json!({}),
        json!({"client_id": "away", "extra": 1}),
        json!({"client_id": 5}),
    ] {
        let reply = admin.request("clients/get", bad.clone()).await;
        let error = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{bad}: {reply}"));
        assert!(error.starts_with("bad request"), "{bad}: {error}");
    }
    broker.stop().await;
}
