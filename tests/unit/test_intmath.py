"""Requantization arithmetic against exact rational arithmetic (Python Fractions and unbounded ints)."""

import math
from fractions import Fraction

import numpy as np
import pytest

from edgelenet.intmath import (MULTIPLIER_MAX, MULTIPLIER_MIN, SHIFT_MAX, quantize_multiplier, requantize,
                               round_half_up_div, saturate_int8)


def exact_round_half_up(value: Fraction) -> int:
    """Nearest integer, ties toward +infinity: floor(value + 1/2)."""
    return math.floor(value + Fraction(1, 2))


def test_requantize_matches_exact_rounding_on_random_values(rng):
    acc = rng.integers(-(2**31), 2**31, size=5000, dtype=np.int64)
    mult = rng.integers(MULTIPLIER_MIN, MULTIPLIER_MAX + 1, size=5000, dtype=np.int64)
    shift = rng.integers(1, SHIFT_MAX + 1, size=5000, dtype=np.int64)
    got = requantize(acc, mult, shift)
    for a, m, n, g in zip(acc.tolist(), mult.tolist(), shift.tolist(), got.tolist()):
        assert g == exact_round_half_up(Fraction(a * m, 2**n)), (a, m, n)


@pytest.mark.parametrize("acc", [-(2**31), -(2**31) + 1, -1, 0, 1, 2**31 - 1])
@pytest.mark.parametrize("shift", [1, 2, 31, 32, 61, 62])
@pytest.mark.parametrize("mult", [MULTIPLIER_MIN, MULTIPLIER_MIN + 1, MULTIPLIER_MAX])
def test_requantize_edge_values(acc, shift, mult):
    got = int(requantize(np.int64(acc), mult, shift))
    assert got == exact_round_half_up(Fraction(acc * mult, 2**shift))
    assert got == round_half_up_div(acc * mult, shift)


def test_ties_round_toward_positive_infinity():
    # acc * m / 2^n = k + 1/2 exactly: positive and negative ties both go up
    m, n = 1 << 30, 31  # factor 1/2
    assert requantize(np.array([1, 3, -1, -3]), m, n).tolist() == [1, 2, 0, -1]


def test_negative_accumulators_floor_correctly():
    m, n = 1 << 30, 32  # factor 1/4
    # -5/4 = -1.25 -> -1 ; -6/4 = -1.5 (tie) -> -1 ; -7/4 = -1.75 -> -2
    assert requantize(np.array([-5, -6, -7]), m, n).tolist() == [-1, -1, -2]


@pytest.mark.parametrize("real", [1e-9, 3.7e-6, 0.00123, 0.25, 0.5, 0.999999, 1.0, 1.5, 123.456, 2.0**29])
def test_quantize_multiplier_is_within_half_a_unit(real):
    m, n = quantize_multiplier(real)
    assert MULTIPLIER_MIN <= m <= MULTIPLIER_MAX
    assert 1 <= n <= SHIFT_MAX
    # m is the rounded 31-bit mantissa: relative error at most 2^-31
    assert abs(Fraction(m, 2**n) - Fraction(real)) <= Fraction(real) * Fraction(1, 2**31)


def test_quantize_multiplier_tiny_factor_keeps_max_shift():
    m, n = quantize_multiplier(2.0**-70)
    assert n == SHIFT_MAX and m == 0


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), 2.0**31])
def test_quantize_multiplier_rejects_bad_factors(bad):
    with pytest.raises(ValueError):
        quantize_multiplier(bad)


def test_saturation_at_both_ends():
    values = np.array([-1000, -129, -128, 0, 127, 128, 1000])
    assert saturate_int8(values).tolist() == [-128, -128, -128, 0, 127, 127, 127]
    # a fused ReLU clamps at the zero point
    assert saturate_int8(values, lower=-100).tolist() == [-100, -100, -100, 0, 127, 127, 127]
