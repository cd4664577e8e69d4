"""learned_mlp and learned_rnn (docs/learned-rules.md, src/rules/learned_*.cpp), one tensor at a
time: the 8 per-coordinate inputs are normalized over the tensor (metaevo's tensor_sizes are the
optimizer's parameter tensors), the 5 global ones are the same for all; the network's outputs
(d, m) give p <- p - lr_t (adam_weight (m_0.9 / c_0.9) / D + scale d exp(alpha m))."""
import math

import torch

from .base_weights import base_weights
from .hand_written_rules import Rule

MOMENTUM_DECAYS = (0.5, 0.9, 0.99, 0.999)
ADAM_MOMENTUM = 1  # MOMENTUM_DECAYS[1] = 0.9 is Adam's beta1
SECOND_MOMENT_DECAY = 0.999
TIME_SCALES = (10.0, 100.0, 1000.0)
NORMALIZATION_EPSILON = 1e-12
COORDINATE_FEATURES = 8
FEATURES = 13

MLP_FAMILY_TAG = 1
RNN_FAMILY_TAG = 2
RECURRENT_GAIN = 0.5


def dense_layer(block, inputs: int, outputs: int, base):
    """Effective (W, b) of a gene block laid out as W row by row, then the biases; W += base."""
    values = torch.tensor(block, dtype=torch.float64)
    if values.numel() != (inputs + 1) * outputs:
        raise ValueError(f"a {inputs} -> {outputs} layer's block has {(inputs + 1) * outputs} values, "
                         f"got {values.numel()}")
    weights = values[: inputs * outputs].reshape(inputs, outputs)
    if base is not None:
        weights = weights + base
    return weights, values[inputs * outputs:]


def _block(blocks: dict, name: str):
    if name not in blocks:
        raise ValueError(f"the exported rule has no block \"{name}\" (blocks: {', '.join(blocks) or 'none'})")
    return blocks[name]


class LearnedRule(Rule):
    """What both learned families share: the gradient statistics, the inputs and the step.
    Subclasses set self.layers (float64 tensors, converted per dtype and device on use) and
    implement network(x, globals, state) -> (d, m)."""

    def __init__(self, hyperparameters, architecture, blocks):
        super().__init__(hyperparameters)
        self.architecture = architecture
        self._converted = {}

    def weights(self, like: torch.Tensor):
        key = (like.dtype, like.device)
        if key not in self._converted:
            self._converted[key] = [w.to(dtype=like.dtype, device=like.device) for w in self.layers]
        return self._converted[key]

    def new_state(self, p):
        n = p.numel()
        return {"momenta": torch.zeros(n, len(MOMENTUM_DECAYS), dtype=p.dtype, device=p.device),
                "second_moment": torch.zeros(n, dtype=p.dtype, device=p.device)}

    def step(self, p, g, state, context):
        h, t = self.h, context.t
        g = g.reshape(-1)
        momenta, second_moment = state["momenta"], state["second_moment"]
        decays = torch.tensor(MOMENTUM_DECAYS, dtype=p.dtype, device=p.device)
        momenta.mul_(decays).add_((1.0 - decays) * g[:, None])
        second_moment.mul_(SECOND_MOMENT_DECAY).add_((1.0 - SECOND_MOMENT_DECAY) * g.square())
        corrections = [1.0 - b ** max(t, 1) for b in MOMENTUM_DECAYS]
        root = (second_moment * (1.0 / (1.0 - SECOND_MOMENT_DECAY ** max(t, 1)))).sqrt()
        denominator = root + h["epsilon"]
        m_adam = momenta[:, ADAM_MOMENTUM]

        learning_rate = context.learning_rate
        delta = torch.zeros_like(g)
        if h["adam_weight"] != 0.0:
            delta += (learning_rate * h["adam_weight"] / corrections[ADAM_MOMENTUM]) * m_adam / denominator
        if h["scale"] != 0.0:
            columns = [g, p.reshape(-1)]
            columns += [momenta[:, k] * (1.0 / corrections[k]) for k in range(len(MOMENTUM_DECAYS))]
            columns += [root, (m_adam * (1.0 / corrections[ADAM_MOMENTUM])) / denominator]
            x = torch.stack(columns, dim=1)
            x = x * (1.0 / (x.square().mean(dim=0) + NORMALIZATION_EPSILON).sqrt())
            progress = t / context.total_steps if context.total_steps > 0 else 0.0
            global_inputs = torch.tensor([progress] + [math.tanh(t / s) for s in TIME_SCALES] + [context.loss_input],
                                         dtype=p.dtype, device=p.device)
            d, m = self.network(x, global_inputs, state, p)
            delta += (learning_rate * h["scale"]) * d * (h["alpha"] * m).exp()
        p.sub_(delta.view(p.shape))


