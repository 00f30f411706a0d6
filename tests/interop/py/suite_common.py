"""The cases of the Paho interoperability suite that MQTT 3.1.1 and 5.0 share, re-expressed with
the paho-mqtt client: run one with ``--protocol {311,5} --case NAME`` against a fresh broker.

Where the Paho suite sleeps and then counts, these cases wait for the messages they expect and
then for marker messages published after them (one per QoS, since MQTT orders messages per QoS
level): whatever was not delivered before the markers was not delivered at all.
"""

from common import check, describe, mqtt, ok
from suite_lib import (
    CLIENT_A,
    CLIENT_B,
    CONNACK,
    NOSUBSCRIBE,
    PUBLISH,
    SUBACK,
    TOPICS,
    WILDTOPICS,
    Client,
    Raw,
    connect_packet,
    connect_props,
    prop,
    publish_props,
    disconnect_packet,
    run_cases,
    seen_markers,
    session_expiry,
    subscribe_packet,
)

USER_PROPERTIES = [("a", "2"), ("c", "3")]

# A Session Expiry Interval long enough to outlive any case (v5's way to ask for CleanSession 0).
KEEP_SESSION = 99999


def persistent(args, name, client_id, clean, **kw):
    """A client whose session outlives its connection, in either version."""
    c = Client(args, name, client_id=client_id, clean=clean, **kw)
    props = connect_props(SessionExpiryInterval=KEEP_SESSION) if args.v5 else None
    return c, props


def sub_options(args, qos, **options):
    return mqtt.SubscribeOptions(qos=qos, **options) if args.v5 else qos


def publish_markers(pub, topic):
    """One marker per QoS on ``topic``; returns them as (topic, payload) pairs."""
    markers = []
    for qos in (0, 1, 2):
        payload = f"marker qos {qos}".encode()
        pub.publish(topic, payload, qos=qos)
        markers.append((topic, payload))
    return markers


def basic(args):
    """Connect twice, subscribe at QoS 2, receive one's own messages at QoS 0, 1 and 2; a second
    CONNECT on a connection and a wrong protocol name are both refused."""
    a = Client(args, "a", client_id=CLIENT_A)
    a.open()
    a.close()
    present, _ = a.open()
    check(not present, "a clean connection reported session present")
    a.subscribe_ok(TOPICS[0], 2)
    sent = [(b"qos 0", 0), (b"qos 1", 1), (b"qos 2", 2)]
    for payload, qos in sent:
        a.publish(TOPICS[0], payload, qos=qos)
    got = a.expect(3, "own messages")
    check(
        sorted((m.payload, m.qos) for m in got) == sorted(sent),
        f"expected {sent} on {TOPICS[0]}, got {[describe(m) for m in got]}",
    )
    a.close()
    ok(f"{args.label}: subscribed at QoS 2, got own messages at QoS 0, 1 and 2")

    # 3.1.1 [MQTT-3.1.0-2], v5 [MQTT-3.1.0-2]: a second CONNECT is a protocol violation.
    raw = Raw(args, "second-connect")
    raw.send(connect_packet(CLIENT_A, args.v5))
    _present, code, _props = raw.connack()
    check(code == 0, f"the first CONNECT was refused with {code:#04x}")
    raw.send(connect_packet(CLIENT_A, args.v5))
    after = raw.closed("the close after a second CONNECT")
    check(
        all(kind != CONNACK for kind, _f, _b in after),
        f"a second CONNECT on one connection was answered with CONNACK: {after}",
    )
    ok(f"{args.label}: a second CONNECT on the same connection closes it")

    # [MQTT-3.1.2-1]: not "MQTT", not served under this specification.
    raw = Raw(args, "wrong-protocol-name")
    raw.send(connect_packet(CLIENT_A, args.v5, name="hj"))
    after = raw.closed("the close after CONNECT with protocol name 'hj'")
    accepted = [b for kind, _f, b in after if kind == CONNACK and len(b) > 1 and b[1] == 0]
    check(not accepted, f"CONNECT with protocol name 'hj' was accepted: {after}")
    ok(f"{args.label}: CONNECT with protocol name 'hj' is refused ({after or 'closed without CONNACK'})")


