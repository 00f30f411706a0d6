//! A bridge whose remote is an `mqtts` listener asking for client certificates.

use crate::harness::*;

fn s(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// A broker on a plain listener, bridged to `remote_port` over TLS with `tls` keys.
fn bridged(remote_port: u16, tls: &str) -> Broker {
    Broker::start(
        &plain_listener(),
        &format!(
            "[[bridges]]\nname = \"secure\"\nremote = \"mqtts://localhost:{remote_port}\"\nclient_id = \"edge-tls\"\n{tls}\n\
             [[bridges.topics]]\nfilter = \"m/#\"\nqos = 1\nremote_prefix = \"edge/\"\n"
        ),
    )
}

#[test]
fn a_bridge_forwards_over_mutual_tls_and_says_why_when_refused() {
    let certs = new_certs(&[]);
    let extra = format!(
        "client_ca = \"{}\"\nrequire_certificate = true\n",
        s(&certs.join("ca.crt"))
    );
    let remote = Broker::start(&tls_listener("mqtts", &certs, &extra), "");
    let port = remote.port(0, "mqtts").to_string();
    let (ca, cert, key) = (
        s(&certs.join("ca.crt")),
        s(&certs.join("client.crt")),
        s(&certs.join("client.key")),
    );
    let subscriber = Subscriber::start(&[
        "-h",
        "localhost",
        "-p",
        &port,
        "--cafile",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
        "-t",
        "edge/#",
    ]);

    let local = bridged(
        port.parse().unwrap(),
        &format!("cafile = \"{ca}\"\ncert = \"{cert}\"\nkey = \"{key}\"\n"),
    );
    let local_port = local.port(0, "mqtt").to_string();
    publish_until_received(
        &subscriber,
        &["-h", "127.0.0.1", "-p", &local_port],
        "m/1",
        "over-tls",
    );
    assert!(subscriber.lines().contains("edge/m/1 over-tls"));

    // Without a client certificate the remote refuses the handshake: the log says so, once.
    let refused = bridged(port.parse().unwrap(), &format!("cafile = \"{ca}\"\n"));
    wait_until("the refusal in the log", || {
        refused.log().contains("bridge cannot connect")
    });
    assert_eq!(
        refused.log().matches("bridge cannot connect").count(),
        1,
        "{}",
        refused.log()
    );
}

#[test]
fn a_bridge_pointed_at_a_tls_port_with_mqtt_says_so() {
    let certs = new_certs(&[]);
    let remote = Broker::start(&tls_listener("mqtts", &certs, ""), "");
    let port = remote.port(0, "mqtts");
    let local = Broker::start(
        &plain_listener(),
        &format!(
            "[[bridges]]\nname = \"plain\"\nremote = \"mqtt://127.0.0.1:{port}\"\n\n\
             [[bridges.topics]]\nfilter = \"m/#\"\n"
        ),
    );
    wait_until("the TLS port named in the log", || {
        local.log().contains("it is a TLS port, use mqtts://")
    });
}
