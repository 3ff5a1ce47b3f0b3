#!/usr/bin/env bash
# The AVX-512 VNNI int8 peak of this machine: bench/vnni_peak.cpp on one core, then one copy per
# core at once (the sum is the bound for a whole-model int8 run on every core).
#   bench/vnni_peak.sh
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary="$repo_root/out/vnni_peak"
mkdir -p "$repo_root/out"
g++ -O2 -mavx512f -mavx512bw -mavx512vnni "$repo_root/bench/vnni_peak.cpp" -o "$binary"
echo "one core:"
"$binary"
cores=$(nproc)
echo "$cores cores at once:"
results=$(for ((i = 0; i < cores; i++)); do "$binary" & done; wait)
echo "$results"
awk '{sum += $1} END {printf "total: %.1f GMAC/s (%.1f int8 GOP/s)\n", sum, 2 * sum}' <<<"$results"
