//! v5 PUBLISH properties at the byte level: topic aliases that end with their connection, the
//! Response Topic's rules, the Subscription Identifiers of separate copies, and the order of a
//! will's User Properties.

use std::net::SocketAddr;

use super::common::start;
use super::wire::*;

const V5: Level = Level::V5;

fn persistent(id: &str) -> Connect {
    let mut c = Connect::v5(id);
    c.clean_start = false;
    c.props = Props::new().u32(prop::SESSION_EXPIRY_INTERVAL, 600);
    c
}

// v5 [MQTT-3.3.2-7]: Topic Alias mappings belong to the connection: one set before a reconnect
// is unknown after it, even though the session is resumed.
#[tokio::test]
async fn topic_aliases_do_not_outlive_their_connection_v5() {
    let broker = start().await;
    let (mut raw, _) = Raw::connected(broker.addr, &persistent("aliaser")).await;
    let mut set = Publish::new(V5, "alias/t", b"sets alias 1").qos(1, 1);
    set.props = Props::new().u16(prop::TOPIC_ALIAS, 1);
    raw.send(&set.bytes()).await;
    raw.expect(kind::PUBACK).await;
    let mut used = Publish::new(V5, "", b"uses alias 1").qos(1, 2);
    used.props = Props::new().u16(prop::TOPIC_ALIAS, 1);
    // Within the connection the alias stands for the topic.
    raw.send(&used.bytes()).await;
    raw.expect(kind::PUBACK).await;
    raw.send(&disconnect(Some(0))).await;
    raw.expect_close().await;

    let (mut raw, connack) = Raw::connected(broker.addr, &persistent("aliaser")).await;
    assert_eq!(connack.flags, 1, "the session is resumed");
    used.packet_id = 3;
    raw.send(&used.bytes()).await;
    let seen = raw.expect_close().await;
    let reasons: Vec<Option<u8>> = seen.iter().map(|p| disconnect_reason(p)).collect();
    assert_eq!(
        reasons,
        [Some(0x82)],
        "an alias never set on this connection: {seen:02x?}"
    );
}

/// Sends a QoS 0 PUBLISH with `props` and returns the reason of the DISCONNECT that answers it.
async fn refused_props(addr: SocketAddr, id: &str, props: Props) -> Option<u8> {
    let (mut raw, _) = Raw::connected(addr, &Connect::v5(id)).await;
    let mut p = Publish::new(V5, "rt/t", b"x");
    p.props = props;
    raw.send(&p.bytes()).await;
    let seen = raw.expect_close().await;
    assert_eq!(seen.len(), 1, "{id}: {seen:02x?}");
    disconnect_reason(&seen[0])
}

// v5 [MQTT-3.3.2-13]: the Response Topic is a UTF-8 Encoded String, [MQTT-3.3.2-14] without
// wildcards: a PUBLISH breaking either closes the connection; a valid one is passed on as sent.
#[tokio::test]
async fn response_topic_is_a_utf8_topic_name_v5() {
    let broker = start().await;
    let not_utf8 = Props::new().string(prop::RESPONSE_TOPIC, &[b'r', 0xC3, 0x28]);
    assert_eq!(refused_props(broker.addr, "rt-utf8", not_utf8).await, Some(0x81));
    for wildcard in [&b"resp/+"[..], b"resp/#", b"#"] {
        let props = Props::new().string(prop::RESPONSE_TOPIC, wildcard);
        let reason = refused_props(broker.addr, "rt-wild", props).await;
        assert!(matches!(reason, Some(0x81 | 0x82)), "{wildcard:?}: {reason:02x?}");
    }

    let (mut s, _) = Raw::connected(broker.addr, &Connect::v5("rt-sub")).await;
    s.send(&subscribe(V5, 1, &[("rt/t", 0)])).await;
    s.expect(kind::SUBACK).await;
    let (mut p, _) = Raw::connected(broker.addr, &Connect::v5("rt-pub")).await;
    let mut publish = Publish::new(V5, "rt/t", b"ask");
    publish.props = Props::new().string(prop::RESPONSE_TOPIC, b"resp/rt-pub");
    p.send(&publish.bytes()).await;
    let got = s.publish(V5).await;
    assert_eq!(got.all(prop::RESPONSE_TOPIC), [&string(b"resp/rt-pub")[..]]);
}

// v5 [MQTT-3.3.4-5]: when one client gets several copies of a message (here one for its shared
// and one for its plain subscription), each carries the Subscription Identifier of the
// subscription it is for, and only that one.
#[tokio::test]
async fn each_copy_carries_its_own_subscription_identifier_v5() {
    let broker = start().await;
    let (mut s, _) = Raw::connected(broker.addr, &Connect::v5("copies")).await;
    for (packet_id, id, filter) in [(1u16, 1usize, "$share/g/copy/t"), (2, 2, "copy/t")] {
        let mut body = packet_id.to_be_bytes().to_vec();
        body.extend(Props::new().var_int(prop::SUBSCRIPTION_IDENTIFIER, id).encode());
        body.extend(string(filter.as_bytes()));
        body.push(0);
        s.send(&packet(kind::SUBSCRIBE, &body)).await;
        s.expect(kind::SUBACK).await;
    }
    let (mut p, _) = Raw::connected(broker.addr, &Connect::v5("copier")).await;
    p.send(&Publish::new(V5, "copy/t", b"m").bytes()).await;
    p.ping().await;
    let mut ids: Vec<Vec<Vec<u8>>> = Vec::new();
    for packet in s.before_pong().await {
        let copy = Incoming::parse(&packet, true).expect("a PUBLISH");
        ids.push(
            copy.all(prop::SUBSCRIPTION_IDENTIFIER)
                .iter()
                .map(|v| v.to_vec())
                .collect(),
        );
    }
    ids.sort();
    assert_eq!(
        ids,
        [vec![vec![1]], vec![vec![2]]],
        "two copies, one identifier each"
    );
}

// v5 [MQTT-3.1.3-10]: the will's User Properties are published in the order they were sent,
// repeated names included.
#[tokio::test]
async fn will_user_properties_keep_their_order_v5() {
    let broker = start().await;
    let (mut s, _) = Raw::connected(broker.addr, &Connect::v5("will-watch")).await;
    s.send(&subscribe(V5, 1, &[("wills/ordered", 0)])).await;
    s.expect(kind::SUBACK).await;
    let pairs: [(&[u8], &[u8]); 4] = [(b"b", b"1"), (b"a", b"2"), (b"b", b"3"), (b"a", b"0")];
    let mut will = Will::new(b"wills/ordered", b"gone");
    will.props = pairs.iter().fold(Props::new(), |props, (k, v)| props.user(k, v));
    let mut c = Connect::v5("ordered");
    c.will = Some(will);
    let (dying, _) = Raw::connected(broker.addr, &c).await;
    drop(dying);
    let got = s.publish(V5).await;
    let want: Vec<Vec<u8>> = pairs
        .iter()
        .map(|(k, v)| [string(k), string(v)].concat())
        .collect();
    let got: Vec<Vec<u8>> = got.all(prop::USER_PROPERTY).iter().map(|v| v.to_vec()).collect();
    assert_eq!(got, want);
}
