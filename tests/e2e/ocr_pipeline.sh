#!/usr/bin/env bash
# `octet ocr` end to end with the FP32 PP-OCR models: the pipeline returns the rendered text of
# clean pages.
#   - clean pages (scripts/gen_ocr_data.py --kind page: 4 to 6 upright lines of common Chinese and
#     latin words and numbers, stacked top to bottom): every labeled line comes out, in label order
#     (reading order), with its box center inside the labeled box, and a character accuracy of at
#     least MIN_LINE_ACCURACY per line and MIN_PAGE_ACCURACY over all lines. The FP32 models
#     read 133 of 135 lines of 30 such pages exactly; the worst line scored 0.889 (':' read as the
#     full-width '：', which the CJK fonts draw alike);
#   - the same pages with every line upside down, read with the direction classifier (--cls):
#     the same text, and every line reported as turned by 180 degrees; read without --cls (the
#     control that shows the pages need the classifier): page accuracy below MAX_UNTURNED_ACCURACY;
#   - --json holds the same lines as the console;
#   - bad input exits 1 with one line on stderr naming the culprit: a missing model, a file that
#     is not a model of the role, an undecodable image, a dictionary that does not fit the
#     recognizer, a missing required option.
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on any failure.
#
# Environment: OCTET (default build/bin/octet), PYTHON (/usr/bin/python3), THREADS (2),
# KEEP_TMP=1 keeps the work folder.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

octet="${OCTET:-build/bin/octet}"
python="${PYTHON:-/usr/bin/python3}"
threads="${THREADS:-2}"
models=models/ppocr
det="$models/ch_PP-OCRv4_det_infer.onnx"
cls="$models/ch_ppocr_mobile_v2.0_cls_infer.onnx"
rec="$models/ch_PP-OCRv4_rec_infer.onnx"
dict="$models/ppocr_keys_v1.txt"
scripts/fetch_models.sh >/dev/null

pages=3
seed=301
min_line_accuracy=0.8
min_page_accuracy=0.95
max_unturned_accuracy=0.5

work_dir="$(mktemp -d)"
if [[ "${KEEP_TMP:-0}" == 1 ]]; then
  echo "ocr_pipeline: keeping $work_dir"
else
  trap 'rm -rf "$work_dir"' EXIT
fi

passed=0
failed=0
report() {  # report NAME OK DETAIL
  if (($2)); then
    echo "PASS $1${3:+: $3}"
    passed=$((passed + 1))
  else
    echo "FAIL $1${3:+: $3}"
    failed=$((failed + 1))
  fi
}

"$python" scripts/gen_ocr_data.py --kind page --count "$pages" --seed "$seed" --out "$work_dir/upright" \
  --format png >/dev/null
"$python" scripts/gen_ocr_data.py --kind page --count "$pages" --seed "$seed" --out "$work_dir/upside_down" \
  --format png --upside-down 1 >/dev/null

