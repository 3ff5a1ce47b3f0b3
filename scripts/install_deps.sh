#!/usr/bin/env bash
# Installs everything octet needs to build, test and benchmark on Debian 12, then the
# repository's npm dependencies (onnxruntime-node, used as the reference runtime).
# Idempotent: apt runs only when a package is missing; npm install is cheap when up to date.
#
# onnxruntime-node is installed with --ignore-scripts: its postinstall script only downloads
# optional GPU (CUDA) binaries, which cannot be fetched here; the CPU binaries for linux/x64 ship
# inside the npm package itself (bin/napi-v6/linux/x64/). The last step checks that it runs.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_packages=(
  build-essential cmake ninja-build
  libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libstb-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  libsqlite3-dev libminizip-dev
  libgtest-dev libgmock-dev libbenchmark-dev libonnx-testdata
  python3-onnx python3-numpy python3-pil
  fonts-noto-cjk fonts-dejavu-core
  chromium
)
# Node.js: Debian's nodejs + npm, unless a node with npm is already there (e.g. NodeSource's
# nodejs package, which bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_packages+=(nodejs npm)
fi

missing=()
for package in "${apt_packages[@]}"; do
  if ! dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "install_deps: installing ${missing[*]}"
  sudo_prefix=()
  if [[ $(id -u) -ne 0 ]]; then sudo_prefix=(sudo); fi
  "${sudo_prefix[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_prefix[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "install_deps: all ${#apt_packages[@]} Debian packages already installed"
fi

cd "$repo_root"
if [[ -f package-lock.json ]]; then
  npm ci --ignore-scripts --no-audit --no-fund
else
  npm install --ignore-scripts --no-audit --no-fund
fi

# Smoke test: the native binding loads (scripts/ort_run.js runs real models).
node -e '
const ort = require("onnxruntime-node");
const backends = ort.listSupportedBackends().map((backend) => backend.name);
if (!backends.includes("cpu")) throw new Error("onnxruntime-node has no cpu backend: " + backends);
console.log("install_deps: onnxruntime-node " + ort.env.versions.node + " loads, backends: " + backends.join(", "));
'
