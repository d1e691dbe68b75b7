#!/usr/bin/env bash
# Realtime benchmarks on throwaway servers (loopback only, bounded), HackSync
# side by side with a Hummingbird 2 + HummingbirdWebSocket server doing the
# same job (bench/hb-broadcast), driven by the same load clients:
#   - fan-out: a message to N subscribers (our client stack): commit → event
#     for HackSync, broadcast POST → message for the peer; split at the first
#     subscriber to receive it (the rest is the fan-out); for HackSync also its
#     own figure, publish → last frame handed to a socket, with those
#     subscribers and with N that never read (bench/ws_silent.py);
#   - server memory per idle subscribed connection at M connections, with and
#     without permessage-deflate (the independent `websockets` client);
#   - echo throughput (our client stack; HackSync's server stack is `wsecho`).
# Usage: scripts/bench-realtime.sh [subscribers] [rounds] [idle-connections] [repeats]
# The servers alternate within each repeat, so the shared machine's noise
# falls on all alike; the table at the end gives the median over repeats.
# PEER=none leaves the peer out; BASELINE=path/to/an/older/hacksync adds
# that build as a third row. IDLE_SECONDS=35 also reports the server's CPU
# while the plain connections sit idle (one ping round).
set -euo pipefail
SUBSCRIBERS=${1:-1000}
ROUNDS=${2:-20}
IDLE=${3:-5000}
REPEATS=${4:-1}
IDLE_SECONDS=${IDLE_SECONDS:-0}
PEER=${PEER:-hummingbird}
ECHO_ARGS=${ECHO_ARGS:-50 2000 256}
source "$(dirname "$0")/bench-env.sh"
if [ -z "${SKIP_BUILD:-}" ]; then
    swift build -c release --product wsecho >/dev/null
    [ "$PEER" = hummingbird ] && swift build -c release --package-path bench/hb-broadcast >/dev/null
fi
# Each connection is a descriptor on both sides; the client is one process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((IDLE + 200)) ]; then
    echo "descriptor limit $(ulimit -n) is below $IDLE connections + 200: lower the idle count" >&2
    exit 2
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
RESULTS=$(mktemp)
SERVERS=("hacksync=$ROOT/.build/release/hacksync")
[ -n "${BASELINE:-}" ] && SERVERS=("baseline=$BASELINE" "${SERVERS[@]}")
[ "$PEER" = hummingbird ] && SERVERS+=("hummingbird=$ROOT/bench/hb-broadcast/.build/release/hb-broadcast")

start_server() {  # kind binary
    case $1 in
        hummingbird) "$2" "127.0.0.1:$PORT" & ;;
        echo) "$ROOT/.build/release/wsecho" server "127.0.0.1:$PORT" & ;;
        *) "$2" serve --listen "127.0.0.1:$PORT" --log-level warning & ;;
    esac
    SERVE_PID=$!
    for _ in $(seq 1 100); do
        if [ "$1" = echo ]; then
            curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
        else
            curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
        fi
        sleep 0.2
    done
}
stop_server() { kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=; }
record() {  # name metric value
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"
}
# The value after `label` ("median", "p99") in a summary line.
field() { sed -E "s/.*$1 ([0-9.]+).*/\\1/"; }

echo "machine: $(nproc) cores; release builds; postgres fsync=on; search server osmem"
for repeat in $(seq 1 "$REPEATS"); do
    for entry in "${SERVERS[@]}"; do
        name=${entry%%=*}
        bin=${entry#*=}
        echo "== $name (repeat $repeat)"
        start_server "$name" "$bin"
        if [ "$name" = hummingbird ]; then
            out=$(.build/release/hacksync-bench subscribers "ws://127.0.0.1:$PORT/ws" "$SUBSCRIBERS" "$ROUNDS" "http://127.0.0.1:$PORT/broadcast")
        else
            wait_for_drain
            out=$(.build/release/hacksync-bench subscribers "ws://127.0.0.1:$PORT/ws" "$SUBSCRIBERS" "$ROUNDS")
        fi
        echo "$out"
        all=$(echo "$out" | head -1)
        spread=$(echo "$out" | grep 'the fan-out')
        record "$name" "trigger → each subscriber, median ms" "$(echo "$all" | field median)"
        record "$name" "trigger → each subscriber, p99 ms" "$(echo "$all" | field p99)"
        record "$name" "first → each subscriber (fan-out), median ms" "$(echo "$spread" | field median)"
        record "$name" "first → each subscriber (fan-out), p99 ms" "$(echo "$spread" | field p99)"
        # HackSync's own figure (hacksync_realtime_fanout_seconds), per round.
        if hub=$(echo "$out" | grep 'handed to a socket'); then
            record "$name" "server: publish → last frame written, median ms" "$(echo "$hub" | field median)"
            record "$name" "server: publish → last frame written, p99 ms" "$(echo "$hub" | field p99)"
        fi
        if [ "$name" = hacksync ]; then
            # The same figure with subscribers that never read: no client process on the cores.
            out=$(cd bench && "$ROOT/.venv/bin/python" ws_silent.py "127.0.0.1:$PORT" "$DATABASE_URL" "$SUBSCRIBERS" "$ROUNDS")
            echo "$out"
            record "$name" "server, subscribers that do not read: publish → last frame written, median ms" "$(echo "$out" | field median)"
            record "$name" "server, subscribers that do not read: publish → last frame written, p99 ms" "$(echo "$out" | field p99)"
        fi
        # Each memory mode on a fresh process: freed memory stays with the allocator.
        for mode in plain deflate; do
            stop_server
            start_server "$name" "$bin"
            idle_seconds=0
            [ "$mode" = plain ] && idle_seconds=$IDLE_SECONDS
            out=$("$ROOT/.venv/bin/python" bench/ws_memory.py "$SERVE_PID" "ws://127.0.0.1:$PORT/ws" "$IDLE" "$mode" "$idle_seconds")
            echo "$out"
            record "$name" "idle connection, $mode, KiB" "$(echo "$out" | grep 'per connection' | sed -E 's/.*, ([0-9.]+) KiB per connection.*/\1/')"
            if [ "$idle_seconds" != 0 ]; then
                record "$name" "CPU while $IDLE sit idle, % of a core" "$(echo "$out" | grep 'server CPU' | sed -E 's/.*\(([0-9.]+)% of one core.*/\1/')"
            fi
        done
        stop_server
        if [ "$name" != baseline ]; then
            kind=$name
            [ "$name" = hacksync ] && kind=echo
            start_server "$kind" "$bin"
            # shellcheck disable=SC2086
            out=$(.build/release/hacksync-bench echo "ws://127.0.0.1:$PORT/ws" $ECHO_ARGS)
            echo "$out"
            record "$name" "echo, messages/s" "$(echo "$out" | sed -E 's/.*: ([0-9]+) messages\/s.*/\1/')"
            record "$name" "echo round trip, p99 ms" "$(echo "$out" | field p99)"
            stop_server
        fi
    done
done
echo
echo "$SUBSCRIBERS subscribers × $ROUNDS rounds, $IDLE idle connections, echo $ECHO_ARGS (connections, messages, bytes); $REPEATS repeat(s):"
"$ROOT/.venv/bin/python" bench/realtime_table.py "$RESULTS"
rm -f "$RESULTS"
