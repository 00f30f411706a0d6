//! When `robustmq sub` stops and what it skips: -C, -W, -R, --retained-only, --remove-retained,
//! -E with a persistent session, and the v5 subscription options.

use super::harness::{Broker, Kind};

#[test]
fn count_stops_after_n_messages() {
    let broker = Broker::start(Kind::Robustmq);
    let sub = broker.spawn_sub(&["-t", "c", "-C", "2"]);
    for m in ["1", "2", "3"] {
        broker.publish(&["-t", "c", "-m", m]).assert().success();
    }
    let done = sub.finish();
    assert_eq!(
        (done.code, done.stdout.as_str(), done.errors.as_str()),
        (Some(0), "1\n2\n", "")
    );
}

#[test]
fn timeout_exits_27() {
    let broker = Broker::start(Kind::Robustmq);
    broker
        .subscribe(&["-t", "quiet", "-W", "0.5"])
        .assert()
        .code(27)
        .stdout("")
        .stderr("robustmq sub: timed out after 0.5 s (-W)\n");
    let sub = broker.spawn_sub(&["-t", "few", "-C", "3", "-W", "1"]);
    broker
        .publish(&["-t", "few", "-m", "only one"])
        .assert()
        .success();
    let done = sub.finish();
    assert_eq!(
        (done.code, done.stdout.as_str(), done.errors.as_str()),
        (
            Some(27),
            "only one\n",
            "robustmq sub: timed out after 1 s (-W) with 1 of 3 messages\n"
        )
    );
}

/// Retained messages: -R skips them, --retained-only prints only them, --remove-retained
/// clears them.
fn retained_flags(kind: Kind) {
    let broker = Broker::start(kind);
    for (topic, payload) in [("ret/a", "old a"), ("ret/b", "old b")] {
        broker
            .publish(&["-t", topic, "-m", payload, "-r", "-q", "1"])
            .assert()
            .success();
    }
    // -R: the retained ones are skipped (and not counted); the live one is printed.
    let sub = broker.spawn_sub(&["-t", "ret/#", "-R", "-C", "1", "-v"]);
    broker.publish(&["-t", "ret/c", "-m", "live"]).assert().success();
    let done = sub.finish();
    assert_eq!((done.code, done.stdout.as_str()), (Some(0), "ret/c live\n"));
    // --retained-only prints what is retained, then stops by itself.
    let out = broker
        .subscribe(&["-t", "ret/#", "--retained-only", "-F", "%t %p %r"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut lines: Vec<_> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    assert_eq!(lines, ["ret/a old a 1", "ret/b old b 1"]);
    // --remove-retained clears them; afterwards nothing is retained.
    broker
        .subscribe(&["-t", "ret/#", "--retained-only", "--remove-retained", "-v"])
        .assert()
        .success();
    broker
        .subscribe(&["-t", "ret/#", "--retained-only", "-v"])
        .assert()
        .success()
        .stdout("");
}

#[test]
fn retained_flags_robustmq() {
    retained_flags(Kind::Robustmq);
}

#[test]
fn retained_flags_mosquitto() {
    retained_flags(Kind::Mosquitto);
}

/// -E with -c sets up a persistent session; messages published meanwhile wait in it.
fn persistent_session(kind: Kind, version: &str) {
    let broker = Broker::start(kind);
    let id = format!("persist-{version}");
    let session = ["-V", version, "-i", id.as_str(), "-c", "-q", "1", "-t", "queued"];
    broker
        .subscribe(&[&session[..], &["-E"]].concat())
        .assert()
        .success()
        .stdout("");
    broker
        .publish(&["-t", "queued", "-m", "kept for you", "-q", "1"])
        .assert()
        .success();
    broker
        .subscribe(&[&session[..], &["-C", "1", "-W", "5"]].concat())
        .assert()
        .success()
        .stdout("kept for you\n");
}

#[test]
fn persistent_session_both_versions_robustmq() {
    persistent_session(Kind::Robustmq, "5");
    persistent_session(Kind::Robustmq, "311");
}

#[test]
fn persistent_session_mosquitto() {
    persistent_session(Kind::Mosquitto, "5");
}

/// --retain-handling 2 sends no retained message; --retain-as-published keeps the flag on a live
/// retained message; --no-local is sent (the debug trace shows the options).
fn subscription_options(kind: Kind) {
    let broker = Broker::start(kind);
    broker
        .publish(&["-t", "opt", "-m", "stale", "-r"])
        .assert()
        .success();
    let rap = broker.spawn_sub(&[
        "-t",
        "opt",
        "-C",
        "1",
        "-F",
        "%r %p",
        "--retain-handling",
        "2",
        "--retain-as-published",
        "--no-local",
    ]);
    let plain = broker.spawn_sub(&["-t", "opt", "-C", "2", "-F", "%r %p"]);
    broker
        .publish(&["-t", "opt", "-m", "fresh", "-r"])
        .assert()
        .success();
    let done = rap.finish();
    assert_eq!((done.code, done.stdout.as_str()), (Some(0), "1 fresh\n"));
    let done = plain.finish();
    assert_eq!((done.code, done.stdout.as_str()), (Some(0), "1 stale\n0 fresh\n"));
    let trace = broker
        .subscribe(&[
            "-d",
            "-E",
            "-t",
            "opt",
            "--no-local",
            "--retain-handling",
            "1",
            "-q",
            "2",
        ])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let trace = String::from_utf8(trace).unwrap();
    assert!(
        trace.contains("Topic: opt, QoS: 2, NL: 1, RAP: 0, RH: 1"),
        "{trace}"
    );
}

#[test]
fn subscription_options_robustmq() {
    subscription_options(Kind::Robustmq);
}

#[test]
fn subscription_options_mosquitto() {
    subscription_options(Kind::Mosquitto);
}

/// Ctrl-C ends `sub` with a clean DISCONNECT (exit 0, will discarded); dying does not, and the
/// broker publishes the will.
#[test]
fn will_is_published_only_when_the_client_dies() {
    let broker = Broker::start(Kind::Robustmq);
    let watcher = broker.spawn_sub(&["-t", "wills/#", "-v", "-C", "1", "-q", "1"]);
    let will = |name: &str| {
        let topic = format!("wills/{name}");
        broker.spawn_sub(&[
            "-t",
            "x",
            "--will-topic",
            &topic,
            "--will-payload",
            name,
            "--will-qos",
            "1",
        ])
    };
    let interrupted = will("interrupted");
    interrupted.signal("INT");
    let done = interrupted.finish();
    assert_eq!((done.code, done.errors.as_str()), (Some(0), ""));
    let killed = will("killed");
    killed.signal("KILL");
    let done = watcher.finish();
    assert_eq!(
        (done.code, done.stdout.as_str()),
        (Some(0), "wills/killed killed\n")
    );
}
