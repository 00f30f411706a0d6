#!/usr/bin/env bash
# Persistent-session QoS 1 throughput: 8 publishers -> 1 subscriber, every session persistent,
# so each message is stored before its PUBACK and deleted at the subscriber's PUBACK. robustmq
# with durability "immediate" and "periodic" (with the commits and fsyncs its store made, from
# $SYS/broker/store/*), and Mosquitto with persistence on beside it (it writes its store at
# autosave, not before a PUBACK: not the same promise, shown for scale).
#
# Usage: bench/durability.sh [SECONDS per run, default 5]
#   ROBUSTMQ_BIN   the binary to measure (default target/release/robustmq, built if missing)
#   BASELINE_BIN   another robustmq binary: measured in alternation with ROBUSTMQ_BIN, and the
#                  ratio printed (an A/B of a change)
#   ROUNDS         rounds of every run (default 2)
set -euo pipefail
SCRIPT=durability.sh
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN=${ROBUSTMQ_BIN:-$ROOT/target/release/robustmq}
BASELINE=${BASELINE_BIN:-}
ROUNDS=${ROUNDS:-2}
secs=${1:-5}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
need_brokers
command -v mosquitto_sub >/dev/null || die "mosquitto_sub is needed: bash .ci/setup-test-deps.sh"
pin_cpus 0 1
work=$(mktemp -d)
trap 'kill "${BROKER_PID:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

sys() { mosquitto_sub -p "$1" -t "\$SYS/broker/store/$2" -C 1 -W 5; }

# load PORT: the bench's JSON report of one run.
load() {
    "${ON_BENCH_CPU[@]}" "$BIN" bench pubsub --scenario fanin --publishers 8 --subscribers 1 -q 1 -s 64 \
        -d "${secs}s" -p "$1" -x 3600 --json 2>/dev/null
}

# cpu_ticks PID: the process's user + system CPU time, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# report LABEL COMMITS FSYNCS CPU_TICKS JSON: one line. CPU time per message is what an A/B on
# a busy machine can still compare; the rate needs a quiet one.
report() {
    python3 - "$1" "$secs" "$2" "$3" "$4" "$(getconf CLK_TCK)" "$5" <<'PY'
import json, sys
label, secs, commits, fsyncs, ticks, hz, out = sys.argv[1:8]
secs, ticks, hz = float(secs), int(ticks), int(hz)
r = json.loads(out)
rate, received, lost = r["recv_rate"], r["received"], r["lost"]
cpu_us = ticks / hz * 1e6 / received if received else 0
line = f"{label:22} {rate:>10,.0f} msg/s  received {received:>9,}  lost {lost}  broker CPU {cpu_us:5.2f} µs/msg"
if commits != "-":
    c, f = int(commits), int(fsyncs)
    line += f"  commits {c:>6,}  fsyncs {f:>6,} ({f / secs:,.0f}/s)"
    line += f"  messages per commit {received / c:,.0f}" if c else ""
print(line)
print(f"RATE {label} {rate} {cpu_us}", file=sys.stderr)
PY
}

# robustmq LABEL BINARY MODE
robustmq() {
    local label=$1 bin=$2 mode=$3 port dir c0 f0 c1 f1 t0 t1 out
    port=$(free_port)
    dir=$(mktemp -d -p "$work")
    printf '[server]\nsys_interval = "1s"\n[[listeners]]\nbind = "127.0.0.1:%s"\n[store]\ndurability = "%s"\n' \
        "$port" "$mode" > "$dir/robustmq.toml"
    "${ON_BROKER_CPU[@]}" "$bin" serve --config "$dir/robustmq.toml" --data-dir "$dir/data" --log-level warn 2> "$dir/log" &
    BROKER_PID=$!
    wait_port "$port"
    for _ in $(seq 50); do sys "$port" commits >/dev/null 2>&1 && break; sleep 0.1; done
    c0=$(sys "$port" commits); f0=$(sys "$port" fsyncs); t0=$(cpu_ticks "$BROKER_PID")
    out=$(load "$port")
    t1=$(cpu_ticks "$BROKER_PID")
    sleep 1.2
    c1=$(sys "$port" commits); f1=$(sys "$port" fsyncs)
    kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
    rm -rf "$dir"
    report "$label" "$((c1 - c0))" "$((f1 - f0))" "$((t1 - t0))" "$out"
}

mosquitto_run() {
    local port dir t0 t1 out
    port=$(free_port)
    dir=$(mktemp -d -p "$work")
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nmax_queued_messages 100000\n' \
        "$port" "$dir" > "$dir/mosquitto.conf"
    "${ON_BROKER_CPU[@]}" "$MOSQUITTO" -c "$dir/mosquitto.conf" 2> "$dir/log" &
    BROKER_PID=$!
    wait_port "$port"
    t0=$(cpu_ticks "$BROKER_PID")
    out=$(load "$port")
    t1=$(cpu_ticks "$BROKER_PID")
    kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
    report "mosquitto (autosave)" - - "$((t1 - t0))" "$out"
}

say "persistent-session QoS 1, 8 publishers -> 1 subscriber, 64-byte payloads, ${secs}s per run; $PINNING"
rates=$(mktemp -p "$work")
for _ in $(seq "$ROUNDS"); do
    robustmq "immediate" "$BIN" immediate 2>> "$rates"
    [ -z "$BASELINE" ] || robustmq "immediate (baseline)" "$BASELINE" immediate 2>> "$rates"
    robustmq "periodic" "$BIN" periodic 2>> "$rates"
    [ -z "$BASELINE" ] || robustmq "periodic (baseline)" "$BASELINE" periodic 2>> "$rates"
    mosquitto_run 2>> "$rates"
done
python3 - "$rates" <<'PY'
import sys, statistics
runs, cpus = {}, {}
for line in open(sys.argv[1]):
    if line.startswith("RATE "):
        label, rate, cpu = line[5:].rsplit(" ", 2)
        runs.setdefault(label, []).append(float(rate))
        cpus.setdefault(label, []).append(float(cpu))
med = {k: statistics.median(v) for k, v in runs.items()}
cpu = {k: statistics.median(v) for k, v in cpus.items()}
mosq = "mosquitto (autosave)"
for mode in ("immediate", "periodic"):
    line = f"median {mode:9} {med[mode]:>10,.0f} msg/s, {cpu[mode]:.2f} µs/msg"
    base = f"{mode} (baseline)"
    if base in med:
        line += (f"   baseline {med[base]:>10,.0f} msg/s, {cpu[base]:.2f} µs/msg:"
                 f" rate {med[mode] / med[base] - 1:+.1%}, CPU {cpu[mode] / cpu[base] - 1:+.1%}")
    if mosq in med:
        line += f"   {med[mode] / med[mosq]:.2f}x mosquitto ({med[mosq]:,.0f} msg/s, {cpu[mosq]:.2f} µs/msg)"
    print(line)
PY
