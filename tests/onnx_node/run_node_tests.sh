#!/usr/bin/env bash
# Runs every ONNX backend node test (ONNX 1.12, Debian's libonnx-testdata) through `octet verify`
# and checks the totals: at least 450 passed, none failed, and every SKIP line gives a reason.
#
# Usage: tests/onnx_node/run_node_tests.sh [BUILD_DIR [VERIFY_OPTION...]]   (default: build)
# e.g. `run_node_tests.sh build --implementation reference` checks the reference kernels alone.
set -u

script_dir=$(cd "$(dirname "$0")" && pwd)
build_dir=${1:-build}
shift || true
octet="$build_dir/bin/octet"
node_tests=/usr/share/libonnx-testdata/data/node
skip_list="$script_dir/skip_list.txt"
min_passed=450

if [[ ! -x "$octet" ]]; then
  echo "run_node_tests: no octet binary at $octet" >&2
  exit 1
fi
if [[ ! -d "$node_tests" ]]; then
  echo "run_node_tests: $node_tests is missing (apt-get install libonnx-testdata)" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$octet" verify "$node_tests" --skip-list "$skip_list" "$@" >"$log"
verify_status=$?

grep -E '^(FAIL|SKIP)' "$log"
summary=$(tail -n 1 "$log")
echo "$summary"

problems=()
if [[ ! "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
  echo "run_node_tests: octet verify (exit code $verify_status) did not end with a summary line" >&2
  exit 1
fi
passed=${BASH_REMATCH[1]}
failed=${BASH_REMATCH[2]}
((passed >= min_passed)) || problems+=("only $passed passed, at least $min_passed expected")
((failed == 0)) || problems+=("$failed failed")
# A SKIP line reads "SKIP test_name: reason"; one without a reason hides why a test does not run.
unexplained=$(grep -E '^SKIP ' "$log" | grep -vE '^SKIP [^ :]+: .*[^ ]' || true)
[[ -z "$unexplained" ]] || problems+=("SKIP lines without a reason: $unexplained")

if ((${#problems[@]} > 0)); then
  echo "run_node_tests: FAILED: ${problems[*]}" >&2
  exit 1
fi
echo "run_node_tests: OK ($passed passed, ${BASH_REMATCH[3]} skipped)"
