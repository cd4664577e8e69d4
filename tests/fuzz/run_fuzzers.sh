#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan; METAEVO_FUZZ=ON in build-fuzz/, or
# $METAEVO_FUZZ_BUILD_DIR) and runs each for a fixed number of inputs from its seeds,
# tests/fuzz/corpus/<target>/. Exits non-zero on any finding (crash, sanitizer report, uncaught
# exception, timeout, out-of-memory): libFuzzer writes the input to build-fuzz/findings/<target>/.
# Keep each one as tests/fuzz/regressions/<target>/<name> once fixed (docs/testing.md).
#   run_fuzzers.sh [TARGET...]      default: every target
#   METAEVO_FUZZ_RUNS=N             inputs per target (default 20000; the run_file targets a tenth)
#   METAEVO_FUZZ_SEED=N             libFuzzer's random seed (default 1: the same inputs every run)
#   METAEVO_FUZZ_NO_BUILD=1         skip the build
#   METAEVO_FUZZ_SMALL_DIMS=1       run_file_structure: no huge dimensions (explores past the pending
#                                   huge-size finding, tests/fuzz/regressions/pending.txt)
# Everything runs at the lowest priority (nice 19) on one core.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${METAEVO_FUZZ_BUILD_DIR:-$root/build-fuzz}
runs=${METAEVO_FUZZ_RUNS:-20000}
all=(config exported_rule command_result dataset run_file run_file_structure)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

if [[ -z ${METAEVO_FUZZ_NO_BUILD:-} ]]; then
  nice -n 19 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMETAEVO_FUZZ=ON \
    -DMETAEVO_BUILD_TESTS=OFF -DMETAEVO_BUILD_BENCHMARKS=OFF >/dev/null
  nice -n 19 cmake --build "$build" -j1 $(printf -- '--target fuzz_%s ' "${targets[@]}")
fi

# Inputs per target larger than the seeds need a larger -max_len (the run files are ~65 kB).
max_len() {
  case $1 in
    run_file) echo 70000 ;;
    run_file_structure) echo 256 ;;
    *) echo 8192 ;;
  esac
}
# The run-file targets open, copy and read HDF5 files: ~10x slower per input.
runs_of() {
  case $1 in
    run_file | run_file_structure) echo $((runs / 10)) ;;
    *) echo "$runs" ;;
  esac
}

status=0
for target in "${targets[@]}"; do
  work=$build/fuzz-corpus/$target   # what libFuzzer adds to the seeds (not kept in git)
  findings=$build/findings/$target
  mkdir -p "$work" "$findings"
  log=$build/fuzz-$target.log
  echo "== fuzz_$target: $(runs_of "$target") inputs (log $log)"
  start=$SECONDS
  # -timeout: one input taking longer is a hang; -rss_limit_mb/-malloc_limit_mb: a size read from
  # the input must not allocate gigabytes. Leaks are checked (LeakSanitizer) for every input.
  # fast_unwind_on_malloc=0 for the targets that read HDF5: whole allocation stacks through libhdf5
  # (no frame pointers), which the suppression of HDF5's own leak needs (lsan.supp); 4x slower.
  unwind=1
  [[ $target == dataset || $target == run_file* ]] && unwind=0
  # allocator_may_return_null=1: malloc returns NULL for an impossible size, as glibc's does. HDF5
  # mallocs sizes read from a corrupt file (a local heap of 7 EB) and reports NULL as an error; our
  # own code allocates with new, which ASan still reports as out-of-memory: a finding.
  if ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=$unwind:allocator_may_return_null=1 \
    LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0 UBSAN_OPTIONS=print_stacktrace=1 \
    nice -n 19 "$build/tests/fuzz/fuzz_$target" -runs="$(runs_of "$target")" -max_len="$(max_len "$target")" \
      -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -seed="${METAEVO_FUZZ_SEED:-1}" -print_final_stats=1 \
      -artifact_prefix="$findings/" "$work" "$root/tests/fuzz/corpus/$target" >"$log" 2>&1; then
    echo "   ok in $((SECONDS - start)) s: $(grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" | tr '\n' ' ')"
  else
    status=1
    echo "   FINDING in fuzz_$target after $((SECONDS - start)) s; the input is in $findings/:" >&2
    grep -E '^==[0-9]+==ERROR|runtime error|SUMMARY|deadly signal|uncaught|Timeout|out-of-memory' "$log" | head -5 >&2 || true
  fi
done
exit "$status"
