"""Helpers for the interoperability suite (suite_common.py, suite_v5.py): a paho client with the
controls the suite needs, a raw-socket client for what paho will not do, and the case runner.

The cases re-express the checks of the Eclipse Paho interoperability suite; each runs alone
against a fresh broker (``--case NAME``), so it may use fixed client ids and topics.
"""

import queue
import socket
import struct
import time

from common import WAIT, PacketTypes, Peer, Properties, check, fail, main, mqtt, ok

# The suite's topics, as the Paho suite names them (a fresh broker per case: no prefix needed).
TOPICS = ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")
WILDTOPICS = ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")
# Denied to everyone by the ACL the Rust test starts the broker with.
NOSUBSCRIBE = "test/nosubscribe"
CLIENT_A = "myclientid"
CLIENT_B = "myclientid2"

# How long to wait for something that must NOT happen when no later message can stand in as a
# barrier (a correct broker never makes this fail; a slow one can only make it pass).
QUIET = 1.0


def wait_for(q, what, who, timeout=WAIT):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        fail(f"{who}: no {what} within {timeout}s")


def connect_props(**values):
    props = Properties(PacketTypes.CONNECT)
    for name, value in values.items():
        setattr(props, name, value)
    return props


def publish_props(**values):
    props = Properties(PacketTypes.PUBLISH)
    for name, value in values.items():
        setattr(props, name, value)
    return props


def prop(msg_or_props, name, default=None):
    """A property of a message, or of a property set (CONNACK's), or ``default``."""
    props = msg_or_props.properties if isinstance(msg_or_props, mqtt.MQTTMessage) else msg_or_props
    return getattr(props, name, default) if props is not None else default


class Client(Peer):
    """A paho client that can also connect with any keep alive, properties and will, subscribe to
    several filters at once, acknowledge by hand, go silent, and vanish without DISCONNECT."""

    def __init__(self, args, name, client_id=None, clean=True, manual_ack=False):
        super().__init__(args, name, client_id=client_id, clean=clean)
        if manual_ack:
            self.c.manual_ack_set(True)

    def open(self, keepalive=0, properties=None, will=None):
        """Connects; returns (session present, CONNACK properties). Keep alive 0 by default, as
        the Paho suite's own client connects, which a broker with ``max_keepalive`` must still
        accept."""
        if will is not None:
            topic, payload, qos, retain, props = will
            self.c.will_set(topic, payload, qos=qos, retain=retain, properties=props)
        kwargs = {"keepalive": keepalive}
        if self.args.v5:
            kwargs["clean_start"] = self.clean
            if properties is not None:
                kwargs["properties"] = properties
        try:
            self.c.connect(self.args.host, self.args.port, **kwargs)
        except OSError as e:
            fail(f"{self.name}: cannot connect to {self.args.host}:{self.args.port}: {e}")
        self.c.loop_start()
        flags, rc, props = wait_for(self.connacks, "CONNACK", self.name)
        check(not rc.is_failure, f"{self.name}: connection refused: {rc} ({rc.value:#04x})")
        return bool(flags.session_present), props

    def subscribe_many(self, filters, properties=None):
        """One SUBSCRIBE for [(filter, qos or SubscribeOptions)]; returns the reason code values."""
        result, mid = self.c.subscribe(list(filters), properties=properties)
        check(result == mqtt.MQTT_ERR_SUCCESS, f"{self.name}: SUBSCRIBE {filters} not sent: {result}")
        got_mid, codes, _props = wait_for(self.subacks, f"SUBACK for {filters}", self.name)
        check(got_mid == mid, f"{self.name}: SUBACK for packet id {got_mid}, expected {mid}")
        check(len(codes) == len(filters), f"{self.name}: SUBACK has {len(codes)} codes for {len(filters)} filters")
        return [c.value for c in codes]

    def subscribe_ok(self, topic, qos, properties=None):
        """Subscribes to one filter (QoS or v5 SubscribeOptions); the QoS must be granted."""
        want = qos.QoS if isinstance(qos, mqtt.SubscribeOptions) else qos
        (granted,) = self.subscribe_many([(topic, qos)], properties)
        check(granted == want, f"{self.name}: SUBSCRIBE {topic} at QoS {want} answered with {granted:#04x}")

    def unsubscribe(self, topic):
        result, mid = self.c.unsubscribe(topic)
        check(result == mqtt.MQTT_ERR_SUCCESS, f"{self.name}: UNSUBSCRIBE {topic} not sent: {result}")
        got = wait_for(self.unsubacks, f"UNSUBACK for {topic}", self.name)
        check(got == mid, f"{self.name}: UNSUBACK for packet id {got}, expected {mid}")

    def close(self, properties=None):
        """DISCONNECT (with properties, v5), then wait until the connection is gone."""
        self.c.disconnect(properties=properties)
        wait_for(self.disconnects, "disconnect callback", self.name)
        self.c.loop_stop()

    def silence(self):
        """Stops the network thread, connection left open: no more reads, acks or PINGREQs."""
        self.c.loop_stop()

    def vanish(self):
        """Closes the socket without DISCONNECT, as a crashed client would."""
        self.c.loop_stop()
        sock = self.c.socket()
        if sock is not None:
            sock.close()

    def server_disconnect(self, what):
        """Waits for the broker to end the connection; returns the DISCONNECT reason code."""
        _flags, rc, _props = wait_for(self.disconnects, what, self.name)
        self.c.loop_stop()
        return rc

    def collect_until(self, done, what):
        """Collects messages until ``done(messages)`` holds (within WAIT overall)."""
        deadline = time.monotonic() + WAIT
        got = []
        while not done(got):
            left = deadline - time.monotonic()
            try:
                got.append(self.messages.get(timeout=max(left, 0.001)))
            except queue.Empty:
                seen = [(m.topic, m.payload, m.qos) for m in got]
                fail(f"{self.name}: {what}: not complete within {WAIT}s, got {seen}")
        return got

    def nothing_more(self, why, timeout=QUIET):
        try:
            m = self.messages.get(timeout=timeout)
        except queue.Empty:
            return
        fail(f"{self.name}: {why}: got {m.topic} {m.payload!r} qos={m.qos}")


