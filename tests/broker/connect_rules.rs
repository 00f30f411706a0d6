//! CONNECT at the byte level: the will flags and fields, the user name and password flags with
//! their fields missing, the payload's order, empty client identifiers, what a will's flags do
//! when it is published, and that nothing sent behind a refused CONNECT is processed; in 3.1,
//! 3.1.1 and 5.0.

use std::net::SocketAddr;

use super::common::{start, start_with, TestBroker};
use super::versions::both_versions;
use super::wire::*;

/// `connect` as bytes with `set` ORed into its Connect Flags, to set a flag without its field.
fn with_flags(connect: &Connect, set: u8) -> Vec<u8> {
    let bytes = connect.bytes();
    let (header, body) = split(&bytes).expect("a whole packet");
    let mut body = body.to_vec();
    let name_len = u16::from_be_bytes([body[0], body[1]]) as usize;
    body[3 + name_len] |= set;
    packet(header, &body)
}

/// Sends `bytes` as the first packet and asserts the connection is closed without being
/// served: v5 with one CONNACK 0x81 (malformed) first, 3.1.1 and 3.1 with nothing.
async fn malformed_connect(addr: SocketAddr, level: Level, name: &str, bytes: &[u8]) {
    let mut raw = Raw::connect(addr).await;
    raw.send(bytes).await;
    let seen = raw.expect_close().await;
    if level.v5() {
        let codes: Vec<Option<u8>> = seen
            .iter()
            .map(|p| Connack::parse(p, true).map(|c| c.code))
            .collect();
        assert_eq!(codes, [Some(0x81)], "{name}: {seen:02x?}");
    } else {
        assert!(seen.is_empty(), "{name}: the broker answered {seen:02x?}");
    }
}

async fn flags_without_their_fields(level: Level) {
    let broker = start().await;
    let base = |id: &str| Connect::new(level, id.as_bytes());
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        // 3.1.1 [MQTT-3.1.2-11], [MQTT-3.1.2-13], v5 [MQTT-3.1.2-11]: Will Flag 0, Will QoS 0
        ("will QoS 1 without the will flag", with_flags(&base("wq1"), 0x08)),
        ("will QoS 2 without the will flag", with_flags(&base("wq2"), 0x10)),
        // 3.1.1 [MQTT-3.1.2-14], v5 [MQTT-3.1.2-12]: Will QoS 3 is malformed
        ("will QoS 3", {
            let mut c = base("wq3");
            c.will = Some(Will::new(b"will/q3", b"bye"));
            with_flags(&c, 0x18)
        }),
        // 3.1.1 and v5 [MQTT-3.1.2-9]: Will Flag 1, the will fields are present
        ("will flag without the will fields", {
            let mut c = base("wf");
            c.will_flag = Some(true);
            c.bytes()
        }),
        // 3.1.1 [MQTT-3.1.2-19], v5 [MQTT-3.1.2-17]: User Name Flag 1, a user name is present
        ("user name flag without the user name", {
            let mut c = base("uf");
            c.username_flag = Some(true);
            c.bytes()
        }),
        // 3.1.1 [MQTT-3.1.2-21], v5 [MQTT-3.1.2-19]: Password Flag 1, a password is present
        ("password flag without the password", {
            let mut c = base("pf");
            c.username = Some(b"someone".to_vec());
            c.password_flag = Some(true);
            c.bytes()
        }),
    ];
    if level.v5() {
        // v5 [MQTT-3.1.2-13]: Will Flag 0, Will Retain 0
        cases.push(("will retain without the will flag", with_flags(&base("wr"), 0x20)));
    } else {
        // 3.1.1 [MQTT-3.1.2-11]: Will Flag 0, no will fields either
        cases.push(("will fields without the will flag", {
            let mut c = base("wnf");
            c.will = Some(Will::new(b"will/t", b"bye"));
            c.will_flag = Some(false);
            c.bytes()
        }));
    }
    for (name, bytes) in cases {
        malformed_connect(broker.addr, level, name, &bytes).await;
    }
}

