"""The C requantization (kernels/eln_requant.h) against Python's unbounded integers and the numpy twin.

Edge values: saturation at both ends, negative accumulators, exact ties (which round toward +infinity),
the smallest and largest shifts, the extreme multipliers and accumulators.
"""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from importlib import resources

import numpy as np
import pytest

from edgelenet.intmath import requantize, round_half_up_div, saturate_int8
from firmware_export import build

KERNELS = resources.files("firmware_export") / "kernels"
LIMIT = 1 << 30  # the C function saturates here; every such value clamps to the same int8 afterwards

ACCS = [0, 1, -1, 2, -2, 3, -3, 127, -128, 255, 12_954_000, -12_954_000, (1 << 31) - 1, -(1 << 31), 1 << 20]
MULTIPLIERS = [0, 1, 1 << 30, (1 << 30) + 1, 1_518_500_250, (1 << 31) - 1]
SHIFTS = [1, 2, 30, 31, 32, 33, 40, 61, 62]
STAGES = [(0, -128), (-128, -128), (127, -128), (-5, -5), (100, 100)]  # (zero point, act_min)


@pytest.fixture(scope="module")
def driver(host_cc, tmp_path_factory):
    target = tmp_path_factory.mktemp("requant") / "requant_driver"
    here = Path(__file__).parent / "c" / "requant_driver.c"
    build.compile_host([here], target, ["-O2", f"-I{KERNELS}", "-fsanitize=undefined",
                                        "-fno-sanitize-recover=all"], host_cc)
    return target


def driver_rows(driver, cases: list[tuple[int, int, int, int, int]]) -> list[tuple[int, ...]]:
    text = "".join(" ".join(map(str, case)) + "\n" for case in cases)
    out = subprocess.run([str(driver)], input=text, capture_output=True, text=True, check=True).stdout
    return [tuple(map(int, line.split())) for line in out.splitlines()]


def run_driver(driver, cases: list[tuple[int, int, int, int, int]]) -> list[tuple[int, int]]:
    rows = driver_rows(driver, cases)
    assert all(row[2] == row[0] for row in rows)  # eln_requantize_channel == eln_requantize
    return [row[:2] for row in rows]


def expected(acc: int, m: int, n: int, zero_point: int, act_min: int) -> tuple[int, int]:
    exact = round_half_up_div(acc * m, n)  # Python integers: no overflow, floor shift
    numpy_value = int(requantize(np.array([acc]), np.array([m]), np.array([n]))[0])
    assert numpy_value == exact
    output = int(saturate_int8(np.array([exact + zero_point]), lower=act_min)[0])
    return max(-LIMIT, min(LIMIT, exact)), output


def test_c_requantize_matches_python_integers_on_edge_values(driver):
    cases = [(a, m, n, 0, -128) for a, m, n in itertools.product(ACCS, MULTIPLIERS, SHIFTS)]
    assert run_driver(driver, cases) == [expected(*case) for case in cases]


def test_c_rounds_ties_toward_plus_infinity(driver):
    # acc * 2^30 / 2^31 = acc / 2: every odd acc is a tie
    cases = [(acc, 1 << 30, 31, 0, -128) for acc in (-5, -3, -1, 1, 3, 5)]
    assert [r for r, _ in run_driver(driver, cases)] == [-2, -1, 0, 1, 2, 3]


def test_c_output_stage_saturates_both_ends_and_applies_relu(driver):
    cases = [(a, m, n, z, lo) for (a, m, n), (z, lo) in itertools.product(
        [(a, 1 << 30, s) for a in ACCS for s in (1, 24, 31, 62)], STAGES)]
    results = run_driver(driver, cases)
    assert results == [expected(*case) for case in cases]
    outputs = {r[1] for r in results}
    assert {-128, 127} <= outputs  # both saturation ends were reached


def test_c_requantize_random_values(driver, rng):
    accs = rng.integers(-(1 << 31), 1 << 31, size=400)
    ms = rng.integers(1 << 30, 1 << 31, size=400)
    ns = rng.integers(1, 63, size=400)
    cases = [(int(a), int(m), int(n), int(z), -128) for a, m, n, z in zip(accs, ms, ns, rng.integers(-128, 128, 400))]
    assert run_driver(driver, cases) == [expected(*case) for case in cases]


def test_c_16_bit_products_are_the_exact_product(driver, rng):
    """Cortex-M0's product without a 64-bit multiply (eln_mul_high_16, eln_mul_wide_16: the requantization on
    ARMv6-M) equals floor(acc * m / 2^32) and acc * m, on the edge values (carries across the 16-bit halves,
    the extreme accumulators and multipliers) and random ones."""
    halves = [0xFFFF, 0x10000, 0x7FFF, 0x8000, -0x8000, -0x10000, -0xFFFF, 0x7FFF_FFFF, 0x7FFF_0000]
    accs = ACCS + halves + [int(a) for a in rng.integers(-(1 << 31), 1 << 31, size=300)]
    ms = MULTIPLIERS + [0xFFFF, 0x10000, 0x7FFF_FFFF, 0x7FFF_0001] + [int(m) for m in rng.integers(0, 1 << 31, 40)]
    cases = [(a, m, 40, 0, -128) for a, m in itertools.product(accs, ms)]
    rows = driver_rows(driver, cases)
    assert [row[3:] for row in rows] == [((a * m) >> 32, a * m) for a, m, *_ in cases]
