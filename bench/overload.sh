#!/usr/bin/env bash
# Overload: robustmq against Mosquitto in one run, each on a fresh broker per scenario with its
# default configuration, the broker pinned to one core and the load to the other. Per scenario
# it prints what was delivered and how fast (with the ratio robustmq/mosquitto), how many
# messages the broker acknowledged and never delivered, duplicates, and the broker's peak memory;
# for idle connections the memory each costs, and for a connection storm how an established pair
# fares meanwhile. See bench/README.md.
#
#   bash bench/overload.sh                       # about 7 minutes
#   DURATION=15s bash bench/overload.sh          # longer publishing in each scenario
#
# Environment: ROBUSTMQ_BIN (default target/release/robustmq, built if missing), DURATION (8s)
# of publishing per scenario, DRAIN (30s) at most to wait for the last deliveries after it,
# CONNECTIONS (10000) idle connections, CONNECT_RATE (900/s) at which they open, STORM (10000)
# connections opened at once, BYSTANDER_RATE (100 msg/s), STALLED (100) never-reading
# subscribers, SETTLE (60) seconds after the 100 pairs QoS 0 run at which the memory the broker
# still holds is read (what it gave back to the system after the burst; 0 skips it), JSONL
# (target/overload.jsonl) where every run's figures go, one JSON per line.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${ROBUSTMQ_BIN:-$ROOT/target/release/robustmq}
DURATION=${DURATION:-8s}
DRAIN=${DRAIN:-30s}
CONNECTIONS=${CONNECTIONS:-10000}
CONNECT_RATE=${CONNECT_RATE:-900}
STORM=${STORM:-10000}
BYSTANDER_RATE=${BYSTANDER_RATE:-100}
STALLED=${STALLED:-100}
SETTLE=${SETTLE:-60}
JSONL=${JSONL:-$ROOT/target/overload.jsonl}

SCRIPT=overload.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# --- what we need ------------------------------------------------------------------------------
need_brokers

raise_open_files "$((CONNECTIONS > STORM ? CONNECTIONS : STORM))" "CONNECTIONS and STORM"
pin_cpus 0 1

TMP=$(mktemp -d -t robustmq-overload.XXXXXX)
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
trap 'exit 130' INT TERM

# start_broker robustmq|mosquitto: sets BROKER_PID and PORT. Both run their defaults: robustmq
# with only --listen and --data-dir; Mosquitto with a listener and anonymous access. Logging is
# cut to warnings and errors on both, so that the storm is not a logging benchmark.
start_broker() {
    local kind=$1 dir
    PORT=$(free_port)
    dir=$(mktemp -d -p "$TMP")
    case $kind in
    robustmq)
        "${ON_BROKER_CPU[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$dir/data" \
            --log-level warn >"$dir/log" 2>&1 &
        ;;
    mosquitto)
        cat >"$dir/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
log_dest stderr
log_type error
log_type warning
connection_messages false
CONF
        chmod -R a+rX "$dir"
        "${ON_BROKER_CPU[@]}" "$MOSQUITTO" -c "$dir/mosquitto.conf" >"$dir/log" 2>&1 &
        ;;
    esac
    BROKER_PID=$!
    wait_port "$PORT"
    # Memory before any client, to tell the broker's own from what the load cost.
    sleep 0.3
}

# The broker's peak resident memory (VmHWM, KiB): it is a fresh process for every scenario.
peak_rss() { awk '/^VmHWM:/ {print $2}' "/proc/$BROKER_PID/status" 2>/dev/null || echo 0; }
# Its resident memory now (VmRSS, KiB).
rss_now() { awk '/^VmRSS:/ {print $2}' "/proc/$BROKER_PID/status" 2>/dev/null || echo 0; }

stop_broker() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

bench() { "${ON_BENCH_CPU[@]}" "$BIN" bench "$@"; }

