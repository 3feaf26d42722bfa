"""`--data PATH`: the user's image classification set (or MNIST when no PATH is given).

PATH is one of (docs/data.md):
- a folder with `train/` and `test/` (optional `valid/`), each with one subfolder per class, holding PNG, JPEG
  or BMP images (images.py: gray conversion, size bounds). Class names are the folder names, sorted, unless
  PATH/classes.txt lists them one per line;
- a folder of IDX files: `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]` and `t10k-` or
  `test-` ones; classes `0`..`K-1` (or classes.txt);
- an `.npz` with `x_train, y_train, x_test, y_test` (uint8 (N, H, W), integer labels), optional `classes`.
A test split alone is enough for evaluate, validate and calibration (`need_train=False`). All images of one
data set share one size (H, W), 1..1024 each. Every reader checks sizes before it decodes or allocates.

The data set's identity is its name (the file or folder name), class names, geometry and the fingerprint of
its test split (family.fingerprint); models record it, and commands refuse to measure a model on other data.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgelenet.data import MAX_IMAGES, MAX_SPLIT_BYTES, VALIDATION_SEED, Split, load_mnist, npy_header, read_idx
from edgelenet.errors import UserError
from edgelenet.family import (MAX_CLASSES, MAX_SIDE, MIN_CLASSES, DataInfo, check_class_names, fingerprint)
from edgelenet.images import IMAGE_SUFFIXES, image_size, read_gray

DEFAULT_VALID_FRACTION = 0.1   # of the training images, when the set has no valid/ split (MNIST: 5,000 fixed)


@dataclass(frozen=True)
class Dataset:
    name: str
    classes: tuple[str, ...]
    input_size: tuple[int, int]
    test: Split
    train: Split | None = None
    valid: Split | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.test.images, self.test.labels)

    @property
    def background(self) -> int:
        """The most common pixel on the images' outer border (training images if any): the level that fills
        the 32x32 field around a resampled image. MNIST: 0."""
        images = (self.train if self.train is not None and len(self.train) else self.test).images
        border = np.concatenate([images[:, 0].ravel(), images[:, -1].ravel(), images[:, :, 0].ravel(),
                                 images[:, :, -1].ravel()])
        return int(np.bincount(border, minlength=256).argmax()) if border.size else 0

    def info(self) -> DataInfo:
        return DataInfo(classes=self.classes, input_size=self.input_size, background=self.background,
                        dataset={"name": self.name, "fingerprint": self.fingerprint})

    def describe(self) -> dict:
        """The `data` key of reports: what was measured."""
        return {"name": self.name, "classes": list(self.classes), "input_size": list(self.input_size),
                "fingerprint": self.fingerprint, "n_test": len(self.test)}


def load_dataset(path: Path | None, need_train: bool = False, valid_fraction: float | None = None) -> Dataset:
    """MNIST (path None) or the user's set; the training part split into train and valid."""
    if path is None:
        mnist = load_mnist(None)
        return Dataset("mnist", tuple(str(d) for d in range(10)), (28, 28), mnist.test, mnist.train, mnist.valid)
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".npz":
        parts, classes = _read_npz(path)
    elif path.is_dir() and any((path / s).is_dir() for s in ("train", "test")):
        parts, classes = _read_folders(path)
    elif path.is_dir():
        parts, classes = _read_idx_folder(path)
    elif not path.exists():
        raise UserError(f"--data {path}: no such file or folder")
    else:
        raise UserError(f"--data {path}: expected a folder (train/ test/ class folders, or IDX files) or an .npz")
    return _assemble(path, parts, classes, need_train, valid_fraction)


def _assemble(path: Path, parts: dict[str, Split], classes: tuple[str, ...], need_train: bool,
              valid_fraction: float | None) -> Dataset:
    if "test" not in parts or not len(parts["test"]):
        raise UserError(f"--data {path}: no test split (test/, t10k-/test- IDX files or x_test/y_test)")
    sizes = {name: split.images.shape[1:] for name, split in parts.items() if len(split)}
    if len(set(sizes.values())) > 1:
        raise UserError(f"--data {path}: splits have different image sizes "
                        + ", ".join(f"{k} {v[0]}x{v[1]}" for k, v in sizes.items()) + "; resize them to one size")
    for name, split in parts.items():
        if len(split) and split.labels.max() >= len(classes):
            raise UserError(f"--data {path}: {name} label {int(split.labels.max())} but only {len(classes)} classes")
    train, valid = parts.get("train"), parts.get("valid")
    if need_train and (train is None or len(train) == 0):
        raise UserError(f"--data {path}: training needs a train split (train/, train- IDX files or x_train)")
    if train is not None and valid is None:
        train, valid = hold_out(train, valid_fraction)
    height, width = parts["test"].images.shape[1:]
    return Dataset(path.stem if path.is_file() else path.name, classes, (int(height), int(width)), parts["test"],
                   train, valid)


