//! What `bench/overload.sh` relies on: refused publishes counted apart from lost ones, stalled
//! subscribers that never read, and a bystander pair timed during a connection storm.

use super::harness::{bench, num, Broker};

#[test]
fn refused_publishes_are_neither_lost_nor_errors() {
    // 50 publishes per second with a burst of 50: most of 600 at full speed are refused (0x97).
    let broker = Broker::robustmq_with("[limits]\nmax_publish_rate = 50\n");
    let port = broker.port().to_string();
    let run = bench(&[
        "pubsub", "-p", &port, "-c", "1", "-q", "1", "-V", "5", "-n", "600", "--json", "--quiet",
    ]);
    // Refusals are the broker's answer, counted apart: not sent-and-lost, not errors, and
    // not a failed run.
    let v = run.json();
    assert!(run.stderr.is_empty(), "{run:#?}");
    assert_eq!(v["passed"], true, "{v:#}");
    let (sent, acked, refused) = (num(&v, "sent"), num(&v, "acked"), num(&v, "refused"));
    assert_eq!(sent, 600, "{v:#}");
    assert!(refused > 0 && acked > 0, "{v:#}");
    assert_eq!(acked + refused + num(&v, "unacknowledged"), sent, "{v:#}");
    assert_eq!(num(&v, "unacknowledged"), 0, "{v:#}");
    assert_eq!(num(&v, "accepted"), acked, "{v:#}");
    assert_eq!(num(&v, "expected"), acked, "{v:#}");
    assert_eq!(num(&v, "received"), acked, "{v:#}");
    for key in ["lost", "not_received", "duplicates", "errors"] {
        assert_eq!(num(&v, key), 0, "{key} in {v:#}");
    }
    let reason = &v["refused_reasons"][0];
    assert_eq!(num(reason, "count"), refused, "{v:#}");
    assert!(
        reason["error"]
            .as_str()
            .is_some_and(|e| e.contains("quota exceeded")),
        "{v:#}"
    );
    let verdict = v["verdict"].as_str().unwrap_or_default();
    assert!(
        verdict.starts_with("PASS: ")
            && verdict.contains(&format!("{} refused by the broker, 0 lost", refused)),
        "{v:#}"
    );
}

#[test]
fn the_table_opens_with_the_verdict_and_says_the_load_is_unbounded() {
    let broker = Broker::robustmq_with("[limits]\nmax_publish_rate = 50\n");
    let port = broker.port().to_string();
    let run = bench(&[
        "pubsub", "-p", &port, "-c", "1", "-q", "1", "-n", "300", "--quiet",
    ]);
    assert_eq!(run.code(), 0, "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("PASS: ") && lines[0].contains("refused by the broker, 0 lost"),
        "{}",
        run.stdout
    );
    assert!(lines[1].starts_with("bench pubsub p2p against"), "{}", run.stdout);
    assert!(
        lines[2].starts_with("offered load: unlimited") && lines[2].contains("use --rate"),
        "{}",
        run.stdout
    );
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in {}", run.stdout))
            .split_whitespace()
            .nth(1)
            .map(str::to_string)
    };
    assert_eq!(row("sent").as_deref(), Some("300"), "{}", run.stdout);
    assert_ne!(row("refused").as_deref(), Some("0"), "{}", run.stdout);
    assert_eq!(row("lost").as_deref(), Some("0"), "{}", run.stdout);
    // Paced, the header gives the offered load instead.
    let run = bench(&[
        "pubsub", "-p", &port, "-c", "2", "--rate", "100", "-n", "20", "--quiet",
    ]);
    assert!(
        run.stdout
            .contains("\noffered load: 200 msg/s (100 per publisher)\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn at_qos0_and_311_every_message_sent_is_expected() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    let v = bench(&[
        "pubsub", "-p", &port, "-c", "2", "-q", "0", "-V", "311", "-n", "300", "--json", "--quiet",
    ])
    .json();
    assert_eq!(num(&v, "expected"), num(&v, "sent"), "{v:#}");
    assert_eq!(num(&v, "accepted"), num(&v, "sent"), "{v:#}");
    assert_eq!(
        num(&v, "received") + num(&v, "not_received"),
        num(&v, "sent"),
        "{v:#}"
    );
    // Nothing is acknowledged at QoS 0, so nothing can be lost.
    for key in ["acked", "refused", "unacknowledged", "lost"] {
        assert_eq!(num(&v, key), 0, "{key} in {v:#}");
    }
}

#[test]
fn stalled_subscribers_connect_and_subscribe_but_expect_nothing() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    let run = bench(&[
        "pubsub",
        "-p",
        &port,
        "--scenario",
        "p2p",
        "-c",
        "2",
        "-q",
        "1",
        "-n",
        "300",
        "--stalled-subscribers",
        "3",
    ]);
    assert_eq!(run.code(), 0, "{run:#?}");
    assert!(run.stdout.contains("3 stalled sub"), "{}", run.stdout);
    let v = bench(&[
        "pubsub",
        "-p",
        &port,
        "--scenario",
        "p2p",
        "-c",
        "2",
        "-q",
        "1",
        "-n",
        "300",
        "--stalled-subscribers",
        "3",
        "--json",
        "--quiet",
    ])
    .json();
    assert_eq!(num(&v, "stalled_subscribers"), 3, "{v:#}");
    assert_eq!((num(&v, "subscribers"), num(&v, "publishers")), (2, 2), "{v:#}");
    assert_eq!((num(&v, "clients"), num(&v, "connected")), (7, 7), "{v:#}");
    // Nothing is expected of the stalled ones: the pairs' figures are exact.
    assert_eq!(num(&v, "expected"), 600, "{v:#}");
    assert_eq!(num(&v, "received"), 600, "{v:#}");
    for key in ["lost", "errors", "unrecognized"] {
        assert_eq!(num(&v, key), 0, "{key} in {v:#}");
    }
}

#[test]
fn a_bystander_pair_is_timed_while_connections_open() {
    let broker = Broker::robustmq();
    let port = broker.port().to_string();
    // 50 connections at 100/s take half a second, in which the pair exchanges about 100.
    let v = bench(&[
        "conn",
        "-p",
        &port,
        "-c",
        "50",
        "--rate",
        "100",
        "-d",
        "100ms",
        "--bystander-rate",
        "200",
        "--json",
        "--quiet",
    ])
    .json();
    assert_eq!((num(&v, "clients"), num(&v, "connected")), (50, 50), "{v:#}");
    assert_eq!((num(&v, "publishers"), num(&v, "subscribers")), (1, 1), "{v:#}");
    assert_eq!(num(&v, "connect_latency_us.count"), 50, "{v:#}");
    let sent = num(&v, "sent");
    assert!(sent > 0, "{v:#}");
    assert_eq!(num(&v, "acked"), sent, "{v:#}");
    assert_eq!(num(&v, "received"), sent, "{v:#}");
    assert_eq!(num(&v, "latency_us.count"), sent, "{v:#}");
    for key in ["lost", "errors", "dropped"] {
        assert_eq!(num(&v, key), 0, "{key} in {v:#}");
    }
    let table = bench(&[
        "conn",
        "-p",
        &port,
        "-c",
        "20",
        "-d",
        "100ms",
        "--bystander-rate",
        "100",
    ]);
    assert_eq!(table.code(), 0, "{table:#?}");
    for words in ["bystander pair at 100 msg/s", "end to end", "publish ack"] {
        assert!(table.stdout.contains(words), "no {words:?} in {}", table.stdout);
    }
}