def retained_messages(args):
    """Retained messages at QoS 0, 1 and 2 reach a later subscriber; empty retained messages
    clear them."""
    a = Client(args, "a", client_id=CLIENT_A)
    present, _ = a.open()
    check(not present, "a clean connection reported session present")
    sent = [(TOPICS[1], b"qos 0", 0), (TOPICS[2], b"qos 1", 1), (TOPICS[3], b"qos 2", 2)]
    # v5: the retained copies keep the publisher's user properties, in order.
    props = publish_props(UserProperty=list(USER_PROPERTIES)) if args.v5 else None
    for topic, payload, qos in sent:
        a.publish(topic, payload, qos=qos, retain=True, properties=props)
    a.subscribe_ok(WILDTOPICS[5], 2)
    got = a.expect(3, "retained messages")
    check(
        sorted((m.topic, m.payload, m.qos, m.retain) for m in got)
        == sorted((t, p, q, True) for t, p, q in sent),
        f"expected {sent} retained, got {[describe(m) for m in got]}",
    )
    if args.v5:
        users = [prop(m, "UserProperty") for m in got]
        check(all(u == USER_PROPERTIES for u in users), f"user properties of the retained copies: {users}")
    a.close()
    ok(f"{args.label}: three retained messages (QoS 0, 1, 2) delivered to a later subscriber")

    a = Client(args, "a", client_id=CLIENT_A)
    present, _ = a.open()
    check(not present, "a clean connection reported session present")
    for topic, _payload, qos in sent:
        a.publish(topic, b"", qos=qos, retain=True)
    a.subscribe_ok(WILDTOPICS[5], 2)
    markers = publish_markers(a, "TopicA/end")
    got = a.collect_until(seen_markers(markers), "the markers after subscribing")
    stale = [describe(m) for m in got if (m.topic, m.payload) not in markers]
    check(not stale, f"retained messages were not cleared: {stale}")
    a.close()
    ok(f"{args.label}: empty retained messages cleared all three")


def zero_length_clientid(args):
    """An empty client id: 3.1.1 refuses it with CleanSession 0 (return code 2) and accepts it
    with CleanSession 1; 5.0 accepts it either way."""
    raw = Raw(args, "empty-id-persistent")
    raw.send(connect_packet("", args.v5, clean=False))
    _present, code, props = raw.connack()
    if args.v5:
        check(code == 0, f"CONNECT with an empty client id and Clean Start 0 refused: {code:#04x}")
        assigned = props.get(0x12)
        check(assigned and assigned[0], f"no Assigned Client Identifier in CONNACK: {props}")
        raw.send(disconnect_packet())
        ok(f"{args.label}: an empty client id with Clean Start 0 is accepted (assigned {assigned[0]!r})")
    else:
        # [MQTT-3.1.3-8] CleanSession 0 with an empty id: CONNACK 0x02, then close.
        check(code == 2, f"CONNECT with an empty client id and CleanSession 0: expected 0x02, got {code:#04x}")
        raw.closed("the close after CONNACK 0x02")
        ok(f"{args.label}: an empty client id with CleanSession 0 is refused with 0x02 and closed")
    raw.close()

    c = Client(args, "empty-id", client_id="")
    c.open()
    c.close()
    ok(f"{args.label}: an empty client id with a clean session is accepted")


def offline_message_queueing(args):
    """QoS 1 and 2 messages published while a persistent session is offline are delivered when
    it reconnects (QoS 0 may be too)."""
    a, props = persistent(args, "a", CLIENT_A, clean=True if args.v5 else False)
    a.open(properties=props)
    a.subscribe_ok(WILDTOPICS[5], 2)
    a.close()

    b = Client(args, "b", client_id=CLIENT_B)
    b.open()
    sent = [(TOPICS[1], b"qos 0", 0), (TOPICS[2], b"qos 1", 1), (TOPICS[3], b"qos 2", 2)]
    for topic, payload, qos in sent:
        b.publish(topic, payload, qos=qos)

    a, props = persistent(args, "a", CLIENT_A, clean=False)
    present, _ = a.open(properties=props)
    check(present, "the reconnect did not report session present")
    markers = publish_markers(b, "TopicA/end")
    got = a.collect_until(seen_markers(markers), "the queued messages, then the markers")
    queued = sorted((m.topic, m.payload, m.qos) for m in got if (m.topic, m.payload) not in markers)
    check(
        queued in (sorted(sent), sorted(sent[1:])),
        f"expected {sent[1:]} (and maybe {sent[0]}) queued, got {queued}",
    )
    b.close()
    a.close()
    ok(
        f"{args.label}: {len(queued)} messages queued for the offline session "
        f"(QoS 0 {'queued' if len(queued) == 3 else 'not queued'})"
    )


