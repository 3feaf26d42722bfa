"""Scratch plan and memory report of the exported engine.

Scratch: each fused step writes only its pooled/subsampled output, and steps alternate between two
regions of the caller's scratch (ping-pong), so the scratch is the largest output written to each region:
for LeNet-5, region 0 holds the 6x14x14 S2 maps (then C5's 120), region 1 the 16x5x5 S4 maps (then
F6's 84): 1,176 + 400 = 1,576 bytes, the floor for an engine that keeps only pooled maps. The input and
the logits are the caller's buffers.

Flash: the weights are counted from the arrays; code is measured by compiling the engine for Cortex-M4
with arm-none-eabi-gcc (-O2) and reading the section sizes, when that toolchain exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from firmware_export.layout import CArray, Step

ALIGN = 4  # every region starts 4-byte aligned (the caller's scratch is 4-byte aligned)


@dataclass
class Buffer:
    """Where one step reads and writes: "input", "logits" or an offset into the scratch."""
    step: Step
    source: str | int
    target: str | int


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_scratch(steps: list[Step]) -> tuple[list[Buffer], int]:
    """(per step: source and target), scratch bytes. The last step writes the caller's logits."""
    region_size = [0, 0]
    for index, step in enumerate(steps[:-1]):
        region_size[index % 2] = max(region_size[index % 2], _align(step.out_bytes))
    offsets = [0, region_size[0]]
    buffers, source = [], "input"
    for index, step in enumerate(steps):
        target = offsets[index % 2] if index < len(steps) - 1 else "logits"
        buffers.append(Buffer(step, source, target))
        source = target
    return buffers, sum(region_size)


def macs_per_layer(steps: list[Step]) -> dict[str, int]:
    return {layer.name: macs for step in steps for layer, macs in zip(step.layers, step.macs)}


def weights_bytes(arrays: list[CArray], path: str) -> int:
    """const data compiled for one path of kernels/eln_kernels.h: "mve" (Helium), "dsp", "thumb" or "host"."""
    return sum(a.nbytes for a in arrays
               if a.path in ("", path) or (a.path == "portable" and path not in ("dsp", "mve")))


def report(steps: list[Step], arrays: list[CArray], scratch: int, files: list[Path], measured: dict | None) -> dict:
    """The export-c result: files, flash, scratch, stack, MACs per layer, weights vs code."""
    macs = macs_per_layer(steps)
    portable, dsp, thumb, mve = (weights_bytes(arrays, path) for path in ("host", "dsp", "thumb", "mve"))
    result = {
        "files": [str(f) for f in files],
        "scratch_bytes": scratch,
        "weights_bytes": portable,
        "weights_bytes_dsp": dsp,
        "weights_bytes_thumb": thumb,
        "weights_bytes_mve": mve,
        "macs": macs,
        "total_macs": sum(macs.values()),
        "accumulator_bounds": {step.name: step.acc_bound for step in steps},
    }
    if measured:
        result.update(measured)
        result["flash_bytes"] = measured["code_bytes"] + measured["const_bytes"]
        result["flash_note"] = f"measured: arm-none-eabi-gcc {measured['flags']}, {measured['cpu']}"
    else:
        result.update({"flash_bytes": portable, "code_bytes": None, "stack_bytes": None,
                       "flash_note": "weights only: arm-none-eabi-gcc not found, code size not measured"})
    return result
