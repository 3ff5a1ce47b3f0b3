#!/usr/bin/env bash
# The test command (README): installs what is missing, fetches the models, builds octet in Release
# and with AddressSanitizer + UndefinedBehaviorSanitizer, and runs every test suite.
# Ends with one line "N passed, N failed" counting suites.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install_deps.sh || exit 1
scripts/fetch_models.sh || exit 1
scripts/build.sh build || exit 1
# Sanitized build of the unit tests only: the suites below use the Release CLI.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCTET_SANITIZE=ON >/dev/null || exit 1
ninja -C build-asan octet_unit_tests || exit 1

passed=0
failed=0
failures=()
suite() {
  local name=$1
  shift
  echo "=== $name: $*"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "=== $name: FAILED ($((SECONDS - start)) s)"
  fi
}

suite unit build/bin/octet_unit_tests --gtest_brief=1
suite unit-sanitized env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  build-asan/bin/octet_unit_tests --gtest_brief=1
suite onnx-node-tests tests/onnx_node/run_node_tests.sh build
suite onnx-node-tests-reference tests/onnx_node/run_node_tests.sh build --implementation reference
suite cli-errors tests/cli/test_cli_errors.sh build
suite cli-eval tests/cli/test_eval.sh build
suite external-data tests/cli/test_external_data.sh build
suite ppocr-parity tests/e2e/ppocr_parity.sh
suite quantize-ppocr tests/e2e/quantize_ppocr.sh
suite accuracy-aware tests/e2e/accuracy_aware.sh
suite ocr-pipeline tests/e2e/ocr_pipeline.sh
suite workbench-api /usr/bin/python3 tests/workbench/api_test.py build
suite workbench-e2e node tests/workbench/e2e.mjs build

if ((failed)); then echo "failed suites: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
((failed == 0))
