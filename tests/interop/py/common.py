"""Shared helpers for the paho-mqtt interop checks.

Every check script takes ``--host HOST --port PORT --protocol {311,5}``, prints one ``ok:`` line
per thing it verified, prints ``PASS`` and exits 0 when everything held, or prints
``FAIL: <reason>`` to stderr and exits 1. A watchdog ends the process (exit 3) if a script runs
longer than ``--timeout`` seconds, so a misbehaving broker can never hang the test run.
"""

import argparse
import os
import queue
import sys
import threading
import time
import traceback
import uuid

try:
    import paho.mqtt
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
except ImportError as e:  # pragma: no cover - reported to the Rust harness
    print(f"FAIL: cannot import paho-mqtt ({e}); run .ci/setup-test-deps.sh", file=sys.stderr)
    sys.exit(1)

if not paho.mqtt.__version__.startswith("2."):
    print(
        f"FAIL: paho-mqtt 2.x is required, found {paho.mqtt.__version__}; run .ci/setup-test-deps.sh",
        file=sys.stderr,
    )
    sys.exit(1)

__all__ = [
    "WAIT",
    "CheckFailed",
    "Peer",
    "PacketTypes",
    "Properties",
    "check",
    "describe",
    "fail",
    "main",
    "mqtt",
    "ok",
    "parse_args",
    "unique",
]

# How long any single expected event (CONNACK, SUBACK, a message, ...) may take.
WAIT = 10.0


class CheckFailed(Exception):
    """A broker behaviour did not match the expectation."""


def fail(message):
    raise CheckFailed(message)


def check(condition, message):
    if not condition:
        fail(message)


def ok(message):
    print(f"ok: {message}", flush=True)