def hold_out(train: Split, fraction: float | None) -> tuple[Split, Split]:
    """A fixed random part of the training images for validation: never all of them, and none with 0."""
    fraction = DEFAULT_VALID_FRACTION if fraction is None else fraction
    if not 0 <= fraction < 1:
        raise UserError(f"--valid-fraction must lie in [0, 1), got {fraction}")
    count = int(round(fraction * len(train)))
    if fraction > 0:
        count = min(max(count, 1), len(train) - 1)
    order = np.random.default_rng(VALIDATION_SEED).permutation(len(train))
    held, kept = np.sort(order[:count]), np.sort(order[count:])
    return (Split(train.images[kept], train.labels[kept]), Split(train.images[held], train.labels[held]))


def class_counts(split: Split, classes: tuple[str, ...]) -> dict[str, int]:
    counts = np.bincount(split.labels[split.labels >= 0], minlength=len(classes))
    return {name: int(c) for name, c in zip(classes, counts)}


def imbalance_note(split: Split, classes: tuple[str, ...]) -> str | None:
    """A warning line when the largest class has more than twice the images of the smallest (or one is empty)."""
    counts = class_counts(split, classes)
    low, high = min(counts.values()), max(counts.values())
    if low == 0 or high > 2 * low:
        smallest = min(counts, key=counts.get)
        largest = max(counts, key=counts.get)
        return (f"class imbalance: {largest!r} has {high} training images, {smallest!r} {low}; accuracy may "
                "favour the large classes")
    return None


# ----------------------------------------------------------------------------- class folders

def _read_classes_txt(root: Path) -> tuple[str, ...] | None:
    path = root / "classes.txt"
    if not path.is_file():
        return None
    if path.stat().st_size > 64 * 1024:
        raise UserError(f"{path}: too large for a list of at most {MAX_CLASSES} class names")
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable UTF-8 text file ({exc})") from None
    try:
        return check_class_names(names)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None


def _read_folders(root: Path) -> tuple[dict[str, Split], tuple[str, ...]]:
    listed = {}
    for split in ("train", "valid", "test"):
        if (root / split).is_dir():
            listed[split] = {d.name: sorted(f for f in d.iterdir() if f.is_file()
                                            and f.suffix.lower() in IMAGE_SUFFIXES)
                             for d in sorted((root / split).iterdir()) if d.is_dir()}
    classes = _read_classes_txt(root)
    if classes is None:
        source = listed.get("train") or listed.get("test") or {}
        classes = check_class_names(sorted(source)) if MIN_CLASSES <= len(source) <= MAX_CLASSES else None
        if classes is None:
            raise UserError(f"--data {root}: found {len(source)} class folders; need {MIN_CLASSES}..{MAX_CLASSES}")
    index = {name: i for i, name in enumerate(classes)}
    files: dict[str, list[tuple[Path, int]]] = {}
    for split, folders in listed.items():
        unknown = sorted(set(folders) - set(index))
        if unknown:
            raise UserError(f"--data {root}: {split}/{unknown[0]} is not one of the classes {', '.join(classes)}")
        files[split] = [(f, index[name]) for name, paths in folders.items() for f in paths]
    total = sum(len(v) for v in files.values())
    if total > MAX_IMAGES:
        raise UserError(f"--data {root}: {total:,} images is more than the {MAX_IMAGES:,} edgelenet reads")
    size = _common_size(root, [f for pairs in files.values() for f, _ in pairs])
    if total * size[0] * size[1] > 4 * MAX_SPLIT_BYTES:
        raise UserError(f"--data {root}: {total:,} images of {size[1]}x{size[0]} exceed the memory bound")
    parts = {}
    for split, pairs in files.items():
        images = np.zeros((len(pairs),) + size, np.uint8)
        for i, (path, _) in enumerate(pairs):
            images[i] = _checked(read_gray(path), size, path)
        parts[split] = Split(images, np.array([label for _, label in pairs], np.int64))
    return parts, classes


def _common_size(root: Path, paths: list[Path]) -> tuple[int, int]:
    """The one image size of the set, from the headers (nothing decoded yet)."""
    if not paths:
        raise UserError(f"--data {root}: no PNG, JPEG or BMP images in the class folders")
    first = image_size(paths[0])
    for path in paths[1:]:
        size = image_size(path)
        if size != first:
            raise UserError(f"--data {root}: {path} is {size[1]}x{size[0]} but {paths[0]} is "
                            f"{first[1]}x{first[0]}; all images of a data set must share one size")
    return first


def _checked(image: np.ndarray, size: tuple[int, int], path: Path) -> np.ndarray:
    if image.shape != size:
        raise UserError(f"{path}: decoded size {image.shape} differs from its header {size}")
    return image


# ----------------------------------------------------------------------------- IDX folder and .npz

def _idx_file(root: Path, prefixes: tuple[str, ...], kind: str) -> Path | None:
    for prefix in prefixes:
        for stem in (f"{prefix}-{kind}", f"{prefix}-{kind.replace('-', '.', 1)}"):
            for name in (stem, stem + ".gz"):
                if (root / name).is_file():
                    return root / name
    return None


