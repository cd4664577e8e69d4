#!/usr/bin/python3
"""The PyTorch EvolvedOptimizer (python/metaevo/) takes the steps metaevo takes: for rules of every
registered family (hand-written ones with non-constant schedules, blend with every term and
clipping, learned_mlp and learned_rnn with random non-zero genes, every family at its defaults),
golden_trace_tool runs the rule in C++ on a fixed problem of three tensors and records the
parameters after each step; the same steps in PyTorch (float64, gradients by autograd) must agree
to 1e-6 relative. Each case also checks that a learning rate off by 1e-3 relative is caught, and
some resume from a state_dict halfway.

Usage: evolved_optimizer_test.py GOLDEN_TRACE_TOOL   (PYTHONPATH=<source>/python; ctest sets it)
Exit 0: all agree; 1: a mismatch; 77: torch is not installed (skipped, reason on stdout).
"""
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import torch
except ImportError:
    print("SKIPPED: python3-torch is not installed for /usr/bin/python3 (scripts/install-deps.sh installs it)")
    sys.exit(77)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))  # when run by hand
from metaevo import EvolvedOptimizer  # noqa: E402

RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_FLOOR = 1e-12  # for coordinates that pass through 0
INNER_STEPS = 20
STEPS = 25  # past T: the schedules hold their last value, t / T exceeds 1


def document(family, hyperparameters, architecture=None, blocks=None, version=2, inner_steps=INNER_STEPS):
    rule = {"format": "metaevo-update-rule", "version": version, "family": family,
            "hyperparameters": hyperparameters, "inner_steps": inner_steps}
    if architecture is not None:
        rule["architecture"] = architecture
    if blocks is not None:
        rule["blocks"] = blocks
    return rule


def random_block(generator, inputs, length, fraction=0.5):
    """Values uniform in +-fraction of a dense block's bound 3 / sqrt(inputs)."""
    bound = 3.0 / inputs ** 0.5
    return [fraction * bound * generator.uniform(-1.0, 1.0) for _ in range(length)]


def mlp_blocks(hidden, seed):
    generator = random.Random(seed)
    widths = [13] + hidden + [2]
    names = [f"hidden{l + 1}" for l in range(len(hidden))] + ["output"]
    return {name: random_block(generator, widths[l], (widths[l] + 1) * widths[l + 1]) for l, name in enumerate(names)}


def rnn_blocks(hidden, seed):
    generator = random.Random(seed)
    return {"input": random_block(generator, 13, 14 * hidden),
            "recurrent": random_block(generator, hidden, hidden * hidden),
            "readout": random_block(generator, hidden, (hidden + 1) * 2)}


def cases():
    """(name, rule document, total_steps override or None, how the loss reaches step())."""
    cosine = {"schedule": "cosine", "final_lr_fraction": 0.1}
    warmup = {"schedule": "warmup_cosine", "warmup_fraction": 0.25, "final_lr_fraction": 0.05}
    yield "sgd", document("sgd", {"learning_rate": 0.05, **cosine}), None, "closure"
    yield "momentum", document("momentum", {"learning_rate": 0.02, "momentum": 0.8, **warmup}), None, "closure"
    yield "nesterov", document("nesterov", {"learning_rate": 0.02, "momentum": 0.85, **cosine}), None, "closure"
    yield "adam", document("adam", {"learning_rate": 0.03, "beta1": 0.85, "beta2": 0.99, "epsilon": 1e-7,
                                    **warmup}), None, "closure"
    yield "adam (total_steps 12)", document("adam", {"learning_rate": 0.03, **cosine}), 12, "closure"
    yield "adamw", document("adamw", {"learning_rate": 0.03, "weight_decay": 0.1, **cosine}), None, "closure"
    yield "rmsprop", document("rmsprop", {"learning_rate": 0.01, "alpha": 0.9, "epsilon": 1e-6, **cosine}), None, \
        "closure"
    yield "lion", document("lion", {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95, "weight_decay": 0.05,
                                    **warmup}), None, "closure"
    every_term = {"learning_rate": 0.02, "weight_gradient": 0.3, "weight_momentum": 0.2, "weight_nesterov": -0.1,
                  "weight_adam": 0.8, "weight_signsgd": 0.05, "weight_signum": 0.07, "weight_lion": 0.1,
                  "momentum": 0.8, "beta1": 0.85, "beta2": 0.99, "epsilon": 1e-7, "lion_beta1": 0.8,
                  "lion_beta2": 0.9, "clip_norm": 2.0, "weight_decay": 0.02, **cosine}
    yield "blend (every term, clipped)", document("blend", every_term), None, "closure"
    yield "blend (some terms, unclipped)", document("blend", {"learning_rate": 0.05, "weight_adam": 0.0,
                                                              "weight_nesterov": 0.6, "weight_signum": 0.2,
                                                              **warmup}), None, "closure"
    yield "learned_mlp [6, 5]", document("learned_mlp", {"learning_rate": 0.02, "adam_weight": 0.7, "scale": 0.5,
                                                         "alpha": 0.8, "epsilon": 1e-7, **cosine},
                                         {"hidden_sizes": [6, 5], "init_seed": 3}, mlp_blocks([6, 5], 11)), None, \
        "closure"
    yield "learned_mlp [8], loss=", document("learned_mlp", {"learning_rate": 0.01, "scale": 1.5, "alpha": 0.5,
                                                             **warmup},
                                             {"hidden_sizes": [8], "init_seed": 0}, mlp_blocks([8], 12)), None, "loss"
    yield "learned_mlp (total_steps 40)", document("learned_mlp", {"learning_rate": 0.02, **cosine},
                                                   {"hidden_sizes": [4], "init_seed": 9}, mlp_blocks([4], 13)), 40, \
        "closure"
    yield "learned_rnn 5", document("learned_rnn", {"learning_rate": 0.02, "adam_weight": 1.0, "scale": 0.6,
                                                    "alpha": 0.5, **warmup},
                                    {"hidden_size": 5, "init_seed": 7}, rnn_blocks(5, 14)), None, "closure"
    yield "learned_rnn 3, network only", document("learned_rnn", {"learning_rate": 0.01, "adam_weight": 0.0,
                                                                  "scale": 0.3, "alpha": 1.2, **cosine},
                                                  {"hidden_size": 3, "init_seed": 1}, rnn_blocks(3, 15)), None, "loss"
    # Every family at its defaults (the Python defaults table against metaevo's registration); the
    # hand-written ones as version-1 documents.
    for family in ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "lion", "blend"):
        yield f"{family} (defaults, version 1)", document(family, {}, version=1), None, "closure"
    yield "learned_mlp (defaults)", document("learned_mlp", {}, blocks=mlp_blocks([16], 16)), None, "closure"
    yield "learned_rnn (defaults)", document("learned_rnn", {}, blocks=rnn_blocks(16, 17)), None, "closure"


