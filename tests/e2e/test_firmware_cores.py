"""The engine on every supported Cortex-M core under QEMU, as firmware runs it (example/startup.c: .data
copied from flash, .bss zeroed; unaligned-access traps on around the engine; the FPU off for the integer
builds). Every core prints the same logits, the integer reference's; a fault ends the run at once."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from edgelenet import reference
from firmware_export import build, export_c
from firmware_export.memory import measure_core
from firmware_export.render import render, softmax_exp_table

pytestmark = pytest.mark.slow
VECTORS = 16
C_DIR = Path(__file__).resolve().parent / "c"


@pytest.fixture(scope="module")
def exported(modern_int8, mnist, tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp("cores") / "out"
    export_c(modern_int8, out, measure_flash=False)
    build.vectors_header(mnist.test.images[:VECTORS], out.parent / "vectors.h")
    return modern_int8, out


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("cpu", list(build.CPU_FLAGS))
def test_every_core_prints_the_reference_logits(qemu, exported, mnist, cpu, opt, tmp_path):
    model, out = exported
    board = build.CORE_BOARD[cpu]
    words = build.stack_paint_words(board)
    elf = build.build_arm_example(out, board, tmp_path / "app.elf", ['-DELN_VECTORS="vectors.h"', "-DELN_SYSTICK",
                                                                     "-DELN_STACK_PAINT", f"-DELN_PAINT_WORDS={words}"], [out.parent], cpu=cpu,
                                  opt=[opt])
    text = build.run_qemu(elf, board, timeout=60)
    classes, logits, counts = build.parse_example_output(text)
    labels, expected = reference.predict(model, mnist.test.images[:VECTORS])
    assert logits == expected.tolist() and classes == labels.tolist()
    assert build.parse_confidences(text) == [confidence_q15(row, model.logits.scale) for row in expected]
    assert len(counts) == VECTORS and all(count[0] > 100_000 for count in counts)
    if [opt] != build.ARM_OPT:
        return
    # the report's stack (deepest static call chain, at the report's -O2) bounds the painted stack, tightly
    painted = int(re.search(r"^stack (\d+) bytes$", text, re.M).group(1))
    static = measure_core(render(model).files, "lenet5", cpu, tmp_path)["stack_bytes"]
    assert painted < 4 * words and painted <= static <= painted + 16, (painted, static)


def confidence_q15(logits, scale: float) -> int:
    """<prefix>_confidence's integer arithmetic, in Python."""
    table = softmax_exp_table(scale)
    top = int(max(logits))
    total = sum(table[top - int(q)] if top - int(q) < len(table) else 0 for q in logits)
    return ((1 << 30) + total // 2) // total


def _fault(out: Path, source: Path, tmp_path: Path, cpu: str = "cortex-m4") -> str:
    """Build the example with `source` as the engine, run it; the fault report QEMU stopped with."""
    board = build.CORE_BOARD[cpu]
    elf = build.build_arm_example(out, board, tmp_path / "fault.elf", cpu=cpu, sources=[source])
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="FAULT pc") as failed:
        build.run_qemu(elf, board, timeout=30)
    assert time.monotonic() - start < 10  # ended by the fault handler, not by the timeout
    return str(failed.value)


def test_unaligned_word_access_faults(qemu, exported, mutant_engine, tmp_path):
    """UNALIGN_TRP is really set while the engine runs: a word read at an odd address faults (UNALIGNED)."""
    _, out = exported
    before = "{ const volatile uint32_t *odd = (const volatile uint32_t *)((uintptr_t)scratch + 1u); (void)*odd; }"
    assert "cfsr 0x01000000" in _fault(out, mutant_engine(tmp_path / "mutant.c", before=before), tmp_path)


@pytest.mark.parametrize("cpu", ["cortex-m4", "cortex-m55+nomve"])
def test_fp_instruction_faults_with_the_fpu_off(qemu, exported, mutant_engine, tmp_path, cpu):
    """The integer builds' firmware leaves the FPU off: one FP instruction in the engine faults (NOCP)."""
    _, out = exported
    infer = "volatile float f = (float)logits[0]; f = f * 1.5f; logits[0] = (int8_t)f;"
    assert "cfsr 0x00080000" in _fault(out, mutant_engine(tmp_path / "mutant.c", infer=infer), tmp_path, cpu)


