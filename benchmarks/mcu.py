"""The exported C engine on every emulated Cortex-M core: instructions per inference and per MAC, flash, stack.

    .venv/bin/python -m benchmarks.mcu [--arch modern classic] [--images 3]

QEMU's -icount shift=0 makes time count executed instructions, and SysTick reads it: deterministic counts,
not cycles. Instructions per SysTick tick differ by board, so example/main.c measures them first with a
loop of known length (recorded per run as `instructions_per_tick`). Each shipped checkpoint is quantized as
`edgelenet quantize` does by default (minmax, 1,000 class-balanced training images, seed 0), exported, built for each core with the example's
flags plus a per-step hook, and run on the first test images; every core's logits must equal the integer
reference's (so they are identical across cores), or the script stops. Cores and the path each compiles
(firmware_export/kernels/eln_target.h): M0, M0+ (micro:bit) and M3 (an385) the Thumb path; M4 (an386, with
both export-c --optimize layouts), M7 (an500), M33 (an505) and M55 without MVE (an547) the DSP path; M55
with MVE (an547) the Helium path. Beside each run, the naive baseline (benchmarks/naive/naive.c: plain
per-layer loops) compiled -O3 for the same core. Flash is the engine
object's code + constants (weights, tables) for that core, -O2; stack is the engine's deepest call chain
(GCC's -fstack-usage frames along the call graph, as export-c's report). CMSIS-NN figures are quoted, not
measured.
Writes benchmarks/results/mcu.json (benchmarks/common.py).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import write_result
from benchmarks.naive.generate import naive_header
from calibration.selection import select_calibration_set
from edgelenet import reference
from edgelenet.checkpoint import load_checkpoint
from edgelenet.data import load_mnist
from edgelenet.quantize import quantize_model
from firmware_export import build, export_c
from firmware_export.memory import measure_core

NAIVE = Path(__file__).resolve().parent / "naive" / "naive.c"
# (run name, core, kernel path, export-c --optimize); the board is build.CORE_BOARD[core]. --optimize only
# changes the DSP path's layout (size: int8 weights widened at run time, the default; speed: 16-bit pairs).
RUNS = [("cortex-m0", "cortex-m0", "thumb", "size"),
        ("cortex-m0plus", "cortex-m0plus", "thumb", "size"),
        ("cortex-m3", "cortex-m3", "thumb", "size"),
        ("cortex-m4", "cortex-m4", "dsp", "size"),
        ("cortex-m4 --optimize speed", "cortex-m4", "dsp", "speed"),
        ("cortex-m7", "cortex-m7", "dsp", "size"),
        ("cortex-m33", "cortex-m33", "dsp", "size"),
        ("cortex-m55+nomve", "cortex-m55+nomve", "dsp", "size"),
        ("cortex-m55", "cortex-m55", "helium", "size")]
# Quoted from the text of issue 11 (CMSIS-NN on the modern network); not measured by this script.
QUOTED = [
    {"figure": "CMSIS-NN, Cortex-M4, modern network", "instructions": 2230880, "instructions_per_mac": 5.36,
     "source": "quoted from issue 11 (not measured here)"},
    {"figure": "CMSIS-NN Helium (MVE) build, Cortex-M55, modern network", "instructions": 763656,
     "instructions_per_mac": 1.83, "source": "quoted from issue 11 (not measured here)"},
]


def quantized(arch: str, mnist):
    model, _ = load_checkpoint(arch)
    images = select_calibration_set(mnist.train, 1000, seed=0)
    return quantize_model(model, images, calibration_info={"source": "mnist-train", "seed": 0})[0]


def footprint(out: Path, cpu: str, workdir: Path) -> dict:
    """Flash (code + constants) and stack (the deepest call chain) of OUT/lenet5.c compiled for `cpu` (-O2,
    as the example builds it), measured as export-c's report measures them (firmware_export.memory)."""
    files = {path.name: path.read_text() for path in out.glob("lenet5*")}
    core = measure_core(files, "lenet5", cpu, Path(tempfile.mkdtemp(dir=workdir)))
    return {k: core[k] for k in ("flash_bytes", "code_bytes", "const_bytes", "stack_bytes")}


def run_checked(elf: Path, board: str, expected: list, what: str, per_tick: float | None = None
                ) -> tuple[int, list[int], float]:
    """(total, per-step instructions of the first image, instructions per SysTick tick); logits checked.
    per_tick: the board's calibration, for the naive baseline, which prints its ticks times 40."""
    text = build.run_qemu(elf, board, timeout=600)
    _, logits, counts = build.parse_example_output(text)
    if per_tick is not None:
        counts = [[round(c / 40 * per_tick) for c in count] for count in counts]
    if logits != expected:
        raise SystemExit(f"{what}: logits differ from the integer reference")
    totals = [c[0] for c in counts]  # ARMv6-M has no IT blocks: its clamps branch, so counts vary slightly
    if max(totals) - min(totals) > max(totals) // 1000:
        raise SystemExit(f"{what}: totals differ between images by more than 0.1%: {counts}")
    if per_tick is None:
        calibration = next(line.split() for line in text.splitlines() if line.startswith("calibration"))
        per_tick = round(int(calibration[1]) / int(calibration[3]), 3)
    return counts[0][0], counts[0][1:], per_tick


