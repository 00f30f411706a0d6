//! The `$SYS` tree: published every `sys_interval` under Mosquitto's topic names, with values
//! that reflect the broker.

use std::collections::HashMap;
use std::time::Duration;

use robustmq::server::metrics::get;

use super::common::*;

/// The latest value seen on each `$SYS` topic.
type Tree = HashMap<String, String>;

/// A broker publishing `$SYS` every second.
async fn sys_broker() -> TestBroker {
    start_with(|s| s.server.sys_interval = Duration::from_secs(1)).await
}

/// A broker publishing `$SYS` every 250 ms, for tests that wait for a tick after they acted.
async fn fast_sys_broker() -> TestBroker {
    start_with(|s| s.server.sys_interval = Duration::from_millis(250)).await
}

/// A client subscribed to `$SYS/#`.
async fn sys_subscriber(broker: &TestBroker, id: &str) -> v5::Client {
    let mut sub = v5::connect(broker, id).await;
    sub.subscribe("$SYS/#", v5::QoS::AtMostOnce).await;
    sub
}

/// Reads `$SYS` publishes into `tree` until `done` holds; panics after [`WAIT`] with what was
/// seen. With `live_only`, the retained copies sent at SUBSCRIBE (RETAIN 1), which may be from a
/// tick before the test set anything up, are skipped.
async fn watch_with(sub: &mut v5::Client, tree: &mut Tree, live_only: bool, done: impl Fn(&Tree) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(tree) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "$SYS never got there; seen: {tree:#?}"
        );
        let p = sub.publish().await;
        if live_only && p.retain {
            continue;
        }
        let topic = String::from_utf8(p.topic.to_vec()).expect("UTF-8 topic");
        let value = String::from_utf8(p.payload.to_vec()).expect("UTF-8 value");
        tree.insert(topic, value);
    }
}

/// [`watch_with`] on live updates only.
async fn watch(sub: &mut v5::Client, tree: &mut Tree, done: impl Fn(&Tree) -> bool) {
    watch_with(sub, tree, true, done).await
}

/// The next live (RETAIN 0) value of `topic`, as a whole number.
async fn next_live(sub: &mut v5::Client, topic: &str) -> u64 {
    let value = sub
        .next(|p| match p {
            v5::Packet::Publish(p) if !p.retain && p.topic == topic.as_bytes() => Some(p.payload),
            _ => None,
        })
        .await;
    let value = String::from_utf8(value.to_vec()).expect("UTF-8 value");
    value
        .parse()
        .unwrap_or_else(|_| panic!("{topic} is not a whole number: {value:?}"))
}

/// The values of `topics` (in the order the broker publishes them within a tick, the only
/// topics `sub` subscribes to) from one tick that started after everything the test did before
/// the call: what has arrived is dropped, then the next tick, which may have been on its way,
/// is skipped.
async fn fresh(sub: &mut v5::Client, topics: &[&str]) -> Vec<u64> {
    while sub.incoming.try_recv().is_ok() {}
    for topic in topics {
        next_live(sub, topic).await;
    }
    let mut values = Vec::new();
    for topic in topics {
        values.push(next_live(sub, topic).await);
    }
    values
}

fn number(tree: &Tree, topic: &str) -> u64 {
    let value = &tree[topic];
    value
        .parse()
        .unwrap_or_else(|_| panic!("{topic} is not a whole number: {value:?}"))
}

