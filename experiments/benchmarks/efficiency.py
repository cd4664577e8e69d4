#!/usr/bin/python3
"""Tables of the MPI benchmarks (run_mpi_benchmarks.sh) from their raw results.

    efficiency.py run FILE.h5 --workers W [--process-wall S]   one run file's figures, as JSON
    efficiency.py report OUT_DIR                               every table, as Markdown

From a run file (per evaluation: start_time, end_time on the worker, see docs/hdf5-schema.md):
  ideal      = sum over evaluations of (end_time - start_time) / workers
  span       = last end_time - first start_time   (excludes MPI start-up and teardown)
  efficiency = ideal / span, and ideal / process wall time (everything mpirun took)
  idle gap   = on each worker, start of an evaluation minus end of its previous one: the time a
               worker waited for the master (dispatch latency plus waiting for a generation's
               stragglers), median and mean over all gaps.
  generation gap = first start of generation g+1 minus last end of generation g: the time every
               worker of the run waits at a generation boundary (the master receives the last
               result, runs tell/ask, stores the generation and sends the first request).
  ramp       = per generation, the spread of the first round's start times (the time the master
               takes to hand out one request per worker), median over generations.

    efficiency.py islands OUT_DIR    the table of run_island_efficiency.sh (metaevo vs the ideal)
Needs Debian's h5py (python3-h5py).
"""
import argparse
import json
import os
import statistics
import sys

from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import read_run  # noqa: E402  (scripts/read_run.py)


def run_figures(path, workers, process_wall=None):
    with h5py.File(path, "r") as run:
        completed = int(run["/generations"].attrs["completed_generations"])
        # The rows are in the run's segment files (docs/hdf5-schema.md): scripts/read_run.py joins them.
        start = read_run.read_dataset(Path(path), run, "generations/start_time")[:completed].ravel()
        end = read_run.read_dataset(Path(path), run, "generations/end_time")[:completed].ravel()
        ranks = read_run.read_dataset(Path(path), run, "generations/worker_rank")[:completed].ravel()
    per_generation = start.size // max(completed, 1)
    boundary_gaps = []
    ramps = []
    for generation in range(completed):
        row = slice(generation * per_generation, (generation + 1) * per_generation)
        first_round = np.sort(start[row])[:min(workers, per_generation)]
        ramps.append(float(first_round[-1] - first_round[0]))
        if generation > 0:
            previous = slice((generation - 1) * per_generation, generation * per_generation)
            boundary_gaps.append(float(start[row].min() - end[previous].max()))
    durations = end - start
    ideal = float(durations.sum()) / workers
    span = float(end.max() - start.min())
    gaps = []
    for rank in np.unique(ranks):
        mine = np.argsort(start[ranks == rank])
        rank_start = start[ranks == rank][mine]
        rank_end = end[ranks == rank][mine]
        gaps.extend((rank_start[1:] - rank_end[:-1]).tolist())
    figures = {
        "evaluations": int(durations.size),
        "workers": workers,
        "workers_used": int(np.unique(ranks).size),
        "mean_evaluation_s": float(durations.mean()),
        "max_evaluation_s": float(durations.max()),
        "ideal_s": ideal,
        "span_s": span,
        "efficiency_span": ideal / span,
        "median_gap_ms": 1e3 * float(np.median(gaps)) if gaps else 0.0,
        "mean_gap_ms": 1e3 * float(np.mean(gaps)) if gaps else 0.0,
        "median_generation_gap_ms": 1e3 * float(np.median(boundary_gaps)) if boundary_gaps else 0.0,
        "mean_generation_gap_ms": 1e3 * float(np.mean(boundary_gaps)) if boundary_gaps else 0.0,
        "median_ramp_ms": 1e3 * float(np.median(ramps)) if ramps else 0.0,
    }
    if process_wall is not None:
        figures["process_wall_s"] = process_wall
        figures["efficiency_process"] = ideal / process_wall
    return figures


def read_result_lines(path):
    """RESULT key=value ... lines of mpi_dispatch_benchmark."""
    results = []
    if not os.path.exists(path):
        return results
    with open(path) as lines:
        for line in lines:
            if not line.startswith("RESULT "):
                continue
            fields = dict(item.split("=", 1) for item in line.split()[1:])
            results.append(fields)
    return results


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as lines:
        header = lines.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in lines if line.strip()]


