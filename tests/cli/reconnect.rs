//! A broker restart under a running `robustmq sub` or `robustmq pub -l`: they say so once,
//! reconnect, subscribe again and go on; -C and -W keep counting; `--no-reconnect` exits.

use super::harness::{Broker, Kind, Running};

const LOST: &str = "robustmq sub: connection lost (the broker closed the connection: server shutting down (0x8b)); reconnecting\n";

#[test]
fn sub_goes_on_after_a_broker_restart_and_counts_across_it() {
    let mut broker = Broker::start(Kind::Robustmq);
    let mut sub = broker.spawn_sub(&["-t", "r/#", "-C", "3", "-v"]);
    broker.publish(&["-t", "r/1", "-m", "before"]).assert().success();
    sub.wait_for("received PUBLISH");
    broker.restart();
    sub.wait_for("connection lost");
    sub.wait_for("reconnected");
    sub.wait_for("received SUBACK");
    for m in ["after 1", "after 2"] {
        broker.publish(&["-t", "r/2", "-m", m]).assert().success();
    }
    let done = sub.finish();
    assert_eq!(
        (done.code, done.stdout.as_str(), done.errors.as_str()),
        (
            Some(0),
            "r/1 before\nr/2 after 1\nr/2 after 2\n",
            &*format!("{LOST}robustmq sub: reconnected\n")
        )
    );
}

#[test]
fn sub_with_a_persistent_session_resumes_it() {
    let mut broker = Broker::start(Kind::Robustmq);
    let mut sub = broker.spawn_sub(&["-t", "s", "-c", "-i", "keeper", "-q", "1", "-C", "2"]);
    broker.restart();
    // The broker kept the subscription: no SUBSCRIBE is needed for these to arrive.
    sub.wait_for("received CONNACK (0, session present 1)");
    sub.wait_for("reconnected");
    broker
        .publish(&["-t", "s", "-m", "kept", "-q", "1"])
        .assert()
        .success();
    broker
        .publish(&["-t", "s", "-m", "again", "-q", "1"])
        .assert()
        .success();
    let done = sub.finish();
    assert_eq!((done.code, done.stdout.as_str()), (Some(0), "kept\nagain\n"));
    assert!(!done.errors.contains("SUBSCRIBE"), "{}", done.errors);
}

#[test]
fn sub_timeout_still_applies_while_the_broker_is_away() {
    let mut broker = Broker::start(Kind::Robustmq);
    let sub = broker.spawn_sub(&["-t", "w", "-W", "3"]);
    broker.stop();
    let done = sub.finish();
    assert_eq!(
        (done.code, done.errors.as_str()),
        (
            Some(27),
            &*format!("{LOST}robustmq sub: timed out after 3 s (-W)\n")
        )
    );
}

#[test]
fn sub_no_reconnect_exits_when_the_broker_goes() {
    let mut broker = Broker::start(Kind::Robustmq);
    let sub = broker.spawn_sub(&["-t", "n", "--no-reconnect"]);
    broker.stop();
    let done = sub.finish();
    assert_eq!(
        (done.code, done.errors.as_str()),
        (
            Some(1),
            "robustmq sub: the broker closed the connection: server shutting down (0x8b)\n"
        )
    );
}

#[test]
fn pub_lines_go_on_after_a_broker_restart() {
    let mut broker = Broker::start(Kind::Robustmq);
    let mut sub = broker.spawn_sub(&["-t", "l", "-C", "2"]);
    let mut publisher = Running::spawn_pub_lines(broker.port(), &["-t", "l", "-q", "1"]);
    publisher.send_line("one");
    sub.wait_for("received PUBLISH");
    broker.restart();
    publisher.wait_for("reconnected");
    sub.wait_for("reconnected");
    sub.wait_for("received SUBACK");
    publisher.send_line("two");
    publisher.close_stdin();
    let published = publisher.finish();
    let received = sub.finish();
    assert_eq!(
        (published.code, published.errors.as_str()),
        (
            Some(0),
            "robustmq pub: connection lost (the broker closed the connection: server shutting down (0x8b)); \
             reconnecting\nrobustmq pub: reconnected\n"
        )
    );
    assert_eq!((received.code, received.stdout.as_str()), (Some(0), "one\ntwo\n"));
}

#[test]
fn pub_lines_no_reconnect_exits_when_the_broker_goes() {
    let mut broker = Broker::start(Kind::Robustmq);
    let publisher = Running::spawn_pub_lines(broker.port(), &["-t", "l", "--no-reconnect"]);
    broker.stop();
    let done = publisher.finish();
    assert_eq!(
        (done.code, done.errors.as_str()),
        (
            Some(1),
            "robustmq pub: the broker closed the connection: server shutting down (0x8b)\n"
        )
    );
}
