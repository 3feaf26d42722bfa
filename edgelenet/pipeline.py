"""`edgelenet run`: the whole pipeline, as a user (or CI) runs it once end to end.

train (or a given checkpoint) -> evaluate -> quantize -> validate -> export-onnx -> export-c
-> build and run the C example on the host -> and, when the Arm toolchain and QEMU are present, on an
emulated Cortex-M core (`--target`, qemu-m4 by default) with deterministic instruction counts. Writes DIR/report.md and DIR/report.json with the
plots beside them; every figure in the report is measured in this run.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from edgelenet import commands, reference
from edgelenet.artifact import load_artifact
from edgelenet.checkpoint import load_checkpoint, resolve_model_path
from edgelenet.datasets import load_dataset
from edgelenet.errors import UserError
from edgelenet.fileio import ensure_dir, write_text_atomic
from edgelenet.parity import Thresholds
from edgelenet.progress import progress_bar
from edgelenet.pipeline_report import plot_quantization_error, render_markdown

VECTORS_DEFINE = '-DELN_VECTORS="vectors.h"'
STAGES = ("train", "evaluate", "quantize", "validate", "export-onnx", "export-c", "C on host", "C on Cortex-M")


@dataclass
class RunConfig:
    out: Path
    model: str | None = None       # a checkpoint, `classic` or `modern`; None trains one
    arch: str = "modern"
    epochs: int | None = None
    seed: int = 0
    train_limit: int | None = None
    calib_method: str = "minmax"      # benchmarks/calibration_choice.py
    calib_size: int = 1000
    validate_limit: int | None = None  # None: the whole official test set
    vectors: int = 20                  # test images embedded in the C example runs
    data: Path | None = None           # --data: the user's data set (None: MNIST)
    target: str = "qemu-m4"            # the emulated core of the last stage (validate's qemu-* names)


def run_pipeline(cfg: RunConfig, console: Console) -> dict:
    from firmware_export import build

    if cfg.target not in build.QEMU_RUNTIMES:
        raise UserError(f"unknown --target {cfg.target!r}: choose from {', '.join(build.QEMU_RUNTIMES)}")
    if cfg.model is not None:
        load_checkpoint(cfg.model)   # a bad checkpoint is refused before anything is written
    out = ensure_dir(Path(cfg.out))
    results: dict = {"stages": {}}
    with progress_bar(console) as progress:
        stage = progress.add_task("edgelenet run", total=len(STAGES))

        def step(name: str) -> None:
            progress.update(stage, description=f"edgelenet run: {name}")

        step("train")
        model_path = _train_or_reuse(cfg, out, console, results)
        progress.advance(stage)
        step("evaluate")
        results["evaluate"] = commands.evaluate_model(str(model_path), out, cfg.data)
        progress.advance(stage)
        step("quantize")
        artifact = out / f"{Path(str(model_path)).stem}-int8.safetensors"
        results["quantize"] = commands.quantize_checkpoint(str(model_path), artifact, cfg.calib_method, cfg.calib_size,
                                                           None, False, cfg.seed, cfg.data)
        plot_quantization_error(results["quantize"]["layers"], out / "quantization_error.png")
        progress.advance(stage)
        step("validate")
        results["validate"] = commands.validate_artifact(artifact, None, out / "validate.xml", cfg.validate_limit,
                                                         Thresholds(), cfg.data, console)
        write_text_atomic(out / "validate.json", json.dumps(results["validate"], indent=2) + "\n")
        progress.advance(stage)
        step("export-onnx")
        results["export_onnx"] = commands.export_onnx(str(artifact), out / "onnx")
        progress.advance(stage)
        step("export-c")
        results["export_c"] = commands.export_c(artifact, out / "c", "lenet5")
        progress.advance(stage)
        step("C on host")
        model, images = load_artifact(artifact), load_dataset(cfg.data).test.images[:cfg.vectors]
        results["c_host"] = run_c_host(model, images, out / "c")
        progress.advance(stage)
        step(f"C on {cfg.target}")
        results["c_target"] = run_c_target(model, images, out / "c", cfg.target)
        progress.advance(stage)
    results["files"] = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    results["files"] += ["report.md", "report.json"]
    write_text_atomic(out / "report.json", json.dumps(results, indent=2, default=str) + "\n")
    write_text_atomic(out / "report.md", render_markdown(results))
    return results


def _train_or_reuse(cfg: RunConfig, out: Path, console: Console, results: dict) -> Path:
    if cfg.model is not None:
        path = resolve_model_path(cfg.model)
        _, training = load_checkpoint(cfg.model)
        results["train"] = {"checkpoint": str(path), "trained_in_this_run": False, "record": training}
        if training.get("history"):
            from edgelenet.train import plot_history
            plot_history(training["history"], out / "training.png", f"{path.name}: recorded training curves")
        return path
    metrics = commands.train_and_test(cfg.arch, "softmax", cfg.epochs, cfg.seed, out / "train", cfg.train_limit,
                                      cfg.data, console)
    results["train"] = {**metrics, "trained_in_this_run": True}
    return Path(metrics["checkpoint"])


def run_c_host(model, images: np.ndarray, c_dir: Path) -> dict:
    """The exported example compiled with the host compiler, `images` embedded; logits vs the reference."""
    from firmware_export import build

    if not build.host_cc():
        return {"status": "skipped", "reason": "no host C compiler"}
    with tempfile.TemporaryDirectory() as tmp:
        header = build.vectors_header(images, Path(tmp) / "vectors.h")
        exe = build.compile_host([*build.engine_sources(c_dir), c_dir / "example" / "main.c"], Path(tmp) / "host",
                                 [*build.HOST_OPT, f"-I{c_dir}", f"-I{header.parent}", VECTORS_DEFINE])
        return _compare(build.run([str(exe)]), reference.predict(model, images)[1])


def run_c_target(model, images: np.ndarray, c_dir: Path, target: str = "qemu-m4") -> dict:
    """The example for an emulated core (`target`: qemu-m4 is a Cortex-M4 on QEMU mps2-an386) with SysTick
    instruction counts; unaligned-access traps on, the FPU off for integer builds (firmware_export.build)."""
    from firmware_export import build

    cpu = build.QEMU_RUNTIMES[target]
    board = build.CORE_BOARD[cpu]
    where = {"target": target, "core": cpu, "board": board}
    if not (build.have_arm() and build.have_qemu()):
        return {**where, "status": "skipped", "reason": "arm-none-eabi-gcc or qemu-system-arm not installed"}
    with tempfile.TemporaryDirectory() as tmp:
        header = build.vectors_header(images, Path(tmp) / "vectors.h")
        elf = build.build_arm_example(c_dir, board, Path(tmp) / "target.elf", [VECTORS_DEFINE, "-DELN_SYSTICK"],
                                      [header.parent], cpu=cpu)
        return {**where, **_compare(build.run_qemu(elf, board), reference.predict(model, images)[1])}


def _compare(output: str, expected: np.ndarray) -> dict:
    from firmware_export import build

    classes, logits, counts = build.parse_example_output(output)
    if len(logits) != len(expected):
        raise UserError(f"the C example printed {len(logits)} results for {len(expected)} images")
    result = {"status": "ok", "images": len(expected), "identical_to_reference": bool(np.array_equal(logits, expected))}
    if counts:
        totals = [c[0] for c in counts]
        result["instructions_per_inference"] = int(np.median(totals))
        result["instructions_per_step"] = [int(v) for v in np.median([c[1:] for c in counts], axis=0)]
    return result
