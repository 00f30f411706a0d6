#!/usr/bin/env bash
# Bridge forwarding: robustmq's bridge against Mosquitto's, each as the edge broker forwarding
# QoS 1 messages to the same upstream Mosquitto, in one run. The edge is pinned to one CPU; the
# upstream broker and the load share the other. Per edge it prints messages acknowledged by the
# edge, messages that reached a subscriber upstream, their rate and ratio, acknowledged but
# never forwarded, and the edge's CPU per forwarded message. A second run per edge restarts the
# upstream broker in the middle of the publishing (OUTAGE seconds down; it keeps its sessions on
# disk) and counts, from a persistent subscriber upstream that collects afterwards, what the
# edge acknowledged and never forwarded. See bench/README.md.
#
#   bash bench/bridge.sh                      # about 3 minutes
#   DURATION=20s bash bench/bridge.sh
#
# Environment: ROBUSTMQ_BIN (default target/release/robustmq, built if missing), DURATION (8s)
# of publishing and DRAIN (60s), the longest wait after it for the edge to forward what it
# queued (robustmq's edge is watched until its bridge queue is empty; Mosquitto's for all of
# DRAIN; whole seconds, e.g. "20s"), PUBLISHERS (10) publishing as fast as the edge lets them, RATE (0: unlimited;
# else messages/s per publisher), OUTAGE (3s; 0 skips the upstream restart runs), COLLECT (30s:
# how long the persistent subscriber upstream collects afterwards).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${ROBUSTMQ_BIN:-$ROOT/target/release/robustmq}
DURATION=${DURATION:-8s}
DRAIN=${DRAIN:-60s}
PUBLISHERS=${PUBLISHERS:-10}
RATE=${RATE:-0}
OUTAGE=${OUTAGE:-3s}

SCRIPT=bridge.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

need_brokers
pin_cpus 0 1

TMP=$(mktemp -d -t robustmq-bridge.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [ -n "${KEEP_TMP:-}" ] && say "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_mosquitto PORT CONF_EXTRA PREFIX...: starts Mosquitto (under PREFIX, a CPU pinning);
# sets BROKER_PID.
start_mosquitto() {
    local port=$1 extra=$2 conf
    conf=$TMP/mosquitto-$port.conf
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type error\nlog_type warning\nconnection_messages false\n%s\n' \
        "$port" "$extra" >"$conf"
    chmod -R a+rX "$TMP"
    shift 2
    "$@" "$MOSQUITTO" -c "$conf" >"$TMP/mosquitto-$port.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_port "$port"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# drain_edge KIND EDGE_PORT: waits until the edge has forwarded what it queued: robustmq's until
# its bridge says nothing is queued (its $SYS figure, every second), Mosquitto's, which does not
# say, for all of DRAIN.
drain_edge() {
    local kind=$1 edge=$2 deadline queued
    deadline=$((SECONDS + ${DRAIN%s}))
    if [ "$kind" != robustmq ]; then
        sleep "${DRAIN%s}"
        return
    fi
    while [ "$SECONDS" -lt "$deadline" ]; do
        queued=$("$BIN" sub -p "$edge" -t '$SYS/broker/bridges/up/queued' -C 1 -W 3 --no-reconnect 2>/dev/null || true)
        [ "$queued" = 0 ] && break
        sleep 1
    done
    # The last messages on their way upstream.
    sleep 1
}

# start_edge KIND EDGE_PORT UP_PORT: the edge broker (robustmq or mosquitto) bridged to the
# upstream; sets BROKER_PID.
start_edge() {
    local kind=$1 edge=$2 up=$3
    case $kind in
    robustmq)
        cat >"$TMP/edge.toml" <<CONF
[server]
data_dir = "$TMP/edge-data-$edge"
sys_interval = "1s"
[[listeners]]
bind = "127.0.0.1:$edge"
[[bridges]]
name = "up"
remote = "mqtt://127.0.0.1:$up"
client_id = "edge-robustmq"
[[bridges.topics]]
filter = "bench/#"
qos = 1
CONF
        "${ON_BROKER_CPU[@]}" "$BIN" serve --config "$TMP/edge.toml" --log-level warn >"$TMP/edge.log" 2>&1 &
        BROKER_PID=$!
        PIDS+=("$BROKER_PID")
        wait_port "$edge"
        ;;
    mosquitto)
        start_mosquitto "$edge" "connection up
address 127.0.0.1:$up
clientid edge-mosquitto
cleansession false
topic bench/# out 1" "${ON_BROKER_CPU[@]}"
        ;;
    esac
}

