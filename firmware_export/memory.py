"""Scratch plan and memory report of the exported engine.

Scratch: each fused step writes only its pooled/subsampled output, and steps alternate between two
regions of the caller's scratch (ping-pong), so the scratch is the largest output written to each region:
for LeNet-5, region 0 holds the 6x14x14 S2 maps (then C5's 120), region 1 the 16x5x5 S4 maps (then
F6's 84): 1,176 + 400 = 1,576 bytes, the floor for an engine that keeps only pooled maps. The input and
the logits are the caller's buffers.

Flash and stack: the weights are counted from the arrays; code, constants and the deepest call chain's
stack are measured by compiling the engine for every supported core with arm-none-eabi-gcc (-O2), when
that toolchain exists (the top-level figures are Cortex-M4's, `cores` has every core's).
"""

from __future__ import annotations

import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from edgelenet.cache import cached_json
from firmware_export import build
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


# ---- flash and stack, measured by compiling the engine for each core -------------------------------------
#
# Stack: the deepest call chain from <prefix>_infer (and <prefix>_prepare_input, <prefix>_confidence). Frames
# of the engine's functions come from gcc -fstack-usage; the call graph and the frames of library functions
# the compiler calls (memcpy, memset, __aeabi_lmul, ...) from the disassembly of the engine linked alone
# with libc and libgcc (entry <prefix>_infer, unused code collected): every BL/B.W to a function's start is
# an edge, a library frame is the sum of its PUSH/VPUSH/SUB SP. QEMU stack painting checks the result.

MEASURE_VERSION = "1"  # raise when what measure_core computes changes: cached results are then recomputed
_FUNCTION = re.compile(r"^[0-9a-f]+ <([^>]+)>:$")
_CALL = re.compile(r"\s(bl|b|b\.w|b\.n)\s+[0-9a-f]+ <([^>+]+)>$")  # to a function's start: call, tail call
_PUSH = re.compile(r"\s(v?push|stmdb)\s+(?:sp!,\s*)?\{([^}]*)\}")
_SUB_SP = re.compile(r"\ssub(?:\.w|w)?\s+sp,\s*(?:sp,\s*)?#(\d+)")


@dataclass
class Function:
    frame: int
    calls: set[str]
    indirect: bool = False


def _registers(text: str) -> int:
    count = 0
    for part in text.split(","):
        bounds = [int(re.sub(r"\D", "", r)) for r in part.split("-")] if "-" in part else None
        count += bounds[1] - bounds[0] + 1 if bounds else 1
    return count


def parse_disassembly(text: str) -> dict[str, Function]:
    """objdump -d output -> {function: frame from its prologue, direct callees, indirect calls?}."""
    functions: dict[str, Function] = {}
    current = None
    for line in text.splitlines():
        head = _FUNCTION.match(line)
        if head:
            current = functions.setdefault(head.group(1), Function(0, set()))
            continue
        if current is None or not line.startswith(" "):
            continue
        push, sub, call = _PUSH.search(line), _SUB_SP.search(line), _CALL.search(line)
        if push:
            current.frame += _registers(push.group(2)) * (8 if push.group(2).strip().startswith("d") else 4)
        elif sub:
            current.frame += int(sub.group(1))
        elif call and (call.group(1) == "bl" or functions.get(call.group(2)) is not current):
            current.calls.add(call.group(2))  # a B to the function's own start is a loop, a BL recursion
        elif re.search(r"\sblx\s+r\d", line):
            current.indirect = True
    return functions


def stack_usage(text: str) -> dict[str, int]:
    """gcc -fstack-usage (.su) -> {function: bytes}; a dynamic frame is an error (the engine has none)."""
    frames = {}
    for line in text.splitlines():
        where, size, kind = line.split("\t")
        if kind.strip() != "static":
            raise RuntimeError(f"{where}: {kind.strip()} stack frame")
        frames[where.rsplit(":", 1)[-1]] = int(size)
    return frames


def deepest_chain(root: str, functions: dict[str, Function], su: dict[str, int]) -> tuple[int, list[str]]:
    """(bytes, [root, callee, ...]) of the deepest call chain from `root`; a cycle or an indirect call
    has no static bound (RuntimeError)."""
    def frame(name: str) -> int:
        return su.get(re.sub(r"\.\d+$", "", name), functions[name].frame)

    def walk(name: str, path: tuple[str, ...]) -> tuple[int, list[str]]:
        if name in path:
            raise RuntimeError(f"recursion: {' -> '.join(path + (name,))}")
        if functions[name].indirect:
            raise RuntimeError(f"{name} makes an indirect call: no static stack bound")
        best = max((walk(c, path + (name,)) for c in functions[name].calls if c in functions), default=(0, []))
        return frame(name) + best[0], [name] + best[1]
    return walk(root, ())


