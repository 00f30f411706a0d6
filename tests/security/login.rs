//! Authentication at CONNECT: the password file, anonymous clients, Mosquitto's hashes, the
//! return codes of both protocol versions, and what a refusal costs.

use super::common::*;

fn users() -> String {
    format!(
        "# test users\n{}{}",
        user_line("alice", "wonderland"),
        user_line("bob", "builder")
    )
}

#[tokio::test]
async fn good_password_is_accepted_in_both_versions() {
    let broker = start(Setup::default().passwd(users()).anonymous(false)).await;
    let mut c3 = v3::connect_as(&broker, "a3", Some(("alice", "wonderland"))).await;
    assert_eq!(c3.subscribe("t", v3::QoS::AtMostOnce).await.len(), 1);
    let mut c5 = v5::connect_as(&broker, "b5", Some(("bob", "builder"))).await;
    assert_eq!(c5.publish_qos1("t", "hi").await, v5::PubAckReason::Success);
    assert_eq!(c3.publish().await.payload, "hi");
    assert_eq!(broker.metric(|m| &m.auth_failures), 0);
}

#[tokio::test]
async fn bad_password_is_refused_with_bad_user_name_or_password() {
    let broker = start(Setup::default().passwd(users())).await;
    // MQTT 5: CONNACK 0x86 Bad User Name or Password (3.2.2.2).
    let refused = v5::try_connect(v5::login_options(&broker, "c5", Some(("alice", "WONDERLAND")))).await;
    assert_eq!(refused.err(), Some(v5::ConnectReturnCode::BadUserNamePassword));
    // MQTT 3.1.1: return code 4, "Connection Refused, bad user name or password" (Table 3.1).
    let refused = v3::try_connect(v3::login_options(&broker, "c3", Some(("alice", "wonderland!")))).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::BadUserNamePassword));
    assert_eq!(broker.metric(|m| &m.auth_failures), 2);
}

// v5 [MQTT-3.1.4-2]: a failed authentication check closes the connection (after its CONNACK).
#[tokio::test]
async fn exact_codes_on_the_wire() {
    let broker = start(Setup::default().passwd(users()).anonymous(false)).await;
    let bad = connect_packet(5, "w5", Some("alice"), Some(b"nope"));
    assert_eq!(raw_connack(broker.addr, &bad).await, 0x86);
    let bad = connect_packet(4, "w4", Some("alice"), Some(b"nope"));
    assert_eq!(raw_connack(broker.addr, &bad).await, 4);
    // Anonymous where it is not allowed: v5 0x87 Not authorized, 3.1.1 return code 5.
    assert_eq!(
        raw_connack(broker.addr, &connect_packet(5, "a5", None, None)).await,
        0x87
    );
    assert_eq!(
        raw_connack(broker.addr, &connect_packet(4, "a4", None, None)).await,
        5
    );
    let good = connect_packet(4, "g4", Some("alice"), Some(b"wonderland"));
    assert_eq!(raw_connack(broker.addr, &good).await, 0);
}

#[tokio::test]
async fn unknown_user_and_missing_password_are_refused() {
    let broker = start(Setup::default().passwd(users())).await;
    for (id, user, password) in [
        ("u5", "carol", Some(&b"wonderland"[..])),
        ("n5", "alice", None),
        ("e5", "alice", Some(&b""[..])),
    ] {
        let code = raw_connack(broker.addr, &connect_packet(5, id, Some(user), password)).await;
        assert_eq!(code, 0x86, "{user} {password:?}");
    }
    let refused = v3::try_connect(v3::login_options(&broker, "u3", Some(("carol", "x")))).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::BadUserNamePassword));
}

#[tokio::test]
async fn anonymous_clients_are_refused_where_not_allowed() {
    let broker = start(Setup::default().passwd(users()).anonymous(false)).await;
    let refused = v5::try_connect(v5::login_options(&broker, "anon5", None)).await;
    assert_eq!(refused.err(), Some(v5::ConnectReturnCode::NotAuthorized));
    let refused = v3::try_connect(v3::login_options(&broker, "anon3", None)).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::NotAuthorized));
    assert_eq!(broker.metric(|m| &m.auth_failures), 2);
}

#[tokio::test]
async fn with_a_password_file_a_user_name_must_authenticate_even_where_anonymous_is_allowed() {
    // Mosquitto's rule: anonymous access does not let a client skip the check by sending a name.
    let broker = start(Setup::default().passwd(users()).anonymous(true)).await;
    v3::connect_as(&broker, "anon", None).await;
    let refused = v3::try_connect(v3::login_options(&broker, "guess", Some(("alice", "guess")))).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::BadUserNamePassword));
    let refused = v5::try_connect(v5::login_options(&broker, "nobody", Some(("nobody", "x")))).await;
    assert_eq!(refused.err(), Some(v5::ConnectReturnCode::BadUserNamePassword));
}

