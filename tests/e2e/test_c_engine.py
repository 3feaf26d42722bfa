"""The exported C engine, compiled: bit-exact with the integer reference on the host (also under the
sanitizers, on all 10,000 test images) and warning-free for every compiler and CPU. (On emulated Cortex-M
cores: test_firmware_cores.py.)"""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from edgelenet import reference
from edgelenet.runtime_registry import build_runtime
from firmware_export import build, export_c
from firmware_export.c_runtimes import CRuntime, export_with_driver

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
from synthetic import synthetic_model  # noqa: E402

KERNELS = Path(str(resources.files("firmware_export") / "kernels"))


@pytest.fixture(scope="module")
def exported(int8_model, tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp(f"export-{int8_model.arch}") / "out"
    export_c(int8_model, out, measure_flash=False)
    return int8_model, out


def test_c_runtime_matches_reference_on_test_subset(host_cc, int8_model, test_subset):
    runtime = build_runtime("c", int8_model)
    assert isinstance(runtime, CRuntime) and runtime.int8 and runtime.name == "c"
    c_logits = runtime.logits(test_subset.images)
    assert c_logits.dtype == np.int8 and c_logits.shape == (len(test_subset), 10)
    np.testing.assert_array_equal(c_logits, reference.predict(int8_model, test_subset.images)[1])


@pytest.mark.parametrize("arch", ["modern", "classic"])
def test_c_engine_matches_reference_on_synthetic_shapes(host_cc, arch, rng):
    """Other map counts, a partial table, saturated logits: the kernels are not specialised to LeNet-5's."""
    model = synthetic_model(arch)
    pixels = rng.integers(0, 256, size=(200, 28, 28)).astype(np.uint8)
    expected = reference.predict(model, pixels)[1]
    np.testing.assert_array_equal(CRuntime(model).logits(pixels), expected)


def test_kernels_compile_on_their_own(host_cc, tmp_path):
    for source in sorted(KERNELS.glob("*.c")):
        for cc in filter(None, {host_cc, build.shutil.which("clang")}):
            build.run([cc, *build.STRICT, "-O2", "-c", str(source), "-o", str(tmp_path / "kernel.o")])


def test_engine_has_no_writable_globals(host_cc, exported, tmp_path):
    _, out = exported
    # -fno-pic: PIC would put const tables holding pointers in .data.rel.ro, read-only but in a "d" section
    obj = build.run([host_cc, *build.STRICT, "-O2", "-fno-pic", "-c", str(out / "lenet5.c"), "-o", str(tmp_path / "e.o")])
    symbols = build.run(["nm", str(tmp_path / "e.o")]).split("\n")
    writable = [line for line in symbols if len(line.split()) == 3 and line.split()[1] in "bBdDcC"]
    assert obj == "" and writable == []


@pytest.mark.slow
def test_engine_builds_warning_free_everywhere(host_cc, arm_toolchain, exported, tmp_path):
    _, out = exported
    for cc in filter(None, ["gcc", "clang"]):
        if build.shutil.which(cc):
            for source in build.engine_sources(out):
                for opt in (build.HOST_OPT, build.HOST_FAST):  # -O3 runs more analyses (and warnings)
                    build.run([cc, *build.STRICT, *opt, "-c", str(source), "-o", str(tmp_path / "h.o")])
    for cpu in build.CPU_FLAGS:
        for source in build.engine_sources(out):
            build.compile_arm_object(source, cpu, tmp_path / f"{cpu}.o")


@pytest.mark.slow
def test_full_test_set_bit_exact_under_sanitizers(host_cc, exported, mnist, tmp_path):
    model, out = exported
    sources = export_with_driver(model, out)
    exe = build.compile_host(sources, tmp_path / "batch", build.SANITIZE + ["-DELN_BATCH_MAIN", f"-I{out}"], host_cc)
    images = mnist.test.images
    done = subprocess.run([str(exe)], input=np.ascontiguousarray(images, np.uint8).tobytes(), capture_output=True,
                          timeout=600)
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()[-2000:]
    c_logits = np.frombuffer(done.stdout, np.int8).reshape(-1, 10)
    assert len(c_logits) == 10_000
    np.testing.assert_array_equal(c_logits, reference.predict(model, images)[1])


@pytest.mark.slow
def test_example_makefile_builds_and_runs_on_host(host_cc, exported):
    model, out = exported
    build.run(["make", "-s", "-C", str(out / "example"), f"CC={host_cc}"])
    classes, logits, _ = build.parse_example_output(build.run([str(out / "example" / "lenet5_example")]))
    stroke = np.zeros((1, 28, 28), np.uint8)
    stroke[0, 4:24, 13:16] = 255  # example/main.c's built-in digit
    assert logits == reference.predict(model, stroke)[1].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("optimize", ["size", "speed"])
@pytest.mark.parametrize("arch", ["modern", "classic", "modern-generic", "classic-generic"])
def test_qemu_m4_layouts_match_reference_on_synthetic_shapes(qemu, arch, optimize, rng, tmp_path):
    """Both DSP layouts (export-c --optimize) on shapes that need padding (F_in 75, 8, 6; 3 maps), with the
    folded epilogues and (generic: a shift of 32) without."""
    model = synthetic_model(arch.split("-")[0], shift_32=arch.endswith("generic"))
    out = tmp_path / "out"
    export_c(model, out, measure_flash=False, optimize=optimize)
    pixels = rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
    build.vectors_header(pixels, tmp_path / "vectors.h")
    elf = build.build_arm_example(out, "mps2-an386", tmp_path / "app.elf", ['-DELN_VECTORS="vectors.h"'], [tmp_path])
    _, logits, _ = build.parse_example_output(build.run_qemu(elf, "mps2-an386"))
    assert logits == reference.predict(model, pixels)[1].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("optimize", ["size", "speed"])
def test_qemu_m4_full_layers_with_every_row_remainder(qemu, host_cc, optimize, rng, tmp_path):
    """The DSP full-layer epilogue writes 4 rows per block and only the rows below F_out in the last one:
    F_out = 7, 5, 3 leave 3, 1 and 3 rows there (and F_in = 7, 5 only the odd 8 inputs), bit-exact on the
    Cortex-M4 and the host."""
    model = synthetic_model("classic", widths=(2, 3, 7, 5), classes=3)
    pixels = rng.integers(0, 256, size=(4, 28, 28)).astype(np.uint8)
    expected = reference.predict(model, pixels)[1]
    np.testing.assert_array_equal(CRuntime(model).logits(pixels), expected)
    out = tmp_path / "out"
    export_c(model, out, measure_flash=False, optimize=optimize)
    assert "#define ELN_FC_FOLDED" in (out / "lenet5.c").read_text()
    build.vectors_header(pixels, tmp_path / "vectors.h")
    elf = build.build_arm_example(out, "mps2-an386", tmp_path / "app.elf", ['-DELN_VECTORS="vectors.h"'], [tmp_path])
    _, logits, _ = build.parse_example_output(build.run_qemu(elf, "mps2-an386"))
    assert logits == expected.tolist()


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["modern", "classic", "modern-generic", "classic-generic"])
def test_thumb_paths_match_reference_on_cortex_m0_and_m3(qemu, arch, rng, tmp_path):
    """The Thumb path's two instruction sets (kernels/eln_conv_window.h): Cortex-M0 (Thumb-1: the biased
    byte strip, the inline-asm taps, 3-row full layers, the 16-bit requantization products) and Cortex-M3
    (SMLAL lane pairs, 4-row full layers), on shapes with remainder rows (F_out 8, 6, 10), a partial C3
    table (classic) and (generic) a shift of 32, whose requantization takes the 64-bit branch."""
    model = synthetic_model(arch.split("-")[0], shift_32=arch.endswith("generic"))
    out = tmp_path / "out"
    export_c(model, out, measure_flash=False)
    pixels = rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
    build.vectors_header(pixels, tmp_path / "vectors.h")
    for board, cpu in (("microbit", "cortex-m0"), ("mps2-an385", "cortex-m3")):
        elf = build.build_arm_example(out, board, tmp_path / "app.elf", ['-DELN_VECTORS="vectors.h"'], [tmp_path],
                                      cpu=cpu)
        _, logits, _ = build.parse_example_output(build.run_qemu(elf, board))
        assert logits == reference.predict(model, pixels)[1].tolist(), cpu