def measure_core(files: dict[str, str], prefix: str, cpu: str, tmp: Path) -> dict:
    """Code, constants and deepest stack of OUT/<prefix>.c compiled for `cpu` (build.ARM_OPT)."""
    work = Path(tmp) / cpu
    work.mkdir()
    for name in (f"{prefix}.c", f"{prefix}.h", f"{prefix}_weights.h"):
        (work / name).write_text(files[name])
    obj = build.compile_arm_object(work / f"{prefix}.c", cpu, work / f"{prefix}.o", build.ARM_OPT + ["-fstack-usage"])
    sizes = build.section_sizes(obj)
    elf = work / "engine.elf"  # the engine and the library code it calls, nothing else
    build.run([build.ARM_CC, *build.CPU_FLAGS[cpu], "--specs=nano.specs", "-nostartfiles", f"-Wl,-e,{prefix}_infer",
               "-Wl,--gc-sections", str(obj), "-o", str(elf)])
    functions = parse_disassembly(build.run([build.ARM_OBJDUMP, "-d", "--no-show-raw-insn", str(elf)]))
    su = stack_usage((work / f"{prefix}.su").read_text())
    chains = [deepest_chain(f"{prefix}_{root}", functions, su) for root in ("infer", "prepare_input", "confidence")
              if f"{prefix}_{root}" in functions]
    stack, chain = max(chains)
    code = sum(v for k, v in sizes.items() if k.startswith(".text"))
    const = sum(v for k, v in sizes.items() if k.startswith(".rodata"))
    return {
        "code_bytes": code, "const_bytes": const, "flash_bytes": code + const,
        "data_bytes": sum(v for k, v in sizes.items() if k.startswith((".data", ".bss"))),
        "stack_bytes": stack, "stack_chain": chain,
    }


def _measure_cores(files: dict[str, str], prefix: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip(build.CPU_FLAGS, pool.map(lambda cpu: measure_core(files, prefix, cpu, Path(tmp)),
                                                  build.CPU_FLAGS)))


def _cache_key(files: dict[str, str], prefix: str) -> list[str]:
    """Everything a measurement depends on: the engine's text, the compiler's version and every flag."""
    engine = [files[name] for name in (f"{prefix}.c", f"{prefix}.h", f"{prefix}_weights.h")]
    compiler = build.run([build.ARM_CC, "--version"]).splitlines()[0]
    return [MEASURE_VERSION, prefix, compiler, repr(sorted(build.CPU_FLAGS.items())), repr(build.ARM_OPT), *engine]


def _valid_cores(entry: dict) -> bool:
    fields = ("code_bytes", "const_bytes", "flash_bytes", "data_bytes", "stack_bytes")
    return set(entry) == set(build.CPU_FLAGS) and all(
        isinstance(core, dict) and all(isinstance(core.get(f), int) and core[f] >= 0 for f in fields)
        and isinstance(core.get("stack_chain"), list) and all(isinstance(n, str) for n in core["stack_chain"])
        for core in entry.values())


def _flash(files: dict[str, str], prefix: str, cpu: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        for name in (f"{prefix}.c", f"{prefix}.h", f"{prefix}_weights.h"):
            Path(tmp, name).write_text(files[name])
        obj = build.compile_arm_object(Path(tmp) / f"{prefix}.c", cpu, Path(tmp) / f"{prefix}.o", build.ARM_OPT)
        sizes = build.section_sizes(obj)
    code = sum(v for k, v in sizes.items() if k.startswith(".text"))
    return {"code_bytes": code, "flash_bytes": code + sum(v for k, v in sizes.items() if k.startswith(".rodata"))}


def flash_for_core(files: dict[str, str], prefix: str, cpu: str = "cortex-m4") -> int | None:
    """Flash (code + constants) of the engine for one core, cached; None without arm-none-eabi-gcc. For the
    other --optimize layout's figure, where the per-core table and the stack are not needed."""
    if not build.have_arm():
        return None
    entry = cached_json("flash", [cpu, *_cache_key(files, prefix)], lambda: _flash(files, prefix, cpu),
                        lambda e: all(isinstance(e.get(k), int) and e[k] >= 0 for k in ("code_bytes", "flash_bytes")))
    return entry["flash_bytes"]


def measure_engine(files: dict[str, str], prefix: str, main_cpu: str = "cortex-m4") -> dict | None:
    """Per core (build.CPU_FLAGS) code, constants and stack; the top-level figures are `main_cpu`'s. None
    without arm-none-eabi-gcc. Cached (edgelenet/cache.py): a firmware build that exports an unchanged
    artifact on every build pays for the cross-compilations once."""
    if not build.have_arm():
        return None
    cached = cached_json("measure", _cache_key(files, prefix), lambda: _measure_cores(files, prefix), _valid_cores)
    cores = {cpu: cached[cpu] for cpu in build.CPU_FLAGS}  # the cores' order, whatever the cache file's
    main = cores[main_cpu]
    return {"cpu": main_cpu, "flags": " ".join(build.ARM_OPT),
            **{k: main[k] for k in ("code_bytes", "const_bytes", "data_bytes", "stack_bytes", "stack_chain")},
            "cores": cores,
            "stack_note": "deepest call chain: gcc -fstack-usage frames, call graph and library frames from the "
                          "disassembly of the engine linked alone"}
