#!/usr/bin/env bash
# INT8 latency of octet against ONNX Runtime on the five reference models, side by side in one run.
# Per model and round, in this order with the same shape, threads and duration: octet on its INT8
# file, ONNX Runtime on the FP32 file, ONNX Runtime on octet's INT8 file, octet on the FP32 file.
# The table (bench/int8_table.py) shows medians over rounds, the speedups the quantization issue
# sets targets for, and the INT8 file size relative to the FP32 file.
#
#   bench/compare_int8.sh [--time SEC] [--threads N] [--rounds R] [--models det,rec,...]
#                         [--int8-dir DIR] [--out DIR]
#
# INT8 models are read from --int8-dir (default out/int8): <name>.onnx, e.g. out/int8/det.onnx, as
# scripts/quantize_models.sh writes them. A missing file is skipped with a note.
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
int8_dir=out/int8
out_dir=""
while (($# > 0)); do
  case "$1" in
    --time) seconds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --models) selected="$2"; shift 2 ;;
    --int8-dir) int8_dir="$2"; shift 2 ;;
    --out) out_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "compare_int8: error: unknown argument $1 (see --help)" >&2; exit 1 ;;
  esac
done
out_dir="${out_dir:-out/bench-int8-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out_dir"

models=(
  "det models/ppocr/ch_PP-OCRv4_det_infer.onnx x=1x3x640x640"
  "rec models/ppocr/ch_PP-OCRv4_rec_infer.onnx x=1x3x48x320"
  "cls models/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx x=1x3x48x192"
  "resnet50 models/torchvision/resnet50.onnx input=1x3x224x224"
  "mobilenet_v2 models/torchvision/mobilenet_v2.onnx input=1x3x224x224"
)

: >"$out_dir/notes.tsv"
: >"$out_dir/models.tsv"
for entry in "${models[@]}"; do
  read -r name model shape <<<"$entry"
  if [[ -n "$selected" && ",$selected," != *",$name,"* ]]; then continue; fi
  int8="$int8_dir/$name.onnx"
  if [[ ! -f "$model" || ! -f "$int8" ]]; then
    printf '%s\tskipped: %s or %s missing\n' "$name" "$model" "$int8" >>"$out_dir/notes.tsv"
    continue
  fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$shape" "$model" "$int8" >>"$out_dir/models.tsv"
done

run_octet() {  # run_octet MODEL SHAPE JSON
  "$octet" bench "$1" --shape "$2" --threads "$threads" --time "$seconds" --json "$3" >&2 ||
    printf '%s\toctet bench failed (exit %s)\n' "$3" "$?" >>"$out_dir/notes.tsv"
}
run_ort() {  # run_ort MODEL SHAPE JSON
  node scripts/ort_run.js bench "$1" --shape "$2" --threads "$threads" --time "$seconds" --json "$3" >&2 ||
    printf '%s\tORT bench failed (exit %s)\n' "$3" "$?" >>"$out_dir/notes.tsv"
}

for ((round = 1; round <= rounds; round++)); do
  while IFS=$'\t' read -r name shape model int8; do
    echo "compare_int8: round $round/$rounds $name $shape" >&2
    run_octet "$int8" "$shape" "$out_dir/$name.octet-int8.$round.json"
    run_ort "$model" "$shape" "$out_dir/$name.ort-fp32.$round.json"
    run_ort "$int8" "$shape" "$out_dir/$name.ort-int8.$round.json"
    run_octet "$model" "$shape" "$out_dir/$name.octet-fp32.$round.json"
  done <"$out_dir/models.tsv"
done

"$python" bench/int8_table.py "$out_dir" --threads "$threads" --time "$seconds" --rounds "$rounds"
