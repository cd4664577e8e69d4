"""PyTorch version of mlp_training_comparison_benchmark.cpp: 32-64-64-10 tanh, 128 samples, full
batch, 200 Adam steps (lr 1e-3), task sampling (data, teacher labels, Glorot start) included, one
thread. Times are CPU time of the process (as Google Benchmark reports them), so time the shared
core spends on other processes is not counted. Prints one JSON line per precision: {"precision", "evaluations_per_second", "final_loss"}.

Run by /usr/bin/python3 (Debian python3-torch); run_inner_loop_comparison.sh calls it.
"""
import json
import sys
import time

import torch

INPUT_WIDTH, HIDDEN_WIDTH, CLASS_COUNT, SAMPLE_COUNT, ADAM_STEPS = 32, 64, 10, 128, 200
WIDTHS = [INPUT_WIDTH, HIDDEN_WIDTH, HIDDEN_WIDTH, CLASS_COUNT]


def draw_network(generator, dtype, teacher):
    layers = []
    for fan_in, fan_out in zip(WIDTHS[:-1], WIDTHS[1:]):
        variance = 1.0 / fan_in if teacher else 2.0 / (fan_in + fan_out)
        weight = torch.randn(fan_out, fan_in, generator=generator, dtype=dtype) * variance ** 0.5
        bias = 0.1 * torch.randn(fan_out, generator=generator, dtype=dtype) if teacher else torch.zeros(
            fan_out, dtype=dtype)
        layers.append((weight, bias))
    return layers


def forward(layers, inputs):
    activations = inputs
    for index, (weight, bias) in enumerate(layers):
        activations = torch.nn.functional.linear(activations, weight, bias)
        if index + 1 < len(layers):
            activations = torch.tanh(activations)
    return activations


def evaluation(seed, dtype):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(SAMPLE_COUNT, INPUT_WIDTH, generator=generator, dtype=dtype)
    with torch.no_grad():
        labels = forward(draw_network(generator, dtype, True), inputs).argmax(dim=1)
    parameters = [tensor.requires_grad_() for layer in draw_network(generator, dtype, False) for tensor in layer]
    layers = list(zip(parameters[0::2], parameters[1::2]))
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    for _ in range(ADAM_STEPS):
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(forward(layers, inputs), labels)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return torch.nn.functional.cross_entropy(forward(layers, inputs), labels).item()


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    torch.set_num_threads(1)
    for name, dtype in (("float", torch.float32), ("double", torch.float64)):
        evaluation(0, dtype)  # warm-up
        count, start, final_loss = 0, time.process_time(), 0.0
        while True:
            count += 1
            final_loss = evaluation(count, dtype)
            elapsed = time.process_time() - start
            if elapsed >= seconds:
                break
        print(json.dumps({"precision": name, "evaluations_per_second": count / elapsed, "final_loss": final_loss}))


if __name__ == "__main__":
    main()
