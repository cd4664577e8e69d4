#!/usr/bin/python3
"""Plot the learning curves `metaevo evaluate` stored in a run file (/evaluation, docs/evaluation.md).

Usage: /usr/bin/python3 scripts/plot_evaluation.py RUN.h5 [--out OUT.png]

One panel per held-out task family: the loss (log scale) against the inner step of the evolved rule
and of each tuned baseline, as the median over the family's tasks with a band from the first to the
third quartile. A run that diverged counts as +inf loss from the step it diverged at, so a median
(or quartile) line stops where half (or a quarter) of the runs have diverged. Each panel lists the
evolved rule's win rate against each baseline with its 95% interval. Prints the PNG's path.
Needs Debian's python3-h5py and python3-matplotlib (hence /usr/bin/python3).
"""
import argparse
import math
import sys
import textwrap
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import read_run  # noqa: E402  (scripts/read_run.py: reads /evaluation)

EVOLVED_COLOR = "black"
BASELINE_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]


def fail(message: str) -> "NoReturn":  # noqa: F821
    print(f"plot_evaluation.py: {message}", file=sys.stderr)
    sys.exit(1)


def quartiles(curves: np.ndarray) -> np.ndarray:
    """[3, T+1]: the 25th, 50th and 75th percentile over tasks, a diverged run counting as +inf."""
    worst = np.where(np.isnan(curves), np.inf, curves)
    # "lower"/"higher" pick stored values: interpolating towards +inf would give NaN or inf too early.
    low = np.quantile(worst, 0.25, axis=0, method="lower")
    median = np.quantile(worst, 0.5, axis=0, method="lower")
    high = np.quantile(worst, 0.75, axis=0, method="higher")
    return np.vstack([low, median, high])


def label_of(name: str, rate: float) -> str:
    return name if not np.isfinite(rate) else f"{name} (lr {rate:.3g})"


def main() -> int:
    parser = argparse.ArgumentParser(description="Plot the learning curves of `metaevo evaluate`.")
    parser.add_argument("run", type=Path, help="the run's HDF5 file")
    parser.add_argument("-o", "--out", type=Path, help="PNG to write (default: RUN with _evaluation.png)")
    args = parser.parse_args()
    output = args.out if args.out is not None else args.run.with_name(args.run.stem + "_evaluation.png")

    if not args.run.is_file():
        fail(f"{args.run}: no such file")
    try:
        with h5py.File(args.run, "r") as run:
            evaluation = read_run.read_evaluation(run)
    except (OSError, read_run.NotARunFile) as error:
        fail(f"{args.run}: cannot read /evaluation ({error})")
    if evaluation is None:
        fail(f"{args.run}: no /evaluation (run `metaevo evaluate {args.run}` first)")

    names = evaluation["contenders"]
    rates = np.asarray(evaluation["learning_rate"], dtype=float)
    curves = np.asarray(evaluation["learning_curves"], dtype=float)  # [C, N, T+1]
    families = evaluation["task_family_names"]
    task_family = np.asarray(evaluation["task_family"])
    wins = np.asarray(evaluation["win_rate"], dtype=float)
    low = np.asarray(evaluation["win_rate_low"], dtype=float)
    high = np.asarray(evaluation["win_rate_high"], dtype=float)
    steps = np.arange(curves.shape[2])

    shown = [f for f in range(len(families)) if np.any(task_family == f)]
    if not shown:
        fail(f"{args.run}: /evaluation has no task")
    columns = len(shown) if len(shown) <= 3 else (2 if len(shown) == 4 else 3)
    rows = math.ceil(len(shown) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.6 * columns, 5.2 * rows), squeeze=False)
    for panel, family in zip(axes.flat, shown):
        tasks = task_family == family
        start, highest = 0.0, 0.0
        for c, name in enumerate(names):
            color = EVOLVED_COLOR if c == 0 else BASELINE_COLORS[(c - 1) % len(BASELINE_COLORS)]
            q = quartiles(curves[c][tasks])
            # Losses can reach exactly 0 (a solved quadratic): show them at the smallest positive double.
            q = np.where(q > 0, q, np.finfo(float).tiny)
            q = np.where(np.isfinite(q), q, np.nan)
            if np.isfinite(q[1, 0]):
                start = max(start, q[1, 0])
            if np.any(np.isfinite(q[2])):
                highest = max(highest, np.nanmax(q[2]))
            panel.fill_between(steps, q[0], q[2], color=color, alpha=0.12 if c else 0.2, linewidth=0)
            # The evolved rule on top of the baselines.
            panel.plot(steps, q[1], color=color, linewidth=2.2 if c == 0 else 1.4, label=label_of(name, rates[c]),
                       zorder=3 if c == 0 else 2)
        panel.set_yscale("log")
        if start > 0 and highest > 0:
            # A run on its way to divergence would stretch the axis over many decades: cut it at 100
            # times the initial loss (the line leaving the top and stopping shows the divergence).
            panel.set_ylim(top=min(highest * 1.5, start * 100.0))
        panel.set_xlabel("inner step")
        panel.set_ylabel("loss")
        count = int(np.sum(tasks))
        panel.set_title("\n".join(textwrap.wrap(f"{families[family]}: {count} tasks", 58)), fontsize=9)
        panel.grid(True, which="major", alpha=0.3)
        # Below the axes, so it never hides a curve.
        lines = [f"evolved beats {names[b + 1]:<12} {wins[family, b]:.2f} [{low[family, b]:.2f}, {high[family, b]:.2f}]"
                 for b in range(len(names) - 1)]
        panel.text(0.5, -0.2, "\n".join(lines), transform=panel.transAxes, fontsize=7.5, family="monospace",
                   ha="center", va="top")
    for panel in list(axes.flat)[len(shown):]:
        panel.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=len(names), fontsize=9, frameon=False,
                  bbox_to_anchor=(0.5, 1.0))
    genome = int(evaluation.get("evolved_genome_id", -1))
    figure.suptitle(f"{args.run.name}: evolved {evaluation.get('evolved_family', '?')} rule (genome {genome}) vs "
                    f"tuned baselines on {int(evaluation['task_count'])} held-out tasks x "
                    f"{int(evaluation['inner_steps'])} steps\nloss: median (line) and quartiles (band) over each "
                    "family's tasks; below each panel the evolved rule's win rate [95% interval]",
                    fontsize=10, y=1.0 - 0.3 / figure.get_figheight())
    figure.tight_layout(rect=(0, 0, 1, 1.0 - 0.7 / figure.get_figheight()), h_pad=2.0)
    try:
        figure.savefig(output, dpi=100)
    except OSError as error:
        fail(f"cannot write {output}: {error}")
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
