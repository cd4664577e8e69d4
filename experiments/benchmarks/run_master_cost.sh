#!/usr/bin/env bash
# Issue 18, item 4: the master's cost per evaluation c(genes), the input of the scaling model in
# docs/benchmarks.md. For 5 and 5,000 genes (message size) and a few rank counts, runs, interleaved,
#   metaevo's MpiExecutor  (mpi_dispatch_benchmark --genes G: near-zero-cost evaluations; wall /
#                           evaluations bounds the master's cost per evaluation from above)
#   the ideal dispatcher   (ideal_dispatcher --duration 0 --genes G: the same message, no evaluator,
#                           no metaevo serialization of requests and results)
# and prints the medians and the ratio metaevo / ideal (also written to $OUT/table.md).
#
#   experiments/benchmarks/run_master_cost.sh
#
# Environment: METAEVO_BUILD_DIR (default build/), OUT (default /tmp/metaevo-master-cost), RANKS
# (default "2 8 64"), REPETITIONS (default 3 rounds of both programs; each program reports the median
# of 5 timed batches after a warm-up one), MPIRUN_EXTRA (extra mpirun flags).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${METAEVO_BUILD_DIR:-$root/build}
out=${OUT:-/tmp/metaevo-master-cost}
ranks_list=${RANKS:-2 8 64}
repetitions=${REPETITIONS:-3}
read -r -a extra <<<"${MPIRUN_EXTRA:-}"

METAEVO_BUILD_DIR=$build "$root/scripts/build.sh" --target mpi_dispatch_benchmark ideal_dispatcher >/dev/null
dispatch=$build/experiments/benchmarks/mpi_dispatch_benchmark
ideal=$build/experiments/benchmarks/ideal_dispatcher

mpirun_flags=(--oversubscribe)
if [[ $(id -u) == 0 ]]; then mpirun_flags+=(--allow-run-as-root); fi
export HWLOC_COMPONENTS=${HWLOC_COMPONENTS:--gl}
run_mpi() { mpirun "${mpirun_flags[@]}" "${extra[@]}" "$@"; }

mkdir -p "$out"
: >"$out/results.txt"
load_start=$(cut -d" " -f1-3 /proc/loadavg)
for repetition in $(seq 1 "$repetitions"); do
  for genes in 5 5000; do
    # Fewer evaluations of the large message: each moves about 82 kB.
    evaluations=$((genes == 5 ? 20000 : 2000))
    for ranks in $ranks_list; do
      result=$(run_mpi -np "$ranks" "$dispatch" --genes "$genes" --evaluations "$evaluations" --repetitions 5 | grep '^RESULT')
      echo "$result program=metaevo round=$repetition" >>"$out/results.txt"
      echo "metaevo genes=$genes np=$ranks #$repetition: $(grep -o 'us_per_evaluation=[0-9.]*' <<<"$result")" >&2
      # the ideal: one generation of all the evaluations (continuous dispatch, as the benchmark's one
      # batch), 5 timed repetitions after a warm-up: their median
      result=$(run_mpi -np "$ranks" "$ideal" --duration 0 --genes "$genes" --population "$evaluations" --generations 1 \
        --repetitions 5 --warmup | grep '^RESULT')
      median=$(grep -o 'us_per_evaluation=[0-9.]*' <<<"$result" | cut -d= -f2 | sort -g | sed -n 3p)
      echo "RESULT program=ideal genes=$genes ranks=$ranks round=$repetition us_per_evaluation=$median" >>"$out/results.txt"
      echo "ideal   genes=$genes np=$ranks #$repetition: us_per_evaluation=$median" >&2
    done
  done
done

{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores" \
    "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(mpirun --version | head -1)," \
    "load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg); medians of $repetitions rounds"
  echo
  /usr/bin/python3 - "$out/results.txt" <<'EOF'
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        rows.append(dict(item.split("=", 1) for item in line.split()[1:]))
cost = {}
genes_in_genome = {}
for row in rows:
    key = (int(row["genes"]) if row["program"] == "ideal" else (5 if int(row["genes"]) < 100 else 5000), int(row["ranks"]))
    if row["program"] == "metaevo":
        genes_in_genome[key[0]] = int(row["genes"])
    cost.setdefault(key + (row["program"],), []).append(float(row["us_per_evaluation"]))
print("| genes (metaevo genome) | request size | ranks | workers | metaevo µs / evaluation (median; range) "
      "| ideal µs / evaluation (median; range) | metaevo / ideal |")
print("|---|---|---|---|---|---|---|")
for genes, ranks in sorted({(g, r) for g, r, _ in cost}):
    metaevo = cost.get((genes, ranks, "metaevo"), [])
    ideal = cost.get((genes, ranks, "ideal"), [])
    if not metaevo or not ideal:
        continue
    size = "{:.0f} kB".format(16 * genes_in_genome.get(genes, genes) / 1e3) if genes > 100 else "< 1 kB"
    print("| {} ({}) | {} | {} | {} | {:.1f} ({:.1f}–{:.1f}) | {:.1f} ({:.1f}–{:.1f}) | {:.2f} |".format(
        genes, genes_in_genome.get(genes, "?"), size, ranks, ranks - 1, statistics.median(metaevo), min(metaevo),
        max(metaevo), statistics.median(ideal), min(ideal), max(ideal),
        statistics.median(metaevo) / statistics.median(ideal)))
EOF
} | tee "$out/table.md"
