"""Persistent sessions: subscriptions and QoS 1/2 messages survive a disconnect; clean ones do not.

MQTT 3.1.1 uses CleanSession=0; MQTT 5.0 uses Clean Start=0 with a Session Expiry Interval.
"""

from common import Peer, check, describe, main, ok, unique

OFFLINE = [(b"offline qos1 a", 1), (b"offline qos2 b", 2), (b"offline qos1 c", 1)]


def persistent(args, client_id, first):
    """A client whose session outlives its connection. ``first`` = starting a new session."""
    if args.v5:
        return Peer(args, "session", client_id=client_id, clean=first, session_expiry=300)
    return Peer(args, "session", client_id=client_id, clean=False)


def run(args):
    base = unique("interop/py/session")
    topic = f"{base}/data"
    marker = f"{base}/marker"
    client_id = unique("interop-session")
    how = "Clean Start=0 + Session Expiry Interval 300" if args.v5 else "CleanSession=0"

    pub = Peer(args, "session-pub")
    pub.connect()

    s = persistent(args, client_id, first=True)
    check(not s.connect(), "the first connection of a new client id reported session present")
    s.subscribe_ok(topic, 2)
    s.disconnect()
    ok(f"{args.label}: subscribed at QoS 2 with {how}, then disconnected")

    for payload, qos in OFFLINE:
        pub.publish(topic, payload, qos=qos)
    ok(f"{args.label}: published {len(OFFLINE)} QoS 1/2 messages while the client was offline")

    s = persistent(args, client_id, first=False)
    check(s.connect(), f"reconnecting with {how} must report session present")
    ok(f"{args.label}: the reconnect reported session present")
    got = s.expect(len(OFFLINE), "queued messages (without subscribing again)")
    # MQTT orders messages per QoS level; messages of different QoS may be reordered.
    check(
        sorted((m.topic, m.payload, m.qos) for m in got) == sorted((topic, p, q) for p, q in OFFLINE),
        f"queued messages: expected {[(topic, p, q) for p, q in OFFLINE]}, got {[describe(m) for m in got]}",
    )
    qos1 = [m.payload for m in got if m.qos == 1]
    check(
        qos1 == [p for p, q in OFFLINE if q == 1],
        f"the queued QoS 1 messages must keep their order, got {qos1}",
    )
    ok(f"{args.label}: the queued messages arrived with their QoS, without resubscribing")

    # The subscription itself is part of the session: live messages still arrive.
    pub.publish(topic, b"live after reconnect", qos=1)
    s.expect_first(topic, b"live after reconnect", "the stored subscription should deliver live messages")
    s.disconnect()
    ok(f"{args.label}: the stored subscription keeps delivering after the reconnect")

    # A clean connection discards the stored session and its queued messages.
    pub.publish(topic, b"queued then discarded", qos=1)
    # v5: no Session Expiry Interval, so this session ends when the connection does.
    c = Peer(args, "session", client_id=client_id, clean=True)
    check(not c.connect(), "a clean connection must report no session present")
    c.subscribe_ok(topic, 1)
    c.subscribe_ok(marker, 1)
    pub.publish(marker, b"after clean connect", qos=1)
    c.expect_first(marker, b"after clean connect", "a clean connection must not receive the old session's queue")
    c.disconnect()
    ok(f"{args.label}: a clean connection discarded the stored session and its queued message")

    # That clean session ended with its connection, so nothing is kept for the id now.
    pub.publish(topic, b"nobody home", qos=1)
    s = persistent(args, client_id, first=False)
    check(not s.connect(), "the clean session must have ended with its connection (session present=1)")
    s.subscribe_ok(marker, 1)
    pub.publish(marker, b"final", qos=1)
    s.expect_first(marker, b"final", "nothing may be queued for a session that ended")
    s.disconnect()
    ok(f"{args.label}: a session {'with expiry 0' if args.v5 else 'with CleanSession=1'} ends at disconnect")
    pub.disconnect()


if __name__ == "__main__":
    main(__doc__, run)
