"""Compilers and emulators for the exported engine: host cc, arm-none-eabi-gcc, qemu-system-arm.

Every compile flag lives here (the example Makefile and CMakeLists.txt are rendered from these lists), so
the tests, the benchmarks and a user's build compile the engine the same way. So does the board matrix:
each supported core, its flags and the QEMU board that emulates it, with that board's memory map (the
example's linker scripts are rendered from it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from edgelenet.errors import UserError

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
HOST_OPT = ["-O2"]
HOST_FAST = ["-O3", "-march=native"]
SANITIZE = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
ARM_CC, ARM_SIZE, ARM_OBJDUMP, QEMU = "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-objdump", "qemu-system-arm"
ARM_OPT = ["-O2"]
ARM_LIBS = ["--specs=nano.specs", "--specs=rdimon.specs"]
# With SCB->CCR.UNALIGN_TRP set (safety-minded firmware does), an unaligned LDR/STR faults. The kernels make
# word accesses only at aligned addresses by construction, so the engine needs no flag for it: the tests run
# every core with the trap on and the compiler's defaults. A firmware that adds this flag anyway pays the
# (small) cost benchmarks/firmware.py measures.
NO_UNALIGNED = ["-mno-unaligned-access"]

CPU_FLAGS = {  # core -> -mcpu/-mfpu/ABI flags; hard-float where the core has an FPU, as firmware builds do
    "cortex-m0": ["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m3": ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m33": ["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
    "cortex-m55": ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],              # MVE (Helium) + FPU
    "cortex-m55+nomve": ["-mcpu=cortex-m55+nomve", "-mthumb", "-mfloat-abi=hard"],  # FPU, no MVE
}
# Builds whose engine may use the FP/MVE register file (Helium code): their firmware enables the FPU. Every
# other build is integer only: its test firmware runs with the FPU off, so an FP/MVE instruction faults.
FPU_BUILDS = frozenset({"cortex-m55"})

KIB, MIB = 1024, 1024 * 1024


@dataclass(frozen=True)
class Board:
    """A QEMU machine: the core it emulates and where code (read-only) and data (RAM) live."""
    cpu: str
    code: tuple[int, int]  # (origin, bytes): vectors, code and constants (flash on hardware)
    data: tuple[int, int]  # (origin, bytes): .data, .bss, heap and stack


BOARDS = {
    "microbit": Board("cortex-m0", (0x00000000, 256 * KIB), (0x20000000, 16 * KIB)),
    "mps2-an385": Board("cortex-m3", (0x00000000, 4 * MIB), (0x20000000, 4 * MIB)),
    "mps2-an386": Board("cortex-m4", (0x00000000, 4 * MIB), (0x20000000, 4 * MIB)),
    "mps2-an500": Board("cortex-m7", (0x00000000, 4 * MIB), (0x20000000, 4 * MIB)),
    # secure aliases: the core boots secure, VTOR at 0x10000000
    "mps2-an505": Board("cortex-m33", (0x10000000, 4 * MIB), (0x38000000, 4 * MIB)),
    "mps3-an547": Board("cortex-m55", (0x00000000, 512 * KIB), (0x20000000, 512 * KIB)),  # ITCM, DTCM
}
CORE_BOARD = {  # every supported core -> the board that runs its code (an M0 executes M0+ code)
    "cortex-m0": "microbit", "cortex-m0plus": "microbit", "cortex-m3": "mps2-an385", "cortex-m4": "mps2-an386",
    "cortex-m7": "mps2-an500", "cortex-m33": "mps2-an505", "cortex-m55": "mps3-an547",
    "cortex-m55+nomve": "mps3-an547",
}
QEMU_RUNTIMES = {  # `validate --runtimes` / `run --target` names -> core
    "qemu-m0": "cortex-m0", "qemu-m3": "cortex-m3", "qemu-m4": "cortex-m4", "qemu-m7": "cortex-m7",
    "qemu-m33": "cortex-m33", "qemu-m55": "cortex-m55",
}


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


def linker_script(out: Path, board: str) -> Path:
    """OUT/example/link-<board>.ld: the example's linker script for that board's memory map."""
    return Path(out) / "example" / f"link-{board}.ld"


def fpu_enabled(cpu: str) -> bool:
    """Whether the test firmware for `cpu` turns the FPU on: only for builds that may use it (Helium)."""
    return cpu in FPU_BUILDS


def stack_paint_words(board: str) -> int:
    """Words example/main.c paints below its stack pointer (-DELN_STACK_PAINT) on `board`: 3 KB where RAM
    is 16 KB (the micro:bit), 16 KB elsewhere."""
    return 768 if BOARDS[board].data[1] <= 64 * KIB else 4096


def build_arm_example(out: Path, board: str, target: Path, defines: list[str] = (),
                      include: list[Path] = (), cpu: str | None = None, opt: list[str] | None = None,
                      sources: list[Path] | None = None, main: Path | None = None) -> Path:
    """OUT/*.c + OUT/example/{main,startup}.c for `board`'s core (or `cpu`, e.g. cortex-m0plus code on the
    micro:bit's M0), linked with the board's linker script. The firmware runs with unaligned-access traps
    on and, for integer builds, the FPU off (ELN_FPU_OFF): an FP/MVE instruction faults, and a fault ends
    QEMU with an error (example/startup.c) instead of hanging. `sources` replaces OUT/*.c (e.g. a mutant),
    `main` example/main.c (e.g. a batch driver)."""
    example = Path(out) / "example"
    cpu = cpu or BOARDS[board].cpu
    engine = engine_sources(out) if sources is None else list(sources)
    fpu = [] if fpu_enabled(cpu) else ["-DELN_FPU_OFF"]
    cmd = [ARM_CC, *STRICT, *CPU_FLAGS[cpu], *(opt or ARM_OPT), *ARM_LIBS, "-T", str(linker_script(out, board)),
           f"-I{out}", *[f"-I{p}" for p in include], *fpu, *defines, *map(str, engine),
           str(main or example / "main.c"), str(example / "startup.c"), "-o", str(target)]
    run(cmd)
    return target


def qemu_command(elf: Path, board: str, icount: bool = True) -> list[str]:
    """-icount shift=0: one instruction per virtual nanosecond, so SysTick counts instructions
    deterministically (without it QEMU runs faster, and time is the host's)."""
    timing = ["-icount", "shift=0"] if icount else []
    return [QEMU, "-M", board, "-nographic", *timing, "-semihosting-config", "enable=on,target=native",
            "-kernel", str(elf)]


def run_qemu(elf: Path, board: str, timeout: float = 120, icount: bool = True, cwd: Path | None = None) -> str:
    """stdout of the program (printf through semihosting); `main` returning ends QEMU, a fault ends it with
    an error (RuntimeError with the fault registers)."""
    return run(qemu_command(elf, board, icount), cwd=cwd, timeout=timeout)


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
    """(classes, logits, [total, per-step...] instruction counts) from example/main.c's output lines:
    `image N class C confidence P logits L0 L1 ...` and `instructions T steps S0 S1 ...`."""
    classes, logits, counts = [], [], []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["image"] and "logits" in words:
            classes.append(int(words[words.index("class") + 1]))
            logits.append([int(v) for v in words[words.index("logits") + 1:]])
        elif words[:1] == ["instructions"]:
            counts.append([int(words[1])] + [int(v) for v in words[3:]])
    return classes, logits, counts


def parse_confidences(text: str) -> list[int]:
    """The Q15 confidences example/main.c printed, one per image."""
    return [int(line.split()[5]) for line in text.splitlines() if line.startswith("image ")]
