"""Which images calibrate the ranges: a deterministic, class-balanced draw from the training images (never
the test set). Reading the user's own calibration files is edgelenet/calibration_data.py's job: this
package works on arrays and knows no file format."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from edgelenet.errors import UserError

MAX_CALIBRATION_IMAGES = 10_000  # statistics are held in memory; more images add nothing measurable


class LabelledImages(Protocol):
    """A split of a data set (edgelenet.data.Split): uint8 images (N, H, W) and integer labels (N,)."""
    images: np.ndarray
    labels: np.ndarray


def check_size(size: int) -> None:
    if not 1 <= size <= MAX_CALIBRATION_IMAGES:
        raise UserError(f"--calib-size must be between 1 and {MAX_CALIBRATION_IMAGES}, got {size}")


def select_calibration_set(train: LabelledImages, size: int, seed: int = 0) -> np.ndarray:
    """`size` training images, as equal a number per class as possible, drawn with `seed`: (size, H, W)."""
    check_size(size)
    if size > len(train):
        raise UserError(f"--calib-size {size} exceeds the {len(train)} training images available")
    rng = np.random.default_rng(seed)
    classes = int(train.labels.max(initial=0)) + 1
    per_class = [rng.permutation(np.flatnonzero(train.labels == c)) for c in range(classes)]
    present = [c for c in range(classes) if len(per_class[c])]
    if len(present) < 2:
        raise UserError("the calibration source holds a single class; calibration needs several classes")
    # round-robin over classes: balanced even when `size` is not a multiple of the class count
    quota = {c: 0 for c in present}
    for i in range(size):
        candidates = [c for c in present if quota[c] < len(per_class[c])]
        quota[candidates[i % len(candidates)]] += 1
    chosen = np.concatenate([per_class[c][:quota[c]] for c in present])
    return train.images[np.sort(chosen)]
