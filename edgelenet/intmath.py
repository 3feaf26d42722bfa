"""The integer arithmetic that the reference engine and the C engine share, defined once.

Requantization turns an int32 accumulator at scale s_acc into a value at scale s_out by the real factor
r = s_acc / s_out, represented as an integer multiplier m in [2^30, 2^31) and a right shift n:

    r ~= m / 2^n                                  (quantize_multiplier, at export time, float64)
    requantize(acc, m, n) = floor((acc * m + 2^(n-1)) / 2^n)      (at run time, integers only)

i.e. one rounding, to nearest with ties toward +infinity ("round half up"), on the exact 64-bit product.
Bounds: |acc| < 2^31 and m < 2^31, so |acc * m| < 2^62 and the sum with 2^(n-1) <= 2^61 fits in int64.
The C engine computes the same expression (firmware_export/kernels/eln_requant.h); both are tested against
Python's unbounded integers.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
MULTIPLIER_MIN, MULTIPLIER_MAX = 1 << 30, (1 << 31) - 1
SHIFT_MIN, SHIFT_MAX = 1, 62


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(m, n) with m / 2^n the closest such fraction to `real`, m in [2^30, 2^31), n in [1, 62].

    Factors below 2^-32 keep n = 62 and a smaller m (possibly 0: the result is then always 0).
    """
    if not (math.isfinite(real) and real > 0):
        raise ValueError(f"requantization factor must be finite and positive, got {real}")
    mantissa, exponent = math.frexp(real)  # real = mantissa * 2^exponent, mantissa in [0.5, 1)
    m = round(mantissa * (1 << 31))
    if m == 1 << 31:  # mantissa rounded up to 1.0
        m //= 2
        exponent += 1
    n = 31 - exponent
    if n < SHIFT_MIN:
        raise ValueError(f"requantization factor {real} is too large (>= 2^30)")
    if n > SHIFT_MAX:
        m = round(m / (1 << (n - SHIFT_MAX)))
        n = SHIFT_MAX
    return m, n


def requantize(acc: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """floor((acc * m + 2^(n-1)) / 2^n) elementwise in int64; m and n broadcast (per channel)."""
    acc = np.asarray(acc, dtype=np.int64)
    multiplier = np.asarray(multiplier, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    return (acc * multiplier + (np.int64(1) << (shift - 1))) >> shift  # >> on int64 is floor division


def saturate_int8(values: np.ndarray, lower: int | np.ndarray = INT8_MIN) -> np.ndarray:
    """Clamp to [lower, 127] and narrow to int8 (lower is the zero point for a fused ReLU)."""
    return np.clip(values, lower, INT8_MAX).astype(np.int8)


def quantize_symmetric(weights: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """int8 weights in [-127, 127] (symmetric: -128 is never used, so negation cannot overflow)."""
    return np.clip(np.rint(weights / scale), -127, 127).astype(np.int8)


def round_half_up_div(numerator: int, shift: int) -> int:
    """Python-integer twin of the run-time rounding, for tests and set-up code."""
    return (numerator + (1 << (shift - 1))) >> shift
