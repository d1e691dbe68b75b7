#!/usr/bin/env bash
# What the capture costs one transaction, in instructions (callgrind counts
# them exactly, so this needs no rounds on a noisy machine): a Postgres
# backend in single-user mode runs N single-row statements (an UPDATE of
# users.bio, an INSERT of a user), each its own transaction, under callgrind,
# and once with none; (with N − with 0) / N is the cost per transaction.
# Modes: no triggers, the generated capture (what `hacksync migrate`
# installs), and the hand-written capture from before the declarations
# (bench/capture/handwritten_users.sql).
# Usage: scripts/capture-instructions.sh [statements]
set -euo pipefail
N=${1:-2000}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export RUN_DIR=$ROOT/.run-instructions
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null
scripts/install-deps.sh
[ -n "${SKIP_BUILD:-}" ] || swift build -c release --product hacksync >/dev/null
unset DATABASE_URL ELASTICSEARCH_URL
scripts/services.sh start >/dev/null
# shellcheck disable=SC1091
source "$RUN_DIR/env"
trap 'scripts/services.sh stop >/dev/null 2>&1 || true; rm -rf "${CALLGRIND_DIR:-}"' EXIT
.build/release/hacksync migrate >/dev/null
.build/release/hacksync seed --users "$N" --projects 10 --hackathons 2 >/dev/null
psql "$DATABASE_URL" -qAtX -c "TRUNCATE sync.changes" -c "VACUUM ANALYZE users" -c "CHECKPOINT"
FIRST=$(psql "$DATABASE_URL" -qAtX -c "SELECT min(id) FROM users")
GENERATED=$RUN_DIR/generated_users_capture.sql
psql "$DATABASE_URL" -qAtX -c "SELECT string_agg(pg_get_functiondef(p.oid), E';\n') || ';' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'sync' AND p.proname IN ('capture_users', 'capture_users_update')" >"$GENERATED"
CALLGRIND_DIR=$(mktemp -d) && chmod 777 "$CALLGRIND_DIR"  # written by the postgres user
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$HACKSYNC_PG_BIN/pg_ctl" -D "$HACKSYNC_PG_DATA" -m fast -w stop >/dev/null

single() {  # SQL on stdin, one statement per line, in a single-user backend; stops at an error
    local log=$CALLGRIND_DIR/single.log
    "$@" "$HACKSYNC_PG_BIN/postgres" --single -D "$HACKSYNC_PG_DATA" -c fsync=off -c synchronous_commit=off hacksync >"$log" 2>&1
    if grep -q "ERROR" "$log"; then grep -m3 "ERROR" "$log" >&2; exit 1; fi
}
statements() {  # workload count round
    local i
    for i in $(seq 0 $(( $2 - 1 ))); do
        if [ "$1" = update ]; then
            echo "UPDATE users SET bio = 'round $3 $i' WHERE id = $(( FIRST + i ))"
        else
            echo "INSERT INTO users (username, email) VALUES ('ins-$3-$i', 'ins-$3-$i@example.com')"
        fi
    done
}
instructions() {  # workload count round → instructions of the whole backend
    local out=$CALLGRIND_DIR/callgrind.out
    statements "$1" "$2" "$3" | single as_pg valgrind --tool=callgrind --callgrind-out-file="$out"
    awk '/^summary:/ {print $2}' "$out"
}
enter() {
    case $1 in
        none) echo "ALTER TABLE users DISABLE TRIGGER USER" | single as_pg ;;
        generated) { echo "ALTER TABLE users ENABLE TRIGGER USER"; sed 's/--.*//' "$GENERATED" | tr '\n' ' '; echo; } | single as_pg ;;
        handwritten) { echo "ALTER TABLE users ENABLE TRIGGER USER"; sed 's/--.*//' bench/capture/handwritten_users.sql | tr '\n' ' '; echo; } | single as_pg ;;
    esac
}

echo "machine: $(nproc) cores; Postgres $("$HACKSYNC_PG_BIN/postgres" --version | awk '{print $3}'), single-user backend under callgrind; $N statements per run"
echo "| workload | no triggers | generated capture | hand-written capture |"
echo "|---|---|---|---|"
round=0
for workload in update insert; do
    row="| $workload |"
    for mode in none generated handwritten; do
        round=$((round + 1))
        enter "$mode"
        empty=$(instructions "$workload" 0 "$round")
        full=$(instructions "$workload" "$N" "$round")
        per=$(( (full - empty) / N ))
        row="$row $(printf "%'d" "$per") |"
    done
    echo "$row"
done
