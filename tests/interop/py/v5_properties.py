"""MQTT 5.0 properties: user properties and other PUBLISH properties are forwarded unchanged;
subscription identifiers come back on the messages their subscriptions matched."""

from common import PacketTypes, Peer, Properties, check, describe, fail, main, ok, unique

USER_PROPERTIES = [("trace", "abc-123"), ("k", "first"), ("k", "second"), ("unicode", "grüße ✓")]


def sub_props(identifier):
    props = Properties(PacketTypes.SUBSCRIBE)
    props.SubscriptionIdentifier = identifier
    return props


def ids(msg):
    return sorted(getattr(msg.properties, "SubscriptionIdentifier", None) or [])


def run(args):
    if not args.v5:
        fail("v5_properties.py checks MQTT 5.0 features; run it with --protocol 5")
    base = unique("interop/py/props")
    sub = Peer(args, "props-sub")
    pub = Peer(args, "props-pub")
    sub.connect()
    pub.connect()

    # 1. User properties (order and repeated keys kept) and the other application properties.
    topic = f"{base}/user"
    sub.subscribe_ok(topic, 1)
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = list(USER_PROPERTIES)
    props.ContentType = "application/json"
    props.ResponseTopic = f"{base}/reply"
    props.CorrelationData = b"\x00\x01corr"
    props.PayloadFormatIndicator = 1
    pub.publish(topic, b'{"hello": "world"}', qos=1, properties=props)
    m = sub.next_message(what="the message with properties")
    got = m.properties
    check(m.payload == b'{"hello": "world"}', f"payload changed: {describe(m)}")
    user = getattr(got, "UserProperty", None)
    check(user == USER_PROPERTIES, f"user properties: sent {USER_PROPERTIES}, got {user}")
    ok(f"{args.label}: {len(USER_PROPERTIES)} user properties arrived unchanged, in order, repeated key kept")
    for name, want in (
        ("ContentType", "application/json"),
        ("ResponseTopic", f"{base}/reply"),
        ("CorrelationData", b"\x00\x01corr"),
        ("PayloadFormatIndicator", 1),
    ):
        have = getattr(got, name, None)
        check(have == want, f"{name}: sent {want!r}, got {have!r}")
    check(ids(m) == [], f"a subscription without identifier must not add one, got {ids(m)}")
    ok(f"{args.label}: content type, response topic, correlation data and payload format indicator forwarded")

    # 2. Subscription identifiers.
    sid = f"{base}/sid"
    check(sub.subscribe(f"{sid}/a/#", 1, sub_props(42)) == 1, "SUBSCRIBE with identifier 42 refused")
    check(sub.subscribe(f"{sid}/b/+", 1, sub_props(268435455)) == 1, "SUBSCRIBE with identifier 268435455 refused")
    pub.publish(f"{sid}/a/x", b"to a", qos=1)
    m = sub.next_message(what=f"the message on {sid}/a/x")
    check((m.topic, ids(m)) == (f"{sid}/a/x", [42]), f"expected {sid}/a/x with ids [42], got {describe(m)} ids {ids(m)}")
    pub.publish(f"{sid}/b/y", b"to b", qos=1)
    m = sub.next_message(what=f"the message on {sid}/b/y")
    check(
        (m.topic, ids(m)) == (f"{sid}/b/y", [268435455]),
        f"expected {sid}/b/y with ids [268435455], got {describe(m)} ids {ids(m)}",
    )
    ok(f"{args.label}: each message carries the identifier of the subscription it matched (42, 268435455)")

    # Overlapping subscriptions: one copy carrying both ids, or one copy per subscription.
    ov = f"{base}/ov"
    check(sub.subscribe(f"{ov}/#", 1, sub_props(1)) == 1, "SUBSCRIBE with identifier 1 refused")
    check(sub.subscribe(f"{ov}/+", 1, sub_props(2)) == 1, "SUBSCRIBE with identifier 2 refused")
    check(sub.subscribe(f"{base}/end", 1, sub_props(3)) == 1, "SUBSCRIBE with identifier 3 refused")
    pub.publish(f"{ov}/x", b"both", qos=1)
    pub.publish(f"{base}/end", b"end", qos=1)
    copies = []
    while True:
        m = sub.next_message(what=f"the copies of {ov}/x and then {base}/end")
        if m.topic == f"{base}/end":
            check(ids(m) == [3], f"{base}/end: expected ids [3], got {ids(m)}")
            break
        check(m.topic == f"{ov}/x", f"unexpected message {describe(m)}")
        copies.append(ids(m))
    if len(copies) == 1:
        check(copies[0] == [1, 2], f"a single copy for two matching subscriptions must carry ids [1, 2], got {copies[0]}")
    else:
        check(
            sorted(copies) == [[1], [2]],
            f"one copy per matching subscription must each carry its own id, got {copies}",
        )
    ok(f"{args.label}: overlapping subscriptions delivered ids {copies}")

    # Resubscribing without an identifier removes it.
    check(sub.subscribe(f"{sid}/a/#", 1) == 1, "re-SUBSCRIBE without identifier refused")
    pub.publish(f"{sid}/a/z", b"no id now", qos=1)
    m = sub.next_message(what=f"the message on {sid}/a/z")
    check(ids(m) == [], f"after resubscribing without an identifier, expected no ids, got {ids(m)}")
    ok(f"{args.label}: replacing a subscription without an identifier drops the identifier")

    sub.disconnect()
    pub.disconnect()


if __name__ == "__main__":
    main(__doc__, run)
