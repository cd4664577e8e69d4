"""The fixed base a learned rule's genes are added to, reproduced bit for bit: metaevo's
counter-based RandomStream (include/metaevo/core/random.hpp, SplitMix64 finalizer) keyed by
init_seed, StreamPurpose::rule_base_weights (14) and {family tag, layer}."""
import math

import torch

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
RULE_BASE_WEIGHTS_PURPOSE = 14


def mix64(x: int) -> int:
    x &= _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def stream_key(seed: int, purpose: int, path) -> int:
    key = mix64(seed + _GAMMA)
    key = mix64(key ^ ((purpose + _GAMMA) & _MASK))
    for element in path:
        key = mix64(key ^ ((element + _GAMMA) & _MASK))
    return mix64(key ^ len(path))


def base_weights(init_seed: int, family_tag: int, layer: int, inputs: int, outputs: int, gain: float) -> torch.Tensor:
    """inputs x outputs, float64: gain sqrt(3 / inputs) (2 u_k - 1), u_k the k-th uniform (from 1,
    row by row) of the stream; variance gain^2 / inputs (LeCun)."""
    key = stream_key(init_seed, RULE_BASE_WEIGHTS_PURPOSE, [family_tag, layer])
    half_width = gain * math.sqrt(3.0 / inputs)
    values = []
    for k in range(1, inputs * outputs + 1):
        uniform = (mix64(key + ((k * _GAMMA) & _MASK)) >> 11) * 2.0 ** -53
        values.append(half_width * (2.0 * uniform - 1.0))
    return torch.tensor(values, dtype=torch.float64).reshape(inputs, outputs)
