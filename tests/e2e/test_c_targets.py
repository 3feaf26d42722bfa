"""The exported engine as firmware builds it: warning-free with gcc and clang -Werror for the host and every
Cortex-M core (clang needs no C library: -c), no FP or MVE instruction in any build of the integer paths
(disassembled per core and optimisation level), and correct on emulated cores with alignment and
division traps on and the FPU off, with its buffers at every offset."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from edgelenet import reference
from firmware_export import build, export_c
from firmware_export.render import render

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
from synthetic import synthetic_model  # noqa: E402

C_DIR = Path(__file__).resolve().parent / "c"
OPT_LEVELS = ("-O0", "-O1", "-O2", "-O3", "-Os")
# Cortex-M cores and the flags of an integer path's build (hard-float where the core has an FPU: the
# engine must still not touch it). cortex-m55+nomve is the M55 without Helium (MVE builds use it on purpose).
CORES = {
    "cortex-m0": ["-mcpu=cortex-m0", "-mfloat-abi=soft"],
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mfloat-abi=soft"],
    "cortex-m3": ["-mcpu=cortex-m3", "-mfloat-abi=soft"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m33": ["-mcpu=cortex-m33", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
    "cortex-m55+nomve": ["-mcpu=cortex-m55+nomve", "-mfloat-abi=hard"],
}
# FP and MVE instructions: every mnemonic starting with v (VFP, MVE), the low-overhead-loop forms only MVE
# has (tail-predicated), and coprocessor forms (how objdump shows MVE/FP without the object's attributes)
FP_OR_MVE = re.compile(r"^\s*[0-9a-f]+:\s+(?:[0-9a-f]{4} ?){1,2}\s+(v\w+|dlstp\S*|wlstp\S*|letp|lctp|"
                       r"ldc2?l?|stc2?l?|cdp2?|mcrr?2?|mrrc?2?|mrc2?)\b.*$", re.M)
# A trap test image per core: (board, -mcpu code it runs). Cortex-M0 code runs on the M3 board: with
# UNALIGN_TRP set it faults on an unaligned access as an ARMv6-M core always does.
TRAP_RUNS = [("mps2-an386", "cortex-m4"), ("mps2-an385", "cortex-m3"), ("mps2-an385", "cortex-m0")]
TRAP_IMAGES = 3


def fp_or_mve_instructions(obj: Path) -> list[str]:
    """The FP/MVE instructions in an object's disassembly (arm-none-eabi-objdump -d)."""
    return [m.group(1) + m.string[m.end(1):m.end()] for m in FP_OR_MVE.finditer(build.run(["arm-none-eabi-objdump", "-d", str(obj)]))]


def arm_compilers() -> list[tuple[str, list[str]]]:
    """(compiler, target flags): arm-none-eabi-gcc, and clang for arm-none-eabi without a C library."""
    compilers = [(build.ARM_CC, ["-mthumb"])]
    if shutil.which("clang"):
        compilers.append(("clang", ["--target=arm-none-eabi", "-mthumb"]))
    elif build.os.environ.get("CI") == "true":
        pytest.fail("clang not installed")
    return compilers


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> dict[str, Path]:
    """The engine of each synthetic model (max pooling, subsampling with a partial table), with the folded
    and the generic DSP epilogues: every kernel and epilogue variant, in small files."""
    out = {}
    for arch in ("modern", "classic", "modern-generic", "classic-generic"):  # generic: no folded epilogue
        target = tmp_path_factory.mktemp(f"targets-{arch}")
        model = synthetic_model(arch.split("-")[0], shift_32=arch.endswith("generic"))
        for name, text in render(model, "lenet5").files.items():
            if "/" not in name:
                (target / name).write_text(text)
        out[arch] = target / "lenet5.c"
    return out


def test_fp_check_finds_fp_and_mve_instructions(arm_toolchain, engines, tmp_path):
    """The disassembly check can fail: on float code, and on the engine built for the Cortex-M55 with MVE
    (where GCC keeps 64-bit constants in D registers and the Helium path uses MVE on purpose)."""
    (tmp_path / "f.c").write_text("float f(float a, float b) { return a * b + 1.0f; }\n")
    build.run([build.ARM_CC, "-mthumb", *CORES["cortex-m4"], "-O2", "-c", str(tmp_path / "f.c"),
               "-o", str(tmp_path / "f.o")])
    assert any(".f32" in i for i in fp_or_mve_instructions(tmp_path / "f.o"))
    build.run([build.ARM_CC, "-mthumb", "-mcpu=cortex-m55", "-mfloat-abi=hard", "-O2", "-c", str(engines["modern"]),
               "-o", str(tmp_path / "g.o")])
    assert fp_or_mve_instructions(tmp_path / "g.o") != []


@pytest.mark.slow
def test_engine_has_no_fp_or_mve_instruction_in_any_build(arm_toolchain, engines, tmp_path):
    builds = [(cc, target, cpu, opt, arch) for cc, target in arm_compilers() for cpu in CORES for opt in OPT_LEVELS
              for arch in engines]

    def check(index: int) -> tuple[str, list[str]]:
        cc, target, cpu, opt, arch = builds[index]
        obj = tmp_path / f"e{index}.o"
        build.run([cc, *target, *CORES[cpu], *build.STRICT, opt, "-c", str(engines[arch]), "-o", str(obj)])
        return f"{Path(cc).name} {cpu} {opt} {arch}", fp_or_mve_instructions(obj)[:3]

    with ThreadPoolExecutor(max_workers=2) as pool:
        found = {name: bad for name, bad in pool.map(check, range(len(builds))) if bad}
    assert found == {}


