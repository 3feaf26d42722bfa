"""The user's calibration images (`quantize --calib-data PATH`): a data set in any `--data` form (its training
images, else its test images), a folder of class folders (a balanced draw), or IDX / .npy / image files.
It sits above both the data readers and the calibration package, which works on arrays only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration.selection import check_size, select_calibration_set
from edgelenet.data import load_images, load_png_folder
from edgelenet.datasets import load_dataset
from edgelenet.errors import UserError


def load_calibration_images(source: Path, size: int, seed: int = 0) -> np.ndarray:
    """The user's calibration images: a data set (--data form: its training images, else its test images),
    a class folder of images (balanced draw), or IDX / .npy / image files."""
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
