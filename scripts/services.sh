#!/usr/bin/env bash
# Starts and stops the throwaway Postgres cluster and search server that
# `make run` and `make test` use. State lives in $RUN_DIR (default .run/).
#
#   scripts/services.sh start   # writes $RUN_DIR/env with the URLs
#   scripts/services.sh stop
#   scripts/services.sh restart-search     # same port, all data lost (fault tests)
#   scripts/services.sh restart-postgres   # fast shutdown: every connection dropped
#   REPLICA=1 scripts/services.sh start    # also a second cluster, the replication subscriber ($SUBSCRIBER_URL)
#   scripts/services.sh stop-subscriber | start-subscriber   # that cluster down and up again
#
# DATABASE_URL / ELASTICSEARCH_URL already set in the environment are kept:
# nothing is started for them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN_DIR=${RUN_DIR:-$ROOT/.run}
VENV=${VENV:-$ROOT/.venv}
ENV_FILE=$RUN_DIR/env

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] || { echo "services: no PostgreSQL server found (apt-get install postgresql)" >&2; exit 1; }
    echo "$dir"
}

# Runs a command as the postgres user when we are root (initdb refuses root).
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Creates and starts a throwaway cluster; prints "port data-folder".
# $1 names it in $RUN_DIR (pg.path, sub-pg.path).
init_cluster() {
    local name=$1 bin port data
    bin=$(pg_bin)
    # The data folder lives under /tmp: the postgres user may not be able to
    # enter the checkout (a clone under /root, say).
    data=$(mktemp -d "/tmp/hacksync-$name.XXXXXX")
    echo "$data" >"$RUN_DIR/$name.path"
    port=$(free_port)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$RUN_DIR/initdb-$name.log" 2>&1 \
        || { cat "$RUN_DIR/initdb-$name.log" >&2; exit 1; }
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
max_logical_replication_workers = 8
max_connections = 300
fsync = ${PG_FSYNC:-on}
synchronous_commit = ${PG_SYNCHRONOUS_COMMIT:-on}
log_min_messages = warning
CONF
    as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
    as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAtc "CREATE DATABASE hacksync" >/dev/null
    echo "$port $data"
}

start_postgres() {
    local port data
    read -r port data < <(init_cluster pg)
    {
        echo "export DATABASE_URL=postgresql://postgres@127.0.0.1:$port/hacksync"
        echo "export HACKSYNC_PG_BIN=$(pg_bin)"
        echo "export HACKSYNC_PG_DATA=$data"
        echo "export HACKSYNC_PG_PORT=$port"
    } >>"$ENV_FILE"
}

# A second cluster, the logical replication subscriber (REPLICA=1, tests).
start_subscriber() {
    local port data
    read -r port data < <(init_cluster sub-pg)
    {
        echo "export SUBSCRIBER_URL=postgresql://postgres@127.0.0.1:$port/hacksync"
        echo "export HACKSYNC_SUB_PG_DATA=$data"
    } >>"$ENV_FILE"
}

# Starts the search server on $1 (a port, 0 for any) and records its pid.
launch_search() {
    local bin=$1 port=$2 pid url
    : >"$RUN_DIR/search.out"
    nohup "$bin" -addr "127.0.0.1:$port" -no-ja -no-stdin-watch >"$RUN_DIR/search.out" 2>>"$RUN_DIR/search.log" &
    pid=$!
    for _ in $(seq 1 100); do
        url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$RUN_DIR/search.out" | head -n 1)
        [ -n "$url" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$url" ] || { echo "services: search server did not start" >&2; tail -n 5 "$RUN_DIR/search.log" >&2; return 1; }
    echo "$pid" >"$RUN_DIR/search.pid"
    echo "$url"
}

start_search() {
    local bin url
    bin=$("$VENV/bin/python" -c 'import osmem_server; print(osmem_server.resolve_binary())')
    url=$(launch_search "$bin" 0) || exit 1
    {
        echo "export ELASTICSEARCH_URL=$url"
        echo "export HACKSYNC_SEARCH_BIN=$bin"
        echo "export HACKSYNC_SEARCH_PID_FILE=$RUN_DIR/search.pid"
    } >>"$ENV_FILE"
}

start() {
    stop >/dev/null 2>&1 || true
    mkdir -p "$RUN_DIR"
    : >"$ENV_FILE"
    if [ -n "${DATABASE_URL:-}" ]; then
        echo "export DATABASE_URL='$DATABASE_URL'" >>"$ENV_FILE"
    else
        start_postgres
    fi
    if [ -n "${ELASTICSEARCH_URL:-}" ]; then
        echo "export ELASTICSEARCH_URL='$ELASTICSEARCH_URL'" >>"$ENV_FILE"
    else
        start_search
    fi
    if [ "${REPLICA:-}" = 1 ]; then
        start_subscriber
    fi
}

stop() {
    if [ -f "$RUN_DIR/search.pid" ]; then
        kill "$(cat "$RUN_DIR/search.pid")" 2>/dev/null || true
        rm -f "$RUN_DIR/search.pid"
    fi
    local name data
    for name in sub-pg pg; do
        [ -f "$RUN_DIR/$name.path" ] || continue
        data=$(cat "$RUN_DIR/$name.path")
        if [ -f "$data/postmaster.pid" ]; then
            as_pg "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
        fi
        rm -rf "$data" "$RUN_DIR/$name.path"
    done
}

# The search server keeps everything in memory: a restart is a total loss.
restart_search() {
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    local pid port
    pid=$(cat "$RUN_DIR/search.pid")
    kill -9 "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    port=${ELASTICSEARCH_URL##*:}
    port=${port%%/*}
    for _ in $(seq 1 50); do
        launch_search "$HACKSYNC_SEARCH_BIN" "$port" >/dev/null && return
        sleep 0.1
    done
    echo "services: search server did not come back on port $port" >&2
    exit 1
}

# The subscriber cluster down and up again (same port, same data).
stop_subscriber() {
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    as_pg "$(pg_bin)/pg_ctl" -D "$HACKSYNC_SUB_PG_DATA" -m fast -w stop >/dev/null
}
start_subscriber_again() {
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    as_pg "$(pg_bin)/pg_ctl" -D "$HACKSYNC_SUB_PG_DATA" -l "$HACKSYNC_SUB_PG_DATA/server.log" -w -t 60 start >/dev/null
}

restart_postgres() {
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    as_pg "$HACKSYNC_PG_BIN/pg_ctl" -D "$HACKSYNC_PG_DATA" -l "$HACKSYNC_PG_DATA/server.log" -m fast -w -t 60 restart >/dev/null
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    restart-search) restart_search ;;
    restart-postgres) restart_postgres ;;
    stop-subscriber) stop_subscriber ;;
    start-subscriber) start_subscriber_again ;;
    *) echo "usage: $0 start|stop|restart-search|restart-postgres|stop-subscriber|start-subscriber" >&2; exit 2 ;;
esac
