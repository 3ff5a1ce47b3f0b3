#!/usr/bin/env bash
# FP32 latency of octet against ONNX Runtime (onnxruntime-node) on the five reference models,
# measured side by side in one run: for each model, `octet bench` then `ort_run.js bench` with the
# same input shape, thread count and duration, so both see the same machine state. With --rounds R
# the whole sequence repeats R times and the table shows the median of each figure over rounds.
#
#   bench/compare_fp32.sh [--time SEC] [--threads N] [--rounds R] [--models det,rec,...] [--out DIR]
#
# Writes DIR/<model>.<octet|ort>.<round>.json (default DIR: a new out/bench-fp32-* folder) and
# prints a markdown table (bench/fp32_table.py) to paste into bench/RESULTS.md. A model whose file
# is missing is skipped with a note (scripts/fetch_models.sh, scripts/export_torchvision.sh make
# them); a failed run shows as "failed" and the run goes on.
# Environment: OCTET (default build/bin/octet), PYTHON (default /usr/bin/python3).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

octet="${OCTET:-build/bin/octet}"
python="${PYTHON:-/usr/bin/python3}"
seconds=10
threads=2
rounds=1
selected=""
out_dir=""
while (($# > 0)); do
  case "$1" in
    --time) seconds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --models) selected="$2"; shift 2 ;;
    --out) out_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "compare_fp32: error: unknown argument $1 (see --help)" >&2; exit 1 ;;
  esac
done
out_dir="${out_dir:-out/bench-fp32-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out_dir"

# name  model file  input  (input names checked with python3-onnx: PP-OCR "x", torchvision "input")
models=(
  "det models/ppocr/ch_PP-OCRv4_det_infer.onnx x=1x3x640x640"
  "rec models/ppocr/ch_PP-OCRv4_rec_infer.onnx x=1x3x48x320"
  "cls models/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx x=1x3x48x192"
  "resnet50 models/torchvision/resnet50.onnx input=1x3x224x224"
  "mobilenet_v2 models/torchvision/mobilenet_v2.onnx input=1x3x224x224"
)

known_names=" $(printf '%s\n' "${models[@]}" | awk '{print $1}' | tr '\n' ' ')"
for name in ${selected//,/ }; do
  if [[ "$known_names" != *" $name "* ]]; then
    echo "compare_fp32: error: unknown model $name (known:$known_names)" >&2
    exit 1
  fi
done

: >"$out_dir/notes.tsv"
: >"$out_dir/models.tsv"
for entry in "${models[@]}"; do
  read -r name model shape <<<"$entry"
  if [[ -n "$selected" && ",$selected," != *",$name,"* ]]; then continue; fi
  if [[ ! -f "$model" ]]; then
    printf '%s\tskipped: %s missing\n' "$name" "$model" >>"$out_dir/notes.tsv"
    continue
  fi
  printf '%s\t%s\n' "$name" "$shape" >>"$out_dir/models.tsv"
done
if [[ ! -x "$octet" ]]; then
  printf 'octet\tno binary at %s: octet columns empty\n' "$octet" >>"$out_dir/notes.tsv"
fi

for ((round = 1; round <= rounds; round++)); do
  while IFS=$'\t' read -r name shape; do
    model="$(printf '%s\n' "${models[@]}" | awk -v n="$name" '$1 == n {print $2}')"
    echo "compare_fp32: round $round/$rounds $name $shape" >&2
    if [[ -x "$octet" ]]; then
      "$octet" bench "$model" --shape "$shape" --threads "$threads" --time "$seconds" \
        --json "$out_dir/$name.octet.$round.json" >&2 ||
        printf '%s\toctet bench failed in round %s (exit %s)\n' "$name" "$round" "$?" >>"$out_dir/notes.tsv"
    fi
    node scripts/ort_run.js bench "$model" --shape "$shape" --threads "$threads" --time "$seconds" \
      --json "$out_dir/$name.ort.$round.json" >&2 ||
      printf '%s\tORT bench failed in round %s (exit %s)\n' "$name" "$round" "$?" >>"$out_dir/notes.tsv"
  done <"$out_dir/models.tsv"
done

"$python" bench/fp32_table.py "$out_dir" --threads "$threads" --time "$seconds" --rounds "$rounds"
