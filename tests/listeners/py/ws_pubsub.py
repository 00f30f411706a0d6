"""MQTT over WebSocket with paho-mqtt: subscribe, publish, and check the message comes back.

usage: ws_pubsub.py PORT PATH VERSION(311|5) [CAFILE]   (CAFILE: wss, verified against it)
Prints "ok <topic> <payload>" and exits 0 when the message arrives; exits 1 otherwise.
"""
import sys
import threading

import paho.mqtt.client as mqtt

port, path, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cafile = sys.argv[4] if len(sys.argv) > 4 else None
protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
topic = f"ws/{version}/{'wss' if cafile else 'ws'}"
got = threading.Event()
subscribed = threading.Event()
received = []


def on_connect(client, userdata, flags, reason, properties):
    if reason != 0:
        print(f"connect refused: {reason}", file=sys.stderr)
        sys.exit(1)
    client.subscribe(topic, qos=1)


def on_subscribe(client, userdata, mid, reasons, properties):
    subscribed.set()


def on_message(client, userdata, message):
    received.append((message.topic, message.payload.decode()))
    got.set()


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, transport="websockets", protocol=protocol)
client.ws_set_options(path=path)
if cafile:
    client.tls_set(ca_certs=cafile)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect("localhost", port, keepalive=30)
client.loop_start()
if not subscribed.wait(15):
    print("no SUBACK", file=sys.stderr)
    sys.exit(1)
client.publish(topic, "over-websocket", qos=1).wait_for_publish(15)
ok = got.wait(15)
client.disconnect()
client.loop_stop()
if not ok:
    print("the message did not come back", file=sys.stderr)
    sys.exit(1)
print(f"ok {received[0][0]} {received[0][1]}")
