#!/usr/bin/env bash
# Checks `octet eval` (SPEC.md "Command line") on generated OCR data with the real PP-OCR models:
# recognizer character accuracy, classifier top-1, a model against itself as its own reference,
# the --json file, and user errors (exit 1, one line "octet: ..." naming the culprit, no JSON left
# behind). Ends with "N passed, N failed".
#
# Usage: tests/cli/test_eval.sh [BUILD_DIR]   (default: build)
# Needs Debian's python3-numpy and python3-pil (PYTHON overrides the interpreter), the models from
# scripts/fetch_models.sh, and the fonts named in scripts/gen_ocr_data.py.
set -u

script_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$script_dir/../.." && pwd)
build_dir=${1:-build}
octet=$(realpath "$build_dir/bin/octet")
python=${PYTHON:-/usr/bin/python3}
models=$repo/models/ppocr
rec_model=$models/ch_PP-OCRv4_rec_infer.onnx
cls_model=$models/ch_ppocr_mobile_v2.0_cls_infer.onnx
dictionary=$models/ppocr_keys_v1.txt
# ONNX Runtime reads these generated lines at ~95% character accuracy; 0.8 leaves room for a few
# hard lines without letting a broken decoder (or a broken model run) through.
min_char_accuracy=0.8
# The direction classifier on generated lines; the same margin idea.
min_cls_top1=0.8
sample_count=20
threads=${THREADS:-2}

if [[ ! -x "$octet" ]]; then
  echo "no octet binary at $octet"
  echo "0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
ulimit -c 0
if ! "$python" "$repo/scripts/gen_ocr_data.py" --kind rec --count $sample_count --seed 3 --out rec >/dev/null ||
  ! "$python" "$repo/scripts/gen_ocr_data.py" --kind cls --count $sample_count --seed 3 --out cls >/dev/null; then
  echo "could not generate the data sets"
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
  else
    failed=$((failed + 1))
    echo "FAIL $case_name: ${case_failures[*]}"
    echo "  stdout: $(head -c 400 stdout.txt)"
    echo "  stderr: $(head -c 400 stderr.txt)"
  fi
}

# The value printed on the "<metric>: <value>" line.
printed_value() { awk -v metric="$1" '$1 == metric ":" { print $2 }' stdout.txt; }

# expect_value NAME METRIC 'AWK_CONDITION_ON_v' COMMAND ARGS...
expect_value() {
  case_name=$1
  local metric=$2 condition=$3
  shift 3
  case_failures=()
  "$@" >stdout.txt 2>stderr.txt
  local status=$?
  [[ $status -eq 0 ]] || fail "exit code $status, expected 0"
  local value
  value=$(printed_value "$metric")
  if [[ -z "$value" ]]; then
    fail "no '$metric: <value>' line"
  elif ! awk -v v="$value" "BEGIN { exit !($condition) }"; then
    fail "$metric $value does not satisfy $condition"
  fi
  grep -q "($sample_count samples)" stdout.txt || fail "the sample count $sample_count is not printed"
  finish_case
}

# expect_error NAME 'CULPRIT[;CULPRIT...]' COMMAND ARGS...
expect_error() {
  case_name=$1
  local culprits=$2
  shift 2
  case_failures=()
  rm -f error.json
  "$@" --json error.json >stdout.txt 2>stderr.txt
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
  [[ ! -e error.json ]] || fail "left error.json behind"
  finish_case
}

# ---- Success paths ----
expect_value "rec ctc-char-accuracy > $min_char_accuracy" ctc-char-accuracy "v > $min_char_accuracy && v <= 1" \
  "$octet" eval "$rec_model" --dataset rec --metric ctc-char-accuracy --dict "$dictionary" --threads "$threads" \
  --json rec.json

