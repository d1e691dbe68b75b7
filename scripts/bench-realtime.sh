#!/usr/bin/env bash
# Realtime benchmarks on throwaway servers (loopback only, bounded):
#   commit → event latency at N subscribers (our client stack), and
#   server memory per idle connection at M connections, with and without
#   permessage-deflate (the independent `websockets` client).
# Usage: scripts/bench-realtime.sh [subscribers] [rounds] [idle-connections]
set -euo pipefail
SUBSCRIBERS=${1:-1000}
ROUNDS=${2:-20}
IDLE=${3:-5000}
source "$(dirname "$0")/bench-env.sh"
ulimit -n 65536 2>/dev/null || true

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start_serve() {
    .build/release/hacksync serve --listen "127.0.0.1:$PORT" --log-level warning &
    SERVE_PID=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
}
restart_serve() { kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; start_serve; }
start_serve
wait_for_drain
echo "machine: $(nproc) cores; release build; postgres fsync=on; search server osmem"
.build/release/hacksync-bench subscribers "ws://127.0.0.1:$PORT/ws" "$SUBSCRIBERS" "$ROUNDS"
# Each memory mode on a fresh process: freed memory stays with the allocator.
restart_serve
"$ROOT/.venv/bin/python" bench/ws_memory.py "$SERVE_PID" "ws://127.0.0.1:$PORT/ws" "$IDLE" plain
restart_serve
"$ROOT/.venv/bin/python" bench/ws_memory.py "$SERVE_PID" "ws://127.0.0.1:$PORT/ws" "$IDLE" deflate
