//! `mosquitto_pub` / `mosquitto_sub` against the broker, for MQTT 3.1.1 and 5.0: QoS 0/1/2,
//! retained messages, wills, persistent sessions and shared subscriptions.

use std::time::{Duration, Instant};

use super::harness::{Broker, WAIT};
use super::mosquitto_cli::{lines, publish, publish_input, Sub, Version};

/// Runs `$name(Version::V311)` and `$name(Version::V5)` as the tests `$name::v311` and `$name::v5`.
macro_rules! for_both_versions {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            // [MQTT-7.0.0-2] an independent client needs nothing beyond the specification.
            #[test]
            fn v311() {
                super::$name(super::Version::V311)
            }

            #[test]
            fn v5() {
                super::$name(super::Version::V5)
            }
        }
    )*};
}

for_both_versions!(
    qos0,
    qos1,
    qos2,
    qos_downgrade,
    retained,
    will_on_kill,
    no_will_on_clean_disconnect,
    persistent_session,
    shared_subscription,
);

/// A subscriber at QoS `qos` receives three messages published at QoS `qos`, in order, at `qos`.
fn pubsub(v: Version, qos: u8) {
    let broker = Broker::start();
    let topic = format!("interop/mosquitto/qos{qos}");
    let q = qos.to_string();
    let mut sub = Sub::spawn(&broker, v, "sub", &[&topic], &["-q", &q, "-C", "3", "-W", "10"]);
    assert_eq!(sub.wait_subscribed(), vec![qos], "granted QoS");
    let sent: Vec<String> = (1..=3).map(|i| format!("message {i} at qos {qos}")).collect();
    for payload in &sent {
        publish(&broker, v, &["-t", &topic, "-q", &q, "-m", payload]);
    }
    let got = sub.finish();
    let expected: Vec<String> = sent.iter().map(|p| format!("{topic} {p}")).collect();
    assert_eq!(lines(&got), expected);
    for m in &got {
        assert_eq!((m.qos, m.retain), (qos, false), "delivery flags of {m:?}");
    }
    broker.stop();
}

fn qos0(v: Version) {
    pubsub(v, 0);
}

fn qos1(v: Version) {
    pubsub(v, 1);
}

fn qos2(v: Version) {
    pubsub(v, 2);
}

/// Messages are delivered at the lower of the published QoS and the subscription's QoS.
fn qos_downgrade(v: Version) {
    let broker = Broker::start();
    let topic = "interop/mosquitto/downgrade";
    let mut sub = Sub::spawn(&broker, v, "sub", &[topic], &["-q", "1", "-C", "3", "-W", "10"]);
    assert_eq!(sub.wait_subscribed(), vec![1]);
    for q in ["2", "1", "0"] {
        publish(
            &broker,
            v,
            &["-t", topic, "-q", q, "-m", &format!("published at {q}")],
        );
    }
    let got = sub.finish();
    let summary: Vec<(String, u8)> = got.iter().map(|m| (m.line.clone(), m.qos)).collect();
    assert_eq!(
        summary,
        vec![
            (format!("{topic} published at 2"), 1),
            (format!("{topic} published at 1"), 1),
            (format!("{topic} published at 0"), 0),
        ]
    );
    broker.stop();
}

/// `-r` stores a retained message: a live subscriber gets it with RETAIN=0, a later one with
/// RETAIN=1; `-r -n` clears it.
fn retained(v: Version) {
    let broker = Broker::start();
    let topic = "interop/mosquitto/retained/state";
    let marker = "interop/mosquitto/retained/marker";

    let mut live = Sub::spawn(&broker, v, "live", &[topic], &["-q", "1", "-C", "1", "-W", "10"]);
    live.wait_subscribed();
    publish(&broker, v, &["-t", topic, "-q", "1", "-r", "-m", "on"]);
    let got = live.finish();
    assert_eq!(lines(&got), vec![format!("{topic} on")]);
    assert!(
        !got[0].retain,
        "an established subscription gets RETAIN=0: {got:?}"
    );

    let later = Sub::spawn(&broker, v, "later", &[topic], &["-q", "1", "-C", "1", "-W", "10"]);
    let got = later.finish();
    assert_eq!(lines(&got), vec![format!("{topic} on")], "the retained message");
    assert_eq!((got[0].qos, got[0].retain), (1, true), "flags of {got:?}");

    publish(&broker, v, &["-t", topic, "-q", "1", "-r", "-n"]);
    let mut after = Sub::spawn(
        &broker,
        v,
        "after-clear",
        &[topic, marker],
        &["-q", "1", "-C", "1", "-W", "10"],
    );
    assert_eq!(after.wait_subscribed(), vec![1, 1]);
    publish(&broker, v, &["-t", marker, "-q", "1", "-m", "after clear"]);
    assert_eq!(
        lines(&after.finish()),
        vec![format!("{marker} after clear")],
        "after `-r -n` nothing may be retained on {topic}"
    );
    broker.stop();
}

/// A client killed with SIGKILL (no DISCONNECT) has its will published.
fn will_on_kill(v: Version) {
    let broker = Broker::start();
    let will_topic = "interop/mosquitto/will/victim";
    let mut watcher = Sub::spawn(
        &broker,
        v,
        "watcher",
        &["interop/mosquitto/will/+"],
        &["-q", "1", "-C", "1", "-W", "10"],
    );
    watcher.wait_subscribed();
    let mut victim = Sub::spawn(
        &broker,
        v,
        "victim",
        &["interop/mosquitto/victim/inbox"],
        &[
            "-i",
            "interop-will-victim",
            "--will-topic",
            will_topic,
            "--will-payload",
            "victim vanished",
            "--will-qos",
            "1",
        ],
    );
    victim.wait_subscribed();
    victim.kill();
    let got = watcher.finish();
    assert_eq!(lines(&got), vec![format!("{will_topic} victim vanished")]);
    assert_eq!((got[0].qos, got[0].retain), (1, false), "flags of {got:?}");
    broker.stop();
}

