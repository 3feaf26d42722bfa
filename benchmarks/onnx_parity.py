"""The ONNX models against the integer reference and torch, on the official 10,000 test images.

    .venv/bin/python -m benchmarks.onnx_parity [--arch modern classic] [--images 10000]

Artifacts are quantized from the shipped checkpoints with `edgelenet quantize`'s defaults (minmax, 1,000
class-balanced training images, seed 0). Per variant: the int8 model in onnxruntime with its default graph
optimisations (QDQ fusion, as users run it) and with every optimisation disabled (ORT_DISABLE_ALL, the
graph as written), and in tinygrad's ONNX runner, each against the integer reference's int8 logits; the
float model in onnxruntime against torch. docs/onnx.md explains why an int8 logit may differ by one step.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import write_result
from calibration.selection import select_calibration_set
from edgelenet import reference
from edgelenet.checkpoint import load_checkpoint
from edgelenet.data import load_mnist
from edgelenet.model import logits_numpy
from edgelenet.onnx_runtimes import TinygradModel, float_onnx_bytes, int8_onnx_bytes
from edgelenet.quantize import quantize_model


def onnxruntime_logits(model_bytes: bytes, pixels: np.ndarray, optimise: bool) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if not optimise:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"pixels": np.ascontiguousarray(pixels[:, None])})[0]


def int8_row(arch: str, runtime: str, logits: np.ndarray, expected: np.ndarray) -> dict:
    diff = np.abs(logits.astype(np.int32) - expected.astype(np.int32))
    return {"arch": arch, "runtime": runtime, "images": int(len(expected)),
            "label_agreement": float(np.mean(logits.argmax(1) == expected.argmax(1))),
            "max_logit_diff_int8_steps": int(diff.max()),
            "images_with_any_logit_different": float(np.mean(diff.max(axis=1) > 0))}


def measure(arch: str, mnist, count: int) -> list[dict]:
    checkpoint, _ = load_checkpoint(arch)
    calibration = select_calibration_set(mnist.train, 1000, seed=0)
    model, _ = quantize_model(checkpoint, calibration, "minmax")
    pixels = mnist.test.images[:count]
    expected = reference.predict(model, pixels)[1]
    int8 = int8_onnx_bytes(model)
    rows = [int8_row(arch, "onnxruntime (default optimisations)", onnxruntime_logits(int8, pixels, True), expected),
            int8_row(arch, "onnxruntime (optimisations disabled)", onnxruntime_logits(int8, pixels, False), expected),
            int8_row(arch, "tinygrad", TinygradModel("tinygrad-int8", True, int8).logits(pixels), expected)]
    torch_logits = logits_numpy(checkpoint, pixels)
    ort_float = onnxruntime_logits(float_onnx_bytes(model), pixels, True)
    rows.append({"arch": arch, "runtime": "onnxruntime float vs torch", "images": int(len(pixels)),
                 "label_agreement": float(np.mean(ort_float.argmax(1) == torch_logits.argmax(1))),
                 "max_abs_float_logit_diff": float(np.abs(ort_float - torch_logits).max())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["modern", "classic"])
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    mnist = load_mnist()
    rows = [row for arch in args.arch for row in measure(arch, mnist, args.images)]
    for row in rows:
        print(row)
    write_result("onnx_parity", {"calibration": {"method": "minmax", "size": 1000, "seed": 0}, "rows": rows})


if __name__ == "__main__":
    main()
