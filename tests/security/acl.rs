//! The ACL file: subscriptions, publications, deliveries, wills, patterns, deny rules and the
//! admin API, in both protocol versions.

use super::common::*;

const ALICE: Option<(&str, &str)> = Some(("alice", "a-pass"));
const BOB: Option<(&str, &str)> = Some(("bob", "b-pass"));
const ROOT: Option<(&str, &str)> = Some(("root", "r-pass"));

fn users() -> String {
    format!(
        "{}{}{}",
        user_line("alice", "a-pass"),
        user_line("bob", "b-pass"),
        user_line("root", "r-pass")
    )
}

async fn broker(acl: &str) -> TestBroker {
    start(Setup::default().passwd(users()).acl(acl)).await
}

#[tokio::test]
async fn subscribe_denied_gets_not_authorized() {
    let broker = broker("user alice\ntopic read public/#\n").await;
    // MQTT 5 SUBACK reason 0x87 Not authorized (3.9.3); MQTT 3.1.1 return code 0x80 Failure.
    let mut c5 = v5::connect_as(&broker, "a5", ALICE).await;
    assert_eq!(
        c5.subscribe("private/x", v5::QoS::AtLeastOnce).await,
        [v5::SubscribeReasonCode::NotAuthorized]
    );
    assert_eq!(
        c5.subscribe("public/x", v5::QoS::AtLeastOnce).await,
        [v5::SubscribeReasonCode::Success(v5::QoS::AtLeastOnce)]
    );
    let mut c3 = v3::connect_as(&broker, "a3", ALICE).await;
    assert_eq!(
        c3.subscribe("private/#", v3::QoS::AtMostOnce).await,
        [v3::SubscribeReasonCode::Failure]
    );
    assert_eq!(
        c3.subscribe("public/+", v3::QoS::AtMostOnce).await,
        [v3::SubscribeReasonCode::Success(v3::QoS::AtMostOnce)]
    );
    assert_eq!(broker.metric(|m| &m.subscribe_denied), 2);
}

// [MQTT-3.8.4-5] three filters handled as three, one SUBACK with a code per filter
// [MQTT-3.8.4-6], the granted QoS or a failure [MQTT-3.8.4-7], in their order [MQTT-3.9.3-1].
#[tokio::test]
async fn a_refused_filter_does_not_affect_the_others_in_the_packet() {
    let broker = broker("user alice\ntopic read ok/#\n").await;
    let mut c5 = v5::connect_as(&broker, "a5", ALICE).await;
    let filters =
        ["ok/1", "no/1", "ok/2"].map(|f| rumqttc::v5::mqttbytes::v5::Filter::new(f, v5::QoS::AtMostOnce));
    c5.client.subscribe_many(filters).await.unwrap();
    let codes = c5
        .next(|p| match p {
            v5::Packet::SubAck(s) => Some(s.return_codes),
            _ => None,
        })
        .await;
    assert_eq!(
        codes,
        [
            v5::SubscribeReasonCode::Success(v5::QoS::AtMostOnce),
            v5::SubscribeReasonCode::NotAuthorized,
            v5::SubscribeReasonCode::Success(v5::QoS::AtMostOnce),
        ]
    );
}

#[tokio::test]
async fn publish_denied_v5_gets_puback_not_authorized() {
    let broker = broker("user alice\ntopic write allowed\ntopic read #\nuser bob\ntopic read #\n").await;
    let mut bob = v5::connect_as(&broker, "bob", BOB).await;
    bob.subscribe("#", v5::QoS::AtLeastOnce).await;
    let mut alice = v5::connect_as(&broker, "alice", ALICE).await;
    // MQTT 5 PUBACK reason 0x87 Not authorized [MQTT-3.4.2-1]; nothing is routed.
    assert_eq!(
        alice.publish_qos1("forbidden", "x").await,
        v5::PubAckReason::NotAuthorized
    );
    bob.no_publish().await;
    assert_eq!(
        alice.publish_qos1("allowed", "y").await,
        v5::PubAckReason::Success
    );
    assert_eq!(bob.publish().await.payload, "y");
    assert_eq!(broker.metric(|m| &m.publish_denied), 1);
}

#[tokio::test]
async fn publish_denied_v3_is_acknowledged_but_not_delivered() {
    let broker = broker("user alice\ntopic write allowed\nuser bob\ntopic read #\n").await;
    let mut bob = v3::connect_as(&broker, "bob", BOB).await;
    bob.subscribe("#", v3::QoS::AtLeastOnce).await;
    let mut alice = v3::connect_as(&broker, "alice", ALICE).await;
    // [MQTT-3.3.5-2] a 3.1.1 server that does not authorize a PUBLISH acknowledges it normally
    // (or closes the connection); robustmq acknowledges and drops it.
    alice.publish_qos1("forbidden", "x").await;
    alice
        .client
        .publish("forbidden", v3::QoS::ExactlyOnce, false, "q2")
        .await
        .unwrap();
    alice
        .next(|p| matches!(p, v3::Packet::PubComp(_)).then_some(()))
        .await;
    bob.no_publish().await;
    alice.publish_qos1("allowed", "y").await;
    assert_eq!(bob.publish().await.payload, "y");
}