// Mosquitto's names, so tools written for Mosquitto read ours: every one of these is published.
#[tokio::test]
async fn sys_tree_uses_mosquitto_topic_names() {
    let broker = sys_broker().await;
    let mut publisher = v5::connect(&broker, "sys-names-pub").await;
    publisher
        .publish_acked("sys/kept", v5::QoS::AtLeastOnce, true, b"1")
        .await;
    let mut sub = sys_subscriber(&broker, "sys-names-sub").await;
    let topics = [
        "$SYS/broker/version",
        "$SYS/broker/uptime",
        "$SYS/broker/clients/connected",
        "$SYS/broker/messages/received",
        "$SYS/broker/subscriptions/count",
        "$SYS/broker/retained messages/count",
        "$SYS/broker/load/messages/received/1min",
        "$SYS/broker/store/messages/count",
    ];
    let mut tree = Tree::new();
    // The version is static: published once, retained. The rest is refreshed every tick; wait
    // for one after the subscription, so the counts include it.
    watch_with(&mut sub, &mut tree, false, |t| {
        topics.iter().all(|topic| t.contains_key(*topic))
            && t.get("$SYS/broker/subscriptions/count").is_some_and(|v| v != "0")
    })
    .await;

    let version = &tree["$SYS/broker/version"];
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")),
        "version: {version:?}"
    );
    let uptime = &tree["$SYS/broker/uptime"];
    let secs = uptime
        .strip_suffix(" seconds")
        .unwrap_or_else(|| panic!("uptime is \"N seconds\": {uptime:?}"));
    secs.parse::<u64>().expect("uptime seconds");
    assert!(number(&tree, "$SYS/broker/clients/connected") >= 1);
    assert!(number(&tree, "$SYS/broker/messages/received") >= 1);
    assert!(number(&tree, "$SYS/broker/subscriptions/count") >= 1);
    assert!(number(&tree, "$SYS/broker/retained messages/count") >= 1);
    number(&tree, "$SYS/broker/store/messages/count");
    let load = &tree["$SYS/broker/load/messages/received/1min"];
    let load: f64 = load
        .parse()
        .unwrap_or_else(|_| panic!("load is a number: {load:?}"));
    assert!(load >= 0.0);
}

// `$SYS/broker/clients/connected` follows the number of connected clients, up and down.
#[tokio::test]
async fn sys_clients_connected_counts_connected_clients() {
    let broker = sys_broker().await;
    let mut sub = sys_subscriber(&broker, "sys-cc-sub").await;
    let _a = v5::connect(&broker, "sys-cc-a").await;
    let b = v5::connect(&broker, "sys-cc-b").await;
    let connected = "$SYS/broker/clients/connected";
    let mut tree = Tree::new();
    watch(&mut sub, &mut tree, |t| {
        t.get(connected).map(String::as_str) == Some("3")
    })
    .await;

    b.client.disconnect().await.unwrap();
    watch(&mut sub, &mut tree, |t| {
        t.get(connected).map(String::as_str) == Some("2")
    })
    .await;
}

// `$SYS/broker/subscriptions/count` counts the subscriptions of every session.
#[tokio::test]
async fn sys_subscriptions_count_counts_subscriptions() {
    let broker = sys_broker().await;
    let mut sub = sys_subscriber(&broker, "sys-sc-sub").await;
    let mut other = v5::connect(&broker, "sys-sc-other").await;
    other.subscribe("sys/a", v5::QoS::AtMostOnce).await;
    other.subscribe("sys/b/#", v5::QoS::AtLeastOnce).await;
    let mut tree = Tree::new();
    watch(&mut sub, &mut tree, |t| {
        t.get("$SYS/broker/subscriptions/count").map(String::as_str) == Some("3")
    })
    .await;
}

// `$SYS/broker/messages/received` is, as Mosquitto documents it, "the total number of messages
// of any type received": a new client's CONNECT and its 10 PUBLISH packets add at least 11.
#[tokio::test]
async fn sys_messages_received_counts_every_packet() {
    let broker = fast_sys_broker().await;
    let received = "$SYS/broker/messages/received";
    let mut sub = v5::connect(&broker, "sys-mr-sub").await;
    sub.subscribe(received, v5::QoS::AtMostOnce).await;
    let before = fresh(&mut sub, &[received]).await[0];

    let mut publisher = v5::connect(&broker, "sys-mr-pub").await;
    for _ in 0..10 {
        publisher
            .publish_acked("sys/mr", v5::QoS::AtLeastOnce, false, b"x")
            .await;
    }
    let after = fresh(&mut sub, &[received]).await[0];
    assert!(
        after >= before + 11,
        "messages/received went from {before} to {after} over a CONNECT and 10 PUBLISH"
    );
}

