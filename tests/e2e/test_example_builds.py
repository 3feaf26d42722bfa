"""OUT/example/ as a user builds it: the CMakeLists.txt on the host and, with its documented Cortex-M command,
on an emulated Cortex-M4; the Makefile's `qemu` target. (The Makefile's host build is in test_c_engine.py.)
Every build must print the logits the integer reference computes for example/main.c's built-in digit."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from edgelenet import reference
from firmware_export import build, export_c
from tests.toolcheck import missing_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def cmake() -> str:
    path = shutil.which("cmake")
    if path is None:
        missing_tool("cmake", "cmake")
    return path


@pytest.fixture()
def exported(modern_int8, tmp_path) -> tuple:
    """A fresh export per test: the Makefile builds inside OUT/example."""
    export_c(modern_int8, tmp_path / "out", measure_flash=False)
    return modern_int8, tmp_path / "out"


def expected_logits(model) -> list[list[int]]:
    stroke = np.zeros((1, 28, 28), np.uint8)
    stroke[0, 4:24, 13:16] = 255  # example/main.c's built-in digit, a "1"
    return reference.predict(model, stroke)[1].tolist()


def test_example_cmake_builds_and_runs_on_host(cmake, host_cc, exported, tmp_path):
    model, out = exported
    build.run([cmake, "-S", str(out / "example"), "-B", str(tmp_path / "build"), f"-DCMAKE_C_COMPILER={host_cc}"])
    build.run([cmake, "--build", str(tmp_path / "build")])
    _, logits, _ = build.parse_example_output(build.run([str(tmp_path / "build" / "lenet5_example")]))
    assert logits == expected_logits(model)


def test_example_cmake_documented_cortex_m4_command_runs_in_qemu(cmake, qemu, exported, tmp_path):
    """The command in the CMakeLists.txt's header, as written there, then the ELF on mps2-an386."""
    model, out = exported
    build.run([cmake, "-S", str(out / "example"), "-B", str(tmp_path / "build-m4"), "-DCMAKE_SYSTEM_NAME=Generic",
               f"-DCMAKE_C_COMPILER={build.ARM_CC}", "-DELN_CPU=cortex-m4"])
    build.run([cmake, "--build", str(tmp_path / "build-m4")])
    _, logits, _ = build.parse_example_output(build.run_qemu(tmp_path / "build-m4" / "lenet5_example", "mps2-an386"))
    assert logits == expected_logits(model)


def test_example_cmake_compiles_the_engine_as_iso_c99(cmake, host_cc, exported, tmp_path):
    _, out = exported
    build.run([cmake, "-S", str(out / "example"), "-B", str(tmp_path / "build"), f"-DCMAKE_C_COMPILER={host_cc}",
               "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"])
    commands = json.loads((tmp_path / "build" / "compile_commands.json").read_text())
    engine = [c["command"] for c in commands if c["file"].endswith("lenet5.c")]
    assert len(engine) == 1
    assert all(flag in engine[0].split() for flag in build.STRICT), engine[0]


def test_example_makefile_qemu_target(qemu, exported):
    model, out = exported
    text = build.run(["make", "-s", "-C", str(out / "example"), "qemu", "BOARD=mps2-an386"], timeout=180)
    _, logits, _ = build.parse_example_output(text)
    assert logits == expected_logits(model)
