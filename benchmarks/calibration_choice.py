"""Which calibration method is the default: label agreement with the float model on the HELD-OUT
VALIDATION split (5,000 training images never trained on), never on the test set.

    .venv/bin/python -m benchmarks.calibration_choice [--seeds 0 1 2] [--size 1000]

The default (`quantize --calib-method`) is the method with the highest mean agreement over both variants.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from benchmarks.common import write_result
from calibration.observers import OBSERVERS
from calibration.selection import select_calibration_set
from edgelenet import reference
from edgelenet.checkpoint import load_checkpoint
from edgelenet.data import load_mnist
from edgelenet.model import logits_numpy
from edgelenet.quantize import quantize_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    data = load_mnist()
    rows = []
    for arch in ("modern", "classic"):
        model, _ = load_checkpoint(arch)
        float_pred = logits_numpy(model, data.valid.images).argmax(1)
        for seed in args.seeds:
            images = select_calibration_set(data.train, args.size, seed)
            for method in OBSERVERS:
                qmodel, _ = quantize_model(model, images, method)
                pred, _ = reference.predict(qmodel, data.valid.images)
                rows.append({"arch": arch, "seed": seed, "method": method,
                             "agreement": float(np.mean(pred == float_pred)),
                             "accuracy": float(np.mean(pred == data.valid.labels))})
                print(f"{arch:8} seed {seed} {method:10} agreement {rows[-1]['agreement']:.4f}", flush=True)
    mean = {m: statistics.mean(r["agreement"] for r in rows if r["method"] == m) for m in OBSERVERS}
    best = max(mean, key=lambda m: (mean[m], m == "minmax"))
    write_result("calibration_choice", {"split": "held-out validation (5,000 images)", "size": args.size,
                                        "rows": rows, "mean_agreement": mean, "chosen": best,
                                        "headline": {"default calibration method, chosen on the validation split":
                                                     f"{best} ({100 * mean[best]:.3f} % mean agreement)"}})


if __name__ == "__main__":
    main()
