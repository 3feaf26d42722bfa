"""Compilers and emulators for the exported engine: host cc, arm-none-eabi-gcc, qemu-system-arm.

Every compile flag lives here (the example Makefile and CMakeLists.txt are rendered from these lists), so
the tests, the benchmarks and a user's build compile the engine the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from edgelenet.errors import UserError

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
HOST_OPT = ["-O2"]
HOST_FAST = ["-O3", "-march=native"]
SANITIZE = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
ARM_CC, ARM_SIZE, QEMU = "arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"
ARM_OPT = ["-O2"]
ARM_LIBS = ["--specs=nano.specs", "--specs=rdimon.specs"]

CPU_FLAGS = {
    "cortex-m0": ["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m3": ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
}
BOARDS = {  # QEMU machine -> CPU; memory of the smallest (micro:bit) is in the example linker script
    "mps2-an386": "cortex-m4",
    "mps2-an385": "cortex-m3",
    "microbit": "cortex-m0",
}
SYSTICK_BOARDS = ("mps2-an386", "mps2-an385")  # -icount + SysTick give deterministic instruction counts


def host_cc() -> str | None:
    """$CC if set, else cc, gcc or clang: the first found on PATH."""
    for name in ([os.environ["CC"]] if os.environ.get("CC") else []) + ["cc", "gcc", "clang"]:
        path = shutil.which(name)
        if path:
            return path
    return None


def have_arm() -> bool:
    return shutil.which(ARM_CC) is not None


def have_qemu() -> bool:
    return shutil.which(QEMU) is not None


def run(cmd: list[str], cwd: Path | None = None, timeout: float = 300) -> str:
    """Run a compiler or emulator; its output becomes the error message if it fails."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timed out after {timeout} s: {' '.join(cmd)}") from None
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def engine_sources(out: Path) -> list[Path]:
    """What a firmware build compiles: OUT/*.c, as is."""
    return sorted(Path(out).glob("*.c"))


def compile_host(sources: list[Path], target: Path, flags: list[str], cc: str | None = None,
                 shared: bool = False) -> Path:
    cc = cc or host_cc()
    if cc is None:
        raise UserError("no C compiler found (set CC)")
    extra = ["-shared", "-fPIC"] if shared else []
    run([cc, *STRICT, *flags, *extra, *map(str, sources), "-o", str(target)])
    return target


def compile_arm_object(source: Path, cpu: str, target: Path, flags: list[str] | None = None) -> Path:
    run([ARM_CC, *STRICT, *CPU_FLAGS[cpu], *(flags if flags is not None else ARM_OPT), "-c", str(source),
         "-o", str(target)])
    return target


def build_arm_example(out: Path, board: str, target: Path, defines: list[str] = (),
                      include: list[Path] = (), cpu: str | None = None) -> Path:
    """OUT/*.c + OUT/example/{main,startup}.c, linked for `board`'s CPU (or `cpu`, e.g. cortex-m0 code
    for the Cortex-M3 board, which executes ARMv6-M code) with the example linker script."""
    example = Path(out) / "example"
    sources = engine_sources(out) + [example / "main.c", example / "startup.c"]
    cmd = [ARM_CC, *STRICT, *CPU_FLAGS[cpu or BOARDS[board]], *ARM_OPT, *ARM_LIBS, "-T", str(example / "link.ld"),
           f"-I{out}", *[f"-I{p}" for p in include], *defines, *map(str, sources), "-o", str(target)]
    run(cmd)
    return target


def run_qemu(elf: Path, board: str, timeout: float = 120) -> str:
    """stdout of the program (printf through semihosting); `main` returning ends QEMU."""
    return run([QEMU, "-M", board, "-nographic", "-icount", "shift=0", "-semihosting-config",
                "enable=on,target=native", "-kernel", str(elf)], timeout=timeout)


def section_sizes(obj: Path) -> dict[str, int]:
    """Section name -> bytes, from arm-none-eabi-size -A."""
    sizes = {}
    for line in run([ARM_SIZE, "-A", str(obj)]).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def vectors_header(pixels, path: Path) -> Path:
    """A header for example/main.c (-DELN_VECTORS): uint8 images (N, H, W) as eln_vectors[N][H * W]."""
    rows, length = [], len(pixels[0].reshape(-1)) if len(pixels) else 0
    for image in pixels:
        values = [str(int(v)) for v in image.reshape(-1)]
        rows.append("    {" + ",".join(values) + "}")
    Path(path).write_text(f"/* {len(rows)} test images, uint8 row-major */\n"
                          f"#define ELN_NUM_VECTORS {len(rows)}\n"
                          f"static const uint8_t eln_vectors[ELN_NUM_VECTORS][{length}] = {{\n" + ",\n".join(rows) + "\n};\n")
    return Path(path)


def parse_example_output(text: str) -> tuple[list[int], list[list[int]], list[list[int]]]:
    """(classes, logits, [total, per-step...] instruction counts) from example/main.c's output lines."""
    classes, logits, counts = [], [], []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["image"]:
            classes.append(int(words[3]))
            logits.append([int(v) for v in words[5:]])
        elif words[:1] == ["instructions"]:
            counts.append([int(words[1])] + [int(v) for v in words[3:]])
    return classes, logits, counts
