#!/usr/bin/env bash
# Realtime benchmarks on throwaway servers (loopback only, bounded):
#   commit → event latency at N subscribers (our client stack), and
#   server memory per idle connection at M connections, with and without
#   permessage-deflate (the independent `websockets` client).
# Usage: scripts/bench-realtime.sh [subscribers] [rounds] [idle-connections] [repeats]
# With BASELINE=path/to/an/older/hacksync every measurement runs for both
# binaries, alternating (baseline, current) `repeats` times, so the shared
# machine's noise falls on both alike. IDLE_SECONDS=35 also reports the
# server's CPU while the plain connections sit idle (one ping round).
set -euo pipefail
SUBSCRIBERS=${1:-1000}
ROUNDS=${2:-20}
IDLE=${3:-5000}
REPEATS=${4:-1}
IDLE_SECONDS=${IDLE_SECONDS:-0}
source "$(dirname "$0")/bench-env.sh"
# Each connection is a descriptor on both sides; the client is one process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((IDLE + 200)) ]; then
    echo "descriptor limit $(ulimit -n) is below $IDLE connections + 200: lower the idle count" >&2
    exit 2
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
BINARIES=("$ROOT/.build/release/hacksync")
[ -n "${BASELINE:-}" ] && BINARIES=("$BASELINE" "${BINARIES[@]}")
start_serve() {  # binary
    "$1" serve --listen "127.0.0.1:$PORT" --log-level warning &
    SERVE_PID=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
}
stop_serve() { kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=; }
echo "machine: $(nproc) cores; release build; postgres fsync=on; search server osmem"
for repeat in $(seq 1 "$REPEATS"); do
    for bin in "${BINARIES[@]}"; do
        echo "== $bin (repeat $repeat)"
        start_serve "$bin"
        wait_for_drain
        .build/release/hacksync-bench subscribers "ws://127.0.0.1:$PORT/ws" "$SUBSCRIBERS" "$ROUNDS"
        # Each memory mode on a fresh process: freed memory stays with the allocator.
        for mode in plain deflate; do
            stop_serve
            start_serve "$bin"
            idle_seconds=0
            [ "$mode" = plain ] && idle_seconds=$IDLE_SECONDS
            "$ROOT/.venv/bin/python" bench/ws_memory.py "$SERVE_PID" "ws://127.0.0.1:$PORT/ws" "$IDLE" "$mode" "$idle_seconds"
        done
        stop_serve
    done
done
