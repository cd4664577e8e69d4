#!/usr/bin/env bash
# From nothing to a finished meta-optimization run: installs what is missing, builds Release, runs the
# example search (experiments/quickstart.toml) as an MPI job (METAEVO_RANKS ranks, default 3), and
# plots it. Leaves runs/quickstart.h5 and .png.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${METAEVO_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
echo "== building metaevo (Release) in $build"
"$root/scripts/build.sh" --target metaevo_cli >/dev/null

mkdir -p "$root/runs"
run_file=$root/runs/quickstart.h5
# An MPI job: rank 0 is the master (GA, HDF5), the other ranks run the evaluations.
ranks=${METAEVO_RANKS:-3}
# mpirun itself: no X display probe at start-up (see src/runtime/mpi_runtime.cpp).
export HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--gl}
mpirun_flags=(--oversubscribe -np "$ranks")
[[ $(id -u) -eq 0 ]] && mpirun_flags=(--allow-run-as-root "${mpirun_flags[@]}")
echo "== running experiments/quickstart.toml on $ranks MPI ranks -> $run_file"
mpirun "${mpirun_flags[@]}" "$build/metaevo" run "$root/experiments/quickstart.toml" --out "$run_file" --force

echo "== plotting"
/usr/bin/python3 "$root/scripts/plot_run.py" "$run_file" -o "$root/runs/quickstart.png"
