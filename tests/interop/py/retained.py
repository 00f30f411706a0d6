"""Retained messages: stored, delivered to later subscribers with RETAIN set, replaced, cleared."""

from common import Peer, check, describe, main, ok, unique


def run(args):
    base = unique("interop/py/retained")
    topic = f"{base}/state"
    marker = f"{base}/marker"
    pub = Peer(args, "retain-pub")
    pub.connect()

    live = Peer(args, "retain-live")
    live.connect()
    live.subscribe_ok(topic, 1)

    pub.publish(topic, b"first", qos=1, retain=True)
    m = live.next_message(what="the live copy of the retained publish")
    check(
        (m.topic, m.payload, bool(m.retain)) == (topic, b"first", False),
        f"an established subscription must get the retained publish with RETAIN=0, got {describe(m)}",
    )
    ok(f"{args.label}: an established subscriber gets a retained publish with RETAIN=0")

    pub.publish(topic, b"second", qos=1, retain=True)
    live.next_message(what="the live copy of the second retained publish")

    late = Peer(args, "retain-late")
    late.connect()
    late.subscribe_ok(f"{base}/+", 1)
    m = late.next_message(what="the retained message")
    check(
        (m.topic, m.payload, bool(m.retain), m.qos) == (topic, b"second", True, 1),
        f"a new subscription must get the latest retained message with RETAIN=1 at QoS 1, got {describe(m)}",
    )
    pub.publish(marker, b"after subscribe", qos=1)
    late.expect_first(marker, b"after subscribe", "only one retained message may be stored per topic")
    ok(f"{args.label}: a later subscriber gets only the latest retained message, with RETAIN=1")

    # A zero-length retained publish clears the stored message.
    pub.publish(topic, b"", qos=1, retain=True)
    after = Peer(args, "retain-after-clear")
    after.connect()
    after.subscribe_ok(f"{base}/+", 1)
    pub.publish(marker, b"after clear", qos=1)
    after.expect_first(marker, b"after clear", "the retained message should have been cleared")
    ok(f"{args.label}: an empty retained publish clears the retained message")

    for p in (pub, live, late, after):
        p.disconnect()


if __name__ == "__main__":
    main(__doc__, run)
