#!/usr/bin/env bash
# Configures and builds metaevo (Release) into build/ (or $METAEVO_BUILD_DIR). Extra args go to cmake --build.
#   build.sh --sanitize [ARGS]: the AddressSanitizer + UBSan build (RelWithDebInfo, no benchmarks) into
#   build-sanitize/ (or $METAEVO_SANITIZE_BUILD_DIR); see docs/testing.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${METAEVO_JOBS:-$(nproc)}
if [[ ${1:-} == --sanitize ]]; then
  shift
  build=${METAEVO_SANITIZE_BUILD_DIR:-$root/build-sanitize}
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMETAEVO_SANITIZE=ON \
    -DMETAEVO_BUILD_BENCHMARKS=OFF >/dev/null
else
  build=${METAEVO_BUILD_DIR:-$root/build}
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMETAEVO_SANITIZE=OFF >/dev/null
fi
cmake --build "$build" -j "$jobs" "$@"