def test_optimize_choices_reported(tmp_path):
    """export-c reports the flash of both layouts; int8 full layers are the smaller one."""
    report = export_c(synthetic_model("modern"), tmp_path / "out", measure_flash=False, optimize="speed")
    sizes = report["flash_bytes_by_optimize"]
    assert report["optimize"] == "speed" and sizes["size"] < sizes["speed"] == report["weights_bytes_dsp"]


# (C1, C3, C5, F6) and classes: narrower and wider than LeNet-5's 6, 16, 120, 84 and 10
WIDTHS = [((1, 3, 1, 1), 2), ((3, 5, 20, 12), 10), ((12, 20, 200, 100), 100)]


@pytest.mark.slow
@pytest.mark.parametrize("widths,classes", WIDTHS, ids=lambda w: "-".join(map(str, w)) if isinstance(w, tuple) else str(w))
@pytest.mark.parametrize("arch", ["modern", "classic"])
def test_other_widths_bit_exact_on_host_and_cortex_m(qemu, host_cc, arch, widths, classes, rng, tmp_path):
    """Every buffer bound comes from the model's shapes: LeNet-5-family widths other than 6/16/120/84 and
    2..100 classes run bit-exact on the host, the DSP path (both layouts, Cortex-M4) and the Thumb path
    (Cortex-M3, and Cortex-M0 on the micro:bit; 12 C1 maps: the M3 sums 10 input maps per 64-bit pass)."""
    model = synthetic_model(arch, widths=widths, classes=classes)
    pixels = rng.integers(0, 256, size=(4, 28, 28)).astype(np.uint8)
    expected = reference.predict(model, pixels)[1]
    np.testing.assert_array_equal(CRuntime(model).logits(pixels), expected)
    build.vectors_header(pixels, tmp_path / "vectors.h")
    runs = [("size", "mps2-an386"), ("speed", "mps2-an386"), ("size", "mps2-an385"), ("size", "microbit")]
    wide = widths[2] > 120  # the 16-bit pairs of a 500x200 C5: > 256 KB
    for optimize, board in runs[::2] + runs[3:] if wide else runs:
        out = tmp_path / f"out-{optimize}"
        export_c(model, out, measure_flash=False, optimize=optimize)
        elf = build.build_arm_example(out, board, tmp_path / "app.elf", ['-DELN_VECTORS="vectors.h"'], [tmp_path])
        _, logits, _ = build.parse_example_output(build.run_qemu(elf, board))
        assert logits == expected.tolist(), (optimize, board)
