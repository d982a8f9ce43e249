#!/usr/bin/env bash
# README command 2: set up, build, and run every test with ctest; then build
# the no-learner configuration again with AddressSanitizer and UBSan
# (build-asan/, RESACT_SANITIZE=address,undefined) and run its tests there
# (less the few that need the learners),
# so that a memory error, a leak or undefined behaviour fails the run.
# Arguments go to the main ctest only.
# Environment: RESACT_BUILD_DIR (default build), RESACT_ASAN_BUILD_DIR
# (default build-asan), RESACT_SKIP_SANITIZE=1 skips the sanitizer pass,
# RESACT_JOBS (default nproc).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
(cd "${RESACT_BUILD_DIR:-$ROOT/build}" && ctest --output-on-failure -j "$(nproc)" "$@")

if [ "${RESACT_SKIP_SANITIZE:-0}" = 1 ]; then
  echo "resact test: sanitizer pass skipped (RESACT_SKIP_SANITIZE=1)" >&2
  exit 0
fi
ASAN_DIR="${RESACT_ASAN_BUILD_DIR:-$ROOT/build-asan}"
JOBS="${RESACT_JOBS:-$(nproc)}"
echo "resact test: sanitizer pass (ASan+UBSan) in $ASAN_DIR" >&2
cmake -S "$ROOT" -B "$ASAN_DIR" -DRESACT_SANITIZE=address,undefined -DRESACT_LEARNERS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$ASAN_DIR" -j "$JOBS"
cd "$ASAN_DIR"
# The experiment specs need the learner stages to validate; the main pass
# checks them. (Tests of learner code are not built without the learners.)
NEEDS_LEARNERS='^Pipelines\.EveryShippedSpecValidates$'
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  exec ctest --output-on-failure -j "$(nproc)" -E "$NEEDS_LEARNERS"
