"""Range estimators: from the values a tensor takes on the calibration images, the [lo, hi] to quantize.

All four share one interface: `observe(values)` any number of times (collect), then `compute() -> Range`.
- minmax: the extreme values; nothing is clipped, resolution suffers from outliers.
- percentile: the 0.01th and 99.99th percentiles (configurable); clips the rarest values.
- mse: the range, among shrinkings of [min, max] towards zero, that minimises the int8 round-trip
  mean squared error over the observed values (computed on a 2048-bin histogram).
- entropy: the range minimising KL(P || Q) between the observed distribution P (outliers folded into the
  edge bins) and its 256-level quantization Q, as in TensorRT's entropy calibration.
The histogram methods keep the observed values (float32) until compute(); the calibration set is capped
(calibration.selection.MAX_CALIBRATION_IMAGES) so that this stays within a few hundred MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgelenet.errors import UserError

LEVELS = 256   # int8
BINS = 2048
SHRINK_FACTORS = np.linspace(1.0, 0.05, 191)  # candidate ranges: alpha * [min, max]
SMOOTHING = 1e-4  # probability given to bins Q leaves empty, so that KL(P || Q) stays finite


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float

    @property
    def width(self) -> float:
        return self.hi - self.lo


def affine_int8(lo: float, hi: float) -> tuple[float, int]:
    """Scale and zero point of int8 covering [lo, hi] (widened to contain 0, so that 0 is exact)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / (LEVELS - 1)
    zero_point = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return scale, zero_point


class Observer:
    """Collects min and max; subclasses refine the range from more statistics."""

    def __init__(self):
        self.lo, self.hi, self.count = np.inf, -np.inf, 0

    def observe(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0:
            return
        if not np.isfinite(values).all():
            raise UserError("calibration produced NaN or infinite activations (bad weights or images)")
        self.lo, self.hi = min(self.lo, values.min()), max(self.hi, values.max())
        self.count += values.size

    def compute(self) -> Range:
        if self.count == 0:
            raise UserError("no calibration values were observed")
        return Range(float(self.lo), float(self.hi))


class MinMaxObserver(Observer):
    pass


class HistogramObserver(Observer):
    """Keeps the observed values (as float32) until compute(): then one histogram over [min, max]."""

    def __init__(self):
        super().__init__()
        self._values: list[np.ndarray] = []

    def observe(self, values: np.ndarray) -> None:
        super().observe(values)
        self._values.append(np.asarray(values, dtype=np.float32).ravel())

    def histogram(self) -> tuple[np.ndarray, np.ndarray]:
        values = np.concatenate(self._values)
        lo, hi = min(self.lo, 0.0), max(self.hi, 0.0)
        counts, edges = np.histogram(values, bins=BINS, range=(lo, hi if hi > lo else lo + 1.0))
        return counts.astype(np.float64), edges

    def candidates(self) -> list[Range]:
        lo, hi = min(self.lo, 0.0), max(self.hi, 0.0)
        return [Range(lo * a, hi * a) for a in SHRINK_FACTORS]


class PercentileObserver(HistogramObserver):
    def __init__(self, percentile: float = 99.99):
        super().__init__()
        if not 50.0 < percentile <= 100.0:
            raise UserError(f"percentile must lie in (50, 100], got {percentile}")
        self.percentile = percentile

    def compute(self) -> Range:
        super().compute()
        values = np.concatenate(self._values)
        lo, hi = np.percentile(values, [100.0 - self.percentile, self.percentile])
        return Range(float(lo), float(hi))


def _roundtrip_error(centres: np.ndarray, counts: np.ndarray, candidate: Range) -> float:
    scale, zero = affine_int8(candidate.lo, candidate.hi)
    if scale <= 0:
        return np.inf
    q = np.clip(np.round(centres / scale) + zero, -128, 127)
    return float(np.sum(counts * (centres - scale * (q - zero)) ** 2))


class MSEObserver(HistogramObserver):
    def compute(self) -> Range:
        full = super().compute()
        if full.width == 0:
            return full
        counts, edges = self.histogram()
        centres = (edges[:-1] + edges[1:]) / 2
        errors = [_roundtrip_error(centres, counts, c) for c in self.candidates()]
        return self.candidates()[int(np.argmin(errors))]


def _kl_divergence(counts: np.ndarray, edges: np.ndarray, candidate: Range) -> float:
    """KL(P || Q): P = histogram restricted to the candidate with outliers folded into its edge bins,
    Q = the candidate's own bins merged into 256 equal-width levels, spread uniformly over each level's
    non-empty bins (TensorRT's calibration, generalised to asymmetric ranges)."""
    inside = (edges[:-1] >= candidate.lo - 1e-12) & (edges[1:] <= candidate.hi + 1e-12)
    index = np.flatnonzero(inside)
    if len(index) < LEVELS:
        return np.inf
    kept = counts[index]
    p = kept.copy()
    p[0] += counts[: index[0]].sum()
    p[-1] += counts[index[-1] + 1:].sum()
    # Q is built from the bins *without* the folded outliers: clipping then shows as mass P has and Q lacks
    q = np.zeros_like(p)
    for group in np.array_split(np.arange(len(p)), LEVELS):
        nonzero = kept[group] > 0
        if nonzero.any():
            q[group[nonzero]] = kept[group].sum() / nonzero.sum()
    if q.sum() == 0:
        return np.inf
    mask = p > 0
    p_norm, q_norm = p[mask] / p.sum(), q[mask] / q.sum()
    # P has mass where Q has none (folded outliers in an empty edge bin): smooth Q as TensorRT does
    q_norm = np.where(q_norm > 0, q_norm, SMOOTHING)
    return float(np.sum(p_norm * np.log(p_norm / q_norm)))


class EntropyObserver(HistogramObserver):
    """Exact zeros (the ReLU spike) are left out of P: 0 is exact at every range, and the spike would
    otherwise dominate P and reward ranges that clip most of the informative values."""

    def compute(self) -> Range:
        full = super().compute()
        if full.width == 0:
            return full
        self._values = [v[v != 0] for v in self._values]
        counts, edges = self.histogram()
        candidates = self.candidates()
        divergences = [_kl_divergence(counts, edges, c) for c in candidates]
        return candidates[int(np.argmin(divergences))]


OBSERVERS = {
    "minmax": MinMaxObserver,
    "percentile": PercentileObserver,
    "mse": MSEObserver,
    "entropy": EntropyObserver,
}


def make_observer(method: str) -> Observer:
    if method not in OBSERVERS:
        raise UserError(f"unknown --calib-method {method!r}: choose one of {', '.join(OBSERVERS)}")
    return OBSERVERS[method]()