# run KIND: the edge (robustmq or mosquitto) bridged to a fresh upstream Mosquitto.
run() {
    local kind=$1 up edge edge_pid t0 t1
    up=$(free_port)
    start_mosquitto "$up" "" "${ON_BENCH_CPU[@]}"
    local up_pid=$BROKER_PID
    edge=$(free_port)
    start_edge "$kind" "$edge" "$up"
    edge_pid=$BROKER_PID
    say "  $kind edge -> mosquitto upstream"
    # The subscriber upstream first; the bridge needs a moment to connect, which the
    # publishers' messages wait out in the edge's queue.
    "${ON_BENCH_CPU[@]}" "$BIN" bench sub -p "$up" -V 311 -c 1 -t 'bench/#' -q 1 --json --quiet \
        -d "$(( ${DURATION%s} + ${DRAIN%s} + 10 ))s" >"$TMP/$kind.sub.json" 2>"$TMP/$kind.sub.err" &
    local sub_pid=$!
    sleep 1
    t0=$(cpu_ticks "$edge_pid")
    "${ON_BENCH_CPU[@]}" "$BIN" bench pub -p "$edge" -V 311 -c "$PUBLISHERS" -t 'bench/%i' -q 1 -s 64 \
        --rate "$RATE" -d "$DURATION" --json --quiet >"$TMP/$kind.pub.json" 2>"$TMP/$kind.pub.err" || true
    local acked
    acked=$(python3 -c "import json; print(json.load(open('$TMP/$kind.pub.json'))['acked'])")
    drain_edge "$kind" "$edge"
    kill -INT "$sub_pid" 2>/dev/null || true
    wait "$sub_pid" 2>/dev/null || true
    t1=$(cpu_ticks "$edge_pid")
    echo "$((t1 - t0))" >"$TMP/$kind.ticks"
    echo "$acked" >"$TMP/$kind.acked"
    kill "$edge_pid" "$up_pid" 2>/dev/null || true
    wait "$edge_pid" "$up_pid" 2>/dev/null || true
}

# start_upstream_robustmq PORT: a robustmq upstream whose persistent sessions keep everything
# (queues as large as the run needs) in its data directory across restarts; sets BROKER_PID.
start_upstream_robustmq() {
    local port=$1
    cat >"$TMP/up-$port.toml" <<CONF
[server]
data_dir = "$TMP/up-data-$port"
[[listeners]]
bind = "127.0.0.1:$port"
[limits]
max_queued_messages = 100000000
max_queued_bytes = "8GiB"
max_memory = "4GiB"
[store]
max_store_bytes = "16GiB"
CONF
    "${ON_BENCH_CPU[@]}" "$BIN" serve --config "$TMP/up-$port.toml" --log-level warn >>"$TMP/up-$port.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_port "$port"
}

# run_outage KIND: as `run`, but the upstream is stopped (SIGTERM) a third into the publishing
# and started again OUTAGE later; its subscriber is a persistent session that subscribes first
# and collects everything once the edge has drained. The upstream here is a robustmq: Mosquitto
# 2.0 loses a few messages it acknowledged across such a restart (those in flight to an offline
# persistent subscriber), which would be counted against the edge.
run_outage() {
    local kind=$1 up edge edge_pid up_pid pub_pid third
    up=$(free_port)
    start_upstream_robustmq "$up"
    up_pid=$BROKER_PID
    "${ON_BENCH_CPU[@]}" "$BIN" bench sub -p "$up" -V 311 -c 1 -t 'bench/#' -q 1 -i "up-$kind" -x 86400 \
        -d 1s --quiet >/dev/null 2>"$TMP/$kind.outage.sub0.err" || true
    edge=$(free_port)
    start_edge "$kind" "$edge" "$up"
    edge_pid=$BROKER_PID
    say "  $kind edge -> robustmq upstream, restarted after a third of the run, down ${OUTAGE}"
    "${ON_BENCH_CPU[@]}" "$BIN" bench pub -p "$edge" -V 311 -c "$PUBLISHERS" -t 'bench/%i' -q 1 -s 64 \
        --rate "$RATE" -d "$DURATION" --json --quiet >"$TMP/$kind.outage.pub.json" 2>"$TMP/$kind.outage.pub.err" &
    pub_pid=$!
    third=$(python3 -c "print(${DURATION%s} / 3)")
    sleep "$third"
    kill -TERM "$up_pid" 2>/dev/null || true
    wait "$up_pid" 2>/dev/null || true
    sleep "${OUTAGE%s}"
    start_upstream_robustmq "$up"
    up_pid=$BROKER_PID
    wait "$pub_pid" || true
    drain_edge "$kind" "$edge"
    local acked
    acked=$(python3 -c "import json; print(json.load(open('$TMP/$kind.outage.pub.json'))['acked'])")
    echo "$acked" >"$TMP/$kind.outage.acked"
    "${ON_BENCH_CPU[@]}" "$BIN" bench sub -p "$up" -V 311 -c 1 -t 'bench/#' -q 1 -i "up-$kind" -x 86400 \
        -d "${COLLECT:-30s}" --json --quiet >"$TMP/$kind.outage.sub.json" 2>"$TMP/$kind.outage.sub.err" || true
    kill "$edge_pid" "$up_pid" 2>/dev/null || true
    wait "$edge_pid" "$up_pid" 2>/dev/null || true
}

