#!/usr/bin/env bash
# The main job (README): on a fresh Debian 12 machine, set up, fetch and export the reference
# models, generate sample data, run the PP-OCR models on octet and ONNX Runtime and compare their
# outputs, benchmark all five reference models side by side (FP32, 2 threads), quantize them
# (DefaultQuantization, scripts/quantize_models.sh: accuracy FP32 vs INT8 on the PP-OCR models), and
# benchmark INT8 against ONNX Runtime FP32 and ONNX Runtime on octet's INT8 files.
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

step "speed: octet vs ONNX Runtime, FP32, 2 threads, ${seconds} s per model"
bench/compare_fp32.sh --time "$seconds" --threads 2 2>/dev/null

step "quantize: DefaultQuantization of the five models, 300 calibration samples; PP-OCR accuracy FP32 vs INT8"
scripts/quantize_models.sh

step "speed: octet INT8 vs ONNX Runtime FP32 and INT8, 2 threads, ${seconds} s per run"
bench/compare_int8.sh --time "$seconds" --threads 2 2>/dev/null

step "done in $((SECONDS - start)) s"
