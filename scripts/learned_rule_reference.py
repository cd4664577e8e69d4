#!/usr/bin/python3
"""The learned_mlp and learned_rnn update rules of metaevo written out in plain Python, one
coordinate at a time: a reference for applying an exported rule outside metaevo (definitions and
reasons: docs/learned-rules.md). Standard library only; port it to numpy or your framework by
batching the per-coordinate loop.

A rule is its family, its architecture, its scalar hyperparameters and its gene blocks: all of
them are in the JSON that `metaevo export RUN.h5 --best` writes (format version 2), so

    rule = from_exported(json.load(open("rule.json")))
    rule.reset(len(p))
    for t in range(1, T + 1):
        loss, g = ...                       # at the current p
        rule.step(p, g, t, T, loss, tensor_sizes)

or by hand: LearnedRule("learned_mlp", [hidden1, output], widths=[13, 16, 2], init_seed=0,
learning_rate=0.2).

Usage: /usr/bin/python3 scripts/learned_rule_reference.py --demo learned_mlp|learned_rnn
       /usr/bin/python3 scripts/learned_rule_reference.py --apply RULE.json
run three steps of a fixed example, with hand-set weights or with an exported rule, and print the
parameters after each (tests/learned_*_rule_test.cpp check that metaevo takes the same steps).
"""
import json
import math
import sys

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix64(x):
    x &= MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def stream_key(seed, purpose, path):
    key = mix64(seed + GAMMA)
    key = mix64(key ^ ((purpose + GAMMA) & MASK))
    for element in path:
        key = mix64(key ^ ((element + GAMMA) & MASK))
    return mix64(key ^ len(path))


def base_weights(init_seed, family_tag, layer, inputs, outputs, gain):
    """The fixed base W[i][o] a layer's genes are added to (metaevo's rule_base_weights stream)."""
    key = stream_key(init_seed, 14, [family_tag, layer])  # 14: StreamPurpose::rule_base_weights
    half_width = gain * math.sqrt(3.0 / inputs)
    w, k = [], 0
    for i in range(inputs):
        row = []
        for o in range(outputs):
            k += 1
            u = (mix64(key + k * GAMMA) >> 11) * 2.0 ** -53
            row.append(half_width * (2.0 * u - 1.0))
        w.append(row)
    return w


def layer(block, inputs, outputs, base):
    """Effective (W, b) of a block: W row by row (+ base), then the biases."""
    w = [[block[i * outputs + o] + (base[i][o] if base else 0.0) for o in range(outputs)] for i in range(inputs)]
    return w, block[inputs * outputs:inputs * outputs + outputs]


def dense(x, w, b, activation):
    y = [b[o] + sum(x[i] * w[i][o] for i in range(len(x))) for o in range(len(b))]
    return [math.tanh(v) for v in y] if activation else y


class LearnedRule:
    """learned_mlp (widths [13, H1, 2] or [13, H1, H2, 2]) or learned_rnn (widths [13, H, 2]) with
    its blocks in metaevo's order. schedule(t) is the learning-rate factor at step t (constant: 1;
    cosine and warmup_cosine: include/metaevo/rules/learning_rate_schedule.hpp)."""

    DECAYS = (0.5, 0.9, 0.99, 0.999)

    def __init__(self, family, blocks, widths, init_seed, learning_rate, adam_weight=1.0, scale=1.0, alpha=1.0,
                 epsilon=1e-8, schedule=lambda t: 1.0):
        self.family, self.widths = family, widths
        self.lr, self.w_adam, self.scale, self.alpha, self.eps, self.schedule = (
            learning_rate, adam_weight, scale, alpha, epsilon, schedule)
        if family == "learned_mlp":  # widths = [13, H1, (H2,) 2]
            self.layers = []
            for l in range(len(widths) - 1):
                last = l == len(widths) - 2
                base = None if last else base_weights(init_seed, 1, l, widths[l], widths[l + 1], 1.0)
                self.layers.append(layer(blocks[l], widths[l], widths[l + 1], base))
        else:  # learned_rnn, widths = [13, H, 2]
            h = widths[1]
            self.input = layer(blocks[0], 13, h, base_weights(init_seed, 2, 0, 13, h, 1.0))
            base = base_weights(init_seed, 2, 1, h, h, 0.5)
            self.recurrent = [[blocks[1][j * h + k] + base[j][k] for k in range(h)] for j in range(h)]
            self.readout = layer(blocks[2], h, 2, None)

    def reset(self, n):
        self.m = [[0.0] * 4 for _ in range(n)]
        self.v = [0.0] * n
        self.state = [[0.0] * self.widths[1] for _ in range(n)] if self.family == "learned_rnn" else None
        self.initial_loss = 0.0

    def step(self, p, g, t, total_steps, loss, tensor_sizes):
        n = len(p)
        x = [[0.0] * 13 for _ in range(n)]
        c1 = 1.0 - 0.9 ** t
        for i in range(n):
            for k, b in enumerate(self.DECAYS):
                self.m[i][k] = b * self.m[i][k] + (1.0 - b) * g[i]
            self.v[i] = 0.999 * self.v[i] + (1.0 - 0.999) * g[i] * g[i]
            root = math.sqrt(self.v[i] / (1.0 - 0.999 ** t))
            x[i][0], x[i][1] = g[i], p[i]
            for k, b in enumerate(self.DECAYS):
                x[i][2 + k] = self.m[i][k] / (1.0 - b ** t)
            x[i][6] = root
            x[i][7] = (self.m[i][1] / c1) / (root + self.eps)
        adam = [x[i][7] for i in range(n)]
        offset = 0
        for size in tensor_sizes or [n]:
            for f in range(8):
                rms = math.sqrt(sum(x[i][f] ** 2 for i in range(offset, offset + size)) / size + 1e-12)
                for i in range(offset, offset + size):
                    x[i][f] /= rms
            offset += size
        if self.initial_loss == 0.0 and math.isfinite(loss) and loss > 0.0:
            self.initial_loss = loss
        ok = self.initial_loss > 0.0 and math.isfinite(loss) and loss >= 0.0
        loss_input = (-1.0 if loss == 0.0 else math.tanh(math.log(loss / self.initial_loss))) if ok else 0.0
        for row in x:
            row[8:13] = [t / total_steps if total_steps > 0 else 0.0, math.tanh(t / 10), math.tanh(t / 100),
                         math.tanh(t / 1000), loss_input]
        lr_t = self.lr * self.schedule(t)
        for i in range(n):
            if self.family == "learned_mlp":
                a = x[i]
                for l, (w, b) in enumerate(self.layers):
                    a = dense(a, w, b, activation=l < len(self.layers) - 1)
            else:
                pre = dense(x[i], *self.input, activation=False)
                h = self.state[i]
                self.state[i] = [math.tanh(pre[k] + sum(h[j] * self.recurrent[j][k] for j in range(len(h))))
                                 for k in range(len(h))]
                a = dense(self.state[i], *self.readout, activation=False)
            d, m = a
            p[i] -= lr_t * (self.w_adam * adam[i] + self.scale * d * math.exp(self.alpha * m))
        return p


