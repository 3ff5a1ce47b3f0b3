#!/usr/bin/env bash
# The OCR models doing their real job: `octet ocr` (detect -> crop -> classify direction ->
# recognize) reads rendered pages with the FP32 PP-OCR models and with their INT8 versions, and the
# text is printed side by side with the ground truth, with the character accuracy per page.
#
# Pages (rendered once by scripts/gen_ocr_data.py into data/ocr/ocr_demo/, seeded):
#   clean  --kind page: clean paper, upright lines of common words, a quarter of the lines turned
#          upside down (the direction classifier's job)
#   noisy  --kind det: the detector's evaluation kind: noisy paper, random places, lines rotated
#          up to 12 degrees, rare characters, sometimes a tiny unreadable line ("###", not scored)
# Each labeled line is paired with the recognized lines whose box center lies inside its
# quadrilateral (several, left to right, when the detector split the line). Page accuracy:
# 1 - sum(edit distance) / sum(label length) over the labeled lines, spaces removed, a line's
# distance capped at its length (octet eval's ctc-char-accuracy per line, weighted by length);
# recognized lines outside every label are listed as "extra"; lines read in an unreadable region
# ("###") are shown, not scored. Time per page: the median of the
# pages' totals in one `octet ocr` run (the first page of a size also prepares the kernels).
#
# Usage: scripts/ocr_demo.sh [PAGES]          (PAGES per kind, default 3)
# Environment: OCTET (default build/bin/octet), INT8_DIR (out/int8: det.onnx, cls.onnx, rec.onnx,
#   made by scripts/quantize_models.sh), or INT8_DET, INT8_CLS, INT8_REC one by one; THREADS (2);
#   PYTHON (/usr/bin/python3); DEMO_DIR (data/ocr/ocr_demo). Exits 1 when a model or the octet
#   binary is missing or octet fails.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

pages="${1:-3}"
octet="${OCTET:-build/bin/octet}"
python="${PYTHON:-/usr/bin/python3}"
threads="${THREADS:-2}"
demo_dir="${DEMO_DIR:-data/ocr/ocr_demo}"
int8_dir="${INT8_DIR:-out/int8}"
models=models/ppocr
fp32_det="$models/ch_PP-OCRv4_det_infer.onnx"
fp32_cls="$models/ch_ppocr_mobile_v2.0_cls_infer.onnx"
fp32_rec="$models/ch_PP-OCRv4_rec_infer.onnx"
dict="$models/ppocr_keys_v1.txt"
int8_det="${INT8_DET:-$int8_dir/det.onnx}"
int8_cls="${INT8_CLS:-$int8_dir/cls.onnx}"
int8_rec="${INT8_REC:-$int8_dir/rec.onnx}"

fail() {
  echo "ocr_demo: $*" >&2
  exit 1
}
[[ "$pages" =~ ^[1-9][0-9]*$ ]] || fail "PAGES must be a positive number, got '$pages'"
[[ -x "$octet" ]] || fail "no octet binary at $octet (scripts/build.sh, or set OCTET)"
for model in "$fp32_det" "$fp32_cls" "$fp32_rec" "$dict"; do
  [[ -f "$model" ]] || fail "missing $model (run scripts/fetch_models.sh)"
done
for model in "$int8_det" "$int8_cls" "$int8_rec"; do
  [[ -f "$model" ]] || fail "missing INT8 model $model (run scripts/quantize_models.sh, or set INT8_DIR)"
done

# kind seed extra-arguments, per page set
declare -A set_args=(
  [clean]="page 201 --upside-down 0.25"
  [noisy]="det 202"
)
for set in clean noisy; do
  read -r kind seed extra <<<"${set_args[$set]}"
  folder="$demo_dir/$set"
  # Rendering is deterministic: a folder with enough pages is reused (a smaller count is a prefix).
  if [[ ! -f "$folder/labels.tsv" ]] || (($(wc -l <"$folder/labels.tsv") < pages)); then
    # shellcheck disable=SC2086
    "$python" scripts/gen_ocr_data.py --kind "$kind" --count "$pages" --seed "$seed" --out "$folder" --format png \
      $extra >/dev/null
  fi
done

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

run_ocr() {  # run_ocr NAME DET CLS REC: reads every demo page, JSON to $work_dir/NAME.json
  local images=()
  for set in clean noisy; do
    for ((i = 0; i < pages; i++)); do images+=("$(printf '%s/%s/%04d.png' "$demo_dir" "$set" "$i")"); done
  done
  "$octet" ocr "${images[@]}" --det "$2" --cls "$3" --rec "$4" --dict "$dict" --threads "$threads" \
    --json "$work_dir/$1.json" >"$work_dir/$1.log" || fail "octet ocr ($1) failed: $(tail -1 "$work_dir/$1.log")"
}
echo "ocr_demo: reading $((2 * pages)) pages with FP32 ($fp32_det, $fp32_cls, $fp32_rec)"
run_ocr fp32 "$fp32_det" "$fp32_cls" "$fp32_rec"
echo "ocr_demo: reading them with INT8 ($int8_det, $int8_cls, $int8_rec)"
run_ocr int8 "$int8_det" "$int8_cls" "$int8_rec"

