#!/usr/bin/env bash
# Rerunnable benchmarks on throwaway servers (loopback only, bounded):
#   commit → Elasticsearch latency of single updates, and bulk-insert
#   throughput with and without the capture triggers.
# Usage: scripts/bench.sh [latency-samples] [bulk-rows]
set -euo pipefail
SAMPLES=${1:-300}
ROWS=${2:-100000}
source "$(dirname "$0")/bench-env.sh"

.build/release/hacksync serve --listen 127.0.0.1:0 --log-level warning &
SERVE_PID=$!
wait_for_drain
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; postgres fsync=on; search server osmem"
.build/release/hacksync-bench latency "$SAMPLES"
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=
.build/release/hacksync-bench bulk-insert "$ROWS"
