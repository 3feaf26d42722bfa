"""The DSP path's weight words (firmware_export/layout.py) hold what its kernels read, without a compiler:
the patch skips walk eln_conv_window_dsp from one window to the next, the folded subsampling epilogue
carries the subsampling weights as 16-bit pairs, and each block of 4 full-layer rows ends with its rows'
folded epilogue words (ELN_FC_FOLDED), or the generic epilogue runs where folding is not exact."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from firmware_export.layout import (conv_pack_dsp, fc_pack, fc_pack_int8, fc_with_epilogue, fold_bias, folded_rounding,
                                    folded_steps, layer_arrays, output_stage, plan_steps)
from firmware_export.render import render

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
from synthetic import synthetic_model  # noqa: E402


def _dsp_words(model, layer_name: str, optimize: str) -> np.ndarray:
    steps = plan_steps(model)
    folded = folded_steps(steps)
    step = next(s for s in steps if s.layers[0].name == layer_name)
    arrays = layer_arrays("p", step.layers[0], step, folded[step.kind], optimize)
    return next(a.values for a in arrays if a.path == "dsp").astype(np.int64)


@pytest.mark.parametrize("maps", [[[0]], [[0, 2, 5], [1, 2], [3]], [[0, 1, 2, 3, 4, 5]]])
def test_patch_skips_walk_each_window_to_the_next(maps):
    """Speed layout: per column pair 6 words are loaded, then the skip; after the last input map's last
    column pair the pointer must stand on the next window's first word (column pair + 1: in_side words on),
    and only that skip is negative (it ends eln_conv_window_dsp's loop)."""
    in_side, plane = 14, 7 * 14
    kernels = np.ones((len(maps), 6, 5, 5), np.int64)
    words = conv_pack_dsp(kernels, np.zeros((len(maps), 4), np.int64), in_side, "speed", maps).astype(np.int64)
    offset = 0
    for c, connected in enumerate(maps):
        start = connected[0] * plane + 3 * in_side + 2  # some window: first connected map, column pair 3
        p, visited = start, []
        for k in range(len(connected)):
            for g in range(3):
                visited.append(p)
                skip = int(words[offset + 11 * (3 * k + g) + 10])
                assert (skip < 0) == (k == len(connected) - 1 and g == 2)
                p += 6 + skip
        assert visited == [i * plane + start - connected[0] * plane + g * in_side for i in connected for g in range(3)]
        assert p == start + in_side
        offset += 33 * len(connected) + 4


@pytest.mark.parametrize("optimize", ["size", "speed"])
def test_folded_subsampling_words_carry_the_weights_as_pairs(optimize):
    """Per map: the convolution's 4 words, {w00, w01}, {w10, w11} as 16-bit pairs (SMLABB/SMLABT read them),
    then the subsampling layer's bias', m, n - 32, round'."""
    model = synthetic_model("classic")
    steps = plan_steps(model)
    assert folded_steps(steps)["conv_subsample"]
    words = _dsp_words(model, "C1", optimize)
    step = steps[0]
    conv, sub = step.layers
    per_map = (15 if optimize == "size" else 33) + 10
    for c in range(len(conv.weights)):
        tail = words[(c + 1) * per_map - 10:(c + 1) * per_map]
        pairs = [(v & 0xFFFF, (v >> 16) & 0xFFFF) for v in tail[4:6] & 0xFFFFFFFF]
        halves = [h - (1 << 16) if h >= 1 << 15 else h for pair in pairs for h in pair]
        assert halves == sub.weights[c].reshape(-1).tolist()
        assert tail[0] == fold_bias(conv)[c] and tail[6] == fold_bias(sub)[c]
        assert tail[8] == int(sub.shift[c]) - 32


@pytest.mark.parametrize("optimize", ["size", "speed"])
def test_full_layer_blocks_end_with_their_epilogue_words(optimize):
    """F_out = 10 (OUTPUT): 3 blocks of 4 rows, each followed by 12 words {bias', m, n - 32}, the 2 padding
    rows' zero; the kernel's round' = (2z + 1) * 2^(n - 33) is folded_rounding's."""
    model = synthetic_model("classic")
    layer = model.layers[-1]
    step = plan_steps(model)[-1]
    words = _dsp_words(model, "OUTPUT", optimize)
    plain = (fc_pack if optimize == "speed" else fc_pack_int8)(layer.weights.astype(np.int64)).astype(np.int64)
    blocks = plain.reshape(3, -1)
    rows = np.zeros((12, 3), np.int64)
    rows[:10] = np.stack([fold_bias(layer), layer.multiplier, layer.shift.astype(np.int64) - 32], 1)
    expected = np.concatenate([blocks, rows.reshape(3, 12)], 1).reshape(-1)
    np.testing.assert_array_equal(words, expected)
    k = layer.shift.astype(np.int64) - 32
    z = 2 * output_stage(layer).zero_point + 1
    np.testing.assert_array_equal(z * (1 << (k - 1)), folded_rounding(layer, step.acc_bound))
    assert fc_with_epilogue(plain, None) is plain


def test_full_layers_fall_back_to_the_generic_epilogue():
    """A shift of 32 in C5 (synthetic shift_32) is not foldable: no ELN_FC_FOLDED, the words stay plain."""
    folded, generic = synthetic_model("modern"), synthetic_model("modern", shift_32=True)
    assert folded_steps(plan_steps(folded))["fc"] and not folded_steps(plan_steps(generic))["fc"]
    assert "#define ELN_FC_FOLDED" in render(folded).files["lenet5.c"]
    assert "#define ELN_FC_FOLDED" not in render(generic).files["lenet5.c"]
    layer = generic.layer("C5")
    np.testing.assert_array_equal(_dsp_words(generic, "C5", "size"), fc_pack_int8(layer.weights.astype(np.int64)))
