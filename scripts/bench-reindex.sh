#!/usr/bin/env bash
# Reindex throughput on throwaway servers (loopback only, bounded): seeds
# PROJECTS projects and times `hacksync reindex --entity projects` RUNS times
# (each builds a new index from Postgres and swaps the alias).
# Usage: scripts/bench-reindex.sh [projects] [runs] [page-size]
set -euo pipefail
PROJECTS=${1:-100000}
RUNS=${2:-3}
PAGE=${3:-1000}
BENCH_SEED_ARGS="--users $((PROJECTS / 10)) --projects $PROJECTS --hackathons 50"
source "$(dirname "$0")/bench-env.sh"

echo "machine: $(nproc) cores; postgres fsync=on; search server osmem; $PROJECTS projects, page size $PAGE"
# The first run creates the alias; the timed runs each build a fresh version.
.build/release/hacksync reindex --entity projects --page-size "$PAGE" --log-level warning 2>/dev/null
rates=()
for run in $(seq 1 "$RUNS"); do
    start=$(date +%s.%N)
    .build/release/hacksync reindex --entity projects --page-size "$PAGE" --log-level warning 2>/dev/null
    end=$(date +%s.%N)
    rate=$(python3 -c "print(round($PROJECTS / ($end - $start)))")
    echo "run $run: $(python3 -c "print(round($end - $start, 2))") s, $rate documents/s"
    rates+=("$rate")
done
python3 -c "import statistics, sys; r = sorted(map(int, sys.argv[1:])); print(f'reindex of {$PROJECTS} projects: median {statistics.median(r):.0f} documents/s (min {r[0]}, max {r[-1]}, {len(r)} runs)')" "${rates[@]}"
