#!/usr/bin/env bash
# Installs the Debian packages resact needs (when missing), then configures
# and builds into build/. Sourced by scripts/quickstart.sh and scripts/test.sh.
# `setup.sh --packages-only` only installs; RESACT_EXTRA_PACKAGES (space-
# separated) adds packages to the list (scripts/fuzz.sh: clang, libFuzzer).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RESACT_BUILD_DIR:-$ROOT/build}"

PACKAGES=(
  build-essential cmake ccache pkg-config
  libtbb-dev libtorch-dev libopenblas0-pthread libdnnl-dev
  libprotobuf-dev protobuf-compiler librocksdb-dev
  libgoogle-glog-dev libgflags-dev libgtest-dev libgmock-dev
  libabsl-dev libcli11-dev libfast-float-dev libeigen3-dev nlohmann-json3-dev
  gnuplot-nox python3
)
read -r -a EXTRA <<< "${RESACT_EXTRA_PACKAGES:-}"
PACKAGES+=("${EXTRA[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "resact setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--packages-only" ]; then exit 0; fi

JOBS="${RESACT_JOBS:-$(nproc)}"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
