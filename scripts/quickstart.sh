#!/usr/bin/env bash
# README command 1: set up, build, and run the default pipeline, which needs
# no download. Extra arguments go to `resact run` (e.g. --workdir DIR).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "${RESACT_BUILD_DIR:-$ROOT/build}/resact" run pipelines/quickstart.pbtxt "$@"
