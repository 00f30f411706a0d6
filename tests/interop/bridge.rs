//! Bridges to a Mosquitto or a robustmq remote: local messages forwarded out, remote ones taken
//! in, with the topic prefixes swapped, and nothing sent back where it came from.

use std::time::{Duration, Instant};

use super::harness::{Broker, WAIT};
use super::mosquitto_cli::{publish, Msg, Sub, Version};
use super::versions::both_versions;

/// A robustmq broker bridged to `remote` with `protocol` (5 or 4) and these `[[bridges.topics]]`.
fn bridged(remote: &Broker, protocol: u8, topics: &str) -> Broker {
    Broker::start_robustmq_with(&format!(
        "[[bridges]]\nname = \"up\"\nremote = \"mqtt://127.0.0.1:{}\"\nprotocol = {protocol}\nclient_id = \"edge-1\"\n\n{topics}",
        remote.port()
    ))
}

/// The broker at the other end of a bridge.
#[derive(Debug, Clone, Copy)]
enum Remote {
    Mosquitto,
    Robustmq,
}

impl Remote {
    fn start(self) -> Broker {
        match self {
            Remote::Mosquitto => Broker::start_mosquitto(),
            Remote::Robustmq => Broker::start_robustmq_with(""),
        }
    }
}

/// Waits until the bridge's subscription at the remote is in place, so that what is published
/// there from now on reaches the bridge: publishes probes on `remote_topic` at the remote until
/// one arrives locally on `local_topic`, then takes the last probe, so that none is left in
/// flight. Works whatever the remote, without reading its log.
fn wait_remote_subscribed(remote: &Broker, local: &Broker, remote_topic: &str, local_topic: &str) {
    let mut probe = Sub::spawn(local, Version::V5, "probe", &[local_topic], &["-q", "1"]);
    probe.wait_subscribed();
    let deadline = Instant::now() + WAIT;
    for n in 0.. {
        assert!(
            Instant::now() < deadline,
            "the bridge never subscribed at the remote; remote log:\n{}",
            remote.log()
        );
        let last = n.to_string();
        publish(
            remote,
            Version::V311,
            &["-t", remote_topic, "-m", &last, "-q", "1"],
        );
        if let Some(first) = probe.poll_message(Duration::from_millis(200)) {
            // Probes arrive in order: once the last one is in, none is left on the way.
            let last = format!("{local_topic} {last}");
            if first.line != last {
                lines_until(&mut probe, &last);
            }
            break;
        }
    }
    probe.kill();
}

/// Waits until the bridge "up" of `local` has said each of `wanted` in `$SYS` (published every
/// second in these tests).
fn wait_sys(local: &Broker, wanted: &[&str]) {
    let mut sys = Sub::spawn(local, Version::V5, "sys", &["$SYS/broker/bridges/up/#"], &[]);
    let mut seen: Vec<String> = Vec::new();
    // Overall, not per message: the figures come every second whether or not they say it.
    let deadline = Instant::now() + WAIT;
    while !wanted.iter().all(|w| seen.iter().any(|s| s == w)) {
        let msg = sys
            .poll_message(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|| panic!("$SYS never said {wanted:?}; saw {seen:?}"));
        seen.push(msg.line);
    }
}

/// Publishes `payload` on `topic` at QoS 1 to `broker`, and takes the next message `sub` gets.
fn publish_and_take(broker: &Broker, topic: &str, payload: &str, sub: &mut Sub) -> Msg {
    publish(broker, Version::V311, &["-t", topic, "-m", payload, "-q", "1"]);
    sub.poll_message(WAIT)
        .unwrap_or_else(|| panic!("{topic} {payload} never arrived"))
}

/// What `sub` gets, up to and with `last`.
fn lines_until(sub: &mut Sub, last: &str) -> Vec<String> {
    let mut saw: Vec<String> = Vec::new();
    while saw.last().map(String::as_str) != Some(last) {
        let msg = sub
            .poll_message(WAIT)
            .unwrap_or_else(|| panic!("{last:?} never arrived; saw {saw:?}"));
        saw.push(msg.line);
    }
    saw
}

