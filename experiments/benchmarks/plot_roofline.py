"""The roofline figure of docs/benchmarks.md: GFLOP/s of the MLP layer products (roofline_benchmark)
against the measured multiply-add peak, per precision, for one or more builds.

    /usr/bin/python3 plot_roofline.py OUT.png LABEL=roofline.json [LABEL=roofline.json ...]

Each JSON file is roofline_benchmark's --benchmark_format=json output (a build: generic, native).
"""
import json
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_build(path):
    """-> ({precision: peak GFLOP/s}, {(precision, product, width): GFLOP/s})."""
    with open(path) as file:
        entries = json.load(file)["benchmarks"]
    peaks, products = {}, {}
    for entry in entries:
        name = entry["name"]
        gflops = entry["flops"] / 1e9
        peak = re.match(r"peak_multiply_add<(\w+), \d+>", name)
        if peak:
            peaks[peak.group(1)] = max(peaks.get(peak.group(1), 0.0), gflops)
            continue
        product = re.match(r"layer_product<(\w+), (?:\(anonymous namespace\)::)?Product::(\w+)>/(\d+)/\d+", name)
        if product:
            products[(product.group(1), product.group(2), int(product.group(3)))] = gflops
    return peaks, products


def print_table(label, peaks, products):
    """The figure's numbers as Markdown, with each product's share of its precision's peak."""
    print(f"\n{label} build:\n\n| product | precision | GFLOP/s | share of peak |")
    print("|---|---|---:|---:|")
    for (precision, product, width), gflops in sorted(products.items(), key=lambda item: (item[0][2], item[0])):
        peak = peaks.get(precision)
        share = f"{100 * gflops / peak:.0f} % of {peak:.0f}" if peak else "no peak"
        print(f"| {product} {width}x{width} | {precision} | {gflops:.1f} | {share} |")


def main():
    out = sys.argv[1]
    builds = [argument.split("=", 1) for argument in sys.argv[2:]]
    figure, axes = plt.subplots(1, len(builds), figsize=(6 * len(builds), 4.5), squeeze=False)
    for axis, (label, path) in zip(axes[0], builds):
        peaks, products = read_build(path)
        print_table(label, peaks, products)
        names = sorted({(product, width) for (_, product, width) in products}, key=lambda key: (key[1], key[0]))
        positions = range(len(names))
        for offset, (precision, color) in zip((-0.2, 0.2), (("double", "tab:blue"), ("float", "tab:orange"))):
            values = [products.get((precision, product, width), 0.0) for product, width in names]
            axis.bar([p + offset for p in positions], values, width=0.4, color=color, label=f"{precision} GEMM")
            if precision in peaks:
                axis.axhline(peaks[precision], color=color, linestyle="--",
                             label=f"{precision} peak {peaks[precision]:.0f} GFLOP/s")
        axis.set_xticks(list(positions))
        axis.set_xticklabels([f"{product}\n{width}x{width}" for product, width in names], fontsize=8)
        axis.set_ylabel("GFLOP/s (one core)")
        axis.set_title(f"MLP layer products, 128 samples: {label}")
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
