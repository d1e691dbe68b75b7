#!/usr/bin/env bash
# The Autobahn WebSocket conformance cases (groups 1-13), run by kosoku
# against our server stack and our client stack (the `wsecho` product).
# Fails when any case fails. Usage: scripts/autobahn.sh [server|client|both]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MODE=${1:-both}
KOSOKU=$ROOT/.venv/bin/kosoku
WSECHO=${WSECHO:-$ROOT/.build/debug/wsecho}
OUT=${AUTOBAHN_OUT:-$ROOT/.run-test/autobahn}
# The cases are latency-bound (one message in flight each): four at a time
# keeps two cores busy.
PARALLEL=${AUTOBAHN_PARALLEL:-4}
# kosoku's own Python raises "Strings must be encoded before hashing" in the
# text-payload compression cases (it hashes a str). Our stack is checked on
# exactly those payloads by Tests/service/test_compression_payloads.py with
# the independent `websockets` client instead.
RUNNER_BUG=(-x '12.1.1' -x '12.1.2' -x '12.2.1' -x '12.2.2' -x '12.3.1' -x '12.3.2' -x '12.4.1' -x '12.4.2' -x '12.5.1' -x '12.5.2'
            -x '13.1.1' -x '13.1.2' -x '13.2.1' -x '13.2.2' -x '13.3.1' -x '13.3.2' -x '13.4.1' -x '13.4.2' -x '13.5.1' -x '13.5.2'
            -x '13.6.1' -x '13.6.2' -x '13.7.1' -x '13.7.2')

wait_for_port() {  # port → waits up to 30 s until something accepts connections on it
    python3 - "$1" <<'PY'
import socket, sys, time
deadline = time.time() + 30
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit("nothing listens on port " + sys.argv[1])
PY
}

show_logs() {  # dir → the tail of what kosoku and wsecho said, on failure
    for log in "$1"/*.log; do echo "--- $log"; tail -20 "$log"; done >&2
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

summary() {  # report dir → prints counts, fails on any FAILED/ERROR
    python3 - "$1" <<'PY'
import json, sys, collections
index = json.load(open(sys.argv[1] + "/index.json"))
counts = collections.Counter()
bad = []
for agent, cases in index.items():
    for case, result in cases.items():
        counts[result["behavior"]] += 1
        if result["behavior"] in ("FAILED", "ERROR") or result.get("behaviorClose") in ("FAILED", "ERROR"):
            bad.append(f"{case}: {result['behavior']}/{result.get('behaviorClose')}")
print("  " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
if bad:
    print("  failed: " + "; ".join(bad[:20]))
    sys.exit(1)
PY
}

run_server() {
    local port pid status=0
    port=$(free_port)
    mkdir -p "$OUT/server"
    "$WSECHO" server "127.0.0.1:$port" 2>"$OUT/server/wsecho.log" &
    pid=$!
    wait_for_port "$port"
    (cd "$OUT/server" && "$KOSOKU" "127.0.0.1:$port" -p "$PARALLEL" "${RUNNER_BUG[@]}" -o reports >kosoku.log 2>&1) || status=$?
    kill "$pid" 2>/dev/null || true
    echo "Autobahn, our server stack:"
    summary "$OUT/server/reports" && [ "$status" = 0 ] || { show_logs "$OUT/server"; return 1; }
}

run_client() {
    local port pid status=0
    port=$(free_port)
    mkdir -p "$OUT/client"
    (cd "$OUT/client" && exec "$KOSOKU" -m fuzzingserver "127.0.0.1:$port" "${RUNNER_BUG[@]}" -o reports >kosoku.log 2>&1) &
    pid=$!
    wait_for_port "$port"
    if ! "$WSECHO" client "ws://127.0.0.1:$port" "$PARALLEL" 2>"$OUT/client/wsecho.log"; then
        status=1
        kill "$pid" 2>/dev/null || true   # it waits for a report request that will not come
    fi
    wait "$pid" || status=$?
    echo "Autobahn, our client stack:"
    [ -f "$OUT/client/reports/index.json" ] && summary "$OUT/client/reports" && [ "$status" = 0 ] || { show_logs "$OUT/client"; return 1; }
}

rm -rf "$OUT"
case "$MODE" in
    server) run_server ;;
    client) run_client ;;
    both) run_server && run_client ;;
    *) echo "usage: $0 [server|client|both]" >&2; exit 2 ;;
esac