fn forwards_out_and_in_with_prefixes(remote: Remote, protocol: u8) {
    let remote = remote.start();
    let local = bridged(
        &remote,
        protocol,
        "[[bridges.topics]]\nfilter = \"sensors/#\"\ndirection = \"out\"\nqos = 1\nremote_prefix = \"site1/\"\n\n\
         [[bridges.topics]]\nfilter = \"commands/#\"\ndirection = \"in\"\nqos = 1\nlocal_prefix = \"edge/\"\nremote_prefix = \"site1/\"\n",
    );
    wait_remote_subscribed(&remote, &local, "site1/commands/probe", "edge/commands/probe");
    let mut at_remote = Sub::spawn(&remote, Version::V5, "remote", &["site1/#"], &["-q", "1"]);
    at_remote.wait_subscribed();
    let mut at_local = Sub::spawn(&local, Version::V5, "local", &["edge/#"], &["-q", "1"]);
    at_local.wait_subscribed();

    // Out: a local message, renamed under the remote prefix.
    let got = publish_and_take(&local, "sensors/t1", "21.5", &mut at_remote);
    assert_eq!((got.line.as_str(), got.qos), ("site1/sensors/t1 21.5", 1));
    // In: a remote message, renamed under the local prefix.
    let got = publish_and_take(&remote, "site1/commands/reboot", "now", &mut at_local);
    assert_eq!(got.line, "edge/commands/reboot now");
    // Not forwarded back out: no "out" rule matches it, and the remote saw only its own.
    let got = at_remote
        .poll_message(WAIT)
        .expect("the remote subscriber sees its own publish");
    assert_eq!(got.line, "site1/commands/reboot now");

    // What the bridge did, in $SYS (published every second here); the probes came in too.
    wait_sys(
        &local,
        &[
            "$SYS/broker/bridges/up/state connected",
            "$SYS/broker/bridges/up/sent 1",
            "$SYS/broker/bridges/up/queued 0",
            "$SYS/broker/bridges/up/dropped 0",
        ],
    );
    local.stop();
}

#[test]
fn a_v5_bridge_forwards_out_and_in_with_prefixes() {
    forwards_out_and_in_with_prefixes(Remote::Mosquitto, 5);
}

#[test]
fn a_v311_bridge_forwards_out_and_in_with_prefixes() {
    forwards_out_and_in_with_prefixes(Remote::Mosquitto, 4);
}

#[test]
fn a_v5_bridge_to_robustmq_forwards_out_and_in_with_prefixes() {
    forwards_out_and_in_with_prefixes(Remote::Robustmq, 5);
}

#[test]
fn a_v311_bridge_to_robustmq_forwards_out_and_in_with_prefixes() {
    forwards_out_and_in_with_prefixes(Remote::Robustmq, 4);
}

/// A "both" rule: what comes in is not forwarded back out, and what goes out does not come
/// back in. v5 says so with "no local" on the remote subscription; 3.1.1 with Mosquitto's
/// bridge protocol level (0x84), without which the remote sends the local message back.
fn a_both_rule_sends_nothing_back_where_it_came_from(remote: Remote, protocol: u8) {
    let remote = remote.start();
    let local = bridged(
        &remote,
        protocol,
        "[[bridges.topics]]\nfilter = \"chat/#\"\ndirection = \"both\"\nqos = 1\n",
    );
    wait_remote_subscribed(&remote, &local, "chat/probe", "chat/probe");
    let mut at_remote = Sub::spawn(&remote, Version::V5, "remote", &["chat/#"], &["-q", "1"]);
    at_remote.wait_subscribed();
    let mut at_local = Sub::spawn(&local, Version::V5, "local", &["chat/#"], &["-q", "1"]);
    at_local.wait_subscribed();

    publish(
        &remote,
        Version::V5,
        &["-t", "chat/from-remote", "-m", "r", "-q", "1"],
    );
    let got = at_local.poll_message(WAIT).expect("the remote message taken in");
    assert_eq!(got.line, "chat/from-remote r");
    // Had the bridge queued it to go back out, it would leave before this one: one queue, one link.
    publish(
        &local,
        Version::V5,
        &["-t", "chat/from-local", "-m", "l", "-q", "1"],
    );
    let remote_saw = lines_until(&mut at_remote, "chat/from-local l");
    assert_eq!(remote_saw, ["chat/from-remote r", "chat/from-local l"]);
    // And the local message does not come back in (the remote subscription is no local).
    publish(&remote, Version::V5, &["-t", "chat/end", "-m", "e", "-q", "1"]);
    let local_saw = lines_until(&mut at_local, "chat/end e");
    assert_eq!(local_saw, ["chat/from-local l", "chat/end e"]);
    local.stop();
}

