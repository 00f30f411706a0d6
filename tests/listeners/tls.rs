//! `mqtts` listeners: TLS with mosquitto's clients, TLS versions, mutual TLS, certificate
//! identities as user names, certificate reloads, and what a bad handshake costs.

use std::process::Command;
use std::time::Duration;

use super::harness::*;

fn s(p: &std::path::Path) -> String {
    p.display().to_string()
}

#[test]
fn mosquitto_clients_publish_and_subscribe_over_tls_in_both_versions() {
    let certs = new_certs(&[]);
    let broker = Broker::start(&tls_listener("mqtts", &certs, ""), "");
    let port = broker.port(0, "mqtts");
    let ca = s(&certs.join("ca.crt"));
    for version in ["mqttv311", "mqttv5"] {
        let p = port.to_string();
        let tls = ["-h", "localhost", "-p", &p, "--cafile", &ca, "-V", version];
        let sub = Subscriber::start(&[&tls[..], &["-t", "tls/#"]].concat());
        publish_until_received(&sub, &tls, &format!("tls/{version}"), "encrypted");
    }
    assert!(broker.log().contains("protocol=mqtts"), "{}", broker.log());
}

#[test]
fn a_client_that_does_not_trust_the_certificate_or_speaks_plain_mqtt_gets_nothing() {
    let certs = new_certs(&[]);
    let other = new_certs(&[]);
    let broker = Broker::start(
        &format!("{}{}", tls_listener("mqtts", &certs, ""), plain_listener()),
        "",
    );
    let (tls_port, plain_port) = (broker.port(0, "mqtts"), broker.port(1, "mqtt"));
    let p = tls_port.to_string();
    // Signed by another CA: the client refuses the server.
    let out = mosquitto_pub(&[
        "-h",
        "localhost",
        "-p",
        &p,
        "--cafile",
        &s(&other.join("ca.crt")),
        "-t",
        "x",
        "-m",
        "x",
    ]);
    assert!(
        !out.status.success(),
        "a client trusting another CA must not connect"
    );
    // Plain MQTT on the TLS port: the handshake fails and the connection is dropped.
    let reply = exchange(
        tls_port,
        &[0x10, 0x0c, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 0],
    );
    assert!(
        reply.iter().all(|b| *b != 0x20),
        "no CONNACK over a non-TLS connection: {reply:?}"
    );
    // Both failures are counted and the broker keeps serving.
    let sub = Subscriber::start(&[
        "-p",
        &plain_port.to_string(),
        "-t",
        "$SYS/broker/clients/tls_handshake_failures",
    ]);
    wait_until_blocking("the handshake failure counter", WAIT, || {
        sub.lines()
            .lines()
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .any(|n| n >= 2)
    });
    assert!(broker.log().contains("TLS handshake failed"), "{}", broker.log());
}

#[test]
fn only_tls_1_2_and_1_3_are_offered() {
    let certs = new_certs(&[]);
    let broker = Broker::start(&tls_listener("mqtts", &certs, ""), "");
    let port = broker.port(0, "mqtts");
    let connect = format!("127.0.0.1:{port}");
    let handshake = |version: &str| {
        // SECLEVEL=0 lets this OpenSSL offer the old versions at all: the refusal must come
        // from the broker.
        run(
            Command::new("openssl").args([
                "s_client",
                "-connect",
                &connect,
                version,
                "-cipher",
                "DEFAULT:@SECLEVEL=0",
                "-CAfile",
                &s(&certs.join("ca.crt")),
            ]),
            Duration::from_secs(20),
        )
    };
    for ok in ["-tls1_2", "-tls1_3"] {
        let out = handshake(ok);
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("Verify return code: 0 (ok)") && !stdout.contains("Cipher is (NONE)"),
            "{ok} should work:\n{stdout}\n{}",
            text(&out.stderr)
        );
    }
    for refused in ["-tls1", "-tls1_1"] {
        let out = handshake(refused);
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("Cipher is (NONE)") || !out.status.success(),
            "{refused} must be refused:\n{stdout}"
        );
    }
}

