"""Instructions per inference of the exported C engine on emulated Cortex-M, per step and per MAC.

    python benchmarks/mcu.py [--arch modern classic] [--images 3]

QEMU's -icount shift=0 makes time count executed instructions, and SysTick (40 instructions per tick on
the mps2 boards) reads it: deterministic counts, not cycles. Each shipped checkpoint is quantized as the
tests do (300 class-balanced training images, seed 0), exported, built with the example's flags plus a
per-step hook, and run on the first test images; logits are checked against the integer reference.
Runs: mps2-an386 (Cortex-M4) with the DSP path and with the portable path (-U__ARM_FEATURE_DSP),
mps2-an385 (Cortex-M3, portable). Writes benchmarks/results/mcu.json.
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
from firmware_export import build, export_c

RESULTS = Path(__file__).resolve().parent / "results" / "mcu.json"
RUNS = [("mps2-an386", "dsp", []), ("mps2-an386", "portable", ["-U__ARM_FEATURE_DSP"]), ("mps2-an385", "portable", [])]


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
    runs = {}
    for board, path, flags in RUNS:
        elf = build.build_arm_example(out, board, workdir / f"{board}-{path}.elf",
                                      ['-DELN_VECTORS="vectors.h"', "-DELN_SYSTICK", "-DLENET5_PROFILE", *flags],
                                      [workdir])
        _, logits, counts = build.parse_example_output(build.run_qemu(elf, board))
        if logits != expected:
            raise SystemExit(f"{model.arch} on {board} ({path}): logits differ from the reference")
        if len({c[0] for c in counts}) != 1:  # per step, +-1 tick (40) of quantization is expected
            raise SystemExit(f"{model.arch} on {board} ({path}): totals differ between images: {counts}")
        total, per_step = counts[0][0], counts[0][1:]
        runs[f"{board}/{path}"] = {
            "cpu": build.BOARDS[board], "path": path, "instructions": total,
            "instructions_per_mac": round(total / report["total_macs"], 3),
            "steps": dict(zip(steps, per_step)),
        }
    return {"macs": report["total_macs"], "macs_per_layer": report["macs"], "runs": runs,
            "flash": {k: report[k] for k in ("flash_bytes", "code_bytes", "weights_bytes", "weights_bytes_dsp")},
            "scratch_bytes": report["scratch_bytes"]}


def headline(models: dict) -> dict:
    """The key figures for the README: instructions per inference and per MAC, DSP against portable."""
    rows = {}
    for arch, info in models.items():
        dsp, portable = info["runs"]["mps2-an386/dsp"], info["runs"]["mps2-an385/portable"]
        rows[f"{arch}: Cortex-M4 DSP instructions per inference"] = f"{dsp['instructions']:,}"
        rows[f"{arch}: Cortex-M4 DSP instructions per MAC"] = dsp["instructions_per_mac"]
        rows[f"{arch}: Cortex-M3 portable instructions per MAC"] = portable["instructions_per_mac"]
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
            print(f"{arch:8s} {name:22s} {run['instructions']:>10,} instructions  {run['instructions_per_mac']:.2f}/MAC  "
                  + "  ".join(f"{k} {v:,}" for k, v in run["steps"].items()))
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}\n"
          f"command: {result['command']}")


if __name__ == "__main__":
    main()
