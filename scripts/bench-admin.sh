#!/usr/bin/env bash
# What the admin endpoints cost: requests/s and latency of /healthz (the
# floor), /metrics and /api/status against a release `hacksync serve`, first
# idle, then while pgbench commits a steady stream of user renames (each one
# rewrites the user and the projects that embed it) that the service syncs.
# Loopback only, bounded. Usage: scripts/bench-admin.sh [connections] [seconds] [writes/s]
set -euo pipefail
CONNECTIONS=${1:-8}
SECONDS_EACH=${2:-10}
WRITE_RATE=${3:-200}
source "$(dirname "$0")/bench-env.sh"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
.build/release/hacksync serve --listen "127.0.0.1:$PORT" --log-level warning &
SERVE_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
wait_for_drain

run_all() {
    for path in /healthz /metrics /api/status; do
        .build/release/hacksync-bench admin-load "http://127.0.0.1:$PORT$path" "$CONNECTIONS" "$SECONDS_EACH"
    done
}
echo "machine: $(nproc) cores; release build; client, service, Postgres and search server share them"
echo "-- idle"
run_all
echo "-- while pgbench renames users at $WRITE_RATE/s"
PGBENCH=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/pgbench
SCRIPT=$(mktemp)
echo "UPDATE users SET name = 'load ' || random() WHERE id = 1 + (random() * 499)::int;" >"$SCRIPT"
"$PGBENCH" -n -f "$SCRIPT" -R "$WRITE_RATE" -T $((SECONDS_EACH * 3 + 5)) -c 2 "$DATABASE_URL" >/tmp/bench-admin-pgbench.log 2>&1 &
PGBENCH_PID=$!
sleep 2
synced() { curl -fs "http://127.0.0.1:$PORT/api/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["sync"]["changes_synced"], s["lag"]["p99_seconds"])'; }
read -r before _ < <(synced)
run_all
read -r after p99 < <(synced)
echo "the sync meanwhile: $((after - before)) changes synced, lag p99 over the last 1,024 batches ${p99} s"
wait "$PGBENCH_PID" || true
grep -E "^tps|latency average|failed" /tmp/bench-admin-pgbench.log || true
rm -f "$SCRIPT"
