#!/usr/bin/env bash
# robustmq against Mosquitto, side by side: the same `robustmq bench` scenarios against each
# broker in alternation (A B A B ...), each run on a freshly started broker, then per scenario
# the ratio robustmq/mosquitto for throughput and p99 latency, and broker memory per idle
# connection. See bench/README.md.
#
#   bash bench/compare.sh                 # about 2.5 minutes
#   ROUNDS=5 DURATION=5s bash bench/compare.sh
#
# Both brokers listen on loopback ports and run pinned to one CPU, the bench to another (when the
# machine has two or more), so each broker gets one core and the bench never competes with it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${ROBUSTMQ_BIN:-$ROOT/target/release/robustmq}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3s}
CONNECTIONS=${CONNECTIONS:-10000}

SCRIPT=compare.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# --- what we need ------------------------------------------------------------------------------
need_brokers

raise_open_files "$CONNECTIONS" CONNECTIONS
pin_cpus 1 0

TMP=$(mktemp -d -t robustmq-compare.XXXXXX)
RESULTS=$TMP/results
mkdir -p "$RESULTS"
BROKER_PID=""
cleanup() {
    if [ -n "$BROKER_PID" ]; then
        kill "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# start_broker robustmq|mosquitto: sets BROKER_PID and PORT.
start_broker() {
    local kind=$1 dir
    PORT=$(free_port)
    dir=$(mktemp -d -p "$TMP")
    case $kind in
    robustmq)
        # The defaults (max_inflight 100, max_queued_messages 10000), with room for the idle
        # connections on top of the bench's own, and no connection rate limit (Mosquitto has
        # none; the conn round opens them as fast as it can).
        cat >"$dir/robustmq.toml" <<TOML
[[listeners]]
bind = "127.0.0.1:$PORT"
allow_anonymous = true

[limits]
max_connections = $((CONNECTIONS + 1000))
max_connections_per_second = 0
TOML
        "${ON_BROKER_CPU[@]}" "$BIN" serve --config "$dir/robustmq.toml" --data-dir "$dir/data" \
            --log-level error >"$dir/log" 2>&1 &
        ;;
    mosquitto)
        cat >"$dir/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
max_inflight_messages 100
max_queued_messages 10000
max_connections -1
persistence false
set_tcp_nodelay true
log_dest stderr
log_type error
connection_messages false
CONF
        chmod -R a+rX "$dir"
        "${ON_BROKER_CPU[@]}" "$MOSQUITTO" -c "$dir/mosquitto.conf" >"$dir/log" 2>&1 &
        ;;
    esac
    BROKER_PID=$!
    wait_port "$PORT"
}

stop_broker() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

bench() { "${ON_BENCH_CPU[@]}" "$BIN" bench "$@"; }

# run_load NAME KIND ROUND ARGS...: one load scenario against a fresh broker. The bench reads the
# broker's CPU time (/proc/PID/stat) at the start and the end of publishing.
run_load() {
    local name=$1 kind=$2 round=$3 out
    shift 3
    out=$RESULTS/$name.$kind.$round
    start_broker "$kind"
    bench pubsub -p "$PORT" --json --quiet --drain 3s --broker-pid "$BROKER_PID" "$@" >"$out.json" 2>"$out.err" || true
    stop_broker
    [ -s "$out.json" ] || die "$name against $kind failed: $(cat "$out.err")"
}

# run_conn KIND ROUND: idle connections against a fresh broker. The bench reads the broker's
# VmRSS (/proc/PID/status) before the first connection and at the end of the hold.
run_conn() {
    local kind=$1 round=$2 out
    out=$RESULTS/conn.$kind.$round
    start_broker "$kind"
    sleep 0.3
    bench conn -p "$PORT" -c "$CONNECTIONS" -d 2s --json --quiet --broker-pid "$BROKER_PID" >"$out.json" 2>"$out.err" || true
    stop_broker
    [ -s "$out.json" ] || die "$CONNECTIONS connections against $kind failed: $(cat "$out.err")"
}