both_versions! {
    #[test]
    fn a_both_rule_sends_nothing_back_where_it_came_from_v311,
        a_both_rule_sends_nothing_back_where_it_came_from_v5(level = 4, 5) {
        a_both_rule_sends_nothing_back_where_it_came_from(Remote::Mosquitto, level);
    }
}

both_versions! {
    #[test]
    fn a_both_rule_to_robustmq_sends_nothing_back_where_it_came_from_v311,
        a_both_rule_to_robustmq_sends_nothing_back_where_it_came_from_v5(level = 4, 5) {
        a_both_rule_sends_nothing_back_where_it_came_from(Remote::Robustmq, level);
    }
}

#[test]
fn clients_cannot_take_a_bridge_session() {
    let local = Broker::start_robustmq_with("");
    super::harness::require_mosquitto_clients();
    let out = std::process::Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &local.port().to_string(), "-V", "mqttv5"])
        .args(["-i", "$bridge/up", "-t", "x", "-W", "5"])
        .output()
        .expect("run mosquitto_sub");
    let said = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "connected with a reserved client id: {said}"
    );
    assert!(
        said.to_lowercase().contains("client identifier not valid"),
        "{said}"
    );
    local.stop();
}

/// The remote's consumer: a persistent session on `site1/#` at `qos`, so what the bridge
/// forwards while it is away waits for it.
fn consumer(remote: &Broker, qos: u8) -> Sub {
    Sub::spawn(
        remote,
        Version::V5,
        "remote",
        &["site1/#"],
        &["-q", &qos.to_string(), "-c", "-i", "consumer", "-x", "3600"],
    )
}

/// A robustmq remote (so that its consumer's session outlives a restart) that has its consumer
/// subscribed and is then stopped: its data directory and port, to start it again.
fn stopped_remote_with_a_consumer(qos: u8) -> (tempfile::TempDir, u16) {
    let remote_dir = tempfile::tempdir().expect("temp dir");
    let remote = Broker::start_robustmq_in(remote_dir.path(), 0, "");
    let port = remote.port();
    let mut sub = consumer(&remote, qos);
    sub.wait_subscribed();
    sub.kill();
    remote.stop();
    (remote_dir, port)
}

/// Publishes `end` on the forwarded topic at `qos`.
fn publish_range_marker(local: &Broker, qos: u8) {
    publish(
        local,
        Version::V5,
        &["-t", "sensors/t", "-m", "end", "-q", &qos.to_string()],
    );
}

