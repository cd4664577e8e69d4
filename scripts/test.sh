#!/usr/bin/env bash
# Installs what is missing, builds everything (Release) and runs the whole test suite with ctest.
# Fails when a test fails or when no test ran.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${METAEVO_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
echo "== building metaevo (Release) in $build"
"$root/scripts/build.sh"
echo "== running the test suite"
cd "$build"
status=0
ctest --output-on-failure --no-tests=error -j "${METAEVO_JOBS:-$(nproc)}" "$@" || status=$?
# ctest shows no output of a skipped test: print the reason each one gave (its "SKIPPED: ..." line).
if [[ -f Testing/Temporary/LastTest.log ]]; then
  grep -h '^SKIPPED: ' Testing/Temporary/LastTest.log | sed 's/^/test.sh: /' || true
fi
exit "$status"
