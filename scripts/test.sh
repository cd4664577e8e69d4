#!/usr/bin/env bash
# Installs what is missing, builds everything (Release) and runs the whole test suite with ctest.
# Fails when a test fails or when no test ran. Extra args go to ctest.
#   test.sh --sanitize [ARGS]: the same suite built with AddressSanitizer + UBSan (build-sanitize/,
#   or $METAEVO_SANITIZE_BUILD_DIR) except the private-Slurm test (label slurm); also fails when
#   any process left a sanitizer report. See docs/testing.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sanitize=0
if [[ ${1:-} == --sanitize ]]; then
  sanitize=1
  shift
fi

"$root/scripts/install-deps.sh"
ctest_args=(--output-on-failure --no-tests=error -j "${METAEVO_JOBS:-$(nproc)}")
if ((sanitize)); then
  build=${METAEVO_SANITIZE_BUILD_DIR:-$root/build-sanitize}
  echo "== building metaevo with -fsanitize=address,undefined in $build"
  "$root/scripts/build.sh" --sanitize
  # The Slurm test starts a private Slurm and takes 200 s; what it runs of metaevo (stop signal,
  # checkpoint, resume, mpirun ranks) the mpirun and PBS tests run too (docs/testing.md).
  ctest_args+=(-LE slurm)
  # tests/CMakeLists.txt points every process's sanitizer reports here (log_path).
  reports=$build/sanitizer-reports
  rm -rf "$reports"
  mkdir -p "$reports"
else
  build=${METAEVO_BUILD_DIR:-$root/build}
  echo "== building metaevo (Release) in $build"
  "$root/scripts/build.sh"
fi
echo "== running the test suite"
cd "$build"
status=0
ctest "${ctest_args[@]}" "$@" || status=$?
# ctest shows no output of a skipped test: print the reason each one gave (its "SKIPPED: ..." line).
if [[ -f Testing/Temporary/LastTest.log ]]; then
  grep -h '^SKIPPED: ' Testing/Temporary/LastTest.log | sed 's/^/test.sh: /' || true
fi
if ((sanitize)); then
  # A report of a process whose failure a test expected, or whose output it discarded, fails the
  # run here even when every test passed.
  # A file holding only allocator_may_return_null's notices (an impossible size HDF5 read from a
  # damaged file, answered with NULL as glibc would) is no finding.
  for report in "$reports"/*; do
    [[ -f $report ]] || continue
    if ! grep -qv "WARNING: AddressSanitizer failed to allocate" "$report"; then rm -f "$report"; fi
  done
  found=$(find "$reports" -type f | sort)
  if [[ -n $found ]]; then
    echo "test.sh: sanitizer reports ($(wc -l <<<"$found") processes):" >&2
    while IFS= read -r report; do
      echo "---- $report" >&2
      cat "$report" >&2
    done <<<"$found"
    status=1
  else
    echo "test.sh: no sanitizer reports"
  fi
fi
exit "$status"