#[test]
fn mutual_tls_requires_a_certificate_signed_by_the_client_ca() {
    let certs = new_certs(&[]);
    let stranger = new_certs(&["--client-name", "stranger"]);
    let extra = format!(
        "client_ca = \"{}\"\nrequire_certificate = true\n",
        s(&certs.join("ca.crt"))
    );
    let broker = Broker::start(&tls_listener("mqtts", &certs, &extra), "");
    let port = broker.port(0, "mqtts");
    let p = port.to_string();
    let ca = s(&certs.join("ca.crt"));
    let base = [
        "-h",
        "localhost",
        "-p",
        &p,
        "--cafile",
        &ca,
        "-t",
        "m/1",
        "-m",
        "x",
    ];
    let without = mosquitto_pub(&base);
    assert!(!without.status.success(), "no client certificate: refused");
    let (cert, key) = (s(&stranger.join("client.crt")), s(&stranger.join("client.key")));
    let foreign = mosquitto_pub(&[&base[..], &["--cert", &cert, "--key", &key]].concat());
    assert!(
        !foreign.status.success(),
        "a certificate from another CA: refused"
    );
    let (cert, key) = (s(&certs.join("client.crt")), s(&certs.join("client.key")));
    let good = mosquitto_pub(&[&base[..], &["--cert", &cert, "--key", &key]].concat());
    assert!(
        good.status.success(),
        "our client certificate: {}",
        text(&good.stderr)
    );
}

#[test]
fn the_certificate_common_name_becomes_the_user_name_for_login_and_acl() {
    let certs = new_certs(&["--client-name", "sensor-7"]);
    let ca = s(&certs.join("ca.crt"));
    let mtls = format!("client_ca = \"{ca}\"\nrequire_certificate = true\nallow_anonymous = false\n");
    let listeners = format!(
        "{}{}",
        tls_listener(
            "mqtts",
            &certs,
            &format!("{mtls}use_identity_as_username = true\n")
        ),
        tls_listener("mqtts", &certs, &mtls),
    );
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("acl");
    std::fs::write(&acl, "user sensor-7\ntopic readwrite sensors/7/#\n").unwrap();
    let broker = Broker::start(&listeners, &format!("[auth]\nacl_file = \"{}\"\n", s(&acl)));
    let (identity_port, plain_tls_port) = (broker.port(0, "mqtts"), broker.port(1, "mqtts"));
    let (cert, key) = (s(&certs.join("client.crt")), s(&certs.join("client.key")));
    let tls = |port: u16| {
        vec![
            "-h".to_string(),
            "localhost".into(),
            "-p".into(),
            port.to_string(),
            "--cafile".into(),
            ca.clone(),
            "--cert".into(),
            cert.clone(),
            "--key".into(),
            key.clone(),
        ]
    };
    let identity: Vec<String> = tls(identity_port);
    let identity: Vec<&str> = identity.iter().map(String::as_str).collect();
    // As sensor-7, the ACL lets it read and write its own tree, and nothing else reaches it.
    let sub = Subscriber::start(&[&identity[..], &["-t", "#", "-V", "mqttv5"]].concat());
    publish_until_received(&sub, &identity, "sensors/7/temp", "21.5");
    let denied = mosquitto_pub(&[&identity[..], &["-t", "sensors/8/temp", "-m", "x"]].concat());
    assert!(
        denied.status.success(),
        "3.1.1: a denied PUBLISH is acknowledged and dropped"
    );
    publish_until_received(&sub, &identity, "sensors/7/temp", "22.0");
    assert!(!sub.lines().contains("sensors/8"), "{}", sub.lines());
    // Without use_identity_as_username the same client is anonymous, which this listener refuses.
    let other: Vec<String> = tls(plain_tls_port);
    let other: Vec<&str> = other.iter().map(String::as_str).collect();
    let refused = mosquitto_pub(&[&other[..], &["-t", "sensors/7/temp", "-m", "x"]].concat());
    assert!(
        !refused.status.success(),
        "anonymous on a listener that refuses it"
    );
    assert!(broker.log().contains("client_id="), "{}", broker.log());
}