def build_naive(out: Path, workdir: Path, cpu: str, board: str) -> Path:
    """benchmarks/naive/naive.c -O3 for `cpu`, with the example's start-up and `board`'s linker script."""
    example, target = out / "example", workdir / "naive.elf"
    fpu = [] if build.fpu_enabled(cpu) else ["-DELN_FPU_OFF"]
    build.run([build.ARM_CC, *build.STRICT, *build.CPU_FLAGS[cpu], "-O3", *build.ARM_LIBS, "-T",
               str(build.linker_script(out, board)), f"-I{workdir}", '-DELN_VECTORS="vectors.h"', *fpu, str(NAIVE),
               str(example / "startup.c"), "-o", str(target)])
    return target


def measure(model, images: np.ndarray, workdir: Path) -> list[dict]:
    """One row per core: instructions (total, per MAC, per step), naive -O3, calibration, flash, stack."""
    build.vectors_header(images, workdir / "vectors.h")
    expected = reference.predict(model, images)[1].tolist()
    (workdir / "naive_weights.h").write_text(naive_header(model))
    rows = []
    for name, cpu, path, optimize in RUNS:
        out = workdir / f"{model.arch}-{optimize}"
        report = export_c(model, out, measure_flash=False, optimize=optimize)
        board = build.CORE_BOARD[cpu]
        elf = build.build_arm_example(out, board, workdir / "engine.elf",
                                      ['-DELN_VECTORS="vectors.h"', "-DELN_SYSTICK", "-DLENET5_PROFILE"],
                                      [workdir], cpu=cpu)
        total, per_step, per_tick = run_checked(elf, board, expected, f"{model.arch} on {name}")
        naive = run_checked(build_naive(out, workdir, cpu, board), board, expected, f"naive {model.arch} on {name}",
                            per_tick)[0]
        rows.append({"arch": model.arch, "core": name, "board": board, "path": path, "optimize": optimize,
                     "instructions": total, "instructions_per_mac": round(total / report["total_macs"], 3),
                     "instructions_per_step": ", ".join(f"{step} {count:,}"
                                                        for step, count in zip(report["accumulator_bounds"], per_step)),
                     "naive_O3_instructions": naive, "over_naive": round(total / naive, 3),
                     "instructions_per_tick": per_tick, **footprint(out, cpu, workdir),
                     "logits": "= reference"})
    return rows


def headline(rows: list[dict]) -> dict:
    """The key figures for the README, per variant: M4 DSP, M55 Helium, M3 and M0 per inference and per MAC."""
    def figure(core: str) -> dict:
        return {r["arch"]: f"{r['instructions']:,} ({r['instructions_per_mac']}/MAC, {r['flash_bytes']:,} B flash)"
                for r in rows if r["core"] == core}
    return {"Cortex-M4 DSP path instructions per inference (export-c default, --optimize size)": figure("cortex-m4"),
            "Cortex-M4 DSP path, --optimize speed": figure("cortex-m4 --optimize speed"),
            "Cortex-M55 Helium path instructions per inference": figure("cortex-m55"),
            "Cortex-M3 / M0 Thumb path instructions per inference": {
                arch: f"{m3['instructions']:,} ({m3['instructions_per_mac']}/MAC) / {m0['instructions']:,} "
                      f"({m0['instructions_per_mac']}/MAC)"
                for m3 in rows if m3["core"] == "cortex-m3" for m0 in rows
                if m0["core"] == "cortex-m0" and m0["arch"] == m3["arch"] for arch in [m3["arch"]]}}


def emulated_run_arguments(description: str):
    """The command line of the emulated-core benchmarks (this one and benchmarks/firmware.py): --arch and
    --images, after checking the cross compiler and QEMU are there. Returns (args, MNIST, the test images)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--arch", nargs="+", default=["modern", "classic"], choices=["modern", "classic"])
    parser.add_argument("--images", type=int, default=3)
    args = parser.parse_args()
    if not (build.have_arm() and build.have_qemu()):
        raise SystemExit("needs arm-none-eabi-gcc and qemu-system-arm")
    mnist = load_mnist()
    return args, mnist, mnist.test.images[:args.images]


def main() -> None:
    args, mnist, images = emulated_run_arguments(__doc__.splitlines()[0])
    rows, macs = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.arch:
            model = quantized(arch, mnist)
            macs[arch] = export_c(model, Path(tmp) / "macs", measure_flash=False)["total_macs"]
            rows += measure(model, images, Path(tmp))
    for row in rows:
        print(f"{row['arch']:8s} {row['core']:27s} {row['instructions']:>10,} instructions  "
              f"{row['instructions_per_mac']:.3f}/MAC  flash {row['flash_bytes']:>7,} B  "
              f"stack {row['stack_bytes']:>5,} B  "
              f"{row['instructions_per_tick']} instructions/tick  naive {row['naive_O3_instructions']:>10,}")
    write_result("mcu", {
        "images": args.images, "macs": macs,
        "note": "QEMU -icount shift=0 instruction counts (not cycles), read with SysTick calibrated per board; "
                "every core's logits equal the integer reference's on every image",
        "logits_identical_across_cores": True, "rows": rows, "cmsis_nn_quoted": QUOTED, "headline": headline(rows)})


if __name__ == "__main__":
    main()