def _read_idx_folder(root: Path) -> tuple[dict[str, Split], tuple[str, ...]]:
    parts = {}
    for split, prefixes in (("train", ("train",)), ("test", ("t10k", "test"))):
        images = _idx_file(root, prefixes, "images-idx3-ubyte")
        labels = _idx_file(root, prefixes, "labels-idx1-ubyte")
        if images is None and labels is None:
            continue
        if images is None or labels is None:
            raise UserError(f"--data {root}: {split} needs both an images and a labels IDX file")
        parts[split] = _split(read_idx(images), read_idx(labels), str(images))
    if not parts:
        raise UserError(f"--data {root}: neither train/ test/ class folders nor IDX files "
                        "(train-images-idx3-ubyte[.gz], t10k-... or test-...) found")
    return parts, _classes_for(root, parts, _read_classes_txt(root))


def _read_npz(path: Path) -> tuple[dict[str, Split], tuple[str, ...]]:
    arrays = _npz_arrays(path)
    parts = {}
    for split in ("train", "test"):
        if f"x_{split}" in arrays or f"y_{split}" in arrays:
            if f"x_{split}" not in arrays or f"y_{split}" not in arrays:
                raise UserError(f"{path}: x_{split} and y_{split} must come together")
            parts[split] = _split(arrays[f"x_{split}"], arrays[f"y_{split}"], f"{path} {split}")
    names = None
    if "classes" in arrays:
        raw = arrays["classes"]
        if raw.ndim != 1 or raw.dtype.kind not in "U":
            raise UserError(f"{path}: `classes` must be a 1-D array of strings")
        try:
            names = check_class_names([str(n) for n in raw])
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None
    return parts, _classes_for(path, parts, names)


NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test", "classes")


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """The known members of an .npz, each header checked (shape, type, size) before its data is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            for key, info in members.items():
                if key in NPZ_KEYS and info.file_size > MAX_SPLIT_BYTES + 4096:
                    raise UserError(f"{path}: member {key} holds {info.file_size:,} bytes, more than edgelenet reads")
                if key in NPZ_KEYS:
                    _check_npy_header(archive, info, path, key)
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in NPZ_KEYS if key in npz.files}
    except UserError:
        raise
    except Exception as exc:  # zip and numpy header parsers raise many types on junk
        raise UserError(f"{path}: not a readable .npz ({type(exc).__name__}: {exc})") from None


def _check_npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, key: str) -> None:
    with archive.open(info) as handle:
        npy_header(handle, f"{path}: {key}")


def _split(images: np.ndarray, labels: np.ndarray, where: str) -> Split:
    if images.dtype != np.uint8 or images.ndim != 3:
        raise UserError(f"{where}: images must be uint8 (N, H, W), got {images.dtype} {images.shape}")
    if not (1 <= images.shape[1] <= MAX_SIDE and 1 <= images.shape[2] <= MAX_SIDE):
        raise UserError(f"{where}: images of {images.shape[2]}x{images.shape[1]} exceed {MAX_SIDE}x{MAX_SIDE}")
    if labels.ndim != 1 or len(labels) != len(images) or labels.dtype.kind not in "iu":
        raise UserError(f"{where}: labels must be {len(images)} integers, got {labels.dtype} {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= MAX_CLASSES):
        raise UserError(f"{where}: labels must lie in 0..{MAX_CLASSES - 1}")
    return Split(np.ascontiguousarray(images), labels.astype(np.int64))


def _classes_for(where: Path, parts: dict[str, Split], names: tuple[str, ...] | None) -> tuple[str, ...]:
    """Named classes, or `0`..`K-1` with K one more than the largest label."""
    if names is not None:
        return names
    labelled = [int(split.labels.max()) for split in parts.values() if len(split)]
    if not labelled:
        raise UserError(f"--data {where}: the data set holds no images")
    top = max(labelled)
    if top + 1 < MIN_CLASSES:
        raise UserError(f"--data {where}: labels name {top + 1} class; a classifier needs {MIN_CLASSES}..{MAX_CLASSES}")
    return tuple(str(i) for i in range(top + 1))


# ----------------------------------------------------------------------------- provenance

def _names(classes) -> str:
    text = ", ".join(classes)
    return text if len(text) <= 80 else text[:77] + "..."


def check_model_fits(data: DataInfo, dataset: Dataset, explicit: bool, what: str) -> None:
    """Refuse to measure a model on data it was not made for: one clear line, exit 2.

    `explicit`: the user passed --data. Without it the data is MNIST, which only an MNIST model may be
    measured on; the error names the data set the model needs."""
    h, w = data.input_size
    if not explicit and not data.is_mnist:
        raise UserError(f"{what} was made for the data set {data.dataset['name']!r} ({data.num_classes} classes, "
                        f"{h}x{w} images), not MNIST: pass --data PATH with that data set")
    if tuple(dataset.classes) != tuple(data.classes):
        raise UserError(f"{what} has classes [{_names(data.classes)}] but the data set {dataset.name!r} has "
                        f"[{_names(dataset.classes)}]")
    if tuple(dataset.input_size) != tuple(data.input_size):
        dh, dw = dataset.input_size
        raise UserError(f"{what} takes {h}x{w} images but the data set {dataset.name!r} holds {dh}x{dw} images")