#[tokio::test]
async fn deliveries_are_filtered_by_read_access_on_the_concrete_topic() {
    let broker = broker("user alice\ntopic read public/#\nuser root\ntopic readwrite #\n").await;
    // Alice may subscribe to everything ('#' shares topics with public/#), but only what she
    // may read reaches her, message by message.
    let mut alice5 = v5::connect_as(&broker, "alice5", ALICE).await;
    assert_eq!(
        alice5.subscribe("#", v5::QoS::AtMostOnce).await,
        [v5::SubscribeReasonCode::Success(v5::QoS::AtMostOnce)]
    );
    let mut alice3 = v3::connect_as(&broker, "alice3", ALICE).await;
    alice3.subscribe("+/+", v3::QoS::AtMostOnce).await;
    let mut root = v5::connect_as(&broker, "root", ROOT).await;
    root.publish_qos1("private/a", "secret").await;
    root.publish_qos1("public/a", "hello").await;
    assert_eq!(alice5.publish().await.payload, "hello");
    assert_eq!(alice3.publish().await.payload, "hello");
    alice5.no_publish().await;
    alice3.no_publish().await;
}

#[tokio::test]
async fn deny_rules_take_precedence() {
    let broker = broker(
        "user alice\ntopic readwrite home/#\ntopic deny home/secret/#\nuser root\ntopic readwrite #\n",
    )
    .await;
    let mut alice = v5::connect_as(&broker, "alice", ALICE).await;
    assert_eq!(
        alice.subscribe("home/secret/door", v5::QoS::AtMostOnce).await,
        [v5::SubscribeReasonCode::NotAuthorized]
    );
    assert_eq!(
        alice.publish_qos1("home/secret/door", "open").await,
        v5::PubAckReason::NotAuthorized
    );
    // The broader subscription is granted, but the denied part never arrives.
    alice.subscribe("home/#", v5::QoS::AtMostOnce).await;
    let mut root = v3::connect_as(&broker, "root", ROOT).await;
    root.publish_qos1("home/secret/door", "closed").await;
    root.publish_qos1("home/lights", "on").await;
    let got = alice.publish().await;
    assert_eq!(got.topic, "home/lights");
    alice.no_publish().await;
}

#[tokio::test]
async fn patterns_substitute_user_name_and_client_id() {
    let broker =
        broker("pattern readwrite users/%u/#\npattern write devices/%c/status\nuser root\ntopic read #\n")
            .await;
    let mut root = v5::connect_as(&broker, "root", ROOT).await;
    root.subscribe("#", v5::QoS::AtLeastOnce).await;
    let mut alice = v5::connect_as(&broker, "sensor-7", ALICE).await;
    assert_eq!(
        alice.publish_qos1("users/alice/note", "1").await,
        v5::PubAckReason::Success
    );
    assert_eq!(
        alice.publish_qos1("users/bob/note", "2").await,
        v5::PubAckReason::NotAuthorized
    );
    assert_eq!(
        alice.publish_qos1("devices/sensor-7/status", "3").await,
        v5::PubAckReason::Success
    );
    assert_eq!(
        alice.publish_qos1("devices/sensor-8/status", "4").await,
        v5::PubAckReason::NotAuthorized
    );
    assert_eq!(
        alice.subscribe("users/alice/#", v5::QoS::AtMostOnce).await,
        [v5::SubscribeReasonCode::Success(v5::QoS::AtMostOnce)]
    );
    assert_eq!(
        alice.subscribe("users/bob/#", v5::QoS::AtMostOnce).await,
        [v5::SubscribeReasonCode::NotAuthorized]
    );
    assert_eq!(root.publish().await.payload, "1");
    assert_eq!(root.publish().await.payload, "3");
    root.no_publish().await;
    // 3.1.1, anonymous: %u never applies to a client without a user name, %c does.
    let anon =
        start(Setup::default().acl("pattern readwrite users/%u/#\npattern readwrite devices/%c/#\n")).await;
    let mut c = v3::connect_as(&anon, "dev1", None).await;
    assert_eq!(
        c.subscribe("devices/dev1/#", v3::QoS::AtMostOnce).await,
        [v3::SubscribeReasonCode::Success(v3::QoS::AtMostOnce)]
    );
    assert_eq!(
        c.subscribe("users/#", v3::QoS::AtMostOnce).await,
        [v3::SubscribeReasonCode::Failure]
    );
}

