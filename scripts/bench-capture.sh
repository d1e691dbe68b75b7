#!/usr/bin/env bash
# The platform's write path: what capture costs a writing transaction, side
# by side, on throwaway servers (loopback only, bounded, fsync on).
#
# pgbench, single-row transactions (an UPDATE of users.bio, an INSERT of a
# user) at 1, 8 and 32 clients, in these modes:
#   none      no triggers (the platform without HackSync)
#   idle      capture on, `hacksync serve` running, idle when the run starts
#   busy      capture on, `hacksync serve` running, its sync stuck (search server stopped with SIGSTOP)
#   stopped   capture on, no HackSync connected
#   handwritten  as stopped, with the hand-written capture functions from
#             before the declarations (bench/capture/handwritten_users.sql) in
#             place of the generated ones, which are restored after the run:
#             compare with stopped (the trigger's cost alone)
#   peer      no capture; a row-level trigger that NOTIFYs every row, as PGSync's does
#   floor     no capture; the cheapest trigger that writes a change row: one
#             INSERT of a narrow row into a table without indexes (the floor
#             of any capture inside the writing transaction)
# Rounds are interleaved (every mode once per round, the order rotated each
# round) so that the machine's noise hits every mode alike; medians of the
# rounds are printed, with the ratio to `none` of the same round, and the
# NOTIFYs the service received. Before each run the change log is emptied,
# VACUUM and CHECKPOINT run, so every run starts from the same state. Then
# the 100,000-row INSERT … SELECT with and without capture.
#
# Usage: scripts/bench-capture.sh [seconds-per-run] [rounds] [bulk-rows]
#   CLIENTS="1 8 32" WORKLOADS="update insert" MODES="none idle busy stopped handwritten peer floor"
set -euo pipefail
SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-3}
BULK_ROWS=${3:-100000}
CLIENTS=${CLIENTS:-1 8 32}
WORKLOADS=${WORKLOADS:-update insert}
MODES=${MODES:-none idle busy stopped handwritten peer floor}
export BENCH_SEED_ARGS="--users 1000 --projects 1500 --hackathons 20"
source "$(dirname "$0")/bench-env.sh"
PGBENCH=$HACKSYNC_PG_BIN/pgbench
SEARCH_PID=$(cat "$RUN_DIR/search.pid")
RESULTS=$RUN_DIR/capture-results.tsv
: >"$RESULTS"
bench_capture_cleanup() { kill -CONT "$SEARCH_PID" 2>/dev/null || true; bench_cleanup; }
trap bench_capture_cleanup EXIT

q() { psql "$DATABASE_URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
q "$(cat bench/capture/pgsync_style_trigger.sql)"
q "$(cat bench/capture/floor_trigger.sql)"
USERS=$(q "SELECT max(id) FROM users")
# The generated users capture, to put back after a 'handwritten' run.
GENERATED_CAPTURE=$RUN_DIR/generated_users_capture.sql
q "SELECT string_agg(pg_get_functiondef(p.oid), E';\n') || ';' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'sync' AND p.proname IN ('capture_users', 'capture_users_update')" >"$GENERATED_CAPTURE"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start_serve() {
    [ -n "$SERVE_PID" ] && return
    .build/release/hacksync serve --listen "127.0.0.1:$PORT" --log-level warning &
    SERVE_PID=$!
    for _ in $(seq 1 100); do
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hacksync-listen'")" = 1 ] && break
        sleep 0.1
    done
    wait_for_drain
}
stop_serve() {
    [ -z "$SERVE_PID" ] && return
    kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=
    kill -CONT "$SEARCH_PID" 2>/dev/null || true
}

# Puts the database and the service in a mode's state.
enter_mode() {
    case $1 in
        none) stop_serve; q "ALTER TABLE users DISABLE TRIGGER USER" ;;
        stopped) stop_serve; q "ALTER TABLE users ENABLE TRIGGER USER" ;;
        peer)
            stop_serve
            q "ALTER TABLE users DISABLE TRIGGER USER"
            q "CREATE TRIGGER bench_peer AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION bench_peer_notify()"
            ;;
        floor)
            stop_serve
            q "ALTER TABLE users DISABLE TRIGGER USER"
            q "CREATE TRIGGER bench_floor AFTER INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION bench_floor_capture()"
            ;;
        idle) q "ALTER TABLE users ENABLE TRIGGER USER"; kill -CONT "$SEARCH_PID"; start_serve ;;
        handwritten) stop_serve; q "$(cat bench/capture/handwritten_users.sql)"; q "ALTER TABLE users ENABLE TRIGGER USER" ;;
        busy)
            q "ALTER TABLE users ENABLE TRIGGER USER"; kill -CONT "$SEARCH_PID"; start_serve
            kill -STOP "$SEARCH_PID"
            q "UPDATE users SET bio = bio || '.' WHERE id = 1"  # the sync claims it and hangs in its bulk request
            sleep 0.5
            ;;
    esac
}
leave_mode() {
    case $1 in
        peer) q "DROP TRIGGER bench_peer ON users" ;;
        floor) q "DROP TRIGGER bench_floor ON users" && q "TRUNCATE bench_floor_log" ;;
        busy) kill -CONT "$SEARCH_PID" ;;
        handwritten) q "$(cat "$GENERATED_CAPTURE")" ;;
    esac
}

