"""export-c: an int8 artifact -> a C99 integer-only LeNet-5 engine, weight header and memory report.

    export_c(model, out, prefix)  writes OUT/<prefix>.h, OUT/<prefix>.c, OUT/<prefix>_weights.h and OUT/example/,
                                  all or nothing (swapped in with one atomic rename), and returns the report (files, flash, scratch, stack, MACs).

Modules: layout (weights to C arrays, fused steps), memory (scratch plan, report), render (templates ->
texts), build (compilers, QEMU), runtime (CRuntime: the engine as an edgelenet runtime, through ctypes).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import edgelenet
from edgelenet.artifact import QuantizedModel
from edgelenet.fileio import replace_tree
from firmware_export import build
from firmware_export.memory import report
from firmware_export.render import Rendered, render

__all__ = ["export_c", "render", "write_files"]
REPORT = "example/report.json"  # the memory report, beside the example (OUT/ itself holds only the engine)


def write_files(files: dict[str, str], out: Path) -> list[Path]:
    """Every file at once: a staging copy of OUT swapped in with one atomic rename (fileio.replace_tree)."""
    return replace_tree({name: text.encode("utf-8") for name, text in files.items()}, Path(out))


def measure(files: dict[str, str], prefix: str, cpu: str = "cortex-m4") -> dict | None:
    """Code, const data and stack of <prefix>.c compiled for `cpu`; None without arm-none-eabi-gcc."""
    if not build.have_arm():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        for name in (f"{prefix}.c", f"{prefix}.h", f"{prefix}_weights.h"):
            Path(tmp, name).write_text(files[name])
        obj = build.compile_arm_object(Path(tmp) / f"{prefix}.c", cpu, Path(tmp) / f"{prefix}.o",
                                       build.ARM_OPT + ["-fstack-usage"])
        sizes = build.section_sizes(obj)
        frames = {}
        for line in (Path(tmp) / f"{prefix}.su").read_text().splitlines():
            where, size, _ = line.split("\t")
            frames[where.rsplit(":", 1)[-1]] = int(size)
    infer = frames.pop(f"{prefix}_infer", 0)
    return {
        "cpu": cpu, "flags": " ".join(build.ARM_OPT),
        "code_bytes": sum(v for k, v in sizes.items() if k.startswith(".text")),
        "const_bytes": sum(v for k, v in sizes.items() if k.startswith(".rodata")),
        "data_bytes": sum(v for k, v in sizes.items() if k.startswith((".data", ".bss"))),
        # infer's frame plus every other function's, as if all were nested: an upper bound.
        "stack_bytes": infer + sum(frames.values()),
        "stack_frames": dict(sorted(frames.items()), **{f"{prefix}_infer": infer}),
    }


def export_c(model: QuantizedModel, out: Path, prefix: str = "lenet5", measure_flash: bool = True) -> dict:
    """Render, measure, write everything (with OUT/example/report.json) at once; the report as a dict."""
    rendered: Rendered = render(model, prefix)
    measured = measure(rendered.files, prefix) if measure_flash else None
    names = sorted(rendered.files) + [REPORT]
    result = report(rendered.steps, rendered.arrays, rendered.scratch_bytes, names, measured)
    result = {"generator": f"edgelenet {edgelenet.__version__}", "prefix": prefix, "checksum": model.checksum,
              **result}
    files = dict(rendered.files, **{REPORT: json.dumps(result, indent=2, sort_keys=True) + "\n"})
    written = write_files(files, Path(out))
    return {**result, "files": [str(f) for f in written], "out": str(out)}