/// 2,000 messages at `qos` published while the remote is down, the local broker killed
/// half-way: once the remote is back, each arrives, in order, once (QoS 1 may duplicate in
/// principle, but a bridge that kept its state has no cause to).
fn published_while_the_remote_is_down_arrives_across_a_kill_9(qos: u8) {
    let (remote_dir, port) = stopped_remote_with_a_consumer(qos);

    let local_dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[[bridges]]\nname = \"up\"\nremote = \"mqtt://127.0.0.1:{port}\"\nclient_id = \"edge-1\"\n\n\
         [[bridges.topics]]\nfilter = \"sensors/#\"\nqos = {qos}\nremote_prefix = \"site1/\"\n"
    );
    let qos_arg = qos.to_string();
    // 2,000 messages while the remote is down, the local broker killed half-way: each
    // half is acknowledged (mosquitto_pub -l ends once its messages are) and in the store.
    let publish_range = |local: &Broker, range: std::ops::Range<usize>| {
        let input: String = range.map(|i| format!("m{i}\n")).collect();
        super::mosquitto_cli::publish_input(
            local,
            Version::V5,
            &["-t", "sensors/t", "-q", &qos_arg, "-l"],
            Some(input),
        );
    };
    let mut local = Broker::start_robustmq_in(local_dir.path(), 0, &config);
    publish_range(&local, 0..1000);
    local.signal("KILL");
    local.wait_exit(WAIT);
    let local = Broker::start_robustmq_in(local_dir.path(), 0, &config);
    publish_range(&local, 1000..2000);

    let remote = Broker::start_robustmq_in(remote_dir.path(), port, "");
    let mut sub = consumer(&remote, qos);
    let mut got = Vec::new();
    while got.len() < 2000 {
        let msg = sub
            .poll_message(Duration::from_secs(30))
            .unwrap_or_else(|| panic!("{} of 2000 arrived; local log:\n{}", got.len(), local.log()));
        assert_eq!(msg.qos, qos, "{} arrived at another QoS", msg.line);
        got.push(msg.line);
    }
    let expected: Vec<String> = (0..2000).map(|i| format!("site1/sensors/t m{i}")).collect();
    assert_eq!(got, expected, "every message, in order");
    // Nothing more of them: a duplicate would come before a message published after them all.
    publish_range_marker(&local, qos);
    let next = sub.poll_message(WAIT).expect("the end marker never arrived");
    assert_eq!(next.line, "site1/sensors/t end", "a message arrived twice");
    local.stop();
    remote.stop();
}

#[test]
fn what_is_published_at_qos_1_while_the_remote_is_down_arrives_when_it_is_back_across_a_kill_9() {
    published_while_the_remote_is_down_arrives_across_a_kill_9(1);
}

#[test]
fn what_is_published_at_qos_2_while_the_remote_is_down_arrives_exactly_once_across_a_kill_9() {
    published_while_the_remote_is_down_arrives_across_a_kill_9(2);
}

/// A remote nobody answers at: the failure is logged once, naming the remote, not at every
/// attempt; local clients are served meanwhile; what is published for the remote waits in the
/// store and `$SYS` says so.
#[test]
fn a_remote_nobody_answers_at_is_logged_once_while_local_clients_are_served() {
    // Nothing listens on port 1: every attempt is refused at once.
    let local = Broker::start_robustmq_with(
        "[[bridges]]\nname = \"up\"\nremote = \"mqtt://127.0.0.1:1\"\n\n\
         [[bridges.topics]]\nfilter = \"sensors/#\"\nqos = 1\n",
    );
    let mut at_local = Sub::spawn(&local, Version::V5, "local", &["sensors/#"], &["-q", "1"]);
    at_local.wait_subscribed();
    let got = publish_and_take(&local, "sensors/t", "21.5", &mut at_local);
    assert_eq!(got.line, "sensors/t 21.5");

    wait_sys(
        &local,
        &[
            "$SYS/broker/bridges/up/state connecting",
            "$SYS/broker/bridges/up/queued 1",
            "$SYS/broker/bridges/up/sent 0",
        ],
    );
    // Attempts after 1 s and 2 s of back-off (and jitter) have failed the same way by now.
    std::thread::sleep(Duration::from_secs(4));
    let log = local.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("bridge cannot connect"))
        .collect();
    assert_eq!(lines.len(), 1, "logged once per change, not per attempt:\n{log}");
    assert!(
        lines[0].contains("127.0.0.1:1"),
        "the line names the remote: {}",
        lines[0]
    );
    local.stop();
}

