#!/usr/bin/env bash
# A declaration change under load (bench/declaration.py): PROJECTS projects
# bulk-seeded and indexed, the projects index made to record the previous
# declaration, then `hacksync serve` starts and reindexes by itself while
# projects are edited (one at a time, each waited for; at most EDITS_PER_S a
# second) and searched.
# Loopback only, bounded (30 minutes at most for the job).
# Usage: scripts/bench-declaration.sh [projects] [edits-per-second]
set -euo pipefail
PROJECTS=${1:-100000}
EDITS_PER_S=${2:-5}
export BENCH_SEED_ARGS="--bulk --users $((PROJECTS / 10)) --projects $PROJECTS --hackathons 50"
source "$(dirname "$0")/bench-env.sh"
echo "machine: $(nproc) cores; release build; postgres fsync=on; search server osmem; $PROJECTS projects"
for entity in users hackathons projects; do
    start=$(date +%s.%N)
    .build/release/hacksync reindex --entity "$entity" --log-level warning >/dev/null 2>&1
    echo "initial index of $entity: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
done
"$ROOT/.venv/bin/python" bench/declaration.py "$ROOT/.build/release/hacksync" "$EDITS_PER_S" "$(cat "$RUN_DIR/search.pid")"