# check_reading NAME FOLDER EXPECT_TURNED(0|1) [octet ocr options]: reads the folder's pages and
# scores them against labels.tsv (prints the per-line comparison on failure).
check_reading() {
  local name=$1 folder=$2 expect_turned=$3
  shift 3
  local output="$work_dir/$name"
  if ! "$octet" ocr "$folder"/*.png --det "$det" --rec "$rec" --dict "$dict" --threads "$threads" \
    --json "$output.json" "$@" >"$output.log" 2>&1; then
    report "$name" 0 "octet ocr failed: $(tail -1 "$output.log")"
    return
  fi
  local verdict
  verdict="$("$python" - "$output.json" "$output.log" "$expect_turned" "$min_line_accuracy" "$min_page_accuracy" <<'EOF'
import json, pathlib, sys

result = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))
console = pathlib.Path(sys.argv[2]).read_text(encoding="utf-8")
expect_turned = sys.argv[3] == "1"
min_line, min_page = float(sys.argv[4]), float(sys.argv[5])


def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def inside(point, quad):
    signs = [(quad[(k + 1) % 4][0] - quad[k][0]) * (point[1] - quad[k][1]) -
             (quad[(k + 1) % 4][1] - quad[k][1]) * (point[0] - quad[k][0]) for k in range(4)]
    return all(s >= 0 for s in signs) or all(s <= 0 for s in signs)


problems, errors, characters, console_lines = [], 0, 0, 0
for image in result["images"]:
    path = pathlib.Path(image["image"])
    labels = dict(line.split("\t", 1) for line in (path.parent / "labels.tsv").read_text(encoding="utf-8").splitlines())
    truths = json.loads(labels[path.name])
    lines = image["lines"]
    console_lines += len(lines)
    if len(lines) != len(truths):
        problems.append(f"{path.name}: {len(lines)} lines read, {len(truths)} labeled: "
                        f"{[l['text'] for l in lines]} vs {[t['transcription'] for t in truths]}")
    for truth, line in zip(truths, lines):
        label, text = truth["transcription"].replace(" ", ""), line["text"].replace(" ", "")
        distance = min(edit_distance(text, label), len(label))
        errors += distance
        characters += len(label)
        accuracy = 1 - distance / len(label)
        center = (sum(p[0] for p in line["box"]) / 4, sum(p[1] for p in line["box"]) / 4)
        if accuracy < min_line:
            problems.append(f"{path.name}: read '{line['text']}' for '{truth['transcription']}' (accuracy {accuracy:.3f})")
        if not inside(center, truth["points"]):
            problems.append(f"{path.name}: the box {line['box']} of '{line['text']}' is not on '{truth['transcription']}'")
        if line["rotated_180"] != expect_turned:
            problems.append(f"{path.name}: '{line['text']}' rotated_180 is {line['rotated_180']}, expected {expect_turned}")
# The console prints one tab-separated line per text line.
if sum(1 for line in console.splitlines() if line.count("\t") == 2) != console_lines:
    problems.append("the console and --json list different numbers of lines")
page_accuracy = 1 - errors / max(characters, 1)
if page_accuracy < min_page:
    problems.append(f"accuracy over all lines {page_accuracy:.4f} < {min_page}")
print(f"{page_accuracy:.4f} {len(problems)}")
for problem in problems:
    print("   " + problem)
EOF
)"
  local summary="${verdict%%$'\n'*}"
  local accuracy="${summary% *}" problem_count="${summary#* }"
  report "$name" "$((problem_count == 0))" "char accuracy $accuracy over $pages pages"
  if ((problem_count)); then echo "${verdict#*$'\n'}"; fi
}

check_reading upright "$work_dir/upright" 0 --cls "$cls"
check_reading upright-without-cls "$work_dir/upright" 0
check_reading upside-down-with-cls "$work_dir/upside_down" 1 --cls "$cls"

# The control: without the classifier, upside-down lines are not read (mostly dropped for their
# low scores, or garbage).
if "$octet" ocr "$work_dir"/upside_down/*.png --det "$det" --rec "$rec" --dict "$dict" --threads "$threads" \
  --json "$work_dir/unturned.json" >/dev/null 2>&1; then
  unturned="$("$python" - "$work_dir/unturned.json" <<'EOF'
import json, pathlib, sys
result = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))
read = "".join(line["text"] for image in result["images"] for line in image["lines"]).replace(" ", "")
labels = ""
for image in result["images"]:
    path = pathlib.Path(image["image"])
    entries = dict(line.split("\t", 1) for line in (path.parent / "labels.tsv").read_text(encoding="utf-8").splitlines())
    labels += "".join(t["transcription"] for t in json.loads(entries[path.name])).replace(" ", "")
# Characters of the labels found in the text read, in order (longest common subsequence).
previous = [0] * (len(read) + 1)
for a in labels:
    current = [0]
    for j, b in enumerate(read, 1):
        current.append(previous[j - 1] + 1 if a == b else max(previous[j], current[j - 1]))
    previous = current
print(f"{previous[-1] / len(labels):.4f}")
EOF
)"
  report upside-down-without-cls "$("$python" -c "print(int($unturned < $max_unturned_accuracy))")" \
    "$unturned of the labels' characters read (control: must stay below $max_unturned_accuracy)"
else
  report upside-down-without-cls 0 "octet ocr failed"
fi

# expect_error NAME PATTERN octet-arguments...: exit code 1, one line on stderr matching PATTERN.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  local code=0
  "$octet" "$@" >"$work_dir/stdout" 2>"$work_dir/stderr" || code=$?
  local message
  message="$(cat "$work_dir/stderr")"
  local lines
  lines=$(wc -l <"$work_dir/stderr")
  if ((code == 1)) && ((lines == 1)) && [[ "$message" == octet:* ]] && grep -q -- "$pattern" "$work_dir/stderr"; then
    report "error: $name" 1 "$message"
  else
    report "error: $name" 0 "exit $code, $lines stderr lines, expected /$pattern/: $message"
  fi
}

page="$work_dir/upright/0000.png"
printf 'not an image\n' >"$work_dir/bad.png"
head -n 100 "$dict" >"$work_dir/short_dict.txt"
expect_error "missing detector" "$work_dir/none.onnx" ocr "$page" --det "$work_dir/none.onnx" --rec "$rec" --dict "$dict"
expect_error "recognizer given as detector" "$rec.*not a DB text detector" \
  ocr "$page" --det "$rec" --rec "$rec" --dict "$dict"
expect_error "detector given as classifier" "$det.*not a direction classifier" \
  ocr "$page" --det "$det" --cls "$det" --rec "$rec" --dict "$dict"
expect_error "missing image" "$work_dir/none.png" ocr "$work_dir/none.png" --det "$det" --rec "$rec" --dict "$dict"
expect_error "undecodable image" "$work_dir/bad.png" ocr "$work_dir/bad.png" --det "$det" --rec "$rec" --dict "$dict"
expect_error "dictionary mismatch" "short_dict.txt: 100 characters do not fit the recognizer" \
  ocr "$page" --det "$det" --rec "$rec" --dict "$work_dir/short_dict.txt"
expect_error "missing dictionary" "$work_dir/none.txt" ocr "$page" --det "$det" --rec "$rec" --dict "$work_dir/none.txt"
expect_error "no --rec" "ocr: .*--rec" ocr "$page" --det "$det" --dict "$dict"

echo "$passed passed, $failed failed"
((failed == 0))