def schedule_factor(kind, total_steps, warmup_fraction=0.1, final_fraction=0.0):
    """metaevo's learning-rate schedule as a function of t (include/metaevo/rules/learning_rate_schedule.hpp)."""
    total = max(total_steps, 1)

    def cosine(s, steps):
        s = min(max(s, 1), steps)
        return final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + math.cos(math.pi * (s - 1) / steps))

    def factor(t):
        step = min(max(t, 1), total)
        if kind == "constant":
            return 1.0
        if kind == "cosine":
            return cosine(step, total)
        warmup = min(max(int(math.floor(warmup_fraction * total + 0.5)), 1), total)
        return step / warmup if step <= warmup else cosine(step - warmup, total - warmup)

    return factor


def from_exported(document):
    """A LearnedRule from the JSON `metaevo export` writes (format version 2), as parsed by json."""
    family, h, architecture, blocks = (document["family"], document["hyperparameters"], document["architecture"],
                                       document["blocks"])
    if family == "learned_mlp":
        hidden = list(architecture["hidden_sizes"])
        widths = [13] + hidden + [2]
        names = ["hidden%d" % (l + 1) for l in range(len(hidden))] + ["output"]
    elif family == "learned_rnn":
        widths = [13, architecture["hidden_size"], 2]
        names = ["input", "recurrent", "readout"]
    else:
        raise ValueError("not a learned rule: " + family)
    schedule = schedule_factor(h["schedule"], document["inner_steps"], h["warmup_fraction"], h["final_lr_fraction"])
    return LearnedRule(family, [blocks[name] for name in names], widths, architecture["init_seed"], h["learning_rate"],
                       h["adam_weight"], h["scale"], h["alpha"], h["epsilon"], schedule)


def patterned(family):
    """Hand-set weights 0.2 sin(0.37 j + b) in block b, small architectures, init_seed 5."""
    widths = [13, 4, 3, 2] if family == "learned_mlp" else [13, 3, 2]
    if family == "learned_mlp":
        lengths = [(widths[l] + 1) * widths[l + 1] for l in range(len(widths) - 1)]
    else:
        lengths = [14 * 3, 3 * 3, 4 * 2]
    blocks = [[0.2 * math.sin(0.37 * j + b) for j in range(n)] for b, n in enumerate(lengths)]
    return LearnedRule(family, blocks, widths, init_seed=5, learning_rate=0.1, alpha=0.5, scale=0.7)


def demo(rule):
    """Three steps of a fixed example: 5 parameters in tensors of 3 and 2, T = 10; prints p after each."""
    p = [0.5, -0.25, 1.0, 0.0, 0.75]
    rule.reset(len(p))
    for t in range(1, 4):
        g = [math.cos(1.3 * i + t) for i in range(len(p))]
        rule.step(p, g, t, 10, 2.0 / t, [3, 2])
        print(" ".join("%.17g" % v for v in p))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--demo" and sys.argv[2] in ("learned_mlp", "learned_rnn"):
        demo(patterned(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--apply":
        with open(sys.argv[2]) as file:
            demo(from_exported(json.load(file)))
    else:
        sys.exit("usage: learned_rule_reference.py --demo learned_mlp|learned_rnn | --apply RULE.json")
