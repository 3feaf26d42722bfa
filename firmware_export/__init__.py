"""export-c: an int8 artifact -> a C99 integer-only LeNet-5 engine, weight header and memory report.

    export_c(model, out, prefix, optimize)  writes OUT/<prefix>.h, OUT/<prefix>.c, OUT/<prefix>_weights.h and OUT/example/,
                                  all or nothing (swapped in with one atomic rename), and returns the report (files, flash, scratch, stack, MACs).

Modules: layout (weights to C arrays, fused steps), memory (scratch plan, report), render (templates ->
texts), build (compilers, QEMU), c_runtimes (the engine as edgelenet runtimes: CRuntime on the host through ctypes, QemuRuntime on an
emulated core).
"""

from __future__ import annotations

import json
from pathlib import Path

import edgelenet
from edgelenet.artifact import QuantizedModel
from edgelenet.errors import UserError
from edgelenet.fileio import replace_tree
from firmware_export.memory import flash_for_core, measure_engine, report, weights_bytes
from firmware_export.render import Rendered, render

__all__ = ["export_c", "render", "write_files"]
REPORT = "example/report.json"  # the memory report, beside the example (OUT/ itself holds only the engine)


def write_files(files: dict[str, str], out: Path) -> list[Path]:
    """Every file at once: a staging copy of OUT swapped in with one atomic rename (fileio.replace_tree)."""
    return replace_tree({name: text.encode("utf-8") for name, text in files.items()}, Path(out))


def check_example_owner(out: Path, prefix: str) -> None:
    """OUT/example/ belongs to one model: a second model (another --prefix) exported into the same folder
    would silently replace the first one's example and report, so it is refused."""
    report_path = Path(out) / REPORT
    if not (Path(out) / "example").exists():
        return
    try:
        owner = json.loads(report_path.read_text(encoding="utf-8")).get("prefix")
    except (OSError, ValueError, AttributeError):
        owner = None
    if owner != prefix:
        held = f"the export of --prefix {owner}" if isinstance(owner, str) else "an example/ not written by export-c"
        raise UserError(f"{out} already holds {held}; export each model into its own --out folder "
                        f"(or re-export with the same --prefix to replace it)")


def export_c(model: QuantizedModel, out: Path, prefix: str = "lenet5", measure_flash: bool = True,
             optimize: str = "size") -> dict:
    """Render, measure, write everything (with OUT/example/report.json) at once; the report as a dict.
    optimize: the DSP path's layout, "size" (int8 full-layer weights) or "speed" (16-bit pairs); the
    report gives the flash of both (`flash_bytes_by_optimize`), measured or, without a compiler, weights."""
    rendered: Rendered = render(model, prefix, optimize)
    check_example_owner(Path(out), prefix)
    measured = measure_engine(rendered.files, prefix) if measure_flash else None
    names = sorted(rendered.files) + [REPORT]
    result = report(rendered.steps, rendered.arrays, rendered.scratch_bytes, names, measured)
    other = "speed" if optimize == "size" else "size"
    twin = render(model, prefix, other)
    result["optimize"] = optimize
    if measured:  # Cortex-M4 code + constants of each layout
        both = {optimize: result["flash_bytes"], other: flash_for_core(twin.files, prefix)}
    else:  # no Arm compiler: the Cortex-M4 weights of each layout
        both = {optimize: result["weights_bytes_dsp"], other: weights_bytes(twin.arrays, "dsp")}
    result["flash_bytes_by_optimize"] = both
    result = {"generator": f"edgelenet {edgelenet.__version__}", "prefix": prefix, "checksum": model.checksum,
              **result}
    files = dict(rendered.files, **{REPORT: json.dumps(result, indent=2, sort_keys=True) + "\n"})
    written = write_files(files, Path(out))
    return {**result, "files": [str(f) for f in written], "out": str(out)}
