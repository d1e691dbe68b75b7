#!/usr/bin/env bash
# Millions of documents on this machine (loopback only, bounded by the
# sizes given): `hacksync seed --bulk` (set-based, capture off), then full
# reindexes with the progress bar, reporting rows/s of the seed, and
# documents/s, peak RSS and the CPU of hacksync, Postgres and the search
# server during each copy.
#
# Phase 1, the real (in-memory) search server: hackathons and users. It
# keeps every document in RAM (~12 KB each here), so the 2 million projects
# do not fit on a 24 GiB machine; they, and everything else once more, go
# to phase 2.
# Phase 2, a search server that keeps nothing (bench/scale/null_search.py):
# what HackSync and Postgres do on their own. The projects reindex is killed
# with -9 at KILL_AT of the way and resumed.
# Usage: [SKIP_PHASE1=1] scripts/bench-scale.sh [users] [projects] [hackathons] [kill-at-fraction]
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

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; postgres fsync=on"
/usr/bin/time -f "seed: %e s wall, peak RSS %M KiB" .build/release/hacksync seed --bulk \
    --users "$USERS" --projects "$PROJECTS" --hackathons "$HACKATHONS" --log-level warning 2>"$OUT/seed.err" | tee "$OUT/seed.out"
tail -1 "$OUT/seed.err"
psql "$DATABASE_URL" -Atc "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"

reindex() {  # entity, label; prints the summary lines
    local entity=$1 label=$2 search_before pg_before
    search_before=$(cpu_seconds "$search_pid"); pg_before=$(postgres_cpu)
    /usr/bin/time -f "$label $entity: %e s wall, %U s user + %S s system CPU in hacksync, peak RSS %M KiB" \
        .build/release/hacksync reindex --entity "$entity" --log-level warning 2>"$OUT/$label-$entity.err" >"$OUT/$label-$entity.out" || true
    tail -1 "$OUT/$label-$entity.err"
    sed "s/^/$label /" "$OUT/$label-$entity.out"
    echo "$label   CPU meanwhile: search server $(python3 -c "print(round($(cpu_seconds "$search_pid") - $search_before, 1))") s," \
         "postgres $(python3 -c "print(round($(postgres_cpu) - $pg_before, 1))") s;" \
         "search server RSS $(($(ps -o rss= -p "$search_pid") / 1024)) MiB"
}

if [ -z "${SKIP_PHASE1:-}" ]; then
    echo "== phase 1: the in-memory search server"
    search_pid=$(cat "$HACKSYNC_SEARCH_PID_FILE")
    reindex hackathons osmem
    reindex users osmem
fi

echo "== phase 2: a search server that keeps nothing"
start_null_search
search_pid=$NULL_PID
export ELASTICSEARCH_URL=$NULL_URL
reindex hackathons null
reindex users null

# Projects: killed with -9 once KILL_AT of them are copied, then resumed.
.build/release/hacksync reindex --entity projects --log-level warning 2>"$OUT/projects-killed.err" >/dev/null &
victim=$!
target=$(python3 -c "print(int($PROJECTS * $KILL_AT))")
while kill -0 "$victim" 2>/dev/null; do
    copied=$(psql "$DATABASE_URL" -Atc "SELECT coalesce(max(copied), 0) FROM sync.index_jobs WHERE entity = 'projects' AND finished_at IS NULL")
    if [ "$copied" -ge "$target" ]; then kill -9 "$victim"; break; fi
    sleep 0.5
done
wait "$victim" 2>/dev/null || true
psql "$DATABASE_URL" -Atc "SELECT 'null projects killed at ' || copied || ' of ' || total || ' copied (checkpoint last_id ' || last_id || ')' FROM sync.index_jobs WHERE entity = 'projects' AND finished_at IS NULL"
reindex projects null
psql "$DATABASE_URL" -Atc "SELECT entity || ': job ' || id || ' ' || mode || ' ' || phase || ', ' || copied || ' copied in ' || round(extract(epoch FROM finished_at - started_at)) || ' s' FROM sync.index_jobs ORDER BY id"
for alias in users hackathons projects; do
    curl -s "$ELASTICSEARCH_URL/$alias/_count" | python3 -c "import json, sys; print('$alias in the null index:', json.load(sys.stdin)['count'])"
done
