#!/usr/bin/env bash
# How fast `robustmq bench` itself is: the bench pinned to one CPU and robustmq to another, a few
# loads, and for each the rate reached, the CPU the bench used while publishing, and so the rate
# one fully busy bench core sustains (rate / bench CPU). See bench/README.md.
#
#   bash bench/speed.sh                      # robustmq as the broker, about 40 seconds
#   BROKER=mosquitto bash bench/speed.sh     # Mosquitto as the broker
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${ROBUSTMQ_BIN:-$ROOT/target/release/robustmq}
BROKER=${BROKER:-robustmq}
DURATION=${DURATION:-3s}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --quiet)
[ "$(nproc)" -ge 2 ] || { echo "speed.sh: needs two CPUs (one for the broker, one for the bench)" >&2; exit 1; }

TMP=$(mktemp -d -t robustmq-speed.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
case $BROKER in
robustmq)
    taskset -c 1 "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$TMP/data" --log-level error 2>"$TMP/log" &
    ;;
mosquitto)
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 100\nmax_queued_messages 10000\nset_tcp_nodelay true\n' \
        "$PORT" >"$TMP/mosquitto.conf"
    chmod -R a+rX "$TMP"
    taskset -c 1 "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$TMP/mosquitto.conf" 2>"$TMP/log" &
    ;;
*) echo "speed.sh: BROKER is robustmq or mosquitto" >&2; exit 2 ;;
esac
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done

printf '%-44s %12s %10s %11s %15s\n' "load (bench on CPU 0, $BROKER on CPU 1)" "msg/s" "bench CPU" "broker CPU" "msg/s per core"
run() {
    local what=$1 figure=$2
    shift 2
    taskset -c 0 "$BIN" bench "$@" -p "$PORT" -d "$DURATION" --json --quiet --broker-pid "$PID" >"$TMP/out.json" || true
    python3 - "$TMP/out.json" "$what" "$figure" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
rate, cpu, broker = v[sys.argv[3]], v["bench_cpu"] or 0, v["broker_cpu"] or 0
print(f"{sys.argv[2]:<44} {rate:>12,.0f} {cpu:>10.2f} {broker:>11.2f} {rate / cpu if cpu else 0:>15,.0f}")
PY
}
run "publish QoS 0, 8 publishers" send_rate pub -c 8 -q 0
run "publish QoS 1, 32 publishers" send_rate pub -c 32 -q 1
run "receive QoS 0, fanout 1 -> 100" recv_rate pubsub --scenario fanout --subscribers 100 -q 0
run "receive QoS 1, fanout 1 -> 100" recv_rate pubsub --scenario fanout --subscribers 100 -q 1
run "publish + receive QoS 1, p2p 100 pairs" recv_rate pubsub --scenario p2p -c 100 -q 1
