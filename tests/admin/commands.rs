//! `sessions/list`, `topics/top`, `store/stats`, `broker/stats`, and the request/response
//! conventions: reply topics, correlation data, acknowledgements, errors, authorization.

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::{PubAckReason, PubCompReason, PubRecReason};
use serde_json::{json, Value};

use super::common::*;
use super::support::*;

#[tokio::test]
async fn sessions_list_shows_offline_persistent_sessions() {
    let broker = start().await;
    let mut o = v5::options(&broker, "sleeper");
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(300));
    let (mut sleeper, _) = v5::connect_with(o).await;
    sleeper.subscribe("wake/#", v5::QoS::AtLeastOnce).await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    assert_eq!(
        admin.ok("sessions/list", json!({})).await["total"],
        0,
        "online sessions are not listed"
    );

    let left = now_ms();
    sleeper.client.disconnect().await.unwrap();
    drop(sleeper);
    let offline = eventually(
        &mut admin,
        "sessions/list",
        json!({}),
        "sleeper is offline",
        |l| l["total"] == 1,
    )
    .await;
    let since = offline["sessions"][0]["offline_since_ms"].as_u64().unwrap();
    assert!(since >= left && since <= now_ms(), "{offline}");

    let mut publisher = v5::connect(&broker, "publisher").await;
    for _ in 0..2 {
        publisher
            .client
            .publish("wake/up", v5::QoS::AtLeastOnce, false, "hello")
            .await
            .unwrap();
        puback(&mut publisher).await;
    }
    let list = admin.ok("sessions/list", json!({})).await;
    assert_eq!(list["total"], 1, "{list}");
    let row = &list["sessions"][0];
    assert_eq!(row["client_id"], "sleeper");
    assert_eq!(row["queued"], 2);
    assert_eq!(row["inflight"], 0);
    assert_eq!(row["subscriptions"], 1);
    assert_eq!(row["expiry_interval"], 300);
    assert_eq!(row["offline_since_ms"].as_u64(), Some(since));
    assert_eq!(row["expires_at_ms"].as_u64(), Some(since + 300_000));
    broker.stop().await;
}

#[tokio::test]
async fn topics_top_ranks_topics_by_messages() {
    let broker = start().await;
    let mut a = v5::connect(&broker, "pub-a").await;
    let b = v3::connect(&broker, "pub-b").await;
    for _ in 0..30 {
        a.client
            .publish("top/a", v5::QoS::AtMostOnce, false, vec![0u8; 100])
            .await
            .unwrap();
    }
    for _ in 0..10 {
        b.client
            .publish("top/b", v3::QoS::AtMostOnce, false, vec![0u8; 7])
            .await
            .unwrap();
    }
    // A QoS 1 publish after the QoS 0 ones: once acknowledged, every one was handled.
    a.client
        .publish("top/a", v5::QoS::AtLeastOnce, false, vec![0u8; 100])
        .await
        .unwrap();
    puback(&mut a).await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let top = eventually(&mut admin, "topics/top", json!({}), "both topics counted", |t| {
        t["topics"].as_array().is_some_and(|a| a.len() == 2) && t["topics"][1]["messages"] == 10
    })
    .await;
    assert_eq!(top["topics"][0]["topic"], "top/a");
    assert_eq!(top["topics"][0]["messages"], 31);
    assert_eq!(top["topics"][0]["bytes"], 3100);
    assert_eq!(top["topics"][1]["topic"], "top/b");
    assert_eq!(top["topics"][1]["bytes"], 70);
    assert_eq!(top["distinct_topics"], 2, "admin requests are not counted: {top}");
    assert_eq!(top["untracked_messages"], 0);
    assert_eq!(top["sampling"], 1, "light load is counted exactly");
    let window = top["window_seconds"].as_f64().unwrap();
    assert!(window > 0.5 && window <= 11.0, "{top}");
    let rate = top["topics"][0]["messages_per_second"].as_f64().unwrap();
    assert!((rate - 31.0 / window).abs() < 1e-6, "{top}");

    let one = admin.ok("topics/top", json!({"limit": 1})).await;
    assert_eq!(one["topics"].as_array().unwrap().len(), 1);
    for bad in [
        json!({"seconds": 0}),
        json!({"seconds": 11}),
        json!({"limit": -1}),
    ] {
        let reply = admin.request("topics/top", bad.clone()).await;
        assert!(
            reply["error"].as_str().unwrap().starts_with("bad request"),
            "{bad}: {reply}"
        );
    }
    broker.stop().await;
}

