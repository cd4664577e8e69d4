"""The hand-written families (sgd, momentum, nesterov, adam, adamw, rmsprop, lion) and blend, one
tensor at a time, with the formulas of src/rules/update_rule.cpp and src/rules/blend_rule.cpp.
Every rule is coordinate-wise, so applying it tensor by tensor is the same as metaevo applying it
to the concatenated parameter vector; only blend's clipping looks at all tensors at once
(gradient_scale)."""
import math

import torch


class Rule:
    """One family's step. new_state(p) makes a tensor's state (buffers zero, as after metaevo's
    reset); step(p, g, state, context) moves p in place (inside torch.no_grad())."""

    def __init__(self, hyperparameters: dict):
        self.h = hyperparameters

    def new_state(self, p: torch.Tensor) -> dict:
        return {}

    def gradient_scale(self, gradients) -> float:
        return 1.0

    def step(self, p, g, state, context):
        raise NotImplementedError


def _zeros(p):
    return torch.zeros_like(p, memory_format=torch.preserve_format)


class Sgd(Rule):
    """p <- p - lr_t g"""

    def step(self, p, g, state, context):
        p.sub_(context.learning_rate * g)


class Momentum(Rule):
    """heavy ball: v <- mu v + g, p <- p - lr_t v"""

    def new_state(self, p):
        return {"velocity": _zeros(p)}

    def step(self, p, g, state, context):
        v = state["velocity"]
        v.mul_(self.h["momentum"]).add_(g)
        p.sub_(context.learning_rate * v)


class Nesterov(Rule):
    """PyTorch's form: v <- mu v + g, p <- p - lr_t (g + mu v)"""

    def new_state(self, p):
        return {"velocity": _zeros(p)}

    def step(self, p, g, state, context):
        mu = self.h["momentum"]
        v = state["velocity"]
        v.mul_(mu).add_(g)
        p.sub_(context.learning_rate * (g + mu * v))


def adam_direction(m, v, g, t, beta1, beta2, epsilon):
    """Advances Adam's moments m, v with g; returns (c1, D) with c1 = 1 - b1^t and
    D = sqrt(v / (1 - b2^t)) + eps, so callers form (scale / c1) m / D in metaevo's order."""
    m.mul_(beta1).add_((1.0 - beta1) * g)
    v.mul_(beta2).add_((1.0 - beta2) * g.square())
    first_correction = 1.0 - beta1 ** max(t, 1)
    second_correction = 1.0 - beta2 ** max(t, 1)
    return first_correction, (v * (1.0 / second_correction)).sqrt() + epsilon


class Adam(Rule):
    """bias-corrected, eps outside the root: p <- p - lr_t (m / c1) / (sqrt(v / c2) + eps)"""

    def new_state(self, p):
        return {"first_moment": _zeros(p), "second_moment": _zeros(p)}

    def adam_step(self, p, g, state, context):
        m, v = state["first_moment"], state["second_moment"]
        first_correction, denominator = adam_direction(m, v, g, context.t, self.h["beta1"], self.h["beta2"],
                                                       self.h["epsilon"])
        p.sub_((context.learning_rate / first_correction) * m / denominator)

    def step(self, p, g, state, context):
        self.adam_step(p, g, state, context)


class AdamW(Adam):
    """decoupled decay as PyTorch: p <- p (1 - lr_t wd), then the Adam step"""

    def step(self, p, g, state, context):
        p.mul_(1.0 - context.learning_rate * self.h["weight_decay"])
        self.adam_step(p, g, state, context)


class Rmsprop(Rule):
    """no momentum, no bias correction: s <- a s + (1 - a) g^2, p <- p - lr_t g / (sqrt(s) + eps)"""

    def new_state(self, p):
        return {"square_average": _zeros(p)}

    def step(self, p, g, state, context):
        alpha = self.h["alpha"]
        s = state["square_average"]
        s.mul_(alpha).add_((1.0 - alpha) * g.square())
        p.sub_(context.learning_rate * g / (s.sqrt() + self.h["epsilon"]))


