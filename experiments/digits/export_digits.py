#!/usr/bin/python3
"""Writes the 8x8 digits of scikit-learn (Debian's python3-sklearn, bundled with the package, no
download) in the dataset family's HDF5 layout (docs/datasets.md):
  /X  float64 [1797, 64]  pixel intensities 0..16, row-major 8x8 images
  /y  int64   [1797]      the digit, 0..9; attribute classes = 10
Usage: /usr/bin/python3 experiments/digits/export_digits.py [OUT.h5]  (default: digits.h5 next to this script)
"""
import pathlib
import sys

import h5py
import numpy as np
from sklearn.datasets import load_digits


def main() -> None:
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).with_name("digits.h5")
    digits = load_digits()
    features = np.asarray(digits.data, dtype=np.float64)
    labels = np.asarray(digits.target, dtype=np.int64)
    with h5py.File(out, "w") as file:
        file.create_dataset("X", data=features)
        y = file.create_dataset("y", data=labels)
        y.attrs["classes"] = np.int64(10)
        file.attrs["source"] = "sklearn.datasets.load_digits (UCI optical recognition of handwritten digits, test set)"
    print(f"wrote {out}: X {features.shape}, y {labels.shape}, classes {len(np.unique(labels))}")


if __name__ == "__main__":
    main()
