"""The Helium (MVE) path of the exported C engine on the emulated Cortex-M55 (QEMU mps3-an547): bit-exact with
the integer reference on MNIST test images and on other network shapes, and really selected by
__ARM_FEATURE_MVE (the M55 without MVE compiles the DSP path, with no MVE instruction)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from edgelenet import reference
from firmware_export import build, export_c
from firmware_export.layout_mve import conv_pack_mve, fc_pack_mve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
from synthetic import INPUT_QPARAMS, QuantizedModel, _layer, artifact_bytes, synthetic_model  # noqa: E402

M55, BOARD = "cortex-m55", "mps3-an547"
MNIST_IMAGES = 300
MVE_MNEMONIC = re.compile(r"^\s+(v[a-z]+\.[isu]?(8|16|32)|vpst|vctp\.\d+|vmladava?\.s8)\b", re.M)


def run_on_m55(model, pixels: np.ndarray, tmp_path: Path) -> list[list[int]]:
    """Export `model`, build the example with `pixels` as its vectors for the M55 with MVE, run it under QEMU."""
    out = tmp_path / "out"
    export_c(model, out, measure_flash=False)
    build.vectors_header(pixels, tmp_path / "vectors.h")
    elf = build.build_arm_example(out, BOARD, tmp_path / "app.elf", ['-DELN_VECTORS="vectors.h"'], [tmp_path], cpu=M55)
    return build.parse_example_output(build.run_qemu(elf, BOARD, timeout=300))[1]


def assembly(out: Path, cpu: str, tmp_path: Path) -> str:
    target = tmp_path / f"{cpu}.s"
    build.run([build.ARM_CC, *build.STRICT, *build.CPU_FLAGS[cpu], *build.ARM_OPT, "-S", str(out / "lenet5.c"),
               "-o", str(target)])
    return target.read_text()


@pytest.mark.slow
def test_helium_bit_exact_on_mnist(qemu, int8_model, mnist, tmp_path):
    """Every logit of the first 300 test images, modern and classic, equals the integer reference's."""
    images = mnist.test.images[:MNIST_IMAGES]
    logits = run_on_m55(int8_model, images, tmp_path)
    assert logits == reference.predict(int8_model, images)[1].tolist()


@pytest.mark.parametrize("arch", ["modern", "classic"])
def test_helium_bit_exact_on_other_shapes(qemu, arch, rng, tmp_path):
    """Other map counts (odd, not multiples of 4), a partial connection table, saturated logits."""
    model = synthetic_model(arch)
    pixels = rng.integers(0, 256, size=(40, 28, 28)).astype(np.uint8)
    assert run_on_m55(model, pixels, tmp_path) == reference.predict(model, pixels)[1].tolist()


def wide_model() -> QuantizedModel:
    """modern-like with C1 1->7 and C3 7->5: K = 192 taps, past the one-base-register column loads (the
    window loop's C fallback), and odd map counts."""
    rng = np.random.default_rng(7)
    layers = [_layer(rng, "C1", "conv", (7, 1, 5, 5), [1, 32, 32], [7, 14, 14], INPUT_QPARAMS, "relu", kernel=5,
                     pool="max")]
    layers.append(_layer(rng, "C3", "conv", (5, 7, 5, 5), [7, 14, 14], [5, 5, 5], layers[-1].output, "relu",
                         kernel=5, pool="max"))
    for name, fin, fout, activation in (("C5", 125, 9, "relu"), ("F6", 9, 6, "relu"), ("OUTPUT", 6, 10, "none")):
        layers.append(_layer(rng, name, "linear", (fout, fin), [fin], [fout], layers[-1].output, activation))
    model = QuantizedModel("modern", "softmax", INPUT_QPARAMS, layers, {}, {"source": "synthetic", "seed": 7})
    artifact_bytes(model)
    return model