class Problem:
    """The trace's problem in torch: L(p) = 1 + sum(0.5 a (p - c)^2 + 0.05 sin(3 p)) over the tensors."""

    def __init__(self, trace):
        self.tensors = trace["tensors"]

    def parameters(self):
        return [torch.tensor(t["initial"], dtype=torch.float64).reshape(t["shape"]).requires_grad_()
                for t in self.tensors]

    def loss(self, parameters):
        total = torch.tensor(1.0, dtype=torch.float64)
        for p, t in zip(parameters, self.tensors):
            a = torch.tensor(t["curvature"], dtype=torch.float64).reshape(t["shape"])
            c = torch.tensor(t["center"], dtype=torch.float64).reshape(t["shape"])
            total = total + (0.5 * a * (p - c).square() + 0.05 * torch.sin(3.0 * p)).sum()
        return total


def run_torch(rule, trace, total_steps, loss_mode, lr_factor=1.0, resume_at=None):
    """The parameters after each step (flattened, concatenated) with EvolvedOptimizer."""
    problem = Problem(trace)
    parameters = problem.parameters()
    lr = None if lr_factor == 1.0 else EvolvedOptimizer(parameters, rule).param_groups[0]["lr"] * lr_factor
    optimizer = EvolvedOptimizer(parameters, rule, total_steps=total_steps, lr=lr)
    history = []
    for t in range(1, trace["steps"] + 1):
        if t == resume_at:
            # A new optimizer from the state_dict continues where this one stopped.
            saved = optimizer.state_dict()
            optimizer = EvolvedOptimizer(parameters, rule, total_steps=total_steps, lr=lr)
            optimizer.load_state_dict(saved)

        def closure():
            optimizer.zero_grad()
            value = problem.loss(parameters)
            value.backward()
            return value

        if loss_mode == "closure":
            optimizer.step(closure)
        else:
            optimizer.step(loss=closure().item())
        history.append(torch.cat([p.detach().reshape(-1) for p in parameters]))
    return torch.stack(history)


def worst_error(torch_trace, expected):
    """max |torch - C++| / (|C++| + floor), and whether every coordinate is within tolerance."""
    difference = (torch_trace - expected).abs()
    allowed = RELATIVE_TOLERANCE * expected.abs() + ABSOLUTE_FLOOR
    return float((difference / (expected.abs() + ABSOLUTE_FLOOR)).max()), bool((difference <= allowed).all())


def main():
    if len(sys.argv) != 2:
        print("usage: evolved_optimizer_test.py GOLDEN_TRACE_TOOL", file=sys.stderr)
        return 2
    tool = sys.argv[1]
    failures = 0
    families = set()
    with tempfile.TemporaryDirectory(prefix="metaevo-golden-") as directory:
        for index, (name, rule, total_steps, loss_mode) in enumerate(cases()):
            rule_path = Path(directory) / f"rule{index}.json"
            trace_path = Path(directory) / f"trace{index}.json"
            rule_path.write_text(json.dumps(rule, indent=1))
            command = [tool, str(rule_path), str(STEPS), str(trace_path)]
            if total_steps is not None:
                command.append(str(total_steps))
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                print(f"FAIL {name}: golden_trace_tool exited {result.returncode}: {result.stderr.strip()}")
                failures += 1
                continue
            trace = json.loads(trace_path.read_text())
            expected = torch.tensor(trace["parameters"], dtype=torch.float64)
            # Half of the cases resume from a state_dict at step 11.
            resume_at = 11 if index % 2 == 1 else None
            error, agrees = worst_error(run_torch(str(rule_path), trace, total_steps, loss_mode, resume_at=resume_at),
                                        expected)
            # The comparison must be able to fail: a learning rate off by 1e-3 relative is caught.
            _, perturbed_agrees = worst_error(run_torch(rule, trace, total_steps, loss_mode, lr_factor=1.001),
                                              expected)
            moved = float((expected[-1] - expected.new_tensor([v for t in trace["tensors"] for v in t["initial"]]))
                          .abs().max())
            status = "ok" if agrees and not perturbed_agrees and moved > 1e-3 else "FAIL"
            print(f"{status:4} {name:36} max relative error {error:.2e}"
                  f"{' (resumed at 11)' if resume_at else ''}; perturbed lr {'caught' if not perturbed_agrees else 'NOT caught'};"
                  f" moved {moved:.3g}")
            failures += status != "ok"
            families.add(rule["family"])
    print(f"{len(families)} families: {', '.join(sorted(families))}")
    if failures:
        print(f"{failures} case(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