@pytest.mark.parametrize("copy", [True, False])
def test_startup_copies_data_and_zeroes_bss(qemu, exported, tmp_path, copy):
    """.data is stored in flash (LMA) and lives in RAM (VMA); without the copy loop (a mutant start-up)
    the program cannot even print (newlib's own .data is missing): QEMU loads the flash image only, as
    hardware does."""
    _, out = exported
    startup = (out / "example" / "startup.c").read_text()
    loop = "    for (to = &__data_start__; to < &__data_end__; ++to) {\n        *to = *from++;\n    }\n"
    assert loop in startup
    if not copy:
        startup = startup.replace(loop, "    (void)from;\n    (void)to;\n")
    (tmp_path / "startup.c").write_text(startup)
    elf = tmp_path / "data.elf"
    build.run([build.ARM_CC, *build.STRICT, *build.CPU_FLAGS["cortex-m4"], *build.ARM_OPT, *build.ARM_LIBS, "-T",
               str(build.linker_script(out, "mps2-an386")), str(C_DIR / "data_copy.c"), str(tmp_path / "startup.c"),
               "-o", str(elf)])
    headers = build.run([build.ARM_OBJDUMP, "-h", str(elf)]).split("\n")
    data = next(line.split() for line in headers if " .data " in line)
    vma, lma = int(data[3], 16), int(data[4], 16)
    assert vma >= 0x20000000 and lma < 0x00400000
    if copy:
        assert build.run_qemu(elf, "mps2-an386").strip() == "data 12345678 bss 00000000"
    else:
        with pytest.raises(RuntimeError):
            build.run_qemu(elf, "mps2-an386", timeout=30)


@pytest.mark.parametrize("cpu", ["cortex-m4", "cortex-m55"])
def test_input_and_logits_need_no_alignment(qemu, exported, mutant_engine, tmp_path, cpu):
    """The alignment contract (docs/firmware.md): scratch 4-byte aligned, input and logits anywhere; with
    the trap on, an input read from and logits written to odd addresses give the same logits."""
    _, out = exported
    infer = ("static uint32_t words[LENET5_INPUT_LEN / 4 + 1]; static int8_t odd[LENET5_NUM_CLASSES + 4];"
             "int8_t *odd_input = (int8_t *)words + 1; int i;"
             "for (i = 0; i < LENET5_INPUT_LEN; ++i) { odd_input[i] = input[i]; }"
             "if (lenet5_infer_real(odd_input, odd + 3, scratch) != best) { best = 9; }"
             "for (i = 0; i < LENET5_NUM_CLASSES; ++i) { if (odd[i + 3] != logits[i]) { best = 9; } }")
    board = build.CORE_BOARD[cpu]
    elf = build.build_arm_example(out, board, tmp_path / "odd.elf", cpu=cpu,
                                  sources=[mutant_engine(tmp_path / "mutant.c", infer=infer)])
    assert build.parse_example_output(build.run_qemu(elf, board, timeout=30))[0] == [1]


def test_systick_calibration_gives_board_independent_instruction_counts(qemu, exported, tmp_path):
    """The same Cortex-M0 binary code on two boards whose SysTick runs at different fractions of the
    instruction rate (the micro:bit's and the AN385's): the calibrated counts agree within one tick."""
    _, out = exported
    counts, ticks = {}, {}
    for board in ("microbit", "mps2-an385"):
        elf = build.build_arm_example(out, board, tmp_path / f"{board}.elf", ["-DELN_SYSTICK"], cpu="cortex-m0")
        text = build.run_qemu(elf, board)
        counts[board] = build.parse_example_output(text)[2][0][0]
        ticks[board] = int(re.search(r"^calibration 400000 instructions (\d+) ticks$", text, re.M).group(1))
    assert ticks["microbit"] != ticks["mps2-an385"]  # a fixed instructions-per-tick would be wrong on one
    assert abs(counts["microbit"] - counts["mps2-an385"]) <= 400_000 // min(ticks.values()) + 1, counts
