//! Shared subscriptions (`$share/group/filter`): one member per group gets each message, groups
//! are independent, and shared and plain subscriptions coexist.

use super::common::*;

const N: u8 = 10;

/// Checks that `a` and `b` together got every message 0..N exactly once and each got some.
fn assert_split(a: &[u8], b: &[u8]) {
    let mut all: Vec<u8> = a.iter().chain(b).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..N).collect::<Vec<_>>(),
        "each message to exactly one member: {a:?} / {b:?}"
    );
    assert!(
        !a.is_empty() && !b.is_empty(),
        "both members get some: {a:?} / {b:?}"
    );
}

// MQTT 5 §4.8.2: each message of a shared subscription goes to one member of the group; the
// broker round-robins (in 3.1.1 too, as Mosquitto does).
#[tokio::test]
async fn shared_subscription_distributes_among_members_v311() {
    let broker = start().await;
    let mut m1 = v3::connect(&broker, "shared-m1").await;
    let mut m2 = v3::connect(&broker, "shared-m2").await;
    m1.subscribe("$share/g/sh/rr", v3::QoS::AtLeastOnce).await;
    m2.subscribe("$share/g/sh/rr", v3::QoS::AtLeastOnce).await;
    let mut publisher = v3::connect(&broker, "shared-pub").await;
    for i in 0..N {
        publisher
            .publish_acked("sh/rr", v3::QoS::AtLeastOnce, false, &[i])
            .await;
    }
    let a: Vec<u8> = m1
        .publishes_until_quiet()
        .await
        .iter()
        .map(|p| p.payload[0])
        .collect();
    let b: Vec<u8> = m2
        .publishes_until_quiet()
        .await
        .iter()
        .map(|p| p.payload[0])
        .collect();
    assert_split(&a, &b);
}

#[tokio::test]
async fn shared_subscription_distributes_among_members_v5() {
    let broker = start().await;
    let mut m1 = v5::connect(&broker, "shared5-m1").await;
    let mut m2 = v5::connect(&broker, "shared5-m2").await;
    m1.subscribe("$share/g/sh/rr", v5::QoS::AtLeastOnce).await;
    m2.subscribe("$share/g/sh/rr", v5::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "shared5-pub").await;
    for i in 0..N {
        publisher
            .publish_acked("sh/rr", v5::QoS::AtLeastOnce, false, &[i])
            .await;
    }
    let a: Vec<u8> = m1
        .publishes_until_quiet()
        .await
        .iter()
        .map(|p| p.payload[0])
        .collect();
    let b: Vec<u8> = m2
        .publishes_until_quiet()
        .await
        .iter()
        .map(|p| p.payload[0])
        .collect();
    assert_split(&a, &b);
}

// MQTT 5 §4.8.2: every group gets its own copy of each message.
#[tokio::test]
async fn different_shared_groups_each_get_every_message() {
    let broker = start().await;
    let mut a1 = v5::connect(&broker, "groups-a1").await;
    let mut a2 = v5::connect(&broker, "groups-a2").await;
    let mut b1 = v5::connect(&broker, "groups-b1").await;
    a1.subscribe("$share/a/grp/t", v5::QoS::AtLeastOnce).await;
    a2.subscribe("$share/a/grp/t", v5::QoS::AtLeastOnce).await;
    b1.subscribe("$share/b/grp/t", v5::QoS::AtLeastOnce).await;
    let mut publisher = v5::connect(&broker, "groups-pub").await;
    for i in 0..N {
        publisher
            .publish_acked("grp/t", v5::QoS::AtLeastOnce, false, &[i])
            .await;
    }
    let b: Vec<u8> = b1
        .publishes_until_quiet()
        .await
        .iter()
        .map(|p| p.payload[0])
        .collect();
    assert_eq!(
        b,
        (0..N).collect::<Vec<_>>(),
        "group b (one member) gets every message"
    );
    let x: Vec<u8> = a1
        .publishes_until_quiet()
        .await
        .iter()
        .map(|p| p.payload[0])
        .collect();
    let y: Vec<u8> = a2
        .publishes_until_quiet()
        .await
        .iter()
        .map(|p| p.payload[0])
        .collect();
    assert_split(&x, &y);
}

// MQTT 5 §4.8.2: a shared subscription does not take messages away from plain subscriptions.
#[tokio::test]
async fn shared_and_plain_subscribers_both_get_the_message() {
    let broker = start().await;
    let mut shared = v3::connect(&broker, "mix-shared").await;
    let mut plain = v3::connect(&broker, "mix-plain").await;
    shared.subscribe("$share/g/mix/t", v3::QoS::AtLeastOnce).await;
    plain.subscribe("mix/t", v3::QoS::AtLeastOnce).await;
    let mut publisher = v3::connect(&broker, "mix-pub").await;
    publisher
        .publish_acked("mix/t", v3::QoS::AtLeastOnce, false, b"both")
        .await;
    for c in [&mut shared, &mut plain] {
        let got = c.publishes_until_quiet().await;
        assert_eq!(got.len(), 1, "exactly one copy: {got:?}");
        assert_eq!(&got[0].payload[..], b"both");
        assert_eq!(got[0].topic, "mix/t", "topic without the $share prefix");
    }
}
