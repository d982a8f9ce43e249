#!/usr/bin/env bash
# Fuzzes the project with libFuzzer: scripts/fuzz.sh [TARGET|all] [SECONDS]
# (default all, 600 s per target). Installs clang-14 and libfuzzer-14-dev when
# missing, configures and builds build-fuzz/ (RESACT_FUZZ=ON: the libraries
# with -fsanitize=fuzzer-no-link,address,undefined), then runs each target in
# turn for SECONDS with its seed corpus (tests/fuzz/corpus/TARGET, copied to
# build-fuzz/corpus/TARGET, which keeps what the run adds) and its dictionary;
# crashes, timeouts and OOMs go to build-fuzz/artifacts/TARGET/. Ends with one
# line per target: "fuzz TARGET: SECONDS s, N executions, K crashes".
# A crash found here belongs in tests/fuzz/regressions/TARGET/ with its fix;
# the normal test suite replays it (tests/fuzz/fuzz_regression_test.cc).
# Environment: RESACT_FUZZ_BUILD_DIR (default build-fuzz), RESACT_JOBS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RESACT_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
WHICH="${1:-all}"
SECONDS_PER_TARGET="${2:-600}"
ALL_TARGETS=(fuzz_spec fuzz_movielens_reader fuzz_delimited_reader fuzz_user_feature_reader
             fuzz_replay_decode fuzz_checksum_frame)

RESACT_EXTRA_PACKAGES="clang-14 libfuzzer-14-dev libclang-rt-14-dev" \
  "$ROOT/scripts/setup.sh" --packages-only

if [ "$WHICH" = all ]; then
  TARGETS=("${ALL_TARGETS[@]}")
else
  TARGETS=("$WHICH")
fi

JOBS="${RESACT_JOBS:-$(nproc)}"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESACT_LEARNERS=OFF \
  -DCMAKE_CXX_COMPILER=clang++-14 -DRESACT_FUZZ=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]}"

summary=()
status=0
for t in "${TARGETS[@]}"; do
  corpus="$BUILD_DIR/corpus/$t"
  artifacts="$BUILD_DIR/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$ROOT/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  dict=()
  if [ -e "$ROOT/tests/fuzz/dict/$t.dict" ]; then dict=(-dict="$ROOT/tests/fuzz/dict/$t.dict"); fi
  log="$BUILD_DIR/$t.log"
  stamp="$BUILD_DIR/$t.start"
  touch "$stamp"
  echo "resact fuzz: $t for ${SECONDS_PER_TARGET}s (log $log)" >&2
  set +e
  "$BUILD_DIR/tests/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)"
  crashes="$(find "$artifacts" -type f -newer "$stamp" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \
    -o -name 'leak-*' \) | wc -l)"
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  if [ "$crashes" -ne 0 ]; then status=1; tail -40 "$log" >&2; fi
  summary+=("fuzz $t: ${SECONDS_PER_TARGET} s, ${execs:-0} executions, $crashes crashes")
done
printf '%s\n' "${summary[@]}"
exit "$status"
