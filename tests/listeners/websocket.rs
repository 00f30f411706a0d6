//! `ws` and `wss` listeners: paho-mqtt and MQTT.js over WebSocket, the upgrade's path and
//! subprotocol rules, and garbage on the WebSocket port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::harness::*;

fn ws_listener(protocol: &str, extra: &str) -> String {
    format!("[[listeners]]\nbind = \"127.0.0.1:0\"\nprotocol = \"{protocol}\"\n{extra}\n")
}

#[test]
fn paho_publishes_and_subscribes_over_ws_and_wss_in_both_versions() {
    let certs = new_certs(&[]);
    let broker = Broker::start(
        &format!(
            "{}{}",
            ws_listener("ws", "path = \"/broker\""),
            tls_listener("wss", &certs, "")
        ),
        "",
    );
    let (ws, wss) = (broker.port(0, "ws"), broker.port(1, "wss"));
    let ca = certs.join("ca.crt").display().to_string();
    for version in ["311", "5"] {
        let out = python("ws_pubsub.py", &[&ws.to_string(), "/broker", version]);
        assert_eq!(out.trim(), format!("ok ws/{version}/ws over-websocket"));
        let out = python("ws_pubsub.py", &[&wss.to_string(), "/mqtt", version, &ca]);
        assert_eq!(out.trim(), format!("ok ws/{version}/wss over-websocket"));
    }
}

#[test]
fn mqtt_js_publishes_and_subscribes_over_ws_in_both_versions() {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/listeners/js");
    assert!(
        js.join("node_modules/mqtt").exists(),
        "MQTT.js is missing: run .ci/setup-test-deps.sh (npm install in {})",
        js.display()
    );
    let broker = Broker::start(&ws_listener("ws", ""), "");
    let port = broker.port(0, "ws");
    for version in ["4", "5"] {
        let out = run(
            Command::new("node")
                .arg(js.join("pubsub.js"))
                .arg(format!("ws://localhost:{port}/mqtt"))
                .arg(version)
                .current_dir(&js),
            Duration::from_secs(30),
        );
        assert!(
            out.status.success(),
            "MQTT.js v{version}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert_eq!(
            text(&out.stdout).trim(),
            format!("ok mqttjs/{version} from-mqtt.js")
        );
    }
}

/// An HTTP upgrade request for `path` offering `protocols`.
fn upgrade(path: &str, protocols: Option<&str>) -> Vec<u8> {
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    if let Some(p) = protocols {
        request.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// A masked client frame (FIN set) with `opcode` and `payload` (under 126 bytes).
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    f.extend(mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Reads the HTTP response head.
fn response_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    text(&head)
}

/// Reads until the server closes; returns everything read.
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("the server kept the connection open: {e}; read {got:?}"),
        }
    }
}

const CONNECT_V311: [u8; 14] = [0x10, 0x0c, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 0];

#[test]
fn the_upgrade_answers_mqtt_and_refuses_other_paths_and_subprotocols() {
    let broker = Broker::start(&ws_listener("ws", ""), "");
    let port = broker.port(0, "ws");
    let mut ok = TcpStream::connect(("127.0.0.1", port)).unwrap();
    ok.write_all(&upgrade("/mqtt", Some("mqtt"))).unwrap();
    let head = response_head(&mut ok);
    // [MQTT-6.0.0-4] the subprotocol the server selects is "mqtt".
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("sec-websocket-protocol: mqtt"),
        "{head}"
    );
    // A CONNECT split over two binary frames is one packet [MQTT-6.0.0-2]: the CONNACK comes back
    // framed.
    ok.write_all(&frame(0x2, &CONNECT_V311[..5])).unwrap();
    ok.write_all(&frame(0x2, &CONNECT_V311[5..])).unwrap();
    let mut reply = [0u8; 6];
    ok.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    ok.read_exact(&mut reply).unwrap();
    assert_eq!(
        reply,
        [0x82, 4, 0x20, 2, 0, 0],
        "a binary frame holding CONNACK, accepted"
    );

    let wrong_path = exchange(port, &upgrade("/other", Some("mqtt")));
    assert!(
        text(&wrong_path).starts_with("HTTP/1.1 404"),
        "{}",
        text(&wrong_path)
    );
    let wrong_protocol = exchange(port, &upgrade("/mqtt", Some("chat")));
    assert!(
        text(&wrong_protocol).starts_with("HTTP/1.1 400"),
        "{}",
        text(&wrong_protocol)
    );
}

#[test]
fn garbage_and_text_frames_close_only_that_connection() {
    let broker = Broker::start(&format!("{}{}", ws_listener("ws", ""), plain_listener()), "");
    let (port, plain) = (broker.port(0, "ws"), broker.port(1, "mqtt"));
    let bystander = Subscriber::start(&["-p", &plain.to_string(), "-t", "still/#"]);
    // Not HTTP at all.
    let reply = exchange(
        port,
        b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00garbage\r\n\r\n",
    );
    assert!(!text(&reply).contains("101"), "{}", text(&reply));
    // [MQTT-6.0.0-1] MQTT travels in binary frames: a text frame ends the connection.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(&upgrade("/mqtt", Some("mqtt"))).unwrap();
    assert!(response_head(&mut stream).starts_with("HTTP/1.1 101"));
    stream.write_all(&frame(0x1, b"CONNECT please")).unwrap();
    read_to_close(&mut stream);
    // A valid frame carrying a malformed packet: closed too.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(&upgrade("/mqtt", Some("mqtt"))).unwrap();
    assert!(response_head(&mut stream).starts_with("HTTP/1.1 101"));
    stream
        .write_all(&frame(0x2, &[0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]))
        .unwrap();
    read_to_close(&mut stream);
    // Everyone else is served as before.
    publish_until_received(&bystander, &["-p", &plain.to_string()], "still/here", "yes");
    assert!(broker.log().contains("text frame"), "{}", broker.log());
}