both_versions! {
    #[tokio::test]
    async fn connect_flags_without_their_fields_are_malformed_v311,
        connect_flags_without_their_fields_are_malformed_v5(level = Level::V311, Level::V5) {
        flags_without_their_fields(level).await;
    }
}

#[tokio::test]
async fn connect_flags_without_their_fields_are_malformed_v31() {
    flags_without_their_fields(Level::V31).await;
}

/// Payload of the retained message a new subscriber to `topic` gets, if any.
async fn retained_for(addr: SocketAddr, level: Level, client_id: &str, topic: &str) -> Option<Vec<u8>> {
    let (mut raw, _) = Raw::connected(addr, &Connect::new(level, client_id.as_bytes())).await;
    raw.send(&subscribe(level, 1, &[(topic, 0)])).await;
    raw.expect(kind::SUBACK).await;
    let seen = raw.before_pong().await;
    assert!(seen.len() <= 1, "one retained message at most: {seen:02x?}");
    seen.first().map(|p| {
        let publish = Incoming::parse(p, level.v5()).expect("a PUBLISH");
        assert!(publish.retain, "a retained message is sent with RETAIN 1");
        publish.payload
    })
}

/// Connects a client with `will`, drops its socket without DISCONNECT, and returns the will
/// as `watcher` (subscribed to it) receives it.
async fn will_of_a_dropped_client(
    addr: SocketAddr,
    level: Level,
    id: &str,
    will: Will,
    watcher: &mut Raw,
) -> Incoming {
    let mut c = Connect::new(level, id.as_bytes());
    c.will = Some(will);
    let (dying, _) = Raw::connected(addr, &c).await;
    drop(dying);
    watcher.publish(level).await
}

async fn will_retain_flag(level: Level) {
    let broker = start().await;
    let (mut watcher, _) = Raw::connected(broker.addr, &Connect::new(level, b"watcher")).await;
    // v5: Retain As Published, so the watcher sees the flag the will was published with.
    let options = if level.v5() { 0x08 } else { 0 };
    watcher.send(&subscribe(level, 1, &[("wills/+", options)])).await;
    watcher.expect(kind::SUBACK).await;

    let plain = will_of_a_dropped_client(
        broker.addr,
        level,
        "plain",
        Will::new(b"wills/plain", b"gone"),
        &mut watcher,
    )
    .await;
    assert_eq!(plain.payload, b"gone");
    let mut retained = Will::new(b"wills/kept", b"gone for good");
    retained.retain = true;
    let kept = will_of_a_dropped_client(broker.addr, level, "kept", retained, &mut watcher).await;
    assert_eq!(kept.payload, b"gone for good");
    if level.v5() {
        // v5 [MQTT-3.1.2-14]: Will Retain 0 publishes with RETAIN 0; [MQTT-3.1.2-15]: 1 with 1
        assert!(!plain.retain && kept.retain, "{plain:?} {kept:?}");
    }
    // 3.1.1 [MQTT-3.1.2-16], v5 [MQTT-3.1.2-14]: the will published non-retained stores nothing
    assert_eq!(
        retained_for(broker.addr, level, "late-plain", "wills/plain").await,
        None
    );
    // 3.1.1 [MQTT-3.1.2-17], v5 [MQTT-3.1.2-15]: Will Retain 1 leaves it retained
    assert_eq!(
        retained_for(broker.addr, level, "late-kept", "wills/kept")
            .await
            .as_deref(),
        Some(&b"gone for good"[..])
    );
}

both_versions! {
    #[tokio::test]
    async fn will_retain_decides_whether_the_will_is_retained_v311,
        will_retain_decides_whether_the_will_is_retained_v5(level = Level::V311, Level::V5) {
        will_retain_flag(level).await;
    }
}

