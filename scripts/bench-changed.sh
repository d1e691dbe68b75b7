#!/usr/bin/env bash
# What computing `changed`/`previous` in the settle costs the sync: a backlog
# of updates drained with sync.settle as shipped and with both left NULL,
# interleaved rounds, against a search server that keeps nothing
# (bench/changes.py). Loopback only, bounded. SETTLE_VARIANTS="name=path ..." adds versions to compare.
# Usage: scripts/bench-changed.sh [rounds] [users] [projects]
set -euo pipefail
ROUNDS=${1:-3}
USERS=${2:-20000}
PROJECTS=${3:-40000}
BENCH_SEED_ARGS="--users 0 --projects 0 --hackathons 0"
source "$(dirname "$0")/bench-env.sh"

start_null_search
ELASTICSEARCH_URL=$NULL_URL .build/release/hacksync reindex --log-level warning >/dev/null
.build/release/hacksync seed --bulk --users "$USERS" --projects "$PROJECTS" --hackathons 200 --log-level warning

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; release build; postgres fsync=on; sync defaults; search server keeps nothing"
"$ROOT/.venv/bin/python" bench/changes.py "$ROOT/.build/release/hacksync" "$ROUNDS" "$NULL_URL"
