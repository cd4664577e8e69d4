#!/usr/bin/python3
"""Plot the fitness history of a metaevo run file (schema: docs/hdf5-schema.md).

Usage: /usr/bin/python3 scripts/plot_run.py RUN.h5 [-o OUT.png]

Draws, per generation, the best and the median fitness of the population, the best fitness
seen so far (lower is better) and, when validation is on, the validation fitness of the reported best. When the run has a /holdout report, a text box compares the best
genome with the update rule family's defaults on the holdout tasks. Prints the PNG's path.
Needs Debian's python3-h5py and python3-matplotlib (hence /usr/bin/python3).
"""
import argparse
import sys
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import read_run  # noqa: E402  (scripts/read_run.py: reads /generations over the run's segments)


def fail(message: str) -> "NoReturn":  # noqa: F821
    print(f"plot_run.py: {message}", file=sys.stderr)
    sys.exit(1)


def as_text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def completed_fitness(run: h5py.File) -> np.ndarray:
    """The [generations, population] fitness of the generations whose append completed."""
    generations = run["generations"]
    try:
        fitness = np.asarray(read_run.read_dataset(Path(run.filename), run, "generations/fitness"), dtype=float)
    except (KeyError, OSError) as error:
        fail(f"{run.filename}: cannot read /generations/fitness from its segments ({error})")
    if fitness.ndim != 2:
        fail(f"{run.filename}: /generations/fitness has shape {fitness.shape}, expected [generations, population]")
    completed = int(generations.attrs.get("completed_generations", fitness.shape[0]))
    return fitness[: min(completed, fitness.shape[0])]


def main() -> int:
    parser = argparse.ArgumentParser(description="Plot best, median and best-so-far fitness of a metaevo run.")
    parser.add_argument("run", type=Path, help="the run's HDF5 file")
    parser.add_argument("-o", "--output", type=Path, help="PNG to write (default: RUN with .png)")
    args = parser.parse_args()
    output = args.output if args.output is not None else args.run.with_suffix(".png")

    if not args.run.is_file():
        fail(f"{args.run}: no such file")
    try:
        run = h5py.File(args.run, "r")
    except OSError as error:
        fail(f"{args.run}: not a readable HDF5 file ({error})")

    with run:
        if "generations" not in run:
            fail(f"{args.run}: no /generations group (not a metaevo run file?)")
        fitness = completed_fitness(run)
        if fitness.shape[0] == 0:
            fail(f"{args.run}: no completed generation to plot")
        family = as_text(run["config"].attrs.get("update_rule_family", "?")) if "config" in run else "?"
        holdout = dict(run["holdout"].attrs) if "holdout" in run else None
        try:  # absent when validation is off (or in steady-state and [objective] runs)
            validation = np.asarray(read_run.read_dataset(Path(run.filename), run, "generations/validation_fitness"),
                                    dtype=float)[:fitness.shape[0]]
        except KeyError:
            validation = None

    # Non-finite fitness (should not happen: divergence gets a penalty) counts as worst.
    finite = np.where(np.isfinite(fitness), fitness, np.inf)
    best = finite.min(axis=1)
    median = np.median(finite, axis=1)
    best_so_far = np.minimum.accumulate(best)
    generation = np.arange(fitness.shape[0])

    figure, axes = plt.subplots(figsize=(8, 5))
    axes.plot(generation, median, label="median", color="tab:gray", marker=".")
    axes.plot(generation, best, label="best of generation", color="tab:blue", marker="o")
    axes.step(generation, best_so_far, where="post", label="best so far (training fitness)", color="tab:red",
              linewidth=2)
    if validation is not None and np.isfinite(validation).any():
        # The reported best: the lowest validation fitness so far (never used for selection).
        validated = np.fmin.accumulate(np.nanmin(np.where(np.isfinite(validation), validation, np.nan), axis=1))
        axes.step(generation, validated, where="post", label="reported best (validation fitness)",
                  color="tab:green", linewidth=2)
    axes.set_xlabel("generation")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("fitness (lower is better)")
    axes.set_title(f"metaevo run: {family} ({args.run.name})")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    if holdout is not None:
        # Below the axes, so it never hides a curve.
        summary = (f"holdout ({int(holdout.get('task_count', 0))} tasks): "
                   f"best genome {float(holdout.get('best_fitness', np.nan)):.4g}   "
                   f"defaults {float(holdout.get('default_fitness', np.nan)):.4g}")
        figure.tight_layout(rect=(0, 0.08, 1, 1))
        figure.text(0.5, 0.025, summary, ha="center", va="bottom", family="monospace", fontsize=9,
                    bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "gray"})
    else:
        figure.tight_layout()
    try:
        figure.savefig(output, dpi=100)
    except OSError as error:
        fail(f"cannot write {output}: {error}")
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
