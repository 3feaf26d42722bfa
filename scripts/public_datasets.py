"""Two public image sets that ship inside PyPI packages, written in edgelenet's --data formats.

    python scripts/public_datasets.py OUT_DIR     (needs: pip install scikit-learn scikit-image)

- OUT_DIR/digits.npz: scikit-learn's bundled handwritten digits (UCI optdigits test part, 1,797 images
  8x8, 10 classes, pixels 0..16 scaled to 0..255 by `digits()`); an .npz with x_train, y_train,
  x_test, y_test and classes. The last 25 % of each class is the test split.
- OUT_DIR/faces/: scikit-image's bundled LFW subset (200 images 25x25: 100 faces, 100 non-face crops of
  the same photos), as PNG class folders train/{face,background} and test/{face,background}; the last
  25 % of each class is the test split.

Only the packages' data files are read (found without importing the packages): a gzip CSV and a .npy
loaded with allow_pickle=False. No pickle, no code from the packages runs.
"""

from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path

import numpy as np

TEST_FRACTION = 0.25


def package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed (pip install scikit-learn scikit-image)")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise SystemExit(f"{path} not found")
    return path


def digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 8, 8) uint8 and labels 0..9: pixel = (255 * v + 8) // 16 for the set's values v in 0..16."""
    with gzip.open(package_file("sklearn", "datasets/data/digits.csv.gz"), "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    images = ((255 * table[:, :64] + 8) // 16).astype(np.uint8).reshape(-1, 8, 8)
    return images, table[:, 64]


def faces() -> tuple[np.ndarray, np.ndarray]:
    """(200, 25, 25) uint8 and labels (0 face, 1 background): pixel = round(255 * x) for x in [0, 1]."""
    x = np.load(package_file("skimage", "data/lfw_subset.npy"), allow_pickle=False)
    images = np.clip(np.rint(np.asarray(x, np.float64) * 255), 0, 255).astype(np.uint8)
    return images, np.repeat(np.arange(2), 100)


def split(images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The last TEST_FRACTION of each class (in file order) is the test split."""
    test = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        index = np.flatnonzero(labels == c)
        test[index[len(index) - int(round(TEST_FRACTION * len(index))):]] = True
    return {"x_train": images[~test], "y_train": labels[~test], "x_test": images[test], "y_test": labels[test]}


def write_digits_npz(path: Path) -> Path:
    images, labels = digits()
    np.savez_compressed(path, **split(images, labels), classes=np.array([str(d) for d in range(10)]))
    return Path(path)


def write_faces_folder(root: Path) -> Path:
    from PIL import Image

    images, labels = faces()
    names = ("face", "background")
    parts = split(images, labels)
    for part in ("train", "test"):
        for i, (image, label) in enumerate(zip(parts[f"x_{part}"], parts[f"y_{part}"])):
            folder = Path(root) / part / names[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:04d}.png")
    (Path(root) / "classes.txt").write_text("\n".join(names) + "\n")
    return Path(root)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "data")
    out.mkdir(parents=True, exist_ok=True)
    print(write_digits_npz(out / "digits.npz"))
    print(write_faces_folder(out / "faces"))
