#!/usr/bin/env bash
# Issue 18, item 3: metaevo's parallel efficiency at 64 ranks with 1, 2 and 4 islands against an
# ideal dispatcher (experiments/benchmarks/ideal_dispatcher.cpp) with the same layout, for 100 ms
# and 10 ms sleeping evaluations. Builds what it needs, runs metaevo and the ideal interleaved
# (REPETITIONS times each), and prints the Markdown table (also written to $OUT/table.md) with the
# medians and the ratio metaevo / ideal. About 4 minutes on 2 cores with the default settings.
#
#   experiments/benchmarks/run_island_efficiency.sh
#
# Environment: METAEVO_BUILD_DIR (default build/), OUT (default /tmp/metaevo-island-efficiency),
# POPULATION (default: 4 rounds of the smallest island's workers, below), RANKS (default 64), REPETITIONS (default 3), ISLANDS (default "1 2 4"), DURATIONS in seconds
# (default "0.1 0.01"), GENERATIONS_100MS (default 10), GENERATIONS_10MS (default 40), VARIANTS
# (default "defaults nocommit") and MPIRUN_EXTRA (extra mpirun flags for both programs, e.g.
# "--mca btl_vader_eager_limit 65536"), IDEAL_FLAGS (extra ideal_dispatcher flags, e.g. "--queue-ahead"
# to give the ideal metaevo's queued second request per worker: a like-for-like comparison).
#
# VARIANTS: which metaevo configs run (each against the same ideal):
#   defaults  what a new user gets: validation on (16 tasks x 2 candidates re-scored after every
#             generation, a round of work the efficiency does not count) and a checkpoint commit
#             after every generation ([checkpoint] every_generations = 1, four fsyncs);
#   plain     validation_tasks = 0, checkpoints as by default;
#   nocommit  validation_tasks = 0 and [checkpoint] every_generations = 0 (one commit at the end):
#             what is left is the runtime itself (dispatch, strategy, HDF5 appends).
#
# An island count > 1 runs with an [islands] section; a metaevo without islands rejects it, and the
# table then shows that count as "unavailable" (the ideal still runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${METAEVO_BUILD_DIR:-$root/build}
out=${OUT:-/tmp/metaevo-island-efficiency}
ranks=${RANKS:-64}
repetitions=${REPETITIONS:-3}
islands_list=${ISLANDS:-1 2 4}
durations=${DURATIONS:-0.1 0.01}
generations_100ms=${GENERATIONS_100MS:-10}
generations_10ms=${GENERATIONS_10MS:-40}
variants=${VARIANTS:-defaults nocommit}
python=/usr/bin/python3  # Debian's, with python3-h5py
read -r -a extra <<<"${MPIRUN_EXTRA:-}"
read -r -a ideal_flags <<<"${IDEAL_FLAGS:-}"

METAEVO_BUILD_DIR=$build "$root/scripts/build.sh" --target metaevo_cli ideal_dispatcher >/dev/null
metaevo=$build/metaevo
ideal=$build/experiments/benchmarks/ideal_dispatcher

mpirun_flags=(--oversubscribe)
if [[ $(id -u) == 0 ]]; then mpirun_flags+=(--allow-run-as-root); fi
export HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--gl}  # as metaevo sets for itself: no X display probe at start
run_mpi() { mpirun "${mpirun_flags[@]}" "${extra[@]}" "$@"; }

# Workers of a layout: rank 0 is the master (1 island) or the recorder (K > 1, then the first rank
# of each of the K blocks is a master).
workers_of() { if (($1 == 1)); then echo $((ranks - 1)); else echo $((ranks - 1 - $1)); fi; }
# The smallest island's workers: ranks 1..N-1 in K blocks as equal as possible.
smallest_island() { if (($1 == 1)); then echo $((ranks - 1)); else echo $(((ranks - 1) / $1 - 1)); fi; }
# Population per island: 4 rounds of the smallest island's workers. With 64 ranks: 1 island, 63
# workers: 252 (4 whole rounds); 2 islands of 31 and 30 workers: 120 (whole rounds for 30, the
# other's 4th round is 27 of 31); 4 islands of 15, 15, 15, 14 workers: 56 (whole for 14, the others'
# 4th round 11 of 15). A population of 4 x the larger islands' workers would give the smaller one a
# 5th round of 4 evaluations per generation, a 20 % loss; this way every island takes 4 rounds and
# the loss (1.6 % and 5.1 % of the slots) is the same in the ideal, so the ratio cancels it.
population_of() { echo $((4 * $(smallest_island "$1"))); }

