"""Helpers for the compiled-C tests: a missing compiler or emulator skips (fails under CI, tests/toolcheck.py);
broken engines that prove a test can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_export import build
from tests.toolcheck import missing_tool


@pytest.fixture(scope="session")
def host_cc() -> str:
    cc = build.host_cc()
    if cc is None:
        missing_tool("a host C compiler", "gcc or clang")
    return cc


@pytest.fixture(scope="session")
def arm_toolchain() -> None:
    if not build.have_arm():
        missing_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi and libnewlib-arm-none-eabi")


@pytest.fixture(scope="session")
def qemu(arm_toolchain) -> None:
    if not build.have_qemu():
        missing_tool("qemu-system-arm", "qemu-system-arm")


# A broken engine, for the tests to prove they can fail. It wraps the real one, renamed by the
# preprocessor, so it does not depend on the engine's body: compile it instead of OUT/lenet5.c, with
# -IOUT. `infer` runs after the real lenet5_infer (with `input`, `logits`, `scratch`, `best` the class it
# returned and `stale` the scratch's first byte before the call; it may change `best`); `prepare` after
# the real lenet5_prepare_input; `before` ahead of the real lenet5_infer (e.g. to crash on a NULL).
MUTANT = """\
#define lenet5_infer lenet5_infer_real
#define lenet5_prepare_input lenet5_prepare_input_real
#include "lenet5.c"
#undef lenet5_infer
#undef lenet5_prepare_input
void lenet5_prepare_input(const uint8_t pixels[LENET5_INPUT_HEIGHT * LENET5_INPUT_WIDTH], int8_t input[LENET5_INPUT_LEN]);
int lenet5_infer(const int8_t input[LENET5_INPUT_LEN], int8_t logits[LENET5_NUM_CLASSES], void *scratch);

void lenet5_prepare_input(const uint8_t pixels[LENET5_INPUT_HEIGHT * LENET5_INPUT_WIDTH], int8_t input[LENET5_INPUT_LEN])
{
    lenet5_prepare_input_real(pixels, input);
    %(prepare)s
}

int lenet5_infer(const int8_t input[LENET5_INPUT_LEN], int8_t logits[LENET5_NUM_CLASSES], void *scratch)
{
    int8_t stale = 0;
    int best;
    %(before)s
    if (scratch != NULL) {
        stale = ((const int8_t *)scratch)[0];
    }
    best = lenet5_infer_real(input, logits, scratch);
    (void)stale;
    { %(infer)s }
    return best;
}
"""


def _write_mutant(path: Path, infer: str = "", prepare: str = "", before: str = "") -> Path:
    path.write_text(MUTANT % {"infer": infer, "prepare": prepare, "before": before})
    return path


@pytest.fixture(scope="session")
def mutant_engine():
    """write(path, infer=..., prepare=..., before=...) -> path of a broken engine source (see MUTANT)."""
    return _write_mutant
