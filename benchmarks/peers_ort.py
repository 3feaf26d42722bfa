"""Peer: onnxruntime's post-training quantizer (`quantize_static`) on the same float LeNet-5 and test set.

    .venv/bin/python -m benchmarks.peers_ort [--archs modern classic] [--calib-size 1000]

The float model is the ONNX graph `edgelenet export-onnx` writes for a shipped checkpoint. quantize_static
runs in QDQ format with its MinMax, Entropy and Percentile calibrators (their default options), per-channel
and per-tensor weights, int8 activations and weights; calibration uses the same 1000 class-balanced training
images as `edgelenet quantize` (select_calibration_set, seed 0). Every int8 model is run by onnxruntime on the
official 10,000 test images: accuracy, label agreement with the float ONNX model, and file size.

What is quantized ("float part" rows). The exported graph opens with its uint8 preprocessing,
`pixels -> Pad -> DequantizeLinear` (= 0.005 * pixel - 0.1). quantize_static treats the output of an
existing DequantizeLinear as already quantized and leaves it float, so on the graph as exported C1 reads a
float input (a float convolution with dequantized weights); the "as exported" rows measure exactly that. The
"float part" rows cut the graph at `input/normalized` (float (N, 1, 32, 32)), quantize everything after it
(the input, each Conv/Gemm with its weights and int32 bias, ReLU, MaxPool, Flatten; `classic`'s Tanh has no
QDQ kernel in the quantizer and runs in float between a DequantizeLinear and a QuantizeLinear, its Mul
constants become int8 initializers), then put the preprocessing back in front: the measured model reads
uint8 `pixels` (N, 1, 28, 28). The calibration reader feeds uint8 pixels through that same preprocessing.

Entropy gives the same ranges as MinMax here: quantize_static builds its entropy calibrator with 128
histogram bins and 128 quantized bins (not settable through extra_options), and the KL search then has a
single candidate threshold, the whole histogram range.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx.utils import Extractor
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

from benchmarks.common import write_result
from calibration.selection import select_calibration_set
from edgelenet.checkpoint import load_checkpoint, read_metadata, resolve_model_path
from edgelenet.data import load_mnist
from edgelenet.onnx_export import INPUT_NAME, OUTPUT_NAME, checkpoint_float_proto

CUT = "input/normalized"   # the float tensor the preprocessing ends in
BATCH = 100                # calibration images per get_next()
METHODS = {"MinMax": CalibrationMethod.MinMax, "Entropy": CalibrationMethod.Entropy,
           "Percentile": CalibrationMethod.Percentile}


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1   # the machine is shared; one thread keeps the figures comparable
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def logits(model: onnx.ModelProto, pixels: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 10) float logits."""
    return session(model).run([OUTPUT_NAME], {INPUT_NAME: pixels[:, None]})[0].astype(np.float32)


class PixelReader(CalibrationDataReader):
    """Feeds calibration images in batches, as uint8 pixels or through the graph's own preprocessing."""

    def __init__(self, pixels: np.ndarray, input_name: str, preprocess: onnx.ModelProto | None):
        front = session(preprocess) if preprocess is not None else None
        batches = [pixels[i:i + BATCH, None] for i in range(0, len(pixels), BATCH)]  # (B, 1, 28, 28) uint8
        if front is not None:
            batches = [front.run([CUT], {INPUT_NAME: b})[0] for b in batches]          # (B, 1, 32, 32) float
        self.feeds = iter([{input_name: b} for b in batches])

    def get_next(self) -> dict | None:
        return next(self.feeds, None)


def splice(front: onnx.ModelProto, body: onnx.ModelProto) -> onnx.ModelProto:
    """The quantized body with the uint8 preprocessing put back in front: input `pixels` again."""
    graph = body.graph
    nodes = list(front.graph.node) + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(front.graph.initializer)
    del graph.input[:]
    graph.input.extend(front.graph.input)
    onnx.checker.check_model(body, full_check=True)
    return body


def quantize(source: onnx.ModelProto, calib: np.ndarray, method: str, per_channel: bool, scope: str,
             workdir: Path) -> tuple[onnx.ModelProto, float]:
    """quantize_static on the whole graph ("as exported") or on the float part after the preprocessing."""
    extractor = Extractor(onnx.shape_inference.infer_shapes(source))  # the cut needs the tensor's type
    front = extractor.extract_model([INPUT_NAME], [CUT]) if scope == "float part" else None
    target = extractor.extract_model([CUT], [OUTPUT_NAME]) if front is not None else source
    reader = PixelReader(calib, CUT if front is not None else INPUT_NAME, front)
    src, dst = workdir / "float.onnx", workdir / "int8.onnx"
    onnx.save(target, src)
    started = time.perf_counter()
    quantize_static(src, dst, reader, quant_format=QuantFormat.QDQ, per_channel=per_channel,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, calibrate_method=METHODS[method])
    seconds = time.perf_counter() - started
    quantized = onnx.load(dst)
    return (splice(front, quantized) if front is not None else quantized), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["modern", "classic"])
    parser.add_argument("--calib-size", type=int, default=1000)
    args = parser.parse_args()
    data = load_mnist()
    calib = select_calibration_set(data.train, args.calib_size, seed=0)
    rows, floats = [], {}
    with tempfile.TemporaryDirectory(prefix="peers_ort_") as tmp:
        for arch in args.archs:
            model, _ = load_checkpoint(arch)
            checksum = str(read_metadata(resolve_model_path(arch)).get("sha256", ""))
            source = checkpoint_float_proto(model, f"{arch}.safetensors", checksum)
            float_pred = logits(source, data.test.images).argmax(1)
            float_acc = float(np.mean(float_pred == data.test.labels))
            floats[arch] = {"accuracy": float_acc, "onnx_bytes": len(source.SerializeToString())}
            runs = [("float part", m, pc) for m in METHODS for pc in (True, False)] + [("as exported", "MinMax", True)]
            for scope, method, per_channel in runs:
                qmodel, seconds = quantize(source, calib, method, per_channel, scope, Path(tmp))
                pred = logits(qmodel, data.test.images).argmax(1)
                row = {"arch": arch, "scope": scope, "method": method,
                       "weights": "per-channel" if per_channel else "per-tensor", "float_accuracy": float_acc,
                       "int8_accuracy": float(np.mean(pred == data.test.labels)),
                       "agreement": float(np.mean(pred == float_pred)),
                       "onnx_bytes": len(qmodel.SerializeToString()), "quantize_seconds": round(seconds, 2)}
                rows.append(row)
                print(f"{arch:8} {scope:11} {method:10} {row['weights']:11} float {float_acc:.4f} "
                      f"int8 {row['int8_accuracy']:.4f} agree {row['agreement']:.4f} {row['onnx_bytes']} B", flush=True)
    write_result("peers_ort", {
        "tool": "onnxruntime.quantization.quantize_static", "test_images": int(len(data.test)),
        "calibration": {"size": int(len(calib)), "selection": "select_calibration_set(train, size, seed=0)"},
        "settings": {"quant_format": "QDQ", "activation_type": "QInt8 (asymmetric)",
                     "weight_type": "QInt8 (symmetric)", "extra_options": "defaults"},
        "float": floats, "rows": rows})


if __name__ == "__main__":
    main()
