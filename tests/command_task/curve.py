#!/usr/bin/python3
"""A user program for the command-task tests: gradient descent on 0.5 c x^2 from x = 1 with the
rule's learning rate for inner_steps steps; reports the initial loss and the learning curve."""
import json
import sys

task = json.load(sys.stdin)
learning_rate = task["hyperparameters"]["learning_rate"]
curvature = 1.0 + (task["seed"] % 1000) / 1000.0
x = 1.0
losses = [0.5 * curvature * x * x]
for _ in range(task["inner_steps"]):
    x -= learning_rate * curvature * x
    losses.append(0.5 * curvature * x * x)
print(json.dumps({"initial_loss": losses[0], "final_loss": losses[-1], "learning_curve": losses,
                  "steps": task["inner_steps"]}))
