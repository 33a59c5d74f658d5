# Provides AWS endpoints for the tests: TERRANE_TEST_AWS_ENDPOINT (and the
# others below) when set, otherwise moto in server mode from virtualenvs cached
# outside the clone (installed on first use), on free loopback ports, stopped
# when the calling script exits.

# 5.2 answers some S3 calls with XML the AWS SDK for Rust rejects; 5.1.10 does not.
export MOTO_VERSION="${MOTO_VERSION:-5.1.10}"
# 5.1.10 does not report key pairs' public keys (DescribeKeyPairs'
# IncludePublicKey); 5.2.5 does, and serves the one test that needs it.
MOTO_KEYS_VERSION="${MOTO_KEYS_VERSION:-5.2.5}"

moto_venv() {
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/terrane/moto-${1:-$MOTO_VERSION}"
}

install_moto() {
    local version="${1:-$MOTO_VERSION}" venv
    venv="$(moto_venv "$version")"
    if [ -x "$venv/bin/moto_server" ]; then
        return 0
    fi
    echo "installing moto[server] $version into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$version" >&2
}

# Starts one moto server (of version $1, or the default) on a free loopback
# port; prints "PID PORT LOG".
launch_moto() {
    local port venv log pid tries=0
    venv="$(moto_venv "${1:-}")"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    log="$(mktemp /tmp/terrane-moto.XXXXXX.log)"
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    pid=$!
    until python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "moto did not start:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "$pid $port $log"
}

start_test_moto() {
    if [ -n "${TERRANE_TEST_AWS_ENDPOINT:-}" ]; then
        echo "using the AWS endpoint at TERRANE_TEST_AWS_ENDPOINT" >&2
        return 0
    fi
    install_moto
    local port
    read -r MOTO_PID port MOTO_LOG < <(launch_moto)
    [ -n "${port:-}" ] || return 1
    export TERRANE_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
    echo "started moto on $TERRANE_TEST_AWS_ENDPOINT" >&2
}

# A second server that checks keys (moto's INITIAL_NO_AUTH_ACTION_COUNT=0), for
# the tests of rejected credentials; its log shows how many requests it answered.
start_strict_test_moto() {
    if [ -n "${TERRANE_TEST_AWS_STRICT_ENDPOINT:-}" ]; then
        echo "using the key-checking AWS endpoint at TERRANE_TEST_AWS_STRICT_ENDPOINT" >&2
        return 0
    fi
    install_moto
    local port
    read -r MOTO_STRICT_PID port TERRANE_TEST_AWS_STRICT_LOG < <(INITIAL_NO_AUTH_ACTION_COUNT=0 launch_moto)
    [ -n "${port:-}" ] || return 1
    export TERRANE_TEST_AWS_STRICT_ENDPOINT="http://127.0.0.1:$port" TERRANE_TEST_AWS_STRICT_LOG
    echo "started moto with key checks on $TERRANE_TEST_AWS_STRICT_ENDPOINT" >&2
}

# The newer moto, for reading key pairs' public keys back.
start_keys_test_moto() {
    if [ -n "${TERRANE_TEST_AWS_KEYS_ENDPOINT:-}" ]; then
        echo "using the AWS endpoint at TERRANE_TEST_AWS_KEYS_ENDPOINT for key pairs" >&2
        return 0
    fi
    install_moto "$MOTO_KEYS_VERSION"
    local port
    read -r MOTO_KEYS_PID port MOTO_KEYS_LOG < <(launch_moto "$MOTO_KEYS_VERSION")
    [ -n "${port:-}" ] || return 1
    export TERRANE_TEST_AWS_KEYS_ENDPOINT="http://127.0.0.1:$port"
    echo "started moto $MOTO_KEYS_VERSION on $TERRANE_TEST_AWS_KEYS_ENDPOINT" >&2
}

# A server of its own for the round trip with Terraform: the test resets it,
# seeds its ids and replays the requests Terraform made
# (tests/fixtures/terraform-aws, scripts/oracle-aws-state). Its recorder keeps
# the uploaded requests in a file of its own.
start_replay_test_moto() {
    if [ -n "${TERRANE_TEST_AWS_REPLAY_ENDPOINT:-}" ]; then
        echo "using the AWS endpoint at TERRANE_TEST_AWS_REPLAY_ENDPOINT for replays" >&2
        return 0
    fi
    install_moto
    local port
    MOTO_REPLAY_FILE="$(mktemp /tmp/terrane-moto-replay.XXXXXX)"
    read -r MOTO_REPLAY_PID port MOTO_REPLAY_LOG < <(MOTO_RECORDER_FILEPATH="$MOTO_REPLAY_FILE" launch_moto)
    [ -n "${port:-}" ] || return 1
    export TERRANE_TEST_AWS_REPLAY_ENDPOINT="http://127.0.0.1:$port"
    echo "started moto for replays on $TERRANE_TEST_AWS_REPLAY_ENDPOINT" >&2
}

stop_test_moto() {
    local pid
    # The servers were started from a subshell: not children to wait for.
    for pid in ${MOTO_PID:-} ${MOTO_STRICT_PID:-} ${MOTO_KEYS_PID:-} ${MOTO_REPLAY_PID:-}; do
        kill "$pid" 2>/dev/null || true
    done
    rm -f "${MOTO_LOG:-}" "${TERRANE_TEST_AWS_STRICT_LOG:-}" "${MOTO_KEYS_LOG:-}" "${MOTO_REPLAY_LOG:-}" "${MOTO_REPLAY_FILE:-}"
}
