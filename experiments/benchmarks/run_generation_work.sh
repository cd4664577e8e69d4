#!/usr/bin/env bash
# What taking the per-generation work off the critical path would gain (docs/benchmarks.md, section
# (d), recommendation 1), measured on the ideal dispatcher: at 64 ranks, its master sleeps S seconds
# per generation (a stand-in for metaevo's store step and commit, which are mostly fsync waits),
# either between generations as metaevo does today (--overlap none) or on a second thread while it
# dispatches the next generation (--overlap thread). Interleaved, REPETITIONS (default 3) times;
# prints each efficiency (median) and its ratio to the ideal without work (also to $OUT/table.md).
#
#   experiments/benchmarks/run_generation_work.sh
#
# Environment: METAEVO_BUILD_DIR, OUT (default /tmp/metaevo-generation-work), RANKS (64),
# REPETITIONS (3), CASES: "duration:population:generations:work ..." (default: 10 ms with 3, 26 and
# 45 ms of work, 100 ms with 38 and 167 ms: the generation gaps metaevo showed in section (d)).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${METAEVO_BUILD_DIR:-$root/build}
out=${OUT:-/tmp/metaevo-generation-work}
ranks=${RANKS:-64}
repetitions=${REPETITIONS:-3}
cases=${CASES:-0.01:252:40:0 0.01:252:40:0.003 0.01:252:40:0.026 0.01:252:40:0.045 0.1:252:10:0 0.1:252:10:0.038 0.1:252:10:0.167}

METAEVO_BUILD_DIR=$build "$root/scripts/build.sh" --target ideal_dispatcher >/dev/null
ideal=$build/experiments/benchmarks/ideal_dispatcher
mpirun_flags=(--oversubscribe)
if [[ $(id -u) == 0 ]]; then mpirun_flags+=(--allow-run-as-root); fi
export HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--gl}

mkdir -p "$out"
: >"$out/results.txt"
load_start=$(cut -d" " -f1-3 /proc/loadavg)
for repetition in $(seq 1 "$repetitions"); do
  for case in $cases; do
    IFS=: read -r duration population generations work <<<"$case"
    overlaps="none thread"
    if [[ $work == 0 ]]; then overlaps=none; fi
    for overlap in $overlaps; do
      mpirun "${mpirun_flags[@]}" -np "$ranks" "$ideal" --duration "$duration" --population "$population" \
        --generations "$generations" --generation-work "$work" --overlap "$overlap" | grep '^RESULT' >>"$out/results.txt"
      echo "${duration}s work=${work}s overlap=$overlap #$repetition: $(tail -1 "$out/results.txt" | grep -o 'efficiency=[0-9.]*')" >&2
    done
  done
done

{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores," \
    "$ranks ranks, load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg);" \
    "medians of $repetitions"
  echo
  /usr/bin/python3 - "$out/results.txt" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    fields = dict(item.split("=", 1) for item in line.split()[1:])
    key = (float(fields["duration_s"]), float(fields["generation_work_s"]), fields["overlap"])
    runs.setdefault(key, []).append(float(fields["efficiency"]))
print("| evaluation | work per generation | between generations (as today) | on a second thread | ratio to no work: today / thread |")
print("|---|---|---|---|---|")
for duration in sorted({key[0] for key in runs}, reverse=True):
    base = statistics.median(runs.get((duration, 0.0, "none"), [float("nan")]))
    for work in sorted({key[1] for key in runs if key[0] == duration}):
        today = statistics.median(runs.get((duration, work, "none"), [float("nan")]))
        thread = statistics.median(runs.get((duration, work, "thread"), [float("nan")]))
        print("| {:g} ms | {:g} ms | {:.1f} % | {} | {:.3f} / {} |".format(
            1e3 * duration, 1e3 * work, 100 * today, "-" if work == 0 else "{:.1f} %".format(100 * thread),
            today / base, "-" if work == 0 else "{:.3f}".format(thread / base)))
EOF
} | tee "$out/table.md"