def overlapping_subscriptions(args):
    """Two overlapping subscriptions (QoS 2 and 1) of one client: one message at QoS 2, or one
    per subscription at QoS 2 and 1."""
    a = Client(args, "a", client_id=CLIENT_A)
    a.open()
    codes = a.subscribe_many([(WILDTOPICS[6], sub_options(args, 2)), (WILDTOPICS[0], sub_options(args, 1))])
    check(codes == [2, 1], f"SUBACK {codes}, expected [2, 1]")
    a.publish(TOPICS[3], b"overlapping topic filters", qos=2)
    # Markers match only TopicA/#.
    markers = publish_markers(a, "TopicA/C/end")
    got = a.collect_until(seen_markers(markers), "the overlapping message, then the markers")
    qoss = sorted(m.qos for m in got if m.topic == TOPICS[3])
    check(qoss in ([2], [1, 2]), f"expected one message at QoS 2 or two at QoS 1 and 2, got QoS {qoss}")
    a.close()
    how = "one message at QoS 2" if qoss == [2] else "one message per subscription"
    ok(f"{args.label}: overlapping subscriptions deliver {how}")


def keepalive(args):
    """A client silent past 1.5 times its keep alive is disconnected and its will published."""
    b = Client(args, "b", client_id=CLIENT_B)
    b.open(keepalive=0)
    b.subscribe_ok(TOPICS[4], 2)
    raw = Raw(args, "silent")
    raw.send(connect_packet(CLIENT_A, args.v5, keepalive=2, will=(TOPICS[4], b"keepalive expiry", 0, b"")))
    _present, code, props = raw.connack()
    check(code == 0, f"CONNECT with keep alive 2 refused: {code:#04x}")
    check(0x13 not in props, f"keep alive 2 is within bounds, yet the server set its own: {props}")
    # 3.1.1 [MQTT-3.1.2-24], v5 [MQTT-3.1.2-22]: disconnect after 1.5 x keep alive of silence.
    after = raw.closed("the broker to close the silent connection")
    # v5 may say why first (DISCONNECT 0x8D, keep alive timeout); 3.1.1 has nothing to say.
    allowed = ([], [(14, 0, b"\x8d")]) if args.v5 else ([],)
    check(after in allowed, f"expected {' or '.join(map(str, allowed))} before the close, got {after}")
    ok(f"{args.label}: the broker closed a connection silent past its keep alive")
    m = b.next_message(what="the will of the silent client")
    check((m.topic, m.payload) == (TOPICS[4], b"keepalive expiry"), f"expected the will, got {describe(m)}")
    b.close()
    ok(f"{args.label}: its will was published")


def redelivery_on_reconnect(args):
    """QoS 1 and 2 messages sent to a client that did not acknowledge them are sent again, with
    DUP set, when it reconnects to its session."""
    raw = Raw(args, "b-paused")
    expiry = session_expiry(KEEP_SESSION) if args.v5 else b""
    raw.send(connect_packet(CLIENT_B, args.v5, clean=False, props=expiry))
    _present, code, _ = raw.connack()
    check(code == 0, f"CONNECT refused: {code:#04x}")
    raw.send(subscribe_packet(1, [(WILDTOPICS[6], 2)], args.v5))
    _flags, body = raw.expect(SUBACK, "SUBACK")
    check(body[-1] == 2, f"SUBACK {body!r}, expected QoS 2 granted")

    a = Client(args, "a", client_id=CLIENT_A)
    a.open()
    sent = [(TOPICS[1], b"redeliver qos 1", 1), (TOPICS[3], b"redeliver qos 2", 2)]
    for topic, payload, qos in sent:
        a.publish(topic, payload, qos=qos)
    first = []
    for _ in sent:
        flags, body = raw.expect(PUBLISH, "the first delivery")
        first.append(raw.publish(flags, body))
    check(
        sorted((p["topic"], p["payload"], p["qos"]) for p in first) == sorted(sent),
        f"first deliveries: expected {sent}, got {first}",
    )
    # Neither is acknowledged: the client goes away as if paused.
    raw.send(disconnect_packet())
    raw.close()
    ok(f"{args.label}: two deliveries (QoS 1, QoS 2) left unacknowledged")

    b, props = persistent(args, "b", CLIENT_B, clean=False)
    present, _ = b.open(properties=props)
    check(present, "the reconnect did not report session present")
    markers = [("TopicA/end", b"marker qos 1"), ("TopicA/end", b"marker qos 2")]
    a.publish(*markers[0], qos=1)
    a.publish(*markers[1], qos=2)
    got = b.collect_until(seen_markers(markers), "the redeliveries, then the markers")
    again = [m for m in got if (m.topic, m.payload) not in markers]
    check(
        sorted((m.topic, m.payload, m.qos) for m in again) == sorted(sent),
        f"redeliveries: expected {sent}, got {[describe(m) for m in again]}",
    )
    # 3.1.1 [MQTT-4.4.0-1] / v5 [MQTT-4.4.0-1] re-sent on reconnect; [MQTT-3.3.1-1] with DUP set.
    check(all(m.dup for m in again), f"redeliveries without DUP: {[(describe(m), m.dup) for m in again]}")
    b.close()
    a.close()
    ok(f"{args.label}: both were redelivered with DUP set after the reconnect, and only once")


