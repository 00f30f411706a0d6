//! Packets a client sends right behind its CONNECT, in the same write, without waiting for
//! CONNACK (which MQTT allows, 3.1.1 §3.1.4 / v5 §3.1.4): they are handled at once, not when the
//! client next sends something.

use super::common::*;

/// CONNECT (3.1.1, client id "p", keep alive 10) and SUBSCRIBE to "p" at QoS 1, in one
/// segment, byte for byte from the spec's layouts.
const CONNECT_AND_SUBSCRIBE_V311: &str = "100d00044d5154540402000a000170 8206000100017001";

fn hex(s: &str) -> Vec<u8> {
    let digits: String = s.split_whitespace().collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex"))
        .collect()
}

// The CONNACK comes first [MQTT-3.2.0-1] with return code 0 [MQTT-3.1.4-4] for the client id "p"
// [MQTT-3.1.3-5]; the SUBACK carries the SUBSCRIBE's packet id 1 [MQTT-3.8.4-2] ([MQTT-2.3.1-7]).
#[tokio::test]
async fn subscribe_in_the_same_write_as_connect_is_answered_v311() {
    let broker = start().await;
    let mut raw = Raw::connect(&broker).await;
    raw.send(&hex(CONNECT_AND_SUBSCRIBE_V311)).await;
    assert_eq!(raw.packet().await, Some(vec![0x20, 0x02, 0x00, 0x00]), "CONNACK");
    // [MQTT-3.8.4-1] SUBACK, with nothing more sent by the client.
    assert_eq!(
        raw.packet().await,
        Some(vec![0x90, 0x03, 0x00, 0x01, 0x01]),
        "SUBACK"
    );
}

// v5 [MQTT-3.2.0-1]: CONNACK 0x00 before the SUBACK and the PINGRESP.
#[tokio::test]
async fn subscribe_and_ping_in_the_same_write_as_connect_are_answered_v5() {
    let broker = start().await;
    let mut raw = Raw::connect(&broker).await;
    let mut bytes = connect_packet(5, "pipelined-v5", 10);
    // SUBSCRIBE packet id 1, no properties, "p" QoS 1; then PINGREQ.
    bytes.extend_from_slice(&[0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'p', 0x01]);
    bytes.extend_from_slice(&[0xC0, 0x00]);
    raw.send(&bytes).await;
    let connack = raw.packet().await.expect("CONNACK");
    assert_eq!(
        (connack[0], connack[3]),
        (0x20, 0x00),
        "CONNACK success: {connack:02x?}"
    );
    let suback = raw.packet().await.expect("SUBACK");
    assert_eq!(suback[0], 0x90, "SUBACK: {suback:02x?}");
    assert_eq!(*suback.last().expect("reason code"), 0x01, "granted QoS 1");
    assert_eq!(raw.packet().await, Some(vec![0xD0, 0x00]), "PINGRESP");
}