@pytest.mark.slow
def test_engine_compiles_warning_free_for_every_target(host_cc, arm_toolchain, engines, tmp_path):
    """-Werror with the project's warnings: host gcc and clang, and every core with both compilers; clang's
    Cortex-M builds see no C library headers (the engine needs only the compiler's own)."""
    hosts = [cc for cc in ("gcc", "clang") if shutil.which(cc)]
    for source in engines.values():
        for cc in hosts:
            for opt in ("-O0", "-O2", "-O3"):
                build.run([cc, *build.STRICT, opt, "-c", str(source), "-o", str(tmp_path / "h.o")])
        for cc, target in arm_compilers():
            for cpu in ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33",
                        "cortex-m55"):
                flags = ["-ffreestanding", "-nostdinc", f"-isystem{clang_include()}"] if cc == "clang" else []
                build.run([cc, *target, f"-mcpu={cpu}", *flags, *build.STRICT, "-O2", "-c", str(source),
                           "-o", str(tmp_path / "a.o")])



@pytest.mark.slow
def test_thumb1_inline_asm_allocates_at_every_optimization(arm_toolchain, engines, tmp_path):
    """The Cortex-M0 path's inline asm (kernels/eln_conv_window.h, eln_fc_s8.c) needs up to 7 low and 3 high
    registers: every optimization level, also with a frame pointer in r7 (GCC at -Os keeps asm operands in
    r0-r7), must find them with both compilers."""
    for cc, target in arm_compilers():
        flags = ["-ffreestanding", "-nostdinc", f"-isystem{clang_include()}"] if cc == "clang" else []
        for opt in (*OPT_LEVELS, "-Og"):
            for frame in ([], ["-fno-omit-frame-pointer"]):
                build.run([cc, *target, "-mcpu=cortex-m0", *flags, *build.STRICT, opt, *frame, "-c",
                           str(engines["classic"]), "-o", str(tmp_path / "m0.o")])


def clang_include() -> str:
    """clang's own headers (stdint.h, arm_acle.h): with -nostdinc only these are visible."""
    return build.run(["clang", "-print-resource-dir"]).strip() + "/include"


def trap_build(out: Path, workdir: Path, model, images: np.ndarray, cpu: str, opt: str,
               source: Path | None = None) -> Path:
    """trap_main.c + the engine (or `source` in its place) for `cpu` with the compiler's default flags
    (no -mno-unaligned-access: the engine is aligned by construction), with the test images' reference
    logits."""
    expected = reference.predict(model, images)[1]
    rows = ",\n".join("    {" + ",".join(map(str, image.reshape(-1))) + "}" for image in images)
    logits = ",\n".join("    {" + ",".join(map(str, row)) + "}" for row in expected)
    (workdir / "vectors.h").write_text(
        f"#define ELN_TRAP_IMAGES {len(images)}\n"
        f"static const uint8_t eln_trap_pixels[ELN_TRAP_IMAGES][784] = {{\n{rows}\n}};\n"
        f"static const int8_t eln_trap_logits[ELN_TRAP_IMAGES][LENET5_NUM_CLASSES] = {{\n{logits}\n}};\n")
    elf = workdir / f"trap-{cpu}{opt}.elf"
    flags = [f for f in CORES[cpu] if f not in getattr(build, "NO_UNALIGNED", [])]  # the compiler's defaults
    build.run([build.ARM_CC, *build.STRICT, *flags, "-mthumb", opt,
               "--specs=nano.specs", "-nostartfiles", "-Wl,--entry=trap_reset",
               "-T", str(build.linker_script(out, "mps2-an385")),  # the an385 and an386 share one memory map
               f"-I{out}", f"-I{workdir}", '-DTRAP_VECTORS="vectors.h"', str(source or out / "lenet5.c"),
               str(C_DIR / "trap_main.c"), "-o", str(elf)])
    return elf


def run_trap(elf: Path, board: str) -> tuple[int, str]:
    """(exit status, output) of a trap_main.c image: SYS_WRITE0 output is QEMU's stderr."""
    done = subprocess.run([build.QEMU, "-M", board, "-nographic", "-icount", "shift=0", "-semihosting-config",
                           "enable=on,target=native", "-kernel", str(elf)], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def trap_engine(int8_model, tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp(f"trap-{int8_model.arch}") / "out"
    export_c(int8_model, out, measure_flash=False)
    return int8_model, out


@pytest.mark.slow
@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("board,cpu", TRAP_RUNS)
def test_engine_runs_with_alignment_traps_and_fpu_off(qemu, trap_engine, mnist, board, cpu, opt, tmp_path):
    model, out = trap_engine
    elf = trap_build(out, tmp_path, model, mnist.test.images[:TRAP_IMAGES], cpu, opt)
    status, text = run_trap(elf, board)
    assert status == 0 and f"trap images {TRAP_IMAGES} runs {4 * TRAP_IMAGES} mismatches 0" in text, text


def test_trap_harness_catches_an_unaligned_access(qemu, modern_int8, mnist, tmp_path, mutant_engine):
    """The harness can fail: an engine that reads one word at an odd address faults (CFSR UNALIGNED)."""
    out = tmp_path / "out"
    export_c(modern_int8, out, measure_flash=False)
    mutant = mutant_engine(tmp_path / "mutant.c", before="if (scratch != NULL) { best = (int)*(volatile const "
                           "int32_t *)(const void *)((const int8_t *)scratch + 1); (void)best; }")
    elf = trap_build(out, tmp_path, modern_int8, mnist.test.images[:1], "cortex-m4", "-O2", mutant)
    status, text = run_trap(elf, "mps2-an386")
    assert status != 0 and "fault cfsr 1000000" in text, text  # UFSR.UNALIGNED