VERSION_M=$("$MOSQUITTO" -h 2>&1 | awk 'NR==1 {print $3}' || true)
say "robustmq bridge vs mosquitto $VERSION_M bridge, QoS 1, $PUBLISHERS publishers, 64-byte payloads; edge $PINNING"
for kind in robustmq mosquitto; do
    run "$kind"
done
if [ "${OUTAGE%s}" != 0 ]; then
    for kind in robustmq mosquitto; do
        run_outage "$kind"
    done
fi

python3 - "$TMP" "$PINNING" "$DURATION" "$(getconf CLK_TCK)" "${OUTAGE%s}" <<'PY'
import json, sys
tmp, pinning, duration, hz, outage = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
rows = {}
for kind in ("robustmq", "mosquitto"):
    try:
        sub = json.load(open(f"{tmp}/{kind}.sub.json"))
    except Exception as e:
        sub = {"received": 0, "recv_rate": 0}
    acked = int(open(f"{tmp}/{kind}.acked").read())
    ticks = int(open(f"{tmp}/{kind}.ticks").read())
    got = sub.get("received", 0)
    # Over the time messages were arriving, not the wait around it.
    active = sub.get("active_s") or 0
    rate = got / active if active > 0 else sub.get("recv_rate", 0)
    rows[kind] = dict(acked=acked, got=got, rate=rate,
                      lost=max(0, acked - got), cpu_us=(ticks / hz * 1e6 / got) if got else float("nan"))
r, m = rows["robustmq"], rows["mosquitto"]
print()
print(f"Bridge forwarding, QoS 1, edge {pinning}; publishing {duration}")
print("| edge      | acked by the edge | arrived upstream | forwarded/s |    r/m | acked, not forwarded | edge CPU us/msg |")
print("|-----------|------------------:|-----------------:|------------:|-------:|---------------------:|----------------:|")
for kind, v in rows.items():
    ratio = f"{r['rate'] / m['rate']:.2f}" if kind == "robustmq" and m["rate"] else ""
    print(f"| {kind:<9} | {v['acked']:>17,} | {v['got']:>16,} | {v['rate']:>11,.0f} | {ratio:>6} | {v['lost']:>20,} | {v['cpu_us']:>15.2f} |")

if outage != "0":
    print()
    print(f"Upstream (robustmq) restarted a third into the publishing, down {outage} s; collected afterwards by a persistent subscriber")
    print("| edge      | acked by the edge | arrived upstream | duplicates | acked, never arrived |")
    print("|-----------|------------------:|-----------------:|-----------:|---------------------:|")
    for kind in ("robustmq", "mosquitto"):
        try:
            sub = json.load(open(f"{tmp}/{kind}.outage.sub.json"))
        except Exception:
            sub = {}
        acked = int(open(f"{tmp}/{kind}.outage.acked").read())
        got, dup = sub.get("received", 0), sub.get("duplicates", 0)
        print(f"| {kind:<9} | {acked:>17,} | {got:>16,} | {dup:>10,} | {max(0, acked - (got - dup)):>20,} |")
        if acked > got - dup and sub.get("elapsed_s", 0) - sub.get("active_s", 0) < 2:
            print(f"  ({kind}: messages were still arriving when the collection ended: raise COLLECT)")
PY
