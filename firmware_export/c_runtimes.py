"""The exported C engine as edgelenet runtimes: CRuntime on the host (`validate --runtimes c`, `predict
--backend c`), QemuRuntime on an emulated Cortex-M core (`validate --runtimes qemu-m4`, ...).

CRuntime exports the artifact to a private temporary directory, compiles OUT/*.c with a small batch driver
(templates/batch.c, not part of the export) into a shared library with the host C compiler, and calls it
through ctypes. No compiler: RuntimeUnavailable.
"""

from __future__ import annotations

import ctypes
import tempfile
from pathlib import Path

import numpy as np

from edgelenet.artifact import QuantizedModel
from edgelenet.runtime_api import RuntimeUnavailable
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


class QemuRuntime:
    """The exported engine cross-compiled for one Cortex-M core and run on its QEMU board (`validate
    --runtimes qemu-m4`, ...): the images stream in through semihosting (templates/qemu_batch.c), the logits
    stream out. The firmware runs as the tests run it: unaligned-access traps on, the FPU off for integer
    builds. QEMU runs without -icount here (faster); instructions per inference come from a separate short
    -icount run of example/main.c with SysTick calibrated against a loop of known length."""
    int8 = True

    def __init__(self, model: QuantizedModel, name: str):
        self.name, self.cpu = name, build.QEMU_RUNTIMES[name]
        self.board = build.CORE_BOARD[self.cpu]
        if not (build.have_arm() and build.have_qemu()):
            raise RuntimeUnavailable(f"{name} needs {build.ARM_CC} and {build.QEMU}")
        self._tmp = tempfile.TemporaryDirectory(prefix=f"edgelenet-{name}-")
        self._work = Path(self._tmp.name)
        self._out = self._work / "engine"
        write_files(render(model, PREFIX).files, self._out)
        driver = self._work / "qemu_batch.c"
        driver.write_text(template("qemu_batch.c").substitute(prefix=PREFIX, PREFIX=PREFIX.upper()))
        self._size, self._classes = tuple(model.data.input_size), model.num_classes
        image_bytes = self._size[0] * self._size[1] + self._classes  # one image in, its logits out
        chunk = max(1, min(256, build.BOARDS[self.board].data[1] // 4 // image_bytes))  # a quarter of the RAM
        try:
            self._elf = build.build_arm_example(self._out, self.board, self._work / "batch.elf", [f"-DELN_CHUNK={chunk}"],
                                                cpu=self.cpu, main=driver)
        except RuntimeError as exc:
            raise RuntimeUnavailable(f"the C engine did not build for {self.cpu}: {exc}") from None
        self.instructions_per_inference: int | None = None

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W) of the model's input size -> int8 (N, classes), computed on the emulated core."""
        pixels = np.ascontiguousarray(np.asarray(pixels).reshape(-1, *self._size), dtype=np.uint8)
        try:
            if self.instructions_per_inference is None and len(pixels):
                self.instructions_per_inference = self._count(pixels[:2])
            (self._work / "images.bin").write_bytes(pixels.tobytes())
            (self._work / "logits.bin").unlink(missing_ok=True)
            build.run_qemu(self._elf, self.board, timeout=600, icount=False, cwd=self._work)
        except RuntimeError as exc:  # a fault or a hang on the target: this runtime failed, validate says so
            raise RuntimeUnavailable(f"the engine failed on {self.cpu} ({self.board}): {exc}") from None
        data = (self._work / "logits.bin").read_bytes()
        if len(data) != self._classes * len(pixels):
            raise RuntimeUnavailable(f"{self.name}: {len(data)} logit bytes for {len(pixels)} images")
        return np.frombuffer(data, np.int8).reshape(-1, self._classes).copy()

    def _count(self, pixels: np.ndarray) -> int:
        """Instructions per inference: the median over `pixels` of example/main.c's SysTick counts."""
        header = build.vectors_header(pixels, self._work / "vectors.h")
        elf = build.build_arm_example(self._out, self.board, self._work / "count.elf",
                                      ['-DELN_VECTORS="vectors.h"', "-DELN_SYSTICK"], [header.parent], cpu=self.cpu)
        counts = build.parse_example_output(build.run_qemu(elf, self.board))[2]
        return int(np.median([count[0] for count in counts]))

    def details(self) -> dict:
        return {"core": self.cpu, "board": self.board, "instructions_per_inference": self.instructions_per_inference}
