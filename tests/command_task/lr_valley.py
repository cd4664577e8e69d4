#!/usr/bin/python3
"""A user program for the command-task tests: its loss is a valley in log10(learning_rate) with the
bottom at 1e-2, shifted a little per task seed (deterministic). Reads the task JSON from stdin, or
from $METAEVO_TASK_INPUT; with $RECORD_DIR set it also writes what it got there, for the tests."""
import json
import math
import os
import sys

path = os.environ.get("METAEVO_TASK_INPUT")
if path:
    with open(path) as handle:
        task = json.load(handle)
else:
    task = json.load(sys.stdin)

record = os.environ.get("RECORD_DIR")
if record:
    with open(os.path.join(record, "input-%d.json" % task["task_index"]), "w") as handle:
        json.dump({"input": task, "cwd": os.getcwd(), "env_value": os.environ.get("TEST_VALUE"),
                   "seed_variable": os.environ.get("METAEVO_TASK_SEED"),
                   "input_variable": path}, handle)

learning_rate = task["hyperparameters"]["learning_rate"]
fail_above = os.environ.get("FAIL_ABOVE")  # a failing program, for the tests of failure handling
if fail_above and learning_rate > float(fail_above):
    print("learning rate %g too large" % learning_rate, file=sys.stderr)
    sys.exit(2)
shift = (task["seed"] % 1000) / 1e5  # < 0.01: the same valley for every task, up to a little noise
print("progress: learning_rate %g" % learning_rate)  # earlier stdout lines are not the result
print("valley at 1e-2", file=sys.stderr)
print(json.dumps({"final_loss": (math.log10(learning_rate) + 2.0) ** 2 + shift, "steps": 1,
                  "metrics": {"shift": shift}}))