class Lion(Rule):
    """u = sign(b1 m + (1 - b1) g), p <- p - lr_t (u + wd p), then m <- b2 m + (1 - b2) g"""

    def new_state(self, p):
        return {"momentum": _zeros(p)}

    def step(self, p, g, state, context):
        beta1, beta2 = self.h["beta1"], self.h["beta2"]
        m = state["momentum"]
        update = (beta1 * m + (1.0 - beta1) * g).sign() + self.h["weight_decay"] * p
        p.sub_(context.learning_rate * update)
        m.mul_(beta2).add_((1.0 - beta2) * g)


class Blend(Rule):
    """A weighted sum of update terms from the (clipped) gradient (src/rules/blend_rule.cpp):
    d = w_gradient g + w_momentum v + w_nesterov (g + mu v) + w_adam adam + w_signsgd sign(g)
      + w_signum sign(l as advanced) + w_lion sign(lb1 l + (1 - lb1) g);
    p <- p (1 - lr_t wd), then p <- p - lr_t d. A term of weight 0 is left out, as in metaevo."""

    def __init__(self, hyperparameters):
        super().__init__(hyperparameters)
        h = hyperparameters
        self.uses_velocity = h["weight_momentum"] != 0.0 or h["weight_nesterov"] != 0.0
        self.uses_adam = h["weight_adam"] != 0.0
        self.uses_lion_momentum = h["weight_signum"] != 0.0 or h["weight_lion"] != 0.0

    def new_state(self, p):
        state = {}
        if self.uses_velocity:
            state["velocity"] = _zeros(p)
        if self.uses_adam:
            state["first_moment"], state["second_moment"] = _zeros(p), _zeros(p)
        if self.uses_lion_momentum:
            state["lion_momentum"] = _zeros(p)
        return state

    def gradient_scale(self, gradients) -> float:
        """clip_norm / |g| when the norm of all gradients together exceeds clip_norm, else 1."""
        clip_norm = self.h["clip_norm"]
        if clip_norm <= 0.0 or not gradients:
            return 1.0
        norm = math.sqrt(sum(float(g.double().square().sum()) for g in gradients))
        return clip_norm / norm if norm > clip_norm else 1.0

    def step(self, p, g, state, context):
        h = self.h
        if context.gradient_scale != 1.0:
            g = context.gradient_scale * g
        direction = _zeros(p)
        if h["weight_gradient"] != 0.0:
            direction += h["weight_gradient"] * g
        if self.uses_velocity:
            mu = h["momentum"]
            v = state["velocity"]
            v.mul_(mu).add_(g)
            if h["weight_momentum"] != 0.0:
                direction += h["weight_momentum"] * v
            if h["weight_nesterov"] != 0.0:
                direction += h["weight_nesterov"] * (g + mu * v)
        if self.uses_adam:
            m, s = state["first_moment"], state["second_moment"]
            first_correction, denominator = adam_direction(m, s, g, context.t, h["beta1"], h["beta2"], h["epsilon"])
            direction += (h["weight_adam"] / first_correction) * m / denominator
        if h["weight_signsgd"] != 0.0:
            direction += h["weight_signsgd"] * g.sign()
        if self.uses_lion_momentum:
            lion_beta1, lion_beta2 = h["lion_beta1"], h["lion_beta2"]
            l = state["lion_momentum"]
            # Lion's sign reads the momentum of the earlier steps; Signum's the one advanced now.
            if h["weight_lion"] != 0.0:
                direction += h["weight_lion"] * (lion_beta1 * l + (1.0 - lion_beta1) * g).sign()
            l.mul_(lion_beta2).add_((1.0 - lion_beta2) * g)
            if h["weight_signum"] != 0.0:
                direction += h["weight_signum"] * l.sign()
        if h["weight_decay"] != 0.0:
            p.mul_(1.0 - context.learning_rate * h["weight_decay"])
        p.sub_(context.learning_rate * direction)


HAND_WRITTEN_RULES = {
    "sgd": Sgd, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam, "adamw": AdamW,
    "rmsprop": Rmsprop, "lion": Lion, "blend": Blend,
}
