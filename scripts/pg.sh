# Provides a PostgreSQL server for the tests: TERRANE_TEST_PG_URL when it is set,
# otherwise a throwaway cluster (initdb and pg_ctl in a temporary directory, on a
# free loopback port) that is stopped and removed when the calling script exits.

pg_bin_dir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

start_test_postgres() {
    if [ -n "${TERRANE_TEST_PG_URL:-}" ]; then
        echo "using PostgreSQL at TERRANE_TEST_PG_URL" >&2
        return 0
    fi
    local bin
    if ! bin="$(pg_bin_dir)"; then
        echo "PostgreSQL is not installed; installing Debian's postgresql package" >&2
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        else
            sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        fi
        bin="$(pg_bin_dir)" || { echo "PostgreSQL could not be installed" >&2; return 1; }
    fi
    PG_TEST_DIR="$(mktemp -d /tmp/terrane-pg.XXXXXX)"
    local port
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # initdb refuses to run as root: run the cluster as the postgres user then.
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_TEST_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -A trust -U terrane --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1 \
        || { cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
    "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
        -o "-p $port -k $PG_TEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
        || { cat "$PG_TEST_DIR/server.log" >&2; return 1; }
    PG_CTL=("${as[@]}" "$bin/pg_ctl")
    export TERRANE_TEST_PG_URL="postgres://terrane@127.0.0.1:$port/postgres"
    echo "started a throwaway PostgreSQL on 127.0.0.1:$port" >&2
}

stop_test_postgres() {
    if [ -n "${PG_TEST_DIR:-}" ]; then
        "${PG_CTL[@]}" -D "$PG_TEST_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_TEST_DIR"
    fi
}
