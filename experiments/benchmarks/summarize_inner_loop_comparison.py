"""Medians and ratios of run_inner_loop_comparison.sh's rounds, as a Markdown table.

    /usr/bin/python3 summarize_inner_loop_comparison.py OUT_DIRECTORY
"""
import glob
import json
import os
import statistics
import sys


def main():
    out = sys.argv[1]
    rates = {}  # contender -> evaluations/s per round
    for path in sorted(glob.glob(os.path.join(out, "round_*_cpp.json"))):
        with open(path) as file:
            for entry in json.load(file)["benchmarks"]:
                rates.setdefault(entry["name"], []).append(entry["items_per_second"])
    for path in sorted(glob.glob(os.path.join(out, "round_*_pytorch.jsonl"))):
        with open(path) as file:
            for line in file:
                entry = json.loads(line)
                rates.setdefault("pytorch<" + entry["precision"] + ">", []).append(entry["evaluations_per_second"])
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"| contender | evaluations/s (median of {len(rates['metaevo_evaluation/float64'])}) | min | max |")
    print("|---|---|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {medians[name]:.2f} | {min(values):.2f} | {max(values):.2f} |")
    print()
    print("| ratio | value |")
    print("|---|---|")
    # Like with like first (same precision), then metaevo's default float64 against the float32 ones.
    pairs = [("metaevo_evaluation/float64", "handwritten<double>"), ("metaevo_evaluation/float32", "handwritten<float>"),
             ("metaevo_evaluation/float64", "pytorch<double>"), ("metaevo_evaluation/float32", "pytorch<float>"),
             ("metaevo_evaluation/float64", "handwritten<float>"), ("metaevo_evaluation/float64", "pytorch<float>"),
             # float32 dispatched (avx2-fma where the CPU has it) against the generic float32 kernel
             ("metaevo_evaluation/float32_generic", "handwritten<float>"),
             ("metaevo_evaluation/float32_generic", "pytorch<float>"),
             ("metaevo_evaluation/float32", "metaevo_evaluation/float32_generic")]
    for numerator, denominator in pairs:
        if numerator in medians and denominator in medians:
            print(f"| {numerator} / {denominator} | {medians[numerator] / medians[denominator]:.2f} |")


if __name__ == "__main__":
    main()
