"""The runtime registry: every way edgelenet can execute a model, by name (`validate --runtimes`, `predict
--backend`, the benchmarks). The interface the runtimes implement is edgelenet/runtime_api.py; the ONNX
runtimes live in edgelenet/onnx_runtimes.py and the C engine's in firmware_export/c_runtimes.py, each
imported on use (onnx and compilers are heavy).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from edgelenet.artifact import QuantizedModel
from edgelenet.errors import UserError
from edgelenet.runtime_api import Runtime


class TorchFloat:
    name, int8 = "torch", False

    def __init__(self, model):  # a LeNet5
        self._model = model

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        from edgelenet.model import logits_numpy

        return logits_numpy(self._model, pixels)


class Reference:
    name, int8 = "reference", True

    def __init__(self, model: QuantizedModel):
        self._model = model

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        from edgelenet import reference

        return reference.predict(self._model, pixels)[1]


def _onnx(factory: str) -> Callable[[QuantizedModel], Runtime]:
    """A builder from edgelenet.onnx_runtimes, imported on use (onnx is heavy)."""
    def build(model: QuantizedModel) -> Runtime:
        from edgelenet import onnx_runtimes

        return getattr(onnx_runtimes, factory)(model)
    return build


def _float_model(model: QuantizedModel):
    from edgelenet.model import float_model_of

    return float_model_of(model)


def _c_engine(model: QuantizedModel) -> Runtime:
    """The exported C engine (firmware_export.c_runtimes), compiled with the host C compiler on use."""
    from firmware_export.c_runtimes import CRuntime

    return CRuntime(model)


def _qemu(name: str) -> Callable[[QuantizedModel], Runtime]:
    """The exported C engine cross-compiled for one Cortex-M core, run under QEMU (firmware_export.c_runtimes)."""
    def build(model: QuantizedModel) -> Runtime:
        from firmware_export.c_runtimes import QemuRuntime

        return QemuRuntime(model, name)
    return build


QEMU_RUNTIMES = ("qemu-m0", "qemu-m3", "qemu-m4", "qemu-m7", "qemu-m33", "qemu-m55")

RUNTIMES: dict[str, Callable[[QuantizedModel], Runtime]] = {
    "torch": lambda model: TorchFloat(_float_model(model)),
    "reference": Reference,
    "ort-float": _onnx("ort_float"),
    "ort-int8": _onnx("ort_int8"),
    "tinygrad-float": _onnx("tinygrad_float"),
    "tinygrad-int8": _onnx("tinygrad_int8"),
    "c": _c_engine,
    **{name: _qemu(name) for name in QEMU_RUNTIMES},
}


def build_runtime(name: str, model: QuantizedModel) -> Runtime:
    if name not in RUNTIMES:
        raise UserError(f"unknown runtime {name!r}: choose from {', '.join(RUNTIMES)}")
    return RUNTIMES[name](model)
