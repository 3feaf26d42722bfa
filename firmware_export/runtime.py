"""CRuntime: the exported C engine as an edgelenet runtime (`validate --runtimes c`, `predict --backend c`).

It exports the artifact to a private temporary directory, compiles OUT/*.c with a small batch driver
(templates/batch.c, not part of the export) into a shared library with the host C compiler, and calls it
through ctypes. No compiler: RuntimeUnavailable.
"""

from __future__ import annotations

import ctypes
import tempfile
from pathlib import Path

import numpy as np

from edgelenet.artifact import QuantizedModel
from edgelenet.runtimes import RuntimeUnavailable
from firmware_export import build
from firmware_export.render import render, template
from firmware_export import write_files

PREFIX = "lenet5"


def batch_source(prefix: str = PREFIX) -> str:
    return template("batch.c").substitute(prefix=prefix, PREFIX=prefix.upper())


def export_with_driver(model: QuantizedModel, out: Path, prefix: str = PREFIX) -> list[Path]:
    """OUT/ (the export) and OUT/driver/batch.c; returns the sources of a host build: OUT/*.c + the driver."""
    write_files(render(model, prefix).files, out)
    driver = Path(out) / "driver"
    driver.mkdir(exist_ok=True)
    (driver / "batch.c").write_text(batch_source(prefix))
    return build.engine_sources(out) + [driver / "batch.c"]


class CRuntime:
    name, int8 = "c", True

    def __init__(self, model: QuantizedModel, flags: list[str] | None = None):
        cc = build.host_cc()
        if cc is None:
            raise RuntimeUnavailable("no C compiler found (cc, gcc or clang; or set CC)")
        self._tmp = tempfile.TemporaryDirectory(prefix="edgelenet-c-")
        out = Path(self._tmp.name) / "engine"
        sources = export_with_driver(model, out)
        library = Path(self._tmp.name) / "libengine.so"
        try:
            build.compile_host(sources, library, (flags or build.HOST_OPT) + [f"-I{out}"], cc, shared=True)
        except RuntimeError as exc:
            raise RuntimeUnavailable(f"the C engine did not compile: {exc}") from None
        self._lib = ctypes.CDLL(str(library))
        self._lib.eln_batch.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p]
        self._lib.eln_batch.restype = ctypes.c_int
        self._size, self._classes = tuple(model.data.input_size), model.num_classes

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W) of the model's input size -> int8 (N, classes)."""
        pixels = np.ascontiguousarray(np.asarray(pixels).reshape(-1, *self._size), dtype=np.uint8)
        out = np.zeros((len(pixels), self._classes), np.int8)
        if self._lib.eln_batch(pixels.ctypes.data, len(pixels), out.ctypes.data) != 0:
            raise RuntimeError("the C engine rejected its arguments")
        return out