/// A client that ends with DISCONNECT does not have its will published.
fn no_will_on_clean_disconnect(v: Version) {
    let broker = Broker::start();
    let marker = "interop/mosquitto/will/marker";
    let mut watcher = Sub::spawn(
        &broker,
        v,
        "watcher",
        &["interop/mosquitto/will/+"],
        &["-q", "1", "-C", "1", "-W", "10"],
    );
    watcher.wait_subscribed();
    let mut polite = Sub::spawn(
        &broker,
        v,
        "polite",
        &["interop/mosquitto/polite/trigger"],
        &[
            "-C",
            "1",
            "-W",
            "10",
            "--will-topic",
            "interop/mosquitto/will/polite",
            "--will-payload",
            "must not be published",
        ],
    );
    polite.wait_subscribed();
    publish(
        &broker,
        v,
        &["-t", "interop/mosquitto/polite/trigger", "-m", "go"],
    );
    polite.finish();
    publish(&broker, v, &["-t", marker, "-q", "1", "-m", "after clean exit"]);
    assert_eq!(
        lines(&watcher.finish()),
        vec![format!("{marker} after clean exit")],
        "no will may be published after a clean DISCONNECT"
    );
    broker.stop();
}

/// `-c -i ID` keeps the session: QoS 1 messages published while the client is away arrive when
/// it reconnects; reconnecting without `-c` discards them.
fn persistent_session(v: Version) {
    let broker = Broker::start();
    let topic = "interop/mosquitto/session/data";
    let marker = "interop/mosquitto/session/marker";
    let id = "interop-persistent";
    let persistent = ["-c", "-i", id, "-q", "1"];

    let mut first = Sub::spawn(
        &broker,
        v,
        "first",
        &[topic],
        &[&persistent[..], &["-E"]].concat(),
    );
    assert_eq!(first.wait_subscribed(), vec![1]);
    assert!(first.finish().is_empty());

    let sent: Vec<String> = (1..=3).map(|i| format!("while away {i}")).collect();
    for payload in &sent {
        publish(&broker, v, &["-t", topic, "-q", "1", "-m", payload]);
    }
    let back = Sub::spawn(
        &broker,
        v,
        "reconnected",
        &[topic],
        &[&persistent[..], &["-C", "3", "-W", "10"]].concat(),
    );
    let got = back.finish();
    let expected: Vec<String> = sent.iter().map(|p| format!("{topic} {p}")).collect();
    assert_eq!(
        lines(&got),
        expected,
        "messages queued for the persistent session"
    );
    assert!(got.iter().all(|m| m.qos == 1), "delivered at QoS 1: {got:?}");

    // The session is still stored: one more message waits in it, then a clean connection
    // with the same client id discards the session and that message.
    publish(&broker, v, &["-t", topic, "-q", "1", "-m", "discarded"]);
    let mut clean = Sub::spawn(
        &broker,
        v,
        "clean",
        &[topic, marker],
        &["-i", id, "-q", "1", "-C", "1", "-W", "10"],
    );
    assert_eq!(clean.wait_subscribed(), vec![1, 1]);
    publish(
        &broker,
        v,
        &["-t", marker, "-q", "1", "-m", "after clean connect"],
    );
    assert_eq!(
        lines(&clean.finish()),
        vec![format!("{marker} after clean connect")],
        "a clean connection must not receive the old session's messages"
    );
    broker.stop();
}

/// Two members of `$share/g/...` split N messages: each gets some, together exactly N.
fn shared_subscription(v: Version) {
    const N: usize = 20;
    let broker = Broker::start();
    let topic = "interop/mosquitto/shared/jobs";
    let filter = format!("$share/g/{topic}");
    let mut members: Vec<Sub> = ["member-1", "member-2"]
        .iter()
        .map(|name| Sub::spawn(&broker, v, name, &[&filter], &["-q", "1", "-W", "20"]))
        .collect();
    for m in &mut members {
        assert_eq!(m.wait_subscribed(), vec![1]);
    }
    let input: String = (0..N).map(|i| format!("job {i}\n")).collect();
    publish_input(&broker, v, &["-t", topic, "-q", "1", "-l"], Some(input));

    let mut got: Vec<Vec<String>> = vec![Vec::new(), Vec::new()];
    let deadline = Instant::now() + WAIT;
    while got.iter().map(Vec::len).sum::<usize>() < N && Instant::now() < deadline {
        for (i, m) in members.iter_mut().enumerate() {
            while let Some(msg) = m.poll_message(Duration::from_millis(20)) {
                assert_eq!(msg.qos, 1, "{msg:?}");
                got[i].push(msg.line);
            }
        }
    }
    for m in &mut members {
        m.kill();
    }
    let mut all: Vec<String> = got.concat();
    all.sort();
    let mut expected: Vec<String> = (0..N).map(|i| format!("{topic} job {i}")).collect();
    expected.sort();
    assert_eq!(
        all, expected,
        "every message exactly once across the group (member 1: {:?}, member 2: {:?})",
        got[0], got[1]
    );
    assert!(
        !got[0].is_empty() && !got[1].is_empty(),
        "both members should get a share: {} and {}",
        got[0].len(),
        got[1].len()
    );
    broker.stop();
}
