#!/usr/bin/env bash
# Persistent-session QoS 1 throughput with durability = "immediate" vs "periodic", and the
# commits and fsyncs the store made meanwhile (from $SYS/broker/store/*), so group commit is
# seen working. Usage: bench/durability.sh [SECONDS per run, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
bin=target/release/robustmq
[ -x "$bin" ] || cargo build --release --quiet
command -v mosquitto_sub >/dev/null || { echo "mosquitto_sub is needed: bash .ci/setup-test-deps.sh" >&2; exit 2; }

sys() { mosquitto_sub -p "$1" -t "\$SYS/broker/store/$2" -C 1 -W 5; }

run() {
  local mode=$1 port=$2 dir
  dir=$(mktemp -d)
  printf '[server]\nsys_interval = "1s"\n[[listeners]]\nbind = "127.0.0.1:%s"\n[store]\ndurability = "%s"\n' \
    "$port" "$mode" > "$dir/robustmq.toml"
  "$bin" serve --config "$dir/robustmq.toml" --data-dir "$dir/data" --log-level warn 2> "$dir/log" &
  local pid=$!
  for _ in $(seq 50); do sys "$port" commits >/dev/null 2>&1 && break; sleep 0.1; done
  local c0 f0 c1 f1 out
  c0=$(sys "$port" commits); f0=$(sys "$port" fsyncs)
  # 8 publishers -> 1 subscriber, QoS 1, every session persistent: each message is stored.
  out=$("$bin" bench pubsub --scenario fanin --publishers 8 --subscribers 1 -q 1 -s 64 \
        -d "${secs}s" -p "$port" -x 3600 --json 2>/dev/null)
  sleep 1.2
  c1=$(sys "$port" commits); f1=$(sys "$port" fsyncs)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  python3 - "$mode" "$secs" "$((c1 - c0))" "$((f1 - f0))" "$out" <<'PY'
import json, sys
mode, secs, commits, fsyncs, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
r = json.loads(out)
def find(d, *names):
    for n in names:
        if n in d: return d[n]
    for v in d.values():
        if isinstance(v, dict):
            x = find(v, *names)
            if x is not None: return x
    return None
rate = find(r, "receive_rate", "received_per_sec", "recv_rate") or 0
received = find(r, "received") or 0
lost = find(r, "lost") or 0
per_commit = received / commits if commits else 0
print(f"{mode:9}  {rate:>10,.0f} msg/s  received {received:>9,}  lost {lost}  "
      f"commits {commits:>6,}  fsyncs {fsyncs:>6,} ({fsyncs / secs:,.0f}/s)  messages per commit {per_commit:,.0f}")
PY
}

echo "persistent-session QoS 1, 8 publishers -> 1 subscriber, ${secs}s per run"
for round in 1 2; do
  run immediate 19181
  run periodic 19182
done