"$python" - "$demo_dir" "$work_dir/fp32.json" "$work_dir/int8.json" <<'EOF'
import json
import pathlib
import statistics
import sys
import unicodedata

demo_dir = pathlib.Path(sys.argv[1])
runs = {name: json.loads(pathlib.Path(path).read_text(encoding="utf-8")) for name, path in zip(("FP32", "INT8"), sys.argv[2:])}


def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def inside(point, quad):
    """Point in a convex quadrilateral, either orientation."""
    signs = []
    for k in range(4):
        (x1, y1), (x2, y2) = quad[k], quad[(k + 1) % 4]
        signs.append((x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1))
    return all(s >= 0 for s in signs) or all(s <= 0 for s in signs)


def assign(truths, lines):
    """Recognized text per labeled line (box centers inside its quad, left to right), whether the
    classifier turned any of it, and the extra lines."""
    found = [[] for _ in truths]
    extra = []
    for line in lines:
        center = (sum(p[0] for p in line["box"]) / 4, sum(p[1] for p in line["box"]) / 4)
        owner = next((k for k, truth in enumerate(truths) if inside(center, truth["points"])), None)
        (extra if owner is None else found[owner]).append((center[0], line["text"], line["rotated_180"]))
    texts = ["".join(text for _, text, _ in sorted(parts)) for parts in found]
    turned = [any(rotated for _, _, rotated in parts) for parts in found]
    return texts, turned, [text for _, text, _ in extra]


def width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def cell(text, columns):
    return text + " " * max(0, columns - width(text))


column = 34
DONT_CARE = ("###", "*")  # PaddleOCR's marks for illegible text: neither required nor counted as extra
totals = {}  # (page set, run name) -> [errors, characters]
page_times = {name: [] for name in runs}
pages = [entry["image"] for entry in runs["FP32"]["images"]]
for index, image in enumerate(pages):
    image_path = pathlib.Path(image)
    labels = dict(line.split("\t", 1) for line in (image_path.parent / "labels.tsv").read_text(encoding="utf-8").splitlines())
    truths = json.loads(labels[image_path.name])
    results = {}
    for name, run in runs.items():
        entry = run["images"][index]
        page_times[name].append(entry["time_ms"]["total"])
        results[name] = assign(truths, entry["lines"])
    print(f"\n{image}")
    print(f"  {cell('ground truth', column)} | {cell('FP32', column)} | INT8")
    page_errors = {name: [0, 0] for name in runs}
    for k, truth in enumerate(truths):
        label = truth["transcription"].replace(" ", "")
        texts = {name: results[name][0][k] for name in runs}
        turned = {name: " (180)" if results[name][1][k] else "" for name in runs}
        if truth["transcription"] in DONT_CARE:
            print(f"  {cell('### (unreadable, not scored)', column)} | {cell(texts['FP32'], column)} | {texts['INT8']}")
            continue
        for name, text in texts.items():
            errors = min(edit_distance(text.replace(" ", ""), label), len(label))
            page_errors[name][0] += errors
            page_errors[name][1] += len(label)
        marks = {name: turned[name] + ("" if texts[name].replace(" ", "") == label else " *") for name in runs}
        print(f"  {cell(truth['transcription'], column)} | {cell(texts['FP32'] + marks['FP32'], column)} | {texts['INT8']}{marks['INT8']}")
    for name in runs:
        if results[name][2]:
            print(f"  extra {name} lines: {' / '.join(results[name][2])}")
    accuracy = {name: 1 - e / max(n, 1) for name, (e, n) in page_errors.items()}
    print(f"  char accuracy: FP32 {accuracy['FP32']:.3f}, INT8 {accuracy['INT8']:.3f};"
          f" time: FP32 {page_times['FP32'][-1]:.0f} ms, INT8 {page_times['INT8'][-1]:.0f} ms")
    for name in runs:
        for key in ((image_path.parent.name, name), ("all", name)):
            total = totals.setdefault(key, [0, 0])
            total[0] += page_errors[name][0]
            total[1] += page_errors[name][1]

print("\nall pages (* marks a line read differently from its label, (180) one the classifier turned):")
for name in runs:
    accuracies = []
    for (page_set, run_name), (errors, characters) in totals.items():
        if run_name == name and page_set != "all":
            accuracies.append(f"{page_set} {1 - errors / max(characters, 1):.4f}")
    errors, characters = totals[("all", name)]
    print(f"  {name}: char accuracy {1 - errors / max(characters, 1):.4f} ({errors} errors in {characters} characters;"
          f" {', '.join(accuracies)}), time per page median {statistics.median(page_times[name]):.0f} ms"
          f" (first {page_times[name][0]:.0f} ms; models loaded in {runs[name]['load_ms']:.0f} ms)")
EOF
