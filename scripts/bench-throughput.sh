#!/usr/bin/env bash
# Sustained throughput (loopback only, bounded): a data set of USERS users,
# PROJECTS projects (with members) and HACKATHONS hackathons loaded with
# `hacksync seed --bulk`, then mixed platform writes at rising rates against
# two search servers in turn: the in-memory one (osmem, the real thing
# here) and one that accepts every bulk at once and keeps nothing
# (bench/scale/null_search.py: HackSync and Postgres on their own). See
# bench/throughput.py for what is measured.
#
# The indexes start empty (created before the seed, which captures nothing),
# so the in-memory server only ever holds the documents the writes touch:
# the 3 million do not fit in its RAM here (~12 KB each).
# Usage: [RATES="1000 5000 ..."] [STEP=20] [DRAIN=30] [PROFILE=1] [SERVE_ARGS=...]
#        scripts/bench-throughput.sh [users] [projects] [hackathons]
set -euo pipefail
USERS=${1:-1000000}
PROJECTS=${2:-2000000}
HACKATHONS=${3:-2000}
RATES=${RATES:-1000 2500 5000 7500 10000 12500 15000}
STEP=${STEP:-20}
DRAIN=${DRAIN:-30}
BENCH_SEED_ARGS="--users 0 --projects 0 --hackathons 0"
source "$(dirname "$0")/bench-env.sh"

start_null_search

# Empty indexes behind their aliases, in both servers.
.build/release/hacksync reindex --log-level warning >/dev/null
ELASTICSEARCH_URL=$NULL_URL .build/release/hacksync reindex --log-level warning >/dev/null
.build/release/hacksync seed --bulk --users "$USERS" --projects "$PROJECTS" --hackathons "$HACKATHONS" --log-level warning

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; release build; postgres fsync=on, pgbench sessions synchronous_commit=off;" \
     "pgbench 8 clients at a fixed rate (-R); sync defaults ${SERVE_ARGS:-}"
SINK_PID_OSMEM=$(cat "$HACKSYNC_SEARCH_PID_FILE") SINK_PID_NULL=$NULL_PID RESULTS=$RUN_DIR/throughput.json \
    "$ROOT/.venv/bin/python" bench/throughput.py "$ROOT/.build/release/hacksync" "$HACKSYNC_PG_BIN/pgbench" \
    "osmem=$ELASTICSEARCH_URL null=$NULL_URL" "$RATES" "$STEP" "$DRAIN"
