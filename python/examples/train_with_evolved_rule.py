#!/usr/bin/python3
"""Trains a small PyTorch MLP on a synthetic regression task with an update rule evolved by metaevo.

Usage: PYTHONPATH=python /usr/bin/python3 python/examples/train_with_evolved_rule.py [RULE.json] [--steps N]

RULE.json is what `metaevo export RUN.h5 --best -o RULE.json` writes (any family). Without one it
uses a learned_mlp rule written here with its genes at 0, which makes it Adam (lr 1e-2, constant
schedule). Prints the loss every tenth of the way and compares with torch.optim.Adam(lr=1e-2): with
the default rule the two final losses agree to rounding.
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python/, when PYTHONPATH is not set
from metaevo import EvolvedOptimizer  # noqa: E402

# A learned_mlp rule at generation 0: every gene 0, so the network adds nothing and the step is Adam's.
ADAM_AS_LEARNED_MLP = {
    "format": "metaevo-update-rule", "version": 2, "family": "learned_mlp",
    "hyperparameters": {"learning_rate": 0.01, "schedule": "constant"},
    "architecture": {"hidden_sizes": [16], "init_seed": 0},
    "blocks": {"hidden1": [0.0] * (14 * 16), "output": [0.0] * (17 * 2)},
    "inner_steps": 300,
}


def make_task(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(256, 4, generator=generator, dtype=torch.float64)
    targets = torch.sin(inputs @ torch.randn(4, 1, generator=generator, dtype=torch.float64))
    return inputs, targets


def make_model(seed: int = 1):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()


def train(model, optimizer, inputs, targets, steps, report):
    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        return loss

    for step in range(1, steps + 1):
        loss = optimizer.step(closure)  # the learned rules read this loss; step() returns it
        if report and (step == 1 or step % max(steps // 10, 1) == 0):
            print(f"  step {step:4d}  loss {loss.item():.5f}")
    with torch.no_grad():
        return torch.nn.functional.mse_loss(model(inputs), targets).item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rule", nargs="?", help="exported rule JSON (default: Adam as a learned_mlp rule)")
    parser.add_argument("--steps", type=int, default=300, help="training steps (the rule's T)")
    arguments = parser.parse_args()

    inputs, targets = make_task()
    model = make_model()
    rule = arguments.rule or ADAM_AS_LEARNED_MLP
    # total_steps: the schedule and the learned rules' t / T span this training, not the inner
    # loop the rule was evolved with.
    optimizer = EvolvedOptimizer(model.parameters(), rule, total_steps=arguments.steps)
    print(f"{optimizer.family} rule from {arguments.rule or 'this script'}, {arguments.steps} steps:")
    final = train(model, optimizer, inputs, targets, arguments.steps, report=True)

    baseline_model = make_model()
    baseline = train(baseline_model, torch.optim.Adam(baseline_model.parameters(), lr=1e-2), inputs, targets,
                     arguments.steps, report=False)
    print(f"final loss: evolved rule {final:.5f}, torch.optim.Adam(lr=1e-2) {baseline:.5f}")


if __name__ == "__main__":
    main()
