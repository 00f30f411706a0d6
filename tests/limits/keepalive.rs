//! `min_keepalive` and `max_keepalive`: a v5 client outside the bounds is told the nearest one
//! as Server Keep Alive (`limits/keepalive_adjusted`); a 3.1.1 client, which cannot be told, is
//! refused (`limits/keepalive_refused`).

use super::common::*;

async fn bounded_broker() -> TestBroker {
    start_with(|s| {
        s.limits.min_keepalive = 30;
        s.limits.max_keepalive = 120;
    })
    .await
}

// [MQTT-3.2.2-21] a client told a Server Keep Alive must use it instead of its own; the server
// may pick any value, so it raises a keep alive below the floor (0, none, included) as well as
// lowering one above the ceiling.
#[tokio::test]
async fn v5_keep_alive_outside_the_bounds_gets_server_keep_alive() {
    let broker = bounded_broker().await;
    let cases = [
        (5, Some(30)),
        (0, Some(30)),
        (600, Some(120)),
        (30, None),
        (60, None),
        (120, None),
    ];
    for (asked, told) in cases {
        let mut raw = Raw::connect(broker.addr).await;
        raw.send(&connect_packet(5, &format!("ka5-{asked}"), asked, None))
            .await;
        let connack = Connack::parse(5, &raw.packet().await.expect("CONNACK"));
        assert_eq!(connack.code, 0, "keep alive {asked} is accepted");
        assert_eq!(
            connack.properties.server_keep_alive, told,
            "Server Keep Alive for a requested {asked}"
        );
    }
    assert_eq!(broker.limits().keepalive_adjusted, 3);
    assert_eq!(broker.limits().keepalive_refused, 0);
    broker.stop().await;
}

// 3.1.1 has no Server Keep Alive. The client is refused with return code 2, identifier
// rejected (what Mosquitto answers for its max_keepalive), and the connection is closed
// [MQTT-3.2.2-5].
#[tokio::test]
async fn v311_keep_alive_outside_the_bounds_is_refused() {
    let broker = bounded_broker().await;
    for asked in [5, 0, 600] {
        let mut raw = Raw::connect(broker.addr).await;
        raw.send(&connect_packet(4, &format!("ka4-{asked}"), asked, None))
            .await;
        let seen = raw.expect_close().await;
        assert_eq!(seen.len(), 1, "only a CONNACK before the close: {seen:02x?}");
        assert_eq!(Connack::parse(4, &seen[0]).code, 2, "keep alive {asked}");
    }
    assert_eq!(broker.limits().keepalive_refused, 3);
    for asked in [30, 60, 120] {
        let mut raw = Raw::connect(broker.addr).await;
        raw.send(&connect_packet(4, &format!("ok4-{asked}"), asked, None))
            .await;
        let connack = Connack::parse(4, &raw.packet().await.expect("CONNACK"));
        assert_eq!(connack.code, 0, "keep alive {asked} is within the bounds");
    }
    assert_eq!(broker.limits().keepalive_refused, 3);
    assert_eq!(broker.limits().keepalive_adjusted, 0);
    broker.stop().await;
}

// The defaults (min_keepalive = 0, max_keepalive = 65535) let every keep alive through,
// none (0) included (0 turns keep alive off, §3.1.2.10 of both versions).
#[tokio::test]
async fn by_default_any_keep_alive_is_granted() {
    let broker = start_with(|_| {}).await;
    for level in [4, 5] {
        for asked in [0, 1, 65535] {
            let mut raw = Raw::connect(broker.addr).await;
            raw.send(&connect_packet(
                level,
                &format!("any-{level}-{asked}"),
                asked,
                None,
            ))
            .await;
            let connack = Connack::parse(level, &raw.packet().await.expect("CONNACK"));
            assert_eq!(connack.code, 0);
            assert_eq!(connack.properties.server_keep_alive, None);
        }
    }
    assert_eq!(broker.limits().keepalive_adjusted, 0);
    assert_eq!(broker.limits().keepalive_refused, 0);
    broker.stop().await;
}
