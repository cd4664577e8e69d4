#!/usr/bin/env bash
# Issue 18, item 1: evaluations per second of the MLP training 32-64-64-10 (tanh, 128 samples, full
# batch, 200 Adam steps) in metaevo, in a hand-written allocation-free Eigen version (float64 and
# float32, same compiler flags) and in PyTorch (float32 and float64, one thread, /usr/bin/python3).
# Builds what it needs, then runs ROUNDS rounds, each running every contender once, alternating,
# on one core (taskset), so machine load hits all of them alike; prints the medians and ratios
# (also written to $OUT/summary.md).
#
#   experiments/benchmarks/run_inner_loop_comparison.sh
#
# Environment: METAEVO_BUILD_DIR (default build/), OUT (default /tmp/metaevo-inner-loop-comparison),
# ROUNDS (default 5), SECONDS_PER_RUN (default 2: each contender's measuring time per round), CORE
# (default 0: the core taskset pins to).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${METAEVO_BUILD_DIR:-$root/build}
out=${OUT:-/tmp/metaevo-inner-loop-comparison}
rounds=${ROUNDS:-5}
seconds=${SECONDS_PER_RUN:-2}
core=${CORE:-0}
python=/usr/bin/python3  # Debian's, with python3-torch

METAEVO_BUILD_DIR=$build "$root/scripts/build.sh" --target mlp_training_comparison_benchmark >/dev/null
benchmark=$build/experiments/benchmarks/mlp_training_comparison_benchmark

pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$core"); fi

mkdir -p "$out"
rm -f "$out"/round_*.json "$out"/round_*.jsonl
uptime | tee "$out/load_before.txt"
for round in $(seq 1 "$rounds"); do
  echo "round $round/$rounds" >&2
  "${pin[@]}" "$benchmark" --benchmark_min_time="$seconds" --benchmark_format=json \
    >"$out/round_${round}_cpp.json"
  "${pin[@]}" "$python" "$root/experiments/benchmarks/mlp_training_pytorch.py" "$seconds" \
    >"$out/round_${round}_pytorch.jsonl"
done
uptime | tee "$out/load_after.txt"
"$python" "$root/experiments/benchmarks/summarize_inner_loop_comparison.py" "$out" | tee "$out/summary.md"
