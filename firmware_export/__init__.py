"""export-c: an int8 artifact -> a C99 integer-only LeNet-5 engine, weight header and memory report.

    export_c(model, out, prefix)  writes OUT/<prefix>.h, OUT/<prefix>.c, OUT/<prefix>_weights.h and OUT/example/,
                                  all or nothing, and returns the report (files, flash, scratch, stack, MACs).

Modules: layout (weights to C arrays, fused steps), memory (scratch plan, report), render (templates ->
texts), build (compilers, QEMU), runtime (CRuntime: the engine as an edgelenet runtime, through ctypes).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import edgelenet
from edgelenet.artifact import QuantizedModel
from edgelenet.errors import UserError
from edgelenet.fileio import ensure_dir
from firmware_export import build
from firmware_export.memory import report
from firmware_export.render import Rendered, render

__all__ = ["export_c", "render", "write_files"]
REPORT = "example/report.json"  # the memory report, beside the example (OUT/ itself holds only the engine)


def write_files(files: dict[str, str], out: Path) -> list[Path]:
    """Write every file into a temporary directory beside OUT, then move them in: never half-written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"output {out} exists and is not a directory")
    ensure_dir(out.parent if out.parent != Path("") else Path("."))
    if out.exists() and not os.access(out, os.W_OK):
        raise UserError(f"output directory {out} is not writable")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise UserError(f"cannot write beside {out}: {exc.strerror or exc}") from None
    try:
        tree = staging / "out"  # made by mkdir, so it gets the user's umask (mkdtemp's is 0700)
        for name, text in sorted(files.items()):
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_text(text, encoding="utf-8", newline="\n")
        if not out.exists():
            os.replace(tree, out)  # one rename: OUT appears complete
        else:
            for name in sorted(files):
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(tree / name, out / name)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name in sorted(files)]


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


def export_c(model: QuantizedModel, out: Path, prefix: str = "lenet5", measure_flash: bool = True) -> dict:
    """Render, measure, write everything (with OUT/example/report.json) at once; the report as a dict."""
    rendered: Rendered = render(model, prefix)
    check_example_owner(Path(out), prefix)
    measured = measure(rendered.files, prefix) if measure_flash else None
    names = sorted(rendered.files) + [REPORT]
    result = report(rendered.steps, rendered.arrays, rendered.scratch_bytes, names, measured)
    result = {"generator": f"edgelenet {edgelenet.__version__}", "prefix": prefix, "checksum": model.checksum,
              **result}
    files = dict(rendered.files, **{REPORT: json.dumps(result, indent=2, sort_keys=True) + "\n"})
    written = write_files(files, Path(out))
    return {**result, "files": [str(f) for f in written], "out": str(out)}