#[tokio::test]
async fn topic_lines_before_any_user_line_are_for_anonymous_clients() {
    let broker = start(
        Setup::default()
            .passwd(users())
            .acl("topic read public/#\nuser alice\ntopic read alice/#\n"),
    )
    .await;
    let mut anon = v3::connect_as(&broker, "anon", None).await;
    assert_eq!(
        anon.subscribe("public/x", v3::QoS::AtMostOnce).await,
        [v3::SubscribeReasonCode::Success(v3::QoS::AtMostOnce)]
    );
    assert_eq!(
        anon.subscribe("alice/x", v3::QoS::AtMostOnce).await,
        [v3::SubscribeReasonCode::Failure]
    );
    let mut alice = v3::connect_as(&broker, "alice", ALICE).await;
    assert_eq!(
        alice.subscribe("public/x", v3::QoS::AtMostOnce).await,
        [v3::SubscribeReasonCode::Failure],
        "the anonymous rules are not alice's"
    );
}

#[tokio::test]
async fn retained_messages_are_filtered_by_read_access() {
    let broker = broker("user alice\ntopic read r/open\nuser root\ntopic readwrite #\n").await;
    let mut root = v5::connect_as(&broker, "root", ROOT).await;
    for topic in ["r/open", "r/closed"] {
        root.client
            .publish(topic, v5::QoS::AtLeastOnce, true, topic.as_bytes().to_vec())
            .await
            .unwrap();
        root.next(|p| matches!(p, v5::Packet::PubAck(_)).then_some(()))
            .await;
    }
    let mut alice = v5::connect_as(&broker, "alice", ALICE).await;
    alice.subscribe("r/+", v5::QoS::AtMostOnce).await;
    assert_eq!(alice.publish().await.topic, "r/open");
    alice.no_publish().await;
}

#[tokio::test]
async fn a_will_on_a_forbidden_topic_is_refused_at_connect() {
    let broker = broker("user alice\ntopic readwrite alice/#\n").await;
    let mut opts = v5::login_options(&broker, "w5", ALICE);
    opts.set_last_will(v5::LastWill::new(
        "elsewhere",
        "bye",
        v5::QoS::AtMostOnce,
        false,
        None,
    ));
    let refused = v5::try_connect(opts).await;
    assert_eq!(refused.err(), Some(v5::ConnectReturnCode::NotAuthorized));
    let mut opts = v3::login_options(&broker, "w3", ALICE);
    opts.set_last_will(v3::LastWill::new("elsewhere", "bye", v3::QoS::AtMostOnce, false));
    let refused = v3::try_connect(opts).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::NotAuthorized));
    let mut opts = v3::login_options(&broker, "w3", ALICE);
    opts.set_last_will(v3::LastWill::new(
        "alice/status",
        "gone",
        v3::QoS::AtMostOnce,
        false,
    ));
    v3::try_connect(opts)
        .await
        .expect("a will on an allowed topic is fine");
}

#[tokio::test]
async fn a_will_goes_only_to_subscribers_who_may_read_it() {
    let broker = broker(
        "user alice\ntopic readwrite alice/#\nuser bob\ntopic read #\ntopic deny alice/#\nuser root\ntopic read #\n",
    )
    .await;
    let mut root = v3::connect_as(&broker, "root", ROOT).await;
    root.subscribe("alice/#", v3::QoS::AtMostOnce).await;
    let mut bob = v3::connect_as(&broker, "bob", BOB).await;
    bob.subscribe("#", v3::QoS::AtMostOnce).await;
    let mut opts = v3::login_options(&broker, "alice", ALICE);
    opts.set_last_will(v3::LastWill::new(
        "alice/status",
        "gone",
        v3::QoS::AtMostOnce,
        false,
    ));
    let alice = v3::try_connect(opts).await.unwrap();
    // Dropping the client closes the socket without DISCONNECT: the will is due [MQTT-3.1.2-8].
    drop(alice);
    assert_eq!(root.publish().await.payload, "gone");
    bob.no_publish().await;
}