# run NAME KIND ARGS...: one `robustmq bench` run (its JSON) against a fresh broker, and the
# broker's peak memory at the end. A run that finds errors (exit 1) or failed connections
# (exit 3) still reports its figures; a run without any output fails the script.
run() {
    local name=$1 kind=$2 out
    shift 2
    out=$RESULTS/$name.$kind
    say "  $name: $kind"
    start_broker "$kind"
    bench "$@" -p "$PORT" -V 311 --json --quiet --broker-pid "$BROKER_PID" >"$out.json" 2>"$out.err" || true
    peak_rss >"$out.hwm"
    if [ "$name" = p2p100-q0 ] && [ "$SETTLE" -gt 0 ]; then
        # The clients are gone: what the broker still holds after a while is what it kept of the burst.
        sleep "$SETTLE"
        rss_now >"$out.settled"
    fi
    stop_broker
    [ -s "$out.json" ] || die "$name against $kind failed: $(cat "$out.err")"
}

VERSION_R=$("$BIN" --version | awk '{print $2}')
VERSION_M=$("$MOSQUITTO" -h 2>&1 | awk 'NR==1 {print $3}' || true)
LIMITS_R=$("$BIN" serve --print-default-config \
    | awk -F' = ' '/^max_(connections|connections_per_second|inflight|queued_messages|queued_bytes|memory) =/ {printf "%s%s=%s", sep, $1, $2; sep=", "}')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
say "robustmq $VERSION_R vs mosquitto $VERSION_M; $PINNING; MQTT 3.1.1, 64-byte payloads"
say "publishing $DURATION per scenario, then up to $DRAIN for the last deliveries"

LOAD=(-s 64 -d "$DURATION" --drain "$DRAIN")
# Unbounded (publishers as fast as the broker lets them), then paced at rates both brokers are
# offered alike (messages per second per publisher), where latency and loss tell them apart.
SCENARIOS=(
    "fanin-q1|pubsub --scenario fanin -c 10 -q 1 --rate 0"
    "p2p100-q1|pubsub --scenario p2p -c 100 -q 1 --rate 0"
    "p2p100-q0|pubsub --scenario p2p -c 100 -q 0 --rate 0"
    "stalled-q0|pubsub --scenario p2p -c 10 -q 0 --rate 0 --stalled-subscribers $STALLED"
    "stalled-q1|pubsub --scenario p2p -c 10 -q 1 --rate 0 --stalled-subscribers $STALLED"
    "fanin-q1-paced|pubsub --scenario fanin -c 10 -q 1 --rate 5000"
    "p2p100-q1-paced|pubsub --scenario p2p -c 100 -q 1 --rate 1000"
    "p2p100-q0-paced|pubsub --scenario p2p -c 100 -q 0 --rate 2000"
)
for entry in "${SCENARIOS[@]}"; do
    name=${entry%%|*}
    read -r -a args <<<"${entry#*|}"
    for kind in robustmq mosquitto; do
        run "$name" "$kind" "${args[@]}" "${LOAD[@]}"
    done
done
# Paced, so that what is measured is what connections hold once connected, not what a storm
# of handshakes holds for a moment (the storm below is that).
for kind in robustmq mosquitto; do
    run idle "$kind" conn -c "$CONNECTIONS" --rate "$CONNECT_RATE" -d 2s
done
# All at once: as many attempts in flight as there are clients.
for kind in robustmq mosquitto; do
    run storm "$kind" conn -c "$STORM" --rate 0 --connect-concurrency "$STORM" --connect-timeout 10s \
        -d 2s --bystander-rate "$BYSTANDER_RATE"
done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
mkdir -p "$(dirname "$JSONL")"
SETTLE=$SETTLE python3 - "$RESULTS" "$JSONL" "$LIMITS_R" "$VERSION_R" "$VERSION_M" "$PINNING" "$LOAD_START" "$LOAD_END" "$DRAIN" <<'PY'
import json, os, re, sys

results, jsonl, limits_r, version_r, version_m, pinning, load_start, load_end, drain = sys.argv[1:10]

