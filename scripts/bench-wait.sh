#!/usr/bin/env bash
# Read-your-writes (/api/wait): what it adds to the plain commit → index
# time, write by write (bench/wait.py). Loopback only, bounded.
# Usage: scripts/bench-wait.sh [writes]
set -euo pipefail
WRITES=${1:-200}
source "$(dirname "$0")/bench-env.sh"
echo "machine: $(nproc) cores; release build; postgres fsync=on; search server osmem"
"$ROOT/.venv/bin/python" bench/wait.py "$ROOT/.build/release/hacksync" "$WRITES"
