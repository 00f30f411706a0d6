#!/usr/bin/env bash
# Builds the robustmq packages: target/debian/robustmq_*.deb (cargo-deb) and
# target/generate-rpm/robustmq-*.rpm (cargo-generate-rpm), installing either tool with
# `cargo install --locked` when it is missing.
#
#   packaging/build.sh              both packages, for this machine
#   packaging/build.sh deb          only the .deb (rpm: only the .rpm)
#   TARGET=aarch64-unknown-linux-gnu packaging/build.sh
#                                   cross-build (rustup target add TARGET, and a linker for
#                                   it: see "Raspberry Pi" in README.md)
#   PROFILE=NAME packaging/build.sh build with a Cargo profile other than release
#
# The man pages and completions packaged are the committed copies in man/ and completions/;
# `cargo test --test config packaging::` fails when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
case $what in
    all | deb | rpm) ;;
    *)
        echo "usage: packaging/build.sh [all|deb|rpm]" >&2
        exit 2
        ;;
esac
profile=${PROFILE:-release}
target=${TARGET:-}
target_args=()
if [ -n "$target" ]; then
    target_args=(--target "$target")
fi
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

# Installs cargo-NAME unless it is on PATH already.
need() {
    if ! command -v "cargo-$1" >/dev/null 2>&1; then
        echo "packaging/build.sh: installing cargo-$1" >&2
        cargo install --locked "cargo-$1"
    fi
}

build_deb() {
    need deb
    # cargo-deb builds the binary itself (with the profile and target given), strips it and
    # gzips the man pages.
    cargo deb --locked --profile "$profile" "${target_args[@]}"
}

build_rpm() {
    need generate-rpm
    cargo build --locked --profile "$profile" "${target_args[@]}"
    # cargo-generate-rpm packages files as they are: strip the binary (as its documentation
    # says) and gzip the man pages into target/packaging/man, where
    # [package.metadata.generate-rpm] takes them from.
    local built="$target_dir/${target:+$target/}$profile/robustmq"
    local strip=strip
    case $target in
        aarch64-*) strip=aarch64-linux-gnu-strip ;;
        armv7-*) strip=arm-linux-gnueabihf-strip ;;
    esac
    if command -v "$strip" >/dev/null 2>&1; then
        "$strip" "$built"
    else
        echo "packaging/build.sh: $strip not found; the .rpm gets an unstripped binary" >&2
    fi
    rm -rf target/packaging/man
    mkdir -p target/packaging/man
    for page in man/*; do
        gzip -9n <"$page" >"target/packaging/man/$(basename "$page").gz"
    done
    cargo generate-rpm --profile "$profile" "${target_args[@]}"
}

case $what in
    deb) build_deb ;;
    rpm) build_rpm ;;
    all)
        build_deb
        build_rpm
        ;;
esac
ls -l "$target_dir"/${target:+$target/}debian/*.deb "$target_dir"/${target:+$target/}generate-rpm/*.rpm 2>/dev/null || true