def dispatch_table(out_dir):
    rows = read_result_lines(os.path.join(out_dir, "dispatch.txt"))
    print("| ranks | workers | evaluations | wall (median of {}) | evaluations / s | µs / evaluation |".format(
        rows[0]["repetitions"] if rows else "?"))
    print("|---|---|---|---|---|---|")
    for row in rows:
        label = {"in_process_evaluate": "1 (in process: Evaluator::evaluate)",
                 "in_process_executor": "1 (in process: InProcessExecutor)"}.get(row["mode"], row["ranks"])
        workers = "-" if row["mode"] != "mpi" else row["workers"]
        print("| {} | {} | {} | {:.1f} ms | {:,.0f} | {:.2f} |".format(
            label, workers, row["evaluations"], 1e3 * float(row["median_wall_s"]),
            float(row["evaluations_per_s"]), float(row["us_per_evaluation"])))


def efficiency_table(out_dir, part):
    runs = [run for run in read_tsv(os.path.join(out_dir, "runs.tsv")) if run["part"] == part]
    groups = {}
    for run in runs:
        key = (int(run["ranks"]), run["mode"])
        figures = run_figures(run["file"], int(run["ranks"]) - 1, float(run["process_wall"]))
        figures["population"] = int(run["population"])
        figures["generations"] = int(run["generations"])
        groups.setdefault(key, []).append(figures)
    repetitions = max((len(group) for group in groups.values()), default=0)
    print("| ranks | workers | mode | population × generations | mean evaluation | ideal | measured span "
          "| efficiency (span) | process wall | efficiency (process) | worker idle gap median / mean |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def median_of(group, name):
        return statistics.median(figures[name] for figures in group)

    for (ranks, mode), group in sorted(groups.items()):
        efficiencies = sorted(figures["efficiency_span"] for figures in group)
        spread = " ({:.1f}–{:.1f})".format(100 * efficiencies[0], 100 * efficiencies[-1]) if len(group) > 1 else ""
        print("| {} | {} | {} | {} × {} | {:.1f} ms | {:.2f} s | {:.2f} s | {:.1f} %{} | {:.2f} s | {:.1f} % "
              "| {:.2f} / {:.2f} ms |".format(
                  ranks, ranks - 1, mode, group[0]["population"], group[0]["generations"],
                  1e3 * median_of(group, "mean_evaluation_s"), median_of(group, "ideal_s"),
                  median_of(group, "span_s"), 100 * median_of(group, "efficiency_span"), spread,
                  median_of(group, "process_wall_s"), 100 * median_of(group, "efficiency_process"),
                  median_of(group, "median_gap_ms"), median_of(group, "mean_gap_ms")))
    return repetitions


def straggler_table(out_dir):
    rows = read_result_lines(os.path.join(out_dir, "straggler.txt"))
    print("| ranks | workers | evaluations | dispatch | sum of evaluation times | ideal | longest evaluation "
          "| wall | efficiency |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        workers = int(row["workers"])
        batch = int(row["batch_size"])
        dispatch = ("one batch (continuous, as steady_state)" if batch == int(row["evaluations"])
                    else "batches of {} (as generational)".format(batch))
        busy = float(row["median_evaluation_s"])
        print("| {} | {} | {} | {} | {:.1f} s | {:.2f} s | {:.2f} s | {:.2f} s | {:.1f} % |".format(
            row["ranks"], workers, row["evaluations"], dispatch, busy, busy / workers,
            float(row.get("longest_evaluation_s", "nan")), float(row["median_wall_s"]),
            100 * float(row["median_efficiency"])))


def startup_table(out_dir):
    walls = {}
    for row in read_tsv(os.path.join(out_dir, "startup.tsv")):
        walls.setdefault(int(row["ranks"]), []).append(float(row["wall"]))
    if not walls:
        return
    print("| ranks | `mpirun -np N metaevo --version` (MPI start-up + teardown, no work), median |")
    print("|---|---|")
    for ranks, values in sorted(walls.items()):
        print("| {} | {:.2f} s |".format(ranks, statistics.median(values)))


def quickstart_table(out_dir):
    rows = read_tsv(os.path.join(out_dir, "quickstart.tsv"))
    walls = {}
    cpu = {}
    for row in rows:
        walls.setdefault(row["variant"], []).append(float(row["wall"]))
        cpu.setdefault(row["variant"], []).append(float(row.get("master_cpu", "nan")))
    print("| variant | wall times | median wall | CPU time of rank 0 (median) |")
    print("|---|---|---|---|")
    for variant, values in walls.items():
        print("| {} | {} | {:.2f} s | {:.2f} s |".format(
            variant, ", ".join("{:.2f}".format(v) for v in values), statistics.median(values),
            statistics.median(cpu[variant])))
    if len(walls) == 2:
        single, distributed = (statistics.median(values) for values in walls.values())
        print("\nratio (second / first): {:.3f}".format(distributed / single))
    diff_path = os.path.join(out_dir, "h5diff.txt")
    if os.path.exists(diff_path):
        with open(diff_path) as diff:
            print("\n" + diff.read().strip())


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def islands_table(out_dir):
    """run_island_efficiency.sh: metaevo (generational, K islands, per config variant) against the ideal
    dispatcher with the same layout (K groups)."""
    rows = read_tsv(os.path.join(out_dir, "runs.tsv"))
    figures = {}  # (duration, islands, variant) -> [dict]; the ideal's variant is "-"
    unavailable = set()
    variants = []
    for row in rows:
        key = (float(row["duration_s"]), int(row["islands"]), row["variant"])
        if row["variant"] != "-" and row["variant"] not in variants:
            variants.append(row["variant"])
        if row["status"] != "ok":
            unavailable.add(key)
            continue
        if row["program"] == "metaevo":
            one = run_figures(row["file"], int(row["workers"]), float(row["process_wall"]))
            one["efficiency"] = one["efficiency_span"]
        else:
            one = read_result_lines(row["file"])[0]
            one = {name: float(value) for name, value in one.items() if is_number(value)}
            one["process_wall_s"] = float(row["process_wall"])
        one["population"] = int(row["population"])
        one["workers"] = int(row["workers"])
        one["generations"] = int(row["generations"])
        figures.setdefault(key, []).append(one)

    def med(group, name):
        return statistics.median(one[name] for one in group)

    def efficiency_text(group):
        values = sorted(one["efficiency"] for one in group)
        spread = " ({:.1f}–{:.1f})".format(100 * values[0], 100 * values[-1]) if len(values) > 1 else ""
        return "{:.1f} %{}".format(100 * statistics.median(values), spread)

    print("| evaluation | islands | workers | population × generations | metaevo config | metaevo efficiency "
          "| ideal efficiency | **metaevo / ideal** | mean idle gap metaevo / ideal | generation gap median "
          "| first-round ramp | process wall metaevo / ideal | runs |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    layouts = sorted({(duration, islands) for duration, islands, _ in list(figures) + list(unavailable)},
                     key=lambda key: (-key[0], key[1]))
    for duration, islands in layouts:
        ideal = figures.get((duration, islands, "-"), [])
        label = "{:g} ms".format(1e3 * duration)
        ideal_text = efficiency_text(ideal) if ideal else "-"
        for variant in variants:
            metaevo = figures.get((duration, islands, variant), [])
            if not metaevo:
                print("| {} | {} | {} | {} × {} | {} | unavailable | {} | - | - | - | - | - | 0 |".format(
                    label, islands, ideal[0]["workers"] if ideal else "-", ideal[0]["population"] if ideal else "-",
                    ideal[0]["generations"] if ideal else "-", variant, ideal_text))
                continue
            ratio = med(metaevo, "efficiency") / med(ideal, "efficiency") if ideal else float("nan")
            print("| {} | {} | {} | {} × {} | {} | {} | {} | **{:.3f}** | {:.2f} / {} ms | {:.2f} ms | {:.2f} ms "
                  "| {:.2f} / {} s | {} |".format(
                      label, islands, metaevo[0]["workers"], metaevo[0]["population"], metaevo[0]["generations"],
                      variant, efficiency_text(metaevo), ideal_text, ratio, med(metaevo, "mean_gap_ms"),
                      "{:.2f}".format(med(ideal, "mean_gap_ms")) if ideal else "-",
                      med(metaevo, "median_generation_gap_ms"), med(metaevo, "median_ramp_ms"),
                      med(metaevo, "process_wall_s"), "{:.2f}".format(med(ideal, "process_wall_s")) if ideal else "-",
                      len(metaevo)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("file")
    run.add_argument("--workers", type=int, required=True)
    run.add_argument("--process-wall", type=float)
    report = commands.add_parser("report")
    report.add_argument("out_dir")
    islands = commands.add_parser("islands")
    islands.add_argument("out_dir")
    arguments = parser.parse_args()

    if arguments.command == "islands":
        islands_table(arguments.out_dir)
        return

    if arguments.command == "run":
        json.dump(run_figures(arguments.file, arguments.workers, arguments.process_wall), sys.stdout, indent=1)
        print()
        return
    out_dir = arguments.out_dir
    print("### (a) master throughput, near-zero-cost evaluations\n")
    dispatch_table(out_dir)
    print("\n### (b) parallel efficiency, 100 ms evaluations (fixed)\n")
    repetitions = efficiency_table(out_dir, "fixed")
    print("\n(medians of {} runs; efficiency range in parentheses)\n".format(repetitions))
    startup_table(out_dir)
    print("\n### (b) heavy-tailed evaluation times in a metaevo run (sleep_tail = \"pareto\")\n")
    efficiency_table(out_dir, "pareto")
    print("\n### (b) heavy-tailed evaluation times per evaluation (executor level)\n")
    straggler_table(out_dir)
    print("\n### (c) quickstart: single process vs mpirun -np 2\n")
    quickstart_table(out_dir)


if __name__ == "__main__":
    main()