#[test]
fn sighup_swaps_the_certificate_and_keeps_connected_clients() {
    let dir = tempfile::tempdir().unwrap();
    let old = certs_in(&dir.path().join("old"), &[]);
    let new = certs_in(&dir.path().join("new"), &[]);
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    for f in ["server.crt", "server.key"] {
        std::fs::copy(old.join(f), live.join(f)).unwrap();
    }
    let broker = Broker::start(
        &format!("{}{}", tls_listener("mqtts", &live, ""), plain_listener()),
        "",
    );
    let (tls_port, plain_port) = (broker.port(0, "mqtts"), broker.port(1, "mqtt"));
    let p = tls_port.to_string();
    let old_ca = s(&old.join("ca.crt"));
    let new_ca = s(&new.join("ca.crt"));
    let mut before = Subscriber::start(&["-h", "localhost", "-p", &p, "--cafile", &old_ca, "-t", "r/#"]);
    let plain = ["-p", &plain_port.to_string()].map(String::from);
    let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
    publish_until_received(&before, &plain, "r/1", "before");
    for f in ["server.crt", "server.key"] {
        // Written aside and renamed, as certificate tools do.
        let tmp = live.join(format!("{f}.new"));
        std::fs::copy(new.join(f), &tmp).unwrap();
        std::fs::rename(&tmp, live.join(f)).unwrap();
    }
    broker.sighup_and_wait("TLS certificate reloaded");
    // New connections get the new certificate...
    let with_new = mosquitto_pub(&[
        "-h",
        "localhost",
        "-p",
        &p,
        "--cafile",
        &new_ca,
        "-t",
        "r/2",
        "-m",
        "new",
    ]);
    assert!(with_new.status.success(), "{}", text(&with_new.stderr));
    let with_old = mosquitto_pub(&[
        "-h",
        "localhost",
        "-p",
        &p,
        "--cafile",
        &old_ca,
        "-t",
        "r/3",
        "-m",
        "x",
    ]);
    assert!(
        !with_old.status.success(),
        "the old certificate is no longer presented"
    );
    // ...and the connection made before is still there and still served.
    assert!(before.alive());
    publish_until_received(&before, &plain, "r/4", "after");
    before.wait_for("r/2 new");
}

#[test]
fn a_bad_certificate_file_is_a_configuration_error_naming_the_file() {
    let certs = new_certs(&[]);
    let other = new_certs(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!(
                "cert = \"{}\"\nkey = \"{}\"\n",
                s(&dir.path().join("missing.crt")),
                s(&certs.join("server.key"))
            ),
            "missing.crt",
        ),
        (
            format!(
                "cert = \"{}\"\nkey = \"{}\"\n",
                s(&certs.join("server.key")),
                s(&certs.join("server.key"))
            ),
            "no PEM certificate",
        ),
        (
            format!(
                "cert = \"{}\"\nkey = \"{}\"\n",
                s(&certs.join("server.crt")),
                s(&other.join("server.key"))
            ),
            "cannot be used together",
        ),
    ];
    for (files, expected) in cases {
        let config = dir.path().join("bad.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\ndata_dir = \"{}\"\n[[listeners]]\nbind = \"127.0.0.1:0\"\nprotocol = \"mqtts\"\n{files}",
                s(&dir.path().join("data"))
            ),
        )
        .unwrap();
        let out = run(
            Command::new(BIN).args(["serve", "-c"]).arg(&config),
            Duration::from_secs(20),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("listeners[0]") && stderr.contains(expected),
            "{expected}: {stderr}"
        );
    }
}

/// `robustmq pub`/`sub` (the project's own client) with `args`.
fn robustmq_client(args: &[&str]) -> std::process::Output {
    run(Command::new(BIN).args(args), Duration::from_secs(30))
}