def unique(prefix):
    """A client id or topic component that no other check uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def parse_args(description, extra=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--protocol", choices=["311", "5"], required=True)
    parser.add_argument(
        "--timeout", type=float, default=45.0, help="watchdog: abort after this many seconds"
    )
    if extra:
        extra(parser)
    args = parser.parse_args()
    args.v5 = args.protocol == "5"
    args.proto = mqtt.MQTTv5 if args.v5 else mqtt.MQTTv311
    args.label = "MQTT 5.0" if args.v5 else "MQTT 3.1.1"

    def watchdog():
        print(f"FAIL: watchdog: still running after {args.timeout}s", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(3)

    timer = threading.Timer(args.timeout, watchdog)
    timer.daemon = True
    timer.start()
    return args


def main(description, body, extra=None):
    """Parses the arguments, runs ``body(args)`` and exits with the verdict."""
    args = parse_args(description, extra)
    code = 0
    try:
        body(args)
        print("PASS", flush=True)
    except CheckFailed as e:
        print(f"FAIL: {e}", file=sys.stderr, flush=True)
        code = 1
    except Exception:  # a crash in the check itself is a failure too, with the traceback
        traceback.print_exc()
        print("FAIL: unexpected exception", file=sys.stderr, flush=True)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # paho's network threads must not keep the process alive.
    os._exit(code)


def _get(q, what, who, timeout=WAIT):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        fail(f"{who}: no {what} within {timeout}s")


class Peer:
    """A paho client driven synchronously: each call waits for the broker's answer."""

    def __init__(
        self,
        args,
        name,
        client_id=None,
        clean=True,
        session_expiry=None,
        will=None,
    ):
        self.args = args
        self.name = name
        self.client_id = client_id if client_id is not None else unique(name)
        self.clean = clean
        self.session_expiry = session_expiry
        kwargs = {
            "callback_api_version": mqtt.CallbackAPIVersion.VERSION2,
            "client_id": self.client_id,
            "protocol": args.proto,
            "reconnect_on_failure": False,
        }
        if not args.v5:
            kwargs["clean_session"] = clean
        self.c = mqtt.Client(**kwargs)
        self.c.connect_timeout = WAIT
        self.messages = queue.Queue()
        self.connacks = queue.Queue()
        self.subacks = queue.Queue()
        self.unsubacks = queue.Queue()
        self.disconnects = queue.Queue()
        self.puback_codes = {}
        self.c.on_connect = lambda _c, _u, flags, rc, props: self.connacks.put((flags, rc, props))
        self.c.on_subscribe = lambda _c, _u, mid, codes, props: self.subacks.put((mid, codes, props))
        self.c.on_unsubscribe = lambda _c, _u, mid, codes, props: self.unsubacks.put(mid)
        self.c.on_message = lambda _c, _u, msg: self.messages.put(msg)
        self.c.on_disconnect = lambda _c, _u, flags, rc, props: self.disconnects.put(
            (flags, rc, props)
        )
        self.c.on_publish = self._on_publish
        if will is not None:
            topic, payload, qos, retain, props = will
            self.c.will_set(topic, payload, qos=qos, retain=retain, properties=props)

    def _on_publish(self, _c, _u, mid, rc, _props):
        self.puback_codes[mid] = rc

    def connect(self):
        """Connects and waits for CONNACK; returns the session-present flag."""
        kwargs = {"keepalive": 30}
        if self.args.v5:
            kwargs["clean_start"] = self.clean
            if self.session_expiry is not None:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self.session_expiry
                kwargs["properties"] = props
        try:
            self.c.connect(self.args.host, self.args.port, **kwargs)
        except OSError as e:
            fail(f"{self.name}: cannot connect to {self.args.host}:{self.args.port}: {e}")
        self.c.loop_start()
        flags, rc, _props = _get(self.connacks, "CONNACK", self.name)
        check(not rc.is_failure, f"{self.name}: connection refused: {rc} ({rc.value:#04x})")
        return bool(flags.session_present)

    def subscribe(self, topic, qos, properties=None):
        """Subscribes to one filter and waits for SUBACK; returns the granted QoS / reason code."""
        result, mid = self.c.subscribe(topic, qos=qos, properties=properties)
        check(result == mqtt.MQTT_ERR_SUCCESS, f"{self.name}: SUBSCRIBE {topic} not sent: {result}")
        got_mid, codes, _props = _get(self.subacks, f"SUBACK for {topic}", self.name)
        check(got_mid == mid, f"{self.name}: SUBACK for packet id {got_mid}, expected {mid}")
        check(len(codes) == 1, f"{self.name}: SUBACK has {len(codes)} reason codes, expected 1")
        return codes[0].value

    def subscribe_ok(self, topic, qos, properties=None):
        granted = self.subscribe(topic, qos, properties)
        check(
            granted == qos,
            f"{self.name}: SUBSCRIBE {topic} at QoS {qos} answered with {granted:#04x}",
        )

    def publish(self, topic, payload, qos=0, retain=False, properties=None):
        """Publishes and waits until the QoS flow is complete (PUBACK / PUBCOMP, or sent for 0)."""
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        check(info.rc == mqtt.MQTT_ERR_SUCCESS, f"{self.name}: PUBLISH to {topic} failed: {info.rc}")
        try:
            info.wait_for_publish(timeout=WAIT)
        except (RuntimeError, ValueError) as e:
            fail(f"{self.name}: PUBLISH to {topic} at QoS {qos}: {e}")
        check(
            info.is_published(),
            f"{self.name}: PUBLISH to {topic} at QoS {qos} not acknowledged within {WAIT}s",
        )
        rc = self.puback_codes.get(info.mid)
        if qos > 0 and rc is not None:
            check(
                not rc.is_failure,
                f"{self.name}: PUBLISH to {topic} at QoS {qos} refused: {rc} ({rc.value:#04x})",
            )

    def next_message(self, timeout=WAIT, what="a message"):
        return _get(self.messages, what, self.name, timeout)

    def expect(self, count, what="messages"):
        """Waits for exactly ``count`` messages (within WAIT overall) and returns them."""
        deadline = time.monotonic() + WAIT
        got = []
        while len(got) < count:
            left = deadline - time.monotonic()
            try:
                got.append(self.messages.get(timeout=max(left, 0.001)))
            except queue.Empty:
                seen = [(m.topic, m.payload) for m in got]
                fail(f"{self.name}: expected {count} {what}, got {len(got)} within {WAIT}s: {seen}")
        return got

    def expect_first(self, topic, payload, why):
        """The next message must be (topic, payload): nothing else arrived before it."""
        m = self.next_message(what=f"the message on {topic}")
        check(
            (m.topic, m.payload) == (topic, payload),
            f"{self.name}: {why}: expected {topic} {payload!r} first, got {m.topic} {m.payload!r}"
            f" (qos {m.qos}, retain {m.retain})",
        )
        return m

    def disconnect(self):
        """Sends DISCONNECT, waits for the connection to end and stops the network thread."""
        self.c.disconnect()
        _get(self.disconnects, "disconnect callback", self.name)
        self.c.loop_stop()


def describe(msg):
    return f"{msg.topic} {msg.payload!r} qos={msg.qos} retain={int(msg.retain)}"
