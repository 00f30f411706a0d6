//! SIGHUP reloads the whole configuration file of the real binary: limits, the log level,
//! the password file's path; a broken file changes nothing, a listener change waits for a
//! restart.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::common::*;

/// The configuration `BinaryBroker::start` writes, with `passwd` as the password file and
/// `extra` (whole tables) after it; `server` goes into `[server]`.
fn config(server: &str, passwd: &str, allow_anonymous: bool, extra: &str) -> String {
    format!(
        "[server]\ndata_dir = \"data\"\n{server}\n\n[[listeners]]\nbind = \"127.0.0.1:0\"\nallow_anonymous = {allow_anonymous}\n\n\
         [auth]\npassword_file = \"{passwd}\"\nacl_file = \"acl\"\n\n{extra}"
    )
}

fn rewrite(broker: &BinaryBroker, text: &str) {
    let path = broker.path("robustmq.toml");
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
}

fn users() -> String {
    user_line("alice", "a-pass")
}

/// An anonymous 3.1.1 connection that got its CONNACK.
async fn connected(port: u16, id: &str) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    stream
        .write_all(&connect_packet(4, id, None, None))
        .await
        .unwrap();
    let mut connack = [0u8; 4];
    tokio::time::timeout(WAIT, stream.read_exact(&mut connack))
        .await
        .expect("CONNACK in time")
        .expect("CONNACK");
    assert_eq!(connack, [0x20, 2, 0, 0], "accepted");
    stream
}

/// Sends a QoS 0 PUBLISH with `size` bytes of payload, then PINGREQ: whether the PINGRESP
/// comes back (false: the broker closed the connection).
async fn publish_then_ping(stream: &mut TcpStream, size: usize) -> bool {
    let mut packet = vec![0x30];
    let mut remaining = 3 + size;
    loop {
        let byte = (remaining % 128) as u8;
        remaining /= 128;
        packet.push(if remaining > 0 { byte | 0x80 } else { byte });
        if remaining == 0 {
            break;
        }
    }
    packet.extend_from_slice(&[0, 1, b't']);
    packet.extend(std::iter::repeat_n(b'x', size));
    packet.extend_from_slice(&[0xC0, 0]);
    if stream.write_all(&packet).await.is_err() {
        return false;
    }
    let mut reply = [0u8; 2];
    match tokio::time::timeout(WAIT, stream.read_exact(&mut reply)).await {
        Ok(Ok(_)) => {
            assert_eq!(reply, [0xD0, 0], "PINGRESP");
            true
        }
        Ok(Err(_)) => false,
        Err(_) => panic!("neither PINGRESP nor a close"),
    }
}

#[tokio::test]
async fn sighup_lowers_and_raises_max_packet_size_for_new_connections() {
    let broker = BinaryBroker::start(&users(), "topic readwrite #\n", true);
    let mut before = connected(broker.port, "before").await;
    assert!(publish_then_ping(&mut before, 200).await);

    rewrite(
        &broker,
        &config("", "passwd", true, "[limits]\nmax_packet_size = 100\n"),
    );
    broker.sighup_and_wait("reloaded").await;
    assert!(
        broker.log().contains("limits.max_packet_size 1048576 → 100"),
        "{}",
        broker.log()
    );
    let mut lowered = connected(broker.port, "lowered").await;
    assert!(
        !publish_then_ping(&mut lowered, 200).await,
        "a 205-byte packet over the new 100-byte limit"
    );
    // A connection keeps the limits it was given at CONNECT.
    assert!(publish_then_ping(&mut before, 200).await);

    rewrite(
        &broker,
        &config("", "passwd", true, "[limits]\nmax_packet_size = 1000\n"),
    );
    broker.sighup_and_wait("limits.max_packet_size 100 → 1000").await;
    let mut raised = connected(broker.port, "raised").await;
    assert!(publish_then_ping(&mut raised, 200).await);
}

#[tokio::test]
async fn sighup_changes_the_log_level() {
    let broker = BinaryBroker::start(&users(), "topic readwrite #\n", true);
    assert!(!broker.log().contains(" DEBUG "), "{}", broker.log());
    rewrite(&broker, &config("log_level = \"debug\"", "passwd", true, ""));
    broker.sighup_and_wait("log filter changed").await;
    let log = broker.log();
    assert!(log.contains("server.log_level info → debug"), "{log}");
    let line = log.lines().find(|l| l.contains("log filter changed")).unwrap();
    assert!(line.contains(" DEBUG "), "{line}");
    // And back: a connection's debug lines stop.
    rewrite(&broker, &config("log_level = \"info\"", "passwd", true, ""));
    broker.sighup_and_wait("server.log_level debug → info").await;
    let debug_lines = broker.log().matches(" DEBUG ").count();
    let mut client = connected(broker.port, "quiet").await;
    assert!(publish_then_ping(&mut client, 10).await);
    assert_eq!(broker.log().matches(" DEBUG ").count(), debug_lines);
}

