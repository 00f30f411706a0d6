"""QoS 0, 1 and 2 publish/subscribe round trip through the broker with paho-mqtt."""

from common import Peer, check, describe, main, ok, unique


def run(args):
    sub = Peer(args, "qos-sub")
    pub = Peer(args, "qos-pub")
    check(not sub.connect(), "qos-sub: fresh clean session reported session present")
    pub.connect()
    ok(f"{args.label}: two clients connected")
    base = unique("interop/py/qos")
    binary = bytes(range(256))
    for qos in (0, 1, 2):
        topic = f"{base}/{qos}"
        sub.subscribe_ok(topic, qos)
        payloads = [f"qos {qos} message {i}".encode() for i in range(1, 4)] + [binary, b""]
        for p in payloads:
            pub.publish(topic, p, qos=qos)
        got = sub.expect(len(payloads), f"QoS {qos} messages")
        for sent, m in zip(payloads, got):
            check(
                (m.topic, m.payload, m.qos, bool(m.retain)) == (topic, sent, qos, False),
                f"QoS {qos}: expected {topic} {sent[:40]!r} qos={qos} retain=0, got {describe(m)}",
            )
        ok(f"{args.label}: QoS {qos}: {len(payloads)} messages (text, 256 binary bytes, empty) arrived in order at QoS {qos}")

    # The delivered QoS is the minimum of the published QoS and the subscription's QoS.
    topic = f"{base}/downgrade"
    sub.subscribe_ok(topic, 1)
    for qos in (2, 1, 0):
        pub.publish(topic, f"published at {qos}".encode(), qos=qos)
    got = sub.expect(3, "downgraded messages")
    check(
        [(m.payload, m.qos) for m in got]
        == [(b"published at 2", 1), (b"published at 1", 1), (b"published at 0", 0)],
        f"QoS downgrade: got {[describe(m) for m in got]}",
    )
    ok(f"{args.label}: a QoS 1 subscription receives QoS 2 publishes at QoS 1 and QoS 0 at 0")

    sub.disconnect()
    pub.disconnect()


if __name__ == "__main__":
    main(__doc__, run)
