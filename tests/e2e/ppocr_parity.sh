#!/usr/bin/env bash
# FP32 parity of octet with ONNX Runtime on the three PP-OCR models.
# For det (3 generated pages), rec (8 text lines) and cls (8 text lines): generate seeded inputs,
# run `octet run MODEL --input-dir IN --output-dir OUT` and scripts/ort_run.js on the same folder,
# and require every output to match: cosine >= 0.99999 and max |difference| <= 1e-3.
# Both limits are about float reassociation (different kernels sum in different orders, and
# oneDNN may use other convolution algorithms); a real bug moves outputs far more.
# Prints PASS/FAIL per model and a closing "N passed, N failed" line; exits 1 on any failure.
#
# Environment: OCTET (default build/bin/octet), PYTHON (default /usr/bin/python3: Debian's,
# with python3-numpy and python3-pil), THREADS (default 2), KEEP_TMP=1 to keep the work folder.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

octet="${OCTET:-build/bin/octet}"
python="${PYTHON:-/usr/bin/python3}"
threads="${THREADS:-2}"
readonly min_cosine=0.99999 max_abs=1e-3 seed=7

if [[ ! -x "$octet" && ! -x "$(command -v "$octet" || true)" ]]; then
  echo "ppocr_parity: error: no octet binary at $octet (build first, or set OCTET)" >&2
  exit 1
fi
if [[ ! -d node_modules/onnxruntime-node ]]; then
  echo "ppocr_parity: error: node_modules/onnxruntime-node missing (run scripts/install_deps.sh)" >&2
  exit 1
fi
scripts/fetch_models.sh >/dev/null

work_dir="$(mktemp -d)"
if [[ "${KEEP_TMP:-0}" == 1 ]]; then
  echo "ppocr_parity: keeping $work_dir"
else
  trap 'rm -rf "$work_dir"' EXIT
fi

# kind  model file  sample count
cases=(
  "det ch_PP-OCRv4_det_infer.onnx 3"
  "rec ch_PP-OCRv4_rec_infer.onnx 8"
  "cls ch_ppocr_mobile_v2.0_cls_infer.onnx 8"
)

passed=0
failed=0
for case_line in "${cases[@]}"; do
  read -r kind model_file count <<<"$case_line"
  model="models/ppocr/$model_file"
  dir="$work_dir/$kind"
  log="$dir/log.txt"
  mkdir -p "$dir"
  ok=1
  "$python" scripts/gen_ocr_data.py --kind "$kind" --count "$count" --seed "$seed" --out "$dir/in" >"$log" 2>&1 || ok=0
  if ((ok)); then
    "$octet" run "$model" --input-dir "$dir/in" --output-dir "$dir/out_octet" --threads "$threads" >>"$log" 2>&1 || ok=0
  fi
  if ((ok)); then
    node scripts/ort_run.js run "$model" --input-dir "$dir/in" --output-dir "$dir/out_ort" --threads "$threads" >>"$log" 2>&1 || ok=0
  fi
  if ((ok)); then
    "$python" scripts/compare_npy.py "$dir/out_octet" "$dir/out_ort" \
      --min-cosine "$min_cosine" --max-abs "$max_abs" >>"$log" 2>&1 || ok=0
  fi
  if ((ok)); then
    echo "PASS $kind ($model_file, $count samples): $(tail -n 1 "$log")"
    passed=$((passed + 1))
  else
    echo "FAIL $kind ($model_file, $count samples):"
    sed 's/^/    /' "$log"
    failed=$((failed + 1))
  fi
done

echo "ppocr_parity: $passed passed, $failed failed"
((failed == 0))
