//! Message accounting: every scenario and subcommand, both protocol versions, QoS 0 to 2.

use serde_json::Value;

use super::harness::{bench, num, Background, Broker};

fn pubsub(broker: &Broker, args: &[&str]) -> Value {
    let port = broker.port().to_string();
    let mut all = vec!["pubsub", "-h", "127.0.0.1", "-p", &port, "--json", "--quiet"];
    all.extend_from_slice(args);
    bench(&all).json()
}

/// At QoS 1 and 2 nothing may be lost, duplicated or reordered, and every publish is acknowledged.
fn assert_exact(v: &Value, per_message: u64) {
    let sent = num(v, "sent");
    assert!(sent > 0, "{v:#}");
    assert_eq!(num(v, "expected"), sent * per_message, "{v:#}");
    assert_eq!(num(v, "received"), sent * per_message, "{v:#}");
    assert_eq!(num(v, "acked"), sent, "{v:#}");
    assert_eq!(num(v, "accepted"), sent, "{v:#}");
    assert_eq!(v["passed"], true, "{v:#}");
    for key in [
        "lost",
        "not_received",
        "duplicates",
        "reordered",
        "unrecognized",
        "errors",
        "connect_failures",
    ] {
        assert_eq!(num(v, key), 0, "{key} in {v:#}");
    }
    assert_eq!(num(v, "latency_us.count"), sent * per_message, "{v:#}");
    assert!(num(v, "latency_us.p99") > 0, "{v:#}");
}

#[test]
fn p2p_qos1_v5_delivers_every_message_once_in_order() {
    let broker = Broker::robustmq();
    let v = pubsub(&broker, &["--scenario", "p2p", "-c", "3", "-q", "1", "-n", "400"]);
    assert_eq!(num(&v, "sent"), 1200);
    assert_exact(&v, 1);
    assert_eq!(v["scenario"], "p2p");
    assert_eq!(v["protocol"], "5.0");
    assert_eq!(v["clock"], "process");
    assert_eq!(num(&v, "connected"), 6);
    assert_eq!(num(&v, "ack_latency_us.count"), 1200);
}

#[test]
fn p2p_qos1_v311_for_a_duration() {
    let broker = Broker::robustmq();
    let v = pubsub(
        &broker,
        &[
            "--scenario",
            "p2p",
            "-c",
            "2",
            "-q",
            "1",
            "-d",
            "700ms",
            "-V",
            "311",
            "--rate",
            "500",
        ],
    );
    assert_eq!(v["protocol"], "3.1.1");
    assert_exact(&v, 1);
    // 2 publishers at 500/s for 0.7 s: about 700 messages.
    assert!((200..=1000).contains(&num(&v, "sent")), "{v:#}");
}

#[test]
fn p2p_qos2() {
    let broker = Broker::robustmq();
    let v = pubsub(
        &broker,
        &[
            "--scenario",
            "p2p",
            "-c",
            "2",
            "-q",
            "2",
            "-n",
            "300",
            "-s",
            "200",
        ],
    );
    assert_exact(&v, 1);
    assert_eq!(num(&v, "payload_size"), 200);
}

#[test]
fn fanout_delivers_each_message_to_every_subscriber() {
    let broker = Broker::robustmq();
    let v = pubsub(
        &broker,
        &["--scenario", "fanout", "-c", "5", "-q", "1", "-n", "300"],
    );
    assert_eq!((num(&v, "publishers"), num(&v, "subscribers")), (1, 5));
    assert_eq!(num(&v, "sent"), 300);
    assert_exact(&v, 5);
}

#[test]
fn fanin_many_publishers_one_subscriber() {
    let broker = Broker::robustmq();
    let v = pubsub(
        &broker,
        &["--scenario", "fanin", "-c", "4", "-q", "1", "-n", "250"],
    );
    assert_eq!((num(&v, "publishers"), num(&v, "subscribers")), (4, 1));
    assert_exact(&v, 1);
}

#[test]
fn sharedsub_delivers_each_message_to_one_member() {
    let broker = Broker::robustmq();
    let v = pubsub(
        &broker,
        &[
            "--scenario",
            "sharedsub",
            "--publishers",
            "2",
            "--subscribers",
            "3",
            "-q",
            "1",
            "-n",
            "300",
        ],
    );
    assert_eq!(num(&v, "sent"), 600);
    assert_exact(&v, 1);
}

#[test]
fn qos0_counts_add_up() {
    let broker = Broker::robustmq();
    let v = pubsub(
        &broker,
        &[
            "--scenario",
            "fanin",
            "-c",
            "2",
            "-q",
            "0",
            "-d",
            "500ms",
            "--rate",
            "1000",
        ],
    );
    let (sent, received) = (num(&v, "sent"), num(&v, "received"));
    let missing = num(&v, "not_received");
    assert!(sent > 0, "{v:#}");
    assert_eq!(received + missing, sent + num(&v, "duplicates"), "{v:#}");
    assert_eq!((num(&v, "acked"), num(&v, "lost")), (0, 0), "{v:#}");
}

