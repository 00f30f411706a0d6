//! What `robustmq sub` prints: the payload, `-v`, `-F`, `--json` (with v5 properties), `-N`.

use std::io::Write;

use super::harness::{client, drain, read_packet, send_connack, stdout_of, Broker, FakeBroker, Kind};
use super::wire;

/// Publishes one retained message with MQTT 5 properties, for `sub -C 1` to print.
fn retained_with_properties(broker: &Broker, topic: &str, payload: &str) {
    broker
        .publish(&[
            "-t",
            topic,
            "-m",
            payload,
            "-q",
            "1",
            "-r",
            "-D",
            "publish",
            "content-type",
            "text/plain",
            "-D",
            "publish",
            "user-property",
            "k",
            "v1",
            "-D",
            "publish",
            "user-property",
            "k",
            "v2",
        ])
        .assert()
        .success();
}

fn printed(broker: &Broker, args: &[&str]) -> String {
    stdout_of(broker.subscribe(args))
}

#[test]
fn payload_verbose_format_json_and_no_newline() {
    let broker = Broker::start(Kind::Robustmq);
    retained_with_properties(&broker, "out/a", "hello world");
    let sub = |extra: &[&str]| {
        let mut args = vec!["-t", "out/#", "-C", "1", "-q", "1"];
        args.extend_from_slice(extra);
        printed(&broker, &args)
    };
    assert_eq!(sub(&[]), "hello world\n");
    assert_eq!(sub(&["-v"]), "out/a hello world\n");
    assert_eq!(sub(&["-N"]), "hello world");
    assert_eq!(
        sub(&["-F", "%t|%p|%q|%r|%l|%C|%P|%-7t|%7.3t|%05l|%%|\\t|@@"]),
        "out/a|hello world|1|1|11|text/plain|k:v1 k:v2|out/a  |    out|00011|%|\t|@\n"
    );
    assert_eq!(
        sub(&["--json"]),
        concat!(
            r#"{"topic":"out/a","payload":"hello world","qos":1,"retain":true,"properties":{"#,
            r#""content_type":"text/plain","user_properties":[{"key":"k","value":"v1"},"#,
            r#"{"key":"k","value":"v2"}]}}"#,
            "\n"
        )
    );
}

#[test]
fn json_of_binary_and_of_a_311_message() {
    let broker = Broker::start(Kind::Robustmq);
    broker
        .publish(&["-t", "bin", "-s", "-r", "-V", "311"])
        .write_stdin(vec![0xff, 0x00, 0x41])
        .assert()
        .success();
    assert_eq!(
        printed(&broker, &["-t", "bin", "-C", "1", "--json", "-V", "311"]),
        "{\"topic\":\"bin\",\"payload_base64\":\"/wBB\",\"qos\":0,\"retain\":true}\n"
    );
}

/// Every message property `pub -D` can set arrives and shows in `--json`.
fn v5_properties_in_json(kind: Kind) {
    let broker = Broker::start(kind);
    let sub = broker.spawn_sub(&["-t", "props", "-q", "1", "-C", "1", "--json"]);
    broker
        .publish(&[
            "-t",
            "props",
            "-q",
            "1",
            "-m",
            "{\"x\":1}",
            "-D",
            "publish",
            "payload-format-indicator",
            "1",
            "-D",
            "publish",
            "message-expiry-interval",
            "3600",
            "-D",
            "publish",
            "content-type",
            "application/json",
            "-D",
            "publish",
            "response-topic",
            "replies/here",
            "-D",
            "publish",
            "correlation-data",
            "req-7",
            "-D",
            "publish",
            "user-property",
            "a",
            "b",
        ])
        .assert()
        .success();
    let done = sub.finish();
    assert_eq!(done.code, Some(0), "{}", done.errors);
    // The broker counts the expiry down, so it may have lost a second on the way.
    let line = done.stdout.replace(
        "\"message_expiry_interval\":3599",
        "\"message_expiry_interval\":3600",
    );
    assert_eq!(
        line,
        concat!(
            r#"{"topic":"props","payload":"{\"x\":1}","qos":1,"retain":false,"properties":{"#,
            r#""payload_format_indicator":1,"message_expiry_interval":3600,"#,
            r#""content_type":"application/json","response_topic":"replies/here","#,
            r#""correlation_data":"req-7","user_properties":[{"key":"a","value":"b"}]}}"#,
            "\n"
        )
    );
}

#[test]
fn v5_properties_in_json_robustmq() {
    v5_properties_in_json(Kind::Robustmq);
}

#[test]
fn v5_properties_in_json_mosquitto() {
    v5_properties_in_json(Kind::Mosquitto);
}

#[test]
fn debug_prints_every_packet() {
    let broker = Broker::start(Kind::Robustmq);
    let out = broker
        .publish(&["-d", "-t", "dbg", "-m", "hello", "-q", "2", "-i", "dbg-client"])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        "Client dbg-client sending CONNECT (v5.0, c1, k60, id 'dbg-client')\n\
         Client dbg-client received CONNACK (0, session present 0)\n\
         Client dbg-client sending PUBLISH (d0, q2, r0, m1, 'dbg', ... (5 bytes))\n\
         Client dbg-client received PUBREC (Mid: 1, RC:16)\n\
         Client dbg-client sending PUBREL (Mid: 1, RC:0)\n\
         Client dbg-client received PUBCOMP (Mid: 1, RC:0)\n\
         Client dbg-client sending DISCONNECT (0)\n"
    );
}

/// `robustmq sub` against a fake broker that sends one v5 PUBLISH on "ids/t" carrying two
/// Subscription Identifiers (7, and 200,000 in three bytes) once the SUBSCRIBE is in.
fn with_two_subscription_ids(format: &[&str]) -> String {
    let fake = FakeBroker::start(|stream, level| {
        send_connack(stream, level);
        let Some((0x82, subscribe)) = read_packet(stream) else {
            return;
        };
        stream
            .write_all(&[0x90, 4, subscribe[0], subscribe[1], 0, 0])
            .unwrap();
        let mut publish = wire::Publish::new(wire::Level::V5, "ids/t", b"both");
        publish.props = wire::Props::new()
            .var_int(wire::prop::SUBSCRIPTION_IDENTIFIER, 7)
            .var_int(wire::prop::SUBSCRIPTION_IDENTIFIER, 200_000);
        stream.write_all(&publish.bytes()).unwrap();
        drain(stream);
    });
    let mut args = vec!["-t", "ids/#", "-C", "1", "-V", "5"];
    args.extend_from_slice(format);
    stdout_of(client("sub", fake.port(), &args))
}

// v5 3.3.4 [MQTT-3.3.4-4]: a server that sends one copy of a message matching several
// subscriptions puts in all their Subscription Identifiers; the client reads and shows them all.
#[test]
fn every_subscription_identifier_of_a_message_shows() {
    assert_eq!(
        with_two_subscription_ids(&["--json"]),
        concat!(
            r#"{"topic":"ids/t","payload":"both","qos":0,"retain":false,"properties":{"#,
            r#""subscription_identifiers":[7,200000]}}"#,
            "\n"
        )
    );
    assert_eq!(
        with_two_subscription_ids(&["-F", "%t %S %p"]),
        "ids/t 7,200000 both\n"
    );
}
