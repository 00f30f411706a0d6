"""Shared subscriptions: members of $share/GROUP/FILTER split the messages, each delivered once."""

import time

from common import WAIT, Peer, check, main, ok, unique

COUNT = 20


def run(args):
    base = unique("interop/py/shared")
    topic = f"{base}/jobs"
    shared = f"$share/workers/{base}/jobs"
    members = [Peer(args, f"shared-member-{i}") for i in (1, 2)]
    for m in members:
        m.connect()
        m.subscribe_ok(shared, 1)
    plain = Peer(args, "shared-plain")
    plain.connect()
    plain.subscribe_ok(topic, 1)
    ok(f"{args.label}: two members subscribed to {shared}, one plain subscriber to {topic}")

    pub = Peer(args, "shared-pub")
    pub.connect()
    sent = [f"job {i}".encode() for i in range(COUNT)]
    for p in sent:
        pub.publish(topic, p, qos=1)

    everything = plain.expect(COUNT, "messages on the plain subscription")
    check(
        [m.payload for m in everything] == sent,
        f"the plain subscriber must get every message in order, got {[m.payload for m in everything]}",
    )
    ok(f"{args.label}: the plain subscriber got all {COUNT} messages")

    # Collect from both members until every message is accounted for.
    got = {0: [], 1: []}
    deadline = time.monotonic() + WAIT
    while len(got[0]) + len(got[1]) < COUNT and time.monotonic() < deadline:
        for i, m in enumerate(members):
            while not m.messages.empty():
                msg = m.messages.get_nowait()
                check(msg.topic == topic, f"member {i + 1} got a message on {msg.topic}, expected {topic}")
                got[i].append(msg.payload)
        time.sleep(0.02)
    total = got[0] + got[1]
    check(
        len(total) == COUNT,
        f"the group should get {COUNT} messages in total, got {len(got[0])} + {len(got[1])}: {got}",
    )
    check(sorted(total) == sorted(sent), f"each message exactly once across the group, got {sorted(total)}")
    check(
        len(got[0]) > 0 and len(got[1]) > 0,
        f"both members should get a share, got {len(got[0])} and {len(got[1])}",
    )
    ok(
        f"{args.label}: the group split {COUNT} messages {len(got[0])}/{len(got[1])}, "
        "each delivered to exactly one member"
    )
    for p in members + [plain, pub]:
        p.disconnect()


if __name__ == "__main__":
    main(__doc__, run)
