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
    print(f"| contender | evaluations/s (median of {len(rates['metaevo_evaluation'])}) | min | max |")
    print("|---|---|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {medians[name]:.2f} | {min(values):.2f} | {max(values):.2f} |")
    metaevo = medians["metaevo_evaluation"]  # float64
    print()
    print("| ratio | value |")
    print("|---|---|")
    for name in ("handwritten<double>", "handwritten<float>", "pytorch<double>", "pytorch<float>"):
        if name in medians:
            print(f"| metaevo (float64) / {name} | {metaevo / medians[name]:.2f} |")


if __name__ == "__main__":
    main()
