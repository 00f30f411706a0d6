#!/usr/bin/env bash
# Bytes the broker writes per store operation: a 10 KB QoS 1 message to 1 and to 50 offline
# persistent subscribers, a SUBSCRIBE of 100 filters, a reconnect of that session. Measured as
# the growth of the broker's write counter (wchar in /proc/PID/io: everything passed to write and
# pwrite, the data file's pages included; it logs at warn only). Linux only.
# Usage: bench/store-bytes.sh [PORT]   (ROBUSTMQ_BIN picks another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-18899}
bin=${ROBUSTMQ_BIN:-target/release/robustmq}
[ -x "$bin" ] || cargo build --release --quiet
for tool in mosquitto_sub mosquitto_pub python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed: bash .ci/setup-test-deps.sh" >&2; exit 2; }
done

dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
head -c 10240 /dev/urandom > "$dir/10k.bin"
"$bin" serve --data-dir "$dir/data" --listen "127.0.0.1:$port" --log-level warn 2> "$dir/log" &
pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

# The counter once the broker has finished what the last command started (commits included).
written() { sleep 0.3; awk '/^wchar/ {print $2}' "/proc/$pid/io"; }
report() { printf '%-58s %9d bytes\n' "$1" "$(($3 - $2))"; }

mosquitto_sub -p "$port" -c -i one -q 1 -t 'one/#' -E
for i in $(seq -w 1 50); do mosquitto_sub -p "$port" -c -i "sub-$i" -q 1 -t 'cam/#' -E; done
a=$(written); mosquitto_pub -p "$port" -q 1 -t one/1 -f "$dir/10k.bin"; b=$(written)
report "10 KB QoS 1 message to 1 persistent subscriber" "$a" "$b"
a=$(written); mosquitto_pub -p "$port" -q 1 -t cam/1 -f "$dir/10k.bin"; b=$(written)
report "10 KB QoS 1 message to 50 persistent subscribers" "$a" "$b"
filters=(); for i in $(seq 100); do filters+=(-t "building/$i/floor/+/room/+/temperature"); done
a=$(written); mosquitto_sub -p "$port" -c -i many -q 1 "${filters[@]}" -E; b=$(written)
report "SUBSCRIBE of 100 filters (with its connect and disconnect)" "$a" "$b"
a=$(written)
python3 - "$port" <<'PY'
import sys, time
import paho.mqtt.client as mqtt
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="many", clean_session=False)
c.connect("127.0.0.1", int(sys.argv[1]))
c.loop_start(); time.sleep(0.3); c.disconnect(); c.loop_stop()
PY
b=$(written)
report "reconnect of that session (connect, disconnect)" "$a" "$b"
