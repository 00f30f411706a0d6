//! `sub -F %j` and `-F %J` print what `mosquitto_sub -F %j` / `%J` print, field for field, in
//! both protocol versions, compact and `--pretty`; only the receive time (`tst`) differs.

use super::harness::{Broker, Kind, Running};

/// `text` with the value of every `"tst"` key blanked, after checking it has mosquitto's shape
/// (`2024-05-06T21:48:00.123456Z+0100`).
fn without_tst(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"tst\":") {
        let (before, after) = rest.split_at(at + "\"tst\":".len());
        out.push_str(before);
        let open = after.find('"').expect("tst value");
        let close = open + 1 + after[open + 1..].find('"').expect("end of tst");
        let tst = &after[open + 1..close];
        let shape: String = tst
            .chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect();
        assert!(
            shape.starts_with("9999-99-99T99:99:99.999999Z") && shape.len() == 32,
            "tst {tst:?} is not in mosquitto's shape"
        );
        out.push_str(&after[..open]);
        out.push_str("\"…\"");
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// What a subscriber printed, without mosquitto_sub's `-d` lines (it prints them on stdout).
fn printed(sub: Running) -> (String, String) {
    let done = sub.finish();
    assert_eq!(done.code, Some(0), "{}", done.errors);
    let text: String = done
        .stdout
        .lines()
        .filter(|l| !l.starts_with("Client ") && !l.starts_with("Subscribed (mid"))
        .map(|l| format!("{l}\n"))
        .collect();
    (without_tst(&text), done.errors)
}

/// A retained message, for the subscribers to receive with the retain flag when they
/// subscribe.
fn publish_retained(broker: &Broker) {
    broker
        .publish(&["-t", "j/0", "-m", "{\"kept\":true}", "-r", "-q", "1"])
        .assert()
        .success();
}

/// Text with quotes, a backslash, a tab, a non-ASCII letter and a control character (not
/// JSON), JSON with every MQTT 5 property `pub -D` sets at QoS 1, and an empty message.
fn publish_live(broker: &Broker) {
    let publish = |args: &[&str]| broker.publish(args).assert().success();
    publish(&["-t", "j/1", "-m", "say \"hi\"\\ \t é \u{1}"]);
    publish(&[
        "-t",
        "j/2",
        "-m",
        "{\"n\":1,\"list\":[1,2],\"s\":\"t\"}",
        "-q",
        "1",
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
        "re/ply",
        "-D",
        "publish",
        "correlation-data",
        "c-1",
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
    ]);
    publish(&["-t", "j/3", "-n"]);
}

/// Runs both subscribers with the same flags and returns what each printed.
fn both(version: &str, flags: &[&str]) -> ((String, String), (String, String)) {
    let broker = Broker::start(Kind::Robustmq);
    publish_retained(&broker);
    let args: Vec<&str> = [&["-V", version, "-t", "j/#", "-q", "1", "-C", "4"], flags].concat();
    let ours = broker.spawn_sub(&args);
    let theirs = Running::spawn_mosquitto_sub(broker.port(), &args);
    publish_live(&broker);
    (printed(ours), printed(theirs))
}

#[test]
fn percent_j_is_mosquitto_subs_json_with_v5_properties() {
    let ((ours, _), (theirs, _)) = both("mqttv5", &["-F", "%j"]);
    assert_eq!(ours, theirs);
    // The fields scripts read, to make sure the comparison compared something.
    assert!(ours.contains(r#""payloadlen":28,"mid":"#), "{ours}");
    assert!(
        ours.contains(r#""user-properties":{"k":"v1","k":"v2"}"#),
        "{ours}"
    );
    assert!(
        ours.contains(r#""retain":1"#) && ours.contains(r#""payload":null"#),
        "{ours}"
    );
}

#[test]
fn percent_j_is_mosquitto_subs_json_in_mqtt_311() {
    let ((ours, _), (theirs, _)) = both("mqttv311", &["-F", "%j"]);
    assert_eq!(ours, theirs);
    assert!(!ours.contains("properties"), "{ours}");
}

#[test]
fn percent_capital_j_parses_the_payload_and_pretty_indents_as_mosquitto_sub() {
    let ((ours, errors), (theirs, _)) = both("mqttv5", &["-F", "%J", "--pretty"]);
    assert_eq!(ours, theirs);
    assert!(ours.contains("\"payload\":\t{\n\t\t\"n\":\t1,"), "{ours}");
    // The payload that is not JSON prints an empty field, and says so, as mosquitto_sub does.
    assert!(
        errors.contains("robustmq sub: the payload on topic \"j/1\" is not valid JSON (-F %J)"),
        "{errors}"
    );
}
