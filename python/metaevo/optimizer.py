"""EvolvedOptimizer: an update rule evolved by metaevo (the JSON `metaevo export` writes) as a
torch.optim.Optimizer. Usage and conventions: docs/python.md."""
import math

import torch

from .exported_rule import load_rule
from .hand_written_rules import HAND_WRITTEN_RULES
from .learned_rules import LEARNED_RULES
from .schedule import Schedule
from .step_context import StepContext, loss_input


def make_rule(exported):
    """The per-tensor rule of an ExportedRule's family."""
    if exported.family in LEARNED_RULES:
        return LEARNED_RULES[exported.family](exported.hyperparameters, exported.architecture, exported.blocks)
    return HAND_WRITTEN_RULES[exported.family](exported.hyperparameters)


class EvolvedOptimizer(torch.optim.Optimizer):
    """Applies an exported metaevo update rule to `params`, as metaevo's inner loop does.

    rule: path of the exported JSON, its text, the parsed dict, or a metaevo.ExportedRule.
    total_steps: T, the length of training the schedule spans and the learned rules' t / T input
        is measured against; default the rule's inner_steps (what it was evolved for).
    lr: the base learning rate (default the rule's learning_rate); it is each param group's "lr",
        so torch's LR schedulers can scale it, and the rule's own schedule multiplies it at step t.

    All of the optimizer's parameters together are metaevo's parameter vector, each tensor one of
    its tensors (the learned rules normalize their inputs per tensor; blend clips the norm of all
    gradients together). Parameters without a gradient are skipped at that step. The step counter
    t starts at 1 and is shared by all parameters.

    step(closure) evaluates the closure (which must compute the loss, call backward() and return
    the loss) and uses its loss as the learned rules' loss input; step(loss=value) takes a loss
    computed at the current parameters before backward(). Without either the loss input is 0, as in
    metaevo when the loss is unknown; the hand-written families never read it.
    """

    def __init__(self, params, rule, total_steps=None, lr=None):
        self.exported_rule = load_rule(rule)
        self.total_steps = int(total_steps) if total_steps is not None else self.exported_rule.inner_steps
        if self.total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {self.total_steps}")
        learning_rate = float(lr) if lr is not None else self.exported_rule.hyperparameters["learning_rate"]
        super().__init__(params, {"lr": learning_rate})
        self.rule = make_rule(self.exported_rule)
        self.schedule = Schedule.from_hyperparameters(self.exported_rule.hyperparameters, self.total_steps)
        # Shared by every tensor and kept in the state dict (torch keeps non-tensor keys as they are).
        self.state["rule"] = {"step": 0, "initial_loss": 0.0}

    @property
    def family(self) -> str:
        return self.exported_rule.family

    @torch.no_grad()
    def step(self, closure=None, loss=None):
        if closure is not None and loss is not None:
            raise ValueError("give step() a closure or a loss, not both")
        returned = None
        if closure is not None:
            with torch.enable_grad():
                returned = closure()
            loss = returned
        loss_value = float(loss) if loss is not None else math.nan

        shared = self.state["rule"]
        shared["step"] += 1
        t = shared["step"]
        if shared["initial_loss"] == 0.0 and math.isfinite(loss_value) and loss_value > 0.0:
            shared["initial_loss"] = loss_value

        with_gradient = [p for group in self.param_groups for p in group["params"] if p.grad is not None]
        for p in with_gradient:
            if p.grad.is_sparse:
                raise RuntimeError("EvolvedOptimizer does not support sparse gradients")
        factor = self.schedule.factor(t)
        gradient_scale = self.rule.gradient_scale([p.grad for p in with_gradient])
        for group in self.param_groups:
            context = StepContext(t=t, total_steps=self.total_steps, learning_rate=group["lr"] * factor,
                                  loss_input=loss_input(loss_value, shared["initial_loss"]),
                                  gradient_scale=gradient_scale)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(self.rule.new_state(p))
                self.rule.step(p, p.grad, state, context)
        return returned
