#!/usr/bin/env bash
# Edits made while a backlog drains (issue: no head-of-line blocking):
# commit → visible in the index, the fresh lane on and off, interleaved
# rounds (bench/headofline.py). Loopback only, bounded.
# Usage: scripts/bench-headofline.sh [rounds] [backlog-changes]
set -euo pipefail
ROUNDS=${1:-3}
BACKLOG=${2:-100000}
source "$(dirname "$0")/bench-env.sh"
echo "machine: $(nproc) cores; release build; postgres fsync=on; search server osmem; live bulks of 100 documents (the default) ${HOL_SERVE_ARGS:-}"
"$ROOT/.venv/bin/python" bench/headofline.py "$ROOT/.build/release/hacksync" "$ROUNDS" "$BACKLOG"
