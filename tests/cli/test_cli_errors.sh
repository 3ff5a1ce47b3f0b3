#!/usr/bin/env bash
# Checks the `octet` command-line contract (SPEC.md "Command line"): on a user error, exit code 1,
# exactly one line "octet: ..." on stderr naming the culprit, no crash, no output file left behind;
# and that the success paths work. Ends with "N passed, N failed".
#
# Usage: tests/cli/test_cli_errors.sh [BUILD_DIR]   (default: build)
# Needs Debian's python3-onnx and python3-numpy (PYTHON overrides the interpreter).
set -u

script_dir=$(cd "$(dirname "$0")" && pwd)
build_dir=${1:-build}
octet=$(realpath "$build_dir/bin/octet")
# Debian's interpreter has python3-onnx; a pyenv shim earlier on PATH may not.
python=${PYTHON:-/usr/bin/python3}
node_tests=/usr/share/libonnx-testdata/data/node

if [[ ! -x "$octet" ]]; then
  echo "no octet binary at $octet"
  echo "0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
ulimit -c 0  # a crash must show as an exit code, not leave a core file in the way
if ! "$python" "$script_dir/make_bad_inputs.py" data "$node_tests/test_conv_with_strides_padding/model.onnx"; then
  echo "could not create the test inputs"
  echo "0 passed, 1 failed"
  exit 1
fi

passed=0
failed=0
case_name=""
case_failures=()

fail() { case_failures+=("$*"); }