#[test]
fn robustmq_pub_and_sub_speak_tls_and_name_the_check_that_failed() {
    let certs = new_certs(&[]);
    // Valid for 10.9.9.9 only: connecting to 127.0.0.1 fails the name check.
    let other_name = new_certs(&["--host", "elsewhere.example", "--ip", "10.9.9.9"]);
    let stranger = new_certs(&[]);
    let broker = Broker::start(
        &format!(
            "{}{}{}",
            tls_listener("mqtts", &certs, ""),
            tls_listener("mqtts", &other_name, ""),
            plain_listener()
        ),
        "",
    );
    let (tls_port, named_port, plain_port) = (
        broker.port(0, "mqtts"),
        broker.port(1, "mqtts"),
        broker.port(2, "mqtt"),
    );
    let ca = s(&certs.join("ca.crt"));
    let p = tls_port.to_string();
    let sub = std::thread::spawn({
        let (ca, p) = (ca.clone(), p.clone());
        move || {
            robustmq_client(&[
                "sub",
                "-h",
                "localhost",
                "-p",
                &p,
                "--cafile",
                &ca,
                "-t",
                "rt/#",
                "-v",
                "-C",
                "1",
                "-W",
                "20",
            ])
        }
    });
    // The URL form turns TLS on by itself; retry until the subscription is in place.
    wait_until_blocking("sub to receive over TLS", WAIT, || {
        let url = format!("mqtts://localhost:{tls_port}/rt/1");
        let out = robustmq_client(&["pub", "-L", &url, "--cafile", &ca, "-m", "secret"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        sub.is_finished()
    });
    let got = sub.join().unwrap();
    assert_eq!(text(&got.stdout), "rt/1 secret\n", "{}", text(&got.stderr));

    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "-h",
                "localhost",
                "-p",
                &p,
                "--cafile",
                &s(&stranger.join("ca.crt")),
            ],
            "not signed by a trusted CA",
        ),
        (
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &named_port.to_string(),
                "--cafile",
                &s(&other_name.join("ca.crt")),
            ],
            "not valid for the name \"127.0.0.1\"",
        ),
        (
            &["-h", "localhost", "-p", &plain_port.to_string(), "--cafile", &ca],
            "is this a TLS port?",
        ),
    ];
    for (args, expected) in cases {
        let out = robustmq_client(&[&["pub", "-t", "x", "-m", "x"][..], args].concat());
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // --insecure skips only the name check.
    let named = named_port.to_string();
    let other_ca = s(&other_name.join("ca.crt"));
    let out = robustmq_client(&[
        "pub",
        "-h",
        "127.0.0.1",
        "-p",
        &named,
        "--cafile",
        &other_ca,
        "--insecure",
        "-t",
        "x",
        "-m",
        "x",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stranger_ca = s(&stranger.join("ca.crt"));
    let out = robustmq_client(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &p,
        "--cafile",
        &stranger_ca,
        "--insecure",
        "-t",
        "x",
        "-m",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(3), "--insecure still needs a trusted CA");
}

#[test]
fn robustmq_clients_talk_mutual_tls_to_mosquitto() {
    let certs = new_certs(&[]);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "user root\nlistener {port} 127.0.0.1\nallow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
            s(&certs.join("ca.crt")),
            s(&certs.join("server.crt")),
            s(&certs.join("server.key"))
        ),
    )
    .unwrap();
    let mosquitto = ["/usr/sbin/mosquitto", "mosquitto"]
        .into_iter()
        .find(|p| Command::new(p).arg("-h").output().is_ok())
        .expect("mosquitto is installed (the setup script installs it)");
    let mut child = Command::new(mosquitto)
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until_blocking("mosquitto's TLS port", WAIT, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let p = port.to_string();
    let ca = s(&certs.join("ca.crt"));
    let (cert, key) = (s(&certs.join("client.crt")), s(&certs.join("client.key")));
    let tls: Vec<&str> = vec![
        "-h",
        "localhost",
        "-p",
        &p,
        "--cafile",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
    ];
    let sub = std::thread::spawn({
        let args: Vec<String> = tls.iter().map(|a| a.to_string()).collect();
        move || {
            let mut all = vec!["sub".to_string()];
            all.extend(args);
            all.extend(["-t", "m/#", "-C", "1", "-W", "20", "-V", "311"].map(String::from));
            run(Command::new(BIN).args(&all), Duration::from_secs(30))
        }
    });
    wait_until_blocking("sub to receive from mosquitto", WAIT, || {
        let out =
            robustmq_client(&[&["pub"][..], &tls, &["-t", "m/1", "-m", "mutual", "-V", "311"]].concat());
        assert!(out.status.success(), "{}", text(&out.stderr));
        sub.is_finished()
    });
    let got = sub.join().unwrap();
    assert_eq!(text(&got.stdout), "mutual\n", "{}", text(&got.stderr));
    // Without a client certificate mosquitto ends the handshake: the error says what to try.
    let out = robustmq_client(&[
        "pub",
        "-h",
        "localhost",
        "-p",
        &p,
        "--cafile",
        &ca,
        "-t",
        "x",
        "-m",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the broker requires a client certificate (--cert and --key)"),
        "{}",
        text(&out.stderr)
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_plain_client_on_a_tls_port_is_told_it_is_one() {
    let certs = new_certs(&[]);
    let broker = Broker::start(&tls_listener("mqtts", &certs, ""), "");
    let port = broker.port(0, "mqtts").to_string();
    for args in [
        vec!["pub", "-h", "127.0.0.1", "-p", &port, "-t", "t", "-m", "x"],
        vec![
            "sub",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "t",
            "-C",
            "1",
            "-W",
            "5",
        ],
    ] {
        let out = robustmq_client(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "cannot connect: {err}");
        assert!(
            err.contains("looks like a TLS port") && err.contains("--cafile"),
            "{err}"
        );
    }
}

/// `serve --check-config` on a configuration with this TLS listener: exit code and stderr.
fn check_config(listener: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("robustmq.toml");
    std::fs::write(&config, format!("[server]\ndata_dir = \"data\"\n\n{listener}")).unwrap();
    let out = run(
        Command::new(BIN)
            .args(["serve", "--check-config"])
            .arg(&config)
            .env("ROBUSTMQ_SYSTEM_CONFIG", ""),
        Duration::from_secs(20),
    );
    (out.status.code(), text(&out.stderr))
}

#[test]
fn check_config_opens_the_certificate_and_key_files() {
    let certs = new_certs(&[]);
    let (code, err) = check_config(&tls_listener("mqtts", &certs, ""));
    assert_eq!(code, Some(0), "{err}");

    let missing = certs.join("nowhere");
    let (code, err) = check_config(&tls_listener("wss", &missing, ""));
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("listeners[0]"), "{err}");
    assert!(
        err.contains(&format!("{}: cannot read", missing.join("server.crt").display())),
        "{err}"
    );

    let garbage = tempfile::tempdir().unwrap();
    std::fs::copy(certs.join("server.crt"), garbage.path().join("server.crt")).unwrap();
    std::fs::write(garbage.path().join("server.key"), "not a key\n").unwrap();
    let (code, err) = check_config(&tls_listener("mqtts", garbage.path(), ""));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: no PEM private key",
            garbage.path().join("server.key").display()
        )),
        "{err}"
    );

    // A bridge's client certificate and key are opened too.
    let bridge = format!(
        "[[bridges]]\nname = \"up\"\nremote = \"mqtts://localhost:1\"\ncafile = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n\n\
         [[bridges.topics]]\nfilter = \"m/#\"\n",
        certs.join("ca.crt").display(),
        certs.join("server.crt").display(),
        garbage.path().join("server.key").display()
    );
    let (code, err) = check_config(&bridge);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "bridges.up: {}: ",
            garbage.path().join("server.key").display()
        )),
        "{err}"
    );

    // A key of another certificate: rustls refuses the pair.
    let other = new_certs(&[]);
    let mismatched = tempfile::tempdir().unwrap();
    std::fs::copy(certs.join("server.crt"), mismatched.path().join("server.crt")).unwrap();
    std::fs::copy(other.join("server.key"), mismatched.path().join("server.key")).unwrap();
    let (code, err) = check_config(&tls_listener("mqtts", mismatched.path(), ""));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot be used together"), "{err}");
}

