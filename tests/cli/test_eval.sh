#!/usr/bin/env bash
# Checks `octet eval` (SPEC.md "Command line") on generated OCR data with the real PP-OCR models:
# recognizer character accuracy, classifier top-1, detector hmean, a model against itself as its
# own reference, image samples with --preprocess (same metric as the generator's .npy tensors),
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
# The FP32 detector finds every generated line (hmean 1.0 on 48 pages of seeds 3, 4 and 5, with
# IoUs of 0.64 to 0.98 against the label quads); 0.8 on these 6 pages (~35 lines) allows a few
# misses or extra boxes, while boxes mapped to the wrong place or scale score near 0 (see the
# mismatched-labels case).
min_det_hmean=0.8
det_model=$models/ch_PP-OCRv4_det_infer.onnx
sample_count=20
det_count=6
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
# --format both: each folder holds the images and the generator's preprocessed .npy of them.
if ! "$python" "$repo/scripts/gen_ocr_data.py" --kind rec --count $sample_count --seed 3 --out rec --format both >/dev/null ||
  ! "$python" "$repo/scripts/gen_ocr_data.py" --kind cls --count $sample_count --seed 3 --out cls --format both >/dev/null ||
  ! "$python" "$repo/scripts/gen_ocr_data.py" --kind det --count $det_count --seed 3 --out det --format both >/dev/null; then
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
  local count=${expected_count:-$sample_count}
  grep -q "($count samples)" stdout.txt || fail "the sample count $count is not printed"
  finish_case
}

# expect_same NAME METRIC COMMAND ARGS...: the printed value equals $expected_same (set by the
# caller from an earlier case).
expect_same() {
  local name=$1 metric=$2
  shift 2
  expect_value "$name" "$metric" "v == \"$expected_same\"" "$@"
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

# ---- Image samples with --preprocess: the generator's .npy are its preprocessing of the PNGs ----
"$octet" eval "$rec_model" --dataset rec --metric ctc-char-accuracy --dict "$dictionary" --threads "$threads" >stdout_rec.txt
expected_same=$(awk '$1 == "ctc-char-accuracy:" { print $2 }' stdout_rec.txt)
expect_same "rec PNGs with --preprocess ppocr-rec score as the .npy ($expected_same)" ctc-char-accuracy \
  "$octet" eval "$rec_model" --dataset rec --metric ctc-char-accuracy --dict "$dictionary" --preprocess ppocr-rec \
  --threads "$threads"
"$octet" eval "$cls_model" --dataset cls --metric top1 --classes 0,180 --threads "$threads" >stdout_cls.txt
expected_same=$(awk '$1 == "top1:" { print $2 }' stdout_cls.txt)
expect_same "cls PNGs with an explicit spec score as the .npy ($expected_same)" top1 \
  "$octet" eval "$cls_model" --dataset cls --metric top1 --classes 0,180 --threads "$threads" \
  --preprocess resize=48x192:keep-ratio-pad,scale=255,mean=0.5:0.5:0.5,std=0.5,bgr,layout=nchw

# ---- Text detection ----
expected_count=$det_count
expect_value "det text-det-hmean > $min_det_hmean" text-det-hmean "v > $min_det_hmean && v <= 1" \
  "$octet" eval "$det_model" --dataset det --metric text-det-hmean --threads "$threads" --json det.json
expected_same=$(printed_value text-det-hmean)

case_name="det --json holds precision, recall and per-page boxes"
case_failures=()
if ! "$python" - det.json "$det_count" >json_check.txt 2>&1 <<'PY'; then
import json, sys
result = json.load(open(sys.argv[1], encoding="utf-8"))
count = int(sys.argv[2])
assert result["metric"] == "text-det-hmean", result["metric"]
assert len(result["per_sample"]) == count
p, r = result["precision"], result["recall"]
assert abs(result["value"] - (2 * p * r / (p + r) if p + r else 0)) < 1e-12, result
assert result["matched"] <= min(result["ground_truth_care"], result["detection_care"]), result
assert sum(s["matched"] for s in result["per_sample"]) == result["matched"]
for sample in result["per_sample"]:
    assert len(sample["boxes"]) >= sample["detection_care"], sample["name"]
    for box in sample["boxes"]:
        assert len(box["points"]) == 4 and box["score"] >= 0.6, box
        assert all(0 <= x <= 640 and 0 <= y <= 640 for x, y in box["points"]), box
PY
  fail "$(tr '\n' ' ' <json_check.txt)"
fi
: >stdout.txt
: >stderr.txt
finish_case

expect_same "det PNGs with --preprocess ppocr-det score as the .npy ($expected_same)" text-det-hmean \
  "$octet" eval "$det_model" --dataset det --metric text-det-hmean --preprocess ppocr-det --threads "$threads"
expect_value "det PNGs resized to 480 (boxes scaled back) > $min_det_hmean" text-det-hmean \
  "v > $min_det_hmean && v <= 1" \
  "$octet" eval "$det_model" --dataset det --metric text-det-hmean --preprocess ppocr-det,resize=limit:480:32 \
  --threads "$threads"
# Each page labeled with the next page's lines: a metric that cannot fail would still pass here.
mkdir -p det_mismatched
cp det/*.npy det_mismatched/
awk -F'\t' '{ name[NR] = $1; label[NR] = $2 } END { for (i = 1; i <= NR; ++i) print name[i] "\t" label[i % NR + 1] }' \
  det/labels.tsv >det_mismatched/labels.tsv
expect_value "det with mismatched labels scores < 0.2" text-det-hmean "v < 0.2" \
  "$octet" eval "$det_model" --dataset det_mismatched --metric text-det-hmean --threads "$threads"
unset expected_count

# ---- User errors ----
expect_error "unknown metric lists the valid ones" "top3;top1, top5, ctc-char-accuracy" \
  "$octet" eval "$cls_model" --dataset cls --metric top3
expect_error "text-det-hmean on labels that are not det JSON" "cls/labels.tsv:1;label of 0000.npy;JSON array" \
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

mkdir -p bad_det broken_image npy_only
cp det/0000.npy det/0001.npy bad_det/
{
  head -n 1 det/labels.tsv
  printf '0001.png\t[{"transcription": "x", "points": [[1, 2], [3, 4]}]\n'
} >bad_det/labels.tsv
expect_error "malformed det label JSON" "bad_det/labels.tsv:2;label of 0001.npy;malformed detection label" \
  "$octet" eval "$det_model" --dataset bad_det --metric text-det-hmean
expect_error "bad --preprocess item" "--preprocess;bad item 'resize=48x'" \
  "$octet" eval "$rec_model" --dataset rec --metric ctc-char-accuracy --dict "$dictionary" \
  --preprocess ppocr-rec,resize=48x
expect_error "unknown --preprocess item" "bad item 'gamma=2'" \
  "$octet" eval "$cls_model" --dataset cls --metric top1 --classes 0,180 --preprocess ppocr-cls,gamma=2
cp cls/0000.png broken_image/
printf 'not a png' >broken_image/0001.png
printf '0000.png\t0\n0001.png\t180\n' >broken_image/labels.tsv
expect_error "undecodable image" "broken_image/0001.png;cannot decode" \
  "$octet" eval "$cls_model" --dataset broken_image --metric top1 --classes 0,180 --preprocess ppocr-cls
cp cls/0000.npy npy_only/
printf '0000.png\t0\n' >npy_only/labels.tsv
expect_error "--preprocess on a folder without images" "npy_only;no image samples" \
  "$octet" eval "$cls_model" --dataset npy_only --metric top1 --classes 0,180 --preprocess ppocr-cls

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
