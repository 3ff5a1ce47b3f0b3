#!/usr/bin/env bash
# Exports torchvision ResNet-50 and MobileNetV2 (random init, seed 0) to models/torchvision/.
# Installs Debian's python3-torch and python3-torchvision first when missing (not part of
# install_deps.sh: they are large and only needed for these two models). Arguments are passed to
# export_torchvision.py (--out-dir DIR, --models NAME ...).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

missing=()
for package in python3-torch python3-torchvision python3-onnx; do
  if ! dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "export_torchvision: installing ${missing[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Debian's interpreter, not whatever python3 comes first on PATH (e.g. a pyenv shim without
# Debian's dist-packages).
exec /usr/bin/python3 scripts/export_torchvision.py "$@"
