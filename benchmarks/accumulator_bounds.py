"""How close each layer's int32 accumulator can come to overflowing, for the shipped models.

    .venv/bin/python -m benchmarks.accumulator_bounds [--arch modern classic]

Each shipped checkpoint is quantized with `edgelenet quantize`'s defaults (minmax, 1,000 class-balanced
training images, seed 0). Per layer: the exact worst |accumulator| over every int8 input (bias' with the
input zero point folded in, plus 127 or 128 times each weight, whichever sign pushes further; the same closed
form tests/unit/test_accumulator_bounds.py checks against the reference engine), the bound export-c proves
and prints in the generated C, and the worst case as a share of 2^31.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import write_result
from calibration.selection import select_calibration_set
from edgelenet.checkpoint import load_checkpoint
from edgelenet.data import load_mnist
from edgelenet.quantize import quantize_model
from firmware_export.layout import INT32_LIMIT, accumulator_bound, fold_bias


def worst_accumulator(layer) -> int:
    """max over channels and int8 inputs of |bias' + sum_k x_k w_k| (each term maximised on its own)."""
    w = layer.weights.astype(np.int64).reshape(len(layer.weights), -1)
    pos, neg = np.where(w > 0, w, 0).sum(axis=1), np.where(w < 0, -w, 0).sum(axis=1)
    bias = fold_bias(layer)
    return int(np.maximum(np.abs(bias + 127 * pos + 128 * neg), np.abs(bias - 128 * pos - 127 * neg)).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["modern", "classic"])
    args = parser.parse_args()
    mnist = load_mnist()
    rows = []
    for arch in args.arch:
        model, _ = load_checkpoint(arch)
        qmodel, _ = quantize_model(model, select_calibration_set(mnist.train, 1000, seed=0), "minmax")
        for layer in qmodel.layers:
            worst = worst_accumulator(layer)
            rows.append({"arch": arch, "layer": layer.name, "worst_accumulator": worst,
                         "export_bound": accumulator_bound(layer, layer.weights),
                         "share_of_2^31": round(worst / INT32_LIMIT, 5)})
    for row in rows:
        print(row)
    largest = max(rows, key=lambda r: r["worst_accumulator"])
    write_result("accumulator_bounds", {"largest": f"{largest['arch']} {largest['layer']}", "rows": rows})


if __name__ == "__main__":
    main()
