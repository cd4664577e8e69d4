#!/usr/bin/python3
"""Run the GA, sep-CMA-ES and OpenAI-ES on one diagnostic objective and plot best-so-far fitness
against evaluations (and each strategy's step size), so their behaviour can be seen side by side.

Usage: /usr/bin/python3 experiments/strategies/compare_strategies.py [--metaevo build/metaevo]
           [--function ellipsoid] [--dimension 200] [--evaluations 20000] [-o strategies.png]

Each run is `metaevo run` on a generated config ([objective] + [search]); the run files are kept
next to the PNG. Needs Debian's python3-h5py and python3-matplotlib (hence /usr/bin/python3).
"""
import argparse
import subprocess
import sys
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

root = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(root / "scripts"))
import read_run  # noqa: E402  (reads /generations over the run's segments)

STRATEGIES = {
    "ga": ('[ga]\npopulation_size = 32\nstep_size_adaptation = "per_gene"\n', "mean_step_size"),
    "sep_cma_es": ("[search.sep_cma_es]\ninitial_sigma = 0.1\n", "sigma"),
    "openai_es": ("[search.openai_es]\npopulation_size = 32\nsigma = 0.02\nlearning_rate = 0.02\n", "sigma"),
}


def config_text(strategy: str, table: str, function: str, dimension: int, generations: int) -> str:
    return (f"[run]\nseed = 3\ngenerations = {generations}\n\n[search]\nstrategy = \"{strategy}\"\n{table}\n"
            f"[objective]\nfunction = \"{function}\"\ndimension = {dimension}\nlow = -5.0\nhigh = 5.0\n"
            "initial_value = 3.0\ninitial_scale = 0.5\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metaevo", default=str(root / "build" / "metaevo"))
    parser.add_argument("--function", default="ellipsoid", choices=["sphere", "ellipsoid", "rastrigin"])
    parser.add_argument("--dimension", type=int, default=200)
    parser.add_argument("--evaluations", type=int, default=20000)
    parser.add_argument("-o", "--output", default="strategies.png")
    arguments = parser.parse_args()
    output = Path(arguments.output)
    output.parent.mkdir(parents=True, exist_ok=True)

    figure, (fitness_axes, sigma_axes) = plt.subplots(1, 2, figsize=(12, 4.5))
    for strategy, (table, statistic) in STRATEGIES.items():
        # Population size first, from `metaevo check`, so every strategy gets the same budget.
        config = output.with_name(f"{output.stem}_{strategy}.toml")
        config.write_text(config_text(strategy, table, arguments.function, arguments.dimension, 1))
        check = subprocess.run([arguments.metaevo, "check", str(config)], capture_output=True, text=True, check=True)
        population = int(check.stdout.split("population ")[1].split(" ")[0])
        generations = max(1, arguments.evaluations // population)
        config.write_text(config_text(strategy, table, arguments.function, arguments.dimension, generations))
        run_file = output.with_name(f"{output.stem}_{strategy}.h5")
        subprocess.run([arguments.metaevo, "run", str(config), "--quiet", "--force", "--out", str(run_file)],
                       check=True, stdout=subprocess.DEVNULL)
        with h5py.File(run_file, "r") as run:
            fitness = np.asarray(read_run.read_dataset(run_file, run, "generations/fitness"), dtype=float)
            sigma = np.asarray(read_run.read_dataset(run_file, run, f"generations/strategy/{statistic}"), dtype=float)
        best_so_far = np.minimum.accumulate(fitness.min(axis=1))
        evaluations = population * np.arange(1, len(best_so_far) + 1)
        label = f"{strategy} (population {population})"
        fitness_axes.semilogy(evaluations, best_so_far, label=label)
        sigma_axes.semilogy(evaluations, sigma, label=f"{strategy}: {statistic}")
        print(f"{strategy}: population {population}, {generations} generations, best {best_so_far[-1]:.4g}")

    fitness_axes.set_title(f"{arguments.function}, {arguments.dimension} dimensions: best so far")
    fitness_axes.set_xlabel("evaluations")
    fitness_axes.set_ylabel("f (lower is better)")
    fitness_axes.legend()
    sigma_axes.set_title("step size (normalized units)")
    sigma_axes.set_xlabel("evaluations")
    sigma_axes.legend()
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    print(output)


if __name__ == "__main__":
    main()