#[test]
fn qos_2_is_forwarded_at_qos_2_exactly_once() {
    let remote = Broker::start_mosquitto();
    let local = bridged(&remote, 5, "[[bridges.topics]]\nfilter = \"q2/#\"\nqos = 2\n");
    let mut at_remote = Sub::spawn(&remote, Version::V5, "remote", &["q2/#"], &["-q", "2"]);
    at_remote.wait_subscribed();
    for i in 0..20 {
        publish(
            &local,
            Version::V5,
            &["-t", "q2/t", "-m", &format!("m{i}"), "-q", "2"],
        );
    }
    let mut got = Vec::new();
    while got.len() < 20 {
        let msg = at_remote
            .poll_message(WAIT)
            .unwrap_or_else(|| panic!("{} of 20 arrived", got.len()));
        assert_eq!(msg.qos, 2, "{}", msg.line);
        got.push(msg.line);
    }
    let expected: Vec<String> = (0..20).map(|i| format!("q2/t m{i}")).collect();
    assert_eq!(got, expected);
    // Nothing more: a marker published after them arrives next, not a duplicate.
    publish(&local, Version::V5, &["-t", "q2/end", "-m", "e", "-q", "2"]);
    let next = at_remote.poll_message(WAIT).expect("the marker");
    assert_eq!(next.line, "q2/end e");
    local.stop();
}

