#!/usr/bin/env bash
# Many idle subscribers in one `hacksync serve` (loopback only, bounded):
# memory per connection and the server's CPU while they sit idle (a ping
# round), then the time to hand one event to every one of them
# (hacksync_realtime_fanout_seconds, subscribers that do not read).
# Usage: scripts/bench-realtime-scale.sh [connections=100000] [idle-seconds=35]
# Each connection is a descriptor in the server and in the client process:
# the count is capped below the descriptor limit this shell can raise to.
set -euo pipefail
WANTED=${1:-100000}
IDLE_SECONDS=${2:-35}
source "$(dirname "$0")/bench-env.sh"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LIMIT=$(ulimit -n)
N=$WANTED
if [ "$LIMIT" -lt $((WANTED + 500)) ]; then
    N=$((LIMIT - 500))
    echo "descriptor limit $LIMIT per process (raising it needs CAP_SYS_RESOURCE): measuring $N connections instead of $WANTED"
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start_serve() {
    .build/release/hacksync serve --listen "127.0.0.1:$PORT" --log-level warning &
    SERVE_PID=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
}
stop_serve() { kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=; }
echo "machine: $(nproc) cores; release build"
start_serve
wait_for_drain
"$ROOT/.venv/bin/python" bench/ws_memory.py "$SERVE_PID" "ws://127.0.0.1:$PORT/ws" "$N" plain "$IDLE_SECONDS"
echo "server RSS after they closed: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$SERVE_PID/status")"
stop_serve
start_serve
(cd bench && "$ROOT/.venv/bin/python" ws_silent.py "127.0.0.1:$PORT" "$DATABASE_URL" "$N" 5)
stop_serve
