#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + coverage) in their
# own build directory and runs each for a given time.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     targets: review yaml http (default: all)
#
# Environment: FUZZ_BUILD_DIR (default build/fuzz), FUZZ_CXX (default clang++),
# FUZZ_JOBS (build parallelism, default 2).
#
# Each target starts from the seeds made from tests/testdata plus the corpus
# kept in the build directory from earlier runs. A crash, leak, timeout or
# sanitizer report fails the script; the input is left in
# $FUZZ_BUILD_DIR/artifacts/<target>/ and belongs, once fixed, in
# tests/fuzz/regressions/<target>/ (replayed by the fuzz.replay.* tests).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-15}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(review yaml http)
build="${FUZZ_BUILD_DIR:-$root/build/fuzz}"
cxx="${FUZZ_CXX:-clang++}"
mkdir -p "$build"

# One build at a time in this directory (ctest presets may run concurrently).
exec 9>"$build/.lock"
flock 9

flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE= \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DASM_EGRESS_FUZZ=ON -DASM_EGRESS_SANITIZE=OFF -DASM_EGRESS_WARNINGS_AS_ERRORS=OFF \
    -DASM_EGRESS_BUILD_BENCH=OFF >/dev/null
fi
build_started=$(date +%s)
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "${targets[@]/#/fuzz_}" >"$build/build.log" 2>&1 || {
  tail -50 "$build/build.log"
  exit 1
}
echo "built ${targets[*]} in $(( $(date +%s) - build_started ))s ($build)"

python3 "$here/make_corpus.py" "$root/tests/testdata" "$build/seeds"
# A small quarantine, pages given back at once: ASan's defaults would count
# against the RSS limit (tests/fuzz/CMakeLists.txt says more).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:quarantine_size_mb=8:thread_local_quarantine_size_kb=64:allocator_release_to_os_interval_ms=0:malloc_context_size=10}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# The same limits as tests/fuzz/CMakeLists.txt: inputs reach past every limit
# the targets enforce; the RSS limit is the server's memory budget.
declare -A max_len=([review]=65536 [http]=81920 [yaml]=16384)
rss_limit_mb=96

failed=0
printf '%-8s %10s %8s %8s %8s %8s %s\n' target execs exec/s cov ft corpus result
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target/"
  mkdir -p "$corpus" "$artifacts"
  log="$build/$target.log"
  status=0
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb="$rss_limit_mb" \
    -max_len="${max_len[$target]}" -len_control=0 -print_final_stats=1 -artifact_prefix="$artifacts" \
    -dict="$here/dict/$target.dict" "$corpus" "$build/seeds/$target" "$here/regressions/$target" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  result=ok
  if [ "$status" -ne 0 ] || ls "$artifacts" | grep -qE '^(crash|leak|timeout|oom)-'; then
    result="FAILED (exit $status, inputs in $artifacts)"
    failed=1
    grep -E 'ERROR|property violated|SUMMARY|runtime error' "$log" | head -20 >&2 || true
  fi
  printf '%-8s %10s %8s %8s %8s %8s %s\n' "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$result"
done
exit "$failed"
