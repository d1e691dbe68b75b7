#!/usr/bin/env bash
# `make test`: start throwaway services, run every test against them, stop them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export RUN_DIR=${RUN_DIR:-$ROOT/.run-test}
# The test cluster is disposable: skip fsync so tests spend their time testing.
export PG_FSYNC=off PG_SYNCHRONOUS_COMMIT=off

scripts/services.sh start
trap 'scripts/services.sh stop' EXIT
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
# Fault tests freeze or kill the shared servers: they run alone, after the rest.
swift test --skip-build --skip FaultTests
swift test --skip-build --filter FaultTests
# Live fan-out through the independent `websockets` client, and the CLI client.
"$ROOT/.venv/bin/pytest" -q -p no:cacheprovider Tests/realtime
# WebSocket conformance: the Autobahn cases against our server and client stacks.
scripts/autobahn.sh both
