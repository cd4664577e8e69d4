"""metaevo's learning-rate schedules: the factor on the base learning rate at inner step t
(include/metaevo/rules/learning_rate_schedule.hpp)."""
import math


def cosine_factor(step: int, steps: int, final_fraction: float) -> float:
    """Half-cosine from 1 towards final_fraction over `steps` steps; step 1 is the full rate, step
    `steps` one step short of the floor (as PyTorch's CosineAnnealingLR)."""
    clamped = min(max(step, 1), steps)
    progress = (clamped - 1) / steps
    return final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + math.cos(math.pi * progress))


class Schedule:
    """factor(t) for t = 1, 2, ...: constant 1; cosine; warmup_cosine (linear warmup over
    W = round(warmup_fraction T) steps, at least 1, then cosine over the rest). Steps past T keep
    the last value."""

    def __init__(self, kind: str, total_steps: int, warmup_fraction: float = 0.1, final_fraction: float = 0.0):
        if kind not in ("constant", "cosine", "warmup_cosine"):
            raise ValueError(f"schedule must be constant, cosine or warmup_cosine, got {kind!r}")
        self.kind = kind
        self.total_steps = max(int(total_steps), 1)
        self.final_fraction = final_fraction
        # metaevo rounds half away from zero (llround); Python's round() would round half to even.
        self.warmup = min(max(int(math.floor(warmup_fraction * self.total_steps + 0.5)), 1), self.total_steps)

    @classmethod
    def from_hyperparameters(cls, hyperparameters: dict, total_steps: int) -> "Schedule":
        return cls(hyperparameters["schedule"], total_steps, hyperparameters["warmup_fraction"],
                   hyperparameters["final_lr_fraction"])

    def factor(self, t: int) -> float:
        step = min(max(t, 1), self.total_steps)
        if self.kind == "constant":
            return 1.0
        if self.kind == "cosine":
            return cosine_factor(step, self.total_steps, self.final_fraction)
        if step <= self.warmup:
            return step / self.warmup
        return cosine_factor(step - self.warmup, self.total_steps - self.warmup, self.final_fraction)