/// Connects `id` (with a will on `wills/<id>` if `will`), drops its socket, connects `id` again
/// (which waits for the old connection to be done with) and publishes a marker: returns the
/// payloads `watcher` got up to the marker.
async fn drop_and_mark(
    broker: &TestBroker,
    level: Level,
    id: &str,
    will: bool,
    watcher: &mut Raw,
) -> Vec<Vec<u8>> {
    let mut c = Connect::new(level, id.as_bytes());
    if will {
        c.will = Some(Will::new(format!("wills/{id}").as_bytes(), b"will"));
    }
    let (first, _) = Raw::connected(broker.addr, &c).await;
    drop(first);
    let (mut again, _) = Raw::connected(broker.addr, &Connect::new(level, id.as_bytes())).await;
    again
        .send(&Publish::new(level, &format!("wills/{id}"), b"marker").bytes())
        .await;
    again.ping().await;
    let mut got = Vec::new();
    loop {
        let p = watcher.publish(level).await.payload;
        let done = p == b"marker";
        got.push(p);
        if done {
            return got;
        }
    }
}

async fn no_will_without_the_flag(level: Level) {
    let broker = start().await;
    let (mut watcher, _) = Raw::connected(broker.addr, &Connect::new(level, b"watcher")).await;
    watcher.send(&subscribe(level, 1, &[("wills/+", 0)])).await;
    watcher.expect(kind::SUBACK).await;
    // With a will, the same steps show it before the marker: the check below can see one.
    assert_eq!(
        drop_and_mark(&broker, level, "with", true, &mut watcher).await,
        [&b"will"[..], b"marker"]
    );
    // 3.1.1 [MQTT-3.1.2-12]: Will Flag 0, nothing is published when the connection ends
    assert_eq!(
        drop_and_mark(&broker, level, "without", false, &mut watcher).await,
        [&b"marker"[..]]
    );
}

both_versions! {
    #[tokio::test]
    async fn no_will_is_published_without_the_will_flag_v311,
        no_will_is_published_without_the_will_flag_v5(level = Level::V311, Level::V5) {
        no_will_without_the_flag(level).await;
    }
}

/// A broker whose password file knows alice, password "a-pass".
async fn with_passwords() -> (TestBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("passwd");
    let hash = robustmq::auth::password::hash_password_with(b"a-pass", 64, 1).expect("hash");
    std::fs::write(&path, format!("alice:{hash}\n")).expect("write passwd");
    let broker = start_with(|s| s.auth.password_file = Some(path)).await;
    (broker, dir)
}

async fn payload_order(level: Level) {
    let (broker, _dir) = with_passwords().await;
    let (mut watcher, _) = Raw::connected(broker.addr, &Connect::new(level, b"watcher")).await;
    watcher.send(&subscribe(level, 1, &[("order/will", 0)])).await;
    watcher.expect(kind::SUBACK).await;

    let full = |password: &[u8]| {
        let mut c = Connect::new(level, b"order-1");
        c.clean_start = false;
        if level.v5() {
            c.props = Props::new().u32(prop::SESSION_EXPIRY_INTERVAL, 600);
        }
        c.will = Some(Will::new(b"order/will", b"order gone"));
        c.username = Some(b"alice".to_vec());
        c.password = Some(password.to_vec());
        c
    };
    // The password is read from its place: a wrong one is refused (v5 0x86, 3.1.1 0x04).
    let mut raw = Raw::connect(broker.addr).await;
    raw.send(&full(b"wrong").bytes()).await;
    let seen = raw.expect_close().await;
    let refused = seen.first().and_then(|p| Connack::parse(p, level.v5()));
    assert_eq!(
        refused.map(|c| c.code),
        Some(if level.v5() { 0x86 } else { 0x04 })
    );

    // 3.1.1 and v5 [MQTT-3.1.3-1]: Client Identifier, Will (v5: properties), Will Topic,
    // Will Message, User Name, Password, in that order, and each is read as what it is.
    let (first, connack) = Raw::connected(broker.addr, &full(b"a-pass")).await;
    assert_eq!(connack.flags, 0, "a new session");
    // v5: the identifier was read, none is assigned.
    assert_eq!(connack.prop(prop::ASSIGNED_CLIENT_IDENTIFIER), None);
    drop(first);
    let will = watcher.publish(level).await;
    assert_eq!(
        (&will.topic[..], &will.payload[..]),
        (&b"order/will"[..], &b"order gone"[..])
    );
    // 3.1.1 and v5 [MQTT-3.1.3-3]: the first field is the Client Identifier: the session it
    // named is found again under it.
    let (_again, connack) = Raw::connected(broker.addr, &full(b"a-pass")).await;
    assert_eq!(connack.flags, 1, "the session of order-1 is present");
}