def subscribe_failure(args):
    """A subscription the ACL forbids is refused in SUBACK (3.1.1: 0x80; 5.0: 0x87 not
    authorized), alone or next to one that is granted."""
    a = Client(args, "a", client_id=CLIENT_A)
    a.open()
    want = 0x87 if args.v5 else 0x80
    code = a.subscribe(NOSUBSCRIBE, 2)
    check(code == want, f"SUBSCRIBE {NOSUBSCRIBE}: expected {want:#04x}, got {code:#04x}")
    codes = a.subscribe_many([(NOSUBSCRIBE, sub_options(args, 2)), (TOPICS[0], sub_options(args, 2))])
    check(codes == [want, 2], f"SUBSCRIBE {NOSUBSCRIBE} and {TOPICS[0]}: expected [{want:#04x}, 2], got {codes}")
    a.publish(TOPICS[0], b"still connected", qos=1)
    a.expect_first(TOPICS[0], b"still connected", "the granted subscription works")
    a.close()
    ok(f"{args.label}: SUBSCRIBE {NOSUBSCRIBE} refused with {want:#04x}; the connection stays usable")


def dollar_topics(args):
    """A filter starting with a wildcard does not match a topic starting with '$'."""
    watcher = Client(args, "watcher")
    watcher.open()
    watcher.subscribe_ok("$" + TOPICS[1], 1)
    b = Client(args, "b", client_id=CLIENT_B)
    b.open(keepalive=0)
    codes = b.subscribe_many([(WILDTOPICS[5], sub_options(args, 2)), (WILDTOPICS[2], sub_options(args, 2))])
    check(codes == [2, 2], f"SUBACK {codes}, expected [2, 2]")
    b.publish("$" + TOPICS[1], b"dollar", qos=1)
    # The watcher getting it shows the broker took the message and matched subscriptions.
    watcher.expect_first("$" + TOPICS[1], b"dollar", "a subscription naming the $ topic")
    b.publish(TOPICS[1], b"plain", qos=1)
    # [MQTT-4.7.2-1]: '+/+' and '#' must not have matched '$TopicA/B'.
    b.expect_first(TOPICS[1], b"plain", "'+/+' and '#' must not match '$TopicA/B'")
    b.close()
    watcher.close()
    ok(f"{args.label}: '+/+' and '#' did not match $TopicA/B; a subscription naming it did")


def unsubscribe(args):
    """After UNSUBSCRIBE from one of three topics, only the other two are delivered."""
    b = Client(args, "b", client_id=CLIENT_B)
    b.open()
    for topic in TOPICS[:3]:
        b.subscribe_ok(topic, 2)
    b.unsubscribe(TOPICS[0])
    a = Client(args, "a", client_id=CLIENT_A)
    a.open()
    for i, topic in enumerate(TOPICS[:3]):
        a.publish(topic, f"topic {i}".encode(), qos=1)
    # Same publisher, same QoS: had TOPICS[0] been delivered, it would have come first.
    b.expect_first(TOPICS[1], b"topic 1", "the unsubscribed topic must not be delivered")
    b.expect_first(TOPICS[2], b"topic 2", "the other subscription still delivers")
    a.close()
    b.close()
    ok(f"{args.label}: nothing delivered on the unsubscribed topic, the other two delivered")


CASES = {
    "basic": basic,
    "retained_messages": retained_messages,
    "zero_length_clientid": zero_length_clientid,
    "offline_message_queueing": offline_message_queueing,
    "overlapping_subscriptions": overlapping_subscriptions,
    "keepalive": keepalive,
    "redelivery_on_reconnect": redelivery_on_reconnect,
    "subscribe_failure": subscribe_failure,
    "dollar_topics": dollar_topics,
    "unsubscribe": unsubscribe,
}

if __name__ == "__main__":
    run_cases(__doc__, CASES)
