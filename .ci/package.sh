#!/usr/bin/env bash
# CI: build the .deb, install it as a user would, check what they get (binary, man pages,
# completions, systemd unit, configuration, the service user), lint it, purge it and check
# that nothing is left behind. Needs root (dpkg, apt-get); installs cargo-deb and lintian
# when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo ".ci/package.sh: must run as root (it installs and purges the package)" >&2
    exit 1
fi

started=$SECONDS
step() { printf '\n== %s [%ds]\n' "$*" $((SECONDS - started)); }
fail() {
    echo ".ci/package.sh: $*" >&2
    exit 1
}

# Leave the machine as it was, even when a check fails half-way.
trap 'dpkg --purge robustmq >/dev/null 2>&1 || true' EXIT

# Installs the Debian packages named unless COMMAND is on PATH: need COMMAND PACKAGE...
apt_updated=
need() {
    local command=$1
    shift
    command -v "$command" >/dev/null 2>&1 && return
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=yes
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

step "build the .deb"
if ! command -v cargo-deb >/dev/null 2>&1; then
    cargo install --locked cargo-deb
fi
rm -f target/debian/robustmq_*.deb
cargo deb --locked
debs=(target/debian/robustmq_*.deb)
[ "${#debs[@]}" -eq 1 ] || fail "expected one .deb in target/debian, found: ${debs[*]}"
deb=${debs[0]}
echo "$deb"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"

step "lintian"
need lintian lintian
# Errors fail the build; warnings and the rest are shown for a person to judge.
lintian --fail-on error --display-info --show-overrides "$deb" ||
    fail "lintian found errors in $deb"

step "install"
# Slim container images tell dpkg to skip man pages and docs (path-exclude in
# /etc/dpkg/dpkg.cfg.d); the checks below need them, as a user's machine has them.
dpkg -i --path-include='/usr/share/man/*' --path-include='/usr/share/doc/*' "$deb"
conffiles=$(dpkg-query --showformat='${Conffiles}\n' --show robustmq)
grep -q ' /etc/robustmq/robustmq.toml ' <<<"$conffiles" ||
    fail "/etc/robustmq/robustmq.toml is not a conffile: $conffiles"
id robustmq || fail "the robustmq system user was not created"
installed=$(dpkg -L robustmq | sort)

step "the binary"
version=$(robustmq --version)
echo "$version"
cargo_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
case $version in
    "robustmq $cargo_version" | "robustmq $cargo_version ("*")") ;;
    *) fail "robustmq --version printed '$version', expected version $cargo_version" ;;
esac
robustmq serve --check-config /etc/robustmq/robustmq.toml

step "man pages"
need man man-db
pages=$(grep '^/usr/share/man/man[15]/.*\.gz$' <<<"$installed")
expected=$(ls man | wc -l)
[ "$(wc -l <<<"$pages")" -eq "$expected" ] ||
    fail "installed $(wc -l <<<"$pages") man pages, man/ has $expected"
for page in $pages; do
    # man renders the page; --warnings makes groff report what it could not typeset.
    warnings=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "$page: $warnings"
    MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$page" | grep -q . || fail "$page renders empty"
    echo "ok $page"
done
# man finds the pages by name, in the sections they belong to.
man -w robustmq-serve | grep -q '/usr/share/man/man1/robustmq-serve.1.gz' || fail "man -w robustmq-serve"
man -w 5 robustmq.toml | grep -q '/usr/share/man/man5/robustmq.toml.5.gz' || fail "man -w 5 robustmq.toml"

step "completions"
bash -n /usr/share/bash-completion/completions/robustmq
# Loading the script defines the completion for the robustmq command.
bash -c 'source /usr/share/bash-completion/completions/robustmq && complete -p robustmq'
test -s /usr/share/zsh/vendor-completions/_robustmq
test -s /usr/share/fish/vendor_completions.d/robustmq.fish
if command -v zsh >/dev/null 2>&1; then zsh -n /usr/share/zsh/vendor-completions/_robustmq; fi
if command -v fish >/dev/null 2>&1; then fish -n /usr/share/fish/vendor_completions.d/robustmq.fish; fi

step "systemd unit"
unit=$(grep '/robustmq\.service$' <<<"$installed")
echo "$unit"
if command -v systemd-analyze >/dev/null 2>&1; then
    # verify loads the unit as systemd would, offline (it does not ask PID 1): unknown keys
    # and bad values (which it only warns about, exit status 0), a missing ExecStart
    # binary, Documentation= man pages that man cannot find (installed above). So it is as
    # strict in a container as on a host, and any complaint fails the build. The only lines
    # tolerated are those saying that no systemd runs as PID 1, which some versions print in
    # a container and which say nothing about the unit.
    status=0
    analysis=$(systemd-analyze verify "$unit" 2>&1) || status=$?
    complaints=$(grep -v -e 'System has not been booted with systemd' -e 'Failed to connect to bus' \
        <<<"$analysis" || true)
    if [ -n "$complaints" ] || { [ "$status" -ne 0 ] && [ -z "$analysis" ]; }; then
        echo "$analysis"
        fail "systemd-analyze verify $unit: exit status $status"
    fi
    echo "systemd-analyze verify: no complaints${analysis:+ (about the unit; it said: $analysis)}"
    # The exposure score of the sandboxing, for a person to read (lower is better).
    systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -n 1 || true
else
    echo "systemd-analyze not installed; skipped"
fi

step "run the broker as the service would"
# Without systemd as PID 1 the unit cannot be started; run its ExecStart as its user, with
# the state directory systemd would create, and a notify socket like systemd's.
install -d -o robustmq -g robustmq -m 0750 /var/lib/robustmq
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
log=$(mktemp)
setpriv --reuid=robustmq --regid=robustmq --init-groups $exec_start --listen 127.0.0.1:0 2>"$log" &
broker=$!
for _ in $(seq 100); do
    grep -q 'robustmq started' "$log" && break
    kill -0 "$broker" 2>/dev/null || break
    sleep 0.1
done
grep -q 'robustmq started' "$log" || {
    cat "$log"
    fail "the installed broker did not start as the robustmq user"
}
port=$(sed -n 's/.*listener=[^ ]*:\([0-9]*\).*/\1/p' "$log" | head -1)
robustmq pub -h 127.0.0.1 -p "$port" -t packaging/check -m hello -q 1 -r
robustmq sub -h 127.0.0.1 -p "$port" -t packaging/check -C 1 -W 10 | grep -qx hello ||
    fail "a retained message did not come back from the installed broker"
kill -TERM "$broker"
wait "$broker" || fail "the broker did not exit cleanly on SIGTERM"
test -f /var/lib/robustmq/robustmq.redb || fail "no data in /var/lib/robustmq"
rm -f "$log"

step "purge"
dpkg --purge robustmq
dpkg-query --show robustmq >/dev/null 2>&1 && fail "robustmq is still known to dpkg after purge"
left=()
for path in $installed /etc/robustmq /var/lib/robustmq; do
    # dpkg -L also lists shared directories (/usr, /usr/share/man/man1) that stay.
    if [ -e "$path" ] && [ ! -d "$path" ]; then left+=("$path"); fi
done
for dir in /etc/robustmq /var/lib/robustmq /usr/share/doc/robustmq; do
    if [ -e "$dir" ]; then left+=("$dir"); fi
done
[ "${#left[@]}" -eq 0 ] || fail "left behind after purge: ${left[*]}"
trap - EXIT

step "done in $((SECONDS - started))s"