write_config() {  # FILE POPULATION GENERATIONS STEP_SLEEP ISLANDS VARIANT
  local validation="" checkpoint=""
  if [[ $6 != defaults ]]; then validation="validation_tasks = 0"; fi
  if [[ $6 == nocommit ]]; then checkpoint=$'\n[checkpoint]\nevery_generations = 0'; fi
  cat >"$1" <<EOF
[run]
seed = 11
generations = $3
mode = "generational"

[ga]
population_size = $2

[evaluation]
tasks_per_evaluation = 1
inner_steps = 10
holdout_tasks = 0
$validation

[update_rule]
family = "sgd"

[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 1.0 }

[[tasks]]
family = "synthetic"
dimension = 1
step_sleep_seconds = $4
$checkpoint
EOF
  if (($5 > 1)); then
    cat >>"$1" <<EOF

[islands]
count = $5
migration_interval = 5
migration_size = 2
topology = "ring"
EOF
  fi
}

now() { echo "$EPOCHREALTIME"; }
elapsed() { "$python" -c "print(f'{$2 - $1:.3f}')"; }

mkdir -p "$out/configs" "$out/runs"
rm -rf "$out"/runs/*
printf 'program\tvariant\tduration_s\tislands\tworkers\tpopulation\tgenerations\trepetition\tstatus\tfile\tprocess_wall\n' \
  >"$out/runs.tsv"
declare -A unavailable=()  # island counts this metaevo cannot run
load_start=$(cut -d" " -f1-3 /proc/loadavg)

for repetition in $(seq 1 "$repetitions"); do
  for duration in $durations; do
    generations=$generations_100ms
    if [[ $duration != 0.1 ]]; then generations=$generations_10ms; fi
    step_sleep=$("$python" -c "print($duration / 10)")  # 10 sleeping loss_and_gradient calls per evaluation
    for islands in $islands_list; do
      population=${POPULATION:-$(population_of "$islands")}
      workers=$(workers_of "$islands")
      tag=$duration-$islands-$repetition

      # metaevo, generational, K islands, each variant
      for variant in $variants; do
        file=$out/runs/metaevo-$variant-$tag.h5
        if [[ -n ${unavailable[$islands]:-} ]]; then
          status=unavailable
          wall=0
        else
          config=$out/configs/metaevo-$variant-$duration-$islands.toml
          write_config "$config" "$population" "$generations" "$step_sleep" "$islands" "$variant"
          start=$(now)
          if run_mpi -np "$ranks" "$metaevo" run "$config" --out "$file" --force -q >"$file.log" 2>&1; then
            status=ok
          else
            status=unavailable
            unavailable[$islands]=1
            echo "metaevo with $islands islands failed (see $file.log):" \
              "$(grep -m1 -i 'error' "$file.log" || tail -1 "$file.log")" >&2
          fi
          finish=$(now)
          wall=$(elapsed "$start" "$finish")
        fi
        printf 'metaevo\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$duration" "$islands" "$workers" \
          "$population" "$generations" "$repetition" "$status" "$file" "$wall" >>"$out/runs.tsv"
        echo "metaevo $variant ${duration}s islands=$islands P=$population G=$generations #$repetition: $status ${wall} s" >&2
      done

      # the ideal dispatcher, same layout
      file=$out/runs/ideal-$tag.txt
      start=$(now)
      run_mpi -np "$ranks" "$ideal" --duration "$duration" --population "$population" --generations "$generations" \
        --groups "$islands" "${ideal_flags[@]}" >"$file"
      finish=$(now)
      wall=$(elapsed "$start" "$finish")
      printf 'ideal\t-\t%s\t%s\t%s\t%s\t%s\t%s\tok\t%s\t%s\n' "$duration" "$islands" "$workers" "$population" \
        "$generations" "$repetition" "$file" "$wall" >>"$out/runs.tsv"
      echo "ideal    ${duration}s groups=$islands: $(grep -o 'efficiency=[0-9.]*' "$file") ${wall} s" >&2
    done
  done
done

{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores" \
    "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(mpirun --version | head -1)," \
    "load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg); $ranks ranks, medians of $repetitions${IDEAL_FLAGS:+, ideal_dispatcher $IDEAL_FLAGS}"
  echo
  "$python" "$root/experiments/benchmarks/efficiency.py" islands "$out"
} | tee "$out/table.md"
