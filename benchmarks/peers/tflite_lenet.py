"""Peer: TensorFlow Lite full-integer conversion of the same LeNet-5 `modern`, run in TensorFlow Lite Micro.

Runs inside .venv-peers (benchmarks/peers/setup.sh); benchmarks/peers_tflite.py prepares the inputs and
records the result. Usage:

    .venv-peers/bin/python benchmarks/peers/tflite_lenet.py INPUTS.npz OUT_DIR [--limit N]

INPUTS.npz holds the shipped checkpoint's float weights (PyTorch layouts), the official test images and
labels, the float model's test predictions and a few of its logits, and the 1000 calibration images.
Steps: build the network in Keras with those weights, check its float logits against PyTorch's, convert
with full-integer int8 quantization (representative dataset = the calibration images, int8 input and
output), run the .tflite in the TFLM Python interpreter on the test images, measure the arena it needs.
Writes OUT_DIR/result.json and OUT_DIR/lenet5_modern_int8.tflite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Iterator

import numpy as np
import tensorflow as tf
from tflite_micro import runtime

PAD, PIXEL_SCALE, PIXEL_OFFSET = 2, 0.005, -0.1   # edgelenet.model: x = 0.005 * pixel - 0.1 on a 32x32 field
ARENA_SEARCH_MAX = 1 << 20                        # bytes; LeNet-5 needs far less, the search proves it


def normalize(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 32, 32, 1), NHWC, as the float model normalizes."""
    padded = np.pad(pixels, ((0, 0), (PAD, PAD), (PAD, PAD)), constant_values=0).astype(np.float32)
    return (padded * np.float32(PIXEL_SCALE) + np.float32(PIXEL_OFFSET))[..., None]


def keras_lenet(w: dict[str, np.ndarray]) -> tf.keras.Model:
    """LeNet-5 `modern` in NHWC. C5 stays a 5x5 convolution (as in PyTorch), so no flatten order is involved
    before C5; its (1, 1, 120) output flattens the same way in both layouts."""
    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(32, 32, 1), batch_size=1, name="input")   # TFLM runs one image at a time
    x = layers.Conv2D(6, 5, activation="relu", name="C1")(inputs)                # (1, 28, 28, 6)
    x = layers.MaxPooling2D(2, name="S2")(x)                                     # (1, 14, 14, 6)
    x = layers.Conv2D(16, 5, activation="relu", name="C3")(x)                    # (1, 10, 10, 16)
    x = layers.MaxPooling2D(2, name="S4")(x)                                     # (1, 5, 5, 16)
    x = layers.Conv2D(120, 5, activation="relu", name="C5")(x)                   # (1, 1, 1, 120)
    x = layers.Flatten(name="flatten")(x)                                        # (1, 120)
    x = layers.Dense(84, activation="relu", name="F6")(x)
    outputs = layers.Dense(10, name="OUTPUT")(x)
    model = tf.keras.Model(inputs, outputs)
    for name in ("C1", "C3", "C5"):   # OIHW -> HWIO
        model.get_layer(name).set_weights([w[f"{name}.weight"].transpose(2, 3, 1, 0), w[f"{name}.bias"]])
    for name in ("F6", "OUTPUT"):     # (out, in) -> (in, out)
        model.get_layer(name).set_weights([w[f"{name}.weight"].T, w[f"{name}.bias"]])
    return model