# Waits (at most 60 s) until the search server and the service use under 5%
# of a core: work left from the previous mode (a backlog written once the
# search server resumes) must not run during the next measurement.
cpu_ticks() {  # user + system clock ticks of the given processes
    for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done | awk '{ticks += $14 + $15} END {print ticks + 0}'
}
wait_quiet() {
    local before after
    for _ in $(seq 1 120); do
        before=$(cpu_ticks $SEARCH_PID $SERVE_PID)
        sleep 0.5
        after=$(cpu_ticks $SEARCH_PID $SERVE_PID)
        [ $(( after - before )) -le 2 ] && return
    done
}

# Same starting state for every run: no users from earlier inserts (removed
# without capture), an empty change log, a vacuumed table, a fresh checkpoint.
reset_state() {
    psql "$DATABASE_URL" -qAtX -v ON_ERROR_STOP=1 \
        -c "SET session_replication_role = replica" -c "DELETE FROM users WHERE username LIKE 'bench-%'" >/dev/null
    q "TRUNCATE sync.changes" && q "VACUUM users" && q "CHECKPOINT"
    wait_quiet
}

# NOTIFYs the running service has received so far (none without a service).
notifications() {
    [ -z "$SERVE_PID" ] && { echo 0; return; }
    curl -fs "http://127.0.0.1:$PORT/api/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["capture"]["notifications_received"])'
}

run_pgbench() {  # workload clients → tps
    "$PGBENCH" -n -M prepared -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -T "$SECONDS_PER_RUN" -D users="$USERS" \
        -f "bench/capture/$1.sql" "$DATABASE_URL" 2>/dev/null | awk '/^tps/ {print int($3)}'
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; postgres fsync=on, synchronous_commit=on; ${SECONDS_PER_RUN} s per run, $ROUNDS rounds"
read -r -a mode_list <<<"$MODES"
for round in $(seq 1 "$ROUNDS"); do
    # Rotate the mode order each round.
    shift_by=$(( (round - 1) % ${#mode_list[@]} ))
    order=("${mode_list[@]:$shift_by}" "${mode_list[@]:0:$shift_by}")
    for mode in "${order[@]}"; do
        for workload in $WORKLOADS; do
            for clients in $CLIENTS; do
                enter_mode "$mode"
                reset_state
                before=$(notifications)
                tps=$(run_pgbench "$workload" "$clients")
                notified=$(( $(notifications) - before ))
                leave_mode "$mode"
                printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$workload" "$clients" "$mode" "$tps" "$notified" | tee -a "$RESULTS"
            done
        done
    done
done
stop_serve

python3 - "$RESULTS" "$MODES" <<'PY'
import sys, statistics, collections
path, modes = sys.argv[1], sys.argv[2].split()
runs = collections.defaultdict(dict)  # (workload, clients) -> {(round, mode): tps}
notified = collections.defaultdict(list)  # (workload, clients, mode) -> [(NOTIFYs, tps)]
for line in open(path):
    r, w, c, m, t, n = line.split()
    runs[(w, int(c))][(int(r), m)] = int(t)
    if m in ("idle", "busy"):
        notified[(w, int(c), m)].append((int(n), int(t)))
print()
print("| workload | clients | " + " | ".join(modes) + " |")
print("|---|---|" + "---|" * len(modes))
for (w, c), values in sorted(runs.items()):
    rounds = sorted({r for r, _ in values})
    cells = []
    for m in modes:
        tps = [values[(r, m)] for r in rounds if (r, m) in values]
        ratios = [values[(r, m)] / values[(r, "none")] for r in rounds if (r, m) in values and values.get((r, "none"))]
        cell = f"{int(statistics.median(tps)):,} tps" if tps else "-"
        if m != "none" and ratios:
            cell += f" ({statistics.median(ratios):.2f}×)"
        cells.append(cell)
    print(f"| {w} | {c} | " + " | ".join(cells) + " |")
print()
print("NOTIFYs received by the service during a run (median over rounds):")
for (w, c, m), values in sorted(notified.items()):
    print(f"  {w}, {c} clients, {m}: {int(statistics.median(n for n, _ in values))}")
PY

# The bulk path: one INSERT … SELECT of many rows, with and without capture.
.build/release/hacksync-bench bulk-insert "$BULK_ROWS"