def seen_markers(markers):
    """A ``done`` predicate: every (topic, payload) in ``markers`` has arrived."""
    want = set(markers)
    return lambda got: want <= {(m.topic, m.payload) for m in got}


# ---------------------------------------------------------------------------------------------
# Raw packets, for what paho will not send (a second CONNECT, a wrong protocol name, an empty
# client id with CleanSession 0, a client that never acknowledges, a QoS 2 flood without PUBREL).

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, DISCONNECT = 8, 9, 14


def varint(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def packet(kind, flags, body):
    return bytes([kind << 4 | flags]) + varint(len(body)) + body


def user_property(key, value):
    return b"\x26" + utf8(key) + utf8(value)


def session_expiry(seconds):
    """A Session Expiry Interval property, for ``connect_packet(props=...)``."""
    return b"\x11" + struct.pack("!I", seconds)


def connect_packet(client_id, v5, clean=True, keepalive=0, name="MQTT", will=None, props=b""):
    """CONNECT; ``will`` is (topic, payload, qos, will properties bytes); ``props`` are v5's."""
    flags = 0x02 if clean else 0
    payload = utf8(client_id)
    if will is not None:
        topic, message, qos, will_props = will
        flags |= 0x04 | qos << 3
        if v5:
            payload += varint(len(will_props)) + will_props
        payload += utf8(topic) + utf8(message)
    body = utf8(name) + bytes([5 if v5 else 4, flags]) + struct.pack("!H", keepalive)
    if v5:
        body += varint(len(props)) + props
    return packet(CONNECT, 0, body + payload)


def subscribe_packet(pid, filters, v5):
    body = struct.pack("!H", pid) + (varint(0) if v5 else b"")
    for topic, qos in filters:
        body += utf8(topic) + bytes([qos])
    return packet(SUBSCRIBE, 2, body)


def publish_packet(topic, payload, qos, pid, v5, props=b""):
    body = utf8(topic) + (struct.pack("!H", pid) if qos else b"") + (varint(len(props)) + props if v5 else b"")
    return packet(PUBLISH, qos << 1, body + payload)


def disconnect_packet():
    return packet(DISCONNECT, 0, b"")


def read_varint(data, i):
    n, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return n, i


# MQTT 5 property identifiers and how their values are encoded.
_PROPERTY_TYPES = {
    **dict.fromkeys([0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A], "byte"),
    **dict.fromkeys([0x13, 0x21, 0x22, 0x23], "u16"),
    **dict.fromkeys([0x02, 0x11, 0x18, 0x27], "u32"),
    0x0B: "varint",
    **dict.fromkeys([0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F], "string"),
    **dict.fromkeys([0x09, 0x16], "binary"),
    0x26: "pair",
}


def parse_properties(data, i):
    """The property block at ``data[i:]``: ({id: [values]}, index after it)."""
    length, i = read_varint(data, i)
    end = i + length
    props = {}
    while i < end:
        ident = data[i]
        i += 1
        kind = _PROPERTY_TYPES.get(ident)
        if kind == "byte":
            value, i = data[i], i + 1
        elif kind == "u16":
            value, i = struct.unpack_from("!H", data, i)[0], i + 2
        elif kind == "u32":
            value, i = struct.unpack_from("!I", data, i)[0], i + 4
        elif kind == "varint":
            value, i = read_varint(data, i)
        elif kind in ("string", "binary"):
            n = struct.unpack_from("!H", data, i)[0]
            value, i = data[i + 2 : i + 2 + n], i + 2 + n
        elif kind == "pair":
            n = struct.unpack_from("!H", data, i)[0]
            key, i = data[i + 2 : i + 2 + n], i + 2 + n
            n = struct.unpack_from("!H", data, i)[0]
            value, i = (key, data[i + 2 : i + 2 + n]), i + 2 + n
        else:
            fail(f"unknown MQTT 5 property identifier {ident:#04x}")
        props.setdefault(ident, []).append(value)
    return props, end


class Raw:
    """One MQTT connection over a plain socket, driven packet by packet."""

    def __init__(self, args, name):
        self.args = args
        self.name = name
        self.buf = b""
        try:
            self.sock = socket.create_connection((args.host, args.port), timeout=WAIT)
        except OSError as e:
            fail(f"{name}: cannot connect to {args.host}:{args.port}: {e}")

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n, deadline, what):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"{self.name}: no {what} within {WAIT}s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                fail(f"{self.name}: no {what} within {WAIT}s")
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk
        return True

    def read(self, what, timeout=WAIT):
        """The next packet as (type, flags, body), or None once the broker closed the connection."""
        deadline = time.monotonic() + timeout
        if not self._fill(2, deadline, what):
            if self.buf:
                fail(f"{self.name}: connection closed inside a packet: {self.buf!r}")
            return None
        length, shift, i = 0, 0, 1
        while True:
            if not self._fill(i + 1, deadline, what):
                fail(f"{self.name}: connection closed inside a fixed header")
            byte = self.buf[i]
            length |= (byte & 0x7F) << shift
            shift += 7
            i += 1
            if not byte & 0x80:
                break
        if not self._fill(i + length, deadline, what):
            fail(f"{self.name}: connection closed inside a packet")
        first, body = self.buf[0], self.buf[i : i + length]
        self.buf = self.buf[i + length :]
        return first >> 4, first & 0x0F, body

    def expect(self, kind, what):
        got = self.read(what)
        check(got is not None, f"{self.name}: the connection closed while waiting for {what}")
        check(got[0] == kind, f"{self.name}: expected {what} (type {kind}), got type {got[0]}: {got[2]!r}")
        return got[1], got[2]

    def connack(self):
        """Reads CONNACK: (session present, return/reason code, properties)."""
        _flags, body = self.expect(CONNACK, "CONNACK")
        props = parse_properties(body, 2)[0] if self.args.v5 and len(body) > 2 else {}
        return bool(body[0] & 1), body[1], props

    def closed(self, what):
        """Waits for the broker to close the connection (every packet before that is returned)."""
        before = []
        while True:
            got = self.read(what)
            if got is None:
                return before
            before.append(got)

    def publish(self, flags, body):
        """Decodes a PUBLISH: dict with topic, pid, payload, qos, dup, retain, properties."""
        qos = flags >> 1 & 3
        n = struct.unpack_from("!H", body, 0)[0]
        topic, i = body[2 : 2 + n].decode(), 2 + n
        pid = None
        if qos:
            pid, i = struct.unpack_from("!H", body, i)[0], i + 2
        props = {}
        if self.args.v5:
            props, i = parse_properties(body, i)
        return {
            "topic": topic,
            "pid": pid,
            "payload": body[i:],
            "qos": qos,
            "dup": bool(flags & 8),
            "retain": bool(flags & 1),
            "properties": props,
        }

    def close(self):
        self.sock.close()


def run_cases(description, cases, only_v5=False):
    """The command line of a suite file: ``--case NAME`` runs one case against the broker."""

    def extra(parser):
        parser.add_argument("--case", required=True, choices=sorted(cases))

    def body(args):
        if only_v5 and not args.v5:
            fail(f"--case {args.case} checks MQTT 5.0 behaviour; run it with --protocol 5")
        cases[args.case](args)
        ok(f"{args.label}: case {args.case} passed")

    main(description, body, extra)
