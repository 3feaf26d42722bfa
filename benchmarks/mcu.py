"""Instructions per inference of the exported C engine on emulated Cortex-M, per step and per MAC.

    python benchmarks/mcu.py [--arch modern classic] [--images 3]

QEMU's -icount shift=0 makes time count executed instructions, and SysTick (40 instructions per tick on
the mps2 boards) reads it: deterministic counts, not cycles. Each shipped checkpoint is quantized as the
tests do (300 class-balanced training images, seed 0), exported, built with the example's flags plus a
per-step hook, and run on the first test images; logits are checked against the integer reference.
Runs: mps2-an386 (Cortex-M4) with the DSP path and with the Thumb path (-U__ARM_FEATURE_DSP), mps2-an385
(Cortex-M3, Thumb path), and Cortex-M0 code (-mcpu=cortex-m0, Thumb-1 only) on mps2-an385: a Cortex-M3
executes ARMv6-M code, so the count is the M0 binary's instruction count (the micro:bit board has no
usable SysTick count under QEMU). Beside each run, the naive baseline (benchmarks/naive/naive.c: plain
per-layer loops, full-size static buffers) compiled -O3 for the same core, with its logits checked too.
Writes benchmarks/results/mcu.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from calibration.selection import select_calibration_set
from edgelenet import reference
from edgelenet.checkpoint import load_checkpoint
from edgelenet.data import load_mnist
from edgelenet.fileio import write_text_atomic
from edgelenet.quantize import quantize_model
from benchmarks.naive.generate import naive_header
from firmware_export import build, export_c

RESULTS = Path(__file__).resolve().parent / "results" / "mcu.json"
NAIVE = Path(__file__).resolve().parent / "naive" / "naive.c"
# (name, board, cpu, path, extra flags)
RUNS = [("mps2-an386/dsp", "mps2-an386", "cortex-m4", "dsp", []),
        ("mps2-an386/thumb", "mps2-an386", "cortex-m4", "thumb", ["-U__ARM_FEATURE_DSP"]),
        ("mps2-an385/thumb", "mps2-an385", "cortex-m3", "thumb", []),
        ("mps2-an385/cortex-m0-code/thumb", "mps2-an385", "cortex-m0", "thumb", [])]


def quantized(arch: str, mnist):
    model, _ = load_checkpoint(arch)
    images = select_calibration_set(mnist.train, 300, seed=0)
    return quantize_model(model, images, calibration_info={"source": "mnist-train", "seed": 0})[0]


def measure(model, images: np.ndarray, workdir: Path) -> dict:
    out = workdir / model.arch
    report = export_c(model, out)
    steps = [name for name in report["accumulator_bounds"]]
    build.vectors_header(images, workdir / "vectors.h")
    expected = reference.predict(model, images)[1].tolist()
    (workdir / "naive_weights.h").write_text(naive_header(model))
    runs = {}
    for name, board, cpu, path, flags in RUNS:
        elf = build.build_arm_example(out, board, workdir / "engine.elf",
                                      ['-DELN_VECTORS="vectors.h"', "-DELN_SYSTICK", "-DLENET5_PROFILE", *flags],
                                      [workdir], cpu=cpu)
        total, per_step = run_checked(elf, board, expected, f"{model.arch} on {name}")
        naive = run_checked(build_naive(out, workdir, cpu, board), board, expected, f"naive {model.arch} on {name}")[0]
        runs[name] = {
            "board": board, "cpu": cpu, "path": path, "instructions": total,
            "instructions_per_mac": round(total / report["total_macs"], 3),
            "steps": dict(zip(steps, per_step)),
            "naive_O3_instructions": naive, "over_naive": round(total / naive, 3),
        }
        if cpu != build.BOARDS[board].cpu:
            runs[name]["note"] = f"{cpu} code run on {board} ({build.BOARDS[board].cpu} executes ARMv6-M code)"
    return {"macs": report["total_macs"], "macs_per_layer": report["macs"], "runs": runs,
            "flash": {k: report[k] for k in ("flash_bytes", "code_bytes", "weights_bytes", "weights_bytes_dsp",
                                             "weights_bytes_thumb")},
            "weights_note": "weights_bytes: host path; _dsp: Cortex-M4/M7; _thumb: Cortex-M0/M0+/M3",
            "scratch_bytes": report["scratch_bytes"], "stack_bytes": report.get("stack_bytes")}


def run_checked(elf: Path, board: str, expected: list, what: str) -> tuple[int, list[int]]:
    """(total, per-step) instructions of the first image; logits checked against the reference."""
    _, logits, counts = build.parse_example_output(build.run_qemu(elf, board))
    if logits != expected:
        raise SystemExit(f"{what}: logits differ from the reference")
    totals = [c[0] for c in counts]  # ARMv6-M has no IT blocks: its clamps branch, so counts vary slightly
    if max(totals) - min(totals) > max(totals) // 1000:  # per step, +-1 tick (40) of quantization is expected
        raise SystemExit(f"{what}: totals differ between images by more than 0.1%: {counts}")
    return counts[0][0], counts[0][1:]


def build_naive(out: Path, workdir: Path, cpu: str, board: str) -> Path:
    """benchmarks/naive/naive.c -O3 for `cpu`, with the example's start-up and `board`'s linker script."""
    example, target = out / "example", workdir / "naive.elf"
    build.run([build.ARM_CC, *build.STRICT, *build.CPU_FLAGS[cpu], "-O3", *build.ARM_LIBS, "-T",
               str(build.linker_script(out, board)), f"-I{workdir}", '-DELN_VECTORS="vectors.h"', str(NAIVE),
               str(example / "startup.c"), "-o", str(target)])
    return target


def headline(models: dict) -> dict:
    """The key figures for the README, one column per variant ({label: {arch: value}}): M4 DSP per inference
    and per MAC; M3 and M0 Thumb path per inference and against the naive -O3 baseline."""
    rows = {"Cortex-M4 DSP instructions per inference (per MAC)": {}, "Cortex-M3 / M0 instructions per inference "
            "(vs naive -O3)": {}}
    for arch, info in models.items():
        runs = info["runs"]
        dsp = runs["mps2-an386/dsp"]
        m3, m0 = runs["mps2-an385/thumb"], runs["mps2-an385/cortex-m0-code/thumb"]
        rows["Cortex-M4 DSP instructions per inference (per MAC)"][arch] = (
            f"{dsp['instructions']:,} ({dsp['instructions_per_mac']}/MAC)")
        rows["Cortex-M3 / M0 instructions per inference (vs naive -O3)"][arch] = (
            f"{m3['instructions']:,} ({m3['over_naive']}x) / {m0['instructions']:,} ({m0['over_naive']}x)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["modern", "classic"])
    parser.add_argument("--images", type=int, default=3)
    args = parser.parse_args()
    if not (build.have_arm() and build.have_qemu()):
        raise SystemExit("needs arm-none-eabi-gcc and qemu-system-arm")
    mnist = load_mnist()
    images = mnist.test.images[:args.images]
    result = {"command": "python benchmarks/mcu.py " + " ".join(sys.argv[1:]), "images": args.images,
              "note": "QEMU -icount shift=0 instruction counts (not cycles), read with SysTick",
              "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.arch:
            result["models"][arch] = measure(quantized(arch, mnist), images, Path(tmp))
    result["headline"] = headline(result["models"])
    write_text_atomic(RESULTS, json.dumps(result, indent=2) + "\n")
    for arch, info in result["models"].items():
        for name, run in info["runs"].items():
            print(f"{arch:8s} {name:32s} {run['instructions']:>10,} instructions  {run['instructions_per_mac']:.2f}/MAC  "
                  f"naive {run['naive_O3_instructions']:>10,} ({run['over_naive']:.2f}x)  " + "  ".join(f"{k} {v:,}" for k, v in run["steps"].items()))
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}\n"
          f"command: {result['command']}")


if __name__ == "__main__":
    main()
