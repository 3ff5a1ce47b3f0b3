#!/usr/bin/env bash
# Configures and builds octet. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Release by default; the CLI lands at BUILD_DIR/bin/octet (build/bin/octet by default).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C "$build_dir"
