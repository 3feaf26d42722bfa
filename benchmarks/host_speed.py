"""Per-image latency on this host, batch 1, one thread: the exported C engine against onnxruntime.

    .venv/bin/python -m benchmarks.host_speed [--arch modern classic] [--images 2000] [--repeats 5]

The C engine is compiled with gcc -O3 -march=native (firmware_export.build.HOST_FAST) and timed inside
one ctypes call that runs the images one after the other (each a separate batch-1 inference), so Python's
call overhead is not counted. onnxruntime runs the float and int8 ONNX models (edgelenet.onnx_runtimes)
with one intra-op thread, one image per run() call. Best of --repeats; writes benchmarks/results/host_speed.json.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks.common import write_result
from calibration.selection import select_calibration_set
from edgelenet.checkpoint import load_checkpoint
from edgelenet.data import load_mnist
from edgelenet.quantize import quantize_model
from firmware_export import build
from firmware_export.c_runtimes import CRuntime

def c_engine_latency_us(model, images: np.ndarray, repeats: int) -> float:
    """Microseconds per image of the C engine (gcc -O3 -march=native), best of `repeats` passes."""
    runtime = CRuntime(model, flags=build.HOST_FAST)
    runtime.logits(images[:10])  # warm caches
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        runtime.logits(images)
        best = min(best, time.perf_counter() - start)
    return best / len(images) * 1e6


def onnxruntime_latency_us(model_bytes: bytes, images: np.ndarray, repeats: int) -> float:
    """Microseconds per image of onnxruntime's CPU provider at batch 1 with one thread, best of `repeats`.
    Other engines can be added beside this one in `measure` (same signature: model, images, repeats)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    batches = [np.ascontiguousarray(img[None, None]) for img in images]
    session.run(None, {name: batches[0]})
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            session.run(None, {name: batch})
        best = min(best, time.perf_counter() - start)
    return best / len(images) * 1e6


def measure(model, images: np.ndarray, repeats: int) -> dict:
    result = {"c_engine_us": round(c_engine_latency_us(model, images, repeats), 2)}
    try:
        from edgelenet.onnx_runtimes import float_onnx_bytes, int8_onnx_bytes
    except ImportError as exc:  # the ONNX export is optional here: the C engine is still measured
        result["onnxruntime"] = f"not measured: {exc}"
        return result
    result["onnxruntime_float_us"] = round(onnxruntime_latency_us(float_onnx_bytes(model), images, repeats), 2)
    result["onnxruntime_int8_us"] = round(onnxruntime_latency_us(int8_onnx_bytes(model), images, repeats), 2)
    result["c_over_onnxruntime_int8"] = round(result["c_engine_us"] / result["onnxruntime_int8_us"], 3)
    result["c_over_onnxruntime_float"] = round(result["c_engine_us"] / result["onnxruntime_float_us"], 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["modern", "classic"])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    mnist = load_mnist()
    images = mnist.test.images[:args.images]
    result = {"c_flags": " ".join(build.HOST_FAST), "batch": 1, "threads": 1, "images": len(images), "models": {}}
    for arch in args.arch:
        checkpoint, _ = load_checkpoint(arch)
        calibration = select_calibration_set(mnist.train, 1000, seed=0)  # `edgelenet quantize`'s defaults
        model = quantize_model(checkpoint, calibration, calibration_info={"source": "mnist-train", "seed": 0})[0]
        result["models"][arch] = measure(model, images, args.repeats)
        print(arch, json.dumps(result["models"][arch]))
    result["headline"] = {"host latency: C engine vs onnxruntime int8 / float": {
        arch: f"{m['c_engine_us']} us vs {m.get('onnxruntime_int8_us')} / {m.get('onnxruntime_float_us')} us"
        for arch, m in result["models"].items()}}
    write_result("host_speed", result)


if __name__ == "__main__":
    main()
