# Sourced by the benchmark scripts: installs what is missing, builds the
# release binaries (unless SKIP_BUILD is set), starts throwaway servers in
# .run-bench (stopped on exit, with any service in $SERVE_PID), and loads a
# migrated database with demo data. Leaves DATABASE_URL and ELASTICSEARCH_URL set.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export RUN_DIR=$ROOT/.run-bench

scripts/install-deps.sh
if [ -z "${SKIP_BUILD:-}" ]; then
    swift build -c release --product hacksync >/dev/null
    swift build -c release --product hacksync-bench >/dev/null
fi
unset DATABASE_URL ELASTICSEARCH_URL
scripts/services.sh start
SERVE_PID=
bench_cleanup() { [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null; wait 2>/dev/null; scripts/services.sh stop; }
trap bench_cleanup EXIT
# shellcheck disable=SC1091
source "$RUN_DIR/env"

.build/release/hacksync migrate >/dev/null
# shellcheck disable=SC2086
.build/release/hacksync seed ${BENCH_SEED_ARGS:---users 1000 --projects 1500 --hackathons 20} >/dev/null

# Waits until the running service has synced everything pending.
wait_for_drain() {
    for _ in $(seq 1 100); do
        [ "$(psql "$DATABASE_URL" -Atc 'SELECT count(*) FROM sync.changes WHERE processed_at IS NULL')" = 0 ] && return
        sleep 0.2
    done
}

# Starts the search server that keeps nothing (bench/scale/null_search.py)
# on a free loopback port: sets NULL_URL and NULL_PID; stopped on exit.
start_null_search() {
    local port
    port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    python3 bench/scale/null_search.py "$port" &
    NULL_PID=$!
    SERVE_PID=$NULL_PID  # stopped on exit by bench_cleanup
    NULL_URL=http://127.0.0.1:$port
    for _ in $(seq 1 50); do curl -sf "$NULL_URL/" >/dev/null && break; sleep 0.1; done
}
