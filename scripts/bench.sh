#!/usr/bin/env bash
# Rerunnable benchmarks on throwaway servers (loopback only, bounded):
#   commit → Elasticsearch latency of single updates, and bulk-insert
#   throughput with and without the capture triggers.
# Usage: scripts/bench.sh [latency-samples] [bulk-rows]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export RUN_DIR=$ROOT/.run-bench
SAMPLES=${1:-300}
ROWS=${2:-100000}

scripts/install-deps.sh
if [ -z "${SKIP_BUILD:-}" ]; then
    swift build -c release --product hacksync >/dev/null
    swift build -c release --product hacksync-bench >/dev/null
fi
unset DATABASE_URL ELASTICSEARCH_URL
scripts/services.sh start
SERVE_PID=
cleanup() { [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null; wait 2>/dev/null; scripts/services.sh stop; }
trap cleanup EXIT
source "$RUN_DIR/env"

.build/release/hacksync migrate >/dev/null
.build/release/hacksync seed --users 1000 --projects 1500 --hackathons 20 >/dev/null
.build/release/hacksync serve --listen 127.0.0.1:0 --log-level warning &
SERVE_PID=$!
for _ in $(seq 1 100); do
    [ "$(psql "$DATABASE_URL" -Atc 'SELECT count(*) FROM sync.changes WHERE processed_at IS NULL')" = 0 ] && break
    sleep 0.2
done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; postgres fsync=on; search server osmem"
.build/release/hacksync-bench latency "$SAMPLES"
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=
.build/release/hacksync-bench bulk-insert "$ROWS"
