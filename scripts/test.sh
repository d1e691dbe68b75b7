#!/usr/bin/env bash
# `make test`: start throwaway services, run every test against them, stop them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export RUN_DIR=${RUN_DIR:-$ROOT/.run-test}
# The test cluster is disposable: skip fsync so tests spend their time testing.
export PG_FSYNC=off PG_SYNCHRONOUS_COMMIT=off

# A second cluster too: the logical replication tests need a subscriber.
trap 'scripts/services.sh stop' EXIT
REPLICA=1 scripts/services.sh start
# shellcheck disable=SC1091
source "$RUN_DIR/env"

export HACKSYNC_TEST_DATABASE_URL=$DATABASE_URL
export HACKSYNC_TEST_ELASTICSEARCH_URL=$ELASTICSEARCH_URL
export HACKSYNC_TEST_BINARY=$ROOT/.build/debug/hacksync
export HACKSYNC_TEST_WATCH=$ROOT/.build/debug/hacksync-watch
export HACKSYNC_TEST_WSECHO=$ROOT/.build/debug/wsecho
export HACKSYNC_REQUIRE_INTEGRATION=1
unset DATABASE_URL ELASTICSEARCH_URL

swift build --product hacksync
swift build --product hacksync-watch
swift build --product wsecho
if [ $# -gt 0 ]; then
    swift test --skip-build "$@"
    exit
fi
# Runs `swift test` and, when it fails, repeats the failed tests' issues at
# the end, where a CI log's tail shows them.
swift_test() {
    local log="$RUN_DIR/swift-test.log" status=0
    swift test --skip-build "$@" 2>&1 | tee "$log" || status=$?
    if [ "$status" != 0 ]; then
        echo "=== failed tests (swift test $*) ==="
        grep -E -A2 "recorded an issue|^error:" "$log" | head -n 60 || true
        return "$status"
    fi
}
# Fault tests freeze, kill or restart the shared servers: they run alone, after the rest.
swift_test --skip FaultTests
swift_test --filter FaultTests
# The real binary from outside: live fan-out through the independent `websockets`
# client, the CLI client, and the admin API against openapi.yaml.
"$ROOT/.venv/bin/pytest" -q -p no:cacheprovider Tests/service
# The fuzz targets, a few seconds each from the committed corpus (every input
# that once crashed is in it): `make fuzz` runs them for real.
scripts/fuzz.sh --smoke
# WebSocket conformance: the Autobahn cases against our server and client stacks.
scripts/autobahn.sh both