#[test]
fn refused_credentials_are_logged_once_and_the_right_ones_connect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let passwords = dir.path().join("passwd");
    let mut add = std::process::Command::new(env!("CARGO_BIN_EXE_robustmq"))
        .arg("passwd")
        .arg(&passwords)
        .args(["add", "--stdin", "edge"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("robustmq passwd");
    std::io::Write::write_all(add.stdin.as_mut().expect("stdin"), b"s3cret\n").expect("write the password");
    assert!(add.wait().expect("robustmq passwd").success());
    // Logins required on the remote's listener.
    let remote = Broker::start_robustmq_with(&format!(
        "[auth]\npassword_file = {:?}\n",
        passwords.display().to_string()
    ));
    let with = |password: &str| {
        Broker::start_robustmq_with(&format!(
            "[[bridges]]\nname = \"up\"\nremote = \"mqtt://127.0.0.1:{}\"\nusername = \"edge\"\npassword = \"{password}\"\n\n\
             [[bridges.topics]]\nfilter = \"a/#\"\n",
            remote.port()
        ))
    };
    let wrong = with("guess");
    let deadline = Instant::now() + WAIT;
    while !wrong
        .log()
        .contains("bridge cannot connect: the remote refused the connection")
    {
        assert!(Instant::now() < deadline, "no refusal logged:\n{}", wrong.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Tried again (the remote logs each refused login), said once.
    while remote.log().matches("login failed").count() < 2 {
        assert!(
            Instant::now() < deadline + WAIT,
            "no second attempt:\n{}",
            remote.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        wrong.log().matches("bridge cannot connect").count(),
        1,
        "{}",
        wrong.log()
    );
    let right = with("s3cret");
    let deadline = Instant::now() + WAIT;
    while !right.log().contains("bridge connected") {
        assert!(Instant::now() < deadline, "never connected:\n{}", right.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_filter_dropped_from_the_rules_is_no_longer_forwarded_after_a_restart() {
    let remote = Broker::start_mosquitto();
    let mut at_remote = Sub::spawn(&remote, Version::V5, "remote", &["#"], &["-q", "1"]);
    at_remote.wait_subscribed();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = |filter: &str| {
        format!(
            "[[bridges]]\nname = \"up\"\nremote = \"mqtt://127.0.0.1:{}\"\n\n\
             [[bridges.topics]]\nfilter = \"{filter}\"\nqos = 1\nremote_prefix = \"site/\"\n",
            remote.port()
        )
    };
    let old = Broker::start_robustmq_in(dir.path(), 0, &config("old/#"));
    old.stop();
    // The bridge's session kept its subscription to old/#; the new rules do not have it.
    let local = Broker::start_robustmq_in(dir.path(), 0, &config("new/#"));
    publish(&local, Version::V5, &["-t", "old/x", "-m", "stale", "-q", "1"]);
    let got = publish_and_take(&local, "new/y", "fresh", &mut at_remote);
    assert_eq!(got.line, "site/new/y fresh", "old/x went out too");
    local.stop();
}

/// Mosquitto's own 3.1.1 bridges announce themselves with protocol level 0x84: robustmq takes
/// them as clients that get nothing they published back (a "both" bridge into robustmq does not
/// echo) and retained flags as published (so the edge keeps what robustmq retains).
#[test]
fn a_mosquitto_bridge_into_robustmq_gets_nothing_of_its_own_back_and_retained_flags_as_published() {
    let central = Broker::start_robustmq_with("");
    publish(
        &central,
        Version::V311,
        &["-t", "chat/ready", "-m", "yes", "-q", "1", "-r"],
    );
    let edge = Broker::start_mosquitto_with(&format!(
        "connection central\naddress 127.0.0.1:{}\nbridge_protocol_version mqttv311\n\
         remote_clientid mosq-edge\ncleansession true\nnotifications false\ntopic chat/# both 1\n",
        central.port()
    ));
    let mut at_edge = Sub::spawn(&edge, Version::V311, "edge", &["chat/#"], &["-q", "1"]);
    at_edge.wait_subscribed();
    // The retained message came through the bridge: it is connected and subscribed.
    let got = at_edge.poll_message(WAIT).unwrap_or_else(|| {
        panic!(
            "the Mosquitto bridge never delivered; its log:\n{}\nrobustmq's log:\n{}",
            edge.log(),
            central.log()
        )
    });
    assert_eq!(got.line, "chat/ready yes");
    let mut at_central = Sub::spawn(&central, Version::V311, "central", &["chat/#"], &["-q", "1"]);
    at_central.wait_subscribed();
    let _retained = at_central.poll_message(WAIT).expect("the retained message");

    let got = publish_and_take(&edge, "chat/from-edge", "e", &mut at_central);
    assert_eq!(got.line, "chat/from-edge e");
    // Had robustmq sent the edge's message back to the bridge, it would arrive before this one.
    publish(&central, Version::V311, &["-t", "chat/end", "-m", "x", "-q", "1"]);
    assert_eq!(
        lines_until(&mut at_edge, "chat/end x"),
        ["chat/from-edge e", "chat/end x"]
    );

    // A live retained message reaches the bridge with RETAIN set, so the edge retains it too.
    publish(
        &central,
        Version::V311,
        &["-t", "chat/state", "-m", "on", "-q", "1", "-r"],
    );
    assert_eq!(lines_until(&mut at_edge, "chat/state on"), ["chat/state on"]);
    let mut late = Sub::spawn(&edge, Version::V311, "late", &["chat/state"], &["-q", "1"]);
    late.wait_subscribed();
    let got = late.poll_message(WAIT).expect("the edge retained chat/state");
    assert_eq!((got.line.as_str(), got.retain), ("chat/state on", true));
    central.stop();
}

/// A remote that does not know the bridge protocol level answers it with CONNACK return code 1
/// (unacceptable protocol version) [MQTT-3.1.2-2]: the bridge connects again at once with the
/// plain level 4. The remote here is a few bytes on a socket, written from the spec.
#[test]
fn a_remote_refusing_the_bridge_protocol_level_gets_a_plain_311_connect() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let local = Broker::start_robustmq_with(&format!(
        "[[bridges]]\nname = \"up\"\nremote = \"mqtt://127.0.0.1:{port}\"\nprotocol = 4\nclient_id = \"edge-1\"\n\n\
         [[bridges.topics]]\nfilter = \"t/#\"\ndirection = \"out\"\n"
    ));
    // The protocol level of the CONNECT on the next connection: 2 bytes of name length, "MQTT".
    let level_of_next_connect = |answer: [u8; 4]| -> u8 {
        let (mut socket, _) = listener.accept().expect("the bridge connects");
        socket.set_read_timeout(Some(WAIT)).expect("read timeout");
        let mut header = [0u8; 2];
        socket.read_exact(&mut header).expect("CONNECT header");
        assert_eq!(header[0], 0x10, "not a CONNECT");
        assert!(header[1] < 0x80, "a short CONNECT has a one-byte length");
        let mut body = vec![0u8; header[1] as usize];
        socket.read_exact(&mut body).expect("CONNECT body");
        assert_eq!(&body[..6], b"\x00\x04MQTT");
        socket.write_all(&answer).expect("CONNACK");
        let level = body[6];
        if answer[3] == 0 {
            // Keep the accepted link open until the test ends.
            std::mem::forget(socket);
        }
        level
    };
    assert_eq!(level_of_next_connect([0x20, 0x02, 0x00, 0x01]), 0x84);
    assert_eq!(level_of_next_connect([0x20, 0x02, 0x00, 0x00]), 0x04);
    let log = local.log();
    assert!(
        log.contains("does not accept a bridge's protocol level"),
        "the fallback is not logged:\n{log}"
    );
    local.stop();
}

/// A remote that stays away longer than `max_queued_bytes` lasts: the bridge keeps the newest
/// messages within its quota and drops the oldest, counted and logged once, while the local
/// publisher is acknowledged throughout (it is never held back by a remote it cannot see).
#[test]
fn over_max_queued_bytes_the_oldest_messages_waiting_for_the_remote_are_dropped() {
    let (remote_dir, port) = stopped_remote_with_a_consumer(1);

    // 100-byte payloads on "sensors/t": 170 bytes each by the queue's measure (topic, payload
    // and 64 for the rest), so 128 KiB holds 771 of them.
    let config = format!(
        "[limits]\nmax_packet_size = \"64KiB\"\n\n\
         [[bridges]]\nname = \"up\"\nremote = \"mqtt://127.0.0.1:{port}\"\nclient_id = \"edge-1\"\nmax_queued_bytes = \"128KiB\"\n\n\
         [[bridges.topics]]\nfilter = \"sensors/#\"\nqos = 1\nremote_prefix = \"site1/\"\n"
    );
    let local = Broker::start_robustmq_with(&config);
    let total = 3000;
    let input: String = (0..total).map(|i| format!("{i:0>100}\n")).collect();
    super::mosquitto_cli::publish_input(
        &local,
        Version::V5,
        &["-t", "sensors/t", "-q", "1", "-l"],
        Some(input),
    );

    let remote = Broker::start_robustmq_in(remote_dir.path(), port, "");
    let mut sub = consumer(&remote, 1);
    let last = format!("site1/sensors/t {:0>100}", total - 1);
    let mut got: Vec<u32> = Vec::new();
    loop {
        let msg = sub
            .poll_message(Duration::from_secs(30))
            .unwrap_or_else(|| panic!("{} arrived, not the last; local log:\n{}", got.len(), local.log()));
        let number = msg.line.rsplit(' ').next().and_then(|n| n.parse().ok());
        got.push(number.unwrap_or_else(|| panic!("unexpected {:?}", msg.line)));
        if msg.line == last {
            break;
        }
    }
    let first = got[0];
    assert!(first > 0, "nothing was dropped: the quota was not applied");
    let expected: Vec<u32> = (first..total).collect();
    assert_eq!(got, expected, "the newest messages, in order, once");
    assert!(
        got.len() <= 771 && got.len() >= 700,
        "{} kept for a quota of 771 messages",
        got.len()
    );
    let log = local.log();
    assert_eq!(
        log.matches("max_queued_bytes").count(),
        1,
        "the drop is logged once:\n{log}"
    );
    // The retained figure may be from a tick before the drops (`$SYS` comes every second):
    // the figure must come to say it.
    wait_sys(&local, &[&format!("$SYS/broker/bridges/up/dropped {first}")]);
    local.stop();
    remote.stop();
}

/// Waits until `broker`'s log has `marker` more often than `before` times.
fn wait_log(broker: &Broker, marker: &str, before: usize) {
    let deadline = Instant::now() + WAIT;
    while broker.log().matches(marker).count() <= before {
        assert!(
            Instant::now() < deadline,
            "{marker:?} never logged:\n{}",
            broker.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGHUP with a `[[bridges]]` added starts it (it connects and forwards); with it removed
/// again, its link says DISCONNECT and nothing more is forwarded.
#[test]
fn a_bridge_added_by_sighup_forwards_and_one_removed_stops() {
    let remote = Broker::start_mosquitto();
    let mut at_remote = Sub::spawn(&remote, Version::V5, "remote", &["site/#"], &["-q", "1"]);
    at_remote.wait_subscribed();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut local = Broker::start_robustmq_in(dir.path(), 0, "");
    let file = dir.path().join("robustmq.toml");
    let base = std::fs::read_to_string(&file).expect("robustmq.toml");
    let bridge = format!(
        "[[bridges]]\nname = \"up\"\nremote = \"mqtt://127.0.0.1:{}\"\nclient_id = \"edge-1\"\n\n\
         [[bridges.topics]]\nfilter = \"out/#\"\nqos = 1\nremote_prefix = \"site/\"\n",
        remote.port()
    );
    std::fs::write(&file, format!("{base}{bridge}")).unwrap();
    local.signal("HUP");
    wait_log(&local, "reloaded", 0);
    assert!(local.log().contains("bridges.up added"), "{}", local.log());
    wait_log(&local, "bridge connected", 0);
    let got = publish_and_take(&local, "out/1", "bridged", &mut at_remote);
    assert_eq!(got.line, "site/out/1 bridged");

    std::fs::write(&file, &base).unwrap();
    local.signal("HUP");
    wait_log(&local, "bridge stopped", 0);
    wait_log(&local, "its session and what it had queued are discarded", 0);
    // The link said DISCONNECT: Mosquitto tells that from a dropped connection.
    let deadline = Instant::now() + WAIT;
    while !remote.log().contains("Client edge-1 disconnected") {
        assert!(
            Instant::now() < deadline,
            "the remote never saw edge-1 disconnect:\n{}",
            remote.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    publish(&local, Version::V311, &["-t", "out/2", "-m", "gone", "-q", "1"]);
    // A marker published at the remote after it: the first thing the consumer gets.
    publish(
        &remote,
        Version::V311,
        &["-t", "site/marker", "-m", "m", "-q", "1"],
    );
    let next = at_remote.poll_message(WAIT).expect("the marker arrives");
    assert_eq!(
        next.line, "site/marker m",
        "out/2 went out after the bridge was removed"
    );
    local.stop();
}

/// SIGHUP with a bridge's rules changed restarts it with the new ones; its session is kept.
#[test]
fn a_bridge_changed_by_sighup_restarts_with_its_new_rules() {
    let remote = Broker::start_mosquitto();
    let mut at_remote = Sub::spawn(&remote, Version::V5, "remote", &["site/#"], &["-q", "1"]);
    at_remote.wait_subscribed();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = |filter: &str| {
        format!(
            "[[bridges]]\nname = \"up\"\nremote = \"mqtt://127.0.0.1:{}\"\nclient_id = \"edge-1\"\n\n\
             [[bridges.topics]]\nfilter = \"{filter}\"\nqos = 1\nremote_prefix = \"site/\"\n",
            remote.port()
        )
    };
    let mut local = Broker::start_robustmq_in(dir.path(), 0, &config("old/#"));
    wait_log(&local, "bridge connected", 0);
    let got = publish_and_take(&local, "old/1", "before", &mut at_remote);
    assert_eq!(got.line, "site/old/1 before");

    let file = dir.path().join("robustmq.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("old/#", "new/#")).unwrap();
    local.signal("HUP");
    wait_log(&local, "bridges.up changed", 0);
    wait_log(&local, "bridge connected", 1);
    publish(&local, Version::V5, &["-t", "old/2", "-m", "stale", "-q", "1"]);
    let got = publish_and_take(&local, "new/1", "after", &mut at_remote);
    assert_eq!(got.line, "site/new/1 after", "old/2 went out too");
    local.stop();
}
