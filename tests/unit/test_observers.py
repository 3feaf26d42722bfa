"""Range estimators on distributions whose answer is known."""

import numpy as np
import pytest

from calibration.observers import OBSERVERS, Range, affine_int8, make_observer
from edgelenet.errors import UserError


def observe(method: str, values: np.ndarray, batches: int = 4) -> Range:
    observer = make_observer(method)
    for part in np.array_split(values, batches):
        observer.observe(part)
    return observer.compute()


@pytest.fixture(scope="module")
def gaussian_with_outliers():
    rng = np.random.default_rng(0)
    values = rng.standard_normal(200_000)
    values[:5] = [40.0, -35.0, 30.0, 25.0, -20.0]  # a few far outliers, as real activations have
    return values


def test_minmax_is_the_extremes(gaussian_with_outliers):
    assert observe("minmax", gaussian_with_outliers) == Range(-35.0, 40.0)


def order_statistic(values: np.ndarray, percent: float) -> float:
    """The percentile by its definition (linear interpolation between the ranks around p/100 * (n - 1))."""
    ordered = sorted(values.tolist())
    rank = percent / 100 * (len(ordered) - 1)
    below = int(rank)
    return ordered[below] + (rank - below) * (ordered[min(below + 1, len(ordered) - 1)] - ordered[below])


def test_percentile_is_the_order_statistic(gaussian_with_outliers):
    rng = observe("percentile", gaussian_with_outliers)
    lo, hi = order_statistic(gaussian_with_outliers, 0.01), order_statistic(gaussian_with_outliers, 99.99)
    assert rng.lo == pytest.approx(lo) and rng.hi == pytest.approx(hi)
    assert 3.3 < rng.hi < 4.3  # the 99.99th percentile of N(0, 1) is 3.72


def roundtrip_mse(values, rng: Range) -> float:
    scale, zero = affine_int8(rng.lo, rng.hi)
    q = np.clip(np.round(values / scale) + zero, -128, 127)
    return float(np.mean((values - scale * (q - zero)) ** 2))


def test_mse_finds_the_known_optimal_clip_of_a_laplace_distribution():
    """For Laplace(0, b) and 8 bits the MSE-optimal clipping value is about 9.9 b (Banner et al. 2019, ACIQ);
    the sample maximum of 200k draws lies near 12 b."""
    values = np.random.default_rng(3).laplace(0.0, 1.0, 200_000)
    mse, full = observe("mse", values), observe("minmax", values)
    assert 8.0 < mse.hi < 11.5 and -11.5 < mse.lo < -8.0
    assert roundtrip_mse(values, mse) < roundtrip_mse(values, full)


def test_mse_never_loses_to_minmax(gaussian_with_outliers):
    mse, full = observe("mse", gaussian_with_outliers), observe("minmax", gaussian_with_outliers)
    assert roundtrip_mse(gaussian_with_outliers, mse) <= roundtrip_mse(gaussian_with_outliers, full) * 1.001


def test_entropy_clips_outliers_but_keeps_the_bulk(gaussian_with_outliers):
    rng = observe("entropy", gaussian_with_outliers)
    assert 2.5 < rng.hi < 20 and -20 < rng.lo < -2.5
    assert np.mean((gaussian_with_outliers < rng.lo) | (gaussian_with_outliers > rng.hi)) < 1e-3


def test_uniform_distribution_needs_no_clipping():
    values = np.random.default_rng(1).uniform(0, 6, 100_000)
    for method in ("mse", "entropy"):
        assert observe(method, values).hi > 5.5, method


def test_relu_spike_at_zero_does_not_collapse_the_range():
    rng = np.random.default_rng(2)
    values = np.maximum(rng.standard_normal(100_000) * 2, 0)  # half exact zeros, as after a ReLU
    for method in OBSERVERS:
        assert observe(method, values).hi > 4, method


def test_affine_int8_represents_zero_exactly():
    for lo, hi in [(-1.0, 3.0), (0.0, 5.0), (-2.0, 0.0), (0.5, 2.0)]:
        scale, zero = affine_int8(lo, hi)
        # 0.0 is exact iff the zero point is an integer of the int8 grid (an unrounded one would fail here)
        assert isinstance(zero, int) and -128 <= zero <= 127 and scale > 0
        assert scale * (-128 - zero) <= min(lo, 0) + scale and scale * (127 - zero) >= max(hi, 0) - scale


def test_bad_inputs_are_user_errors():
    with pytest.raises(UserError, match="unknown"):
        make_observer("median")
    with pytest.raises(UserError, match="NaN"):
        make_observer("minmax").observe(np.array([1.0, np.nan]))
    with pytest.raises(UserError, match="no calibration values"):
        make_observer("mse").compute()
