//! Blocking rumqttc (MQTT 3.1.1) helpers for the durability tests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rumqttc::{Client, Connection, Event, MqttOptions, Outgoing, Packet, QoS};

/// A connected blocking client and its connection.
pub struct Peer {
    pub client: Client,
    pub conn: Connection,
    pub session_present: bool,
}

/// Connects and waits for CONNACK.
pub fn connect(port: u16, id: &str, clean: bool) -> Peer {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_clean_session(clean);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut conn) = Client::new(options, 1000);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no CONNACK");
        match conn.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(Event::Incoming(Packet::ConnAck(c)))) => {
                return Peer {
                    client,
                    conn,
                    session_present: c.session_present,
                }
            }
            Ok(Ok(_)) => {}
            other => panic!("connect failed: {other:?}"),
        }
    }
}

impl Peer {
    /// Subscribes and waits for SUBACK.
    pub fn subscribe(&mut self, filter: &str, qos: QoS) {
        self.client.subscribe(filter, qos).unwrap();
        loop {
            match self.conn.recv_timeout(Duration::from_secs(10)) {
                Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => return,
                Ok(Ok(_)) => {}
                other => panic!("subscribe failed: {other:?}"),
            }
        }
    }

    /// Publishes and waits for the acknowledgement (PUBACK, or PUBCOMP for QoS 2).
    pub fn publish_acked(&mut self, topic: &str, qos: QoS, retain: bool, payload: &str) {
        self.client
            .publish(topic, qos, retain, payload.as_bytes().to_vec())
            .unwrap();
        loop {
            match self.conn.recv_timeout(Duration::from_secs(10)) {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) if qos == QoS::AtLeastOnce => return,
                Ok(Ok(Event::Incoming(Packet::PubComp(_)))) if qos == QoS::ExactlyOnce => return,
                Ok(Ok(Event::Outgoing(Outgoing::Publish(_)))) if qos == QoS::AtMostOnce => return,
                Ok(Ok(_)) => {}
                other => panic!("publish failed: {other:?}"),
            }
        }
    }

    /// Publishes and waits for PUBACK (QoS 1) or PUBREC (QoS 2): false if the connection failed
    /// first. PUBREC is the broker's promise for QoS 2 [durability contract].
    pub fn try_publish(&mut self, topic: &str, qos: QoS, payload: &str) -> bool {
        if self
            .client
            .try_publish(topic, qos, false, payload.as_bytes().to_vec())
            .is_err()
        {
            return false;
        }
        loop {
            match self.conn.recv_timeout(Duration::from_secs(5)) {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) if qos == QoS::AtLeastOnce => return true,
                Ok(Ok(Event::Incoming(Packet::PubRec(_)))) if qos == QoS::ExactlyOnce => return true,
                Ok(Ok(_)) => {}
                _ => return false,
            }
        }
    }

    /// Collects PUBLISH payloads until nothing arrives for `quiet`.
    pub fn drain(&mut self, quiet: Duration) -> Vec<(String, String, bool)> {
        let mut got = Vec::new();
        loop {
            match self.conn.recv_timeout(quiet) {
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => got.push((
                    p.topic.clone(),
                    String::from_utf8_lossy(&p.payload).into_owned(),
                    p.retain,
                )),
                Ok(Ok(_)) => {}
                _ => return got,
            }
        }
    }

    /// Disconnects cleanly and lets the packet go out.
    pub fn disconnect(mut self) {
        let _ = self.client.disconnect();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match self.conn.recv_timeout(Duration::from_millis(200)) {
                Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) | Ok(Err(_)) | Err(_) => return,
                _ => {}
            }
        }
    }
}

/// Counts of each payload.
pub fn counts(payloads: impl IntoIterator<Item = String>) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for p in payloads {
        *map.entry(p).or_insert(0) += 1;
    }
    map
}
