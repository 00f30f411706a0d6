//! Topic filters: `+` and `#` matching, `$`-topics and wildcards, invalid filters, and clients
//! publishing into `$SYS`.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::task::JoinSet;

use super::common::*;
use super::versions::both_versions;

const TOPICS: [&str; 9] = [
    "sport",
    "sport/",
    "sport/tennis",
    "sport/tennis/player1",
    "sport/tennis/player1/ranking",
    "sport/badminton/player1",
    "/finance",
    "finance",
    "sports/x",
];

/// (filter, the topics of [`TOPICS`] it matches), after the examples of MQTT §4.7.1.
const TABLE: [(&str, &[&str]); 9] = [
    // [MQTT-4.7.1-2] "sport/#" also matches the parent level "sport".
    (
        "sport/#",
        &[
            "sport",
            "sport/",
            "sport/tennis",
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
            "sport/badminton/player1",
        ],
    ),
    (
        "sport/tennis/#",
        &[
            "sport/tennis",
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
        ],
    ),
    // [MQTT-4.7.1-3] "+" matches exactly one level, which may be empty.
    ("sport/+", &["sport/", "sport/tennis"]),
    (
        "sport/+/player1",
        &["sport/tennis/player1", "sport/badminton/player1"],
    ),
    ("+", &["sport", "finance"]),
    ("+/+", &["sport/", "sport/tennis", "/finance", "sports/x"]),
    ("/+", &["/finance"]),
    (
        "+/tennis/#",
        &[
            "sport/tennis",
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
        ],
    ),
    ("#", &TOPICS),
];

fn expected(topics: &[&str]) -> BTreeSet<String> {
    topics.iter().map(|t| t.to_string()).collect()
}

// [MQTT-4.7.1-2]/[MQTT-4.7.1-3]: "#" matches the parent and any number of levels, "+" exactly
// one level.
// The topic name delivered matches the subscription's filter [MQTT-3.3.2-3].
#[tokio::test]
async fn wildcards_plus_and_hash_match_v311() {
    let broker = start().await;
    let mut subs = Vec::new();
    for (i, (filter, _)) in TABLE.iter().enumerate() {
        let mut c = v3::connect(&broker, &format!("match-sub{i}")).await;
        c.subscribe(filter, v3::QoS::AtLeastOnce).await;
        subs.push(c);
    }
    let mut publisher = v3::connect(&broker, "match-pub").await;
    for topic in TOPICS {
        publisher
            .publish_acked(topic, v3::QoS::AtLeastOnce, false, topic.as_bytes())
            .await;
    }
    let mut tasks = JoinSet::new();
    for (i, mut c) in subs.into_iter().enumerate() {
        tasks.spawn(async move { (i, c.publishes_until_quiet().await) });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, got) = done.unwrap();
        let (filter, matches) = TABLE[i];
        let topics: Vec<String> = got.iter().map(|p| p.topic.clone()).collect();
        let unique: BTreeSet<String> = topics.iter().cloned().collect();
        assert_eq!(topics.len(), unique.len(), "{filter}: duplicates {topics:?}");
        assert_eq!(unique, expected(matches), "filter {filter}");
    }
}

// v5 numbers the wildcard rules [MQTT-4.7.1-1] ("#") and [MQTT-4.7.1-2] ("+"); [MQTT-3.3.2-3].
#[tokio::test]
async fn wildcards_plus_and_hash_match_v5() {
    let broker = start().await;
    let mut subs = Vec::new();
    for (i, (filter, _)) in TABLE.iter().enumerate() {
        let mut c = v5::connect(&broker, &format!("match5-sub{i}")).await;
        c.subscribe(filter, v5::QoS::AtLeastOnce).await;
        subs.push(c);
    }
    let mut publisher = v5::connect(&broker, "match5-pub").await;
    for topic in TOPICS {
        publisher
            .publish_acked(topic, v5::QoS::AtLeastOnce, false, topic.as_bytes())
            .await;
    }
    let mut tasks = JoinSet::new();
    for (i, mut c) in subs.into_iter().enumerate() {
        tasks.spawn(async move { (i, c.publishes_until_quiet().await) });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, got) = done.unwrap();
        let (filter, matches) = TABLE[i];
        let topics: Vec<String> = got
            .iter()
            .map(|p| String::from_utf8(p.topic.to_vec()).unwrap())
            .collect();
        let unique: BTreeSet<String> = topics.iter().cloned().collect();
        assert_eq!(topics.len(), unique.len(), "{filter}: duplicates {topics:?}");
        assert_eq!(unique, expected(matches), "filter {filter}");
    }
}