both_versions! {
    #[tokio::test]
    async fn connect_payload_is_read_in_its_order_v311,
        connect_payload_is_read_in_its_order_v5(level = Level::V311, Level::V5) {
        payload_order(level).await;
    }
}

// 3.1.1 [MQTT-3.1.3-6]: a zero-byte Client Identifier gets a unique one: two such clients are
// two sessions, neither takes the other over.
#[tokio::test]
async fn empty_client_ids_get_distinct_identifiers_v311() {
    let broker = start().await;
    let (mut first, connack) = Raw::connected(broker.addr, &Connect::v311("")).await;
    assert_eq!(connack.flags, 0);
    first.send(&subscribe(Level::V311, 1, &[("anon/t", 1)])).await;
    first.expect(kind::SUBACK).await;
    let (mut second, _) = Raw::connected(broker.addr, &Connect::v311("")).await;
    second
        .send(
            &Publish::new(Level::V311, "anon/t", b"to the first")
                .qos(1, 5)
                .bytes(),
        )
        .await;
    second.expect(kind::PUBACK).await;
    let got = first.publish(Level::V311).await;
    assert_eq!(got.payload, b"to the first");
    first.ping().await;
}

// v5 [MQTT-3.1.3-5]: 1 to 23 bytes of [0-9a-zA-Z] are allowed, the longest included.
#[tokio::test]
async fn client_ids_of_23_alphanumerics_are_allowed_v5() {
    let broker = start().await;
    for id in ["0", "z", "0123456789abcdefghijXYZ"] {
        let (_raw, connack) = Raw::connected(broker.addr, &Connect::v5(id)).await;
        assert_eq!(connack.prop(prop::ASSIGNED_CLIENT_IDENTIFIER), None, "{id}");
    }
}

/// Sends `refused` and, in the same write, a retained PUBLISH and a SUBSCRIBE: only the
/// refusing CONNACK comes back, and the PUBLISH was not processed.
async fn nothing_after_a_refusal(broker: &TestBroker, level: Level, refused: Connect, code: u8) {
    let mut bytes = refused.bytes();
    let mut retained = Publish::new(level, "after/refusal", b"must not be stored");
    retained.retain = true;
    bytes.extend(retained.bytes());
    bytes.extend(subscribe(level, 1, &[("after/#", 0)]));
    let mut raw = Raw::connect(broker.addr).await;
    raw.send(&bytes).await;
    let seen = raw.expect_close().await;
    let codes: Vec<Option<u8>> = seen
        .iter()
        .map(|p| Connack::parse(p, level.v5()).map(|c| c.code))
        .collect();
    assert_eq!(codes, [Some(code)], "{seen:02x?}");
    assert_eq!(
        retained_for(broker.addr, level, "checker", "after/refusal").await,
        None
    );
}

// 3.1.1 [MQTT-3.1.4-5]: after refusing a CONNECT (here 0x02 for an empty client identifier
// with CleanSession 0, [MQTT-3.1.3-8]) nothing the client sent after it is processed.
#[tokio::test]
async fn nothing_sent_after_a_refused_connect_is_processed_v311() {
    let broker = start().await;
    let mut c = Connect::v311("");
    c.clean_start = false;
    nothing_after_a_refusal(&broker, Level::V311, c, 0x02).await;
}

// v5 [MQTT-3.1.4-6]: the same (here 0x8C for an authentication method the broker has not).
#[tokio::test]
async fn nothing_sent_after_a_refused_connect_is_processed_v5() {
    let broker = start().await;
    let mut c = Connect::v5("refused");
    c.props = Props::new().string(prop::AUTHENTICATION_METHOD, b"SCRAM-SHA-1");
    nothing_after_a_refusal(&broker, Level::V5, c, 0x8C).await;
}