#[tokio::test]
async fn sys_topics_need_read_access_and_count_denials() {
    let mut setup = Setup::default()
        .passwd(users())
        .acl("user alice\ntopic read $SYS/#\nuser bob\ntopic read #\n");
    setup.sys_interval = Some(std::time::Duration::from_millis(100));
    let broker = start(setup).await;
    // Some refusals to count.
    let refused = v3::try_connect(v3::login_options(&broker, "x", Some(("alice", "wrong")))).await;
    assert!(refused.is_err());
    let mut bob = v5::connect_as(&broker, "bob", BOB).await;
    assert_eq!(bob.publish_qos1("t", "x").await, v5::PubAckReason::NotAuthorized);
    // Bob's `topic read #` does not reach $SYS topics [MQTT-4.7.2-1]: no rule of his does.
    assert_eq!(
        bob.subscribe("$SYS/#", v5::QoS::AtMostOnce).await,
        [v5::SubscribeReasonCode::NotAuthorized]
    );
    let mut alice = v5::connect_as(&broker, "alice", ALICE).await;
    alice.subscribe("$SYS/broker/#", v5::QoS::AtMostOnce).await;
    let wanted = [
        "$SYS/broker/clients/auth_failures",
        "$SYS/broker/publish/messages/denied",
        "$SYS/broker/subscriptions/denied",
    ];
    let mut seen = std::collections::HashMap::new();
    // $SYS is republished every 100 ms: wait for figures taken after the denials above.
    while wanted
        .iter()
        .any(|t| seen.get(*t).map(String::as_str) != Some("1"))
    {
        let p = alice.publish().await;
        let topic = String::from_utf8_lossy(&p.topic).into_owned();
        if wanted.contains(&topic.as_str()) {
            seen.insert(topic, String::from_utf8_lossy(&p.payload).into_owned());
        }
    }
    assert_eq!(broker.metric(|m| &m.auth_failures), 1);
    assert_eq!(broker.metric(|m| &m.publish_denied), 1);
    assert_eq!(broker.metric(|m| &m.subscribe_denied), 1);
}

#[tokio::test]
async fn prometheus_counts_refusals() {
    let mut setup = Setup::default()
        .passwd(users())
        .acl("user alice\ntopic read r/#\n");
    setup.metrics = true;
    let broker = start(setup).await;
    let refused = v5::try_connect(v5::login_options(&broker, "x", Some(("alice", "nope")))).await;
    assert!(refused.is_err());
    let mut alice = v5::connect_as(&broker, "alice", ALICE).await;
    assert_eq!(
        alice.publish_qos1("w", "x").await,
        v5::PubAckReason::NotAuthorized
    );
    assert_eq!(
        alice.subscribe("w/#", v5::QoS::AtMostOnce).await,
        [v5::SubscribeReasonCode::NotAuthorized]
    );
    let body = scrape(&broker).await;
    for line in [
        "robustmq_auth_failures_total 1",
        "robustmq_publish_denied_total 1",
        "robustmq_subscribe_denied_total 1",
    ] {
        assert!(body.lines().any(|l| l == line), "{line} missing:\n{body}");
    }
}

#[tokio::test]
async fn admin_requests_follow_the_acl() {
    // With an ACL, loopback alone grants nothing: root may (write on the request topic),
    // alice may not, although both connect from 127.0.0.1.
    let broker = broker(
        "user root\ntopic readwrite $CONTROL/robustmq/v1/#\nuser alice\ntopic read $CONTROL/robustmq/v1/#\n",
    )
    .await;
    let mut root = v3::connect_as(&broker, "root", ROOT).await;
    root.subscribe("$CONTROL/robustmq/v1/broker/stats/response", v3::QoS::AtMostOnce)
        .await;
    root.publish_qos1("$CONTROL/robustmq/v1/broker/stats", "{}").await;
    let reply = root.publish().await;
    let body: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    assert!(body.get("error").is_none(), "{body}");
    assert!(body.get("clients_connected").is_some(), "{body}");

    let mut alice = v5::connect_as(&broker, "alice", ALICE).await;
    assert_eq!(
        alice
            .publish_qos1("$CONTROL/robustmq/v1/broker/stats", "{}")
            .await,
        v5::PubAckReason::NotAuthorized
    );
}

#[tokio::test]
async fn a_broken_acl_file_stops_the_broker_with_file_and_line() {
    let e = start_error(Setup::default().acl("user alice\ntopic readwrite a/#\ntopic maybe b\n")).await;
    let text = e.to_string();
    assert!(text.contains("acl, line 3: invalid access \"maybe\""), "{text}");
}

#[tokio::test]
async fn without_an_acl_the_admin_api_stays_loopback_only() {
    // A password file says who may connect, not what they may do: the admin API keeps its
    // loopback rule, and every test client is on loopback.
    let broker = start(Setup::default().passwd(users()).anonymous(false)).await;
    let mut alice = v3::connect_as(&broker, "alice", ALICE).await;
    alice
        .subscribe("$CONTROL/robustmq/v1/clients/list/response", v3::QoS::AtMostOnce)
        .await;
    alice
        .publish_qos1("$CONTROL/robustmq/v1/clients/list", "{}")
        .await;
    let reply = alice.publish().await;
    let body: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    assert!(body.get("error").is_none(), "{body}");
}
