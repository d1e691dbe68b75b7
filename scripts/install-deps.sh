#!/usr/bin/env bash
# Installs what `make run` / `make test` need and is missing: Debian packages
# (Postgres server, libpq and zlib headers, python venv) and the project's
# Python tools in .venv. Swift itself is the one prerequisite.
# `install-deps.sh --test` adds Chromium, which the dashboard's browser test drives.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}

command -v swift >/dev/null || { echo "install-deps: Swift 6 is required (https://swift.org/install)" >&2; exit 1; }

packages=(postgresql libpq-dev zlib1g-dev python3-venv python3-pip pkg-config)
[ "${1:-}" = --test ] && packages+=(chromium)
missing=()
for pkg in "${packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp=$VENV/.requirements
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$ROOT/scripts/requirements.txt" "$stamp"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/scripts/requirements.txt"
    cp "$ROOT/scripts/requirements.txt" "$stamp"
fi
