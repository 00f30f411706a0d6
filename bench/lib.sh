# Shared by the bench/ scripts (sourced, not run): messages, the release binary, Mosquitto,
# the open-files limit, CPU pinning, ports. The sourcing script sets SCRIPT (its name, for
# messages), ROOT and BIN first.

say() { printf '%s\n' "$*" >&2; }
die() { say "$SCRIPT: $*"; exit 1; }

# Builds target/release/robustmq if it is missing; installs Mosquitto if it is missing and sets
# MOSQUITTO; checks for python3, which the scripts summarize with.
need_brokers() {
    if [ ! -x "$BIN" ]; then
        say "building robustmq (release) ..."
        (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
    fi
    if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
        say "installing mosquitto ..."
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null \
            || die "cannot install mosquitto (apt-get install mosquitto)"
    fi
    MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    command -v python3 >/dev/null || die "python3 is needed to summarize the results"
}

# raise_open_files N WHAT: room for N connections (a file descriptor in the bench and one in the
# broker each), or an error that says what to set (WHAT) instead.
raise_open_files() {
    local want=$(($1 + 1024)) hard
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
        die "ulimit -Hn is $hard; $1 connections need $want (raise it, or set $2)"
    fi
    ulimit -n "$want"
}

# pin_cpus BROKER_CPU BENCH_CPU: sets ON_BROKER_CPU, ON_BENCH_CPU (command prefixes) and
# PINNING (a line for the report); no pinning on a machine with one CPU.
pin_cpus() {
    if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
        ON_BROKER_CPU=(taskset -c "$1")
        ON_BENCH_CPU=(taskset -c "$2")
        PINNING="broker on CPU $1, load on CPU $2"
    else
        ON_BROKER_CPU=()
        ON_BENCH_CPU=()
        PINNING="no pinning (one CPU)"
    fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT: until the broker (BROKER_PID) accepts on PORT; an error if it exits or takes
# more than 10 s.
wait_port() {
    local port=$1
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.05
    done
    die "the broker did not open port $port"
}
