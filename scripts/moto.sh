# Provides an AWS endpoint for the tests: TERRANE_TEST_AWS_ENDPOINT when it is set,
# otherwise moto in server mode from a virtualenv cached outside the clone
# (installed on first use), on a free loopback port, stopped when the calling
# script exits.

# 5.2 answers some S3 calls with XML the AWS SDK for Rust rejects; 5.1.10 does not.
MOTO_VERSION="${MOTO_VERSION:-5.1.10}"

moto_venv() {
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/terrane/moto-$MOTO_VERSION"
}

install_moto() {
    local venv
    venv="$(moto_venv)"
    if [ -x "$venv/bin/moto_server" ]; then
        return 0
    fi
    echo "installing moto[server] into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
}

start_test_moto() {
    if [ -n "${TERRANE_TEST_AWS_ENDPOINT:-}" ]; then
        echo "using the AWS endpoint at TERRANE_TEST_AWS_ENDPOINT" >&2
        return 0
    fi
    install_moto
    local port venv
    venv="$(moto_venv)"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    MOTO_LOG="$(mktemp /tmp/terrane-moto.XXXXXX.log)"
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$MOTO_LOG" 2>&1 &
    MOTO_PID=$!
    local tries=0
    until python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ] || ! kill -0 "$MOTO_PID" 2>/dev/null; then
            echo "moto did not start:" >&2
            cat "$MOTO_LOG" >&2
            return 1
        fi
        sleep 0.2
    done
    export TERRANE_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
    echo "started moto on 127.0.0.1:$port" >&2
}

stop_test_moto() {
    if [ -n "${MOTO_PID:-}" ]; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        rm -f "$MOTO_LOG"
    fi
}
