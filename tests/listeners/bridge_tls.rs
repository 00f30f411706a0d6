//! Bridges whose remote is an `mqtts` listener asking for client certificates, a `ws` or a
//! `wss` listener.

use super::harness::*;

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
    wait_until_blocking("the refusal in the log", WAIT, || {
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
    wait_until_blocking("the TLS port named in the log", WAIT, || {
        local.log().contains("it is a TLS port, use mqtts://")
    });
}

/// `ws://` and `wss://` remotes: the bridge upgrades to WebSocket (subprotocol "mqtt", the
/// URL's path) and speaks MQTT over it, out over `ws`, in over `wss`.
#[test]
fn a_bridge_forwards_out_over_ws_and_takes_in_over_wss() {
    let certs = new_certs(&[]);
    let remote = Broker::start(
        &format!(
            "{}[[listeners]]\nbind = \"127.0.0.1:0\"\nprotocol = \"ws\"\npath = \"/broker\"\n\n{}",
            plain_listener(),
            tls_listener("wss", &certs, "")
        ),
        "",
    );
    let plain = remote.port(0, "mqtt").to_string();
    let (ws, wss) = (remote.port(1, "ws"), remote.port(2, "wss"));
    let ca = s(&certs.join("ca.crt"));
    let local = Broker::start(
        &plain_listener(),
        &format!(
            "[[bridges]]\nname = \"over-ws\"\nremote = \"ws://127.0.0.1:{ws}/broker\"\nclient_id = \"edge-ws\"\n\n\
             [[bridges.topics]]\nfilter = \"m/#\"\nqos = 1\nremote_prefix = \"edge/\"\n\n\
             [[bridges]]\nname = \"over-wss\"\nremote = \"wss://localhost:{wss}\"\nclient_id = \"edge-wss\"\ncafile = \"{ca}\"\n\n\
             [[bridges.topics]]\nfilter = \"c/#\"\ndirection = \"in\"\nqos = 1\nlocal_prefix = \"cmd/\"\n"
        ),
    );
    let local_port = local.port(0, "mqtt").to_string();

    let at_remote = Subscriber::start(&["-h", "127.0.0.1", "-p", &plain, "-t", "edge/#"]);
    publish_until_received(
        &at_remote,
        &["-h", "127.0.0.1", "-p", &local_port],
        "m/1",
        "over-ws",
    );
    assert!(at_remote.lines().contains("edge/m/1 over-ws"));

    let at_local = Subscriber::start(&["-h", "127.0.0.1", "-p", &local_port, "-t", "cmd/#"]);
    publish_until_received(&at_local, &["-h", "127.0.0.1", "-p", &plain], "c/go", "over-wss");
    assert!(at_local.lines().contains("cmd/c/go over-wss"));

    // A wrong path is refused by the remote's upgrade, and the log says so.
    let lost = Broker::start(
        &plain_listener(),
        &format!(
            "[[bridges]]\nname = \"lost\"\nremote = \"ws://127.0.0.1:{ws}/nowhere\"\n\n\
             [[bridges.topics]]\nfilter = \"m/#\"\n"
        ),
    );
    wait_until_blocking("the refused upgrade in the log", WAIT, || {
        lost.log().contains("WebSocket upgrade at 127.0.0.1:")
    });
}