case_name="rec --json holds the value and $sample_count per-sample entries"
case_failures=()
if ! "$python" - rec.json "$sample_count" "$(printed_value ctc-char-accuracy)" >json_check.txt 2>&1 <<'PY'; then
import json, math, sys
result = json.load(open(sys.argv[1], encoding="utf-8"))
count = int(sys.argv[2])
assert result["metric"] == "ctc-char-accuracy", result["metric"]
assert result["samples"] == count, result["samples"]
assert len(result["per_sample"]) == count
assert [s["name"] for s in result["per_sample"]] == [f"{i:04d}.npy" for i in range(count)]
mean = sum(s["value"] for s in result["per_sample"]) / count
assert math.isclose(mean, result["value"], rel_tol=1e-9), (mean, result["value"])
assert abs(result["value"] - float(sys.argv[3])) < 1e-5
PY
  fail "$(tr '\n' ' ' <json_check.txt)"
fi
: >stdout.txt
: >stderr.txt
finish_case

expect_value "rec ctc-line-accuracy in [0, 1]" ctc-line-accuracy "v >= 0 && v <= 1" \
  "$octet" eval "$rec_model" --dataset rec --metric ctc-line-accuracy --dict "$dictionary" --threads "$threads"
expect_value "cls top1 > $min_cls_top1 with --classes 0,180" top1 "v > $min_cls_top1 && v <= 1" \
  "$octet" eval "$cls_model" --dataset cls --metric top1 --classes 0,180 --threads "$threads"
expect_value "cls cosine against itself is 1" cosine "v > 0.999999 && v <= 1.000001" \
  "$octet" eval "$cls_model" --dataset cls --metric cosine --reference "$cls_model" --threads "$threads"
expect_value "cls top1-agreement against itself is 1" top1-agreement "v == 1" \
  "$octet" eval "$cls_model" --dataset cls --metric top1-agreement --reference "$cls_model" --threads "$threads"
expect_value "cls sqnr against itself is infinite" sqnr "v == \"inf\"" \
  "$octet" eval "$cls_model" --dataset cls --metric sqnr --reference "$cls_model" --threads "$threads"

# ---- User errors ----
expect_error "unknown metric lists the valid ones" "top3;top1, top5, ctc-char-accuracy" \
  "$octet" eval "$cls_model" --dataset cls --metric top3
expect_error "text-det-hmean is not supported yet" "text-det-hmean;not supported" \
  "$octet" eval "$cls_model" --dataset cls --metric text-det-hmean
expect_error "ctc metric without --dict" "ctc-char-accuracy;--dict" \
  "$octet" eval "$rec_model" --dataset rec --metric ctc-char-accuracy
expect_error "reference metric without --reference" "sqnr;--reference" \
  "$octet" eval "$cls_model" --dataset cls --metric sqnr
expect_error "missing dictionary file" "absent_keys.txt" \
  "$octet" eval "$rec_model" --dataset rec --metric ctc-char-accuracy --dict absent_keys.txt
expect_error "cls labels without --classes are not class indices" "label '180';--classes" \
  "$octet" eval "$cls_model" --dataset cls --metric top1
expect_error "wrong dictionary for the model" "6625 classes" \
  "$octet" eval "$rec_model" --dataset rec --metric ctc-char-accuracy --dict "$repo/scripts/gen_ocr_data.py"

mkdir -p empty no_labels bad_line unlabeled
expect_error "empty data set folder" "empty;no .npy samples" "$octet" eval "$cls_model" --dataset empty --metric top1
cp cls/0000.npy no_labels/
expect_error "missing labels.tsv" "no_labels/labels.tsv" "$octet" eval "$cls_model" --dataset no_labels --metric top1
cp cls/0000.npy cls/0001.npy bad_line/
printf '0000.png\t0\n0001.png 180\n' >bad_line/labels.tsv
expect_error "malformed labels.tsv line" "bad_line/labels.tsv:2;malformed" \
  "$octet" eval "$cls_model" --dataset bad_line --metric top1 --classes 0,180
cp cls/0000.npy cls/0001.npy unlabeled/
printf '0000.png\t0\n' >unlabeled/labels.tsv
expect_error "sample without a label" "unlabeled/labels.tsv;0001.npy" \
  "$octet" eval "$cls_model" --dataset unlabeled --metric top1 --classes 0,180
expect_error "classifier metric on a recognizer" "rec/0000.npy;[1, C]" \
  "$octet" eval "$rec_model" --dataset rec --metric top1

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