#[tokio::test]
async fn a_broken_file_on_sighup_leaves_the_broker_as_it_was() {
    let broker = BinaryBroker::start(&users(), "topic readwrite #\n", true);
    rewrite(
        &broker,
        &config("", "passwd", false, "[limits]\nmax_packet_size = 100\n[limits\n"),
    );
    broker.sighup_and_wait("the running configuration stays").await;
    let log = broker.log();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("the running configuration stays"))
        .collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(errors[0].contains(" ERROR "), "{}", errors[0]);
    assert!(
        errors[0].contains(&format!("{}:", broker.path("robustmq.toml").display())),
        "{}",
        errors[0]
    );
    // Anonymous clients still get in, and the packet limit is still 1 MiB.
    let mut client = connected(broker.port, "after").await;
    assert!(publish_then_ping(&mut client, 200).await);

    // A file that parses but names a password file that is not there changes nothing either.
    rewrite(
        &broker,
        &config("", "missing", false, "[limits]\nmax_packet_size = 100\n"),
    );
    broker.sighup_and_wait("the running configuration stays").await;
    assert!(
        broker.log().contains("cannot read password file"),
        "{}",
        broker.log()
    );
    let mut client = connected(broker.port, "after2").await;
    assert!(publish_then_ping(&mut client, 200).await);
}

#[tokio::test]
async fn a_listener_change_needs_a_restart_and_the_old_one_keeps_serving() {
    let broker = BinaryBroker::start(&users(), "topic readwrite #\n", true);
    let moved = config("", "passwd", true, "").replace("127.0.0.1:0", "127.0.0.1:1");
    rewrite(&broker, &(moved + "[limits]\nmax_inflight = 7\n"));
    broker.sighup_and_wait("needs a restart").await;
    let log = broker.log();
    assert!(
        log.contains("limits.max_inflight 100 → 7; needs a restart: listeners"),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains(" WARN ") && l.contains("listeners changed and needs a restart")),
        "{log}"
    );
    let mut client = connected(broker.port, "still").await;
    assert!(publish_then_ping(&mut client, 10).await);
}

#[tokio::test]
async fn sighup_takes_a_new_password_file_path() {
    let broker = BinaryBroker::start(&users(), "topic readwrite #\n", false);
    std::fs::write(broker.path("passwd2"), user_line("carol", "c-pass")).unwrap();
    let carol = Some(("carol", "c-pass"));
    let refused = v3::try_connect(v3::login_options_on(broker.port, "carol", carol)).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::BadUserNamePassword));

    rewrite(&broker, &config("", "passwd2", false, ""));
    broker.sighup_and_wait("auth.password_file").await;
    v3::try_connect(v3::login_options_on(broker.port, "carol", carol))
        .await
        .expect("carol connects with the new file");
    let alice = Some(("alice", "a-pass"));
    let refused = v3::try_connect(v3::login_options_on(broker.port, "alice", alice)).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::BadUserNamePassword));
}

#[tokio::test]
async fn sighup_changes_allow_anonymous_without_rebinding() {
    let broker = BinaryBroker::start(&users(), "topic readwrite #\n", true);
    let mut before = connected(broker.port, "before").await;
    rewrite(&broker, &config("", "passwd", false, ""));
    broker
        .sighup_and_wait("listeners[0].allow_anonymous true → false")
        .await;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], broker.port));
    // 3.1.1 0x05 not authorized: anonymous clients are refused from now on...
    assert_eq!(raw_connack(addr, &connect_packet(4, "anon", None, None)).await, 5);
    // ...while the one already in stays.
    assert!(publish_then_ping(&mut before, 10).await);
}

/// A client that logged in while no password or ACL file was configured keeps its user name
/// when a reload brings in an ACL: the rules for that name apply to it at once, as to a client
/// connecting afterwards, rather than the ACL finding no name and denying it everything.
#[tokio::test]
async fn an_acl_brought_in_by_sighup_applies_to_clients_already_connected_by_their_user_name() {
    let broker = BinaryBroker::start(&users(), "topic readwrite #\n", true);
    let without_auth =
        "[server]\ndata_dir = \"data\"\n\n[[listeners]]\nbind = \"127.0.0.1:0\"\nallow_anonymous = true\n";
    rewrite(&broker, without_auth);
    broker.sighup_and_wait("auth.acl_file").await;

    let alice = Some(("alice", "a-pass"));
    let (mut alice, _) = v5::connect_with(v5::login_options_on(broker.port, "alice", alice)).await;
    alice.subscribe("t/#", v5::QoS::AtLeastOnce).await;
    let (mut anonymous, _) = v5::connect_with(v5::options_on(broker.port, "anonymous")).await;

    std::fs::write(broker.path("acl"), "user alice\ntopic readwrite t/#\n").unwrap();
    rewrite(&broker, &config("", "passwd", true, ""));
    broker.sighup_and_wait("auth.acl_file").await;

    assert_eq!(
        alice.publish_qos1("t/1", "from alice").await,
        v5::PubAckReason::Success,
        "alice may write t/# by her name"
    );
    let delivered = alice.publish().await;
    assert_eq!(&delivered.topic[..], b"t/1", "and read it");
    assert_eq!(&delivered.payload[..], b"from alice");
    assert_eq!(
        anonymous.publish_qos1("t/2", "from nobody").await,
        v5::PubAckReason::NotAuthorized,
        "the ACL gives an anonymous client nothing"
    );
    alice.no_publish().await;
}