#[tokio::test]
async fn store_stats_reflect_commits() {
    let broker = start().await;
    let mut o = v5::options(&broker, "durable");
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(60));
    let (mut durable, _) = v5::connect_with(o).await;
    durable.subscribe("d/#", v5::QoS::AtLeastOnce).await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let before = admin.ok("store/stats", json!({})).await;
    durable
        .client
        .publish("d/1", v5::QoS::AtLeastOnce, true, "kept")
        .await
        .unwrap();
    puback(&mut durable).await;
    let after = admin.ok("store/stats", json!({})).await;
    assert_eq!(after["durable"], true);
    assert_eq!(after["durability"], "immediate");
    assert!(
        after["file"].as_str().unwrap().ends_with("robustmq.redb"),
        "{after}"
    );
    assert!(after["file_bytes"].as_u64().unwrap() > 0, "{after}");
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert!(n(&after, "commits") > n(&before, "commits"), "{before} → {after}");
    assert!(n(&after, "fsyncs") > n(&before, "fsyncs"));
    assert!(n(&after, "ops") > n(&before, "ops"));
    assert!(n(&after, "last_commit_us") > 0);
    assert_eq!(n(&after, "max_store_bytes"), 1024 * 1024 * 1024);
    assert_eq!(n(&after, "errors"), 0);
    assert_eq!(after["full"], false);
    let latency = &after["commit_latency"];
    assert!(latency["count"].as_u64().unwrap() > before["commit_latency"]["count"].as_u64().unwrap());
    let buckets = latency["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 14);
    let last = buckets.last().unwrap().as_array().unwrap();
    assert_eq!(last[0].as_f64(), Some(2.5));
    broker.stop().await;
}

