//! A clean stop and start of the real binary keeps retained messages, persistent sessions with
//! their subscriptions and queued messages, and QoS 2 state; expired state does not come back.

use std::time::Duration;

use rumqttc::QoS;

use super::binary::Broker;
use super::mqtt::{connect, counts};

const QUIET: Duration = Duration::from_millis(700);

#[test]
fn retained_messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let mut publisher = connect(broker.port(), "r-pub", true);
    publisher.publish_acked("keep/a", QoS::AtLeastOnce, true, "alpha");
    publisher.publish_acked("keep/b", QoS::AtMostOnce, true, "beta");
    publisher.publish_acked("keep/c", QoS::AtLeastOnce, true, "gamma");
    publisher.publish_acked("keep/c", QoS::AtLeastOnce, true, ""); // cleared before the stop
    publisher.disconnect();
    assert!(broker.stop().success());

    let broker = Broker::start(dir.path());
    let mut sub = connect(broker.port(), "r-sub", true);
    sub.subscribe("keep/#", QoS::AtLeastOnce);
    let mut got: Vec<(String, String, bool)> = sub.drain(QUIET);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("keep/a".into(), "alpha".into(), true),
            ("keep/b".into(), "beta".into(), true)
        ]
    );
}

#[test]
fn persistent_session_keeps_subscriptions_and_queued_messages_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let mut sub = connect(broker.port(), "p-sub", false);
    sub.subscribe("q/#", QoS::ExactlyOnce);
    sub.disconnect();
    let mut publisher = connect(broker.port(), "p-pub", true);
    for i in 0..5 {
        publisher.publish_acked("q/1", QoS::AtLeastOnce, false, &format!("before-{i}"));
    }
    publisher.publish_acked("q/2", QoS::ExactlyOnce, false, "exactly");
    publisher.disconnect();
    assert!(broker.stop().success());

    // The subscription itself came back: a message published after the restart is queued too.
    let broker = Broker::start(dir.path());
    let mut publisher = connect(broker.port(), "p-pub", true);
    publisher.publish_acked("q/3", QoS::AtLeastOnce, false, "after");
    publisher.disconnect();
    let mut sub = connect(broker.port(), "p-sub", false);
    assert!(sub.session_present, "[MQTT-3.2.2-2] the session came back");
    let got = counts(sub.drain(QUIET).into_iter().map(|(_, p, _)| p));
    for expected in [
        "before-0", "before-1", "before-2", "before-3", "before-4", "exactly", "after",
    ] {
        assert_eq!(got.get(expected), Some(&1), "{expected} in {got:?}");
    }
    assert_eq!(got.len(), 7, "{got:?}");
}

// 3.1.1 [MQTT-3.1.2-6]: a clean session is not reused, a restart included.
#[test]
fn clean_session_state_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let mut sub = connect(broker.port(), "c-sub", true);
    sub.subscribe("c/#", QoS::AtLeastOnce);
    sub.disconnect();
    assert!(broker.stop().success());
    let broker = Broker::start(dir.path());
    let sub = connect(broker.port(), "c-sub", false);
    assert!(!sub.session_present);
}

