#!/usr/bin/env bash
# README command 2: set up, build, and run every test with ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "${RESACT_BUILD_DIR:-$ROOT/build}"
exec ctest --output-on-failure -j "$(nproc)" "$@"
