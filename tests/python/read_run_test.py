#!/usr/bin/python3
"""metaevo.read_run reads what the metaevo command writes: a small learned_mlp run (gene blocks in
the genome), its shapes and its best genome agree with the run's
own record and with `metaevo export --best`; the exported rule then trains with EvolvedOptimizer.

Usage: read_run_test.py METAEVO   (PYTHONPATH=<source>/python; ctest sets it)
Exit 0: pass; 1: a check failed; 77: h5py is not installed (skipped, reason on stdout).
"""
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import h5py  # noqa: F401  (read_run needs it)
    import numpy as np
except ImportError:
    print("SKIPPED: python3-h5py is not installed for /usr/bin/python3 (scripts/install-deps.sh installs it)")
    sys.exit(77)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))  # when run by hand
import metaevo  # noqa: E402

CONFIG = """[run]
seed = 11
generations = 3

[search]
strategy = "openai_es"

[search.openai_es]
population_size = 4
sigma = 0.05
learning_rate = 0.02

[evaluation]
tasks_per_evaluation = 2
inner_steps = 15
holdout_tasks = 2

[update_rule]
family = "learned_mlp"

[update_rule.architecture]
hidden_sizes = [4]
init_seed = 2

[update_rule.genes]
learning_rate = { kind = "log_real", low = 0.01, high = 0.5 }

[update_rule.fixed]
schedule = "cosine"

[[tasks]]
family = "quadratic"
dimension = 4
condition_number = 10
"""


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    if len(sys.argv) != 2:
        print("usage: read_run_test.py METAEVO", file=sys.stderr)
        return 2
    cli = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="metaevo-read-run-") as directory:
        config, run_path, rule_path = (Path(directory) / name for name in ("run.toml", "run.h5", "best.json"))
        config.write_text(CONFIG)
        for command in ([cli, "run", str(config), "-o", str(run_path), "-q"],
                        [cli, "export", str(run_path), "--best", "-o", str(rule_path)]):
            result = subprocess.run(command, capture_output=True, text=True)
            check(result.returncode == 0, f"{' '.join(command)} exited {result.returncode}: {result.stderr}")

        run = metaevo.read_run(run_path)
        check(run.schema_version == 3, f"schema_version {run.schema_version}")
        check(run.config["update_rule_family"] == "learned_mlp", f"config {run.config}")
        check("[update_rule]" in run.config["toml"], "config toml")
        population = run.config["population_size"]
        check(run.completed_generations == 3, f"completed_generations {run.completed_generations}")
        check(run.fitness.shape == (3, population), f"fitness shape {run.fitness.shape}")
        genes = run.generations["genes"]
        check(genes.shape == (3, population, run.search_space["size"]), f"genes shape {genes.shape}")
        check(run.gene_names == ["learning_rate"], f"gene names {run.gene_names}")
        check(list(run.search_space["blocks"]["name"]) == ["hidden1", "output"], f"blocks {run.search_space}")

        best = run.best
        check(best is not None, "no /best")
        where = np.argwhere(run.generations["genome_id"] == best["genome_id"])
        check(len(where) == 1, f"best genome {best['genome_id']} is not once in /generations/genome_id")
        generation, individual = where[0]
        check(generation == best["generation"], f"best generation {best['generation']} vs row {generation}")
        check(np.array_equal(run.generations["genes"][generation, individual], best["genes"]), "best genes")
        check(run.fitness[generation, individual] == best["fitness"], "best fitness")

        exported = json.loads(rule_path.read_text())
        check(exported["source"]["genome_id"] == best["genome_id"], f"export source {exported['source']}")
        check(exported["hyperparameters"]["learning_rate"] == best["decoded"]["learning_rate"], "learning_rate")
        for name in ("hidden1", "output"):
            check(np.array_equal(np.asarray(exported["blocks"][name]), best["decoded"][name]), f"block {name}")
        print(f"ok read_run: {run.completed_generations} generations x {population}, best genome "
              f"{best['genome_id']} (fitness {best['fitness']:.4g}) matches metaevo export")

        try:
            import torch
        except ImportError:
            print("(python3-torch is not installed: the exported rule was not applied)")
            return 0
        # The exported rule trains a least-squares problem: the loss falls.
        generator = torch.Generator().manual_seed(0)
        inputs = torch.randn(64, 5, generator=generator, dtype=torch.float64)
        targets = inputs @ torch.randn(5, 1, generator=generator, dtype=torch.float64)
        model = torch.nn.Linear(5, 1).double()
        optimizer = metaevo.EvolvedOptimizer(model.parameters(), rule_path, total_steps=100)

        def closure():
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
            loss.backward()
            return loss

        first = float(closure())
        for _ in range(100):
            last = float(optimizer.step(closure))
        check(math.isfinite(last) and last < 0.5 * first, f"the exported rule did not train: {first} -> {last}")
        print(f"ok EvolvedOptimizer(best.json): loss {first:.4g} -> {last:.4g} in 100 steps")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as error:
        print(f"FAIL: {error}")
        sys.exit(1)
