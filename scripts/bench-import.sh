#!/usr/bin/env bash
# `make bench-import [EVENTS=3000000 RATE=5 PAGE=1000]`: imports EVENTS
# activity events from the simulator (scripts/event_source.py) at a rate
# limit of RATE requests a second and a page cap of PAGE records, while
# `hacksync serve` syncs the documents they change, and reports the total
# time, events/s, the ratio to the ceiling the limit allows, the 429s, the
# importer's peak RSS, how long the sync took after the import to bring the
# documents up to date, and what each process spent of the two cores.
set -euo pipefail
EVENTS=${1:-3000000}
RATE=${2:-5}
PAGE=${3:-1000}
BENCH_SEED_ARGS="--users 1000 --projects 1500 --hackathons 20"
# shellcheck source=scripts/bench-env.sh
source "$(dirname "$0")/bench-env.sh"

free_port() { python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
cpu_seconds() { awk '{printf "%.1f", ($14 + $15) / 100}' "/proc/$1/stat" 2>/dev/null || echo 0; }
total_cpu() { awk '/^cpu /{printf "%.1f", ($2 + $3 + $4 + $7 + $8) / 100}' /proc/stat; }

rm -f "$RUN_DIR/source.port"
python3 scripts/event_source.py --port-file "$RUN_DIR/source.port" --events "$EVENTS" --users 1000 --projects 1500 \
    --rate "$RATE" --window 1 --page-cap "$PAGE" --error-every 400 --malformed-every 20000 2>/dev/null &
SOURCE_PID=$!
PORT=$(free_port)
.build/release/hacksync serve --listen "127.0.0.1:$PORT" > "$RUN_DIR/bench-import-serve.log" 2>&1 &
SERVE_PID=$!
trap 'kill $SOURCE_PID 2>/dev/null; bench_cleanup' EXIT
for _ in $(seq 1 300); do
    [ -s "$RUN_DIR/source.port" ] && curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.2
done
wait_for_drain
SOURCE=http://127.0.0.1:$(cat "$RUN_DIR/source.port")/events
status() { curl -sf "http://127.0.0.1:$PORT/api/status" | python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"; }
WRITTEN_BEFORE=$(status 's["sync"]["documents_written"]')

echo "importing $EVENTS events at $RATE requests/s × $PAGE records (ceiling $((RATE * PAGE)) events/s) while the sync runs"
CPU0=$(total_cpu); SRC0=$(cpu_seconds $SOURCE_PID); SRV0=$(cpu_seconds $SERVE_PID)
SEARCH_PID=$(cat "$RUN_DIR/search.pid" 2>/dev/null || true); ES0=$(cpu_seconds "${SEARCH_PID:-0}")
START=$(date +%s.%N)
/usr/bin/time -f "%e %U %S %M" -o "$RUN_DIR/import.time" \
    .build/release/hacksync import events --source "$SOURCE" --page-size "$PAGE" --name bench 2> "$RUN_DIR/import.log" | tail -1
IMPORTED=$(date +%s.%N)
CPU1=$(total_cpu); SRC1=$(cpu_seconds $SOURCE_PID); SRV1=$(cpu_seconds $SERVE_PID); ES1=$(cpu_seconds "${SEARCH_PID:-0}")
until [ "$(psql "$DATABASE_URL" -Atc 'SELECT count(*) FROM sync.changes WHERE processed_at IS NULL')" = 0 ]; do sleep 0.5; done
SYNCED=$(date +%s.%N)
WRITTEN_AFTER=$(status 's["sync"]["documents_written"]')
STATS=$(curl -sf "${SOURCE%/events}/_stats")
ROWS=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM activity_events")
EXPECTED=$(( EVENTS - EVENTS / 20000 ))
read -r _ USER_S SYS_S RSS_KB < "$RUN_DIR/import.time"
# Documents agree with Postgres: 20 users' activity_count, as the index has it.
MISMATCHES=$(psql "$DATABASE_URL" -Atc "SELECT id || ' ' || (SELECT count(*) FROM activity_events a WHERE a.user_id = u.id) FROM users u ORDER BY id LIMIT 20" |
    while read -r id count; do
        curl -sf "$ELASTICSEARCH_URL/users/_doc/$id" | python3 -c "import json, sys; print(int(json.load(sys.stdin)['_source']['activity_count'] != $count))"
    done | awk '{s += $1} END {print s + 0}')
python3 - "$EVENTS" "$RATE" "$PAGE" "$START" "$IMPORTED" "$SYNCED" "$STATS" "$ROWS" "$EXPECTED" "$RSS_KB" "$USER_S" "$SYS_S" \
    "$WRITTEN_BEFORE" "$WRITTEN_AFTER" "$CPU0" "$CPU1" "$SRC0" "$SRC1" "$SRV0" "$SRV1" "$ES0" "$ES1" "$MISMATCHES" <<'EOF'
import json, sys
(events, rate, page, start, imported, synced, stats, rows, expected, rss, user, sys_, w0, w1,
 c0, c1, s0, s1, v0, v1, e0, e1, mismatches) = sys.argv[1:]
events, rate, page, rows, expected = int(events), int(rate), int(page), int(rows), int(expected)
stats = json.loads(stats)
took = float(imported) - float(start)
catch_up = float(synced) - float(imported)
ceiling_seconds = stats["requests"] / rate  # every request the import made, at the limit
print(f"\nimported {rows:,} rows (expected {expected:,}: the source minus its malformed records) in {took:.1f} s")
print(f"  {events / took:,.0f} events/s; ceiling {rate * page:,} events/s ({rate}/s × {page}); ratio {events / took / (rate * page):.3f}")
print(f"  requests {stats['requests']:,} ({stats['pages']:,} pages, {stats['errors']} 5xx, {stats['rate_limited']} 429s): "
      f"{stats['requests'] / took:.2f}/s against {rate}/s, ratio {ceiling_seconds / took:.3f}")
print(f"  importer: peak RSS {int(rss) / 1024:.1f} MiB, CPU {float(user) + float(sys_):.1f} s")
print(f"sync: documents up to date {catch_up:.1f} s after the import ended; {int(w1) - int(w0):,} document writes for {events:,} events "
      f"({events / max(1, int(w1) - int(w0)):.1f} events per write); activity_count mismatches in 20 users: {mismatches}")
cpu = float(c1) - float(c0)
parts = {"importer": float(user) + float(sys_), "simulator": float(s1) - float(s0), "hacksync serve": float(v1) - float(v0),
         "search server": float(e1) - float(e0)}
print(f"CPU during the import: {cpu:.0f} core-s busy of {2 * took:.0f} — " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
      + f", Postgres and the rest {cpu - sum(parts.values()):.0f}")
if rows != expected or int(mismatches) != 0:
    sys.exit("FAILED: rows or documents do not match")
EOF
