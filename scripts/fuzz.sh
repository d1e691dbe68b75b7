#!/usr/bin/env bash
# The fuzz targets (fuzz/): libFuzzer with AddressSanitizer, one program for
# every target. Usage:
#   scripts/fuzz.sh [SECONDS] [TARGET ...]   each target for SECONDS (default 600): `make fuzz`
#   scripts/fuzz.sh --smoke                  each target for a few seconds from the committed corpus: `make test`
# New inputs go to .fuzz/corpus/TARGET (the committed fuzz/corpus/TARGET is
# read, never written); a crash, timeout or leak is written to
# .fuzz/crashes/TARGET/ and fails the run. Copy it into fuzz/corpus/TARGET
# with a unit test once fixed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGETS=(frames server-handshake client-handshake utf8 inflate subscription http-head)
SECONDS_EACH=600
# Release for real runs (executions per second); the smoke run of `make test`
# takes a debug build, which compiles in half the time.
CONFIGURATION=release
if [ "${1:-}" = "--smoke" ]; then
    SECONDS_EACH=${FUZZ_SMOKE_SECONDS:-5}
    CONFIGURATION=debug
    shift
elif [ $# -gt 0 ]; then
    SECONDS_EACH=$1
    shift
fi
[ $# -gt 0 ] && TARGETS=("$@")

# lld: gold fails on the sanitizer runtime's debug info here. -Xcc: the C
# code (NIO's llhttp parser) gets coverage too; without it the HTTP target
# fuzzes blind (1,361 edges against 3,762, and no new input in 10 minutes).
swift build --package-path fuzz -c "$CONFIGURATION" -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld \
    -Xcc -fsanitize=fuzzer-no-link,address
FUZZ=$ROOT/fuzz/.build/$CONFIGURATION/hacksync-fuzz
# A crash is reported by libFuzzer; the Swift backtracer would only stall it.
export SWIFT_BACKTRACE=enable=no
# No leak detection: Swift keeps pointers in enum payloads' spare bits, where
# LeakSanitizer cannot see them, so lazily built globals (the document
# declarations) read as leaked. Growth is caught by -rss_limit_mb instead.
export ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}

failed=()
printf '%-18s %12s %10s %9s  %s\n' target executions "exec/s" "new units" result
for target in "${TARGETS[@]}"; do
    mkdir -p ".fuzz/corpus/$target" ".fuzz/crashes/$target"
    log=".fuzz/$target.log"
    status=0
    "$FUZZ" "$target" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 -print_final_stats=1 \
        -artifact_prefix=".fuzz/crashes/$target/" ".fuzz/corpus/$target" "fuzz/corpus/$target" > "$log" 2>&1 || status=$?
    stat() { grep -m1 "stat::$1:" "$log" | awk '{print $2}'; }
    result=ok
    if [ "$status" != 0 ]; then
        result="FAILED (exit $status): $(ls -t ".fuzz/crashes/$target" | head -1)"
        failed+=("$target")
    fi
    printf '%-18s %12s %10s %9s  %s\n' "$target" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "$(stat new_units_added)" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
    for target in "${failed[@]}"; do
        echo "=== $target (.fuzz/$target.log) ==="
        grep -E "ERROR|SUMMARY|Fatal error|precondition|fatal error" ".fuzz/$target.log" | head -n 10 || true
    done
    exit 1
fi