// `$SYS/broker/messages/sent` is, as Mosquitto documents it, "the total number of messages of
// any type sent", while `publish/messages/sent` counts PUBLISH only: a CONNACK and 10 PUBACKs
// widen the gap between the two by at least 11.
#[tokio::test]
async fn sys_messages_sent_counts_every_packet() {
    let broker = fast_sys_broker().await;
    let topics = ["$SYS/broker/messages/sent", "$SYS/broker/publish/messages/sent"];
    let mut sub = v5::connect(&broker, "sys-ms-sub").await;
    for topic in topics {
        sub.subscribe(topic, v5::QoS::AtMostOnce).await;
    }
    let gap = |v: Vec<u64>| v[0].saturating_sub(v[1]);
    let before = gap(fresh(&mut sub, &topics).await);

    let mut publisher = v5::connect(&broker, "sys-ms-pub").await;
    for _ in 0..10 {
        // Nobody subscribes to it: the broker answers with a PUBACK and sends nothing else.
        publisher
            .publish_acked("sys/ms", v5::QoS::AtLeastOnce, false, b"x")
            .await;
    }
    let after = gap(fresh(&mut sub, &topics).await);
    assert!(
        after >= before + 11,
        "messages/sent minus publish/messages/sent went from {before} to {after} over a \
         CONNACK and 10 PUBACKs"
    );
}

// `$SYS/broker/store/messages/count` is, as Mosquitto documents it, "the number of messages
// currently held in the message store. This includes retained messages and messages queued for
// durable clients": at least the retained count plus two messages queued for an offline session.
#[tokio::test]
async fn sys_store_messages_count_includes_retained_and_queued() {
    let broker = fast_sys_broker().await;
    let mut options = v5::options(&broker, "sys-store-durable");
    options.set_session_expiry_interval(Some(60));
    let (mut durable, _) = v5::connect_with(options).await;
    durable.subscribe("sys/store", v5::QoS::AtLeastOnce).await;
    durable.client.disconnect().await.unwrap();
    let metrics = &broker.server().broker().metrics;
    wait_until("the durable client is offline", WAIT, || {
        get(&metrics.clients_connected) == 0
    })
    .await;

    let mut publisher = v5::connect(&broker, "sys-store-pub").await;
    publisher
        .publish_acked("sys/kept", v5::QoS::AtLeastOnce, true, b"r")
        .await;
    for _ in 0..2 {
        publisher
            .publish_acked("sys/store", v5::QoS::AtLeastOnce, false, b"q")
            .await;
    }
    let topics = [
        "$SYS/broker/retained messages/count",
        "$SYS/broker/store/messages/count",
    ];
    let mut sub = v5::connect(&broker, "sys-store-sub").await;
    for topic in topics {
        sub.subscribe(topic, v5::QoS::AtMostOnce).await;
    }
    let values = fresh(&mut sub, &topics).await;
    let (retained, stored) = (values[0], values[1]);
    assert!(retained >= 1, "retained messages/count {retained}");
    assert!(
        stored >= retained + 2,
        "store/messages/count {stored} < retained messages/count {retained} + 2 queued"
    );
}

#[tokio::test]
async fn sys_store_figures_show_commits_and_fsyncs() {
    let broker = fast_sys_broker().await;
    let mut options = v3::options(&broker, "sys-store-durable");
    options.set_clean_session(false);
    let (mut durable, _) = v3::connect_with(options).await;
    durable.subscribe("sys-store/#", v3::QoS::AtLeastOnce).await;
    let mut publisher = v3::connect(&broker, "sys-store-pub").await;
    for i in 0..5 {
        publisher
            .publish_acked(
                "sys-store/t",
                v3::QoS::AtLeastOnce,
                false,
                format!("m{i}").as_bytes(),
            )
            .await;
    }
    let mut sub = sys_subscriber(&broker, "sys-store-watch").await;
    let commits = next_live(&mut sub, "$SYS/broker/store/commits").await;
    let fsyncs = next_live(&mut sub, "$SYS/broker/store/fsyncs").await;
    // Session record, subscription, and the five deliveries were committed with fsync
    // (immediate durability); group commit may fold some of them together.
    assert!(commits >= 2, "commits {commits}");
    assert!(
        fsyncs >= 2 && fsyncs <= commits,
        "fsyncs {fsyncs} commits {commits}"
    );
    // A disk with room: nothing refused (tests/durability/full_disk.rs fills one).
    assert_eq!(next_live(&mut sub, "$SYS/broker/store/errors").await, 0);
    assert_eq!(next_live(&mut sub, "$SYS/broker/store/full").await, 0);
}