def _input_preactivation(x, global_inputs, weights, bias):
    """x W + b with the 13 inputs split: the 8 per coordinate, the 5 global ones folded into b."""
    folded = bias + global_inputs @ weights[COORDINATE_FEATURES:]
    return x @ weights[:COORDINATE_FEATURES] + folded


class LearnedMlp(LearnedRule):
    """h1 = tanh(x W1 + b1), [h2 = tanh(h1 W2 + b2)], (d, m) = h W_out + b_out; blocks hidden1,
    [hidden2], output; bases W1 (tag 1, layer 0), W2 (tag 1, layer 1), gain 1; W_out none."""

    def __init__(self, hyperparameters, architecture, blocks):
        super().__init__(hyperparameters, architecture, blocks)
        hidden = [int(width) for width in architecture["hidden_sizes"]]
        widths = [FEATURES] + hidden + [2]
        names = [f"hidden{l + 1}" for l in range(len(hidden))] + ["output"]
        seed = int(architecture["init_seed"])
        self.layers = []
        for l, name in enumerate(names):
            readout = l == len(names) - 1
            base = None if readout else base_weights(seed, MLP_FAMILY_TAG, l, widths[l], widths[l + 1], 1.0)
            self.layers += dense_layer(_block(blocks, name), widths[l], widths[l + 1], base)

    def network(self, x, global_inputs, state, p):
        layers = self.weights(p)
        a = torch.tanh(_input_preactivation(x, global_inputs, layers[0], layers[1]))
        for l in range(2, len(layers) - 2, 2):
            a = torch.tanh(a @ layers[l] + layers[l + 1])
        out = a @ layers[-2] + layers[-1]
        return out[:, 0], out[:, 1]


class LearnedRnn(LearnedRule):
    """h <- tanh(x W_x + h W_h + b) per coordinate (state zero at the start), (d, m) = h W_out +
    b_out; blocks input, recurrent (H x H, no bias), readout; bases W_x (tag 2, layer 0, gain 1),
    W_h (tag 2, layer 1, gain 0.5); W_out none."""

    def __init__(self, hyperparameters, architecture, blocks):
        super().__init__(hyperparameters, architecture, blocks)
        hidden = int(architecture["hidden_size"])
        seed = int(architecture["init_seed"])
        input_weights, input_bias = dense_layer(_block(blocks, "input"), FEATURES, hidden,
                                                base_weights(seed, RNN_FAMILY_TAG, 0, FEATURES, hidden, 1.0))
        recurrent = torch.tensor(_block(blocks, "recurrent"), dtype=torch.float64)
        if recurrent.numel() != hidden * hidden:
            raise ValueError(f"block \"recurrent\" must have {hidden * hidden} values, got {recurrent.numel()}")
        recurrent = recurrent.reshape(hidden, hidden) + base_weights(seed, RNN_FAMILY_TAG, 1, hidden, hidden,
                                                                     RECURRENT_GAIN)
        readout_weights, readout_bias = dense_layer(_block(blocks, "readout"), hidden, 2, None)
        self.layers = [input_weights, input_bias, recurrent, readout_weights, readout_bias]
        self.hidden = hidden

    def new_state(self, p):
        state = super().new_state(p)
        state["hidden_state"] = torch.zeros(p.numel(), self.hidden, dtype=p.dtype, device=p.device)
        return state

    def network(self, x, global_inputs, state, p):
        input_weights, input_bias, recurrent, readout_weights, readout_bias = self.weights(p)
        h = state["hidden_state"]
        h.copy_(torch.tanh(_input_preactivation(x, global_inputs, input_weights, input_bias) + h @ recurrent))
        out = h @ readout_weights + readout_bias
        return out[:, 0], out[:, 1]


LEARNED_RULES = {"learned_mlp": LearnedMlp, "learned_rnn": LearnedRnn}
