"""Will messages: published when a client vanishes without DISCONNECT, not after a clean one.

The vanishing client is this same script started with --victim in a child process, killed with
SIGKILL once connected, so the broker sees the TCP connection drop with no DISCONNECT.
"""

import os
import select
import subprocess
import sys
import time

from common import WAIT, PacketTypes, Peer, Properties, check, describe, fail, main, ok, unique

WILL_USER_PROPERTIES = [("origin", "will.py"), ("kind", "last-will"), ("origin", "repeated")]


def will_properties(args):
    if not args.v5:
        return None
    props = Properties(PacketTypes.WILLMESSAGE)
    props.UserProperty = list(WILL_USER_PROPERTIES)
    props.ContentType = "text/plain"
    return props


def victim(args):
    """Child mode: connect with a will, say READY, then wait to be killed."""
    will = (args.will_topic, b"victim vanished", 1, False, will_properties(args))
    peer = Peer(args, "will-victim", will=will)
    peer.connect()
    peer.subscribe_ok(f"{args.will_topic}/unused", 0)
    print("READY", flush=True)
    time.sleep(args.timeout)


def read_ready(child):
    deadline = time.monotonic() + WAIT
    buf = b""
    fd = child.stdout.fileno()
    while b"READY" not in buf:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        if not ready:
            child.kill()
            fail(f"the will client did not connect within {WAIT}s: {buf!r}")
        chunk = os.read(fd, 4096)
        if not chunk:
            err = child.stderr.read().decode(errors="replace")
            fail(f"the will client exited early ({child.wait()}): {buf!r} {err}")
        buf += chunk


def run(args):
    if args.victim:
        victim(args)
        return
    base = unique("interop/py/will")
    will_topic = f"{base}/victim"
    marker = f"{base}/marker"
    watcher = Peer(args, "will-watcher")
    watcher.connect()
    watcher.subscribe_ok(f"{base}/#", 1)

    child = subprocess.Popen(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--host", args.host,
            "--port", str(args.port),
            "--protocol", args.protocol,
            "--timeout", "30",
            "--victim",
            "--will-topic", will_topic,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        read_ready(child)
    finally:
        child.kill()
        child.wait(timeout=WAIT)
    ok(f"{args.label}: the client with a will was connected, then killed with SIGKILL")

    m = watcher.next_message(what="the will message")
    check(
        (m.topic, m.payload, m.qos, bool(m.retain)) == (will_topic, b"victim vanished", 1, False),
        f"expected the will {will_topic} 'victim vanished' at QoS 1, got {describe(m)}",
    )
    ok(f"{args.label}: the will was published at QoS 1 when the connection dropped")
    if args.v5:
        props = m.properties
        user = getattr(props, "UserProperty", None)
        check(
            user == WILL_USER_PROPERTIES,
            f"the will's user properties must arrive unchanged and in order: sent {WILL_USER_PROPERTIES}, got {user}",
        )
        ctype = getattr(props, "ContentType", None)
        check(ctype == "text/plain", f"the will's content type: expected 'text/plain', got {ctype!r}")
        ok(f"{args.label}: the will carried its user properties (in order) and content type")

    # A client that disconnects with a normal DISCONNECT must not have its will published.
    polite = Peer(
        args,
        "will-polite",
        will=(f"{base}/polite", b"must not be published", 1, False, None),
    )
    polite.connect()
    polite.disconnect()
    pub = Peer(args, "will-marker")
    pub.connect()
    pub.publish(marker, b"after clean disconnect", qos=1)
    watcher.expect_first(marker, b"after clean disconnect", "a will was published after a clean DISCONNECT")
    ok(f"{args.label}: no will after a clean DISCONNECT")
    pub.disconnect()
    watcher.disconnect()


def extra(parser):
    parser.add_argument("--victim", action="store_true", help="internal: be the client that gets killed")
    parser.add_argument("--will-topic", help="internal: the victim's will topic")


if __name__ == "__main__":
    main(__doc__, run, extra)
