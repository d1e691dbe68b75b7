#!/usr/bin/env bash
# Millions of documents on this machine (loopback only, bounded by the
# sizes given): `hacksync seed --bulk` (set-based, capture off), then a
# full reindex of every entity with the progress bar, one of them killed
# with -9 part-way and resumed. Reports rows/s of the seed, documents/s and
# peak RSS of each reindex, and the CPU each process used during the copy
# (the search server's share bounds it here: it takes ~1 ms per document).
# Usage: scripts/bench-scale.sh [users] [projects] [hackathons] [kill-at-fraction]
set -euo pipefail
USERS=${1:-1000000}
PROJECTS=${2:-2000000}
HACKATHONS=${3:-2000}
KILL_AT=${4:-0.3}
BENCH_SEED_ARGS="--users 0 --projects 0 --hackathons 0"
source "$(dirname "$0")/bench-env.sh"
OUT=$RUN_DIR/scale
mkdir -p "$OUT"

cpu_seconds() {  # user+system CPU seconds of a pid so far
    awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
postgres_cpu() {  # CPU seconds of the cluster: the postmaster, its exited children, and the live ones
    local postmaster total
    postmaster=$(head -1 "$HACKSYNC_PG_DATA/postmaster.pid")
    total=$(awk '{ print ($14 + $15 + $16 + $17) / 100 }' "/proc/$postmaster/stat")
    for pid in $(pgrep -P "$postmaster" || true); do
        total=$(python3 -c "print($total + $(cpu_seconds "$pid"))")
    done
    echo "$total"
}
search_pid=$(cat "$HACKSYNC_SEARCH_PID_FILE")

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; postgres fsync=on; search server osmem"
/usr/bin/time -f "seed: %e s wall, peak RSS %M KiB" .build/release/hacksync seed --bulk \
    --users "$USERS" --projects "$PROJECTS" --hackathons "$HACKATHONS" --log-level warning 2>"$OUT/seed.err" | tee "$OUT/seed.out"
tail -1 "$OUT/seed.err"
psql "$DATABASE_URL" -Atc "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"

reindex() {  # entity, then extra flags; prints the summary line
    local entity=$1
    local search_before pg_before
    search_before=$(cpu_seconds "$search_pid"); pg_before=$(postgres_cpu)
    /usr/bin/time -f "$entity: %e s wall, %U s user + %S s system CPU in hacksync, peak RSS %M KiB" \
        .build/release/hacksync reindex --entity "$entity" --log-level warning 2>"$OUT/$entity.err" >"$OUT/$entity.out" || true
    tail -1 "$OUT/$entity.err"
    cat "$OUT/$entity.out"
    echo "  CPU meanwhile: search server $(python3 -c "print(round($(cpu_seconds "$search_pid") - $search_before, 1))") s," \
         "postgres $(python3 -c "print(round($(postgres_cpu) - $pg_before, 1))") s"
}

reindex hackathons
reindex users

# Projects: killed with -9 once KILL_AT of them are copied, then resumed.
.build/release/hacksync reindex --entity projects --log-level warning 2>"$OUT/projects-killed.err" >/dev/null &
victim=$!
target=$(python3 -c "print(int($PROJECTS * $KILL_AT))")
while kill -0 "$victim" 2>/dev/null; do
    copied=$(psql "$DATABASE_URL" -Atc "SELECT coalesce(max(copied), 0) FROM sync.index_jobs WHERE entity = 'projects' AND finished_at IS NULL")
    if [ "$copied" -ge "$target" ]; then kill -9 "$victim"; break; fi
    sleep 1
done
wait "$victim" 2>/dev/null || true
psql "$DATABASE_URL" -Atc "SELECT 'projects killed at ' || copied || ' of ' || total || ' copied (checkpoint last_id ' || last_id || ')' FROM sync.index_jobs WHERE entity = 'projects' AND finished_at IS NULL"
reindex projects
psql "$DATABASE_URL" -Atc "SELECT entity || ': job ' || id || ' ' || mode || ' ' || phase || ', ' || copied || ' copied in ' || round(extract(epoch FROM finished_at - started_at)) || ' s' FROM sync.index_jobs ORDER BY id"
for alias in users hackathons projects; do
    curl -s "$ELASTICSEARCH_URL/$alias/_count" | python3 -c "import json, sys; print('$alias in the index:', json.load(sys.stdin)['count'])"
done
