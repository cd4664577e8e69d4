#!/usr/bin/env bash
# Configures and builds metaevo (Release) into build/ (or $METAEVO_BUILD_DIR). Extra args go to cmake --build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${METAEVO_BUILD_DIR:-$root/build}
jobs=${METAEVO_JOBS:-$(nproc)}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs" "$@"