#[test]
fn expired_session_does_not_come_back() {
    use rumqttc::v5::mqttbytes::v5::{ConnectProperties, Packet};
    use rumqttc::v5::{Client, Event, MqttOptions};
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let connect_v5 = |port: u16, expiry: u32| {
        let mut options = MqttOptions::new("x-sub", "127.0.0.1", port);
        options.set_clean_start(false);
        let mut props = ConnectProperties::new();
        props.session_expiry_interval = Some(expiry);
        options.set_connect_properties(props);
        let (client, mut conn) = Client::new(options, 10);
        loop {
            match conn.recv_timeout(Duration::from_secs(10)) {
                Ok(Ok(Event::Incoming(Packet::ConnAck(c)))) => return (client, conn, c.session_present),
                Ok(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    };
    let (client, mut conn, _) = connect_v5(broker.port(), 1);
    client
        .subscribe("x/#", rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
        .unwrap();
    let _ = client.disconnect();
    while let Ok(Ok(_)) = conn.recv_timeout(Duration::from_millis(300)) {}
    assert!(broker.stop().success());
    std::thread::sleep(Duration::from_millis(1500));
    let broker = Broker::start(dir.path());
    let (_c, _conn, present) = connect_v5(broker.port(), 60);
    assert!(
        !present,
        "a session whose expiry interval passed while the broker was down is gone"
    );
}

// 3.1.1 [MQTT-4.3.3-2]: the QoS 2 receiver rules hold across a restart.
#[test]
fn incoming_qos2_packet_id_survives_restart_so_a_retransmission_is_not_delivered_twice() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    // [MQTT-4.3.3-10] until PUBREL, a PUBLISH with the same packet id is the same message.
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let mut sub = connect(broker.port(), "dup-sub", false);
    sub.subscribe("dup/#", QoS::ExactlyOnce);
    sub.disconnect();

    let connect_raw = |port: u16| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // CONNECT 3.1.1, clean session 0, client id "dup-pub"
        let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x00, 0, 60, 0, 7];
        body.extend_from_slice(b"dup-pub");
        let mut pkt = vec![0x10, body.len() as u8];
        pkt.extend_from_slice(&body);
        s.write_all(&pkt).unwrap();
        let mut connack = [0u8; 4];
        s.read_exact(&mut connack).unwrap();
        assert_eq!(connack[3], 0);
        s
    };
    let publish = |dup: bool| {
        let header = if dup { 0x3C } else { 0x34 };
        let mut pkt = vec![header, 2 + 5 + 2 + 4, 0, 5];
        pkt.extend_from_slice(b"dup/t");
        pkt.extend_from_slice(&[0, 9]);
        pkt.extend_from_slice(b"once");
        pkt
    };
    let mut s = connect_raw(broker.port());
    s.write_all(&publish(false)).unwrap();
    let mut pubrec = [0u8; 4];
    s.read_exact(&mut pubrec).unwrap();
    assert_eq!(pubrec, [0x50, 2, 0, 9]);
    drop(s);
    assert!(broker.stop().success());

    let broker = Broker::start(dir.path());
    let mut s = connect_raw(broker.port());
    s.write_all(&publish(true)).unwrap();
    s.read_exact(&mut pubrec).unwrap();
    assert_eq!(pubrec, [0x50, 2, 0, 9]);
    s.write_all(&[0x62, 2, 0, 9]).unwrap();
    let mut pubcomp = [0u8; 4];
    s.read_exact(&mut pubcomp).unwrap();
    assert_eq!(pubcomp, [0x70, 2, 0, 9]);

    let mut sub = connect(broker.port(), "dup-sub", false);
    let got: Vec<String> = sub.drain(QUIET).into_iter().map(|(_, p, _)| p).collect();
    assert_eq!(
        got,
        vec!["once".to_string()],
        "delivered exactly once across the restart"
    );
}

/// A raw 3.1.1 client on a std socket, for exact wire checks across restarts.
mod raw {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    pub fn connect(port: u16, id: &str, clean: bool) -> (TcpStream, bool) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut body = vec![
            0,
            4,
            b'M',
            b'Q',
            b'T',
            b'T',
            4,
            if clean { 0x02 } else { 0x00 },
            0,
            60,
        ];
        body.extend_from_slice(&(id.len() as u16).to_be_bytes());
        body.extend_from_slice(id.as_bytes());
        let mut pkt = vec![0x10, body.len() as u8];
        pkt.extend_from_slice(&body);
        s.write_all(&pkt).unwrap();
        let mut connack = [0u8; 4];
        s.read_exact(&mut connack).unwrap();
        assert_eq!(connack[3], 0, "refused");
        (s, connack[2] & 1 == 1)
    }

    /// Reads one packet: (first byte, body).
    pub fn packet(s: &mut TcpStream) -> (u8, Vec<u8>) {
        let mut h = [0u8; 1];
        s.read_exact(&mut h).unwrap();
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).unwrap();
            len |= ((b[0] & 0x7f) as usize) << shift;
            shift += 7;
            if b[0] & 0x80 == 0 {
                break;
            }
        }
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
        (h[0], body)
    }

    /// True when nothing arrives within `wait`.
    pub fn silent(s: &mut TcpStream, wait: Duration) -> bool {
        s.set_read_timeout(Some(wait)).unwrap();
        let mut b = [0u8; 1];
        let quiet = matches!(s.read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut);
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        quiet
    }

    pub fn subscribe(s: &mut TcpStream, filter: &str, qos: u8) {
        let mut body = vec![0, 1];
        body.extend_from_slice(&(filter.len() as u16).to_be_bytes());
        body.extend_from_slice(filter.as_bytes());
        body.push(qos);
        let mut pkt = vec![0x82, body.len() as u8];
        pkt.extend_from_slice(&body);
        s.write_all(&pkt).unwrap();
        let (h, _) = packet(s);
        assert_eq!(h, 0x90, "SUBACK");
    }
}