def test_helium_bit_exact_on_wide_convolutions(qemu, rng, tmp_path):
    model = wide_model()
    pixels = rng.integers(0, 256, size=(20, 28, 28)).astype(np.uint8)
    assert run_on_m55(model, pixels, tmp_path) == reference.predict(model, pixels)[1].tolist()


def test_dispatch_selects_helium_only_with_mve(arm_toolchain, modern_int8, tmp_path):
    """-mcpu=cortex-m55 compiles the Helium kernels (VMLADAVA); +nomve and the M4 compile the DSP path
    (SMLAD) with no MVE instruction at all."""
    out = tmp_path / "out"
    export_c(modern_int8, out, measure_flash=False)
    helium = assembly(out, M55, tmp_path)
    assert "vmladava.s8" in helium and "vmulh.s32" in helium and "smlad" not in helium
    for cpu in ("cortex-m55+nomve", "cortex-m4"):
        text = assembly(out, cpu, tmp_path)
        assert "smlad" in text and MVE_MNEMONIC.search(text) is None, cpu


def test_helium_layouts_match_their_definition():
    """conv_pack_mve: tap (ky * 5 + kx) * Cin + i of output map c, maps paired per 16 taps, then the epilogue
    words; fc_pack_mve: 4 rows per 16 inputs, and the channel-last input order after a convolution."""
    rng = np.random.default_rng(0)
    kernels = rng.integers(-128, 128, size=(3, 2, 5, 5))
    multiplier = np.array([1 << 30, 1 << 30, 3 << 29])
    raw = conv_pack_mve(kernels, np.array([5, -6, 7]), multiplier, np.array([40, 32, 35])).astype("<i4").tobytes()
    taps = np.frombuffer(raw[:256], np.int8).reshape(2, 4, 2, 16)  # (pair, 16 taps, map of the pair, tap)
    for c, i, ky, kx in np.ndindex(3, 2, 5, 5):
        t = (ky * 5 + kx) * 2 + i
        assert taps[c // 2, t // 16, c % 2, t % 16] == kernels[c, i, ky, kx]
    assert not taps[1, :, 1].any() and not taps[0, 3, :, 2:].any()  # the zero map; taps 50..63
    words = np.frombuffer(raw[256:], "<i4").reshape(4, 4)  # bias', m, 2^(n-33), 32 - n
    assert words[:, :3].tolist() == [[5, -6, 7], [1 << 30, 1 << 30, 3 << 29], [128, 0, 4], [-8, 0, -3]]
    assert not words[:, 3].any() and len(raw) == 256 + 64
    sub_weights = rng.integers(-128, 128, size=(3, 1, 2, 2))
    subsampled = conv_pack_mve(kernels, np.array([5, -6, 7]), multiplier, np.array([40, 32, 35]),
                               (np.array([1, 2, 3]), multiplier, np.array([34, 34, 34]), sub_weights))
    sub_words = np.frombuffer(subsampled.astype("<i4").tobytes()[256:], "<i4").reshape(12, 4)
    assert (sub_words[:4] == words).all() and sub_words[4:8, :3].tolist() == [[1, 2, 3], multiplier.tolist(),
                                                                              [2, 2, 2], [-2, -2, -2]]
    assert sub_words[8:, :3].tolist() == sub_weights.reshape(3, 4).T.tolist() and not sub_words[:, 3].any()
    weights = rng.integers(-128, 128, size=(6, 2 * 3 * 3))
    packed = fc_pack_mve(weights, channel_last=(2, 3, 3)).reshape(2, 2, 4, 16)  # (row group, 16 inputs, row, k)
    for o, c, y, x in np.ndindex(6, 2, 3, 3):
        k = (y * 3 + x) * 2 + c
        assert packed[o // 4, k // 16, o % 4, k % 16] == weights[o, c * 9 + y * 3 + x]
    assert not packed[1, :, 2:].any() and not packed[:, 1, :, 2:].any()