#[test]
fn separate_pub_and_sub_use_wall_clock_times() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    let mut sub = Background::start(&[
        "sub", "-p", &port, "-c", "2", "-q", "1", "-t", "sep/+", "-n", "600", "-d", "20s", "--json",
    ]);
    sub.wait_for("subscribed");
    let publ = bench(&[
        "pub", "-p", &port, "-c", "3", "-q", "1", "-n", "200", "-t", "sep/%i", "--json",
    ])
    .json();
    assert_eq!(publ["command"], "pub");
    assert_eq!(publ["clock"], "wall");
    assert_eq!((num(&publ, "sent"), num(&publ, "acked")), (600, 600));
    assert_eq!(num(&publ, "ack_latency_us.count"), 600);
    let subbed = sub.finish().json();
    assert_eq!(subbed["command"], "sub");
    assert_eq!(num(&subbed, "received"), 1200, "{subbed:#}");
    for key in [
        "lost",
        "not_received",
        "duplicates",
        "reordered",
        "unrecognized",
        "errors",
    ] {
        assert_eq!(num(&subbed, key), 0, "{key} in {subbed:#}");
    }
    assert_eq!(num(&subbed, "latency_us.count"), 1200);
    assert!(subbed["expected"].is_null());
}

#[test]
fn conn_opens_and_holds_connections() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    let run = bench(&[
        "conn", "-p", &port, "-c", "60", "--rate", "300", "-d", "300ms", "--json",
    ]);
    let v = run.json();
    assert_eq!(v["command"], "conn");
    assert_eq!((num(&v, "clients"), num(&v, "connected")), (60, 60));
    assert_eq!((num(&v, "connect_failures"), num(&v, "dropped")), (0, 0));
    assert_eq!(num(&v, "connect_latency_us.count"), 60);
    assert!(run.stderr.contains("holding 60 connections"), "{run:#?}");
}

#[test]
fn broker_pid_reports_broker_memory_and_cpu() {
    let broker = Broker::robustmq();
    let (port, pid) = (broker.port().to_string(), broker.pid().to_string());
    let v = bench(&[
        "conn",
        "-p",
        &port,
        "-c",
        "100",
        "-d",
        "200ms",
        "--json",
        "--broker-pid",
        &pid,
    ])
    .json();
    assert!(num(&v, "broker_rss_kib_before") > 0, "{v:#}");
    assert!(
        num(&v, "broker_rss_kib") >= num(&v, "broker_rss_kib_before"),
        "{v:#}"
    );
    assert!(v["broker_bytes_per_connection"].is_u64(), "{v:#}");
    assert!(v["broker_cpu"].is_f64(), "{v:#}");
    let v = pubsub(&broker, &["-c", "1", "-n", "100", "--broker-pid", &pid]);
    assert!(v["broker_cpu"].is_f64() && v["bench_cpu"].is_f64(), "{v:#}");
    assert!(v["broker_bytes_per_connection"].is_null(), "{v:#}");
}

#[test]
fn works_against_mosquitto() {
    // Interop must run, not skip: a missing peer is a setup error.
    let broker = Broker::mosquitto().expect("mosquitto is not installed: run .ci/setup-test-deps.sh");
    for version in ["5", "311"] {
        let v = pubsub(
            &broker,
            &[
                "--scenario",
                "fanout",
                "-c",
                "3",
                "-q",
                "1",
                "-n",
                "200",
                "-V",
                version,
            ],
        );
        assert_exact(&v, 3);
    }
}

#[test]
fn acknowledged_messages_that_never_arrive_fail_the_run() {
    // Mosquitto drops what overflows a subscriber's queue after acknowledging it: with a queue
    // of 10 and ten publishers at full speed against one subscriber, it does.
    let broker = Broker::mosquitto_with("max_queued_messages 10")
        .expect("mosquitto is not installed: run .ci/setup-test-deps.sh");
    let port = broker.port().to_string();
    let run = bench(&[
        "pubsub",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-V",
        "311",
        "--scenario",
        "fanin",
        "-c",
        "10",
        "-q",
        "1",
        "--rate",
        "0",
        "-d",
        "2s",
        "--drain",
        "3s",
        "--json",
        "--quiet",
    ]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let lost = v["lost"].as_u64().unwrap_or(0);
    assert!(lost > 0, "nothing lost: {v:#}");
    assert_eq!(v["passed"], false, "{v:#}");
    assert!(
        v["verdict"]
            .as_str()
            .is_some_and(|l| l.starts_with("FAIL: ") && l.contains("acknowledged messages never arrived")),
        "{v:#}"
    );
    assert_eq!(run.code(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("acknowledged never arrived (QoS 1)"),
        "{}",
        run.stderr
    );
}
