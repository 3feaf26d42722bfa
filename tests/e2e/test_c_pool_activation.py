"""The classic variant without an activation after subsampling (pool activation "none", the Keras/d2l
tutorial LeNet): every C path runs S2/S4 as a plain requantize + clamp, bit-exact with the reference."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from edgelenet import reference
from edgelenet.errors import UserError
from firmware_export import build, export_c
from firmware_export.layout import plan_steps
from firmware_export.c_runtimes import CRuntime

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
from synthetic import synthetic_model  # noqa: E402

M4, M3, M55 = "mps2-an386", "mps2-an385", "mps3-an547"


def _linear_model(shift_32: bool = False, widths=(2, 3, 8, 6)):
    model = synthetic_model("classic", widths=widths, shift_32=shift_32, pool_activation="none")
    assert [layer.activation for layer in model.layers[:4]] == ["tanh", "none", "tanh", "none"]
    return model


def _run_example(model, pixels, board, tmp_path, optimize="size", cpu=None, drop_line=None):
    """The example's logits under QEMU; drop_line: a line removed from the engine (a mutant)."""
    out = tmp_path / f"out-{board}-{optimize}"
    export_c(model, out, measure_flash=False, optimize=optimize)
    if drop_line is not None:
        engine = out / "lenet5.c"
        text = engine.read_text()
        assert drop_line in text
        engine.write_text(text.replace(drop_line, ""))
    build.vectors_header(pixels, tmp_path / "vectors.h")
    elf = build.build_arm_example(out, board, tmp_path / "app.elf", ['-DELN_VECTORS="vectors.h"'], [tmp_path],
                                  cpu=cpu)
    return build.parse_example_output(build.run_qemu(elf, board, timeout=300))[1]


@pytest.mark.parametrize("widths", [(2, 3, 8, 6), (6, 16, 120, 84)], ids=["narrow", "paper"])
def test_host_bit_exact_without_pool_activation(host_cc, widths, rng, tmp_path):
    """The host C engine equals the reference; the subsampling steps get no table; and the subsampling
    really is linear here: the squashing model's logits differ."""
    model = _linear_model(widths=widths)
    pixels = rng.integers(0, 256, size=(24, 28, 28)).astype(np.uint8)
    expected = reference.predict(model, pixels)[1]
    np.testing.assert_array_equal(CRuntime(model).logits(pixels), expected)
    export_c(model, tmp_path / "c", measure_flash=False)
    text = (tmp_path / "c" / "lenet5.c").read_text()
    assert "s2_sub = {lenet5_s2_weights, lenet5_s2_bias," in text and "-128, NULL}};" in text
    squashing = synthetic_model("classic", widths=widths)
    assert not np.array_equal(reference.predict(squashing, pixels)[1], expected)


def test_mixed_subsampling_activations_are_refused():
    """One kernel body serves both subsampling steps: S2 without and S4 with a table cannot be exported."""
    mixed = synthetic_model("classic")
    mixed.layers[1] = _linear_model().layers[1]
    with pytest.raises(UserError, match="same activation"):
        plan_steps(mixed)


@pytest.mark.slow
@pytest.mark.parametrize("generic", [False, True], ids=["folded", "generic"])
@pytest.mark.parametrize("optimize", ["size", "speed"])
def test_cortex_m4_dsp_bit_exact_without_pool_activation(qemu, optimize, generic, rng, tmp_path):
    """The DSP path (both layouts) with the folded subsampling epilogue (ELN_SUBSAMPLE_LINEAR) and, with a
    shift of 32, the generic one."""
    model = _linear_model(shift_32=generic)
    pixels = rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
    expected = reference.predict(model, pixels)[1].tolist()
    assert _run_example(model, pixels, M4, tmp_path, optimize) == expected
    if not generic and optimize == "size":  # the folded epilogue without the macro reads a table at NULL
        broken = _run_example(model, pixels, M4, tmp_path, optimize, drop_line="#define ELN_SUBSAMPLE_LINEAR 1")
        assert broken != expected


@pytest.mark.slow
def test_cortex_m3_thumb_and_m55_helium_bit_exact_without_pool_activation(qemu, rng, tmp_path):
    model = _linear_model()
    pixels = rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
    expected = reference.predict(model, pixels)[1].tolist()
    assert _run_example(model, pixels, M3, tmp_path) == expected
    assert _run_example(model, pixels, M55, tmp_path, cpu="cortex-m55") == expected
