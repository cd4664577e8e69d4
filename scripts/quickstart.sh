#!/usr/bin/env bash
# From nothing to a finished meta-optimization run: installs what is missing, builds Release, runs the
# example search (experiments/quickstart.toml), and plots it. Leaves runs/quickstart.h5 and .png.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${METAEVO_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
echo "== building metaevo (Release) in $build"
"$root/scripts/build.sh" --target metaevo_cli >/dev/null

mkdir -p "$root/runs"
run_file=$root/runs/quickstart.h5
echo "== running experiments/quickstart.toml -> $run_file"
"$build/metaevo" run "$root/experiments/quickstart.toml" --out "$run_file" --force

echo "== plotting"
/usr/bin/python3 "$root/scripts/plot_run.py" "$run_file" -o "$root/runs/quickstart.png"