def convert_int8(model: tf.keras.Model, calib: np.ndarray) -> bytes:
    def representative():
        for image in normalize(calib):
            yield [image[None]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def io_quantization(tflite: bytes) -> tuple[tuple[float, int], tuple[float, int]]:
    """(scale, zero point) of the input and of the output, read with TensorFlow Lite's interpreter."""
    interp = tf.lite.Interpreter(model_content=tflite)
    return (interp.get_input_details()[0]["quantization"], interp.get_output_details()[0]["quantization"])


def quantize_input(pixels: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    q = np.round(normalize(pixels) / np.float32(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)   # (N, 32, 32, 1)


def tflm_run(tflite: bytes, inputs: np.ndarray, arena: int) -> np.ndarray:
    """int8 logits (N, 10) from the TFLM interpreter, one image per invoke as on a device."""
    interp = runtime.Interpreter.from_bytes(tflite, arena_size=arena)
    out = np.empty((len(inputs), 10), np.int8)
    for i, image in enumerate(inputs):
        interp.set_input(image[None], 0)
        interp.invoke()
        out[i] = interp.get_output(0)[0]
    return out


@contextlib.contextmanager
def c_output_to(file) -> Iterator[None]:
    """Send what C++ code writes to fd 1 and fd 2 into `file` (TFLM logs there, not through Python)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        for fd in saved:
            os.dup2(file.fileno(), fd)
        yield
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)


def runs_with_arena(tflite: bytes, image: np.ndarray, arena: int) -> bool:
    with open(os.devnull, "wb") as sink, c_output_to(sink):   # each failure logs several lines
        try:
            tflm_run(tflite, image[None], arena)
            return True
        except (RuntimeError, ValueError):
            return False


def smallest_arena(tflite: bytes, image: np.ndarray) -> int:
    """Binary search for the smallest arena_size with which the interpreter is created and invoked."""
    low, high = 0, ARENA_SEARCH_MAX   # low fails, high runs
    if not runs_with_arena(tflite, image, high):
        raise RuntimeError(f"TFLM does not run this model even with a {high}-byte arena")
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if runs_with_arena(tflite, image, mid) else (mid, high)
    return high


def allocation_report(tflite: bytes, image: np.ndarray, arena: int) -> dict:
    """print_allocations() after one invoke, captured at fd level and parsed: total, head, tail bytes."""
    interp = runtime.Interpreter.from_bytes(tflite, arena_size=arena)
    interp.set_input(image[None], 0)
    interp.invoke()
    with tempfile.TemporaryFile() as capture:
        with c_output_to(capture):
            interp.print_allocations()
        capture.seek(0)
        text = capture.read().decode(errors="replace")
    found = {key: int(value) for key, value in
             re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", text)}
    if "total" not in found:
        raise RuntimeError(f"print_allocations() printed no arena total:\n{text}")
    return {"total": found["total"], "head": found.get("head"), "tail": found.get("tail"),
            "lines": [line.strip() for line in text.splitlines() if line.strip()]}


def tflite_logits(tflite: bytes, inputs: np.ndarray, resolver: str) -> np.ndarray:
    """int8 logits from TensorFlow Lite's own interpreter, one image per invoke; `resolver` "BUILTIN" is the
    default (XNNPACK delegate), "BUILTIN_REF" the reference kernels TFLM's kernels derive from."""
    kind = getattr(tf.lite.experimental.OpResolverType, resolver)
    interp = tf.lite.Interpreter(model_content=tflite, num_threads=1, experimental_op_resolver_type=kind)
    interp.allocate_tensors()
    src, dst = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    out = np.empty((len(inputs), 10), np.int8)
    for i, image in enumerate(inputs):
        interp.set_tensor(src, image[None])
        interp.invoke()
        out[i] = interp.get_tensor(dst)[0]
    return out


def versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("tensorflow-cpu", "tflite-micro", "keras", "numpy")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    w = dict(np.load(args.inputs, allow_pickle=False))
    model = keras_lenet(w)
    check = w["float_logits_check"]
    keras_diff = float(np.abs(model(normalize(w["test_images"][:len(check)])).numpy() - check).max())
    if keras_diff > 1e-4:
        raise SystemExit(f"Keras float logits differ from PyTorch's by {keras_diff:.2e}: the weights are misplaced")
    tflite = convert_int8(model, w["calib_images"])
    (args.out / "lenet5_modern_int8.tflite").write_bytes(tflite)
    (in_scale, in_zero), (out_scale, out_zero) = io_quantization(tflite)
    count = len(w["test_labels"]) if args.limit is None else min(args.limit, len(w["test_labels"]))
    inputs = quantize_input(w["test_images"][:count], in_scale, in_zero)   # (count, 32, 32, 1) int8
    labels, float_pred = w["test_labels"][:count], w["float_pred"][:count]
    arena = smallest_arena(tflite, inputs[0])
    report = allocation_report(tflite, inputs[0], ARENA_SEARCH_MAX)
    started = time.perf_counter()
    logits = tflm_run(tflite, inputs, arena)
    seconds = time.perf_counter() - started
    pred = logits.argmax(1)
    result = {
        "peer": "TensorFlow Lite converter (full-integer int8) + TensorFlow Lite Micro Python interpreter",
        "arch": "modern", "test_images": int(count), "calibration_images": int(len(w["calib_images"])),
        "keras_vs_torch_max_logit_diff": keras_diff,
        "float_accuracy": float(np.mean(float_pred == labels)),
        "int8_accuracy": float(np.mean(pred == labels)), "agreement": float(np.mean(pred == float_pred)),
        "tflite_bytes": len(tflite),
        "input_quantization": {"scale": float(in_scale), "zero_point": int(in_zero)},
        "output_quantization": {"scale": float(out_scale), "zero_point": int(out_zero)},
        "arena_bytes": arena,
        "arena_method": "binary search for the smallest arena_size that creates and invokes the interpreter",
        "arena_print_allocations": report,
        "tflm_seconds": round(seconds, 2), "tflm_images_per_second": round(count / seconds),
        # fraction of images whose 10 int8 logits TensorFlow Lite's interpreter reproduces exactly
        "tflite_vs_tflm_identical_logits": {
            resolver: float(np.mean(np.all(tflite_logits(tflite, inputs, resolver) == logits, axis=1)))
            for resolver in ("BUILTIN", "BUILTIN_REF")},
        "peers_versions": versions(),
    }
    (args.out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"TFLM int8 accuracy {result['int8_accuracy']:.4f} agreement {result['agreement']:.4f} "
          f"on {count} images; .tflite {len(tflite)} B; arena {arena} B "
          f"(print_allocations total {report['total']} B)", flush=True)


if __name__ == "__main__":
    main()