#[test]
fn sighup_takes_certificate_paths_from_the_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let old = certs_in(&dir.path().join("old"), &[]);
    let new = certs_in(&dir.path().join("new"), &[]);
    let broker = Broker::start(&tls_listener("mqtts", &old, ""), "");
    let p = broker.port(0, "mqtts").to_string();
    let publish_trusting = |ca: &std::path::Path| {
        mosquitto_pub(&[
            "-h",
            "localhost",
            "-p",
            &p,
            "--cafile",
            &s(&ca.join("ca.crt")),
            "-t",
            "r",
            "-m",
            "x",
        ])
    };
    assert!(publish_trusting(&old).status.success());
    let config = std::fs::read_to_string(broker.config()).unwrap();
    let moved = config.replace(&s(&old), &s(&new));
    assert_ne!(moved, config);
    std::fs::write(broker.config(), moved).unwrap();
    broker.sighup_and_wait("listeners[0].key");
    assert!(
        broker.log().contains(&format!(
            "listeners[0].cert {} → {}",
            s(&old.join("server.crt")),
            s(&new.join("server.crt"))
        )),
        "{}",
        broker.log()
    );
    let with_new = publish_trusting(&new);
    assert!(with_new.status.success(), "{}", text(&with_new.stderr));
    assert!(
        !publish_trusting(&old).status.success(),
        "the old certificate is no longer presented"
    );
}
