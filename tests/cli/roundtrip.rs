//! Messages from `robustmq pub` reach `robustmq sub` at every QoS, in both protocol versions,
//! from every payload source, through both brokers.

use super::harness::{Broker, Kind};

/// One subscriber per protocol version receives six messages: QoS 0, 1, 2 published with MQTT
/// 5 and with 3.1.1, printed with the QoS they arrived with.
fn all_qos_both_versions(kind: Kind) {
    let broker = Broker::start(kind);
    for sub_version in ["5", "311"] {
        let sub = broker.spawn_sub(&[
            "-V",
            sub_version,
            "-t",
            "rt/#",
            "-q",
            "2",
            "-C",
            "6",
            "-F",
            "%t %q %p",
        ]);
        let mut expected = String::new();
        for pub_version in ["5", "311"] {
            for qos in ["0", "1", "2"] {
                let topic = format!("rt/v{pub_version}/q{qos}");
                let payload = format!("from {pub_version} at {qos}");
                broker
                    .publish(&["-V", pub_version, "-q", qos, "-t", &topic, "-m", &payload])
                    .assert()
                    .success()
                    .stdout("")
                    .stderr("");
                expected.push_str(&format!("{topic} {qos} {payload}\n"));
            }
        }
        let done = sub.finish();
        assert_eq!(
            (done.code, done.stdout.as_str(), done.errors.as_str()),
            (Some(0), expected.as_str(), "")
        );
    }
}

#[test]
fn all_qos_both_versions_robustmq() {
    all_qos_both_versions(Kind::Robustmq);
}

#[test]
fn all_qos_both_versions_mosquitto() {
    all_qos_both_versions(Kind::Mosquitto);
}

#[test]
fn payload_sources_lines_file_stdin_null_and_repeat() {
    let broker = Broker::start(Kind::Robustmq);
    let sub = broker.spawn_sub(&["-t", "src/#", "-q", "2", "-C", "9", "-F", "%t [%p] %x"]);
    // -l: each line is a message, an empty line an empty message, the last line needs no newline
    broker
        .publish(&["-t", "src/lines", "-q", "1", "-l"])
        .write_stdin("one\n\nthree\r\nfour")
        .assert()
        .success();
    let file = broker.dir().join("payload.bin");
    std::fs::write(&file, b"file\x01").unwrap();
    broker
        .publish(&["-t", "src/file", "-f", file.to_str().unwrap()])
        .assert()
        .success();
    broker
        .publish(&["-t", "src/stdin", "-s"])
        .write_stdin("all\nof it")
        .assert()
        .success();
    broker.publish(&["-t", "src/null", "-n"]).assert().success();
    broker
        .publish(&[
            "-t",
            "src/repeat",
            "-m",
            "again",
            "-q",
            "2",
            "--repeat",
            "2",
            "--repeat-delay",
            "0.1",
        ])
        .assert()
        .success();
    let done = sub.finish();
    assert_eq!(done.code, Some(0), "{}", done.errors);
    assert_eq!(
        done.stdout,
        "src/lines [one] 6f6e65\n\
         src/lines [] \n\
         src/lines [three] 7468726565\n\
         src/lines [four] 666f7572\n\
         src/file [file\x01] 66696c6501\n\
         src/stdin [all\nof it] 616c6c0a6f66206974\n\
         src/null [] \n\
         src/repeat [again] 616761696e\n\
         src/repeat [again] 616761696e\n"
    );
}

#[test]
fn url_gives_host_port_and_topic() {
    let broker = Broker::start(Kind::Robustmq);
    let url = |topic: &str| format!("mqtt://127.0.0.1:{}/{topic}", broker.port());
    let mut sub = std::process::Command::new(env!("CARGO_BIN_EXE_robustmq"));
    sub.args(["sub", "-d", "-v", "-C", "1", "-L", &url("url/#")]);
    let sub = super::harness::Running::spawn_with(sub);
    super::harness::robustmq()
        .args(["pub", "-L", &url("url/x"), "-m", "via url"])
        .assert()
        .success();
    let done = sub.finish();
    assert_eq!((done.code, done.stdout.as_str()), (Some(0), "url/x via url\n"));
}