finish_case() {
  if ((${#case_failures[@]} == 0)); then
    passed=$((passed + 1))
    echo "PASS $case_name"
    if [[ -n "${VERBOSE:-}" && -s stderr.txt ]]; then echo "  stderr: $(head -c 300 stderr.txt)"; fi
  else
    failed=$((failed + 1))
    echo "FAIL $case_name: ${case_failures[*]}"
    echo "  stdout: $(head -c 400 stdout.txt)"
    echo "  stderr: $(head -c 400 stderr.txt)"
  fi
}

# Files the command must not leave behind: anything in out/, and temporary files anywhere.
check_no_leftovers() {
  if [[ -d out ]] && [[ -n "$(find out -type f)" ]]; then fail "left files in out/: $(find out -type f | tr '\n' ' ')"; fi
  local temporary
  temporary=$(find . -name '*.tmp*' -type f)
  if [[ -n "$temporary" ]]; then fail "left temporary files: $temporary"; fi
}

# expect_error NAME 'CULPRIT[;CULPRIT...]' COMMAND ARGS...
expect_error() {
  case_name=$1
  local culprits=$2
  shift 2
  case_failures=()
  rm -rf out
  "$@" >stdout.txt 2>stderr.txt
  local status=$?
  [[ $status -eq 1 ]] || fail "exit code $status, expected 1"
  local lines
  lines=$(wc -l <stderr.txt)
  [[ $lines -eq 1 ]] || fail "$lines stderr lines, expected 1"
  grep -q '^octet: ' stderr.txt || fail "stderr does not start with 'octet: '"
  local culprit
  IFS=';' read -r -a culprit_list <<<"$culprits"
  for culprit in "${culprit_list[@]}"; do
    grep -qF -- "$culprit" stderr.txt || fail "stderr does not mention '$culprit'"
  done
  check_no_leftovers
  finish_case
}

# expect_success NAME COMMAND ARGS...   (follow-up checks may call fail before finish_case)
run_success() {
  case_name=$1
  shift
  case_failures=()
  "$@" >stdout.txt 2>stderr.txt
  local status=$?
  [[ $status -eq 0 ]] || fail "exit code $status, expected 0"
}

# Runs a python snippet with the arguments; a failing assertion fails the case.
python_check() {
  local snippet=$1
  shift
  "$python" -c "$snippet" "$@" 2>py_error.txt || fail "check failed: $(tail -1 py_error.txt)"
}

relu=data/relu.onnx

# ---- model files that are not usable ----
for command in inspect bench; do
  expect_error "$command missing model" "missing.onnx" "$octet" $command data/missing.onnx
  expect_error "$command empty model" "empty.onnx" "$octet" $command data/empty.onnx
  expect_error "$command truncated model" "truncated.onnx" "$octet" $command data/truncated.onnx
  expect_error "$command random bytes" "random.onnx" "$octet" $command data/random.onnx
done
expect_error "inspect directory as model" "data" "$octet" inspect data
expect_error "run truncated model" "truncated.onnx" "$octet" run data/truncated.onnx --input data/good.npy --output-dir out
expect_error "run dangling input" "ghost_value" "$octet" run data/dangling_input.onnx --input x=data/two_by_three.npy --output-dir out
expect_error "inspect dangling input" "ghost_value" "$octet" inspect data/dangling_input.onnx
expect_error "run missing initializer" "conv_weight" "$octet" run data/missing_initializer.onnx --input data/good.npy --output-dir out
expect_error "run short initializer" "short_weight" "$octet" run data/short_initializer.onnx --input data/two_by_three.npy --output-dir out
expect_error "inspect absurd initializer" "absurd_initializer.onnx" "$octet" inspect data/absurd_initializer.onnx
expect_error "bench absurd input dims" "absurd_input.onnx;'x'" "$octet" bench data/absurd_input.onnx --time 0.1
expect_error "run absurd runtime dims" "expand_node" "$octet" run data/absurd_runtime.onnx --input x=data/one.npy --output-dir out
expect_error "run unsupported op" "frobnicate_node;FrobnicateOp" "$octet" run data/unknown_op.onnx --input data/good.npy --output-dir out
expect_error "bench unsupported op" "frobnicate_node;FrobnicateOp" "$octet" bench data/unknown_op.onnx --time 0.1

# ---- bad .npy inputs ----
for bad in wrong_rank wrong_dtype wrong_channels truncated garbage missing; do
  expect_error "run $bad.npy" "$bad.npy" "$octet" run $relu --input x=data/$bad.npy --output-dir out
done
expect_error "run unknown input name" "nope" "$octet" run $relu --input nope=data/good.npy --output-dir out
expect_error "run input given twice" "'x'" "$octet" run $relu --input x=data/good.npy --input x=data/good.npy --output-dir out
expect_error "run missing input" "'b'" "$octet" run data/two_inputs.onnx --input a=data/two_by_three.npy --output-dir out
expect_error "run without inputs" "--input" "$octet" run $relu --output-dir out
expect_error "run output dir is a file" "good.npy" "$octet" run $relu --input data/good.npy --output-dir data/good.npy

# ---- batch mode ----
expect_error "batch multi-input model" "two_inputs.onnx" "$octet" run data/two_inputs.onnx --input-dir data/batch_in --output-dir out
expect_error "batch missing folder" "no_such_folder" "$octet" run $relu --input-dir data/no_such_folder --output-dir out
expect_error "batch without output dir" "--output-dir" "$octet" run $relu --input-dir data/batch_in
expect_error "batch same input and output dir" "--output-dir" "$octet" run data/relu_dynamic.onnx --input-dir data/batch_in --output-dir data/batch_in

# A failure mid-batch: the files finished before it stay, nothing of the failing or later ones.
case_name="batch fails on its third file"
case_failures=()
rm -rf batch_out
"$octet" run data/relu_dynamic.onnx --input-dir data/batch_bad --output-dir batch_out >stdout.txt 2>stderr.txt
status=$?
[[ $status -eq 1 ]] || fail "exit code $status, expected 1"
[[ $(wc -l <stderr.txt) -eq 1 ]] || fail "stderr is not one line"
grep -qF "c_bad.npy" stderr.txt || fail "stderr does not name c_bad.npy"
[[ "$(cd batch_out 2>/dev/null && ls | tr '\n' ' ')" == "a.npy b.npy " ]] ||
  fail "batch_out holds '$(ls batch_out 2>/dev/null | tr '\n' ' ')', expected a.npy b.npy"
finish_case

# ---- options ----
expect_error "unknown command" "frobnicate" "$octet" frobnicate $relu
expect_error "no command" "command" "$octet"
expect_error "unknown option" "--frobnicate" "$octet" inspect $relu --frobnicate
expect_error "shape without =" "x:1x3x4x4" "$octet" inspect $relu --shape x:1x3x4x4
expect_error "shape bad dimension" "foo" "$octet" bench $relu --shape x=1xfoox4x4 --time 0.1
expect_error "shape unknown input" "nope" "$octet" bench $relu --shape nope=1x3x4x4 --time 0.1
expect_error "shape wrong rank" "'x'" "$octet" bench data/relu_dynamic.onnx --shape x=1x3 --time 0.1
expect_error "bench dynamic dims without --shape" "'x';--shape" "$octet" bench data/relu_dynamic.onnx --time 0.1
expect_error "threads zero" "threads" "$octet" run $relu --input data/good.npy --threads 0
expect_error "threads not a number" "threads" "$octet" bench $relu --threads many
expect_error "time negative" "time" "$octet" bench $relu --time -1
expect_error "bench json into missing folder" "no_such_folder" "$octet" bench $relu --time 0.1 --json out/no_such_folder/b.json
expect_error "verify missing folder" "no_such_folder" "$octet" verify data/no_such_folder
expect_error "verify folder without tests" "batch_in" "$octet" verify data/batch_in
expect_error "verify skip entry without reason" "skip_no_reason.txt" "$octet" verify "$node_tests/test_relu" --skip-list data/skip_no_reason.txt
expect_error "verify missing skip list" "missing_skip.txt" "$octet" verify "$node_tests/test_relu" --skip-list data/missing_skip.txt

# ---- success paths ----
for command in "" inspect run verify bench; do
  run_success "help ${command:-octet}" "$octet" $command --help
  grep -q "Usage" stdout.txt || fail "no usage text"
  finish_case
done

rm -rf out
# octet quantize: bad options name the option, entry or key; nothing is written to out/.
mkdir -p calibration && cp data/good.npy calibration/0001.npy
echo '{"presett": "mixed"}' >misspelled.json
expect_error "quantize unknown preset" "--preset;fast" "$octet" quantize $relu -o out/q.onnx --data calibration --preset fast
expect_error "quantize ignored entry matching nothing" "NoSuchNode" "$octet" quantize $relu -o out/q.onnx --data calibration --ignore NoSuchNode
expect_error "quantize misspelled config key" "misspelled.json;presett" "$octet" quantize $relu -o out/q.onnx --data calibration --config misspelled.json
expect_error "quantize output not .onnx" "--output;q.txt" "$octet" quantize $relu -o out/q.txt --data calibration
expect_error "quantize missing calibration folder" "nowhere" "$octet" quantize $relu -o out/q.onnx --data nowhere
expect_error "quantize unknown range estimator" "--range-estimator;kl" "$octet" quantize $relu -o out/q.onnx --data calibration --range-estimator kl
# octet quantize --algorithm accuracy-aware: its options' errors name the option, folder or key.
mkdir -p evaluation && cp data/good.npy evaluation/0001.npy && printf '0001.npy\t0\n' >evaluation/labels.tsv
echo '{"name": "DefaultQuantization", "params": {"maximal_drop": 0.01}}' >aa_in_default.json
aa=(--algorithm accuracy-aware)
expect_error "quantize unknown algorithm" "--algorithm;fancy" "$octet" quantize $relu -o out/q.onnx --data calibration --algorithm fancy
expect_error "quantize --max-drop without accuracy-aware" "--max-drop;accuracy-aware" "$octet" quantize $relu -o out/q.onnx --data calibration --max-drop 0.01
expect_error "quantize --eval-dataset without accuracy-aware" "--eval-dataset;accuracy-aware" "$octet" quantize $relu -o out/q.onnx --data calibration --eval-dataset evaluation
expect_error "quantize accuracy-aware without --eval-dataset" "--eval-dataset" "$octet" quantize $relu -o out/q.onnx --data calibration "${aa[@]}" --metric top1
expect_error "quantize accuracy-aware without --metric" "--metric" "$octet" quantize $relu -o out/q.onnx --data calibration "${aa[@]}" --eval-dataset evaluation
expect_error "quantize accuracy-aware missing evaluation folder" "--eval-dataset;nowhere_eval" "$octet" quantize $relu -o out/q.onnx --data calibration "${aa[@]}" --eval-dataset nowhere_eval --metric top1
expect_error "quantize accuracy-aware unknown metric" "--metric;top7" "$octet" quantize $relu -o out/q.onnx --data calibration "${aa[@]}" --eval-dataset evaluation --metric top7
expect_error "quantize accuracy-aware reference metric" "--metric;sqnr;label metric" "$octet" quantize $relu -o out/q.onnx --data calibration "${aa[@]}" --eval-dataset evaluation --metric sqnr
expect_error "quantize accuracy-aware CTC metric without --dict" "--dict" "$octet" quantize $relu -o out/q.onnx --data calibration "${aa[@]}" --eval-dataset evaluation --metric ctc-char-accuracy
expect_error "quantize accuracy-aware bad drop type" "--drop-type;percent" "$octet" quantize $relu -o out/q.onnx --data calibration "${aa[@]}" --eval-dataset evaluation --metric top1 --drop-type percent
expect_error "quantize accuracy-aware report into a missing folder" "--report;no_such_folder" "$octet" quantize $relu -o out/q.onnx --data calibration "${aa[@]}" --eval-dataset evaluation --metric top1 --report out/no_such_folder/r.json
expect_error "quantize accuracy-aware key in a DefaultQuantization config" "aa_in_default.json;maximal_drop" "$octet" quantize $relu -o out/q.onnx --data calibration --config aa_in_default.json

run_success "run single input" "$octet" run $relu --input x=data/good.npy --output-dir out
python_check "
import sys, numpy as np
source, result = np.load('data/good.npy'), np.load('out/y.npy')
assert result.dtype == np.float32 and np.array_equal(result, np.maximum(source, 0)), 'wrong values'
"
finish_case

rm -rf out
run_success "run batch with differing shapes" "$octet" run data/relu_dynamic.onnx --input-dir data/batch_in --output-dir out
python_check "
import numpy as np
for name, batch in (('a', 1), ('b', 2), ('c', 3)):
    source, result = np.load(f'data/batch_in/{name}.npy'), np.load(f'out/{name}.npy')
    assert result.shape == (batch, 3, 4, 4), f'{name}: shape {result.shape}'
    assert np.array_equal(result, np.maximum(source, 0)), f'{name}: wrong values'
"
[[ $(grep -c '\.npy:' stdout.txt) -eq 3 ]] || fail "expected one summary line per file"
finish_case

rm -rf out
run_success "run batch with two outputs" "$octet" run data/two_outputs.onnx --input-dir data/batch_in --output-dir out
python_check "
import numpy as np, os
assert sorted(os.listdir('out')) == ['a.neg_out_0.npy', 'a.npy', 'b.neg_out_0.npy', 'b.npy', 'c.neg_out_0.npy', 'c.npy'], os.listdir('out')
for name in 'abc':
    source = np.load(f'data/batch_in/{name}.npy')
    assert np.array_equal(np.load(f'out/{name}.npy'), np.maximum(source, 0)), name
    assert np.array_equal(np.load(f'out/{name}.neg_out_0.npy'), -source), name
"
finish_case

run_success "inspect --json" "$octet" inspect data/matmul.onnx --json
python_check "
import json
stats = json.load(open('stdout.txt'))
assert stats['macs']['total'] == 2 * 3 * 4 and stats['macs']['complete'], stats['macs']
assert stats['parameters']['count'] == 12 and stats['parameters']['bytes'] == 48, stats['parameters']
assert [n['node'] for n in stats['quantizable_nodes']] == ['matmul_node'], stats['quantizable_nodes']
assert stats['op_histogram'] == {'MatMul': 1} and stats['unsupported_ops'] == []
assert stats['inputs'][0]['shape'] == [2, 3]
"
finish_case

run_success "inspect lists an unsupported op (exit 0)" "$octet" inspect data/unknown_op.onnx
grep -q "FrobnicateOp" stdout.txt || fail "FrobnicateOp not listed"
grep -q "frobnicate_node" stdout.txt || fail "frobnicate_node not listed"
finish_case

run_success "inspect --shape on a dynamic model" "$octet" inspect data/relu_dynamic.onnx --shape x=2x3x4x4 --json
python_check "
import json
stats = json.load(open('stdout.txt'))
assert stats['inputs'][0]['shape'] == ['batch', 3, 4, 4], stats['inputs']
assert stats['macs']['input_shapes'] == {'x': [2, 3, 4, 4]}, stats['macs']
"
finish_case

rm -f bench.json
run_success "bench --time 1 --json" "$octet" bench data/relu_dynamic.onnx --shape x=2x3x4x4 --batch 4 --time 1 --json bench.json
python_check "
import json
result = json.load(open('bench.json'))
latency = result['latency_ms']
assert 0 < latency['min'] <= latency['median'] <= latency['p90'], latency
assert result['throughput_fps'] > 0 and result['iterations'] >= 10, result
assert result['batch'] == 4 and result['input_shapes'] == {'x': [4, 3, 4, 4]}, result
assert result['total_seconds'] >= 1.0, result
"
finish_case

run_success "verify one test folder" "$octet" verify "$node_tests/test_relu"
[[ "$(tail -1 stdout.txt)" == "1 passed, 0 failed, 0 skipped" ]] || fail "last line: $(tail -1 stdout.txt)"
finish_case

run_success "verify with a skip list" "$octet" verify "$node_tests/test_relu" --skip-list data/skip_relu.txt
grep -q "^SKIP test_relu: skipped by the CLI test" stdout.txt || fail "no SKIP line with the reason"
[[ "$(tail -1 stdout.txt)" == "0 passed, 0 failed, 1 skipped" ]] || fail "last line: $(tail -1 stdout.txt)"
finish_case

echo "$passed passed, $failed failed"
((failed == 0))
