//! SIGHUP: the real binary reads its password and ACL files again without dropping anyone.

use super::common::*;

fn users() -> String {
    format!("{}{}", user_line("alice", "a-pass"), user_line("root", "r-pass"))
}

/// Replaces a file the way an editor or `robustmq passwd` does: write aside, then rename.
fn replace(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn sighup_applies_a_new_acl_to_connected_clients() {
    let broker = BinaryBroker::start(
        &users(),
        "user alice\ntopic readwrite a/#\nuser root\ntopic read #\n",
        false,
    );
    let alice_login = Some(("alice", "a-pass"));
    let mut alice = v5::try_connect(v5::login_options_on(broker.port, "alice", alice_login))
        .await
        .expect("alice connects");
    let mut root = v3::try_connect(v3::login_options_on(
        broker.port,
        "root",
        Some(("root", "r-pass")),
    ))
    .await
    .expect("root connects");
    root.subscribe("#", v3::QoS::AtLeastOnce).await;
    assert_eq!(
        alice.publish_qos1("b/1", "before").await,
        v5::PubAckReason::NotAuthorized
    );
    assert_eq!(alice.publish_qos1("a/1", "ok").await, v5::PubAckReason::Success);
    assert_eq!(root.publish().await.payload, "ok");

    // Alice may now write b/#; root may only read a/#.
    replace(
        &broker.path("acl"),
        "user alice\ntopic readwrite a/#\ntopic write b/#\nuser root\ntopic read a/#\n",
    );
    broker.sighup_and_wait("ACL file reloaded").await;

    // The same connections, new rules: alice's publish goes through, root's old '#'
    // subscription no longer carries b/ topics.
    // Accepted now; nobody may read it any more, hence 0x10 No matching subscribers.
    assert_eq!(
        alice.publish_qos1("b/1", "after").await,
        v5::PubAckReason::NoMatchingSubscribers
    );
    assert_eq!(
        alice.publish_qos1("a/2", "still").await,
        v5::PubAckReason::Success
    );
    let got = root.publish().await;
    assert_eq!((got.topic.as_str(), &got.payload[..]), ("a/2", &b"still"[..]));
    root.no_publish().await;
}

#[tokio::test]
async fn a_bad_file_on_sighup_keeps_the_previous_one() {
    let broker = BinaryBroker::start(&users(), "user alice\ntopic readwrite a/#\n", false);
    let mut alice = v5::try_connect(v5::login_options_on(
        broker.port,
        "alice",
        Some(("alice", "a-pass")),
    ))
    .await
    .expect("alice connects");
    replace(
        &broker.path("acl"),
        "user alice\ntopic readwrite a/#\ntopic everything #\n",
    );
    broker.sighup_and_wait("the running configuration stays").await;
    let log = broker.log();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("the running configuration stays"))
        .collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].contains("acl, line 3: invalid access \"everything\""),
        "{}",
        errors[0]
    );
    // The old rules are still in force, and alice is still connected.
    assert_eq!(
        alice.publish_qos1("a/1", "x").await,
        v5::PubAckReason::NoMatchingSubscribers
    );
    assert_eq!(
        alice.publish_qos1("b/1", "x").await,
        v5::PubAckReason::NotAuthorized
    );
}

#[tokio::test]
async fn sighup_reloads_the_password_file() {
    let broker = BinaryBroker::start(&users(), "pattern readwrite %u/#\n", false);
    let mut alice = v3::try_connect(v3::login_options_on(
        broker.port,
        "alice",
        Some(("alice", "a-pass")),
    ))
    .await
    .expect("alice connects");
    let carol = Some(("carol", "c-pass"));
    let refused = v3::try_connect(v3::login_options_on(broker.port, "carol", carol)).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::BadUserNamePassword));
    // Carol is added and alice removed, with robustmq passwd itself.
    let passwd = broker.path("passwd");
    let add = std::process::Command::new(env!("CARGO_BIN_EXE_robustmq"))
        .arg("passwd")
        .arg(&passwd)
        .args(["add", "carol", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"c-pass\n")?;
            child.wait()
        })
        .expect("robustmq passwd add");
    assert!(add.success());
    let (code, _, err) = run(std::process::Command::new(env!("CARGO_BIN_EXE_robustmq"))
        .arg("passwd")
        .arg(&passwd)
        .args(["delete", "alice"]));
    assert_eq!(code, Some(0), "{err}");
    broker.sighup_and_wait("password file reloaded").await;
    let mut carol = v3::try_connect(v3::login_options_on(broker.port, "carol", carol))
        .await
        .expect("carol connects after the reload");
    assert_eq!(
        carol.subscribe("carol/#", v3::QoS::AtMostOnce).await,
        [v3::SubscribeReasonCode::Success(v3::QoS::AtMostOnce)]
    );
    // Connected clients are kept, even alice, whose entry is gone: only new logins change.
    assert_eq!(
        alice.subscribe("alice/#", v3::QoS::AtMostOnce).await,
        [v3::SubscribeReasonCode::Success(v3::QoS::AtMostOnce)]
    );
    let refused = v3::try_connect(v3::login_options_on(
        broker.port,
        "alice2",
        Some(("alice", "a-pass")),
    ))
    .await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::BadUserNamePassword));
}
