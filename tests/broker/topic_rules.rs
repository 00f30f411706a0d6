//! Topic names and filters at the byte level, in 3.1.1 and 5.0: matched byte for byte with no
//! normalization, a leading U+FEFF kept, UNSUBSCRIBE filters that are not UTF-8, and retained
//! messages that outlive the sessions that published them.

use super::common::start;
use super::versions::both_versions;
use super::wire::*;

/// Topics and payloads `raw` receives until (and without) the payload `last`.
async fn received_until(raw: &mut Raw, level: Level, last: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut got = Vec::new();
    loop {
        let p = raw.publish(level).await;
        if p.payload == last {
            return got;
        }
        got.push((p.topic, p.payload));
    }
}

async fn matching_is_byte_for_byte(level: Level) {
    let broker = start().await;
    let (mut s, _) = Raw::connected(broker.addr, &Connect::new(level, b"matcher")).await;
    // "café" precomposed (U+00E9), "Room" capitalised, and U+FEFF in front of "bom".
    let filters = ["caf\u{e9}/x", "Room/+", "\u{feff}bom", "end"];
    s.send(&subscribe(level, 1, &filters.map(|f| (f, 0)))).await;
    s.expect(kind::SUBACK).await;
    let (mut p, _) = Raw::connected(broker.addr, &Connect::new(level, b"namer")).await;
    for (topic, payload) in [
        // "café" decomposed (e + U+0301): the same text once normalized, other bytes
        ("cafe\u{301}/x", "decomposed"),
        ("caf\u{e9}/x", "precomposed"),
        ("room/a", "lower case"),
        ("Room/a", "capitalised"),
        ("bom", "without U+FEFF"),
        ("\u{feff}bom", "with U+FEFF"),
        ("end", "end"),
    ] {
        p.send(&Publish::new(level, topic, payload.as_bytes()).bytes())
            .await;
    }
    let got = received_until(&mut s, level, b"end").await;
    let got: Vec<(String, String)> = got
        .into_iter()
        .map(|(t, p)| (String::from_utf8(t).unwrap(), String::from_utf8(p).unwrap()))
        .collect();
    // 3.1.1 and v5 [MQTT-4.7.3-4]: no normalization or substitution, so only the exact bytes
    // match; 3.1.1 [MQTT-1.5.3-3], v5 [MQTT-1.5.4-3]: U+FEFF is neither skipped nor stripped,
    // in the filter, the topic name or the topic name sent on.
    let want = [
        ("caf\u{e9}/x", "precomposed"),
        ("Room/a", "capitalised"),
        ("\u{feff}bom", "with U+FEFF"),
    ]
    .map(|(t, p)| (t.to_string(), p.to_string()));
    assert_eq!(got, want);
}

both_versions! {
    #[tokio::test]
    async fn topics_match_byte_for_byte_without_normalization_v311,
        topics_match_byte_for_byte_without_normalization_v5(level = Level::V311, Level::V5) {
        matching_is_byte_for_byte(level).await;
    }
}

async fn unsubscribe_not_utf8(level: Level) {
    let broker = start().await;
    let (mut raw, _) = Raw::connected(broker.addr, &Connect::new(level, b"bad-unsub")).await;
    // 3.1.1 and v5 [MQTT-3.10.3-1]: the filters are UTF-8 Encoded Strings; C3 28 is not UTF-8.
    let mut body = 1u16.to_be_bytes().to_vec();
    if level.v5() {
        body.push(0);
    }
    body.extend(string(&[b'a', 0xC3, 0x28]));
    raw.send(&packet(kind::UNSUBSCRIBE, &body)).await;
    let seen = raw.expect_close().await;
    if level.v5() {
        let reasons: Vec<Option<u8>> = seen.iter().map(|p| disconnect_reason(p)).collect();
        assert_eq!(reasons, [Some(0x81)], "{seen:02x?}");
    } else {
        assert!(seen.is_empty(), "the broker answered {seen:02x?}");
    }
}

both_versions! {
    #[tokio::test]
    async fn unsubscribe_filter_not_utf8_closes_the_connection_v311,
        unsubscribe_filter_not_utf8_closes_the_connection_v5(level = Level::V311, Level::V5) {
        unsubscribe_not_utf8(level).await;
    }
}

// 3.1.1 [MQTT-3.1.2-7]: a retained message is not part of the session of the client that
// published it: it stays when that session ends, cleanly or by a CleanSession 1 reconnect.
#[tokio::test]
async fn retained_messages_outlive_the_publishers_session_v311() {
    let broker = start().await;
    let mut c = Connect::v311("retainer");
    c.clean_start = false;
    let (mut raw, _) = Raw::connected(broker.addr, &c).await;
    let mut retained = Publish::new(Level::V311, "kept/t", b"still here").qos(1, 1);
    retained.retain = true;
    raw.send(&retained.bytes()).await;
    raw.expect(kind::PUBACK).await;
    raw.send(&disconnect(None)).await;
    raw.expect_close().await;
    // The session is discarded by a clean reconnect, and that one ends too.
    let (mut raw, _) = Raw::connected(broker.addr, &Connect::v311("retainer")).await;
    raw.send(&disconnect(None)).await;
    raw.expect_close().await;

    let (mut late, _) = Raw::connected(broker.addr, &Connect::v311("late")).await;
    late.send(&subscribe(Level::V311, 1, &[("kept/t", 0)])).await;
    late.expect(kind::SUBACK).await;
    let got = late.publish(Level::V311).await;
    assert!(got.retain);
    assert_eq!(got.payload, b"still here");
}
