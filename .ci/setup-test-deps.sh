#!/usr/bin/env bash
# Installs what the interop tests (tests/interop) need, if it is missing:
#   - mosquitto-clients (mosquitto_pub, mosquitto_sub), mosquitto and tmux (for `top`'s
#     end-to-end tests), via apt-get;
#   - coreutils' stdbuf (present on every Debian system; checked, not installed);
#   - Python paho-mqtt 2.x, via `python3 -m pip`;
#   - MQTT.js (npm `mqtt`, pinned by tests/listeners/js/package-lock.json) for the WebSocket
#     tests, via `npm ci` with the machine's Node.js.
# Idempotent; runs unattended (no stdin) as root on Debian/Ubuntu. Prints one line per thing
# it found or installed. Exits non-zero if something could not be installed.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export PIP_ROOT_USER_ACTION=ignore

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    fi
fi

apt_updated=0
apt_install() {
    # apt_install PACKAGE: installs one Debian package, running `apt-get update` once first.
    if [ "$apt_updated" -eq 0 ]; then
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >/dev/null
        apt_updated=1
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" </dev/null >/dev/null
}

deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# Debian packages: package name and a command it must provide.
for entry in "mosquitto-clients:mosquitto_sub" "mosquitto:mosquitto" "tmux:tmux" "openssl:openssl"; do
    pkg="${entry%%:*}"
    cmd="${entry##*:}"
    if deb_installed "$pkg" && { command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ]; }; then
        echo "found: $pkg ($(dpkg-query -W -f='${Version}' "$pkg"))"
    else
        apt_install "$pkg"
        echo "installed: $pkg ($(dpkg-query -W -f='${Version}' "$pkg"))"
    fi
done

if command -v stdbuf >/dev/null 2>&1; then
    echo "found: stdbuf ($(command -v stdbuf))"
else
    apt_install coreutils
    echo "installed: coreutils (stdbuf)"
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 is not installed" >&2
    exit 1
fi

paho_version() {
    python3 -c 'import paho.mqtt; print(paho.mqtt.__version__)' 2>/dev/null || true
}

version="$(paho_version)"
case "$version" in
    2.*)
        echo "found: paho-mqtt $version (python3 $(python3 -c 'import sys; print(sys.version.split()[0])'))"
        ;;
    *)
        if ! python3 -m pip --version >/dev/null 2>&1; then
            # Debian's python3 ships without pip; python3-pip provides it.
            apt_install python3-pip
            echo "installed: python3-pip"
        fi
        pip_log="$(mktemp)"
        if ! python3 -m pip install --quiet --disable-pip-version-check --no-input \
            'paho-mqtt>=2,<3' >"$pip_log" 2>&1; then
            if grep -q "externally-managed-environment" "$pip_log"; then
                python3 -m pip install --quiet --disable-pip-version-check --no-input \
                    --break-system-packages 'paho-mqtt>=2,<3'
            else
                cat "$pip_log" >&2
                rm -f "$pip_log"
                exit 1
            fi
        fi
        rm -f "$pip_log"
        version="$(paho_version)"
        case "$version" in
            2.*) echo "installed: paho-mqtt $version" ;;
            *)
                echo "error: paho-mqtt 2.x is still not importable by python3 (got '${version:-none}')" >&2
                exit 1
                ;;
        esac
        ;;
esac

js_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/listeners/js"
if [ -f "$js_dir/node_modules/mqtt/package.json" ]; then
    echo "found: MQTT.js $(node -p 'require(process.argv[1]).version' "$js_dir/node_modules/mqtt/package.json")"
else
    if ! command -v npm >/dev/null 2>&1; then
        apt_install nodejs
        apt_install npm
    fi
    (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null)
    echo "installed: MQTT.js $(node -p 'require(process.argv[1]).version' "$js_dir/node_modules/mqtt/package.json")"
fi