def seconds(text):
    m = re.fullmatch(r"([0-9.]+)\s*(ms|s|m|min)?", text.strip())
    if not m:
        return None
    unit = {"ms": 0.001, "m": 60, "min": 60}.get(m.group(2) or "s", 1)
    return float(m.group(1)) * unit

drain_limit = seconds(drain)
kinds = ("robustmq", "mosquitto")
load_scenarios = [
    ("fanin-q1", "1. fan-in 10 -> 1, QoS 1"),
    ("p2p100-q1", "2. 100 pairs, QoS 1"),
    ("p2p100-q0", "3. 100 pairs, QoS 0"),
    ("stalled-q0", "4a. 10 pairs + stalled subs, QoS 0"),
    ("stalled-q1", "4b. 10 pairs + stalled subs, QoS 1"),
    ("fanin-q1-paced", "1p. fan-in 10 x 5,000/s -> 1, QoS 1"),
    ("p2p100-q1-paced", "2p. 100 pairs x 1,000/s, QoS 1"),
    ("p2p100-q0-paced", "3p. 100 pairs x 2,000/s, QoS 0"),
]

def load(name, kind):
    base = os.path.join(results, f"{name}.{kind}")
    with open(base + ".json") as f:
        v = json.load(f)
    with open(base + ".hwm") as f:
        text = f.read().strip()
    v["_peak_rss_kib"] = int(text) if text.isdigit() else None
    if os.path.exists(base + ".settled"):
        with open(base + ".settled") as f:
            text = f.read().strip()
        v["_settled_rss_kib"] = int(text) if text.isdigit() else None
    return v

runs = {}
with open(jsonl, "w") as out:
    for name in [n for n, _ in load_scenarios] + ["idle", "storm"]:
        for k in kinds:
            v = load(name, k)
            runs[(name, k)] = v
            out.write(json.dumps({"scenario": name, "broker": k, "peak_rss_kib": v["_peak_rss_kib"],
                                  "settled_rss_kib": v.get("_settled_rss_kib"),
                                  "bench": {key: val for key, val in v.items() if not key.startswith("_")}}) + "\n")

def n(x):
    return f"{x:,.0f}"

def mib(kib):
    return "-" if kib is None else f"{kib / 1024:,.1f}"

def ms(us):
    return f"{us / 1000:,.1f}"

def latency(v, which):
    lat = v.get("latency_us") or {}
    return "-" if lat.get(which) is None else ms(lat[which])

def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"

