#!/usr/bin/env bash
# Logical replication lag under a sustained write load, on two throwaway
# clusters (fsync on): `hacksync replica init`, then pgbench renames users at
# a fixed rate while a marker update every 200 ms is timed from commit on the
# source to visible on the subscriber. Loopback only, bounded.
# Usage: scripts/bench-replication.sh [seconds] [writes/s]
set -euo pipefail
SECONDS_RUN=${1:-30}
WRITE_RATE=${2:-500}
export REPLICA=1
source "$(dirname "$0")/bench-env.sh"

.build/release/hacksync replica init --subscriber-url "$SUBSCRIBER_URL" --log-level warning
for _ in $(seq 1 300); do
    .build/release/hacksync replica status --subscriber-url "$SUBSCRIBER_URL" --json --log-level warning \
        | python3 -c 'import json,sys; s=json.load(sys.stdin)["subscriptions"][0]; sys.exit(0 if s["tables_ready"] == s["tables"] == 5 else 1)' && break
    sleep 0.2
done
echo "machine: $(nproc) cores; two Postgres clusters on one host, fsync on; initial copy done"

PGBENCH=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/pgbench
SCRIPT=$(mktemp)
echo "UPDATE users SET name = 'load ' || random() WHERE id = 1 + (random() * 999)::int;" >"$SCRIPT"
"$PGBENCH" -n -f "$SCRIPT" -R "$WRITE_RATE" -T $((SECONDS_RUN + 2)) -c 4 "$DATABASE_URL" >/tmp/bench-replication-pgbench.log 2>&1 &
PGBENCH_PID=$!
sleep 1
echo "-- while pgbench renames users at $WRITE_RATE/s"
.build/release/hacksync-bench replication-lag "$SUBSCRIBER_URL" "$SECONDS_RUN"
wait "$PGBENCH_PID" || true
grep -E "^tps|failed" /tmp/bench-replication-pgbench.log || true
echo "-- idle"
.build/release/hacksync-bench replication-lag "$SUBSCRIBER_URL" 10
.build/release/hacksync replica drop --subscriber-url "$SUBSCRIBER_URL" --log-level warning >/dev/null
rm -f "$SCRIPT"