#[tokio::test]
async fn without_a_password_file_user_names_follow_allow_anonymous() {
    // allow_anonymous = true: user names are taken as they are, as Mosquitto does.
    let open = start(Setup::default().anonymous(true)).await;
    v5::connect_as(&open, "n1", Some(("anyone", "anything"))).await;
    v3::connect_as(&open, "n2", Some(("anyone", ""))).await;
    // allow_anonymous = false and nothing to check a name against: refused.
    let closed = start(Setup::default().anonymous(false)).await;
    let refused = v5::try_connect(v5::login_options(&closed, "n3", Some(("anyone", "x")))).await;
    assert_eq!(refused.err(), Some(v5::ConnectReturnCode::BadUserNamePassword));
    let refused = v3::try_connect(v3::login_options(&closed, "n4", None)).await;
    assert_eq!(refused.err(), Some(v3::ConnectReturnCode::NotAuthorized));
}

#[tokio::test]
async fn mosquitto_passwd_hashes_are_accepted() {
    // The fixture was written by mosquitto_passwd: $7$ (PBKDF2-SHA512) and $6$ (SHA-512).
    let text = std::fs::read_to_string(fixture("mosquitto_passwd")).unwrap();
    assert!(text.contains(":$7$") && text.contains(":$6$"), "{text}");
    let broker = start(Setup::default().passwd(text).anonymous(false)).await;
    v5::connect_as(&broker, "p5", Some(("pbkdf2user", "pbkdf2 secret"))).await;
    v3::connect_as(&broker, "p3", Some(("pbkdf2user", "pbkdf2 secret"))).await;
    v5::connect_as(&broker, "s5", Some(("sha512user", "sha512 secret"))).await;
    v3::connect_as(&broker, "s3", Some(("sha512user", "sha512 secret"))).await;
    for (user, password) in [("pbkdf2user", "sha512 secret"), ("sha512user", "pbkdf2 secret")] {
        let refused = v3::try_connect(v3::login_options(&broker, "x", Some((user, password)))).await;
        assert_eq!(refused.err(), Some(v3::ConnectReturnCode::BadUserNamePassword));
    }
}

#[tokio::test]
async fn a_hash_written_now_by_mosquitto_passwd_works() {
    require_mosquitto_tools();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passwd");
    let (code, _, err) = run(std::process::Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&path)
        .args(["dave", "s3cret pass"]));
    assert_eq!(code, Some(0), "mosquitto_passwd: {err}");
    let broker = start(Setup::default().passwd(std::fs::read_to_string(&path).unwrap())).await;
    v5::connect_as(&broker, "d", Some(("dave", "s3cret pass"))).await;
}

#[tokio::test]
async fn a_refusal_does_not_hold_up_other_clients() {
    // The refused client waits for its CONNACK; meanwhile others connect and talk.
    let broker = start(Setup::default().passwd(users())).await;
    let addr = broker.addr;
    let refusal = tokio::spawn(async move {
        raw_connack(addr, &connect_packet(5, "slow", Some("alice"), Some(b"bad"))).await
    });
    let mut sub = v5::connect_as(&broker, "s", Some(("alice", "wonderland"))).await;
    sub.subscribe("t", v5::QoS::AtLeastOnce).await;
    let mut publisher = v3::connect_as(&broker, "p", Some(("bob", "builder"))).await;
    publisher.publish_qos1("t", "meanwhile").await;
    assert_eq!(sub.publish().await.payload, "meanwhile");
    assert_eq!(refusal.await.unwrap(), 0x86);
}

#[tokio::test]
async fn a_session_is_not_resumed_by_another_user() {
    let broker = start(Setup::default().passwd(users())).await;
    let mut opts = v3::login_options(&broker, "shared-id", Some(("alice", "wonderland")));
    opts.set_clean_session(false);
    let mut alice = v3::try_connect(opts.clone()).await.unwrap();
    alice.subscribe("alice/inbox", v3::QoS::AtLeastOnce).await;
    drop(alice);
    // Same user: the session is resumed [MQTT-3.2.2-2].
    let alice = v3::try_connect(opts).await.unwrap();
    assert!(alice.session_present);
    drop(alice);
    // Another user with the same client id gets a new, empty session.
    let mut opts = v3::login_options(&broker, "shared-id", Some(("bob", "builder")));
    opts.set_clean_session(false);
    let mut bob = v3::try_connect(opts).await.unwrap();
    assert!(!bob.session_present, "bob must not inherit alice's session");
    let mut sender = v5::connect_as(&broker, "sender", Some(("alice", "wonderland"))).await;
    sender.publish_qos1("alice/inbox", "private").await;
    bob.no_publish().await;
}

#[tokio::test]
async fn a_broken_password_file_stops_the_broker_with_file_and_line() {
    let e = start_error(Setup::default().passwd(format!("{}carol\n", users()))).await;
    let text = e.to_string();
    assert!(text.contains("passwd, line 4: expected user:hash"), "{text}");
    assert!(matches!(e, robustmq::server::ServerError::Auth(_)), "{e:?}");
}

#[tokio::test]
async fn a_v5_password_without_a_user_name_counts_as_anonymous() {
    // MQTT 5 allows a password without a user name (3.1.2.9); like Mosquitto, robustmq
    // ignores it and treats the client as anonymous.
    let open = start(Setup::default().passwd(users()).anonymous(true)).await;
    let connect = connect_packet(5, "pw-only", None, Some(b"wonderland"));
    assert_eq!(raw_connack(open.addr, &connect).await, 0);
    let closed = start(Setup::default().passwd(users()).anonymous(false)).await;
    assert_eq!(raw_connack(closed.addr, &connect).await, 0x87);
}
