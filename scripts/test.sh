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
ctest --output-on-failure --no-tests=error -j "${METAEVO_JOBS:-$(nproc)}" "$@"
