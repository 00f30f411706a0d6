#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each) and exits non-zero when one of
# them crashes, printing the crash file and the command that reproduces it.
#
#   fuzz/run.sh [SECONDS]
#
# Works on a stable toolchain: targets are built without a sanitizer by default. Set
# FUZZ_SANITIZER=address for AddressSanitizer, which on stable needs RUSTC_BOOTSTRAP=1 (set
# here). Needs `cargo install cargo-fuzz --locked`. See fuzz/README.md.
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS]   (seconds per target, default 60)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

sanitizer="${FUZZ_SANITIZER:-none}"
if [ "$sanitizer" != none ]; then
    # -Zsanitizer is unstable; the stable compiler accepts it with this escape hatch.
    export RUSTC_BOOTSTRAP=1
fi

cd "$(dirname "$0")/.."
targets=(decode connection)

# Build first, so the time budget goes to fuzzing.
cargo fuzz build --sanitizer "$sanitizer"

failed=0
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    artifacts="fuzz/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    log="fuzz/artifacts/run-$target.log"
    marker="$(mktemp)"
    echo "== $target: ${seconds}s (sanitizer: $sanitizer, log: $log)"
    set +e
    # -timeout: one input running this long is a hang, reported like a crash.
    cargo fuzz run --sanitizer "$sanitizer" "$target" "$corpus" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=30 -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|Done )' "$log" || true
    if [ "$status" -ne 0 ]; then
        failed=1
        echo "!! $target failed (exit $status); the end of its log:"
        tail -n 40 "$log"
        found=0
        while IFS= read -r crash; do
            found=1
            echo "!! crash file: $crash"
            echo "!! reproduce:  cargo fuzz run --sanitizer $sanitizer $target $crash"
        done < <(find "$artifacts" -type f -newer "$marker" 2>/dev/null)
        if [ "$found" -eq 0 ]; then
            echo "!! no crash file was written (build or harness failure); see $log"
        fi
    fi
    rm -f "$marker"
done
exit "$failed"