def table(header, rows, right):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    def line(r):
        cells = [str(c).rjust(w) if right[i] else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        return "| " + " | ".join(cells) + " |"
    print(line(header))
    print("|" + "|".join(("-" * (w + 1) + ":") if right[i] else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|")
    for r in rows:
        print(line(r))

print()
print(f"robustmq {version_r} vs mosquitto {version_m}, MQTT 3.1.1, 64-byte payloads; {pinning}")
print(f"robustmq defaults: {limits_r}")
print("mosquitto defaults: max_inflight_messages=20, max_queued_messages=1000 (QoS 1/2, per client),"
      " max_connections=-1, memory_limit=0 (none), persistence false, set_tcp_nodelay false")
print("(both log warnings and errors only)")
print(f"machine load average (1, 5, 15 min) {load_start} at the start, {load_end} at the end:"
      " above about 2 on two CPUs, other work took CPU time from the broker or the load")
print()
print("Load scenarios. undelivered = acknowledged (PUBACK) and never delivered at QoS 1,")
print("sent and never delivered at QoS 0, counted after the drain; r/m = robustmq/mosquitto.")
header = ["scenario", "broker", "sent/s", "delivered/s", "r/m", "sent", "acked", "unacked",
          "undelivered", "dup", "drain s", "p50 ms", "p99 ms", "broker CPU", "peak RSS MiB", "r/m"]
rows = []
for name, title in load_scenarios:
    r, m = runs[(name, "robustmq")], runs[(name, "mosquitto")]
    for k in kinds:
        v = runs[(name, k)]
        q1 = (v.get("qos") or 0) > 0
        rows.append([
            title if k == "robustmq" else "",
            k,
            n(v["send_rate"]),
            n(v["recv_rate"]),
            ratio(r["recv_rate"], m["recv_rate"]) if k == "robustmq" else "",
            n(v["sent"]),
            n(v["acked"]) if q1 else "-",
            n(v["unacknowledged"]) if q1 else "-",
            # QoS 0: nothing is acknowledged, so what never arrived is "not received".
            n(v["lost"] + v.get("not_received", 0)),
            n(v["duplicates"]),
            f"{v['drain_s']:.1f}" + ("*" if drain_limit and drain_limit > 2.5 and v["drain_s"] >= drain_limit - 0.05 else ""),
            latency(v, "p50"),
            latency(v, "p99"),
            "-" if v.get("broker_cpu") is None else f"{v['broker_cpu']:.2f}",
            mib(v["_peak_rss_kib"]),
            ratio(r["_peak_rss_kib"] or 0, m["_peak_rss_kib"] or 0) if k == "robustmq" else "",
        ])
table(header, rows, [False, False] + [True] * 14)
print(f"* the drain ran out ({drain}) with messages still arriving: part of undelivered was still on")
print("  its way (in the broker or in the socket buffers between it and the publishers), not dropped")
settled = [(k, runs[("p2p100-q0", k)]) for k in kinds if runs[("p2p100-q0", k)].get("_settled_rss_kib")]
if settled:
    print()
    print("Memory given back after the burst of scenario 3, its clients gone:")
    for k, v in settled:
        print(f"  {k:<9} peak {mib(v['_peak_rss_kib'])} MiB, {mib(v['_settled_rss_kib'])} MiB"
              f" after {os.environ.get('SETTLE', '60')} s")

print()
print("Connections. idle: bytes per idle connection = (RSS holding them - RSS before) / connected.")
print("storm: all at once, while an established pair exchanges QoS 1 messages; its latency is")
print("publish -> delivery while the connections open.")
header = ["scenario", "broker", "connected", "conn/s", "bytes/conn", "r/m", "pair sent", "pair lost",
          "pair p50 ms", "pair p99 ms", "r/m p99", "peak RSS MiB"]
rows = []
for name in ("idle", "storm"):
    r, m = runs[(name, "robustmq")], runs[(name, "mosquitto")]
    for k in kinds:
        v = runs[(name, k)]
        idle = name == "idle"
        per = v.get("broker_bytes_per_connection")
        rows.append([
            (f"5. {n(v['clients'])} idle" if idle else f"6. storm of {n(v['clients'])}") if k == "robustmq" else "",
            k,
            f"{n(v['connected'])}/{n(v['clients'])}",
            n(v["connect_rate"]),
            n(per) if idle and per is not None else "-",
            ratio(r.get("broker_bytes_per_connection") or 0, m.get("broker_bytes_per_connection") or 0)
            if idle and k == "robustmq" else "",
            "-" if idle else n(v["sent"]),
            "-" if idle else n(v["lost"] + v.get("not_received", 0) + v["unacknowledged"]),
            "-" if idle else ms(v["latency_us"]["p50"]),
            "-" if idle else ms(v["latency_us"]["p99"]),
            ratio(r["latency_us"]["p99"], m["latency_us"]["p99"]) if not idle and k == "robustmq" else "",
            mib(v["_peak_rss_kib"]),
        ])
table(header, rows, [False, False] + [True] * 10)

print()
print("per run: errors and what they were")
for (name, k), v in runs.items():
    kinds_ = "; ".join(f"{e['count']} x {e['error']}" for e in v.get("error_kinds", [])[:3])
    refused = f" refused {v['refused']:,}" if v.get("refused") else ""
    print(f"  {name:<11} {k:<9} errors {v['errors']:,} dropped {v['dropped']:,} "
          f"connect failures {v['connect_failures']:,}{refused}" + (f" ({kinds_})" if kinds_ else ""))
print()
print(f"every run's figures, one JSON per line: {jsonl}")
PY
