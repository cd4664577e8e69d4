#!/usr/bin/env bash
# The roofline figure of docs/benchmarks.md: builds roofline_benchmark in each given build directory,
# runs it pinned to one core and plots GEMM GFLOP/s in the MLP layer shapes against the measured
# multiply-add peak, one panel per build; prints the numbers with each product's share of the peak.
#
#   experiments/benchmarks/run_roofline.sh [LABEL=BUILD_DIR ...]
#
# Default: generic=build/. For the -march=native panel, configure a second build directory first:
#   cmake -S . -B build-native -DMETAEVO_NATIVE=ON
#   experiments/benchmarks/run_roofline.sh generic=build native=build-native
# Environment: OUT (default /tmp/metaevo-roofline; the figure is $OUT/roofline.png), CORE (default 0).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/metaevo-roofline}
core=${CORE:-0}
python=/usr/bin/python3  # Debian's, with python3-matplotlib
builds=("$@")
if [[ ${#builds[@]} == 0 ]]; then builds=("generic=$root/build"); fi

pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$core"); fi
mkdir -p "$out"
uptime | tee "$out/load.txt"
plot_arguments=()
for build in "${builds[@]}"; do
  label=${build%%=*}
  directory=$(cd "${build#*=}" && pwd)
  METAEVO_BUILD_DIR=$directory "$root/scripts/build.sh" --target roofline_benchmark >/dev/null
  "${pin[@]}" "$directory/experiments/benchmarks/roofline_benchmark" --benchmark_min_time=0.5 \
    --benchmark_format=json >"$out/$label.json"
  plot_arguments+=("$label=$out/$label.json")
done
"$python" "$root/experiments/benchmarks/plot_roofline.py" "$out/roofline.png" "${plot_arguments[@]}"
echo "$out/roofline.png"