say "robustmq $("$BIN" --version | awk '{print $2}') vs $("$MOSQUITTO" -h | awk 'NR==1 {print $3}') (mosquitto); $PINNING"
say "$ROUNDS rounds of each scenario, $DURATION each, alternating brokers"
SCENARIOS=(
    "fanin-q0|--scenario fanin --publishers 8 --subscribers 1 -q 0 -d $DURATION"
    "fanin-q1|--scenario fanin --publishers 8 --subscribers 1 -q 1 -d $DURATION"
    "fanout-100|--scenario fanout --publishers 1 --subscribers 100 -q 1 -d $DURATION"
    "p2p-100|--scenario p2p -c 100 -q 1 -d $DURATION"
    "latency-1k|--scenario p2p -c 1 -q 1 --rate 1000 -d $DURATION"
)
for entry in "${SCENARIOS[@]}"; do
    name=${entry%%|*}
    read -r -a args <<<"${entry#*|}"
    for round in $(seq "$ROUNDS"); do
        for kind in robustmq mosquitto; do
            say "  $name round $round: $kind"
            run_load "$name" "$kind" "$round" "${args[@]}"
        done
    done
done
for round in $(seq "$ROUNDS"); do
    for kind in robustmq mosquitto; do
        say "  $CONNECTIONS idle connections round $round: $kind"
        run_conn "$kind" "$round"
    done
done

python3 - "$RESULTS" "$ROUNDS" <<'PY'
import json, os, statistics, sys

results, rounds = sys.argv[1], int(sys.argv[2])
kinds = ("robustmq", "mosquitto")

def load(name, kind, r, ext):
    path = os.path.join(results, f"{name}.{kind}.{r}.{ext}")
    with open(path) as f:
        return json.load(f)

def runs(name, kind):
    out = []
    for r in range(1, rounds + 1):
        out.append(load(name, kind, r, "json"))
    return out

def median(xs):
    return statistics.median(xs) if xs else 0.0

def fmt(x, unit):
    if unit == "ms":
        return f"{x / 1000:.3f}"
    if unit == "msg/s" or unit == "conn/s":
        return f"{x:,.0f}"
    if unit == "B":
        return f"{x:,.0f}"
    return f"{x:.2f}"

def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"

rows = []
def row(scenario, figure, unit, get, better):
    vals = {k: [get(v) for v in runs(scenario, k)] for k in kinds}
    med = {k: median(vals[k]) for k in kinds}
    rows.append((scenario, f"{figure} ({unit})", [fmt(x, unit) for x in vals["robustmq"]],
                 [fmt(x, unit) for x in vals["mosquitto"]], ratio(med["robustmq"], med["mosquitto"]), better))

for s in ("fanin-q0", "fanin-q1", "fanout-100", "p2p-100", "latency-1k"):
    if s != "latency-1k":
        row(s, "throughput", "msg/s", lambda v: v["recv_rate"], "higher")
    if s == "latency-1k":
        row(s, "p50 latency", "ms", lambda v: v["latency_us"]["p50"], "lower")
    row(s, "p99 latency", "ms", lambda v: v["latency_us"]["p99"], "lower")
row("conn", "connect rate", "conn/s", lambda v: v["connect_rate"], "higher")
row("conn", "RSS per connection", "B", lambda v: v["broker_bytes_per_connection"] or 0, "lower")

print()
print("each round's figure, and the ratio robustmq/mosquitto of the medians")
wa = max(len("robustmq"), *(len(" ".join(a)) for _, _, a, _, _, _ in rows))
wb = max(len("mosquitto"), *(len(" ".join(b)) for _, _, _, b, _, _ in rows))
print(f"{'scenario':<11} {'figure':<26} {'robustmq':>{wa}}  {'mosquitto':>{wb}} {'ratio r/m':>9}  better")
for s, fig, a, b, rt, better in rows:
    print(f"{s:<11} {fig:<26} {' '.join(a):>{wa}}  {' '.join(b):>{wb}} {rt:>9}  {better}")

print()
print("per run: messages sent, received, lost (QoS 0: not received), duplicated; errors; CPU cores used while publishing")
for s in ("fanin-q0", "fanin-q1", "fanout-100", "p2p-100", "latency-1k", "conn"):
    for k in kinds:
        parts = []
        for v in runs(s, k):
            if s == "conn":
                parts.append(f"{v['connected']}/{v['clients']} connected, {v['errors']} errors, "
                             f"RSS {v['broker_rss_kib_before'] / 1024:.1f} -> {v['broker_rss_kib'] / 1024:.1f} MiB")
            else:
                parts.append(f"sent {v['sent']:,} recv {v['received']:,} lost {v['lost'] + v.get('not_received', 0):,} dup {v['duplicates']} "
                             f"err {v['errors']} cpu bench {v['bench_cpu'] or 0:.2f} broker {v['broker_cpu'] or 0:.2f}")
        print(f"  {s:<11} {k:<9} " + " | ".join(parts))
PY
