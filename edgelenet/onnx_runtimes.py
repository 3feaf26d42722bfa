"""The exported ONNX models as runtimes: onnxruntime and tinygrad's ONNX runner, float and int8.

Each runtime builds its model in memory with `edgelenet.onnx_export` (the same bytes `export-onnx` writes),
so validate tests exactly what a user ships. A runtime that cannot start here (package missing, tinygrad
unable to compile) raises `RuntimeUnavailable` with the reason.
"""

from __future__ import annotations

import numpy as np

from edgelenet.artifact import QuantizedModel
from edgelenet.runtime_api import RuntimeUnavailable

BATCH = 1000  # tinygrad's JIT replays one compiled graph per input shape: a fixed batch compiles once


def float_onnx_bytes(model: QuantizedModel) -> bytes:
    from edgelenet.onnx_export import artifact_float_proto

    return artifact_float_proto(model, "artifact").SerializeToString()


def checkpoint_runtime(backend: str, model) -> "OnnxRuntimeModel | TinygradModel":
    """`predict --backend onnxruntime|tinygrad` on a float checkpoint (a LeNet5): the float ONNX model."""
    from edgelenet.onnx_export import checkpoint_float_proto

    model_bytes = checkpoint_float_proto(model, "checkpoint", "").SerializeToString()
    classes = model.config.num_classes
    if backend == "onnxruntime":
        return OnnxRuntimeModel("ort-float", False, model_bytes, classes)
    return TinygradModel("tinygrad-float", False, model_bytes, classes)


def int8_onnx_bytes(model: QuantizedModel) -> bytes:
    from edgelenet.onnx_export import int8_model_proto

    return int8_model_proto(model, "artifact").SerializeToString()


def _as_nchw(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) or (N, 1, H, W) -> contiguous uint8 (N, 1, H, W), the models' `pixels`."""
    pixels = np.asarray(pixels, dtype=np.uint8)
    return np.ascontiguousarray(pixels[:, None] if pixels.ndim == 3 else pixels)


class OnnxRuntimeModel:
    """onnxruntime's CPU provider with default graph optimisations (QDQ fusion included), as users run it."""

    def __init__(self, name: str, int8: bool, model_bytes: bytes, classes: int = 10):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise RuntimeUnavailable(f"onnxruntime is not installed ({exc})") from None
        self.name, self.int8, self.classes = name, int8, classes
        options = ort.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initializers are noise for users
        self._session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        x = _as_nchw(pixels)
        if len(x) == 0:
            return np.zeros((0, self.classes), np.int8 if self.int8 else np.float32)
        return self._session.run(["logits"], {"pixels": x})[0]


class TinygradModel:
    """tinygrad's ONNX runner (tinygrad.nn.onnx.OnnxRunner) under TinyJit, in fixed batches of BATCH images."""

    def __init__(self, name: str, int8: bool, model_bytes: bytes, classes: int = 10):
        try:
            from tinygrad import Tensor, TinyJit
            from tinygrad.nn.onnx import OnnxRunner
        except ImportError as exc:
            raise RuntimeUnavailable(f"tinygrad is not installed ({exc})") from None
        self.name, self.int8, self.classes = name, int8, classes
        self._tensor = Tensor
        runner = OnnxRunner(Tensor(model_bytes))
        self._jit = TinyJit(lambda x: runner({"pixels": x})["logits"].realize())
        self._checked = False

    def _batch(self, x: np.ndarray) -> np.ndarray:
        count = len(x)
        if count < BATCH:  # pad with blank images: the JIT needs the shape it compiled for
            x = np.concatenate([x, np.zeros((BATCH - count, *x.shape[1:]), np.uint8)])
        return self._jit(self._tensor(x)).numpy()[:count].copy()

    def _first_batch(self, x: np.ndarray) -> np.ndarray:
        """Compile on the first batch; a tinygrad that cannot compile or run here is unavailable, not a crash."""
        try:
            out = self._batch(x)
        except Exception as exc:  # tinygrad raises many types (compiler missing, unsupported op, device)
            raise RuntimeUnavailable(f"tinygrad cannot run the model here: {type(exc).__name__}: {exc}") from None
        self._checked = True
        return out

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        x = _as_nchw(pixels)
        outputs = []
        for start in range(0, len(x), BATCH):
            chunk = x[start:start + BATCH]
            outputs.append(self._batch(chunk) if self._checked else self._first_batch(chunk))
        return np.concatenate(outputs) if outputs else np.zeros((0, self.classes), np.int8 if self.int8 else np.float32)


def ort_float(model: QuantizedModel) -> OnnxRuntimeModel:
    return OnnxRuntimeModel("ort-float", False, float_onnx_bytes(model), model.num_classes)


def ort_int8(model: QuantizedModel) -> OnnxRuntimeModel:
    return OnnxRuntimeModel("ort-int8", True, int8_onnx_bytes(model), model.num_classes)


def tinygrad_float(model: QuantizedModel) -> TinygradModel:
    return TinygradModel("tinygrad-float", False, float_onnx_bytes(model), model.num_classes)


def tinygrad_int8(model: QuantizedModel) -> TinygradModel:
    return TinygradModel("tinygrad-int8", True, int8_onnx_bytes(model), model.num_classes)