// The resent PUBLISH has DUP 1 [MQTT-3.3.1-1].
#[test]
fn unacknowledged_qos2_publish_is_resent_with_the_same_packet_id_after_restart() {
    use std::io::Write;
    // [MQTT-4.4.0-1] on reconnect the server resends unacknowledged PUBLISH packets with their
    // original packet identifiers; across a restart that needs the id on disk.
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let (mut s, _) = raw::connect(broker.port(), "q2-sub", false);
    raw::subscribe(&mut s, "q2/#", 2);
    let mut publisher = connect(broker.port(), "q2-pub", true);
    publisher.publish_acked("q2/t", QoS::ExactlyOnce, false, "only-once");
    let (h, body) = raw::packet(&mut s);
    assert_eq!(h & 0xF0, 0x30, "PUBLISH");
    assert_eq!(h & 0x06, 0x04, "QoS 2");
    let id = [body[2 + 4], body[3 + 4]]; // after the 2-byte length and "q2/t"
    drop(s); // no PUBREC
    publisher.disconnect();
    assert!(broker.stop().success());

    let broker = Broker::start(dir.path());
    let (mut s, present) = raw::connect(broker.port(), "q2-sub", false);
    assert!(present);
    let (h, body) = raw::packet(&mut s);
    assert_eq!(h & 0xF8, 0x38, "PUBLISH with DUP set, got {h:#x}");
    assert_eq!([body[6], body[7]], id, "same packet id after the restart");
    assert!(body.ends_with(b"only-once"));
    s.write_all(&[0x50, 2, id[0], id[1]]).unwrap();
    assert_eq!(raw::packet(&mut s), (0x62, id.to_vec()), "PUBREL");
    s.write_all(&[0x70, 2, id[0], id[1]]).unwrap();
    assert!(
        raw::silent(&mut s, Duration::from_millis(500)),
        "nothing more: delivered once"
    );
}

// 3.1.1 [MQTT-4.3.3-1]: the PUBREL stays unacknowledged until PUBCOMP, the PUBLISH is not sent again.
#[test]
fn released_qos2_message_gets_pubrel_not_publish_after_restart() {
    use std::io::Write;
    // Once PUBREC arrived the broker must never send that PUBLISH again [MQTT-4.3.3-4].
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let (mut s, _) = raw::connect(broker.port(), "rel-sub", false);
    raw::subscribe(&mut s, "rel/#", 2);
    let mut publisher = connect(broker.port(), "rel-pub", true);
    publisher.publish_acked("rel/t", QoS::ExactlyOnce, false, "released");
    let (_, body) = raw::packet(&mut s);
    let id = [body[2 + 5], body[3 + 5]];
    s.write_all(&[0x50, 2, id[0], id[1]]).unwrap();
    assert_eq!(raw::packet(&mut s), (0x62, id.to_vec()), "PUBREL");
    drop(s); // no PUBCOMP
    publisher.disconnect();
    assert!(broker.stop().success());

    let broker = Broker::start(dir.path());
    let (mut s, present) = raw::connect(broker.port(), "rel-sub", false);
    assert!(present);
    assert_eq!(
        raw::packet(&mut s),
        (0x62, id.to_vec()),
        "PUBREL again, no PUBLISH"
    );
    s.write_all(&[0x70, 2, id[0], id[1]]).unwrap();
    assert!(raw::silent(&mut s, Duration::from_millis(500)));
}
