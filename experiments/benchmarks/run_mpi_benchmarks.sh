#!/usr/bin/env bash
# The MPI runtime benchmarks of docs/benchmarks.md: (a) master throughput, (b) parallel efficiency
# with sleeping synthetic tasks (fixed and heavy-tailed), (c) the quickstart in one process vs
# mpirun -np 2. Builds what it needs, runs everything (about 6 minutes on 2 cores) and prints the
# Markdown tables (also written to $OUT/tables.md).
#
#   experiments/benchmarks/run_mpi_benchmarks.sh
#
# Environment: METAEVO_BUILD_DIR (default build/), OUT (default /tmp/metaevo-mpi-benchmarks),
# REPETITIONS of each efficiency run (default 3), DISPATCH_EVALUATIONS (default 20000), PARTS
# (default "a b c": which parts to (re)run; the raw results of the others stay in $OUT).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${METAEVO_BUILD_DIR:-$root/build}
out=${OUT:-/tmp/metaevo-mpi-benchmarks}
repetitions=${REPETITIONS:-3}
dispatch_evaluations=${DISPATCH_EVALUATIONS:-20000}
parts=${PARTS:-a b c}
python=/usr/bin/python3  # Debian's, with python3-h5py
runs_part() { [[ " $parts " == *" $1 "* ]]; }

METAEVO_BUILD_DIR=$build "$root/scripts/build.sh" --target metaevo_cli mpi_dispatch_benchmark >/dev/null
metaevo=$build/metaevo
dispatch=$build/experiments/benchmarks/mpi_dispatch_benchmark

# Many ranks on 2 cores need --oversubscribe; Open MPI refuses root without the flag.
mpirun_flags=(--oversubscribe)
if [[ $(id -u) == 0 ]]; then mpirun_flags+=(--allow-run-as-root); fi
run_mpi() { mpirun "${mpirun_flags[@]}" "$@"; }

mkdir -p "$out/configs" "$out/runs"

# Seconds since the epoch, to the microsecond (bash 5).
now() { echo "$EPOCHREALTIME"; }
elapsed() { "$python" -c "print(f'{$2 - $1:.3f}')"; }

# A synthetic config: tasks_per_evaluation 1, inner_steps 10, step_sleep_seconds 0.01. The inner
# loop calls loss_and_gradient once before the first step and after each step but the last (which
# calls loss(), free): 10 sleeping calls, 100 ms (times the task's Pareto factor) per evaluation.
write_config() {  # FILE MODE POPULATION GENERATIONS TAIL
  local tail_lines=""
  if [[ $5 == pareto ]]; then tail_lines=$'sleep_tail = "pareto"\npareto_shape = 1.5'; fi
  cat >"$1" <<EOF
[run]
seed = 11
generations = $4
mode = "$2"

[ga]
population_size = $3

[evaluation]
tasks_per_evaluation = 1
inner_steps = 10
holdout_tasks = 0

[update_rule]
family = "sgd"

[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 1.0 }

[[tasks]]
family = "synthetic"
dimension = 1
step_sleep_seconds = 0.01
$tail_lines
EOF
}

if runs_part a; then
echo "== (a) master throughput" >&2
{
  "$dispatch" --evaluations "$dispatch_evaluations" --repetitions 7
  for ranks in 2 4 8; do
    run_mpi -np "$ranks" "$dispatch" --evaluations "$dispatch_evaluations" --repetitions 7
  done
} | tee "$out/dispatch.txt" >&2
fi

if runs_part b; then
echo "== (b) MPI start-up and teardown" >&2
printf 'ranks\trepetition\twall\n' >"$out/startup.tsv"
for repetition in 1 2 3; do
  for ranks in 2 8 32 64; do
    start=$(now)
    run_mpi -np "$ranks" "$metaevo" --version >/dev/null  # MPI_Init, parse, MPI_Finalize: no work
    finish=$(now)
    printf '%s\t%s\t%s\n' "$ranks" "$repetition" "$(elapsed "$start" "$finish")" >>"$out/startup.tsv"
  done
done