#[tokio::test]
async fn broker_stats_are_the_sys_figures() {
    let broker = start().await;
    let mut sub = v3::connect(&broker, "sub").await;
    sub.subscribe("s/#", v3::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "pub").await;
    publisher
        .client
        .publish("s/1", v5::QoS::AtLeastOnce, true, "r")
        .await
        .unwrap();
    puback(&mut publisher).await;
    publisher
        .client
        .publish("s/2", v5::QoS::ExactlyOnce, false, "x")
        .await
        .unwrap();
    publisher
        .next(|p| matches!(p, v5::Packet::PubComp(_)).then_some(()))
        .await;
    sub.publish().await;
    sub.publish().await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let stats = admin.ok("broker/stats", json!({})).await;
    assert_eq!(stats["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(stats["clients_connected"], 3);
    assert_eq!(stats["clients_total"], 3);
    assert_eq!(stats["clients_disconnected"], 0);
    assert_eq!(stats["connections_total"], 3);
    assert_eq!(stats["subscriptions"], 2, "s/# and the admin's reply topic");
    // s/1, plus the retained $SYS tree.
    let retained = broker.server().broker().census().retained;
    assert!(retained > 1);
    assert_eq!(
        stats["retained_messages"].as_u64(),
        Some(retained as u64),
        "{stats}"
    );
    // The publisher's two, then this request (QoS 1) itself.
    assert_eq!(stats["publish_received_by_qos"], json!([0, 2, 1]));
    assert_eq!(stats["publish_received"], 3);
    assert_eq!(stats["publish_sent_by_qos"], json!([0, 2, 0]));
    assert_eq!(stats["publish_dropped"], 0);
    assert!(stats["bytes_received"].as_u64().unwrap() > 0);
    assert!(stats["uptime_seconds"].is_u64());
    assert_eq!(stats["connection_panics"], 0);
    broker.stop().await;
}

/// `top` reads `broker/stats` as `admin_api::BrokerStats`, but the broker writes it from its
/// metrics table: a figure renamed there would read as 0 in `top` without this check.
#[tokio::test]
async fn broker_stats_carry_every_field_top_reads() {
    let broker = start().await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let stats = admin.ok("broker/stats", json!({})).await;
    let Value::Object(read) = serde_json::to_value(robustmq::admin_api::BrokerStats::default()).unwrap()
    else {
        panic!("BrokerStats is not a JSON object")
    };
    for (field, default) in &read {
        let written = stats
            .get(field)
            .unwrap_or_else(|| panic!("broker/stats lacks {field:?}: {stats}"));
        assert_eq!(
            std::mem::discriminant(written),
            std::mem::discriminant(default),
            "{field:?} is {written}, a different JSON type from what top reads"
        );
    }
    let parsed: robustmq::admin_api::BrokerStats = serde_json::from_value(stats).unwrap();
    assert_eq!(parsed.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(parsed.clients_connected, 1);
    assert_eq!(parsed.subscriptions, 1, "the admin's reply topic");
    broker.stop().await;
}

#[tokio::test]
async fn v3_clients_get_replies_on_the_response_topic() {
    let broker = start().await;
    // Someone listening on the request topic itself sees nothing: requests are not routed.
    let mut eavesdropper = v3::connect(&broker, "eavesdropper").await;
    eavesdropper
        .subscribe("$CONTROL/robustmq/v1/broker/stats", v3::QoS::AtMostOnce)
        .await;
    let mut admin = v3::connect(&broker, "admin3").await;
    admin
        .subscribe("$CONTROL/robustmq/v1/broker/stats/response", v3::QoS::AtLeastOnce)
        .await;
    let reply = request_v3(&mut admin, "broker/stats", b"").await;
    assert_eq!(reply["clients_connected"], 2, "{reply}");
    let reply = request_v3(&mut admin, "broker/stats", b"{}").await;
    assert_eq!(reply["version"], env!("CARGO_PKG_VERSION"));
    admin
        .subscribe(
            "$CONTROL/robustmq/v1/no/such/command/response",
            v3::QoS::AtLeastOnce,
        )
        .await;
    let reply = request_v3(&mut admin, "no/such/command", b"").await;
    assert!(
        reply["error"].as_str().unwrap().contains("unknown command"),
        "{reply}"
    );
    eavesdropper.no_publish().await;
    broker.stop().await;
}

#[tokio::test]
async fn v5_replies_echo_correlation_data_and_are_json() {
    let broker = start().await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let (reply, body, ack) = admin.request_raw("broker/stats", b"").await;
    assert_eq!(ack, PubAckReason::Success);
    let props = reply.properties.unwrap();
    assert_eq!(props.content_type.as_deref(), Some("application/json"));
    assert_eq!(props.payload_format_indicator, Some(1));
    assert_eq!(reply.qos, v5::QoS::AtLeastOnce);
    assert!(body["uptime_seconds"].is_u64());

    // Binary correlation data comes back byte for byte; QoS 2 requests work too.
    let correlation = Bytes::from_static(&[0, 1, 2, 0xff, 0xfe]);
    let properties = v5::PublishProperties {
        response_topic: Some(admin.reply_topic.clone()),
        correlation_data: Some(correlation.clone()),
        ..Default::default()
    };
    admin
        .client
        .client
        .publish_with_properties(
            format!("{PREFIX}store/stats"),
            v5::QoS::ExactlyOnce,
            false,
            "{}",
            properties,
        )
        .await
        .unwrap();
    // PUBREC, PUBCOMP and the reply, the reply possibly first.
    let (mut rec, mut comp, mut reply) = (None, None, None);
    while rec.is_none() || comp.is_none() || reply.is_none() {
        admin
            .client
            .next(|p| {
                match p {
                    v5::Packet::PubRec(r) => rec = Some(r.reason),
                    v5::Packet::PubComp(c) => comp = Some(c.reason),
                    v5::Packet::Publish(p) => reply = Some(p),
                    _ => return None,
                }
                Some(())
            })
            .await;
    }
    assert_eq!(rec, Some(PubRecReason::Success));
    assert_eq!(comp, Some(PubCompReason::Success));
    let reply = reply.unwrap();
    assert_eq!(reply.properties.unwrap().correlation_data, Some(correlation));
    let body: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(body["durable"], true);

    // Without a Response Topic a v5 client gets the 3.1.1 convention.
    admin
        .client
        .subscribe("$CONTROL/robustmq/v1/broker/stats/response", v5::QoS::AtMostOnce)
        .await;
    admin
        .client
        .client
        .publish(format!("{PREFIX}broker/stats"), v5::QoS::AtMostOnce, false, "")
        .await
        .unwrap();
    let reply = admin.client.publish().await;
    assert_eq!(&reply.topic[..], b"$CONTROL/robustmq/v1/broker/stats/response");
    broker.stop().await;
}

#[tokio::test]
async fn bad_requests_get_an_error_reply() {
    let broker = start().await;
    let mut admin = Admin5::connect(&broker, "admin").await;
    let (_, reply, ack) = admin.request_raw("clients/lst", b"").await;
    let error = reply["error"].as_str().unwrap();
    assert!(error.starts_with("unknown command \"clients/lst\""), "{error}");
    assert_eq!(ack, PubAckReason::Success);

    for payload in [
        &b"{not json"[..],
        b"[1, 2]",
        b"42",
        b"\xff\xfe\x00garbage",
        b"{\"limit\": 1}{",
    ] {
        let (_, reply, ack) = admin.request_raw("clients/list", payload).await;
        assert_eq!(ack, PubAckReason::Success);
        let error = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{payload:?}: {reply}"));
        assert!(error.starts_with("malformed request"), "{payload:?}: {error}");
    }
    let reply = admin.request("store/stats", json!({"verbose": true})).await;
    assert!(reply["error"].as_str().unwrap().contains("verbose"), "{reply}");
    let reply = admin.request("clients/list", json!({"limit": "ten"})).await;
    assert!(
        reply["error"].as_str().unwrap().starts_with("bad request"),
        "{reply}"
    );
    // The broker is fine afterwards.
    assert_eq!(admin.ok("broker/stats", json!({})).await["connection_panics"], 0);
    broker.stop().await;
}

#[tokio::test]
async fn response_topics_cannot_be_written_by_clients() {
    let broker = start().await;
    let mut listener = v3::connect(&broker, "listener").await;
    listener
        .subscribe("$CONTROL/robustmq/v1/clients/list/response", v3::QoS::AtMostOnce)
        .await;
    let mut forger = v5::connect(&broker, "forger").await;
    forger
        .client
        .publish(
            "$CONTROL/robustmq/v1/clients/list/response",
            v5::QoS::AtLeastOnce,
            false,
            r#"{"total":0,"clients":[]}"#,
        )
        .await
        .unwrap();
    assert_eq!(puback(&mut forger).await, PubAckReason::NotAuthorized);
    listener.no_publish().await;
    broker.stop().await;
}

// Refusal for clients that are not on loopback is covered by the unit test of
// `admin::authorized`: tests only ever connect to loopback addresses.

#[tokio::test]
async fn a_reply_too_large_for_the_client_becomes_an_error() {
    let broker = start().await;
    let mut clients = Vec::new();
    for i in 0..5 {
        clients.push(v3::connect(&broker, &format!("client-with-a-long-name-{i}")).await);
    }
    let mut o = v5::options(&broker, "small");
    o.set_max_packet_size(Some(600));
    let mut admin = Admin5::connect_with(o, "small").await;
    let reply = admin.request("clients/list", json!({})).await;
    let error = reply["error"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(
        error.contains("maximum packet size") && error.contains("limit"),
        "{error}"
    );
    let page = admin.ok("clients/list", json!({"limit": 1})).await;
    assert_eq!(page["total"], 6);
    broker.stop().await;
}

#[tokio::test]
async fn a_will_on_the_admin_topics_is_refused() {
    let broker = start().await;
    for (level, refused) in [(5u8, 0x87u8), (4, 5)] {
        let connect = connect_packet_with(
            level,
            &format!("will-{level}"),
            60,
            0x02 | 0x04, // clean start, will flag
            &[],
            Some((&[], "$CONTROL/robustmq/v1/clients/list/response", b"{}")),
        );
        let (_raw, connack) = raw_connect_with(&broker, &connect).await;
        assert_eq!(connack[3], refused, "level {level}: {connack:?}");
    }
    broker.stop().await;
}
