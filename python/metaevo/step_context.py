"""What a rule sees at one step besides a tensor and its gradient."""
import math
from dataclasses import dataclass


@dataclass
class StepContext:
    """t counts from 1; total_steps is T (the schedule's and the learned rules' t / T input);
    learning_rate is this step's scheduled rate lr_t = lr * schedule(t); loss_input is the learned
    rules' tanh(ln(L_t / L_0)) (0 while unknown); gradient_scale multiplies every gradient (blend's
    clipping, over all of the optimizer's tensors)."""

    t: int
    total_steps: int
    learning_rate: float
    loss_input: float = 0.0
    gradient_scale: float = 1.0


def loss_input(loss: float, initial_loss: float) -> float:
    """x12 of the learned rules: tanh(ln(L_t / L_0)); 0 while either is unknown or not finite; a
    loss of 0 gives -1 (the limit), a ratio that overflows +1."""
    if not (initial_loss > 0.0 and math.isfinite(loss) and loss >= 0.0):
        return 0.0
    if loss == 0.0:
        return -1.0
    ratio = loss / initial_loss
    return 1.0 if math.isinf(ratio) else math.tanh(math.log(ratio))