echo "== (b) parallel efficiency" >&2
rm -f "$out"/runs/fixed-* "$out"/runs/pareto-*
printf 'part\tmode\tranks\tpopulation\tgenerations\trepetition\tfile\tprocess_wall\n' >"$out/runs.tsv"
efficiency_run() {  # PART MODE RANKS POPULATION GENERATIONS REPETITION TAIL
  local config=$out/configs/$1-$2-$3.toml file=$out/runs/$1-$2-$3-$6.h5 start finish wall
  write_config "$config" "$2" "$4" "$5" "$7"
  start=$(now)
  run_mpi -np "$3" "$metaevo" run "$config" --out "$file" --force -q >"$file.log"
  finish=$(now)
  wall=$(elapsed "$start" "$finish")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$file" "$wall" >>"$out/runs.tsv"
  echo "$1 $2 np=$3 population=$4 generations=$5 #$6: ${wall} s" >&2
}
# Population = 4 x workers and 10 generations: every run is 40 rounds of 100 ms (4 s ideal) whatever
# the rank count, and a generation is a whole number of rounds.
for repetition in $(seq 1 "$repetitions"); do
  for ranks in 2 8 32 64; do
    for mode in generational steady_state; do
      efficiency_run fixed "$mode" "$ranks" $((4 * (ranks - 1))) 10 "$repetition" fixed
    done
  done
done
for mode in generational steady_state; do
  efficiency_run pareto "$mode" 64 252 10 1 pareto
done

# In a metaevo run all genomes of a generation share their tasks (common random numbers), so the
# Pareto factor varies between generations, not between the evaluations of one. Per-evaluation
# stragglers at the executor level: every request its own task, dispatched in population-sized
# batches (generational) or continuously (steady_state).
echo "== (b) per-evaluation stragglers (executor level)" >&2
write_config "$out/configs/straggler.toml" generational 4 1 pareto
{
  for batch in 252 0; do
    run_mpi -np 64 "$dispatch" --config "$out/configs/straggler.toml" --evaluations 2520 --batch-size "$batch" \
      --repetitions 1 --no-warmup
  done
} | tee "$out/straggler.txt" >&2
fi

if runs_part c; then
echo "== (c) quickstart: one process vs mpirun -np 2" >&2
printf 'variant\trepetition\twall\tmaster_cpu\n' >"$out/quickstart.tsv"
for repetition in 1 2 3; do  # interleaved, so drifting machine load hits both alike
  for variant in single mpi2; do
    file=$out/runs/quickstart-$variant-$repetition.h5
    start=$(now)
    arguments=(run "$root/experiments/quickstart.toml" --out "$file" --force -q)
    # /usr/bin/time on rank 0 only (MPMD syntax): the CPU time the master (or the one process) used.
    if [[ $variant == single ]]; then
      /usr/bin/time -o "$file.cpu" -f '%U %S' "$metaevo" "${arguments[@]}" >"$file.log"
    else
      run_mpi -np 1 /usr/bin/time -o "$file.cpu" -f '%U %S' "$metaevo" "${arguments[@]}" : \
        -np 1 "$metaevo" "${arguments[@]}" >"$file.log"
    fi
    finish=$(now)
    label=$([[ $variant == single ]] && echo "single process" || echo "mpirun -np 2 (1 worker)")
    cpu=$(awk '{printf "%.2f", $1 + $2}' "$file.cpu")
    printf '%s\t%s\t%s\t%s\n' "$label" "$repetition" "$(elapsed "$start" "$finish")" "$cpu" >>"$out/quickstart.tsv"
  done
done
# A run's rows are in its segment files: compare the flattened runs (scripts/read_run.py --flatten).
for variant in single mpi2; do
  "$python" "$root/scripts/read_run.py" "$out/runs/quickstart-$variant-1.h5" --flatten "$out/runs/quickstart-$variant-1.flat.h5"
done
{
  for dataset in /generations/fitness /generations/genes /holdout; do
    if h5diff "$out/runs/quickstart-single-1.flat.h5" "$out/runs/quickstart-mpi2-1.flat.h5" "$dataset" >/dev/null 2>&1; then
      echo "h5diff single vs mpirun -np 2, $dataset: identical"
    else
      echo "h5diff single vs mpirun -np 2, $dataset: DIFFERENT"
    fi
  done
} >"$out/h5diff.txt"
fi

{
  echo "Measured $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(mpirun --version | head -1)"
  echo
  "$python" "$root/experiments/benchmarks/efficiency.py" report "$out"
} | tee "$out/tables.md"
