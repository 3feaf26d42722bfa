"""int8 accuracy: variant x calibration method x calibration size, against the float model.

    .venv/bin/python -m benchmarks.accuracy [--sizes 100 500 1000 5000] [--seeds 0]

Every row quantizes a shipped checkpoint and runs the integer reference engine on the official 10,000 test
images: float accuracy, int8 accuracy, label agreement with float. Per-tensor weight scales are measured
beside the default per-channel ones for the default method and size.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import write_result
from calibration.observers import OBSERVERS
from calibration.selection import select_calibration_set
from edgelenet import reference
from edgelenet.checkpoint import load_checkpoint
from edgelenet.data import load_mnist
from edgelenet.model import logits_numpy
from edgelenet.quantize import quantize_model


def measure(model, images, test, float_pred, method, per_tensor=False) -> dict:
    started = time.perf_counter()
    qmodel, _ = quantize_model(model, images, method, per_tensor)
    seconds = time.perf_counter() - started
    int8_pred, _ = reference.predict(qmodel, test.images)
    return {"int8_accuracy": float(np.mean(int8_pred == test.labels)),
            "agreement": float(np.mean(int8_pred == float_pred)), "quantize_seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000, 5000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--archs", nargs="+", default=["modern", "classic"])
    args = parser.parse_args()
    data = load_mnist()
    rows = []
    for arch in args.archs:
        model, _ = load_checkpoint(arch)
        float_pred = logits_numpy(model, data.test.images).argmax(1)
        float_acc = float(np.mean(float_pred == data.test.labels))
        for size in args.sizes:
            for seed in args.seeds:
                images = select_calibration_set(data.train, size, seed)
                for method in OBSERVERS:
                    for per_tensor in ([False, True] if (method, size) == ("minmax", 1000) else [False]):
                        row = {"arch": arch, "method": method, "size": size, "seed": seed,
                               "weights": "per-tensor" if per_tensor else "per-channel", "float_accuracy": float_acc,
                               **measure(model, images, data.test, float_pred, method, per_tensor)}
                        row["drop_points"] = round(100 * (float_acc - row["int8_accuracy"]), 3)
                        rows.append(row)
                        print(f"{arch:8} {method:10} {size:5} {row['weights']:11} float {float_acc:.4f} "
                              f"int8 {row['int8_accuracy']:.4f} agree {row['agreement']:.4f}", flush=True)
    write_result("accuracy", {"test_images": int(len(data.test)), "rows": rows})


if __name__ == "__main__":
    main()
