#!/usr/bin/env bash
# The whole test suite: formatting, unit tests (ctest), the same tests under ASan+UBSan, and every
# fuzz target for FUZZ_SECONDS (default 20) seeded from the capture vectors.
# Exits non-zero if any stage fails; prints a closing "N passed, N failed" line over the stages.
set -uo pipefail
cd "$(dirname "$0")/.."
# 20 s per target keeps the whole suite under 20 min on a clean 2-core machine (a cold build:
# 1207 s locally with 30 s on 2026-11-27, after the rekeying tests came in).
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
jobs=$(nproc)
passed=0
failed=0
failed_names=()

stage() {
  local name=$1
  shift
  echo
  echo "===== stage: $name"
  local start=$SECONDS
  if "$@"; then
    echo "===== stage $name passed ($((SECONDS - start)) s)"
    passed=$((passed + 1))
  else
    echo "===== stage $name FAILED ($((SECONDS - start)) s)"
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
}

check_format() {
  local files
  files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find ike ice esp-kernel config mediator peer tests -name '*.[ch]pp')
  # shellcheck disable=SC2086
  clang-format --dry-run --Werror $files
}

unit_tests() {
  scripts/build.sh release && ctest --test-dir build/release --output-on-failure -j "$jobs"
}

sanitizer_tests() {
  scripts/build.sh asan &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build/asan --output-on-failure -j "$jobs" -LE 'xfrm|timing'
  # The two XFRM tests (label xfrm) boot a VM under software emulation, about 100 s together:
  # they run once, in the release stage, to keep the suite under 20 minutes on 2 cores. The
  # XFRM backend's pure parts run under the sanitizers with the unit tests. So does
  # interop_child_rekey (label timing, ~50 s): a zero-loss timing test whose code paths run
  # under the sanitizers in interop_charon_psk's rekey cases.
}

fuzz() {
  scripts/build.sh fuzz || return 1
  local seeds=build/fuzz/seeds
  rm -rf "$seeds"
  build/release/tests/extract_seeds tests/data/strongswan-p2p/public.pcap "$seeds" || return 1
  local target corpus rc=0
  for target in message me_endpoint auth_signature ice_check; do
    corpus=build/fuzz/corpus/$target
    mkdir -p "$corpus" build/fuzz/artifacts "$seeds/$target"
    echo "-- fuzz_$target for ${FUZZ_SECONDS}s"
    if ! build/fuzz/tests/fuzz/fuzz_$target -max_total_time="$FUZZ_SECONDS" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/ \
      "$corpus" "$seeds/$target" >build/fuzz/fuzz_$target.log 2>&1; then
      echo "fuzz_$target found a failure; see build/fuzz/fuzz_$target.log and build/fuzz/artifacts/"
      tail -n 40 build/fuzz/fuzz_$target.log
      rc=1
    else
      grep -E "^stat::number_of_executed_units|^Done" build/fuzz/fuzz_$target.log
    fi
  done
  return $rc
}

stage install-deps scripts/install-deps.sh
stage format check_format
stage unit-tests unit_tests
stage sanitizer-tests sanitizer_tests
stage fuzz fuzz

echo
if ((failed > 0)); then echo "failed stages: ${failed_names[*]}"; fi
echo "stages: $passed passed, $failed failed"
((failed == 0))
