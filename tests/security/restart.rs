//! After a restart, persistent sessions still belong to their users: the ACL lets messages be
//! queued for them before their clients come back (the owner is kept in the session record).

use super::common::*;

#[tokio::test]
async fn a_persistent_session_keeps_its_owner_across_a_kill_9_restart() {
    let users = format!("{}{}", user_line("alice", "a-pass"), user_line("root", "r-pass"));
    let mut broker = BinaryBroker::start(
        &users,
        "user alice\ntopic readwrite a/#\nuser root\ntopic readwrite #\n",
        false,
    );
    let alice_login = Some(("alice", "a-pass"));
    let alice_phone = |port| {
        let mut options = v3::login_options_on(port, "alice-phone", alice_login);
        options.set_clean_session(false);
        options
    };
    let mut alice = v3::try_connect(alice_phone(broker.port))
        .await
        .expect("alice connects");
    assert_eq!(
        alice.subscribe("a/#", v3::QoS::AtLeastOnce).await,
        [v3::SubscribeReasonCode::Success(v3::QoS::AtLeastOnce)]
    );
    drop(alice);

    broker.kill9_and_restart();

    // Alice is away; root publishes what her session must keep for her.
    let mut root = v3::try_connect(v3::login_options_on(
        broker.port,
        "root",
        Some(("root", "r-pass")),
    ))
    .await
    .expect("root connects");
    root.publish_qos1("a/1", "while you were away").await;

    // The restarted broker listens on another port.
    let mut alice = v3::try_connect(alice_phone(broker.port))
        .await
        .expect("alice reconnects");
    assert!(
        alice.session_present,
        "[MQTT-3.2.2-2] the stored session is resumed"
    );
    let got = alice.publish().await;
    assert_eq!(
        (got.topic.as_str(), &got.payload[..]),
        ("a/1", &b"while you were away"[..])
    );
}
