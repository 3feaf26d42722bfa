"""Which images calibrate the ranges: a deterministic, class-balanced draw from the training images
(never the test set), or the user's own images (PNG class folder, IDX file, .npy array)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgelenet.data import Split, load_images, load_png_folder
from edgelenet.errors import UserError

MAX_CALIBRATION_IMAGES = 10_000  # statistics are held in memory; more images add nothing measurable


def check_size(size: int) -> None:
    if not 1 <= size <= MAX_CALIBRATION_IMAGES:
        raise UserError(f"--calib-size must be between 1 and {MAX_CALIBRATION_IMAGES}, got {size}")


def select_calibration_set(train: Split, size: int, seed: int = 0) -> np.ndarray:
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


def load_calibration_images(source: Path, size: int, seed: int = 0) -> np.ndarray:
    """The user's calibration images: a data set (--data form: its training images, else its test images),
    a class folder of images (balanced draw), or IDX / .npy / image files."""
    from edgelenet.datasets import load_dataset

    check_size(size)
    source = Path(source)
    if (source.is_dir() and (any((source / s).is_dir() for s in ("train", "test")) or not _count_images(source))) \
            or source.suffix.lower() == ".npz":
        data = load_dataset(source)
        split = data.train if data.train is not None and len(data.train) else data.test
        return select_calibration_set(split, min(size, len(split)), seed)
    if source.is_dir():
        return select_calibration_set(load_png_folder(source), min(size, _count_images(source)), seed)
    images = load_images([source])
    if len(images) == 0:
        raise UserError(f"{source} holds no images")
    if len(images) > size:
        images = images[np.sort(np.random.default_rng(seed).choice(len(images), size, replace=False))]
    return images


def _count_images(root: Path) -> int:
    return sum(1 for p in root.glob("*/*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp"))
