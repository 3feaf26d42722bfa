"""OUT/example/ as a user builds it: the CMakeLists.txt on the host and, with its documented Cortex-M command,
on an emulated Cortex-M4; the Makefile's `CPU=` for every core, `EXTRA_CFLAGS=`, an unknown CPU, its `qemu`
target; an existing CMake project consuming `lenet5::engine` (host, and cross-compiled for a Cortex-M4).
(The Makefile's host build is in test_c_engine.py.) Every build must print the logits the integer
reference computes for example/main.c's built-in digit."""

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


def test_example_makefile_knows_every_core_and_appends_extra_cflags(exported):
    _, out = exported
    example = out / "example"
    for cpu in build.CPU_FLAGS:
        command = build.run(["make", "-n", "-C", str(example), "arm", f"CPU={cpu}", "EXTRA_CFLAGS=-DMY_BOARD=1"])
        words = command.split()
        assert all(flag in words for flag in build.CPU_FLAGS[cpu]), command
        assert f"link-{build.CORE_BOARD[cpu]}.ld" in words and "-DMY_BOARD=1" in words, command
    host = build.run(["make", "-n", "-C", str(example), "EXTRA_CFLAGS=-DMY_BOARD=1"]).split()
    assert "-DMY_BOARD=1" in host and all(flag in host for flag in build.STRICT)


def test_example_makefile_refuses_an_unknown_cpu(exported):
    _, out = exported
    with pytest.raises(RuntimeError, match="unknown CPU 'cortex-m99': choose one of cortex-m0 "):
        build.run(["make", "-n", "-C", str(out / "example"), "arm", "CPU=cortex-m99"])


@pytest.mark.parametrize("cpu", ["cortex-m33", "cortex-m55"])
def test_example_makefile_qemu_target_for_armv8m(qemu, exported, cpu):
    model, out = exported
    text = build.run(["make", "-s", "-C", str(out / "example"), "qemu", f"CPU={cpu}"], timeout=180)
    assert build.parse_example_output(text)[1] == expected_logits(model)


CONSUMER = """\
cmake_minimum_required(VERSION 3.18)
project(existing_firmware C)
set(ENGINE_DIR "" CACHE PATH "the export-c folder")
if(USE_FETCHCONTENT)
  include(FetchContent)
  FetchContent_Declare(lenet5 SOURCE_DIR ${ENGINE_DIR} SOURCE_SUBDIR example)
  FetchContent_MakeAvailable(lenet5)
else()
  add_subdirectory(${ENGINE_DIR}/example lenet5)
endif()
add_executable(firmware firmware.c ${EXTRA_SOURCES})
target_link_libraries(firmware PRIVATE lenet5::engine)
"""
FIRMWARE = """\
#include <stdint.h>
#include <stdio.h>
#include "lenet5.h"

int main(void)
{
    static uint32_t scratch[(LENET5_SCRATCH_BYTES + 3) / 4];
    static uint8_t pixels[784];
    static int8_t input[LENET5_INPUT_LEN];
    int8_t logits[LENET5_NUM_CLASSES];
    int i, label;
    for (i = 0; i < 784; ++i) {
        pixels[i] = (uint8_t)(i / 28 >= 4 && i / 28 < 24 && i % 28 >= 13 && i % 28 < 16 ? 255 : 0);
    }
    lenet5_prepare_input(pixels, input);
    label = lenet5_infer(input, logits, scratch);
    printf("image 0 class %d logits", label);
    for (i = 0; i < LENET5_NUM_CLASSES; ++i) {
        printf(" %d", logits[i]);
    }
    printf("\\n");
    return 0;
}
"""


def _consumer(tmp_path, out, *args) -> tuple:
    project = tmp_path / "existing"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(CONSUMER)
    (project / "firmware.c").write_text(FIRMWARE)
    return project, [f"-DENGINE_DIR={out}", *args]


@pytest.mark.parametrize("how", ["add_subdirectory", "FetchContent"])
def test_existing_cmake_project_consumes_the_engine_library(cmake, host_cc, exported, tmp_path, how):
    """An existing firmware project links lenet5::engine; the example program is not built there."""
    model, out = exported
    project, args = _consumer(tmp_path, out, f"-DUSE_FETCHCONTENT={'ON' if how == 'FetchContent' else 'OFF'}")
    build.run([cmake, "-S", str(project), "-B", str(tmp_path / "build"), f"-DCMAKE_C_COMPILER={host_cc}", *args])
    build.run([cmake, "--build", str(tmp_path / "build")])
    assert not list((tmp_path / "build").rglob("lenet5_example"))
    _, logits, _ = build.parse_example_output(build.run([str(tmp_path / "build" / "firmware")]))
    assert logits == expected_logits(model)


def test_existing_cortex_m_cmake_project_consumes_the_engine_library(cmake, qemu, exported, tmp_path):
    """The same project cross-compiled for a Cortex-M4 with its own flags (CMAKE_C_FLAGS), start-up and
    linker script, run on mps2-an386."""
    model, out = exported
    flags = " ".join([*build.CPU_FLAGS["cortex-m4"], *build.ARM_OPT])
    link = f"{' '.join(build.ARM_LIBS)} -T {build.linker_script(out, 'mps2-an386')}"
    project, args = _consumer(tmp_path, out, f"-DEXTRA_SOURCES={out / 'example' / 'startup.c'}")
    build.run([cmake, "-S", str(project), "-B", str(tmp_path / "build"), "-DCMAKE_SYSTEM_NAME=Generic",
               f"-DCMAKE_C_COMPILER={build.ARM_CC}", "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
               f"-DCMAKE_C_FLAGS={flags}", f"-DCMAKE_EXE_LINKER_FLAGS={link}", *args])
    build.run([cmake, "--build", str(tmp_path / "build")])
    _, logits, _ = build.parse_example_output(build.run_qemu(tmp_path / "build" / "firmware", "mps2-an386"))
    assert logits == expected_logits(model)
