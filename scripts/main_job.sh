#!/usr/bin/env bash
# The main job (README): on a fresh Debian 12 machine, set up, fetch and export the reference
# models, generate sample data, run the PP-OCR models on octet and ONNX Runtime and compare their
# outputs, quantize the five reference models (scripts/quantize_models.sh: DefaultQuantization,
# AccuracyAware where it misses a 0.5-point budget; accuracy FP32 vs INT8 on distinct evaluation
# sets), benchmark FP32 and INT8 on octet and ONNX Runtime side by side, print one table per model
# (size, latency, throughput, accuracy, drop), and run the whole OCR pipeline (detect, crop,
# classify, recognize) with the FP32 and the INT8 models on rendered pages, text side by side.
#
#   scripts/main_job.sh [--time SEC]     (seconds per benchmark run, default 5)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=5
while (($# > 0)); do
  case "$1" in
    --time) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "main_job: error: unknown argument $1 (see --help)" >&2; exit 1 ;;
  esac
done
python=/usr/bin/python3  # Debian's interpreter (numpy, PIL, onnx), not a pyenv shim
start=$SECONDS

step() { printf '\n==== %s\n' "$*"; }

step "set-up: packages, models, build"
scripts/install_deps.sh
scripts/fetch_models.sh
scripts/build.sh build
scripts/export_torchvision.sh

step "sample data: rendered OCR lines and pages (data/)"
for kind in det rec cls; do
  count=8
  [[ $kind == det ]] && count=3
  "$python" scripts/gen_ocr_data.py --kind "$kind" --count "$count" --seed 1 --out "data/sample/$kind" --format npy
done

step "fidelity: octet vs ONNX Runtime on the sample data (cosine >= 0.99999, max |diff| <= 1e-3)"
declare -A model_of=(
  [det]=models/ppocr/ch_PP-OCRv4_det_infer.onnx
  [rec]=models/ppocr/ch_PP-OCRv4_rec_infer.onnx
  [cls]=models/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx
)
for kind in det rec cls; do
  out="out/main-job/$kind"
  rm -rf "$out"
  build/bin/octet run "${model_of[$kind]}" --input-dir "data/sample/$kind" --output-dir "$out/octet" >/dev/null
  node scripts/ort_run.js run "${model_of[$kind]}" --input-dir "data/sample/$kind" --output-dir "$out/ort" >/dev/null
  printf '%s: ' "$kind"
  "$python" scripts/compare_npy.py "$out/octet" "$out/ort" | tail -n 1
done

step "quantize: the five models, 300 calibration samples; PP-OCR accuracy FP32 vs INT8"
scripts/quantize_models.sh

step "speed: FP32 and INT8 on octet and ONNX Runtime, 2 threads, ${seconds} s per run"
rm -rf out/main-job/bench
bench/compare_int8.sh --time "$seconds" --threads 2 --out out/main-job/bench 2>/dev/null

step "per model: size, latency, throughput, accuracy, drop"
"$python" bench/model_tables.py out/main-job/bench --accuracy out/int8/accuracy.tsv

step "the OCR pipeline (detect -> crop -> classify -> recognize), FP32 vs INT8, on rendered pages"
scripts/ocr_demo.sh

step "done in $((SECONDS - start)) s"
