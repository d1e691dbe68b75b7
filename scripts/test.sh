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
export HACKSYNC_REQUIRE_INTEGRATION=1
unset DATABASE_URL ELASTICSEARCH_URL

swift build --product hacksync
if [ $# -gt 0 ]; then
    swift test --skip-build "$@"
else
    # Fault tests freeze or kill the shared servers: they run alone, after the rest.
    swift test --skip-build --skip FaultTests
    swift test --skip-build --filter FaultTests
fi
