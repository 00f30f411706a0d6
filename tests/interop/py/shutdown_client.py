"""A v5 client that waits for the broker to shut down and checks it said so with DISCONNECT 0x8B.

Prints READY once connected and subscribed; the caller then stops the broker (SIGTERM).
"""

import queue

from common import WAIT, Peer, check, fail, main, ok, unique

SERVER_SHUTTING_DOWN = 0x8B


def run(args):
    if not args.v5:
        fail("shutdown_client.py checks the MQTT 5.0 DISCONNECT reason code; use --protocol 5")
    peer = Peer(args, "shutdown-watcher")
    peer.connect()
    peer.subscribe_ok(unique("interop/py/shutdown") + "/#", 1)
    print("READY", flush=True)
    try:
        flags, rc, _props = peer.disconnects.get(timeout=args.wait)
    except queue.Empty:
        fail(f"the connection was not closed within {args.wait}s of READY")
    from_server = flags.is_disconnect_packet_from_server
    check(
        from_server,
        f"the connection closed without a DISCONNECT packet from the server (paho reason: {rc})",
    )
    check(
        rc.value == SERVER_SHUTTING_DOWN,
        f"DISCONNECT reason code: expected 0x8B (Server shutting down), got {rc.value:#04x} ({rc})",
    )
    ok(f"{args.label}: the server sent DISCONNECT with reason 0x8B (Server shutting down)")


def extra(parser):
    parser.add_argument("--wait", type=float, default=3 * WAIT, help="how long to wait for the shutdown")


if __name__ == "__main__":
    main(__doc__, run, extra)
