//! v5 subscription options and identifiers: no local, retain as published, retain handling,
//! subscription identifiers, UNSUBACK reason codes.

use rumqttc::v5::mqttbytes::v5::UnsubAckReason;

use super::common::*;

/// Subscribes with full v5 options and returns the SUBACK reason codes.
async fn subscribe_filter(
    client: &mut v5::Client,
    filter: v5::Filter,
    id: Option<usize>,
) -> Vec<v5::SubscribeReasonCode> {
    let properties = v5::SubscribeProperties {
        id,
        user_properties: Vec::new(),
    };
    client
        .client
        .subscribe_many_with_properties([filter], properties)
        .await
        .unwrap();
    client
        .next(|p| match p {
            v5::Packet::SubAck(s) => Some(s.return_codes),
            _ => None,
        })
        .await
}

fn filter(path: &str) -> v5::Filter {
    v5::Filter::new(path, v5::QoS::AtLeastOnce)
}

fn granted() -> Vec<v5::SubscribeReasonCode> {
    vec![v5::SubscribeReasonCode::Success(v5::QoS::AtLeastOnce)]
}

/// Subscribes with retain handling `rule`, twice, and returns the retained payloads received
/// after the first and after the second SUBSCRIBE.
async fn retained_on_subscribe_twice(
    rule: v5::RetainForwardRule,
    name: &str,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let broker = start().await;
    let topic = format!("rh/{name}");
    let mut publisher = v5::connect(&broker, &format!("{name}-pub")).await;
    publisher
        .publish_acked(&topic, v5::QoS::AtLeastOnce, true, b"retained")
        .await;
    let mut sub = v5::connect(&broker, &format!("{name}-sub")).await;
    let mut rounds = Vec::new();
    for _ in 0..2 {
        let mut f = filter(&topic);
        f.retain_forward_rule = rule.clone();
        assert_eq!(subscribe_filter(&mut sub, f, None).await, granted());
        let got: Vec<Vec<u8>> = sub
            .publishes_until_quiet()
            .await
            .into_iter()
            .map(|p| {
                assert!(p.retain, "a retained message is sent with RETAIN 1");
                p.payload.to_vec()
            })
            .collect();
        rounds.push(got);
    }
    let second = rounds.pop().unwrap();
    (rounds.pop().unwrap(), second)
}

// [MQTT-3.8.3-3] with No Local, messages are not forwarded to the connection that published
// them; other publishers' messages are.
#[tokio::test]
async fn no_local_subscriber_does_not_get_its_own_messages() {
    let broker = start().await;
    let mut me = v5::connect(&broker, "nl-me").await;
    let mut f = filter("nl/t");
    f.nolocal = true;
    assert_eq!(subscribe_filter(&mut me, f, None).await, granted());
    let mut other = v5::connect(&broker, "nl-other").await;

    me.publish_acked("nl/t", v5::QoS::AtLeastOnce, false, b"mine")
        .await;
    other
        .publish_acked("nl/t", v5::QoS::AtLeastOnce, false, b"theirs")
        .await;
    let p = me.publish().await;
    assert_eq!(&p.payload[..], b"theirs");
    me.no_publish().await;
}

// [MQTT-3.3.1-13] with Retain As Published the forwarded RETAIN flag is the published one;
// [MQTT-3.3.1-12] without it the flag is 0 on a live forward.
#[tokio::test]
async fn retain_as_published_keeps_or_clears_retain_flag() {
    let broker = start().await;
    let mut keep = v5::connect(&broker, "rap-keep").await;
    let mut f = filter("rap/t");
    f.preserve_retain = true;
    assert_eq!(subscribe_filter(&mut keep, f, None).await, granted());
    let mut clear = v5::connect(&broker, "rap-clear").await;
    assert_eq!(
        subscribe_filter(&mut clear, filter("rap/t"), None).await,
        granted()
    );

    let mut publisher = v5::connect(&broker, "rap-pub").await;
    publisher
        .publish_acked("rap/t", v5::QoS::AtLeastOnce, true, b"r")
        .await;
    publisher
        .publish_acked("rap/t", v5::QoS::AtLeastOnce, false, b"n")
        .await;

    let (r, n) = (keep.publish().await, keep.publish().await);
    assert_eq!((&r.payload[..], r.retain), (&b"r"[..], true), "RAP=1");
    assert_eq!((&n.payload[..], n.retain), (&b"n"[..], false), "RAP=1");
    let (r, n) = (clear.publish().await, clear.publish().await);
    assert_eq!((&r.payload[..], r.retain), (&b"r"[..], false), "RAP=0");
    assert_eq!((&n.payload[..], n.retain), (&b"n"[..], false), "RAP=0");
}

// [MQTT-3.3.1-9] / [MQTT-3.8.4-4] retain handling 0: retained messages are sent on every
// SUBSCRIBE, a repeated one included.
#[tokio::test]
async fn retain_handling_0_sends_retained_on_every_subscribe() {
    let (first, second) = retained_on_subscribe_twice(v5::RetainForwardRule::OnEverySubscribe, "rh0").await;
    assert_eq!(first, vec![b"retained".to_vec()]);
    assert_eq!(second, vec![b"retained".to_vec()]);
}

// [MQTT-3.3.1-10] retain handling 1: retained messages only if the subscription is new, not
// on a re-subscribe.
#[tokio::test]
async fn retain_handling_1_sends_retained_only_for_new_subscription() {
    let (first, second) = retained_on_subscribe_twice(v5::RetainForwardRule::OnNewSubscribe, "rh1").await;
    assert_eq!(first, vec![b"retained".to_vec()]);
    assert_eq!(second, Vec::<Vec<u8>>::new());
}