// [MQTT-4.7.2-1]: filters starting with a wildcard do not match topics starting with "$";
// "$SYS/#" does.
#[tokio::test]
async fn leading_wildcard_does_not_match_sys_topics() {
    let broker = start_with(|s| s.server.sys_interval = Duration::from_secs(1)).await;
    let mut hash = v3::connect(&broker, "sys-hash").await;
    hash.subscribe("#", v3::QoS::AtMostOnce).await;
    let mut plus = v3::connect(&broker, "sys-plus").await;
    plus.subscribe("+/broker/#", v3::QoS::AtMostOnce).await;
    let mut sys = v3::connect(&broker, "sys-sys").await;
    sys.subscribe("$SYS/#", v3::QoS::AtMostOnce).await;
    // Wait for a periodic (live, RETAIN=0) $SYS publish: one happened after the subscriptions.
    let p = sys
        .next(|p| match p {
            v3::Packet::Publish(p) if !p.retain => Some(p),
            _ => None,
        })
        .await;
    assert!(p.topic.starts_with("$SYS/broker/"), "{}", p.topic);
    hash.no_publish().await;
    plus.no_publish().await;
}

/// Subscribes `filter` on a raw client and checks the broker refuses it: a failure SUBACK (then
/// the naive match `probe` is not delivered) or a closed connection.
async fn invalid_filter_refused(level: u8, filter: &str, probe: Option<&str>) {
    let broker = start().await;
    let mut raw = raw_connected(&broker, level, &format!("badfilter{level}")).await;
    raw.send(&subscribe_packet(level, 1, filter, 1)).await;
    // This broker: 3.1.1 closes the connection, v5 sends DISCONNECT 0x8F; a failure SUBACK is
    // accepted too.
    match raw.packet_within(WAIT).await {
        None => panic!("no answer to SUBSCRIBE {filter:?}"),
        Some(None) => {} // closed: refused
        Some(Some(packet)) if packet[0] == 0xE0 => {
            assert!(level == 5, "DISCONNECT sent to a 3.1.1 client");
            assert!(packet.get(2).is_some_and(|r| *r >= 0x80), "{packet:?}");
            raw.expect_close().await;
        }
        Some(Some(suback)) => {
            assert_eq!(suback[0], 0x90, "SUBACK expected: {suback:?}");
            let code = *suback.last().unwrap();
            assert!(code >= 0x80, "filter {filter:?} granted: {suback:?}");
            if level == 5 {
                assert_eq!(code, 0x8F, "v5 Topic Filter invalid expected: {suback:?}");
            }
            if let Some(topic) = probe {
                let mut publisher = v3::connect(&broker, &format!("badfilter{level}-pub")).await;
                publisher
                    .publish_acked(topic, v3::QoS::AtLeastOnce, false, b"probe")
                    .await;
                let next = raw.packet_within(QUIET).await;
                assert!(
                    !matches!(&next, Some(Some(p)) if p[0] >> 4 == 3),
                    "refused filter {filter:?} got a PUBLISH: {next:?}"
                );
            }
        }
    }
}

// [MQTT-4.7.1-2]: "#" must be the last character of a filter.
// v5 [MQTT-4.7.1-1].
both_versions! {
    #[tokio::test]
    async fn invalid_filter_hash_not_last_refused_v311,
        invalid_filter_hash_not_last_refused_v5(level = 4, 5) {
        invalid_filter_refused(level, "a/#/b", Some("a/x/b")).await;
    }
}

// [MQTT-4.7.1-3]: "+" must occupy an entire level.
// v5 [MQTT-4.7.1-2].
both_versions! {
    #[tokio::test]
    async fn invalid_filter_plus_inside_level_refused_v311,
        invalid_filter_plus_inside_level_refused_v5(level = 4, 5) {
        invalid_filter_refused(level, "a+", None).await;
    }
}

// MQTT §4.7.2: the $SYS tree belongs to the server; a client's PUBLISH to `$SYS/...` is neither
// forwarded to `$SYS/#` subscribers nor retained.
#[tokio::test]
async fn client_cannot_publish_to_sys() {
    let broker = start().await;
    let mut sys = v3::connect(&broker, "sysw-sub").await;
    sys.subscribe("$SYS/#", v3::QoS::AtLeastOnce).await;
    sys.subscribe("sysw/marker", v3::QoS::AtLeastOnce).await;
    let mut publisher = v3::connect(&broker, "sysw-pub").await;
    publisher
        .publish_acked("$SYS/broker/fake", v3::QoS::AtLeastOnce, true, b"fake")
        .await;
    publisher
        .publish_acked("sysw/marker", v3::QoS::AtLeastOnce, false, b"marker")
        .await;
    // Everything before the marker (same publisher, same session queue) has been delivered.
    loop {
        let p = sys.publish().await;
        if p.topic == "sysw/marker" {
            break;
        }
        assert_ne!(p.topic, "$SYS/broker/fake", "client PUBLISH into $SYS delivered");
        assert_ne!(&p.payload[..], b"fake");
    }
    let mut later = v3::connect(&broker, "sysw-later").await;
    later.subscribe("$SYS/broker/fake", v3::QoS::AtLeastOnce).await;
    later.no_publish().await;
}
