#!/usr/bin/python3
"""An external training program for metaevo's `command` task family (docs/external-tasks.md).

It trains a logistic-regression classifier on a small synthetic data set drawn from the task's
seed, with the update rule metaevo sends (sgd, momentum or adam, constant learning rate), and
prints the losses it reached as JSON. Standard library only."""
import json
import math
import os
import random
import sys


def read_task():
    path = os.environ.get("METAEVO_TASK_INPUT")  # input = "file"
    if path:
        with open(path) as handle:
            return json.load(handle)
    return json.load(sys.stdin)  # input = "stdin" (the default)


def make_data(rng, samples, features, noise):
    """Features ~ N(0, 1); labels from a random teacher, each flipped with probability `noise`."""
    teacher = [rng.gauss(0.0, 1.0) for _ in range(features)]
    rows, labels = [], []
    for _ in range(samples):
        row = [rng.gauss(0.0, 1.0) for _ in range(features)]
        label = 1.0 if sum(w * x for w, x in zip(teacher, row)) > 0.0 else 0.0
        if rng.random() < noise:
            label = 1.0 - label
        rows.append(row)
        labels.append(label)
    return rows, labels


def loss_and_gradient(weights, rows, labels):
    """Mean binary cross-entropy of sigmoid(w . x + b); weights[-1] is the bias."""
    gradient = [0.0] * len(weights)
    total = 0.0
    for row, label in zip(rows, labels):
        z = sum(w * x for w, x in zip(weights, row)) + weights[-1]
        # log(1 + exp(-y z)) with y in {-1, +1}, computed without overflow
        margin = z if label > 0.5 else -z
        total += math.log1p(math.exp(-margin)) if margin > 0 else -margin + math.log1p(math.exp(margin))
        probability = 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0
        error = probability - label
        for i, x in enumerate(row):
            gradient[i] += error * x
        gradient[-1] += error
    n = float(len(rows))
    return total / n, [g / n for g in gradient]


class Rule:
    """The update rules this program understands, with a constant learning rate."""

    def __init__(self, rule, size):
        self.family = rule["family"]
        self.h = rule["hyperparameters"]
        if self.family not in ("sgd", "momentum", "adam"):
            raise SystemExit("train.py: update rule %r is not supported here" % self.family)
        self.velocity = [0.0] * size
        self.second = [0.0] * size
        self.t = 0

    def step(self, weights, gradient):
        lr = self.h["learning_rate"]
        self.t += 1
        for i, g in enumerate(gradient):
            if self.family == "sgd":
                weights[i] -= lr * g
            elif self.family == "momentum":
                self.velocity[i] = self.h["momentum"] * self.velocity[i] + g
                weights[i] -= lr * self.velocity[i]
            else:
                b1, b2 = self.h["beta1"], self.h["beta2"]
                self.velocity[i] = b1 * self.velocity[i] + (1 - b1) * g
                self.second[i] = b2 * self.second[i] + (1 - b2) * g * g
                m = self.velocity[i] / (1 - b1 ** self.t)
                v = self.second[i] / (1 - b2 ** self.t)
                weights[i] -= lr * m / (math.sqrt(v) + self.h["epsilon"])


def main():
    task = read_task()
    rng = random.Random(task["seed"])  # the same data for the same task on every worker
    features = int(os.environ.get("TRAIN_FEATURES", "5"))
    rows, labels = make_data(rng, samples=64, features=features, noise=0.05)
    weights = [0.0] * (features + 1)
    rule = Rule(task["rule"], len(weights))
    loss, gradient = loss_and_gradient(weights, rows, labels)
    curve = [loss]
    for _ in range(task["inner_steps"]):
        rule.step(weights, gradient)
        loss, gradient = loss_and_gradient(weights, rows, labels)
        if not math.isfinite(loss):
            print(json.dumps({"diverged": True}))
            return
        curve.append(loss)
    accuracy = sum((sum(w * x for w, x in zip(weights, row)) + weights[-1] > 0) == (label > 0.5)
                   for row, label in zip(rows, labels)) / len(rows)
    print("task %d: loss %.4f -> %.4f" % (task["task_index"], curve[0], curve[-1]), file=sys.stderr)
    print(json.dumps({"final_loss": curve[-1], "initial_loss": curve[0], "learning_curve": curve,
                      "steps": task["inner_steps"], "metrics": {"train_accuracy": accuracy}}))


if __name__ == "__main__":
    main()