// [MQTT-3.3.1-11] retain handling 2: retained messages are never sent at subscribe time.
#[tokio::test]
async fn retain_handling_2_never_sends_retained() {
    let (first, second) = retained_on_subscribe_twice(v5::RetainForwardRule::Never, "rh2").await;
    assert_eq!(first, Vec::<Vec<u8>>::new());
    assert_eq!(second, Vec::<Vec<u8>>::new());
}

// [MQTT-3.3.4-3] the Subscription Identifier of the matching subscription comes with the
// PUBLISH, live and retained; a subscription made without one gets none.
#[tokio::test]
async fn subscription_identifier_delivered_on_publish() {
    let broker = start().await;
    let mut publisher = v5::connect(&broker, "sid-pub").await;
    publisher
        .publish_acked("sid/kept", v5::QoS::AtLeastOnce, true, b"retained")
        .await;
    let mut with_id = v5::connect(&broker, "sid-with").await;
    assert_eq!(
        subscribe_filter(&mut with_id, filter("sid/+"), Some(42)).await,
        granted()
    );
    let mut without = v5::connect(&broker, "sid-without").await;
    assert_eq!(
        subscribe_filter(&mut without, filter("sid/+"), None).await,
        granted()
    );
    let ids = |p: v5::Publish| p.properties.map(|p| p.subscription_identifiers);
    let p = with_id.publish().await;
    assert_eq!(&p.payload[..], b"retained");
    assert_eq!(ids(p), Some(vec![42]), "on the retained message");
    let p = without.publish().await;
    assert!(ids(p).unwrap_or_default().is_empty(), "no identifier was given");

    publisher
        .publish_acked("sid/a", v5::QoS::AtLeastOnce, false, b"live")
        .await;
    let p = with_id.publish().await;
    assert_eq!(&p.payload[..], b"live");
    assert_eq!(ids(p), Some(vec![42]), "on the live message");
    let p = without.publish().await;
    assert!(ids(p).unwrap_or_default().is_empty(), "no identifier was given");
}

// [MQTT-3.3.4-4] overlapping subscriptions with different identifiers: ONE PUBLISH carrying the
// identifiers of every matching subscription (read off the wire: property 0x0B twice), at the
// highest QoS of the two [MQTT-3.3.4-2].
#[tokio::test]
async fn overlapping_subscriptions_get_one_publish_with_every_identifier() {
    let broker = start().await;
    let mut sub = raw_connected_v5(&broker, "ov-sub", &[]).await;
    sub.send(&subscribe_v5(1, Some(1), &[("ov/+", 0)])).await;
    sub.next_of(9).await;
    sub.send(&subscribe_v5(2, Some(2), &[("ov/#", 1)])).await;
    sub.next_of(9).await;

    let mut publisher = v5::connect(&broker, "ov-pub").await;
    publisher
        .publish_acked("ov/a", v5::QoS::AtLeastOnce, false, b"once")
        .await;

    let p = sub.next_publish_v5().await;
    assert_eq!(p.payload, b"once");
    assert_eq!(p.qos, 1, "the higher of the two subscriptions' QoS");
    let mut ids = p.subscription_ids.clone();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2], "{p:?}");
    sub.send(&ack_packet(0x40, p.packet_id)).await;
    assert_eq!(sub.packet_within(QUIET).await, None, "a second copy");
}

// §3.11.3 UNSUBACK reason codes: 0x00 for a filter that was subscribed, 0x11 (no subscription
// existed) for one that was not.
// [MQTT-3.10.4-4] an UNSUBACK, even when nothing was deleted [MQTT-3.10.4-5], with Unsubscribe
// Reason Codes [MQTT-3.11.3-2]; the matching subscription is deleted [MQTT-3.10.4-1].
#[tokio::test]
async fn unsuback_reports_whether_subscription_existed() {
    let broker = start().await;
    let mut c = v5::connect(&broker, "unsub").await;
    c.subscribe("unsub/yes", v5::QoS::AtLeastOnce).await;
    let unsuback = |p| match p {
        v5::Packet::UnsubAck(u) => Some(u.reasons),
        _ => None,
    };
    c.client.unsubscribe("unsub/yes").await.unwrap();
    assert_eq!(c.next(unsuback).await, vec![UnsubAckReason::Success]);
    c.client.unsubscribe("unsub/no").await.unwrap();
    assert_eq!(
        c.next(unsuback).await,
        vec![UnsubAckReason::NoSubscriptionExisted]
    );
    // Gone means gone: a second UNSUBSCRIBE of the first filter finds nothing either.
    c.client.unsubscribe("unsub/yes").await.unwrap();
    assert_eq!(
        c.next(unsuback).await,
        vec![UnsubAckReason::NoSubscriptionExisted]
    );
}

// [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error: DISCONNECT 0x82.
#[tokio::test]
async fn no_local_on_shared_subscription_gets_disconnect_0x82() {
    let broker = start().await;
    let mut raw = raw_connected_v5(&broker, "nl-share", &[]).await;
    // Options: QoS 1 | No Local (bit 2).
    raw.send(&subscribe_v5(1, None, &[("$share/g/nl/t", 0x01 | 0x04)]))
        .await;
    assert_eq!(raw.disconnect_reason().await, 0x82);
}
